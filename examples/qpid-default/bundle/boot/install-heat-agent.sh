#!/bin/sh
# Boot part of every cue-heat node (broker qpid).
#
# Software deployments reach a server only through the Heat agent:
# os-collect-config polls Heat, os-apply-config and os-refresh-config hand
# each deployment to a hook, and the "script" hook runs it and signals the
# result. Images with the agent baked in pass straight through; stock
# Ubuntu images get it from the python3-heat-agent package, which pulls
# in the os-*-config tools. Everything this writes is skipped when it
# already exists, so a re-run of the boot part changes nothing.
set -eu


log() {
    echo "cue-heat boot: $*"
    logger -t cue-heat-boot "$*" 2>/dev/null || true
}

templates=/usr/libexec/os-apply-config/templates
refresh=/usr/libexec/os-refresh-config

agent_present() {
    command -v os-collect-config >/dev/null 2>&1 &&
        [ -x /var/lib/heat-config/hooks/script ]
}

install_agent() {
    export DEBIAN_FRONTEND=noninteractive
    attempt=1
    # The network may come up a little after cloud-init starts the parts.
    until apt-get update; do
        [ "$attempt" -ge 5 ] && return 1
        attempt=$((attempt + 1))
        sleep 10
    done
    if apt-cache show python3-heat-agent >/dev/null 2>&1; then
        apt-get install -y python3-heat-agent
    else
        # TODO: Debian's archive has the os-*-config tools but not the
        # heat-agents hooks; such images need the agent baked in until a
        # packaged hook is found for them.
        log "no python3-heat-agent package in this image's archive"
        return 1
    fi
}

write_if_missing() {
    # $1: path; the content comes on stdin.
    if [ -e "$1" ]; then
        cat >/dev/null
    else
        mkdir -p "$(dirname "$1")"
        cat >"$1"
    fi
}

if agent_present; then
    log "Heat agent already installed"
else
    log "installing the Heat agent"
    install_agent || { log "the Heat agent could not be installed"; exit 1; }
fi

# First run: read the metadata Heat's own user_data part left on disk.
write_if_missing /etc/os-collect-config.conf <<'CONF'
[DEFAULT]
command = os-refresh-config
collectors = heat_local
collectors = heat
CONF
chmod 600 /etc/os-collect-config.conf

# Later runs: poll Heat with the credentials it put in the metadata.
write_if_missing "$templates/etc/os-collect-config.conf" <<'TEMPLATE'
[DEFAULT]
command = os-refresh-config
collectors = heat_local
collectors = heat
{{#os-collect-config}}
{{#polling_interval}}
polling_interval = {{polling_interval}}
{{/polling_interval}}
{{#heat}}

[heat]
auth_url = {{auth_url}}
user_id = {{user_id}}
password = {{password}}
project_id = {{project_id}}
stack_id = {{stack_id}}
resource_name = {{resource_name}}
{{/heat}}
{{/os-collect-config}}
TEMPLATE

# The deployments the hooks run, as one JSON document.
write_if_missing "$templates/var/run/heat-config/heat-config" <<'TEMPLATE'
{{deployments}}
TEMPLATE

write_if_missing "$refresh/configure.d/20-os-apply-config" <<'SCRIPT'
#!/bin/sh
set -e
exec os-apply-config
SCRIPT
chmod 755 "$refresh/configure.d/20-os-apply-config"

if command -v systemctl >/dev/null 2>&1; then
    write_if_missing /etc/systemd/system/os-collect-config.service <<'UNIT'
[Unit]
Description=Heat agent: collect metadata and run software deployments
After=network-online.target cloud-final.service
Wants=network-online.target

[Service]
ExecStart=/usr/bin/os-collect-config
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    # --no-block: cloud-final would otherwise wait for the agent, which
    # itself waits for cloud-init to finish writing the metadata.
    systemctl enable os-collect-config
    systemctl start --no-block os-collect-config
else
    nohup os-collect-config >/var/log/os-collect-config.log 2>&1 &
fi
log "Heat agent started"
