
# --- form.sh: every broker, whenever the broker set changes -------------
# Checks that no two members share a node id, then (on the broker with
# the lowest id only) moves replicas off registered brokers that are no
# longer members (a dead node replaced by heal never ran its leave step)
# and unregisters them.
node_address=$(printf '%s' "$members" | python3 -c '
import json, sys
members = json.load(sys.stdin)
ids = [str(m["node_id"]) for m in members]
if len(set(ids)) != len(ids):
    sys.exit("node ids are not unique: %s" % ", ".join(ids))
mine = [m for m in members if m["server_id"] == sys.argv[1]]
print(mine[0]["address"] if mine else "")
' "${deploy_server_id:-}") || fail "members are inconsistent"
[ -n "$node_address" ] || fail "server ${deploy_server_id:-?} is not a member"
live=$(printf '%s' "$members" | python3 -c '
import json, sys
ids = sorted(int(m["node_id"]) for m in json.load(sys.stdin))
print(" ".join(map(str, ids)))')
lowest=${live%% *}
mine=$(grep '^node.id=' "$PROPERTIES" | cut -d= -f2)
if [ "$mine" = "$lowest" ]; then
    # Brokers that still hold replicas but are no members any more.
    gone=$(admin kafka-topics.sh --describe |
        sed -n 's/^.*Replicas: \([0-9,]*\).*$/\1/p' | tr ',' '\n' |
        sort -un | tr '\n' ' ')
    for id in $gone; do
        case " $live " in *" $id "*) continue ;; esac
        log "broker $id holds replicas but is no member: moving them"
        move_replicas_off "$id" "$live"
        admin kafka-cluster.sh unregister --id "$id" ||
            log "broker $id was already unregistered"
    done
fi
output brokers "$live"
urp=$(admin kafka-topics.sh --describe --under-replicated-partitions 2>/dev/null | wc -l)
if [ "$urp" -eq 0 ]; then output health ok
else output health "$urp under-replicated partitions"; fi
