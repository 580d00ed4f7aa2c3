#!/bin/bash
# Kafka node scripts of cue-heat: the part every script starts with.
#
# Heat joins this file and one of configure.sh, controller.sh, form.sh or
# leave.sh into one script (list_join in the templates), runs it as root
# with every input as an environment variable and reads each declared
# output from ${heat_outputs_path}.<name>. Inputs are in CONTRACT.md.
set -euo pipefail
umask 077

ROOT=${CUE_ROOT:-}
KAFKA_HOME=${CUE_KAFKA_HOME:-$ROOT/opt/kafka}
ETC=$ROOT/etc/kafka
DATA=$ROOT/var/lib/kafka
TLS_DIR=$ETC/tls
PROPERTIES=$ETC/server.properties
# Admin tools talk to the local broker on its INTERNAL listener, which
# the security group opens to cluster members only.
INTERNAL_PORT=9091

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
output() { printf '%s' "$2" > "${heat_outputs_path:-/tmp/cue-heat}.$1"; }

# Full release of each version line the templates offer.
full_version() {
    case "$1" in
        4.0) echo 4.0.1 ;;
        4.1) echo 4.1.1 ;;
        4.2) echo 4.2.0 ;;
        4.3) echo 4.3.1 ;;
        *) fail "unknown Kafka version line $1" ;;
    esac
}

# Installs Java 17 and the Kafka release of the version line, unless the
# image already has them (a pre-baked image or a local mirror is faster).
install_kafka() {
    local full
    full=$(full_version "$1")
    if [ -x "$KAFKA_HOME/bin/kafka-server-start.sh" ]; then
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    command -v java >/dev/null 2>&1 || {
        apt-get update -q
        apt-get install -y -q openjdk-17-jre-headless ||
            apt-get install -y -q openjdk-21-jre-headless
    }
    local mirror=${CUE_KAFKA_MIRROR:-https://archive.apache.org/dist/kafka}
    local url=$mirror/$full/kafka_2.13-$full.tgz
    log "installing Kafka $full from $url"
    mkdir -p "$KAFKA_HOME"
    curl -fsSL --retry 5 "$url" | tar -xz -C "$KAFKA_HOME" --strip-components=1
    id kafka >/dev/null 2>&1 || useradd --system --home-dir "$DATA" kafka
}

# Mounts the data volume (formatted XFS on first use) on $DATA.
mount_data() {
    local device=$1
    mkdir -p "$DATA"
    if [ -n "$device" ] && ! mountpoint -q "$DATA"; then
        for _ in $(seq 60); do [ -e "$device" ] && break; sleep 2; done
        [ -e "$device" ] || fail "data volume $device never appeared"
        blkid "$device" >/dev/null 2>&1 || mkfs.xfs -q "$device"
        grep -q " $DATA " /etc/fstab ||
            echo "$device $DATA xfs noatime,nofail 0 2" >> /etc/fstab
        mount "$DATA"
    fi
}

# Writes server.properties from the rendered text, filling in the words
# that differ per node; the voters come from one Heat value for all.
write_properties() {
    local text=$1 node_id=$2 address=$3 voters=$4
    mkdir -p "$ETC"
    printf '%s\n' "$text" | sed -e "s/@NODE_ID@/$node_id/g" \
        -e "s/@NODE_ADDRESS@/$address/g" \
        -e "s/@CONTROLLER_VOTERS@/$voters/g" > "$PROPERTIES.new"
    grep -q '@[A-Z_]*@' "$PROPERTIES.new" && fail "unfilled word in properties"
    chmod 0640 "$PROPERTIES.new"
    mv "$PROPERTIES.new" "$PROPERTIES"
}

# Formats the log directories once, with the cluster's id.
format_storage() {
    local cluster_id=$1; shift
    if compgen -G "$DATA/*/meta.properties" >/dev/null; then
        log "storage already formatted"
        return
    fi
    "$KAFKA_HOME/bin/kafka-storage.sh" format --cluster-id "$cluster_id" \
        --config "$PROPERTIES" "$@"
    chown -R kafka: "$DATA"
}

# A systemd unit with the heap sized from RAM and 100k descriptors.
start_service() {
    local mem heap
    mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
    heap=$(( mem / 4 > 6144 ? 6144 : (mem / 4 < 512 ? 512 : mem / 4) ))
    cat > /etc/systemd/system/kafka.service <<UNIT
[Unit]
Description=Apache Kafka (cue-heat)
After=network-online.target
[Service]
User=kafka
Environment=KAFKA_HEAP_OPTS=-Xms${heap}m -Xmx${heap}m
ExecStart=$KAFKA_HOME/bin/kafka-server-start.sh $PROPERTIES
LimitNOFILE=100000
Restart=on-failure
[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    systemctl enable kafka.service
    systemctl restart kafka.service
}

# Runs a Kafka admin tool against the local broker.
admin() {
    local tool=$1; shift
    "$KAFKA_HOME/bin/$tool" --bootstrap-server "$node_address:$INTERNAL_PORT" "$@"
}

# Moves every replica of broker $1 onto the brokers listed in $2 (ids
# separated by blanks), spreading them over the least loaded; refuses,
# changing nothing, when a partition could not keep its replica count.
move_replicas_off() {
    local victim=$1 targets=$2 plan=$ETC/reassign-$1.json
    admin kafka-topics.sh --describe |
        python3 -c '
import collections, json, re, sys
victim, targets = sys.argv[1], sys.argv[2].split()
load = collections.Counter({t: 0 for t in targets})
moves, short = [], []
for line in sys.stdin:
    topic = re.search(r"Topic: (\S+)\s+Partition: (\d+)", line)
    replicas = re.search(r"Replicas: ([\d,]+)", line)
    if not (topic and replicas):
        continue
    current = replicas.group(1).split(",")
    for broker in current:
        if broker in load:
            load[broker] += 1
    if victim in current:
        moves.append((topic.group(1), int(topic.group(2)), current))
plan = []
for name, partition, current in moves:
    free = [t for t in load if t not in current]
    if not free:
        short.append("%s-%d (replication factor %d)" % (
            name, partition, len(current)))
        continue
    target = min(free, key=lambda t: (load[t], t))
    load[target] += 1
    plan.append({"topic": name, "partition": partition, "replicas": [
        int(target if b == victim else b) for b in current]})
if short:
    sys.exit("refusing: without broker %s, %d brokers remain, fewer than "
             "the replicas of %s" % (victim, len(targets), ", ".join(short)))
json.dump({"version": 1, "partitions": plan}, sys.stdout)
' "$victim" "$targets" > "$plan" || fail "$(cat "$plan" 2>/dev/null)"
    if ! grep -q '"topic"' "$plan"; then
        log "broker $victim holds no replicas"
        return
    fi
    admin kafka-reassign-partitions.sh --execute \
        --reassignment-json-file "$plan"
    for _ in $(seq 600); do
        if ! admin kafka-reassign-partitions.sh --verify \
                --reassignment-json-file "$plan" | grep -q 'in progress'; then
            log "replicas of broker $victim moved"
            return
        fi
        sleep 5
    done
    fail "moving the replicas of broker $victim took over 50 minutes"
}
