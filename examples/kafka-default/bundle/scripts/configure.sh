
# --- configure.sh: one broker, actions CREATE and UPDATE ---------------
# Installs Kafka, writes this broker's properties, formats its log
# directory with the cluster id (first run only) and (re)starts it.
install_kafka "$version"
mount_data "${data_device:-}"
write_properties "$server_properties" "$node_id" "$node_address" \
    "$controller_voters"
if [ -n "${tls_cert:-}" ]; then
    mkdir -p "$TLS_DIR"
    printf '%s\n%s\n' "$tls_key" "$tls_cert" > "$TLS_DIR/keystore.pem"
    printf '%s\n' "$tls_ca" > "$TLS_DIR/ca.pem"
    chown -R kafka: "$TLS_DIR"
fi
chown kafka: "$PROPERTIES"
format_storage "$cluster_id"
start_service
for _ in $(seq 90); do
    admin kafka-broker-api-versions.sh >/dev/null 2>&1 && break
    sleep 2
done
admin kafka-broker-api-versions.sh >/dev/null ||
    fail "broker $node_id did not answer within 3 minutes"
output broker_version "$("$KAFKA_HOME/bin/kafka-topics.sh" --version 2>/dev/null | head -1)"
log "broker $node_id of cluster $cluster_id is up"
