# Shared by scripts/test.sh and scripts/benchmark.sh: installing what is
# missing and a throw-away PostgreSQL on 127.0.0.1. Source it; do not run it.

log() { printf '\n==> %s\n' "$*"; }
# Runs a test command with its output shown and kept in .build/test-logs/NAME.log;
# when it fails, repeats its failures (swift-testing's ✘ lines, XCTest's
# "error:" lines) at the end, where a truncated CI log still shows them.
run_logged() {
    local name=$1; shift
    local file="$ROOT/.build/test-logs/$name.log"
    mkdir -p "$(dirname "$file")"
    if "$@" 2>&1 | tee "$file"; then return 0; fi
    printf '\n==> %s failed; its failures (whole log: %s):\n' "$name" "$file"
    grep -E '✘|recorded an issue|error: |Fatal error|FAIL:|ERROR:' "$file" | tail -n 60 || true
    return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# Installs the Debian packages the tests and benchmarks call: OpenSSL and
# PostgreSQL as judges and store, Chromium and its driver for the browser
# tests, zbar-tools to read back the TOTP QR codes, and the PKCS#12 judges
# (NSS's pk12util, GnuTLS's certtool, Java's keytool).
ensure_debian_packages() {
    local missing=()
    command -v openssl >/dev/null || missing+=(openssl)
    command -v curl >/dev/null || missing+=(curl)
    command -v psql >/dev/null || missing+=(postgresql-client)
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then missing+=(postgresql); fi
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    command -v zbarimg >/dev/null || missing+=(zbar-tools)
    command -v pk12util >/dev/null || missing+=(libnss3-tools)
    command -v certtool >/dev/null || missing+=(gnutls-bin)
    command -v keytool >/dev/null || missing+=(default-jre-headless)
    # The HSM the PKCS#11 custody is tested against, and an independent
    # PKCS#11 client to judge what the token holds.
    [ -f /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null || missing+=(softhsm2)
    command -v pkcs11-tool >/dev/null || missing+=(opensc)
    # zlib's headers: ZIPFoundation (HARICA's ZIP answers) links zlib. Part
    # of Swift's own Debian dependencies; named here in case they are not.
    [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    # The directory the publisher is tested against (OpenLDAP), and its
    # own clients as the judges. The package makes no database of its own
    # and starts nothing (the tests run their own slapd on 127.0.0.1).
    if [ ! -x /usr/sbin/slapd ]; then
        missing+=(slapd)
        echo 'slapd slapd/no_configuration boolean true' | as_root debconf-set-selections
    fi
    command -v ldapsearch >/dev/null || missing+=(ldap-utils)
    # The service unit's judge (deploy/mailseal.service).
    command -v systemd-analyze >/dev/null || missing+=(systemd)
    # The reverse proxy the browser tests run behind once (the shipped site,
    # deploy/nginx-mailseal.conf). Its package would start nginx's default
    # site on port 80: installed with services forbidden to start, and its
    # unit left disabled (the tests run their own nginx on 127.0.0.1).
    local nginx_new=false
    if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
        missing+=(nginx)
        nginx_new=true
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        without_service_starts apt_install "${missing[@]}"
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    if $nginx_new && command -v systemctl >/dev/null; then
        as_root systemctl disable --quiet nginx.service 2>/dev/null || true
    fi
}

# Runs a command while Debian's policy-rc.d forbids starting services (exit
# 101), so that no package it installs starts a daemon; a policy-rc.d that
# is there already is left as it is.
without_service_starts() {
    local policy=/usr/sbin/policy-rc.d status=0
    if [ -e "$policy" ]; then "$@"; return; fi
    printf '#!/bin/sh\n# scripts/lib.sh: no service starts while packages install.\nexit 101\n' \
        | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    "$@" || status=$?
    as_root rm -f "$policy"
    return $status
}

# Installs Debian packages (none: nothing to do).
apt_install() {
    [ $# -gt 0 ] || return 0
    log "Installing Debian packages: $*"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Installs what is missing of `command:package` pairs, e.g. cfssl:golang-cfssl.
install_missing_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
    done
    apt_install "${missing[@]}"
}

# Sets BINARY: as given, or the release build of mailseal (built now).
release_binary() {
    if [ -z "${BINARY:-}" ]; then
        log "Building the release binary"
        swift build -c release --product mailseal
        BINARY="$(swift build -c release --show-bin-path)/mailseal"
    fi
    [ -x "$BINARY" ] || { echo "no mailseal binary at $BINARY" >&2; exit 66; }
}

# Makes (or reuses) the Python environment with the pinned judges.
ensure_python_environment() {
    VENV="${MAILSEAL_VENV:-$ROOT/.venv}"
    if ! "$VENV/bin/python" -c 'import pkilint' 2>/dev/null || ! cmp -s "$ROOT/scripts/requirements-test.txt" "$VENV/.requirements"; then
        log "Making the Python environment $VENV (pinned: scripts/requirements-test.txt)"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-test.txt"
        cp "$ROOT/scripts/requirements-test.txt" "$VENV/.requirements"
    fi
    export MAILSEAL_VENV="$VENV"
}

# The upstream CAs' independent clients (tcs-garr, cert-manager), pinned in
# an environment of their own: scripts/requirements-upstream.txt.
ensure_upstream_clients() {
    UPSTREAM_VENV="${MAILSEAL_UPSTREAM_VENV:-$ROOT/.venv-upstream}"
    if ! "$UPSTREAM_VENV/bin/python" -c 'import cert_manager, tcs_garr' 2>/dev/null || ! cmp -s "$ROOT/scripts/requirements-upstream.txt" "$UPSTREAM_VENV/.requirements"; then
        log "Making the Python environment $UPSTREAM_VENV (pinned: scripts/requirements-upstream.txt)"
        rm -rf "$UPSTREAM_VENV"
        python3 -m venv "$UPSTREAM_VENV"
        "$UPSTREAM_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-upstream.txt"
        cp "$ROOT/scripts/requirements-upstream.txt" "$UPSTREAM_VENV/.requirements"
    fi
    export MAILSEAL_UPSTREAM_VENV="$UPSTREAM_VENV"
}

# Starts PostgreSQL on a free port of 127.0.0.1, as an unprivileged user when
# run as root; sets POSTGRES_URL (superuser "mailseal") and stops it on exit.
start_postgres() {
    PG_DIR=$(mktemp -d /tmp/mailseal-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
    fi
    trap stop_postgres EXIT
    local port password
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    log "Starting PostgreSQL on 127.0.0.1:$port"
    printf '%s\n' "$password" > "$PG_DIR/pwfile"
    chmod 600 "$PG_DIR/pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR/pwfile"; fi
    as_postgres "$PG_BIN/initdb" --pgdata="$PG_DIR/data" --username=mailseal --pwfile="$PG_DIR/pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    # max_connections: the suite runs its ~170 database tests at once, each
    # on a database of its own with a pool of one connection per event loop
    # and a listener (measured peak 209; 200 refused a few of them).
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR -c max_connections=600" \
        start >/dev/null
    POSTGRES_URL="postgres://mailseal:$password@127.0.0.1:$port/postgres?sslmode=disable"
}

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_postgres() {
    if [ -n "${PG_DIR:-}" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
