"""Verifies a message's DKIM signature with dkimpy (PyPI; scripts/mail-venv.sh installs it), for the email tests.

Usage: dkim-verify.py MESSAGE.eml PUBLIC_KEY.pem. The key stands in for the DNS TXT record of the signature's selector
and domain ("v=DKIM1; k=rsa; p=..." made from the PEM's SubjectPublicKeyInfo), so nothing is looked up. Prints
"pass" and exits 0 when the signature verifies, else prints "fail" and exits 1.
"""
import sys

import dkim


def main():
    message = open(sys.argv[1], "rb").read()
    pem = open(sys.argv[2]).read()
    body = "".join(line.strip() for line in pem.splitlines() if not line.startswith("-----"))
    record = ("v=DKIM1; k=rsa; p=" + body).encode()

    def dns(name, timeout=5):
        return record

    import logging
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
    ok = dkim.verify(message, dnsfunc=dns, logger=logging.getLogger("dkim"))
    print("pass" if ok else "fail")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
