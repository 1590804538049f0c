#!/usr/bin/env bash
# Makes the Python that the email tests run aiosmtpd with (a real SMTP server on loopback that writes each message
# it accepts into a Maildir, so the tests read what was really sent): a virtual environment of its own (Debian's
# Python refuses pip installs into the system, PEP 668), at target/mail-venv or $HEARD_MAIL_VENV, installed from
# PyPI only when missing or of another version. dkimpy (with its dnspython) verifies the DKIM signatures the tests
# read (scripts/dkim-verify.py). Prints the Python's path; the tests find it as HEARD_MAIL_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
AIOSMTPD_VERSION=1.4.6
DKIMPY_VERSION=1.1.8
venv="${HEARD_MAIL_VENV:-$PWD/target/mail-venv}"
command -v python3 >/dev/null || { echo "mail-venv.sh: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ "$("$venv/bin/python" -m pip show aiosmtpd 2>/dev/null | sed -n 's/^Version: //p')" != "$AIOSMTPD_VERSION" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" >&2
fi
if [ "$("$venv/bin/python" -m pip show dkimpy 2>/dev/null | sed -n 's/^Version: //p')" != "$DKIMPY_VERSION" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "dkimpy==$DKIMPY_VERSION" >&2
fi
echo "$venv/bin/python"
