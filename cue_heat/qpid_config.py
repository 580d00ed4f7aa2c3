"""Static checks of the Qpid Broker-J configuration a bundle ships.

No Broker-J can be downloaded where cue-heat is built and tested, so the
documents the nodes receive are checked here: the broker's initial
configuration (its structure, the spec's user as the only account, ports
bound to a provider that exists), each node's BDB HA virtual host node
as the node script fills it in, and the group they form together (one
group name, the same permitted nodes everywhere, one founder that every
node joins through, a replication port only members reach), and the
roles the nodes report (exactly one primary).
"""

import json

#: Top-level attributes every initial configuration needs.
REQUIRED = ('name', 'modelVersion', 'authenticationproviders', 'ports',
            'plugins')
#: Attributes of a BDB HA virtual host node the group depends on.
HA_ATTRIBUTES = ('name', 'type', 'groupName', 'address', 'helperAddress',
                 'helperNodeName', 'permittedNodes', 'priority',
                 'storePath')
#: The account Broker-J's built-in configuration ships.
DEFAULT_ACCOUNT = 'guest'


def check_broker_config(text, username, password):
    """Return the problems of a broker's initial configuration text.

    :param username: the spec's user, who must be the only account.
    :param password: the spec's password, which must not be in the text
        (the node fills it in from a hidden input).
    """
    try:
        document = json.loads(text)
    except ValueError as ex:
        return ['The initial configuration is not JSON: %s.' % ex]
    problems = ['The initial configuration has no %s.' % key
                for key in REQUIRED if key not in document]
    if password and password in text:
        problems.append('The initial configuration holds the password.')
    providers = {provider.get('name'): provider
                 for provider in document.get('authenticationproviders', ())}
    users = [user.get('name') for provider in providers.values()
             for user in provider.get('users', ())]
    if users != [username]:
        problems.append('The accounts are %s; only %r may exist.'
                        % (users, username))
    if DEFAULT_ACCOUNT in users:
        problems.append('The default account %s is still there.'
                        % DEFAULT_ACCOUNT)
    ports = document.get('ports', ())
    for port in ports:
        if port.get('authenticationProvider') not in providers:
            problems.append('Port %s uses an unknown provider %r.' % (
                port.get('name'), port.get('authenticationProvider')))
    names = {port.get('name') for port in ports}
    for needed in ('AMQP', 'HTTP'):
        if needed not in names:
            problems.append('There is no %s port.' % needed)
    if not any(plugin.get('type') == 'MANAGEMENT-HTTP'
               for plugin in document.get('plugins', ())):
        problems.append('HTTP management (the REST API the node scripts '
                        'use) is not enabled.')
    return problems


def fill_node(text, name, address, helper_name, helper_address,
              permitted):
    """Fill in one node's virtual host node as form.sh does."""
    node = json.loads(text)
    port = node['address'].rsplit(':', 1)[1]
    node.update(name=name, address='%s:%s' % (address, port),
                helperNodeName=helper_name,
                helperAddress='%s:%s' % (helper_address, port),
                permittedNodes=sorted(permitted),
                storePath=node['storePath'].replace('@NODE_NAME@', name))
    return node


def check_ha_group(nodes):
    """Check the virtual host nodes of a whole group.

    :param nodes: every node's filled-in virtual host node.
    :returns: problems: missing attributes, a type other than BDB_HA,
        differing group names or permitted nodes, a node not permitted,
        shared names or addresses, helpers that are not one founder
        helping itself, and designated primaries where none belong.
    """
    problems = []
    for node in nodes:
        missing = [key for key in HA_ATTRIBUTES if key not in node]
        if missing:
            problems.append('Node %s lacks %s.' % (
                node.get('name'), ', '.join(missing)))
        if node.get('type') != 'BDB_HA':
            problems.append('Node %s is of type %r, not BDB_HA.'
                            % (node.get('name'), node.get('type')))
    if problems:
        return problems
    for key in ('groupName', 'permittedNodes', 'helperAddress'):
        values = {json.dumps(node[key]) for node in nodes}
        if len(values) != 1:
            problems.append('Nodes disagree on %s: %s.'
                            % (key, ', '.join(sorted(values))))
    for key in ('name', 'address'):
        values = [node[key] for node in nodes]
        if len(set(values)) != len(values):
            problems.append('Nodes share a %s: %s.' % (key, values))
    for node in nodes:
        if node['address'] not in node['permittedNodes']:
            problems.append('Node %s (%s) is not a permitted node.'
                            % (node['name'], node['address']))
    founders = [node for node in nodes
                if node['helperAddress'] == node['address']]
    if len(founders) != 1:
        problems.append('%d nodes help themselves; exactly one founder '
                        'must.' % len(founders))
    elif any(node['helperNodeName'] != founders[0]['name']
             for node in nodes):
        problems.append('Not every node names %s as its helper.'
                        % founders[0]['name'])
    designated = [node['name'] for node in nodes
                  if node.get('designatedPrimary')]
    if designated and len(nodes) != 2:
        problems.append('Designated primary %s outside a two-node group.'
                        % ', '.join(designated))
    return problems


def check_replication_port(nodes, rules, client_cidr):
    """Check that only members reach the replication port.

    :param rules: the security group's rules as the HOT has them.
    """
    problems = []
    ports = {int(node['address'].rsplit(':', 1)[1]) for node in nodes}
    for port in sorted(ports):
        reach = set()
        for rule in rules:
            if not rule['port_range_min'] <= port <= rule['port_range_max']:
                continue
            if rule.get('remote_mode') == 'remote_group_id':
                reach.add('members')
            elif rule.get('remote_ip_prefix') in (
                    client_cidr, {'get_param': 'client_cidr'}):
                reach.add('clients')
        if reach != {'members'}:
            problems.append('Replication port %d is open to %s; it must '
                            'be open to members only.'
                            % (port, ', '.join(sorted(reach)) or 'nobody'))
    return problems


def check_roles(roles):
    """Return problems unless exactly one node reports being primary.

    :param roles: member (or node) name -> reported role.
    """
    primaries = sorted(node for node, role in roles.items()
                       if role == 'primary')
    if len(primaries) != 1:
        return ['%d primaries (%s); exactly one is needed.'
                % (len(primaries), ', '.join(primaries) or 'none')]
    return []
