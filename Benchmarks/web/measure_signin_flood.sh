#!/usr/bin/env bash
# /healthz and OCSP latency while anonymous clients hammer staff sign-in
# (issue 15, finding 2), release build, SQLite: first with no flood, then
# with 6 and with 16 looping clients posting /operator/login from random
# client addresses (X-Forwarded-For, as behind a proxy, so that no
# per-client limit stops them before the hashing queue). Prints the
# answers of the flood and p50/p99/max of /healthz and POST /ocsp.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
source scripts/lib.sh
ensure_debian_packages
ensure_python_environment

log "Building the release binary"
swift build -c release --product mailseal
BINARY="$(swift build -c release --show-bin-path)/mailseal"
SECONDS_EACH="${SECONDS_EACH:-20}"
WORK=$(mktemp -d /tmp/mailseal-flood.XXXXXX)
trap '[ -n "${PORTAL_PID:-}" ] && kill "$PORTAL_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MAILSEAL_DATA_DIR="$WORK/data" MAILSEAL_PUBLIC_URL="http://127.0.0.1:$PORT" \
    MAILSEAL_CA_PASSPHRASE=measure-passphrase-0123 MAILSEAL_TRUST_FORWARDED_FOR=true LOG_LEVEL=warning \
    "$BINARY" serve --env production --hostname 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
PORTAL_PID=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for CLIENTS in 0 6 16; do
    log "$CLIENTS clients hammering /operator/login for ${SECONDS_EACH}s"
    "$MAILSEAL_VENV/bin/python" Benchmarks/web/signin_flood.py "http://127.0.0.1:$PORT" "$SECONDS_EACH" "$CLIENTS"
done
