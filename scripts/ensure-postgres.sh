#!/usr/bin/env bash
# Sourced by test.sh: sets HEARD_TEST_POSTGRES_URL to a PostgreSQL server the tests may create databases on. Uses
# the one given, else a server on 127.0.0.1:5432 accepting the postgres user, else starts a throwaway cluster
# (installing Debian's postgresql package if needed) that is stopped when the calling shell exits.

pg_ok() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

if [ -n "${HEARD_TEST_POSTGRES_URL:-}" ]; then
  pg_ok "$HEARD_TEST_POSTGRES_URL" || { echo "ensure-postgres: cannot connect to HEARD_TEST_POSTGRES_URL" >&2; exit 1; }
  return 0 2>/dev/null || exit 0
fi

if ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-postgres: PostgreSQL is required; install it with: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if pg_ok "postgres://postgres@127.0.0.1:5432/postgres"; then
  export HEARD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
else
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdir=$(mktemp -d /tmp/heard-pg.XXXXXX)
  port=55432
  run=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null
  trap '"${run[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
  export HEARD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  pg_ok "$HEARD_TEST_POSTGRES_URL" || { echo "ensure-postgres: the throwaway cluster did not start; see $pgdir/log" >&2; exit 1; }
fi
