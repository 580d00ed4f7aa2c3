#!/bin/bash
# Form the RabbitMQ cluster from its members, repair it, report health.
#
# Heat runs this on every member (actions CREATE and UPDATE) whenever the
# member list changes. Each member joins the seed itself when it is not in
# the seed's cluster, which repairs a node that formed a cluster of its
# own, and the seed forgets nodes that are no longer members. Inputs and
# outputs are in CONTRACT.md.
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

: "${members:?}"

# A deployment group hands every server the same inputs, so node_host is
# usually empty: the member whose server_id Heat deploys to is this node.
this_host() {
    if [ -n "${node_host:-}" ]; then
        echo "$node_host"
        return
    fi
    python3 -c '
import json, sys
for member in json.loads(sys.argv[1]):
    if member.get("server_id") and member["server_id"] == sys.argv[2]:
        print(member["host"])
        break
' "$members" "${deploy_server_id:-}" | grep . || hostname -s
}

node_host=$(this_host)
SELF=$(node_name "$node_host")
FORM_TIMEOUT=${CUE_FORM_TIMEOUT:-300}

# "host address" lines of the members JSON list.
member_lines() {
    python3 -c '
import json, sys
for member in json.loads(sys.argv[1]):
    print(member["host"], member.get("address", ""))
' "$members"
}

MEMBER_NAMES=()
while read -r host _address; do
    MEMBER_NAMES+=("$(node_name "$host")")
done < <(member_lines)

status_json() {
    ctl -n "$1" cluster_status --formatter json 2> /dev/null || true
}

# Print the field (running_nodes, disk_nodes, alarms) of a status JSON.
status_field() {
    python3 -c '
import json, sys
try:
    status = json.loads(sys.argv[1])
except ValueError:
    sys.exit(0)
for item in status.get(sys.argv[2], []):
    if isinstance(item, dict):
        print(item["node"], item.get("resource", "?"))
    else:
        print(item)
' "$1" "$2"
}

# The seed is the lowest-named node of the largest cluster of members,
# so that every member picks the same one, and blank or split nodes join
# the cluster that holds the data rather than the other way round.
choose_seed() {
    local name
    for name in "${MEMBER_NAMES[@]}"; do
        printf '%s\t%s\n' "$name" "$(status_json "$name" | tr -d '\n')"
    done | python3 -c '
import json, sys
members = set(sys.argv[1:])
groups = set()
for line in sys.stdin:
    name, _, raw = line.rstrip("\n").partition("\t")
    try:
        running = set(json.loads(raw)["running_nodes"])
    except (ValueError, KeyError):
        continue
    if name in running:
        groups.add(tuple(sorted(running & members)))
if groups:
    print(sorted(groups, key=lambda group: (-len(group), group))[0][0])
' "${MEMBER_NAMES[@]}"
}

in_list() {
    local wanted=$1
    shift
    printf '%s\n' "$@" | grep -Fxq -- "$wanted"
}

# The seed's disk nodes; its status is asked again when the CLI fails to
# answer (a busy host), since a missed old incarnation fails the join.
seed_disk_nodes() {
    local attempt status
    for attempt in 1 2 3; do
        status=$(status_json "$1")
        if [ -n "$status" ]; then
            status_field "$status" disk_nodes
            return
        fi
        sleep "$attempt"
    done
}

# Reset this node and join the seed's cluster. A seed that still lists
# this node knows an older incarnation of it (the node was replaced by a
# blank one under the same name): it must forget that one first, or the
# join is refused as inconsistent.
join_seed() {
    local seed=$1 attempt known running
    log "joining $SELF to the cluster of $seed"
    ctl -n "$SELF" stop_app
    for attempt in 1 2 3 4 5; do
        ctl -n "$SELF" reset || ctl -n "$SELF" force_reset
        known=$(seed_disk_nodes "$seed")
        if in_list "$SELF" $known; then
            log "$seed forgets the old incarnation of $SELF"
            ctl -n "$seed" forget_cluster_node "$SELF" || true
        fi
        if ctl -n "$SELF" join_cluster "$seed"; then
            break
        fi
        log "join attempt $attempt failed"
        sleep "$attempt"
    done
    ctl -n "$SELF" start_app
    wait_running "$SELF" || fail "$SELF did not start after joining"
    running=$(status_field "$(status_json "$SELF")" running_nodes)
    in_list "$seed" $running || fail "$SELF could not join $seed"
}

# Nodes the cluster still lists that are neither members nor running are
# leftovers of a scale-in or of a server that died.
forget_non_members() {
    local status node
    status=$(status_json "$SELF")
    for node in $(status_field "$status" disk_nodes); do
        if ! in_list "$node" "${MEMBER_NAMES[@]}" &&
                ! in_list "$node" $(status_field "$status" running_nodes)
        then
            log "forgetting $node, no longer a member"
            ctl -n "$SELF" forget_cluster_node "$node" || true
        fi
    done
}

# Print the members that the running nodes of a status JSON ($1, this
# node's own when empty) lack.
missing_members() {
    local running name
    running=$(status_field "${1:-$(status_json "$SELF")}" running_nodes)
    for name in "${MEMBER_NAMES[@]}"; do
        in_list "$name" $running || echo "$name"
    done
}

wait_for_members() {
    local deadline=$((SECONDS + FORM_TIMEOUT))
    until [ -z "$(missing_members)" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 2
    done
}

# The status the outputs report. A node that has just joined can drop out
# of running_nodes for a moment while its peers settle, so a snapshot that
# lacks a member is taken again a few seconds later, a few times at most
# (a member that is really gone costs only those seconds).
settled_status() {
    local attempt status
    for attempt in 1 2 3 4 5; do
        status=$(status_json "$SELF")
        [ -n "$(missing_members "$status")" ] || break
        [ "$attempt" -lt 5 ] && sleep 3
    done
    printf '%s' "$status"
}

# The documented health checks: check_running, check_alarms (cluster
# wide), check_port_connectivity, and membership from cluster_status.
health() {
    local status=$1 reasons=() name node resource
    diag -n "$SELF" check_running > /dev/null 2>&1 ||
        reasons+=("$SELF not running")
    if ! diag -n "$SELF" check_alarms > /dev/null 2>&1; then
        while read -r node resource; do
            [ -n "$node" ] && reasons+=("alarm on $node ($resource)")
        done < <(status_field "$status" alarms)
        [ "${#reasons[@]}" -gt 0 ] || reasons+=("alarm reported")
    fi
    diag -n "$SELF" check_port_connectivity > /dev/null 2>&1 ||
        reasons+=("listener unreachable on $SELF")
    for name in $(missing_members "$status"); do
        reasons+=("missing $name")
    done
    if [ "${#reasons[@]}" -eq 0 ]; then
        echo ok
    else
        local IFS=';'
        echo "degraded: ${reasons[*]}" | sed 's/;/; /g'
    fi
}

main() {
    local line seed host address status
    while read -r host address; do
        [ -n "$address" ] && printf '%s %s\n' "$address" "$host"
    done < <(member_lines) | write_hosts_block

    wait_running "$SELF" || fail "$SELF is not running"
    seed=$(choose_seed)
    [ -n "$seed" ] || fail "no member of ${MEMBER_NAMES[*]} is running"
    log "seed is $seed"
    if ! in_list "$seed" $(status_field "$(status_json "$SELF")" \
            running_nodes); then
        join_seed "$seed"
    fi
    if [ "$seed" = "$SELF" ]; then
        forget_non_members
    fi
    # TODO: grow adds this node to every quorum queue, so clusters larger
    # than the queues' intended replica count replicate to all nodes.
    "$RMQ_BIN/rabbitmq-queues" -q -n "$SELF" grow "$SELF" all \
        > /dev/null || log "growing quorum queues onto $SELF failed"

    wait_for_members || log "not every member joined within ${FORM_TIMEOUT}s"
    status=$(settled_status)
    line=$(status_field "$status" running_nodes \
        | python3 -c 'import json, sys; print(json.dumps(sorted(sys.stdin.read().split())))')
    put_output running_nodes "$line"
    put_output health "$(health "$status")"
    log "running nodes: $line"
}

main "$@"
