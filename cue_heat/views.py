"""What users see of a cluster, read from its stack alone.

A listing shows what the stack's tags carry, without one Heat call per
cluster; a full view adds the status, the nodes, the endpoints and the
broker health. Heat tags cannot hold commas and are at most 80
characters, so the user's name is kept in the ``cluster_name`` parameter
and the tags only hold a digest of it (for the same-name conflict check)
and a percent-encoded, possibly shortened copy for listings.
"""

import hashlib
import json
import urllib.parse

from cue_heat import allow_lists
from cue_heat import errors
from cue_heat import health as health_module
from cue_heat import status as status_module

TAG = 'cue-heat'
BROKER_TAG = 'cue-heat-broker='
KEY_TAG = 'cue-heat-key='
NAME_TAG = 'cue-heat-name='
SIZE_TAG = 'cue-heat-size='
MAX_TAG_LENGTH = 80


def cluster_view(cluster_id, public, state, created_at=None,
                 updated_at=None, outputs=None):
    """Build the full view of a cluster: status, nodes, endpoints, health.

    :param public: the spec without secrets.
    :param state: the :class:`cue_heat.status.ClusterStatus`.
    :param outputs: the stack's resolved outputs by key.
    """
    outputs = outputs or {}
    nodes_out = outputs.get('nodes') or {}
    # NOTE: a node the current operation did not touch is as it was:
    # ACTIVE, unless the whole cluster is being built or deleted.
    untouched = state.status if state.status in (
        status_module.BUILDING, status_module.DELETING,
        status_module.DELETED) else status_module.ACTIVE
    # NOTE: the nodes output is the truth once Heat resolves it; until
    # then (building, failed) the members seen in events stand in.
    members = sorted(nodes_out) or sorted(
        member for member, node in state.nodes.items()
        if node.status != status_module.DELETED)
    health, health_reason = health_module.UNKNOWN, ''
    if state.status == status_module.ACTIVE:
        health, health_reason = health_module.broker_health(
            outputs.get('health'), nodes_out)
        single = _single_role(public)
        if single:
            health, health_reason = health_module.combine(
                (health, health_reason), health_module.role_health(
                    outputs.get('roles'), single, nodes_out))
    nodes = []
    for member in members:
        info = nodes_out.get(member) or {}
        node_state = state.nodes.get(member)
        nodes.append(dict(_node_extras(member, info, outputs), **{
            'name': info.get('name') or member,
            'address': info.get('address'),
            'status': node_state.status if node_state else untouched,
        }))
    return {
        'id': cluster_id,
        'name': public.get('name'),
        'broker': public.get('broker'),
        'version': public.get('version'),
        'size': public.get('size'),
        'flavor': public.get('flavor'),
        'image': public.get('image'),
        'network_id': public.get('network_id') or [],
        'volume_size': public.get('volume_size'),
        'status': state.status,
        'status_reason': state.reason,
        'created_at': created_at,
        'updated_at': updated_at,
        'health': health, 'health_reason': health_reason,
        'endpoints': (outputs.get('endpoints') or []
                      if state.status == status_module.ACTIVE else []),
        'nodes': nodes,
        'step': state.step,
    }


def _single_role(public):
    """Return the role exactly one node must hold, if the broker has one.

    The broker's allow-list names it (``roles: {exactly_one: ...}``).
    """
    broker = public.get('broker')
    if not broker:
        return None
    try:
        allow = allow_lists.load_allow_list(broker)
    except errors.TemplateError:
        return None
    return ((allow or {}).get('roles') or {}).get('exactly_one')


def _node_extras(member, info, outputs):
    """Return what a broker's templates add about a node, if anything.

    ``role`` and ``node_id`` come from the node's own entry (Kafka's
    controllers and brokers); a ``roles`` output (member name -> role,
    as the nodes report it, e.g. Qpid's primary) takes precedence.
    """
    extras = {key: info[key] for key in ('role', 'node_id')
              if info.get(key) is not None}
    role = (outputs.get('roles') or {}).get(member)
    if role:
        extras['role'] = role
    return extras


def summary(stack):
    """Build a list entry from what a stack listing carries."""
    tags = tag_values(stack.get('tags'))
    state = status_module.cluster_status(stack, [])
    return {
        'id': stack['id'],
        'name': urllib.parse.unquote(tags.get(NAME_TAG, '')),
        'broker': tags.get(BROKER_TAG),
        'size': int(tags[SIZE_TAG]) if SIZE_TAG in tags else None,
        'status': state.status,
        'status_reason': state.reason,
        'created_at': stack.get('creation_time'),
        'updated_at': stack.get('updated_time'),
    }


def public_spec(stack):
    """Return the spec (without secrets) the stack was created from."""
    parameters = stack.get('parameters') or {}
    try:
        public = json.loads(parameters.get('cluster_spec') or '{}')
    except ValueError:
        public = {}
    public.setdefault('name', parameters.get('cluster_name'))
    if parameters.get('size'):
        public['size'] = int(parameters['size'])
    return public


def outputs(stack):
    """Return the stack's resolved outputs by key, failed ones left out."""
    return {output['output_key']: output.get('output_value')
            for output in stack.get('outputs') or ()
            if not output.get('output_error')}


def node_names(stack):
    """Return node name by scaling-group member, from the outputs."""
    nodes = outputs(stack).get('nodes') or {}
    return {member: (info or {}).get('name') or member
            for member, info in nodes.items()}


def tag_values(tags):
    """Return the values of cue-heat's tags, keyed by their prefix."""
    values = {}
    for tag in tags or ():
        for prefix in (BROKER_TAG, KEY_TAG, NAME_TAG, SIZE_TAG):
            if tag.startswith(prefix):
                values[prefix] = tag[len(prefix):]
    return values


def replace_tag(tags, prefix, value):
    """Return *tags* with the tag of *prefix* set to *value*."""
    kept = [tag for tag in tags or () if not tag.startswith(prefix)]
    return kept + [prefix + value]


def name_tag(name):
    """Percent-encode *name* into a tag, cut to Heat's 80 characters."""
    quoted = urllib.parse.quote(name, safe='')
    quoted = quoted[:MAX_TAG_LENGTH - len(NAME_TAG)]
    if '%' in quoted[-2:]:
        quoted = quoted[:quoted.rindex('%')]
    return NAME_TAG + quoted


def digest(name):
    """Return a short digest of a cluster name, for the conflict tag."""
    return hashlib.sha256(name.encode('utf-8')).hexdigest()[:20]
