#!/bin/bash
# Configure one RabbitMQ node and start it standalone.
#
# Heat's script hook runs this as root on the node's VM (actions CREATE and
# UPDATE) with the inputs of CONTRACT.md as environment variables; form.sh
# clusters the node afterwards. With CUE_ROOT set every path lies under it
# and CUE_SERVICE_MODE=direct starts the broker as a plain process, so the
# tests run this very file against a local node directory.
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

: "${node_host:?}" "${node_address:?}" "${erlang_cookie:?}"
: "${admin_username:?}" "${admin_password:?}"
rabbitmq_conf=${rabbitmq_conf:-}
version=${version:-}
cluster_size=${cluster_size:-}
SERVICE_MODE=${CUE_SERVICE_MODE:-systemd}
NAME=$(node_name "$node_host")
MARKER=$DATA/.cue-heat-configured

install_rabbitmq() {
    if [ -x "$RMQ_BIN/rabbitmqctl" ] || [ "${CUE_SKIP_INSTALL:-0}" = 1 ]; then
        return
    fi
    log "installing rabbitmq-server $version"
    export DEBIAN_FRONTEND=noninteractive
    case "$version" in
        3.*) apt-get update -q && apt-get install -yq rabbitmq-server ;;
        *) install_team_rabbitmq ;;
    esac
}

# 4.x is not in the distributions' archives that cloud images carry.
# TODO: untested here (no network to the repository from CI); an image
# with RabbitMQ baked in, or a mirror, avoids this download entirely.
install_team_rabbitmq() {
    local codename keyring=/usr/share/keyrings/com.rabbitmq.team.gpg
    local base=https://deb1.rabbitmq.com
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    apt-get update -q && apt-get install -yq curl gnupg apt-transport-https
    curl -fsSL 'https://keys.openpgp.org/vks/v1/by-fingerprint/0A9AF2115F4687BD29803A206B73A36E6026DFCA' \
        | gpg --dearmor > "$keyring"
    cat > /etc/apt/sources.list.d/rabbitmq.list << EOF
deb [signed-by=$keyring] $base/rabbitmq-erlang/debian/$codename $codename main
deb [signed-by=$keyring] $base/rabbitmq-server/debian/$codename $codename main
EOF
    apt-get update -q
    apt-get install -yq erlang-base erlang-asn1 erlang-crypto \
        erlang-eldap erlang-ftp erlang-inets erlang-mnesia erlang-os-mon \
        erlang-parsetools erlang-public-key erlang-runtime-tools \
        erlang-snmp erlang-ssl erlang-syntax-tools erlang-tftp \
        erlang-tools erlang-xmerl "rabbitmq-server=$version.*"
}

# Erlang wants {a,b,c,d} for an interface; IPv6 is not handled.
erlang_ip() {
    printf '{%s}' "$(printf '%s' "$1" | tr . ,)"
}

write_env_file() {
    local ip epmd
    ip=$(erlang_ip "$node_address")
    epmd=127.0.0.1
    [ "$node_address" = 127.0.0.1 ] || epmd="127.0.0.1,$node_address"
    cat << EOF
RABBITMQ_NODENAME=$NAME
RABBITMQ_CONFIG_FILE=$ETC/rabbitmq.conf
RABBITMQ_ADVANCED_CONFIG_FILE=$ETC/advanced.config
RABBITMQ_ENABLED_PLUGINS_FILE=$ETC/enabled_plugins
RABBITMQ_MNESIA_BASE=$DATA/mnesia
RABBITMQ_LOG_BASE=$LOGS
RABBITMQ_PID_FILE=$DATA/rabbit.pid
RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface $ip"
RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface $ip"
ERL_EPMD_ADDRESS=$epmd
EOF
    if [ -n "${CUE_DIST_PORT:-}" ]; then
        echo "RABBITMQ_DIST_PORT=$CUE_DIST_PORT"
    fi
    if [ -n "${CUE_EPMD_PORT:-}" ]; then
        echo "ERL_EPMD_PORT=$CUE_EPMD_PORT"
    fi
}

# The base comes from the spec; the lines below are the node's own. Keys
# that the node sets are dropped from the base so that ports stay unique.
write_rabbitmq_conf() {
    local tcp_off=0
    if printf '%s\n' "$rabbitmq_conf" | grep -Eq '^listeners\.tcp *= *none'
    then
        tcp_off=1
    fi
    printf '%s\n' "$rabbitmq_conf" \
        | grep -Ev '^(listeners\.tcp|management\.tcp|prometheus\.tcp|definitions\.|load_definitions)' \
        | sed "s#/etc/rabbitmq/#$ETC/#g"
    echo '# Per-node settings, written by configure.sh'
    if [ "$tcp_off" = 1 ]; then
        echo 'listeners.tcp = none'
    else
        echo "listeners.tcp.1 = $node_address:${CUE_AMQP_PORT:-5672}"
    fi
    echo "management.tcp.ip = $node_address"
    echo "management.tcp.port = ${CUE_MGMT_PORT:-15672}"
    echo "prometheus.tcp.ip = $node_address"
    echo "prometheus.tcp.port = ${CUE_PROMETHEUS_PORT:-15692}"
    echo 'definitions.import_backend = local_filesystem'
    echo "definitions.local.path = $ETC/definitions.json"
    if [ -n "$cluster_size" ]; then
        echo "cluster_formation.target_cluster_size_hint = $cluster_size"
    fi
}

# The spec's user replaces guest: with a definitions file the node seeds
# no default user. The password is stored salted and hashed, as the
# broker stores it; the salt derives from the inputs so that unchanged
# inputs give an unchanged file.
write_definitions() {
    python3 - << 'EOF'
import base64, hashlib, json, os
user = os.environ['admin_username']
password = os.environ['admin_password'].encode()
salt = hashlib.sha256(b'cue-heat' + user.encode() + password).digest()[:4]
digest = hashlib.sha256(salt + password)
print(json.dumps({
    'users': [{
        'name': user,
        'password_hash': base64.b64encode(salt + digest.digest()).decode(),
        'hashing_algorithm': 'rabbit_password_hashing_sha256',
        'tags': ['administrator'],
    }],
    'vhosts': [{'name': '/'}],
    'permissions': [{
        'user': user, 'vhost': '/',
        'configure': '.*', 'write': '.*', 'read': '.*',
    }],
}, indent=2))
EOF
}

write_tls_files() {
    local name
    mkdir -p "$ETC/tls"
    for name in cert key ca; do
        local var="tls_$name"
        if [ -n "${!var:-}" ]; then
            printf '%s\n' "${!var}" > "$ETC/tls/$name.pem"
        fi
    done
}

# Write $2 (stdin) to $1 only when it differs; report a change in CHANGED.
CHANGED=0
update_file() {
    local path=$1 tmp
    tmp=$(mktemp "$path.XXXXXX")
    cat > "$tmp"
    chmod "${2:-600}" "$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
    else
        mv "$tmp" "$path"
        CHANGED=1
    fi
}

pin_hostname() {
    if [ -z "$ROOT" ]; then
        hostname "$node_host"
        echo "$node_host" > /etc/hostname
    fi
    printf '%s %s\n' "$node_address" "$node_host" | write_hosts_block
}

node_running() {
    diag -n "$NAME" ping > /dev/null 2>&1
}

stop_node() {
    if [ "$SERVICE_MODE" = systemd ]; then
        systemctl stop rabbitmq-server || true
    elif node_running; then
        ctl -n "$NAME" shutdown || true
    fi
}

start_node() {
    local pid=''
    if [ "$SERVICE_MODE" = systemd ]; then
        mkdir -p /etc/systemd/system/rabbitmq-server.service.d
        printf '[Service]\nLimitNOFILE=65536\n' \
            > /etc/systemd/system/rabbitmq-server.service.d/limits.conf
        systemctl daemon-reload
        systemctl enable rabbitmq-server
        systemctl start rabbitmq-server
    else
        ulimit -n 65536 2> /dev/null || true
        (cd "$DATA" && exec setsid "$RMQ_BIN/rabbitmq-server" \
            >> "$LOGS/server.out" 2>&1 < /dev/null) &
        pid=$!
        echo "$pid" > "$DATA/launcher.pid"
    fi
    if ! wait_running "$NAME" "$pid"; then
        # A bad setting is the first error logged; the crash report that
        # follows it would push it out of the tail.
        grep -h -m 10 '\[error\]' "$LOGS"/*.log "$LOGS/server.out" \
            >&2 2> /dev/null || true
        tail -n 30 "$LOGS"/*.log "$LOGS/server.out" >&2 2> /dev/null || true
        fail "$NAME did not pass check_running"
    fi
}

# The data volume, when the spec asks for one, holds $DATA. It is
# formatted only when blank, so a re-run or a rebuilt server keeps data.
mount_data_volume() {
    local device=${data_device:-} waited=0
    if [ -z "$device" ] || [ -n "$ROOT" ]; then
        return
    fi
    until [ -b "$device" ] || [ "$waited" -ge 120 ]; do
        sleep 2
        waited=$((waited + 2))
    done
    [ -b "$device" ] || fail "data volume $device did not appear"
    if ! blkid "$device" > /dev/null 2>&1; then
        mkfs.ext4 -q -L rabbitmq-data "$device"
    fi
    mkdir -p "$DATA"
    if ! mountpoint -q "$DATA"; then
        grep -q " $DATA " /etc/fstab || printf 'UUID=%s %s ext4 defaults,noatime 0 2\n' \
            "$(blkid -s UUID -o value "$device")" "$DATA" >> /etc/fstab
        mount "$DATA"
    fi
}

main() {
    mount_data_volume
    install_rabbitmq
    mkdir -p "$ETC" "$DATA" "$LOGS"
    pin_hostname

    # A package install starts a node with its own cookie and a guest
    # user: the first configuration starts from a blank data directory.
    if [ ! -f "$MARKER" ]; then
        stop_node
        rm -rf "$DATA/mnesia"
    fi

    printf '%s' "$erlang_cookie" | update_file "$DATA/.erlang.cookie" 400
    write_env_file | update_file "$RABBITMQ_CONF_ENV_FILE" 644
    write_rabbitmq_conf | update_file "$ETC/rabbitmq.conf"
    echo '[rabbitmq_management,rabbitmq_prometheus].' \
        | update_file "$ETC/enabled_plugins" 644
    write_definitions | update_file "$ETC/definitions.json"
    write_tls_files
    if [ -z "$ROOT" ] && id rabbitmq > /dev/null 2>&1; then
        chown -R rabbitmq:rabbitmq "$ETC" "$DATA" "$LOGS"
    fi

    # TODO: a changed configuration restarts a clustered node at once;
    # rolling the restart across the cluster is left to the operator.
    if node_running && [ "$CHANGED" = 1 ]; then
        log "configuration of $NAME changed, restarting it"
        stop_node
    fi
    if ! node_running; then
        log "starting $NAME"
        start_node
    fi
    touch "$MARKER"

    put_output node_name "$NAME"
    put_output broker_version "$(diag -n "$NAME" server_version)"
    log "$NAME is running"
}

main "$@"
