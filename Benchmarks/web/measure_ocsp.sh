#!/usr/bin/env bash
# OCSP responses per second and p99 latency under wrk (keep-alive, 2
# threads, 32 connections) on 127.0.0.1: Mailseal's POST /ocsp and
# GET /ocsp/<base64> — on its OCSP listener (MAILSEAL_OCSP_LISTEN, plain
# NIO) and on the portal's port — against `cfssl ocspserve` (Debian's golang-cfssl)
# serving the same N certificates (some revoked), in the same run on the
# same machine. Mailseal answers from memory: statuses loaded at start and
# kept current by revocations, responses signed ahead in the background
# (see OCSPService); cfssl from a file of responses signed beforehand
# (`cfssl ocspsign`) by a delegated responder of the same key type as
# Mailseal's. Every answer of both is checked by OpenSSL before measuring.
#
#   N=200            certificates, issued one by one with `mailseal ca issue`
#   REVOKED=5        of them revoked with `mailseal ca revoke`
#   DURATION=20s     per wrk run; CONNECTIONS=32, THREADS=2
#   BINARY=path      a mailseal binary to use instead of building the release one
#   FLOOD=1          then the nonce flood (measure_ocsp_flood.py): 32 connections
#                    sending nonces beside a steady client without nonce and
#                    /healthz, responder key in a file and in SoftHSM2 (0: skip)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
ROOT=$PWD
source scripts/lib.sh

N="${N:-200}"
REVOKED="${REVOKED:-5}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
PASSPHRASE=measure-ocsp-passphrase-0123
[ "$N" -ge 1 ] && [ "$REVOKED" -ge 0 ] && [ "$REVOKED" -le "$N" ] || { echo "need 1 <= N and 0 <= REVOKED <= N" >&2; exit 64; }

install_missing_tools openssl:openssl curl:curl python3:python3 wrk:wrk cfssl:golang-cfssl softhsm2-util:softhsm2
release_binary

WORK=$(mktemp -d /tmp/mailseal-ocsp.XXXXXX)
PORTAL_PID=
CFSSL_PID=
cleanup() {
    for pid in $PORTAL_PID $CFSSL_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Polls (with a deadline) until the URL answers at all.
wait_for() {
    local url=$1 log_file=$2
    for _ in $(seq 1 600); do
        curl -s -o /dev/null "$url" && return 0
        sleep 0.2
    done
    echo "nothing answers at $url:" >&2
    cat "$log_file" >&2
    exit 1
}

# Mailseal, with a fresh data folder and test CA.
PORT=$(free_port)
MAILSEAL_URL="http://127.0.0.1:$PORT"
LISTENER_PORT=$(free_port)
LISTENER_URL="http://127.0.0.1:$LISTENER_PORT"
DATA="$WORK/data"
export MAILSEAL_DATA_DIR="$DATA" MAILSEAL_PUBLIC_URL="$MAILSEAL_URL" MAILSEAL_CA_PASSPHRASE="$PASSPHRASE" \
    MAILSEAL_OCSP_LISTEN="127.0.0.1:$LISTENER_PORT" \
    MAILSEAL_ALLOWED_DOMAINS=example.edu LOG_LEVEL=warning
unset DATABASE_URL MAILSEAL_OCSP_SIGNER MAILSEAL_PKI_URL
log "Mailseal ($BINARY) on $MAILSEAL_URL"
"$BINARY" serve --env production --hostname 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
PORTAL_PID=$!
for _ in $(seq 1 600); do curl -fs "$MAILSEAL_URL/healthz" >/dev/null && break; sleep 0.2; done
curl -fs "$MAILSEAL_URL/healthz" >/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }

# N certificates, issued one by one on the command line (a P-256 key each).
log "Issuing $N certificates with \`mailseal ca issue\`"
mkdir -p "$WORK/certs" "$WORK/keys" "$WORK/requests"
for i in $(seq 1 "$N"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/keys/$i.key" \
        -subj "/CN=x" -out "$WORK/keys/$i.csr" 2>/dev/null
done
START=$(date +%s.%N)
for i in $(seq 1 "$N"); do
    "$BINARY" ca issue --csr "$WORK/keys/$i.csr" --email "measure$i@example.edu" --mailbox-only \
        --out "$WORK/certs/$i.pem" >> "$WORK/issue.log" 2>&1 || { cat "$WORK/issue.log" >&2; exit 1; }
done
END=$(date +%s.%N)
ISSUE_SECONDS=$(python3 -c "print('%.1f' % ($END - $START))")
ISSUE_EACH=$(python3 -c "print('%.0f' % (($END - $START) * 1000 / $N))")
echo "issued $N certificates in ${ISSUE_SECONDS} s (${ISSUE_EACH} ms each, one process per certificate)"

# Some revoked, spread over the list, with reasons the S/MIME BR allow.
REASONS=(keyCompromise superseded affiliationChanged cessationOfOperation privilegeWithdrawn)
CODES=(1 4 3 5 9)
declare -A REVOKED_REASON
if [ "$REVOKED" -gt 0 ]; then
    STEP=$(( N / REVOKED ))
    for k in $(seq 0 $(( REVOKED - 1 ))); do
        i=$(( k * STEP + 1 ))
        serial=$(openssl x509 -in "$WORK/certs/$i.pem" -noout -serial | cut -d= -f2)
        r=$(( k % ${#REASONS[@]} ))
        "$BINARY" ca revoke --serial "$serial" --reason "${REASONS[$r]}" >> "$WORK/revoke.log" 2>&1 \
            || { cat "$WORK/revoke.log" >&2; exit 1; }
        REVOKED_REASON[$i]=$r
    done
    echo "revoked $REVOKED of them: ${!REVOKED_REASON[*]}"
fi

# The issuing CA and the root, from the URLs the certificates name.
ca_issuers() { openssl x509 -in "$1" -noout -ext authorityInfoAccess | sed -n 's/.*CA Issuers - URI:\(.*\)/\1/p'; }
curl -fs "$(ca_issuers "$WORK/certs/1.pem")" | openssl x509 -inform DER -out "$WORK/issuing.pem"
curl -fs "$(ca_issuers "$WORK/issuing.pem")" | openssl x509 -inform DER -out "$WORK/root.pem"
OCSP_URL=$(openssl x509 -in "$WORK/certs/1.pem" -noout -ext authorityInfoAccess | sed -n 's/.*OCSP - URI:\(.*\)/\1/p')
[ "$OCSP_URL" = "$MAILSEAL_URL/ocsp" ] || { echo "OCSP URL in the certificates: $OCSP_URL" >&2; exit 1; }

# The requests: SHA-1 CertIDs (what clients send), no nonce (cacheable, as
# from relying parties behind caches and from stapling servers); also
# with a nonce, which Mailseal signs for each request.
: > "$WORK/post.hex"; : > "$WORK/post-nonce.hex"; : > "$WORK/mailseal-get.paths"; : > "$WORK/cfssl-get.paths"
for i in $(seq 1 "$N"); do
    openssl ocsp -issuer "$WORK/issuing.pem" -cert "$WORK/certs/$i.pem" -no_nonce -reqout "$WORK/requests/$i.der" 2>/dev/null
    openssl ocsp -issuer "$WORK/issuing.pem" -cert "$WORK/certs/$i.pem" -reqout "$WORK/requests/$i.nonce.der" 2>/dev/null
done
python3 - "$WORK" "$N" <<'EOF'
import base64, sys, urllib.parse
work, n = sys.argv[1], int(sys.argv[2])
with open(work + "/post.hex", "w") as post, open(work + "/post-nonce.hex", "w") as nonce, \
        open(work + "/mailseal-get.paths", "w") as mailseal, open(work + "/cfssl-get.paths", "w") as cfssl:
    for i in range(1, n + 1):
        der = open("%s/requests/%d.der" % (work, i), "rb").read()
        post.write(der.hex() + "\n")
        nonce.write(open("%s/requests/%d.nonce.der" % (work, i), "rb").read().hex() + "\n")
        encoded = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        mailseal.write("/ocsp/%s\n" % encoded)
        cfssl.write("/%s\n" % encoded)
EOF

# cfssl: a delegated responder (P-256, OCSPSigning, ocsp-nocheck, like
# Mailseal's) signed by the issuing CA, whose key is decrypted from the
# Mailseal data folder; one response per certificate, signed beforehand.
ISSUING_KEY_REF=$("$BINARY" ca show 2>/dev/null | awk '/^Issuing CA/ {on = 1} on && $1 == "key" && $2 ~ /^file:/ {print $2; exit}')
ISSUING_KEY_FILE="$DATA/ca-keys/${ISSUING_KEY_REF#file:}"
[ -f "$ISSUING_KEY_FILE" ] || { echo "no issuing CA key file ($ISSUING_KEY_REF)" >&2; exit 1; }
openssl pkey -in "$ISSUING_KEY_FILE" -passin "pass:$PASSPHRASE" -out "$WORK/issuing.key"
cat > "$WORK/responder.ext" <<'EOF'
[ responder ]
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/responder.key" \
    -subj "/CN=cfssl OCSP responder" -out "$WORK/responder.csr" 2>/dev/null
openssl x509 -req -in "$WORK/responder.csr" -CA "$WORK/issuing.pem" -CAkey "$WORK/issuing.key" -CAcreateserial \
    -days 90 -extfile "$WORK/responder.ext" -extensions responder -out "$WORK/responder.pem" 2>/dev/null
log "Signing $N responses with \`cfssl ocspsign\`"
TODAY=$(date -u +%Y-%m-%d)
: > "$WORK/cfssl-responses.txt"
for i in $(seq 1 "$N"); do
    status=(-status good)
    if [ -n "${REVOKED_REASON[$i]:-}" ]; then
        status=(-status revoked -reason "${CODES[${REVOKED_REASON[$i]}]}" -revoked-at "$TODAY")
    fi
    cfssl ocspsign -loglevel 3 -ca "$WORK/issuing.pem" -responder "$WORK/responder.pem" \
        -responder-key "$WORK/responder.key" -cert "$WORK/certs/$i.pem" "${status[@]}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["ocspResponse"])' >> "$WORK/cfssl-responses.txt"
done
CFSSL_PORT=$(free_port)
CFSSL_URL="http://127.0.0.1:$CFSSL_PORT"
cfssl ocspserve -loglevel 2 -address 127.0.0.1 -port "$CFSSL_PORT" -responses "$WORK/cfssl-responses.txt" \
    > "$WORK/cfssl.log" 2>&1 &
CFSSL_PID=$!
wait_for "$CFSSL_URL/" "$WORK/cfssl.log"

# Every answer of both servers, judged by OpenSSL against the root: signature,
# CertID, status (and for revoked ones the reason code: OpenSSL 3.0 names
# privilegeWithdrawn "(UNKNOWN) (0x9)"), nonce where asked.
# This also fills Mailseal's cache of signed responses.
expected_status() { if [ -n "${REVOKED_REASON[$1]:-}" ]; then echo revoked; else echo good; fi; }
judge() {  # judge NAME RESPONSE REQUEST I [NONCE_OPTIONAL]: OpenSSL's verdict or exit
    local name=$1 response=$2 request=$3 i=$4 optional=${5:-} text want nonce_check
    text=$(openssl ocsp -respin "$response" -reqin "$request" -CAfile "$WORK/root.pem" \
        -verify_other "$WORK/issuing.pem" -resp_text 2>&1 || true)
    want=$(expected_status "$i")
    # A nonce beyond the responder's per-client limit is ignored (the
    # response signed ahead is sent): then only a wrong nonce is an error.
    nonce_check="Nonce Verify error|WARNING: no nonce"
    [ -n "$optional" ] && nonce_check="Nonce Verify error"
    if ! grep -q "^Response verify OK" <<<"$text" || grep -qE "$nonce_check" <<<"$text" \
        || ! grep -q "Cert Status: $want" <<<"$text" \
        || { [ "$want" = revoked ] && ! grep -q "Revocation Reason: .*(0x$(printf %x "${CODES[${REVOKED_REASON[$i]}]}"))" <<<"$text"; }; then
        echo "$name: certificate $i: not a verified '$want' answer:" >&2
        echo "$text" | head -40 >&2
        exit 1
    fi
}
check() {  # check NAME MODE URL (post) | BASE (get: + the path of the list): every certificate once; prints the size of an answer
    local name=$1 mode=$2 target=$3 i code
    for i in $(seq 1 "$N"); do
        case $mode in
        post) code=$(curl -s -o "$WORK/answer.der" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
                --data-binary "@$WORK/requests/$i.der" "$target") ;;
        post-nonce) code=$(curl -s -o "$WORK/answer.der" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
                --data-binary "@$WORK/requests/$i.nonce.der" "$target") ;;
        get) code=$(curl -s -o "$WORK/answer.der" -w '%{http_code}' "$target$(sed -n "${i}p" "$WORK/$name-get.paths")") ;;
        esac
        if [ "$code" != 200 ]; then
            echo "$name $mode: certificate $i: HTTP $code" >&2
            return 1
        fi
        # The first nonce requests are within the per-client burst (40): they
        # must carry their nonce; later ones may be answered without.
        judge "$name $mode" "$WORK/answer.der" "$WORK/requests/$i$([ "$mode" = post-nonce ] && echo .nonce).der" "$i" \
            "$([ "$mode" = post-nonce ] && [ "$i" -gt 30 ] && echo optional)"
    done
    stat -c %s "$WORK/answer.der"
}
log "OpenSSL judges every answer ($N certificates, $REVOKED revoked)"
declare -A SIZE RUN
cp "$WORK/mailseal-get.paths" "$WORK/listener-get.paths"
SIZE[listener-POST]=$(check listener post "$LISTENER_URL/ocsp")
SIZE[listener-GET]=$(check listener get "$LISTENER_URL")
SIZE[mailseal-POST]=$(check mailseal post "$MAILSEAL_URL/ocsp")
SIZE[mailseal-GET]=$(check mailseal get "$MAILSEAL_URL")
SIZE[mailseal-POST+nonce]=$(check mailseal post-nonce "$MAILSEAL_URL/ocsp")
SIZE[cfssl-POST]=$(check cfssl post "$CFSSL_URL/")
RUN[listener-POST]=1 RUN[listener-GET]=1 RUN[mailseal-POST]=1 RUN[mailseal-GET]=1 RUN[mailseal-POST+nonce]=1 RUN[cfssl-POST]=1
# cfssl 1.2 (2016) answers every GET with 400: its ocspserve does not strip
# the leading "/" of the path before base64-decoding it (fixed upstream
# later). Measured only if this cfssl answers GET.
if SIZE[cfssl-GET]=$(check cfssl get "$CFSSL_URL" 2>"$WORK/cfssl-get.err"); then
    RUN[cfssl-GET]=1
else
    echo "cfssl GET not measured: $(head -1 "$WORK/cfssl-get.err")"
fi
echo "all answers verified by OpenSSL"

measure() {  # measure KEY MODE FILE URL POSTPATH
    local key=$1 out="$WORK/wrk-$1.txt"
    log "$key: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, cycling over $N requests"
    OCSP_MODE=$2 OCSP_REQUESTS=$3 OCSP_PATH=$5 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s Benchmarks/web/ocsp.lua "$4" > "$out"
    grep -E "Requests/sec|99%|Non-2xx|Socket errors|requests in" "$out" || true
}
measure listener-POST post "$WORK/post.hex" "$LISTENER_URL" /ocsp
measure listener-GET get "$WORK/mailseal-get.paths" "$LISTENER_URL" /
measure mailseal-POST post "$WORK/post.hex" "$MAILSEAL_URL" /ocsp
measure mailseal-GET get "$WORK/mailseal-get.paths" "$MAILSEAL_URL" /
measure mailseal-POST+nonce post "$WORK/post-nonce.hex" "$MAILSEAL_URL" /ocsp
measure cfssl-POST post "$WORK/post.hex" "$CFSSL_URL" /
if [ -n "${RUN[cfssl-GET]:-}" ]; then measure cfssl-GET get "$WORK/cfssl-get.paths" "$CFSSL_URL" /; fi

# GET against POST on the listener, alternated in short runs (the machine's
# noise moves whole 20-second runs by ±10 %): the median of five ratios.
log "listener GET / POST, alternated: 5 × (wrk 5 s POST, wrk 5 s GET)"
RATIOS=()
for k in 1 2 3 4 5; do
    OCSP_MODE=post OCSP_REQUESTS="$WORK/post.hex" OCSP_PATH=/ocsp wrk -t"$THREADS" -c"$CONNECTIONS" -d5s \
        -s Benchmarks/web/ocsp.lua "$LISTENER_URL" > "$WORK/alt-post.txt"
    OCSP_MODE=get OCSP_REQUESTS="$WORK/mailseal-get.paths" OCSP_PATH=/ wrk -t"$THREADS" -c"$CONNECTIONS" -d5s \
        -s Benchmarks/web/ocsp.lua "$LISTENER_URL" > "$WORK/alt-get.txt"
    RATIOS+=("$(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) / float(sys.argv[1])))" \
        "$(awk '/^Requests\/sec:/ {print $2}' "$WORK/alt-post.txt")" "$(awk '/^Requests\/sec:/ {print $2}' "$WORK/alt-get.txt")")")
done
ALTERNATED=$(printf '%s\n' "${RATIOS[@]}" | sort -n | sed -n 3p)
echo "listener GET / POST, alternated: ${RATIOS[*]} (median $ALTERNATED)"

# The raw P-256 signature rate of every core, in this run: what a nonce
# answer (signed per request by the P-256 delegated responder) is held to.
log "openssl speed -multi $(nproc) ecdsap256"
RAW_P256=$(openssl speed -multi "$(nproc)" -seconds 5 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ {rate = $(NF - 1)} END {print rate}')

log "OCSP on 127.0.0.1: $N certificates ($REVOKED revoked), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores"
echo "mailseal: $BINARY"
echo "cfssl:    $(cfssl version | head -1 | sed 's/Version: //') ($(dpkg-query -W -f '${Version}' golang-cfssl 2>/dev/null || echo '?'))"
printf '%-9s %-11s %12s %10s %9s %8s %8s\n' server method "req/s" p99 non-2xx errors bytes
echo "listener: mailseal's OCSP listener (MAILSEAL_OCSP_LISTEN); mailseal: the portal's port"
for key in listener-POST listener-GET mailseal-POST mailseal-GET mailseal-POST+nonce cfssl-POST cfssl-GET; do
    server=${key%%-*} method=${key#*-}
    if [ -z "${RUN[$key]:-}" ]; then
        printf '%-9s %-11s %s\n' "$server" "$method" "not measured: every GET answered HTTP 400 (see above)"
        continue
    fi
    out="$WORK/wrk-$key.txt"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out" \
        | awk '{print $1 + $2 + $3 + $4}')
    printf '%-9s %-11s %12s %10s %9s %8s %8s\n' "$server" "$method" "${rps:-?}" "${p99:-?}" "${non2xx:-0}" \
        "${errors:-0}" "${SIZE[$key]}"
done
rate() { awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-$1.txt"; }
python3 - "$(rate listener-POST)" "$(rate listener-GET)" "$(rate mailseal-POST)" "$(rate mailseal-GET)" \
    "$(rate mailseal-POST+nonce)" "$(rate cfssl-POST)" "$RAW_P256" <<'EOF'
import sys
lpost, lget, post, get, nonce, cfssl, raw = (float(x or 0) for x in sys.argv[1:])
print("listener POST / cfssl POST:          %.2f" % (lpost / cfssl if cfssl else 0))
print("listener GET / listener POST:        %.2f (20 s each, one after the other)" % (lget / lpost if lpost else 0))
print("portal POST / cfssl POST:            %.2f" % (post / cfssl if cfssl else 0))
print("portal GET / portal POST:            %.2f" % (get / post if post else 0))
print("openssl speed ecdsap256 (all cores): %.0f signatures/s" % raw)
print("(POST+nonce from one client address: 20 signed a second, the rest answered from the")
print(" responses signed ahead without their nonce — the per-client limit, not a signing rate)")
EOF
echo "listener GET / listener POST, alternated (median of 5): $ALTERNATED"

if [ "${FLOOD:-1}" = 1 ]; then
    log "Nonce flood: $CONNECTIONS connections with nonces, a steady client without, /healthz"
    python3 Benchmarks/web/measure_ocsp_flood.py "$BINARY" file softhsm
fi
