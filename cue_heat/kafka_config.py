"""Static checks of the Kafka (KRaft) configuration a bundle ships.

No Kafka can be downloaded where cue-heat is built and tested, so what
would fail on the VMs minutes into a stack create is checked here, in
Python: every server.properties key against the published keys of the
targeted version (``templates/kafka/conf_keys/<line>.txt``), the
cluster id's format, one controller string and unique node ids on every
node, and listeners that agree with the ports the security group opens.
"""

import base64
import functools
import importlib.resources
import re

from cue_heat import broker_config

_KEYS_DIR = ('templates', 'kafka', 'conf_keys')
#: Kafka's Uuid.toString: 16 bytes as URL-safe base64 without padding;
#: the last of the 22 characters carries two bits, so it is A, Q, g or w.
_CLUSTER_ID = re.compile(r'^[A-Za-z0-9_-]{21}[AQgw]$')
#: Per-node words the node scripts fill in (common.sh write_properties).
NODE_WORDS = ('@NODE_ID@', '@NODE_ADDRESS@', '@CONTROLLER_VOTERS@')
_LISTENER = re.compile(r'^(?P<name>[A-Za-z0-9_]+)://(?P<host>[^:]*):'
                       r'(?P<port>\d+)$')
_VOTER = re.compile(r'^(?P<id>\d+)@(?P<host>[^:]+):(?P<port>\d+)$')


def parse_properties(text):
    """Return ``(settings, problems)`` of a properties text.

    Blank lines and ``#`` comments are skipped; a line without ``=`` or a
    key given twice is a problem (Kafka would silently keep the last).
    """
    settings, problems = {}, []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        key, sep, value = line.partition('=')
        key = key.strip()
        if not sep or not key or ' ' in key:
            problems.append('Line %d is not of the form key=value.' % number)
        elif key in settings:
            problems.append('Line %d sets %s a second time.' % (number, key))
        else:
            settings[key] = value.strip()
    return settings, problems


def check_properties(text, version):
    """Return the problems of a server.properties text for a version.

    :param version: the version line, ``4.0`` or ``4.0.1``.
    :returns: one-sentence problems, empty when the text is fine.
    """
    settings, problems = parse_properties(text)
    try:
        line = version_line(version)
    except ValueError as ex:
        return problems + [str(ex)]
    known = known_keys(line)
    for key in settings:
        if not _known(key, known):
            problems.append('Kafka %d.%d has no setting %r.'
                            % (line + (key,)))
    return problems


def _known(key, known):
    """Tell a known key, including listener-prefixed overrides."""
    if key in known:
        return True
    match = re.match(r'^listener\.name\.[a-z0-9_]+\.(?P<rest>.+)$', key)
    if not match:
        return False
    rest = match.group('rest')
    if rest in known:
        return True
    # listener.name.<l>.<mechanism>.sasl.jaas.config and friends.
    mechanism = re.match(r'^[a-z0-9-]+\.(?P<key>sasl\..+)$', rest)
    return bool(mechanism and mechanism.group('key') in known)


def check_cluster_id(value):
    """Return the problems of a KRaft cluster id (empty when valid)."""
    if not isinstance(value, str) or not _CLUSTER_ID.match(value):
        return ['Cluster id %r is not 22 URL-safe base64 characters ending '
                'in A, Q, g or w.' % (value,)]
    if value.startswith('-'):
        return ['Cluster id %r starts with a dash, which command lines '
                'take for an option.' % value]
    raw = base64.urlsafe_b64decode(value + '==')
    if len(raw) != 16:
        return ['Cluster id %r does not decode to 16 bytes.' % value]
    if raw == bytes(16) or raw == bytes(15) + b'\x01':
        return ['Cluster id %r is one of the ids Kafka reserves.' % value]
    return []


def fill_node(text, node_id, address, voters):
    """Fill in a node's words as the node script does."""
    return (text.replace('@NODE_ID@', str(node_id))
            .replace('@NODE_ADDRESS@', address)
            .replace('@CONTROLLER_VOTERS@', voters))


def check_quorum(nodes):
    """Check the KRaft settings of a whole cluster, node by node.

    :param nodes: the filled-in properties of every node (controllers
        and brokers), as mappings.
    :returns: problems: differing controller strings, shared node ids,
        controllers missing from the voters or listening elsewhere.
    """
    problems = []
    voters = {node.get('controller.quorum.voters') for node in nodes}
    if len(voters) != 1 or None in voters:
        problems.append('Nodes disagree on controller.quorum.voters: %s.'
                        % ', '.join(sorted(map(str, voters))))
        return problems
    parsed = {}
    for voter in voters.pop().split(','):
        match = _VOTER.match(voter)
        if not match:
            problems.append('Voter %r is not id@host:port.' % voter)
            continue
        parsed[match.group('id')] = (match.group('host'),
                                     match.group('port'))
    ids = [node.get('node.id') for node in nodes]
    if len(set(ids)) != len(ids):
        problems.append('Node ids are not unique: %s.' % ', '.join(
            sorted(map(str, ids))))
    controllers = [node for node in nodes
                   if 'controller' in node.get('process.roles', '')]
    if len(parsed) % 2 == 0:
        problems.append('The quorum has %d voters; an even count tolerates '
                        'no more failures than one voter fewer.'
                        % len(parsed))
    for node in controllers:
        listens = listeners(node.get('listeners', ''))
        where = listens.get(node.get('controller.listener.names'))
        if parsed.get(node.get('node.id')) != where:
            problems.append('Controller %s listens on %s but the voters '
                            'say %s.' % (node.get('node.id'), where,
                                         parsed.get(node.get('node.id'))))
    if len(controllers) != len(parsed):
        problems.append('%d voters but %d controllers.'
                        % (len(parsed), len(controllers)))
    return problems


def listeners(value):
    """Map listener names to ``(host, port)`` of a listeners string."""
    found = {}
    for item in filter(None, (part.strip() for part in value.split(','))):
        match = _LISTENER.match(item)
        if match:
            found[match.group('name')] = (match.group('host'),
                                          match.group('port'))
    return found


def check_listeners(node, rules, client_cidr):
    """Check one node's listeners against the security group's rules.

    :param node: the node's filled-in properties.
    :param rules: the security group's rules as the HOT has them
        (``port_range_min``, ``port_range_max``, ``remote_mode``,
        ``remote_ip_prefix``).
    :param client_cidr: the network clients come from.
    :returns: problems: a listener without its protocol, a port the
        group does not open, an inter-node port open to clients, an
        advertised port that differs, a rule no listener needs.
    """
    problems = []
    listens = listeners(node.get('listeners', ''))
    protocols = dict(item.split(':', 1) for item in filter(None, node.get(
        'listener.security.protocol.map', '').split(',')))
    internal = set(node.get('controller.listener.names', '').split(','))
    internal.add(node.get('inter.broker.listener.name'))
    for name, (_host, port) in listens.items():
        if name not in protocols:
            problems.append('Listener %s has no security protocol.' % name)
        reach = _reach(rules, int(port), client_cidr)
        if not reach:
            problems.append('Listener %s port %s is not open in the '
                            'security group.' % (name, port))
        elif name in internal and 'clients' in reach:
            problems.append('Inter-node listener %s port %s is open to '
                            '%s.' % (name, port, client_cidr))
        elif name not in internal and 'clients' not in reach:
            problems.append('Client listener %s port %s is open to cluster '
                            'members only.' % (name, port))
    for name, (host, port) in listeners(
            node.get('advertised.listeners', '')).items():
        if name not in listens or listens[name][1] != port:
            problems.append('Advertised listener %s port %s is not a '
                            'listener.' % (name, port))
        elif host in ('', '0.0.0.0'):
            problems.append('Advertised listener %s has no routable '
                            'host.' % name)
    return problems


def check_rules_used(nodes, rules):
    """Return rules that open a port no node listens on."""
    ports = {int(port) for node in nodes
             for _host, port in listeners(node.get('listeners', '')).values()}
    return ['Security group opens %s-%s but no node listens there.'
            % (rule['port_range_min'], rule['port_range_max'])
            for rule in rules
            if not any(rule['port_range_min'] <= port <= rule['port_range_max']
                       for port in ports)]


def _reach(rules, port, client_cidr):
    """Return who a port is open to: 'clients' and/or 'members'."""
    reach = set()
    for rule in rules:
        if not rule['port_range_min'] <= port <= rule['port_range_max']:
            continue
        if rule.get('remote_mode') == 'remote_group_id':
            reach.add('members')
        elif rule.get('remote_ip_prefix') in (client_cidr,
                                              {'get_param': 'client_cidr'}):
            reach.add('clients')
    return reach


def version_line(version):
    """Pick the Kafka key list a version is checked against.

    Every minor Kafka line cue-heat offers (4.0 to 4.3) has a list of its
    own, since each release adds broker keys (and 4.1 dropped one); the
    shared lookup maps a patch release to its line and a newer minor to
    the newest list of its major.
    """
    return broker_config.version_line(version, _KEYS_DIR, 'Kafka')


@functools.lru_cache(maxsize=None)
def known_keys(line):
    """Return the key names of a version line's list."""
    path = importlib.resources.files('cue_heat').joinpath(
        *_KEYS_DIR, '%d.%d.txt' % line)
    return frozenset(
        entry.strip() for entry in path.read_text().splitlines()
        if entry.strip() and not entry.startswith('#'))
