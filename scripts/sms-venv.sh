#!/usr/bin/env bash
# Makes the Python that the SMS webhook tests sign requests with: Twilio's own SDK (`twilio` from PyPI, its
# RequestValidator), in a virtual environment of its own (Debian's Python refuses pip installs into the system,
# PEP 668), at target/sms-venv or $HEARD_SMS_VENV, installed from PyPI only when missing or of another version.
# Prints the Python's path; the tests read it from HEARD_SMS_PYTHON and skip the SDK case, saying so, without it.
set -euo pipefail
cd "$(dirname "$0")/.."
TWILIO_VERSION=9.13.0
venv="${HEARD_SMS_VENV:-$PWD/target/sms-venv}"
command -v python3 >/dev/null || { echo "sms-venv.sh: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
# Tests on both backends run this at once: one makes the venv, the other waits for it.
exec 9>"$venv.lock"
command -v flock >/dev/null && flock 9
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ "$("$venv/bin/python" -m pip show twilio 2>/dev/null | sed -n 's/^Version: //p')" != "$TWILIO_VERSION" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "twilio==$TWILIO_VERSION" >&2
fi
echo "$venv/bin/python"
