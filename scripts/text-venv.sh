#!/usr/bin/env bash
# Makes the Python that `heard eval` and `heard bench text` run vaderSentiment 3.3.2 with (the baseline Heard's text
# engine is compared with, run out of process): a virtual environment of its own (Debian's Python refuses pip installs
# into the system, PEP 668), at target/text-venv or $HEARD_TEXT_VENV, installed from PyPI only when missing or of
# another version. Prints the Python's path; use it as `heard eval --python PATH` or HEARD_TEXT_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
VADER_VERSION=3.3.2
venv="${HEARD_TEXT_VENV:-$PWD/target/text-venv}"
command -v python3 >/dev/null || { echo "text-venv.sh: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ "$("$venv/bin/python" -m pip show vaderSentiment 2>/dev/null | sed -n 's/^Version: //p')" != "$VADER_VERSION" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "vaderSentiment==$VADER_VERSION" >&2
fi
echo "$venv/bin/python"
