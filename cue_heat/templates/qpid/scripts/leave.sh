
# --- leave.sh: one node, action DELETE -----------------------------------
# A primary first hands mastership to a replica (so healing or removing
# it leaves exactly one primary), then the node leaves the group through
# the primary and stops.
address=$(hostname -I | awk '{print $1}')
role=$(role_of "$address" "$node_host")
if [ "$role" = NONE ]; then
    log "no HA node here; nothing to leave"
    systemctl stop qpid.service || true
    exit 0
fi
list_peers() {
    rest GET "$address" "remotereplicationnode/$node_host" | python3 -c '
import json, sys
for node in json.load(sys.stdin):
    print(node["name"], node["address"].rsplit(":", 1)[0], node.get("role", ""))'
}
peers=$(list_peers)
if [ "$role" = MASTER ]; then
    next=$(printf '%s\n' "$peers" | awk '$3 == "REPLICA" {print $1; exit}')
    [ -n "$next" ] || fail "primary $node_host has no replica to hand over to"
    log "handing the primary role to $next"
    rest PUT "$address" "remotereplicationnode/$node_host/$next" \
        '{"role": "MASTER"}' >/dev/null
    for _ in $(seq 60); do
        [ "$(role_of "$address" "$node_host")" = REPLICA ] && break
        sleep 2
    done
fi
peers=$(list_peers)
primary=$(printf '%s\n' "$peers" | awk '$3 == "MASTER" {print $1, $2; exit}')
systemctl stop qpid.service
if [ -n "$primary" ]; then
    read -r primary_name primary_address <<< "$primary"
    rest DELETE "$primary_address" \
        "remotereplicationnode/$primary_name/$node_host" >/dev/null ||
        log "the primary will drop $node_host when the group re-forms"
fi
log "$node_host left the group"
