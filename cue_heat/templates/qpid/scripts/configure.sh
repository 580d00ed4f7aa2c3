
# --- configure.sh: one node, actions CREATE and UPDATE -------------------
# Installs Java 17 and Broker-J, mounts the work directory, writes the
# initial configuration (the spec's user instead of guest) and starts
# the broker. The HA virtual host node is added by form.sh.
if [ ! -x "$QPID_HOME/bin/qpid-server" ]; then
    full=$(full_version "$version")
    export DEBIAN_FRONTEND=noninteractive
    command -v java >/dev/null 2>&1 || {
        apt-get update -q
        apt-get install -y -q openjdk-17-jre-headless ||
            apt-get install -y -q openjdk-21-jre-headless
    }
    mirror=${CUE_QPID_MIRROR:-https://archive.apache.org/dist/qpid/broker-j}
    url=$mirror/$full/binaries/apache-qpid-broker-j-$full-bin.tar.gz
    mkdir -p "$QPID_HOME"
    curl -fsSL --retry 5 "$url" | tar -xz -C "$QPID_HOME" --strip-components=2
    id qpid >/dev/null 2>&1 || useradd --system --home-dir "$WORK" qpid
fi
mkdir -p "$WORK" "$ETC"
if [ -n "${data_device:-}" ] && ! mountpoint -q "$WORK"; then
    for _ in $(seq 60); do [ -e "$data_device" ] && break; sleep 2; done
    blkid "$data_device" >/dev/null 2>&1 || mkfs.xfs -q "$data_device"
    grep -q " $WORK " /etc/fstab ||
        echo "$data_device $WORK xfs noatime,nofail 0 2" >> /etc/fstab
    mount "$WORK"
fi
if [ -n "${tls_cert:-}" ]; then
    mkdir -p "$TLS_DIR"
    printf '%s\n' "$tls_cert" > "$TLS_DIR/cert.pem"
    printf '%s\n' "$tls_key" > "$TLS_DIR/key.pem"
    printf '%s\n' "$tls_ca" > "$TLS_DIR/ca.pem"
fi
printf '%s\n' "$broker_config" |
    ADMIN_PASSWORD=$admin_password python3 -c '
import os, sys
sys.stdout.write(sys.stdin.read().replace(
    "@ADMIN_PASSWORD@", os.environ["ADMIN_PASSWORD"]))' > "$ETC/initial-config.json"
chown -R qpid: "$WORK" "$ETC"
mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
java_mem=${java_memory:-}
[ -n "${java_mem// /}" ] ||
    java_mem="-Xmx$((mem / 4))m -XX:MaxDirectMemorySize=$((mem / 2))m"
cat > /etc/systemd/system/qpid.service <<UNIT
[Unit]
Description=Apache Qpid Broker-J (cue-heat)
After=network-online.target
[Service]
User=qpid
Environment=QPID_WORK=$WORK
Environment="QPID_JAVA_MEM=$java_mem"
ExecStart=$QPID_HOME/bin/qpid-server -icp $ETC/initial-config.json -prop broker.name=$node_host
LimitNOFILE=65536
Restart=on-failure
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable qpid.service
systemctl restart qpid.service
admin_username=$(python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["authenticationproviders"][0]["users"][0]["name"])
' "$ETC/initial-config.json")
for _ in $(seq 90); do
    rest GET "$node_address" broker >/dev/null 2>&1 && break
    sleep 2
done
rest GET "$node_address" broker >/dev/null || fail "broker did not answer"
output broker_version "$(rest GET "$node_address" broker |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("productVersion",""))')"
