#!/usr/bin/env bash
# Checks the public API against its own OpenAPI document (/api/v1/openapi.json) with schemathesis, every check on:
# status codes, error bodies, content types, schemas of requests the server must accept or refuse, methods. It runs
# on SQLite and on PostgreSQL: a `heard serve --demo` on each (a small demo agency, so the requests address a real
# published survey; see scripts/schemathesis.toml). Run by scripts/test.sh; needs the heard binary built
# (HEARD_BIN, else $CARGO_TARGET_DIR/debug/heard) and HEARD_TEST_POSTGRES_URL (scripts/ensure-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The version these checks were last run clean with; installed from PyPI only when missing or different.
SCHEMATHESIS_VERSION=4.32.5
if [ "$(python3 -m pip show schemathesis 2>/dev/null | sed -n 's/^Version: //p')" != "$SCHEMATHESIS_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

bin="${HEARD_BIN:-${CARGO_TARGET_DIR:-target}/debug/heard}"
[ -x "$bin" ] || { echo "api-contract: build the server first (cargo build -p heard); $bin is missing" >&2; exit 1; }
: "${HEARD_TEST_POSTGRES_URL:?api-contract: set HEARD_TEST_POSTGRES_URL (source scripts/ensure-postgres.sh)}"
config="$PWD/scripts/schemathesis.toml"

tmp=$(mktemp -d)
pids=()
db=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$db" ]; then psql "$HEARD_TEST_POSTGRES_URL" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# check NAME [serve arguments...]: starts a seeded server, runs schemathesis against it, stops it.
check() {
  local name=$1; shift
  local log="$tmp/$name.log"
  HEARD_DATA_DIR="$tmp/$name" "$bin" serve --addr 127.0.0.1:0 --demo --demo-responses 40 \
    --submissions-per-minute 0 "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 240); do
    grep -q "A public survey:" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "api-contract: the $name server stopped" >&2; exit 1; }
    sleep 0.5
  done
  local base survey
  base=$(sed -n 's/^Heard is running on .* at //p' "$log")
  survey=$(sed -n 's#^ *A public survey: .*/s/##p' "$log")
  [ -n "$base" ] && [ -n "$survey" ] || { cat "$log" >&2; echo "api-contract: the $name server did not start" >&2; exit 1; }
  # The ingestion API needs an organization's API key: one for the demo agency, made the way an operator would.
  local key
  key=$(HEARD_DATA_DIR="$tmp/$name" "$bin" apikey create --org "${survey%%/*}" --name schemathesis "$@" | tail -n 1)
  echo "schemathesis on $name ($base, survey ${survey#*/})"
  # One worker: the checks are bounded by examples, not time (about half a minute per backend on 2 cores).
  (cd "$tmp" && HEARD_SCHEMA_ORG="${survey%%/*}" HEARD_SCHEMA_SURVEY="${survey#*/}" \
    schemathesis --config-file "$config" run --checks all --max-examples 100 --workers 1 \
      --header "Authorization: Bearer $key" \
      --generation-database none --no-color "$base/api/v1/openapi.json")
  kill "$pid" && wait "$pid" 2>/dev/null || true
}

check sqlite
db="heard_test_schema_$$"
psql "$HEARD_TEST_POSTGRES_URL" -qc "create database $db" >/dev/null
check postgres --database-url "${HEARD_TEST_POSTGRES_URL%/*}/$db"
