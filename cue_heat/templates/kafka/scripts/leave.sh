
# --- leave.sh: one broker, action DELETE --------------------------------
# Scale-in (or replacement): moves every replica this broker holds onto
# the other live brokers, refusing (and so keeping the node) when they
# are fewer than a partition's replica count, then stops the broker and
# unregisters it through another broker.
brokers=$(admin kafka-broker-api-versions.sh 2>/dev/null |
    sed -n "s/^\([0-9.]*\):$INTERNAL_PORT (id: \([0-9]*\) .*$/\2 \1/p" |
    sort -u)
others=$(printf '%s\n' "$brokers" | awk -v me="$node_id" \
    '$1 != "" && $1 != me {print $1}' | tr '\n' ' ')
other_address=$(printf '%s\n' "$brokers" | awk -v me="$node_id" \
    '$1 != "" && $1 != me {print $2; exit}')
if [ -z "$brokers" ]; then
    # NOTE: a broker that cannot be reached (the node is being replaced
    # because it is broken) moves nothing here; form.sh moves its
    # replicas once the new member set is in place.
    log "broker $node_id is not answering; form.sh will repair"
    systemctl stop kafka.service || true
    exit 0
fi
# TODO: cordon the broker first (cordoned.log.dirs, Kafka 4.3+) so that
# no new partition lands on it while its replicas move.
move_replicas_off "$node_id" "$others"
systemctl stop kafka.service
if [ -n "$other_address" ]; then
    "$KAFKA_HOME/bin/kafka-cluster.sh" unregister --id "$node_id" \
        --bootstrap-server "$other_address:$INTERNAL_PORT" ||
        log "unregistering broker $node_id failed; form.sh will retry"
fi
log "broker $node_id left the cluster"
