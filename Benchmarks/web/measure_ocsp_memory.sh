#!/usr/bin/env bash
# The resident size of a portal whose OCSP responder holds N active
# certificates (default 100,000) with a response signed ahead for each,
# against the same portal with one certificate. The N certificate records
# are copies of one issued certificate with fresh serial numbers, written
# straight into the SQLite file (the responder reads only serial, issuer,
# status and expiry); OpenSSL then checks one answer for a copied serial.
#
#   N=100000         certificates
#   BINARY=path      a mailseal binary to use instead of building the release one
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
source scripts/lib.sh

N="${N:-100000}"
PASSPHRASE=measure-ocsp-passphrase-0123
install_missing_tools openssl:openssl curl:curl sqlite3:sqlite3 python3:python3
release_binary

WORK=$(mktemp -d /tmp/mailseal-ocsp-memory.XXXXXX)
PORTAL_PID=
cleanup() {
    if [ -n "$PORTAL_PID" ]; then kill "$PORTAL_PID" 2>/dev/null || true; wait "$PORTAL_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
export MAILSEAL_DATA_DIR="$WORK/data" MAILSEAL_PUBLIC_URL="$URL" MAILSEAL_CA_PASSPHRASE="$PASSPHRASE" \
    MAILSEAL_ALLOWED_DOMAINS=example.edu LOG_LEVEL=info
unset DATABASE_URL MAILSEAL_PKI_URL

# Starts the portal and waits until its responder has signed WANT responses
# ahead; the seconds that took go into $WORK/seconds.
serve_until_signed() {
    local want=$1 started
    started=$(date +%s.%N)
    "$BINARY" serve --env production --hostname 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
    PORTAL_PID=$!
    for _ in $(seq 1 3000); do
        grep -q "OCSP: signed $want responses ahead" "$WORK/serve.log" && break
        kill -0 "$PORTAL_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q "OCSP: signed $want responses ahead" "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; exit 1; }
    python3 -c "import time; print('%.1f' % (time.time() - $started))" > "$WORK/seconds"
}
stop() { kill "$PORTAL_PID"; wait "$PORTAL_PID" 2>/dev/null || true; PORTAL_PID=; }
rss() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }
mib() { python3 -c "print('%.0f' % ($1 / 1024))"; }

log "A portal with one certificate"
"$BINARY" serve --env production --hostname 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
PORTAL_PID=$!
for _ in $(seq 1 600); do curl -fs "$URL/healthz" >/dev/null && break; sleep 0.2; done
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/1.key" -subj "/CN=x" \
    -out "$WORK/1.csr" 2>/dev/null
"$BINARY" ca issue --csr "$WORK/1.csr" --email measure@example.edu --mailbox-only --out "$WORK/1.pem" > /dev/null
stop
serve_until_signed 1
ONE_RSS=$(rss "$PORTAL_PID" VmRSS)
stop

log "$N certificates: copies of the one with fresh serial numbers"
sqlite3 "$WORK/data/mailseal.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO certificates (id, issuer_id, serial, der, mailbox, profile, common_name, given_name, surname,
    pseudonym, key_fingerprint, key_type, not_before, not_after, status, created_at, request_id)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
        || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    issuer_id, '01' || lower(hex(randomblob(15))), der, 'copy' || i || '@example.edu', profile, common_name,
    given_name, surname, pseudonym, key_fingerprint, key_type, not_before, not_after, status, created_at, NULL
FROM n, (SELECT * FROM certificates LIMIT 1);
SQL
COUNT=$(sqlite3 "$WORK/data/mailseal.sqlite" "SELECT count(*) FROM certificates WHERE status = 'active'")
serve_until_signed "$COUNT"
SECONDS_TO_SIGN=$(cat "$WORK/seconds")
MANY_RSS=$(rss "$PORTAL_PID" VmRSS)
MANY_PEAK=$(rss "$PORTAL_PID" VmHWM)

# One copied serial, asked for with OpenSSL: answered good and verified.
SERIAL=$(sqlite3 "$WORK/data/mailseal.sqlite" "SELECT serial FROM certificates WHERE mailbox = 'copy7@example.edu'")
curl -fs "$(openssl x509 -in "$WORK/1.pem" -noout -ext authorityInfoAccess | sed -n 's/.*CA Issuers - URI:\(.*\)/\1/p')" \
    | openssl x509 -inform DER -out "$WORK/issuing.pem"
curl -fs "$(openssl x509 -in "$WORK/issuing.pem" -noout -ext authorityInfoAccess | sed -n 's/.*CA Issuers - URI:\(.*\)/\1/p')" \
    | openssl x509 -inform DER -out "$WORK/root.pem"
ANSWER=$(openssl ocsp -issuer "$WORK/issuing.pem" -serial "0x$SERIAL" -url "$URL/ocsp" -CAfile "$WORK/root.pem" \
    -verify_other "$WORK/issuing.pem" -no_nonce 2>&1)
grep -q "0x$SERIAL: good" <<<"${ANSWER,,}" || grep -qi ": good" <<<"$ANSWER" || { echo "$ANSWER" >&2; exit 1; }
grep -q "Response verify OK" <<<"$ANSWER" || { echo "$ANSWER" >&2; exit 1; }

log "OCSP responder memory ($(nproc) cores)"
echo "mailseal: $BINARY"
printf '%-44s %10s\n' "portal, 1 certificate:" "$(mib "$ONE_RSS") MiB resident"
printf '%-44s %10s\n' "portal, $COUNT certificates, all signed ahead:" "$(mib "$MANY_RSS") MiB resident"
printf '%-44s %10s\n' "  peak while loading and signing:" "$(mib "$MANY_PEAK") MiB"
printf '%-44s %10s\n' "  per certificate:" "$(python3 -c "print('%.2f KiB' % (($MANY_RSS - $ONE_RSS) / $COUNT))")"
printf '%-44s %10s\n' "  start to all signed:" "$SECONDS_TO_SIGN s"
