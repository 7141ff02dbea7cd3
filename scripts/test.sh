#!/usr/bin/env bash
# Runs every test of Mailseal on a fresh Debian machine with Swift:
#   1. installs what is missing (Debian: openssl, postgresql, python3-venv;
#      PyPI: pkilint and its dependencies, pinned, in .venv),
#   2. starts a throw-away PostgreSQL on 127.0.0.1,
#   3. builds, checks formatting, runs the whole suite on SQLite and the
#      database-backed suite again on PostgreSQL,
#   4. stops PostgreSQL and removes its files, whatever happened.
# Needs no standard input. Exit status: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="${MAILSEAL_VENV:-$ROOT/.venv}"

log() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# 1. What the tests need.
log "Checking the tools the tests need"
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then missing+=(postgresql); fi
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    log "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if ! "$VENV/bin/python" -c 'import pkilint' 2>/dev/null || ! cmp -s scripts/requirements-test.txt "$VENV/.requirements"; then
    log "Making the Python environment $VENV (pkilint, pinned)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
    cp scripts/requirements-test.txt "$VENV/.requirements"
fi
export MAILSEAL_VENV="$VENV"

# 2. PostgreSQL on 127.0.0.1, owned by an unprivileged user when run as root.
PG_DIR=$(mktemp -d /tmp/mailseal-pg.XXXXXX)
PG_USER=$(id -un)
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" postgres
    PG_USER=postgres
    chown postgres "$PG_DIR"
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_postgres() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PG_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
log "Starting PostgreSQL on 127.0.0.1:$PG_PORT"
printf '%s\n' "$PG_PASSWORD" > "$PG_DIR/pwfile"
chmod 600 "$PG_DIR/pwfile"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/pwfile"
as_pg "$PG_BIN/initdb" --pgdata="$PG_DIR/data" --username=mailseal --pwfile="$PG_DIR/pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=200" start >/dev/null
export MAILSEAL_TEST_POSTGRES_URL="postgres://mailseal:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"

# 3. Build, format, test.
log "Building (debug, with tests)"
swift build --build-tests

log "Checking the format (swift format lint)"
swift format lint --strict --recursive Package.swift Sources Tests Benchmarks

log "Running the whole suite on SQLite"
MAILSEAL_TEST_DATABASE=sqlite swift test --skip-build

log "Running the database-backed suite on PostgreSQL"
MAILSEAL_TEST_DATABASE=postgres swift test --skip-build --filter MailsealTests

log "All tests passed on SQLite and PostgreSQL"
