#!/usr/bin/env bash
# Runs Heard's whole test suite: formatting, lints, every Rust test (storage tests on SQLite and PostgreSQL), and the
# end-to-end tests in a real browser with axe-core. PostgreSQL and the browser are required, never skipped: what is
# missing is installed (Debian, as root) or named with the command that installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { echo "test.sh: $1 is missing; install it with: sudo apt-get install -y $2" >&2; exit 1; }; }
apt_install() {
  need_root "$1" "$2"
  if [ -z "${HEARD_APT_UPDATED:-}" ]; then apt-get update -qq; export HEARD_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >/dev/null
}

step "Checking tools"
command -v cargo >/dev/null || { echo "test.sh: the Rust toolchain (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || apt_install "Node.js and npm" "nodejs npm"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || apt_install "Chromium" "chromium"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ] || [ ! -d node_modules/oidc-provider ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "PM4Py and DuckDB (oracles: the journeys tests read exports with PM4Py, AGPL-3.0, run out of process only; the Parquet test reads its files with DuckDB)"
# In a virtual environment of its own (Debian's Python refuses pip installs into the system, PEP 668), installed from
# PyPI only when missing or of another version; the tests find it through HEARD_PYTHON.
PM4PY_VERSION=2.7.23.11
DUCKDB_VERSION=1.5.6
oracle_venv="${HEARD_ORACLE_VENV:-$PWD/target/oracle-venv}"
command -v python3 >/dev/null || apt_install "Python 3" "python3"
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install "Python's venv module" "python3-venv"
[ -x "$oracle_venv/bin/python" ] || python3 -m venv "$oracle_venv"
if [ "$("$oracle_venv/bin/python" -m pip show pm4py 2>/dev/null | sed -n 's/^Version: //p')" != "$PM4PY_VERSION" ]; then
  "$oracle_venv/bin/python" -m pip install --quiet --disable-pip-version-check "pm4py==$PM4PY_VERSION"
fi
if [ "$("$oracle_venv/bin/python" -m pip show duckdb 2>/dev/null | sed -n 's/^Version: //p')" != "$DUCKDB_VERSION" ]; then
  "$oracle_venv/bin/python" -m pip install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
fi
export HEARD_PYTHON="$oracle_venv/bin/python"

step "vaderSentiment 3.3.2 (the baseline \`heard eval\` and \`heard bench text\` measure the text engine beside, out of process)"
HEARD_TEXT_PYTHON="$(bash scripts/text-venv.sh)"
export HEARD_TEXT_PYTHON

step "Twilio's Python SDK (the SMS webhook tests sign requests with it, out of process)"
bash scripts/sms-venv.sh >/dev/null

step "standardwebhooks (the webhook tests verify Heard's signatures with the Standard Webhooks library, out of process)"
bash scripts/webhooks-venv.sh >/dev/null

step "aiosmtpd (a real SMTP server on loopback the email tests send to and read back)"
HEARD_MAIL_PYTHON="$(bash scripts/mail-venv.sh)"
export HEARD_MAIL_PYTHON

step "PostgreSQL"
source scripts/ensure-postgres.sh
echo "using ${HEARD_TEST_POSTGRES_URL}"
# Each test makes its own database; drop those left by earlier runs.
psql "$HEARD_TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'heard_test_%' or datname like 'heard_bench_%'" |
  while read -r db; do psql "$HEARD_TEST_POSTGRES_URL" -qc "drop database if exists $db with (force)" >/dev/null; done

step "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests (unit, storage on both backends, API, admin, isolation, durability)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

step "API contract (schemathesis, every check, against the OpenAPI document on SQLite and PostgreSQL)"
cargo build -p heard --locked
scripts/api-contract.sh

step "Browser tests (chromium + axe-core)"
node --test --test-concurrency=1 e2e/
