#!/usr/bin/env bash
# Measures the issuance pipeline (release build) per CA key type on SQLite
# and on PostgreSQL, with the raw signature rate of the same key beside it.
# Starts a throw-away PostgreSQL on 127.0.0.1 and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh

ensure_debian_packages
ensure_python_environment   # the upstream benchmark's HARICA test server
start_postgres
export MAILSEAL_BENCH_POSTGRES_URL="$POSTGRES_URL"
log "Running the issuance benchmark (release build; the first build takes a while)"
swift package --disable-sandbox benchmark --target IssuanceBenchmark --no-progress "$@"
