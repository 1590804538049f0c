#!/usr/bin/env bash
# Makes the Python that the webhook tests verify Heard's signatures with: the Standard Webhooks reference library
# (`standardwebhooks` from PyPI, its Webhook.verify), in a virtual environment of its own (Debian's Python refuses pip
# installs into the system, PEP 668), at target/webhooks-venv or $HEARD_WEBHOOKS_VENV, installed from PyPI only when
# missing or of another version. Prints the Python's path; the tests run this script themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
STANDARDWEBHOOKS_VERSION=1.1.0
venv="${HEARD_WEBHOOKS_VENV:-$PWD/target/webhooks-venv}"
command -v python3 >/dev/null || { echo "webhooks-venv.sh: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
# Tests on both backends run this at once: one makes the venv, the other waits for it.
exec 9>"$venv.lock"
command -v flock >/dev/null && flock 9
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ "$("$venv/bin/python" -m pip show standardwebhooks 2>/dev/null | sed -n 's/^Version: //p')" != "$STANDARDWEBHOOKS_VERSION" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION" >&2
fi
echo "$venv/bin/python"
