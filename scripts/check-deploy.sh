#!/usr/bin/env bash
# Checks deploy/mailseal.service with systemd's own tools: `systemd-analyze
# verify` (every directive known and well-formed — any warning fails — the binary there, the
# built one stands in for /usr/local/bin/mailseal) and `systemd-analyze
# security --offline` (the sandbox's exposure score must stay at or below
# 2.5, systemd's "OK"). Usage: scripts/check-deploy.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-$(swift build --show-bin-path)/mailseal}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/mailseal|$binary|" deploy/mailseal.service > "$work/mailseal.service"
# verify exits 0 on an unknown key or a bad value, but says so: any word
# from it fails the check.
said=$(systemd-analyze verify "$work/mailseal.service" 2>&1) || { echo "$said" >&2; exit 1; }
if [ -n "$said" ]; then
    echo "$said" >&2
    echo "check-deploy: systemd-analyze verify has objections" >&2
    exit 1
fi
report=$(systemd-analyze security --offline=true --no-pager "$work/mailseal.service")
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for mailseal.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
    printf '%s\n' "$report" >&2
    echo "check-deploy: no exposure score in systemd-analyze's report" >&2
    exit 1
fi
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
    printf '%s\n' "$report" >&2
    echo "check-deploy: exposure $score is above 2.5" >&2
    exit 1
fi
echo "deploy/mailseal.service: verified; exposure $score (systemd-analyze security)"
