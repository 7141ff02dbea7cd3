#!/usr/bin/env bash
# A rolling upgrade on one PostgreSQL (issue 30): the release before
# (OLD_REV, e.g. the last commit that landed) and this checkout serve side
# by side on one database and one data folder, as two instances do while
# the second machine is upgraded, then the old one stops and the new one
# carries on. For a release without migrations: it fails when OLD_REV's
# migrations differ from this checkout's.
#
# Both issue (`ca issue`) and revoke (`ca revoke`) in turns, each answers
# OCSP for every certificate either made (the same status on both, a
# revocation on one seen on the other), /healthz and the CRL; at the end no
# instance has logged an error, `audit verify` holds, every serial is
# there once.
#
#   scripts/rolling-upgrade.sh OLD_REV [ROUNDS]
#
# Builds OLD_REV in a worktree of its own, /tmp/mailseal-old-OLD_REV (a
# clean debug build, ten minutes; kept for the next run); this checkout
# must be built (swift build). Both binaries are copied before they start
# (a build meanwhile cannot touch them). Not part of the test command (the
# old build alone would take a third of its time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh

OLD_REV=${1:?usage: scripts/rolling-upgrade.sh OLD_REV [ROUNDS]}
ROUNDS=${2:-20}
ensure_debian_packages
WORK=$(mktemp -d /tmp/mailseal-rolling.XXXXXX)
OLD_PID="" NEW_PID=""
finish() {
    [ -n "$OLD_PID" ] && kill "$OLD_PID" 2>/dev/null || true
    [ -n "$NEW_PID" ] && kill "$NEW_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    stop_postgres
}
start_postgres
trap finish EXIT

if ! git diff --quiet "$OLD_REV" HEAD -- Sources/MailsealStore/Migrations; then
    echo "$OLD_REV and HEAD differ in their migrations: not a migration-free release" >&2
    exit 1
fi

OLD_TREE=/tmp/mailseal-old-$(git rev-parse --short "$OLD_REV")
log "Building $OLD_REV (the old release) in $OLD_TREE"
[ -d "$OLD_TREE" ] || git worktree add --detach "$OLD_TREE" "$OLD_REV" >/dev/null
(cd "$OLD_TREE" && flock /tmp/mailseal-build.lock swift build --product mailseal >"$WORK/old-build.log" 2>&1) \
    || { tail -20 "$WORK/old-build.log"; exit 1; }
[ -x "$(swift build --show-bin-path)/mailseal" ] || { echo "build this checkout first (swift build)" >&2; exit 1; }
mkdir -p "$WORK/bin"
OLD_BIN="$WORK/bin/mailseal-old"
NEW_BIN="$WORK/bin/mailseal-new"
cp "$(cd "$OLD_TREE" && swift build --show-bin-path)/mailseal" "$OLD_BIN"
flock /tmp/mailseal-build.lock cp "$(swift build --show-bin-path)/mailseal" "$NEW_BIN"

"$PG_BIN/psql" "$POSTGRES_URL" -qc "CREATE DATABASE rolling" >/dev/null
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT_OLD=$(free_port)
PORT_NEW=$(free_port)
export DATABASE_URL="${POSTGRES_URL/\/postgres?/\/rolling?}"
export MAILSEAL_DATA_DIR="$WORK/data"
export MAILSEAL_CA_PASSPHRASE="rolling-upgrade-passphrase-not-secret"
export MAILSEAL_PUBLIC_URL="http://127.0.0.1:$PORT_OLD"
export MAILSEAL_ORG_NAME="Universität Beispielstadt"
export MAILSEAL_ORG_ID="NTRDE-DEB1101.HRB123456"
export MAILSEAL_ORG_COUNTRY="DE"
export LC_ALL=C.UTF-8

serve() { # binary port log
    "$1" serve --hostname 127.0.0.1 --port "$2" >"$3" 2>&1 &
    echo $!
}
wait_healthy() { # port
    local deadline=$((SECONDS + 120))
    until curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { echo "no answer on port $1" >&2; return 1; }
        sleep 0.2
    done
}

log "The old release serves on $PORT_OLD (it migrates and makes the test CA)"
OLD_PID=$(serve "$OLD_BIN" "$PORT_OLD" "$WORK/old.log")
wait_healthy "$PORT_OLD"
log "The new build serves beside it on $PORT_NEW, on the same database"
NEW_PID=$(serve "$NEW_BIN" "$PORT_NEW" "$WORK/new.log")
wait_healthy "$PORT_NEW"

mkdir -p "$WORK/certs"
issue() { # binary index → path of the certificate
    local csr="$WORK/certs/$2.csr" out="$WORK/certs/$2.pem"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=ignored" -out "$csr" 2>/dev/null
    "$1" ca issue --csr "$csr" --email "p$2@example.edu" --mailbox-only --out "$out" >/dev/null
    echo "$out"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
ocsp_status() { # port certificate
    openssl ocsp -issuer "$WORK/issuing.pem" -cert "$1" -url "http://127.0.0.1:$2/ocsp" \
        -no_nonce -noverify 2>/dev/null | sed -n "s|^$1: ||p" | head -1
}
expect_status() { # certificate status: on both instances, within 5 s
    local deadline=$((SECONDS + 5)) port got
    for port in "$PORT_OLD" "$PORT_NEW"; do
        until got=$(ocsp_status "$1" "$port"); [ "$got" = "$2" ]; do
            [ $SECONDS -lt $deadline ] || { echo "OCSP on $port says '$got' for $1, not $2" >&2; return 1; }
            sleep 0.1
        done
    done
}

first=$(issue "$OLD_BIN" 0)
issuer_url=$(openssl x509 -in "$first" -noout -ext authorityInfoAccess | sed -n 's/.*CA Issuers - URI:\(.*\)/\1/p')
curl -fsS "$issuer_url" | openssl x509 -inform DER -out "$WORK/issuing.pem"
expect_status "$first" good

log "$ROUNDS rounds: each instance issues, the other's certificate is revoked, both answer"
issued=1 revoked=0
for round in $(seq 1 "$ROUNDS"); do
    a=$(issue "$OLD_BIN" "o$round")
    b=$(issue "$NEW_BIN" "n$round")
    issued=$((issued + 2))
    expect_status "$a" good
    expect_status "$b" good
    if [ $((round % 4)) = 0 ]; then
        "$NEW_BIN" ca revoke --serial "$(serial_of "$a")" --reason superseded >/dev/null
        "$OLD_BIN" ca revoke --serial "$(serial_of "$b")" --reason keyCompromise >/dev/null
        revoked=$((revoked + 2))
        expect_status "$a" revoked
        expect_status "$b" revoked
    fi
    for port in "$PORT_OLD" "$PORT_NEW"; do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null
        curl -fsS "http://127.0.0.1:$port/" >/dev/null
    done
done

log "The old instance stops (its machine is upgraded); the new one carries on"
kill -INT "$OLD_PID"; wait "$OLD_PID" || true; OLD_PID=""
last=$(issue "$NEW_BIN" last)
issued=$((issued + 1))
ocsp_status "$last" "$PORT_NEW" | grep -qx good
crl_url=$(openssl x509 -in "$last" -noout -ext crlDistributionPoints | sed -n 's/.*URI:\(.*\)/\1/p' | head -1)
curl -fsS "${crl_url/127.0.0.1:$PORT_OLD/127.0.0.1:$PORT_NEW}" | openssl crl -inform DER -noout -text \
    | grep -c "Serial Number" | { read -r listed; [ "$listed" -ge "$revoked" ] || { echo "the CRL lists $listed, $revoked revoked" >&2; exit 1; }; }
kill -INT "$NEW_PID"; wait "$NEW_PID" || true; NEW_PID=""

"$NEW_BIN" audit verify
count=$("$PG_BIN/psql" "$DATABASE_URL" -tAc "SELECT COUNT(*) FROM certificates WHERE request_id IS NULL")
distinct=$("$PG_BIN/psql" "$DATABASE_URL" -tAc "SELECT COUNT(DISTINCT serial) FROM certificates")
[ "$count" = "$issued" ] && [ "$distinct" -ge "$issued" ] \
    || { echo "certificates: $count recorded, $distinct serials, $issued issued" >&2; exit 1; }
errors=$(grep -hE '\[ (ERROR|CRITICAL) \]|"level":"(error|critical)"' "$WORK/old.log" "$WORK/new.log" || true)
if [ -n "$errors" ]; then
    echo "$errors" >&2
    echo "an instance logged errors" >&2
    exit 1
fi
log "Rolling upgrade from $OLD_REV: $issued certificates issued, $revoked revoked, by both side by side; no error logged"
