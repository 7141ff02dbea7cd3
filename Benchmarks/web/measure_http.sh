#!/usr/bin/env bash
# Requests per second and p99 latency of the login-link endpoint (POST
# /login) and of the CSR submission endpoint (POST /api/v1/requests) under
# wrk on 127.0.0.1, with SQLite and with PostgreSQL, release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
source scripts/lib.sh
ensure_debian_packages
command -v wrk >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
start_postgres

log "Building the release binary"
swift build -c release --product mailseal
BINARY="$(swift build -c release --show-bin-path)/mailseal"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
WORK=$(mktemp -d /tmp/mailseal-http.XXXXXX)
trap '[ -n "${PORTAL_PID:-}" ] && kill "$PORTAL_PID" 2>/dev/null; stop_postgres; rm -rf "$WORK"' EXIT

# A CSR for measure@example.edu, made by OpenSSL.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
    -subj "/CN=measure@example.edu" -out "$WORK/request.csr" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"mailboxType":"personal","givenName":"Mia","surname":"Messung","keyType":"p256","csr":open(sys.argv[1]).read()}))' \
    "$WORK/request.csr" > "$WORK/body.json"

for DATABASE in sqlite postgres; do
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DATA="$WORK/$DATABASE"
    mkdir -p "$DATA"
    DB_URL="sqlite://$DATA/mailseal.sqlite"
    if [ "$DATABASE" = postgres ]; then
        NAME="mailseal_http_$RANDOM$RANDOM"
        psql "$POSTGRES_URL" -qc "CREATE DATABASE $NAME"
        DB_URL="${POSTGRES_URL%/postgres*}/$NAME?sslmode=disable"
    fi
    MAILSEAL_DATA_DIR="$DATA" DATABASE_URL="$DB_URL" MAILSEAL_PUBLIC_URL="http://127.0.0.1:$PORT" \
        MAILSEAL_CA_PASSPHRASE=measure-passphrase-0123 MAILSEAL_ALLOWED_DOMAINS=example.edu \
        MAILSEAL_LOGIN_LIMIT_PER_ADDRESS=1000 MAILSEAL_LOGIN_LIMIT_PER_CLIENT=100000 LOG_LEVEL=warning \
        "$BINARY" serve --env production --hostname 127.0.0.1 --port "$PORT" > "$DATA/serve.log" 2>&1 &
    PORTAL_PID=$!
    for _ in $(seq 1 240); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done

    JAR="$DATA/jar"
    curl -s -c "$JAR" -b "$JAR" -H "Accept: text/html" "http://127.0.0.1:$PORT/" -o /dev/null
    FORM_TOKEN=$(awk '$6 == "mailseal_form" {print $7}' "$JAR")
    curl -s -c "$JAR" -b "$JAR" -H "Accept: text/html" --data "address=measure@example.edu&csrf=$FORM_TOKEN" \
        "http://127.0.0.1:$PORT/login" -o /dev/null
    for _ in $(seq 1 100); do ls "$DATA/outbox/"*measure* >/dev/null 2>&1 && break; sleep 0.2; done
    LINK=$(python3 -c 'import email,email.policy,glob,re,sys; m=email.message_from_bytes(open(sorted(glob.glob(sys.argv[1]+"/outbox/*measure*"))[-1],"rb").read(),policy=email.policy.default); print(re.search(r"/login/[A-Za-z0-9_-]{43}", m.get_body(("plain",)).get_content()).group(0))' "$DATA")
    curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT$LINK" -o /dev/null
    export SESSION=$(awk '$6 == "mailseal_session" {print $7}' "$JAR")
    export CSRF=$(awk '$6 == "mailseal_csrf" {print $7}' "$JAR")
    export FORM_TOKEN BODY_FILE="$WORK/body.json"

    log "$DATABASE: POST /login (login links), $CONNECTIONS connections, $DURATION"
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s Benchmarks/web/login.lua "http://127.0.0.1:$PORT" \
        | grep -E "Requests/sec|99%|Non-2xx|Socket errors|requests in"
    log "$DATABASE: POST /api/v1/requests (CSR submission), $CONNECTIONS connections, $DURATION"
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s Benchmarks/web/submit.lua "http://127.0.0.1:$PORT/api/v1/requests" \
        | grep -E "Requests/sec|99%|Non-2xx|Socket errors|requests in"
    kill "$PORTAL_PID"
    wait "$PORTAL_PID" 2>/dev/null || true
    PORTAL_PID=
done
