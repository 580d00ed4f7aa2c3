
# --- form.sh: every node, whenever membership changes --------------------
# Finds the group's primary among the members (or, for a new group, the
# member with the lowest address founds it), creates this node's HA
# virtual host node joining through the primary, has the primary permit
# exactly the members and drop nodes that are gone, and reports the role.
read -r me address primary_guess permitted <<< "$(printf '%s' "$members" |
    python3 -c '
import ipaddress, json, sys
members = json.load(sys.stdin)
mine = [m for m in members if m["server_id"] == sys.argv[1]]
first = min(members, key=lambda m: ipaddress.ip_address(m["address"]))
print(mine[0]["host"] if mine else "-", mine[0]["address"] if mine else "-",
      first["host"] + "@" + first["address"],
      json.dumps(sorted("%s:%s" % (m["address"], sys.argv[2])
                        for m in members), separators=(",", ":")))
' "${deploy_server_id:-}" "$REPLICATION_PORT")"
[ "$me" != - ] || fail "server ${deploy_server_id:-?} is not a member"

find_primary() {
    local host address
    for entry in $(printf '%s' "$members" | python3 -c '
import json, sys
for m in json.load(sys.stdin): print("%s@%s" % (m["host"], m["address"]))'); do
        host=${entry%@*}; address=${entry#*@}
        [ "$(role_of "$address" "$host")" = MASTER ] && { echo "$entry"; return; }
    done
}
primary=$(find_primary)
if [ -z "$primary" ]; then
    primary=$primary_guess
    if [ "$primary" != "$me@$address" ]; then
        # Wait for the founder to become primary before joining.
        for _ in $(seq 90); do
            [ "$(role_of "${primary#*@}" "${primary%@*}")" = MASTER ] && break
            sleep 2
        done
    fi
fi
fill() {
    printf '%s' "$virtualhostnode" | python3 -c '
import json, sys
node = json.load(sys.stdin)
name, address, helper_name, helper, permitted = sys.argv[1:6]
port = node["address"].rsplit(":", 1)[1]
node.update(name=name, address="%s:%s" % (address, port),
            helperNodeName=helper_name,
            helperAddress="%s:%s" % (helper, port),
            permittedNodes=json.loads(permitted),
            storePath=node["storePath"].replace("@NODE_NAME@", name))
print(json.dumps(node))' "$me" "$address" "${primary%@*}" "${primary#*@}" "$permitted"
}
if [ "$(role_of "$address" "$me")" = NONE ]; then
    log "creating HA node $me, joining through ${primary%@*}"
    rest PUT "$address" "virtualhostnode/$me" "$(fill)" >/dev/null
fi
for _ in $(seq 90); do
    role=$(role_of "$address" "$me")
    case "$role" in MASTER|REPLICA) break ;; esac
    sleep 2
done
if [ "$role" = MASTER ]; then
    rest PUT "$address" "virtualhostnode/$me" \
        "{\"permittedNodes\": $permitted}" >/dev/null
    # Nodes that are no members any more leave the group for good.
    rest GET "$address" "remotereplicationnode/$me" | python3 -c '
import json, sys
members = {m["host"] for m in json.loads(sys.argv[1])}
for node in json.load(sys.stdin):
    if node["name"] not in members: print(node["name"])' "$members" |
        while read -r gone; do
            log "removing $gone from the group"
            rest DELETE "$address" "remotereplicationnode/$me/$gone" >/dev/null
        done
fi
case "$role" in
    MASTER) output role primary ;;
    REPLICA) output role replica ;;
    *) output role "$role"; fail "HA node $me is $role" ;;
esac
output health ok
