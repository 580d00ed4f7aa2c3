
# --- controller.sh: every controller, actions CREATE and UPDATE ---------
# Finds this server among the members, writes its properties, formats
# the metadata log with the cluster id and the SCRAM user (first run
# only: the credential then lives in the replicated metadata) and starts.
self=$(printf '%s' "$members" | python3 -c '
import json, sys
members = json.load(sys.stdin)
mine = [m for m in members if m["server_id"] == sys.argv[1]]
print("%s %s %s" % (mine[0]["node_id"], mine[0]["address"],
                    mine[0].get("data_device") or "-") if mine else "")
' "${deploy_server_id:-}")
[ -n "$self" ] || fail "server ${deploy_server_id:-?} is not a controller"
read -r node_id node_address device <<< "$self"
[ "$device" = - ] && device=''
install_kafka "$version"
mount_data "$device"
write_properties "$server_properties" "$node_id" "$node_address" \
    "$controller_voters"
chown kafka: "$PROPERTIES"
format_storage "$cluster_id" --add-scram \
    "SCRAM-SHA-512=[name=$admin_username,password=$admin_password]"
start_service
quorum=''
for _ in $(seq 90); do
    quorum=$("$KAFKA_HOME/bin/kafka-metadata-quorum.sh" \
        --bootstrap-controller "$node_address:9093" describe --status \
        2>/dev/null | awk -F'\t' '/LeaderId/ {print $2}') && [ -n "$quorum" ] &&
        break
    sleep 2
done
[ -n "$quorum" ] || fail "controller $node_id sees no quorum leader"
output quorum "leader $quorum"
