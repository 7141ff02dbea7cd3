#!/usr/bin/env bash
# Takes the screenshots under docs/screenshots/: the request form, the desk's
# request page and the pickup page, each in English and German, from the
# twelve-step browser test run against the real portal (debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh

ensure_debian_packages
ensure_python_environment
log "Building (debug)"
swift build
log "Walking the twelve steps in headless Chromium, saving screenshots"
MAILSEAL_SCREENSHOTS="$ROOT/docs/screenshots" MAILSEAL_BINARY="$(swift build --show-bin-path)/mailseal" \
    "$MAILSEAL_VENV/bin/python" -m unittest discover --start-directory Tests/browser \
    --pattern 'test_twelve_steps.py' -v
ls -l docs/screenshots
