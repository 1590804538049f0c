"""A real SMTP server for the email tests (aiosmtpd, from PyPI; scripts/mail-venv.sh installs it).

Usage: smtp-sink.py DIR PORT. Listens on 127.0.0.1:PORT and writes each message it accepts as DIR/NNNN.eml (the bytes
received) and DIR/NNNN.json (envelope, headers, and the decoded text/plain and text/html parts), the JSON renamed into
place last so a reader never sees half a file. A recipient whose local part begins with "refused" is refused for good
at RCPT ("550 5.1.1"), as a server does a mailbox that does not exist; one beginning with "policy" is refused
for the sender's policy ("550 5.7.1", quoting the address), which is not about the mailbox. Prints "ready" once listening; runs until
killed.
"""
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused"):
            return "550 5.1.1 Mailbox does not exist"
        if address.lower().startswith("policy"):
            return "550 5.7.1 <%s> refused by policy" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                parts[part.get_content_type()] = part.get_content()
        out = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in msg.items()],
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        base = os.path.join(self.directory, "%04d" % self.count)
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        with open(base + ".json.tmp", "w") as f:
            json.dump(out, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
