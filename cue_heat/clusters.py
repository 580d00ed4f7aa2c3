"""The cluster lifecycle: create, list, show, resize, heal, delete.

A cluster is one Heat stack and nothing else: its id is the stack id,
its spec is the stack's ``cluster_spec`` parameter, and the tags below
mark it as cue-heat's and carry what a listing shows without one Heat
call per cluster. Heat tags cannot hold commas and are at most 80
characters, so the user's name is kept in the ``cluster_name`` parameter
and the tags only hold a digest of it (for the same-name conflict check)
and a percent-encoded, possibly shortened copy for listings.
"""

import datetime
import hashlib
import json
import logging
import re
import time
import urllib.parse

from cue_heat import errors
from cue_heat import health as health_module
from cue_heat import rendering
from cue_heat import spec as spec_module
from cue_heat import status as status_module

LOG = logging.getLogger(__name__)

TAG = 'cue-heat'
BROKER_TAG = 'cue-heat-broker='
KEY_TAG = 'cue-heat-key='
NAME_TAG = 'cue-heat-name='
SIZE_TAG = 'cue-heat-size='
MAX_TAG_LENGTH = 80
#: Heat's rule for stack names, checked with ``fullmatch`` because
#: Heat's own check lets a trailing newline through.
STACK_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_.-]{0,254}')
#: Events read per page, and pages read, to find an operation's start.
EVENT_PAGE = 200
EVENT_PAGES = 5
DEFAULT_LIST_LIMIT = 100
#: Steps that are software deployments, whose stderr explains a failure.
DEPLOYMENT_STEPS = ('configure', 'leave', 'formation')
#: Seconds between polls while heal waits for a stack check.
CHECK_POLL_SECONDS = 1.0


class ClusterService:
    """Cluster operations on top of a :class:`cue_heat.heat.StackClient`.

    :param stacks: the Heat adapter, acting for the caller's project.
    :param config: the service :class:`cue_heat.config.Config`.
    :param now: returns the current aware UTC time (for stall checks).
    :param sleep: waits a number of seconds (between check polls).
    """

    def __init__(self, stacks, config, now=None, sleep=None):
        self._stacks = stacks
        self._config = config
        self._now = now or _utcnow
        self._sleep = sleep or time.sleep

    def create(self, body):
        """Validate *body*, create its stack and return it as BUILDING.

        :raises cue_heat.errors.InvalidSpec: the body is not valid.
        :raises cue_heat.errors.ClusterConflict: the project already has
            a cluster of that name.
        """
        spec = spec_module.load_spec(body, self._config)
        name = spec['name']
        key = KEY_TAG + _digest(name)
        taken = [stack for stack in self._stacks.list_stacks([TAG, key])
                 if stack.get('stack_status') != 'DELETE_COMPLETE']
        if taken:
            raise errors.ClusterConflict(
                'A cluster named %r already exists (%s).' % (
                    name, taken[0]['id']))
        bundle = rendering.render(spec, self._config)
        stack_name = stack_name_for(name)
        tags = [TAG, BROKER_TAG + spec['broker'], key,
                _name_tag(name), SIZE_TAG + str(spec['size'])]
        stack_id = self._stacks.create_stack(stack_name, bundle, tags)
        LOG.info('Creating stack %s for cluster %s (broker=%s, size=%s)',
                 stack_name, stack_id, spec['broker'], spec['size'])
        return _view(stack_id, spec_module.public_spec(spec),
                     status_module.ClusterStatus(status_module.BUILDING),
                     created_at=_isotime(self._now()))

    def list(self, marker=None, limit=None):
        """Return one page of the project's clusters, newest first.

        The status comes from the stack status alone: reading events per
        cluster would cost one Heat call each. :meth:`show` is exact.
        """
        stacks = self._stacks.list_stacks(
            [TAG], marker=marker, limit=limit or DEFAULT_LIST_LIMIT)
        return [_summary(stack) for stack in stacks]

    def show(self, cluster_id):
        """Return the cluster with its status, nodes and endpoints.

        :raises cue_heat.errors.ClusterNotFound: no such cluster here.
        """
        stack = self._cluster_stack(cluster_id, resolve_outputs=True)
        return self._full_view(stack)

    def resize(self, cluster_id, size, nodes=None):
        """Change the size; on scale-in remove exactly the named nodes.

        :param nodes: names of nodes to remove, at most as many as the
            size shrinks by; Heat picks the oldest for the rest.
        :raises cue_heat.errors.InvalidSpec: size outside the limits, or
            more nodes named than removed.
        :raises cue_heat.errors.NodeNotFound: a named node is unknown.
        :raises cue_heat.errors.OperationInProgress: the cluster is busy.
        """
        stack = self._cluster_stack(cluster_id, resolve_outputs=True)
        current = int(stack['parameters'].get('size', 0))
        _check_size(size, _public_spec(stack).get('broker') or
                    spec_module.DEFAULT_BROKER, self._config)
        nodes = list(nodes or ())
        if len(nodes) > max(current - size, 0):
            raise errors.InvalidSpec({'nodes': [
                'A resize from %d to %d removes %d nodes (got %d names).'
                % (current, size, max(current - size, 0), len(nodes))]})
        self._check_idle(stack)
        members = self._members(stack, nodes)
        self._mark_unhealthy(stack, members, 'removed by resize')
        tags = _replace_tag(stack.get('tags'), SIZE_TAG, str(size))
        self._stacks.update_stack(
            stack['id'], {'size': size}, tags=tags)
        LOG.info('Resizing cluster %s from %d to %d (removing %s)',
                 cluster_id, current, size, ', '.join(members) or 'none')
        return self._updating_view(stack['id'])

    def heal(self, cluster_id, nodes=None):
        """Replace the named nodes, or every node Heat finds failed.

        Replaced nodes are marked unhealthy and a PATCH update re-creates
        them; the other nodes keep their servers.

        :raises cue_heat.errors.NodeNotFound: a named node is unknown.
        :raises cue_heat.errors.OperationInProgress: the cluster is busy.
        """
        stack = self._cluster_stack(cluster_id, resolve_outputs=True)
        self._check_idle(stack)
        if nodes:
            members = self._members(stack, list(nodes))
        else:
            members = self._failed_members(stack)
        if not members:
            LOG.info('Cluster %s has no failed node to heal', cluster_id)
            return self._full_view(stack)
        self._mark_unhealthy(stack, members, 'replaced by heal')
        self._stacks.update_stack(stack['id'], {})
        LOG.info('Healing cluster %s (replacing %s)',
                 cluster_id, ', '.join(members))
        return self._updating_view(stack['id'])

    def delete(self, cluster_id):
        """Delete the cluster's stack; a stack already gone is fine.

        :raises cue_heat.errors.ClusterNotFound: Heat never had it here.
        """
        stack = self._cluster_stack(cluster_id)
        if stack['stack_status'] == 'DELETE_COMPLETE':
            LOG.warning('Stack of cluster %s is already deleted', cluster_id)
            return
        try:
            self._stacks.delete_stack(stack['id'])
        except errors.ClusterNotFound:
            LOG.warning('Stack of cluster %s vanished while deleting',
                        cluster_id)
            return
        LOG.info('Deleting stack %s of cluster %s',
                 stack['stack_name'], cluster_id)

    def events(self, cluster_id, limit=50, marker=None):
        """Return the cluster's history, newest first.

        :returns: dicts with ``id``, ``time``, ``node``, ``step``,
            ``action``, ``status`` and ``reason``; pass the last ``id`` as
            *marker* for the next page.
        """
        stack = self._cluster_stack(cluster_id, resolve_outputs=True)
        names = _node_names(stack)
        events = self._stacks.list_events(
            stack['id'], marker=marker, limit=limit, nested_depth=2)
        return [status_module.history_entry(stack, event, names)
                for event in events]

    def _cluster_stack(self, cluster_id, resolve_outputs=False):
        stack = self._stacks.get_stack(
            cluster_id, resolve_outputs=resolve_outputs)
        if TAG not in (stack.get('tags') or ()):
            raise errors.ClusterNotFound(cluster_id)
        return stack

    def _status(self, stack, pending=False):
        events = self._operation_events(stack)
        names = _node_names(stack)
        leaves = status_module.failed_leaves(stack, events)
        deployments = {}
        for event in leaves:
            deployment_id = event.get('physical_resource_id')
            if deployment_id and _is_deployment(stack, event):
                try:
                    deployments[deployment_id] = (
                        self._stacks.get_deployment(deployment_id))
                except errors.ClusterNotFound:
                    continue
        return status_module.cluster_status(
            stack, events, deployments, names, now=self._now(),
            pending=pending)

    def _operation_events(self, stack):
        """Read events, newest first, back to the operation's start."""
        events = []
        marker = None
        for _ in range(EVENT_PAGES):
            page = self._stacks.list_events(
                stack['id'], marker=marker, limit=EVENT_PAGE,
                nested_depth=2)
            events.extend(page)
            started = status_module.current_operation(stack, events)
            if len(page) < EVENT_PAGE or len(started) < len(events):
                break
            marker = page[-1]['id']
        return events

    def _full_view(self, stack, pending=False):
        state = self._status(stack, pending=pending)
        public = _public_spec(stack)
        return _view(stack['id'], public, state,
                     created_at=stack.get('creation_time'),
                     updated_at=stack.get('updated_time'),
                     outputs=_outputs(stack))

    def _updating_view(self, stack_id):
        """Show the cluster as UPDATING right after Heat took an update."""
        stack = self._stacks.get_stack(stack_id, resolve_outputs=True)
        return self._full_view(stack, pending=True)

    def _check_idle(self, stack):
        state = self._status(stack)
        if state.status in status_module.BUSY:
            raise errors.OperationInProgress(
                'Cluster %s is %s; wait until the operation ends.' % (
                    stack['id'], state.status))
        if state.status == status_module.DELETED:
            raise errors.ClusterNotFound(stack['id'])

    def _group_id(self, stack):
        group = self._stacks.get_resource(stack['id'], status_module.GROUP)
        return group['physical_resource_id']

    def _members(self, stack, nodes):
        """Map node names (or member names) to scaling-group members."""
        members = {resource['resource_name'] for resource in
                   self._stacks.list_resources(self._group_id(stack))}
        by_name = {name: member
                   for member, name in _node_names(stack).items()}
        found = []
        for node in nodes:
            member = node if node in members else by_name.get(node)
            if member not in members:
                raise errors.NodeNotFound(node, stack['id'])
            found.append(member)
        return found

    def _failed_members(self, stack):
        """Find members Heat reports failed, checking the stack first.

        A stack that is not already FAILED gets a stack check, which
        marks resources that are gone or broken CHECK_FAILED.
        """
        if not stack['stack_status'].endswith('_FAILED'):
            self._stacks.check_stack(stack['id'])
            self._wait_check(stack['id'])
        resources = self._stacks.list_resources(
            self._group_id(stack), nested_depth=1)
        failed = set()
        for resource in resources:
            if not resource['resource_status'].endswith('_FAILED'):
                continue
            member = _member_of(stack, resource)
            if member:
                failed.add(member)
        return sorted(failed)

    def _wait_check(self, stack_id):
        """Poll until the stack check ends (Heat bounds it by timeout)."""
        while True:
            stack = self._stacks.get_stack(stack_id)
            if stack['stack_status'] != 'CHECK_IN_PROGRESS':
                return
            self._sleep(CHECK_POLL_SECONDS)

    def _mark_unhealthy(self, stack, members, reason):
        if not members:
            return
        group_id = self._group_id(stack)
        for member in members:
            self._stacks.mark_unhealthy(group_id, member, reason)


def stack_name_for(name):
    """Derive a valid Heat stack name from any cluster name.

    A digest of the full name keeps names that differ only in dropped
    characters apart.
    """
    slug = re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-.')[:40]
    stack_name = 'cue-%s-%s' % (slug or 'cluster', _digest(name)[:8])
    if not STACK_NAME.fullmatch(stack_name):
        raise errors.InvalidSpec({'name': [
            'Name %r gives no valid stack name.' % name]})
    return stack_name


def _check_size(size, broker, config):
    """Refuse sizes outside the operator's limit or the broker's rules."""
    allow = spec_module.load_allow_list(broker).get('sizes') or {}
    if (isinstance(size, bool) or not isinstance(size, int)
            or not 1 <= size <= config.max_size):
        raise errors.InvalidSpec({'size': [
            'Size must be between 1 and %d (got %r).' % (
                config.max_size, size)]})
    if size in (allow.get('forbidden') or ()):
        raise errors.InvalidSpec({'size': [
            'Size %d is not allowed: %s.' % (
                size, allow.get('reason', 'the broker forbids it'))]})


def _view(cluster_id, public, state, created_at=None, updated_at=None,
          outputs=None):
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


def _summary(stack):
    """Build a list entry from what a stack listing carries."""
    tags = _tag_values(stack.get('tags'))
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


def _public_spec(stack):
    parameters = stack.get('parameters') or {}
    try:
        public = json.loads(parameters.get('cluster_spec') or '{}')
    except ValueError:
        public = {}
    public.setdefault('name', parameters.get('cluster_name'))
    if parameters.get('size'):
        public['size'] = int(parameters['size'])
    return public


def _outputs(stack):
    return {output['output_key']: output.get('output_value')
            for output in stack.get('outputs') or ()
            if not output.get('output_error')}


def _node_names(stack):
    nodes = _outputs(stack).get('nodes') or {}
    return {member: (info or {}).get('name') or member
            for member, info in nodes.items()}


def _member_of(stack, resource):
    """Return the group member a nested resource belongs to."""
    event_like = dict(resource, resource_status='CHECK_FAILED')
    where = status_module.place(stack, event_like)
    return where.node if where.node else resource.get('resource_name')


def _is_deployment(stack, event):
    """Tell whether a failed event is a software deployment's."""
    where = status_module.place(stack, event)
    return where.step in DEPLOYMENT_STEPS


def _tag_values(tags):
    values = {}
    for tag in tags or ():
        for prefix in (BROKER_TAG, KEY_TAG, NAME_TAG, SIZE_TAG):
            if tag.startswith(prefix):
                values[prefix] = tag[len(prefix):]
    return values


def _replace_tag(tags, prefix, value):
    kept = [tag for tag in tags or () if not tag.startswith(prefix)]
    return kept + [prefix + value]


def _name_tag(name):
    """Percent-encode *name* into a tag, cut to Heat's 80 characters."""
    quoted = urllib.parse.quote(name, safe='')
    quoted = quoted[:MAX_TAG_LENGTH - len(NAME_TAG)]
    if '%' in quoted[-2:]:
        quoted = quoted[:quoted.rindex('%')]
    return NAME_TAG + quoted


def _digest(name):
    return hashlib.sha256(name.encode('utf-8')).hexdigest()[:20]


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _isotime(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')
