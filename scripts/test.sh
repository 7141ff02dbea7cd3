#!/usr/bin/env bash
# Runs every test of Mailseal on a fresh Debian machine with Swift:
#   1. installs what is missing (Debian: openssl, curl, postgresql,
#      python3-venv, chromium, chromium-driver; PyPI, pinned, in .venv:
#      pkilint, aiosmtpd, selenium, schemathesis, oidc-provider-mock and
#      what they pull in; softhsm2, opensc, slapd, ldap-utils and nginx
#      from Debian, no service started by their packages),
#   2. starts a throw-away PostgreSQL on 127.0.0.1,
#   3. builds, checks formatting, runs the whole suite on SQLite and the
#      database-backed suite again on PostgreSQL, then the hardening tests
#      (PostgreSQL restarted under load, on a server of their own; races;
#      schemathesis), 60 s of fuzzing per parser (scripts/fuzz.sh) and the
#      browser tests in headless Chromium against the real portal (once
#      behind the shipped nginx site, deploy/nginx-mailseal.conf),
#   4. stops PostgreSQL and removes its files, whatever happened.
# Needs no standard input. Exit status 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh

ensure_debian_packages
ensure_python_environment
ensure_upstream_clients
start_postgres
export MAILSEAL_TEST_POSTGRES_URL="$POSTGRES_URL"

log "Building (debug, with tests)"
swift build --build-tests

log "Checking the format (swift format lint, the toolchain's default style)"
swift format lint --strict --recursive Package.swift Sources Tests Benchmarks Fuzz/Package.swift Fuzz/Sources

log "Checking the layers (web → RA → CA core, store; nothing points back up)"
python3 scripts/check-layers.py

log "Checking the service unit (systemd-analyze verify and security)"
scripts/check-deploy.sh "$(swift build --show-bin-path)/mailseal"

log "Checking the upstream test servers against the independent clients (cert-manager, tcs-garr)"
run_logged upstream-servers env NO_PROXY=127.0.0.1,localhost \
    "$MAILSEAL_UPSTREAM_VENV/bin/python" -m unittest discover --start-directory Tests/upstream --pattern 'test_*.py' -v

log "Running the whole suite on SQLite"
run_logged swift-sqlite env MAILSEAL_TEST_DATABASE=sqlite swift test --skip-build

log "Running the database-backed suite on PostgreSQL"
run_logged swift-postgres env MAILSEAL_TEST_DATABASE=postgres swift test --skip-build --filter "MailsealTests|MailsealRATests"

log "Running the hardening tests (the real portal: PostgreSQL restarted under load; schemathesis)"
run_logged hardening env MAILSEAL_PG_BIN="$PG_BIN" MAILSEAL_BINARY="$(swift build --show-bin-path)/mailseal" \
    "$MAILSEAL_VENV/bin/python" -m unittest discover --start-directory Tests/hardening --pattern 'test_*.py' -v

log "Fuzzing every parser that takes hostile bytes, 60 s each (libFuzzer, AddressSanitizer)"
scripts/fuzz.sh "${MAILSEAL_FUZZ_SECONDS:-60}"

log "Running the browser tests (headless Chromium, real SMTP server, OpenSSL; once behind nginx)"
run_logged browser env MAILSEAL_BINARY="$(swift build --show-bin-path)/mailseal" \
    "$MAILSEAL_VENV/bin/python" -m unittest discover --start-directory Tests/browser --pattern 'test_*.py' -v

log "All tests passed"
