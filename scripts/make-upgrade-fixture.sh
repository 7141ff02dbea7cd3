#!/usr/bin/env bash
# Makes an upgrade fixture (issue 30, docs/upgrades.md): this checkout's
# build populates a fresh installation through the registration authority
# with every kind of record — once on SQLite, once on a throw-away
# PostgreSQL on 127.0.0.1 — and writes
#
#   Tests/fixtures/upgrade/<date>-<commit>/
#     mailseal.sqlite        the SQLite database (VACUUM INTO, then VACUUM
#                            with 1 KiB pages)
#     mailseal.pgdump.sql    the PostgreSQL one (pg_dump --format=plain
#                            --no-owner --no-privileges)
#     ca-keys/               the encrypted CA key files both databases name
#     recovery-key.pem       the test recovery key the escrow envelopes open
#     recovery-certificate.pem   with, and its certificate
#     fixture.json           the environment it was made with, the staff's
#                            password and TOTP secrets, rows per table
#     README.md              the commit, the date, what it holds
#
# UpgradeFixtureTests starts every later build on every such folder. Run it
# once per release that changes the schema (a new migration), on that
# release's commit, and commit the folder.
#
#   scripts/make-upgrade-fixture.sh [FOLDER]
#
# The builds and test runs take /tmp/mailseal-build.lock (one at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh

commit=$(git rev-parse HEAD)
FIXTURE=${1:-$ROOT/Tests/fixtures/upgrade/$(date -u +%Y-%m-%d)-${commit:0:7}}
if [ -e "$FIXTURE" ]; then
    echo "$FIXTURE exists already; remove it to make it again" >&2
    exit 1
fi

# PostgreSQL's server (for the throw-away cluster) and its clients.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || ! command -v pg_dump >/dev/null; then
    without_service_starts apt_install postgresql postgresql-client
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
command -v sqlite3 >/dev/null || apt_install sqlite3

log "Building (debug, with tests)"
flock /tmp/mailseal-build.lock swift build --build-tests

mkdir -p "$FIXTURE"
made=false
cleanup() {
    stop_postgres
    if ! $made; then
        echo "the fixture was not made; removing $FIXTURE" >&2
        rm -rf "$FIXTURE"
    fi
}
start_postgres
trap cleanup EXIT

for kind in sqlite postgres; do
    log "Populating an installation on $kind"
    flock /tmp/mailseal-build.lock env MAILSEAL_TEST_DATABASE=$kind \
        MAILSEAL_TEST_POSTGRES_URL="$POSTGRES_URL" \
        MAILSEAL_MAKE_UPGRADE_FIXTURE="$FIXTURE" MAILSEAL_FIXTURE_COMMIT="$commit" \
        swift test --skip-build --filter 'UpgradeFixtureMaker'
    file=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["databases"][sys.argv[2]]["file"])' \
        "$FIXTURE/fixture.json" "$kind")
    [ -s "$FIXTURE/$file" ] || { echo "no $file was written" >&2; exit 1; }
done
# 1 KiB pages instead of the default 4 KiB: every table and index takes a
# page at least, so the same rows fit in about half the file.
sqlite3 "$FIXTURE/mailseal.sqlite" 'PRAGMA page_size = 1024; VACUUM;'
[ "$(sqlite3 "$FIXTURE/mailseal.sqlite" 'PRAGMA integrity_check;')" = ok ]
# Git keeps no modes: the test gives the key files 0600 when it copies them.
chmod 0644 "$FIXTURE"/ca-keys/*.key.pem

log "Writing $FIXTURE/README.md"
dirty=$(git status --porcelain --untracked-files=no -- Sources Package.swift Package.resolved || true)
python3 - "$FIXTURE" "$commit" "$dirty" <<'EOF'
import json, os, sys
folder, commit, dirty = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = json.load(open(os.path.join(folder, "fixture.json")))
env = manifest["environment"]
dbs = manifest["databases"]
def size(name):
    return os.path.getsize(os.path.join(folder, name))
lines = [
    "# Upgrade fixture %s" % os.path.basename(folder),
    "",
    "Made by `scripts/make-upgrade-fixture.sh` from commit `%s` on %s (UTC)."
    % (commit, min(d["madeAt"] for d in dbs.values())),
]
if dirty.strip():
    lines += ["", "The checkout had these uncommitted changes under Sources/ then:", "", "```", dirty.rstrip(), "```"]
lines += [
    "",
    "A test installation populated through the registration authority: a test CA",
    "(root, issuing CA, OCSP responder; keys in encrypted files), requests in every",
    "state, issued certificates (personal, role mailbox, a renewal reusing the",
    "identity evidence, an escrowed pair for signing and encryption), a revocation for",
    "key compromise with its CRL, staff of every role (enrolled, signed in, one",
    "enrolment open, one administrator from the identity provider), identity",
    "evidence, a recovery certificate, a key recovery approved by two officers and",
    "downloaded, publication consent and the directory queue, renewal reminders,",
    "mail sent and queued, a service notice, login links, sessions, rate limits,",
    "upstream order rows and the audit trail of all of it.",
    "",
    "`UpgradeFixtureTests` (the regular suite) starts every later build on it.",
    "",
    "Test material only, never secret:",
    "",
    "- CA passphrase (`MAILSEAL_CA_PASSPHRASE`): `%s`" % env["MAILSEAL_CA_PASSPHRASE"],
    "- staff password: `%s`; each account's TOTP secret is in `fixture.json`" % manifest["staffPassword"],
    "- `recovery-key.pem`: the recovery key the escrow envelopes were sealed to",
    "",
    "The environment it was made with (besides the data folder and the database) is",
    "`fixture.json`'s `environment`. `mailseal.sqlite` was written by `VACUUM INTO`",
    "and compacted with 1 KiB pages (`PRAGMA page_size = 1024; VACUUM`).",
    "",
    "| file | size |",
    "| --- | ---: |",
]
for kind in sorted(dbs):
    lines.append("| `%s` | %d KB |" % (dbs[kind]["file"], (size(dbs[kind]["file"]) + 1023) // 1024))
for kind in sorted(dbs):
    lines.append("| `ca-keys/` (%s) | %s |" % (kind, ", ".join("`%s`" % k for k in dbs[kind]["keyFiles"])))
kinds = sorted(dbs)
tables = sorted(set(t for d in dbs.values() for t in d["counts"]))
lines += ["", "Rows per table:", "", "| table | " + " | ".join(kinds) + " |", "| --- |" + " ---: |" * len(kinds)]
for table in tables:
    lines.append("| `%s` | " % table + " | ".join(str(dbs[k]["counts"].get(table, "—")) for k in kinds) + " |")
open(os.path.join(folder, "README.md"), "w").write("\n".join(lines) + "\n")
EOF
made=true
du -sh "$FIXTURE"
log "Made $FIXTURE — commit it with the release"
