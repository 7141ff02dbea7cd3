#!/usr/bin/env bash
# Runs the libFuzzer targets of Fuzz/ (built with -sanitize=fuzzer,address)
# for a given time each, starting from the committed seed corpora:
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      (default: 60 s, every target)
# Targets: FuzzCSR (PKCS#10, DER and PEM), FuzzOCSPRequest, FuzzOCSPFastPath
# (the responder's hand-read sole CertID against the full reader), FuzzLenientPEM,
# FuzzPKCS8 (encrypted key files), FuzzRequestJSON (the API's request form
# and every check that needs no database), FuzzKeyEnvelope (key escrow's CMS
# envelope and recovery share files), FuzzCMPMessage (an upstream CA's CMP
# answers, their MAC checked), FuzzCertificateBundle (an upstream's PKCS#7
# and PEM chains), FuzzLDAPMessage (a directory server's answers). New inputs go to a scratch folder,
# not into the repository; a crash or a leak fails the run and keeps the
# input (its path is printed). The committed seeds (no key material) are made
# by the project's own code:
#   swift build --package-path Fuzz --scratch-path .build-fuzz-seeds --product FuzzSeeds
#   .build-fuzz-seeds/debug/FuzzSeeds Fuzz/Corpus
# FuzzPKCS8's seeds are encrypted private keys: made here at each run with
# OpenSSL (a throw-away P-256 key, PBES2 with few rounds), never committed;
# so are FuzzKeyEnvelope's (envelopes by `openssl cms`, a share by
# `mailseal recovery init` when the portal's binary is built); and
# FuzzCMPMessage's are the messages OpenSSL's own CMP client and server
# exchange (p10cr, cp, certConf, pkiConf, pollReq, pollRep, rr, rp, error),
# captured at each run with a throw-away CA; FuzzCertificateBundle's are a
# throw-away chain as PEM, PKCS#7 DER and PKCS#7 PEM, made at each run;
# FuzzLDAPMessage's are answers slapd sent (committed, Fuzz/Corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(FuzzCSR FuzzOCSPRequest FuzzOCSPFastPath FuzzLenientPEM FuzzPKCS8 FuzzRequestJSON FuzzKeyEnvelope FuzzCMPMessage FuzzCertificateBundle FuzzLDAPMessage)
FLAGS=(--package-path Fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

echo "==> Building the fuzz targets (-sanitize=fuzzer,address)"
for target in "${TARGETS[@]}"; do swift build "${FLAGS[@]}" --product "$target"; done
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
WORK=$(mktemp -d /tmp/mailseal-fuzz.XXXXXX)
FAILED=0
for target in "${TARGETS[@]}"; do
    mkdir -p "$WORK/$target/corpus" "$WORK/$target/crashes"
    if [ "$target" = FuzzPKCS8 ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            | openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 1000 \
                -passout "pass:fuzzing passphrase" -out "$WORK/$target/corpus/p256.pem"
        openssl pkcs8 -in "$WORK/$target/corpus/p256.pem" -passin "pass:fuzzing passphrase" \
            -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 1000 -passout "pass:fuzzing passphrase" \
            -outform DER -out "$WORK/$target/corpus/p256.der"
    elif [ "$target" = FuzzKeyEnvelope ]; then
        # Envelopes of a throw-away key for one and for two throw-away
        # recovery certificates, in the shape the browser writes, and (with
        # the portal's binary built) one share of a throw-away recovery key.
        seeds="$WORK/$target/seeds"
        mkdir -p "$seeds"
        for name in a b; do
            openssl req -x509 -newkey rsa:3072 -nodes -keyout "$seeds/$name.key" -subj "/CN=Fuzz recovery $name" \
                -days 1 -addext keyUsage=critical,keyEncipherment -addext basicConstraints=critical,CA:FALSE \
                -out "$seeds/$name.pem" 2>/dev/null
        done
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkcs8 -topk8 -nocrypt \
            -outform DER -out "$seeds/key.der"
        oaep=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256)
        openssl cms -encrypt -binary -aes256 -in "$seeds/key.der" -outform DER \
            -out "$WORK/$target/corpus/one.der" -recip "$seeds/a.pem" "${oaep[@]}"
        openssl cms -encrypt -binary -aes256 -in "$seeds/key.der" -outform DER \
            -out "$WORK/$target/corpus/two.der" -recip "$seeds/a.pem" "${oaep[@]}" -recip "$seeds/b.pem" "${oaep[@]}"
        mailseal="${MAILSEAL_BINARY:-$(swift build --show-bin-path)/mailseal}"
        if [ -x "$mailseal" ]; then
            "$mailseal" recovery init --out "$seeds/shares" --split 3 --threshold 2 >/dev/null
            cp "$seeds/shares/recovery-share-1-of-3.pem" "$WORK/$target/corpus/share.pem"
        fi
        rm -rf "$seeds"
    elif [ "$target" = FuzzCMPMessage ]; then
        seeds="$WORK/$target/seeds"
        mkdir -p "$seeds"
        ( cd "$seeds"
          openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
              -subj "/CN=Fuzz CA" -days 1 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
          openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key -out ee.csr -subj "/CN=ee" 2>/dev/null
          printf "extendedKeyUsage=emailProtection\nsubjectAltName=email:ee@example.edu\n" > ext.cnf
          openssl x509 -req -in ee.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out ee.pem -extfile ext.cnf 2>/dev/null
          corpus="$WORK/$target/corpus"
          # One server per exchange (OpenSSL 3.0's keeps one transaction);
          # it prints its port on standard output, line-buffered by stdbuf.
          exchange() {
              local name=$1; shift
              local options=("${SERVER_OPTIONS[@]}")
              stdbuf -oL openssl cmp -port 0 -srv_ref 1 -srv_secret "pass:fuzzing secret" -rsp_cert ee.pem \
                  -rsp_extracerts ca.pem "${options[@]}" > server.log 2>&1 &
              local server=$!
              local port=""
              for _ in $(seq 100); do
                  port=$(grep -o 'ACCEPT [^ ]*:[0-9]*' server.log | grep -o '[0-9]*$' || true)
                  [ -n "$port" ] && break
                  read -r -t 0.05 <> <(:) || true   # wait for the server's first line
              done
              openssl cmp -server "127.0.0.1:$port/pkix/" -ref 1 -secret "pass:fuzzing secret" \
                  -recipient "/CN=Fuzz CA" "$@" -reqout "$corpus/$name-req1.der,$corpus/$name-req2.der,$corpus/$name-req3.der" \
                  -rspout "$corpus/$name-rsp1.der,$corpus/$name-rsp2.der,$corpus/$name-rsp3.der" >/dev/null 2>&1 || true
              kill -9 "$server" 2>/dev/null || true
              wait "$server" 2>/dev/null || true
          }
          SERVER_OPTIONS=(); exchange enrol -cmd p10cr -csr ee.csr -certout got.pem -newkey ee.key
          SERVER_OPTIONS=(-poll_count 2 -check_after 0); exchange poll -cmd p10cr -csr ee.csr -certout got.pem -newkey ee.key
          SERVER_OPTIONS=(-send_error); exchange error -cmd p10cr -csr ee.csr -certout got.pem -newkey ee.key
          SERVER_OPTIONS=(); exchange revoke -cmd rr -oldcert ee.pem -revreason 1
        )
        rm -rf "$seeds"
        [ -n "$(ls "$WORK/$target/corpus")" ] || { echo "no CMP seeds were captured"; exit 1; }
    elif [ "$target" = FuzzCertificateBundle ]; then
        seeds="$WORK/$target/seeds"
        mkdir -p "$seeds"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$seeds/ca.key" \
            -out "$seeds/ca.pem" -subj "/CN=Fuzz bundle CA" -days 1 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$seeds/ee.key" -subj "/CN=ee" \
            -out "$seeds/ee.csr" 2>/dev/null
        openssl x509 -req -in "$seeds/ee.csr" -CA "$seeds/ca.pem" -CAkey "$seeds/ca.key" -CAcreateserial -days 1 \
            -out "$seeds/ee.pem" 2>/dev/null
        cat "$seeds/ee.pem" "$seeds/ca.pem" > "$WORK/$target/corpus/chain.pem"
        openssl crl2pkcs7 -nocrl -certfile "$WORK/$target/corpus/chain.pem" -outform DER \
            -out "$WORK/$target/corpus/chain.p7b"
        openssl crl2pkcs7 -nocrl -certfile "$WORK/$target/corpus/chain.pem" \
            -out "$WORK/$target/corpus/chain.p7.pem"
        rm -rf "$seeds"
    else
        cp Fuzz/Corpus/"$target"/* "$WORK/$target/corpus/"
    fi
    echo "==> $target for ${SECONDS_EACH}s"
    if "$BIN/$target" "$WORK/$target/corpus" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$WORK/$target/crashes/" \
        > "$WORK/$target/log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$WORK/$target/log" | grep -o '[0-9]*$')
        rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$WORK/$target/log" | grep -o '[0-9]*$')
        units=$(ls "$WORK/$target/corpus" | wc -l)
        echo "    $runs executions ($rate/s), corpus $units inputs, no crash"
    else
        FAILED=1
        echo "    FAILED — input and log kept in $WORK/$target:"
        grep -E "ERROR|SUMMARY|artifact" "$WORK/$target/log" | head -20
    fi
done
if [ "$FAILED" = 0 ]; then rm -rf "$WORK"; fi
exit "$FAILED"
