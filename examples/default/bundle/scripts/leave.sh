#!/bin/bash
# Take this RabbitMQ node out of its cluster before its server goes away.
#
# Heat runs this on the node for the DELETE action of its deployment, that
# is on scale-in or when the node is replaced. It refuses while the node
# is quorum-critical (its departure would cost a quorum queue its
# majority), then drains it, shrinks quorum queues off it, resets it so
# that the survivors forget it, and stops it. Inputs are in CONTRACT.md.
set -euo pipefail
umask 077

# --- common part: the same in configure.sh, form.sh and leave.sh --------
ROOT=${CUE_ROOT:-}
RMQ_BIN=${CUE_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
ETC=$ROOT/etc/rabbitmq
DATA=$ROOT/var/lib/rabbitmq
LOGS=$ROOT/var/log/rabbitmq
HOSTS_FILE=$ROOT/etc/hosts
# Server and CLI read the node's name, ports and paths from this one file.
export RABBITMQ_CONF_ENV_FILE=$ETC/rabbitmq-env.conf
# The CLI finds the cookie in $HOME; the server's home is $DATA too.
export HOME=$DATA
export ERL_CRASH_DUMP=$LOGS/erl_crash_dump
export LANG=C.UTF-8 LC_ALL=C.UTF-8

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }

# Several test nodes share one host and one epmd, which keys nodes by the
# part before the @, so there each host gets its own prefix instead.
node_name() {
    if [ -n "${CUE_SHARED_HOST:-}" ]; then
        printf 'rabbit-%s@%s' "$1" "$CUE_SHARED_HOST"
    else
        printf 'rabbit@%s' "$1"
    fi
}

ctl() { "$RMQ_BIN/rabbitmqctl" -q "$@"; }
diag() { "$RMQ_BIN/rabbitmq-diagnostics" -q "$@"; }

put_output() {
    if [ -n "${heat_outputs_path:-}" ]; then
        printf '%s' "$2" > "$heat_outputs_path.$1"
    fi
}

# Replace the block that cue-heat owns in the hosts file (stdin: lines).
write_hosts_block() {
    local tmp
    mkdir -p "$(dirname "$HOSTS_FILE")"
    touch "$HOSTS_FILE"
    tmp=$(mktemp "$HOSTS_FILE.XXXXXX")
    sed '/^# BEGIN cue-heat$/,/^# END cue-heat$/d' "$HOSTS_FILE" > "$tmp"
    { echo '# BEGIN cue-heat'; cat; echo '# END cue-heat'; } >> "$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$HOSTS_FILE"
}

# Wait until the node answers check_running; a node that fails to boot is
# found by this health check, since its launcher may still exit 0.
wait_running() {
    local name=$1 deadline=$((SECONDS + ${CUE_BOOT_TIMEOUT:-180}))
    until diag -n "$name" check_running > /dev/null 2>&1; do
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2> /dev/null; then
            return 1
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 1
    done
}
# --- end of common part --------------------------------------------------

: "${node_host:?}"
SELF=$(node_name "$node_host")
SERVICE_MODE=${CUE_SERVICE_MODE:-systemd}

# The running peers, read before this node stops answering for them.
peers() {
    ctl -n "$SELF" cluster_status --formatter json | python3 -c '
import json, sys
for node in json.load(sys.stdin)["running_nodes"]:
    if node != sys.argv[1]:
        print(node)
' "$SELF"
}

disk_nodes_of() {
    ctl -n "$1" cluster_status --formatter json 2> /dev/null \
        | python3 -c '
import json, sys
print("\n".join(json.load(sys.stdin)["disk_nodes"]))
'
}

# A peer that still lists this node after the reset is told to forget
# it; one answering peer is enough, the cluster shares its membership.
forget_on_peers() {
    local peer known
    for peer in "$@"; do
        known=$(disk_nodes_of "$peer") || continue
        if printf '%s\n' "$known" | grep -Fxq -- "$SELF"; then
            log "$peer forgets $SELF"
            ctl -n "$peer" forget_cluster_node "$SELF" || continue
        fi
        return 0
    done
    log "no peer confirmed that $SELF is forgotten"
}

stop_node() {
    if [ "$SERVICE_MODE" = systemd ]; then
        systemctl stop rabbitmq-server
        systemctl disable rabbitmq-server || true
    else
        ctl -n "$SELF" shutdown
    fi
}

main() {
    local survivors
    if ! diag -n "$SELF" ping > /dev/null 2>&1; then
        log "$SELF is not running; its peers forget it in form.sh"
        exit 0
    fi
    survivors=$(peers)

    # NOTE: force_leave is for deleting the whole cluster, where every
    # node leaves at once and the last ones are quorum-critical by nature.
    if [ "${force_leave:-false}" != true ] &&
            ! diag -n "$SELF" check_if_node_is_quorum_critical >&2; then
        fail "$SELF is quorum-critical; refusing to remove it"
    fi
    "$RMQ_BIN/rabbitmq-upgrade" -q -n "$SELF" drain
    "$RMQ_BIN/rabbitmq-queues" -q -n "$SELF" shrink "$SELF" > /dev/null ||
        log "shrinking quorum queues off $SELF failed"
    ctl -n "$SELF" stop_app
    if [ -n "$survivors" ]; then
        ctl -n "$SELF" reset || log "reset of $SELF failed"
        # shellcheck disable=SC2086
        forget_on_peers $survivors
    fi
    stop_node
    log "$SELF left the cluster (survivors: ${survivors//$'\n'/ })"
}

main "$@"
