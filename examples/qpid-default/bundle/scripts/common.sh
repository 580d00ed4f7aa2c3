#!/bin/bash
# Qpid Broker-J node scripts of cue-heat: the part every script starts
# with. Heat joins this file and one of configure.sh, form.sh or leave.sh
# into one script, runs it as root with every input as an environment
# variable and reads each output from ${heat_outputs_path}.<name>.
set -euo pipefail
umask 077

ROOT=${CUE_ROOT:-}
QPID_HOME=${CUE_QPID_HOME:-$ROOT/opt/qpid-broker-j}
ETC=$ROOT/etc/qpid
WORK=$ROOT/var/lib/qpid
TLS_DIR=$ETC/tls
HTTP_PORT=8080
REPLICATION_PORT=5000

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
output() { printf '%s' "$2" > "${heat_outputs_path:-/tmp/cue-heat}.$1"; }

full_version() {
    case "$1" in
        9.2) echo 9.2.1 ;;
        10.0) echo 10.0.0 ;;
        10.1) echo 10.1.0 ;;
        *) fail "unknown Broker-J version line $1" ;;
    esac
}

# The broker's REST API on a node, as the spec's user; the password goes
# through a curl config on stdin, never on the command line.
rest() {
    local method=$1 address=$2 path=$3 body=${4:-}
    local scheme=http
    [ -s "$TLS_DIR/cert.pem" ] && scheme=https
    printf 'user = "%s:%s"\n' "$admin_username" "$admin_password" |
        curl -fsS -K - -k -X "$method" -H 'Content-Type: application/json' \
            ${body:+--data "$body"} \
            "$scheme://$address:$HTTP_PORT/api/latest/$path"
}

# Role of a node's HA virtual host node: MASTER, REPLICA, ... or none.
role_of() {
    rest GET "$1" "virtualhostnode/$2" 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("role","NONE"))' \
        2>/dev/null || echo NONE
}
