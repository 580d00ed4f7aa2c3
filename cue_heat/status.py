"""Cluster status from a Heat stack and its events: pure functions.

Heat's ``stack_status`` alone lags and hides which node failed, so the
status is read from the stack *and* the events of the current operation
(``nested_depth=2``: the top stack, the scaling group's and the
formation's nested stacks, and each member's nested stack). Nothing here
calls Heat; :mod:`cue_heat.clusters` fetches, this module decides.

Events are expected newest first, as Heat returns them. Heat names a
nested stack ``<parent stack name>-<resource name>-<12 random chars>``
and puts that name in each event's ``stack`` link, which is how an event
is placed in the tree: ``('group', <member>, 'configure')`` is the
``configure`` deployment of one node.
"""

import dataclasses
import datetime
import re

BUILDING = 'BUILDING'
ACTIVE = 'ACTIVE'
UPDATING = 'UPDATING'
DELETING = 'DELETING'
DELETED = 'DELETED'
ERROR = 'ERROR'
#: Statuses during which another operation must not start.
BUSY = (BUILDING, UPDATING, DELETING)

#: Top-level resources whose nested stacks hold one entry per node: the
#: templates' contract. ``group`` is the resizable scaling group;
#: ``controllers`` a fixed group some brokers add (Kafka's KRaft quorum);
#: each formation is a deployment group over one of them.
GROUP = 'group'
FORMATION = 'formation'
NODE_GROUPS = (GROUP, 'controllers')
FORMATIONS = (FORMATION, 'controller_formation')
#: How much of a failed deployment's stderr a reason carries.
STDERR_TAIL_LINES = 5
STDERR_TAIL_CHARS = 400

_TIME_FORMATS = ('%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%fZ',
                 '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f')


@dataclasses.dataclass(frozen=True)
class NodeStatus:
    """Status of one node: its scaling-group member name and last step."""

    member: str
    status: str
    step: str = ''
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class ClusterStatus:
    """Status of a cluster with its reason and per-node statuses."""

    status: str
    reason: str = ''
    nodes: dict = dataclasses.field(default_factory=dict)
    step: str = ''


@dataclasses.dataclass(frozen=True)
class Place:
    """Where an event happened: the node it concerns and the step."""

    node: str
    step: str
    path: tuple


def parse_time(value):
    """Parse a Heat timestamp into an aware UTC datetime (None if empty)."""
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    text = value.replace('+00:00', '')
    for form in _TIME_FORMATS:
        try:
            parsed = datetime.datetime.strptime(text, form)
        except ValueError:
            continue
        return parsed.replace(tzinfo=datetime.timezone.utc)
    raise ValueError('Not a Heat timestamp: %r.' % value)


def place(stack, event):
    """Return the :class:`Place` of *event* in the cluster's tree."""
    path = _stack_path(stack['stack_name'], _event_stack_name(event))
    if path is None or (not path and _is_stack_event(stack, event)):
        return Place(node='', step='', path=())
    if not _is_nested_stack_event(event):
        path = path + (event.get('resource_name') or '',)
    if len(path) >= 2 and path[0] in NODE_GROUPS + FORMATIONS:
        step = path[2] if len(path) > 2 else (
            'node' if path[0] in NODE_GROUPS else FORMATION)
        return Place(node=path[1], step=step, path=path)
    return Place(node='', step=path[-1], path=path)


def current_operation(stack, events):
    """Return the events of the stack's current operation, newest first.

    The operation starts at the newest stack-level ``*_IN_PROGRESS``
    event. Without one in *events* (purged or paged away), events no
    older than the stack's ``updated_time`` or ``creation_time`` count.
    """
    for index, event in enumerate(events):
        if (_is_stack_event(stack, event)
                and event['resource_status'].endswith('_IN_PROGRESS')):
            return list(events[:index + 1])
    start = parse_time(stack.get('updated_time') or
                       stack.get('creation_time'))
    if start is None:
        return list(events)
    return [event for event in events
            if parse_time(event['event_time']) >= start]


def failed_leaves(stack, events):
    """Return the FAILED events that are root causes, oldest first.

    A nested stack fails because something inside it failed; only the
    innermost failures name the node and the step.
    """
    operation = current_operation(stack, events)
    failed = [event for event in operation
              if event['resource_status'].endswith('_FAILED')
              and not _is_signal(event)
              and not _is_stack_event(stack, event)]
    paths = [place(stack, event).path for event in failed]
    leaves = []
    for event, path in zip(failed, paths, strict=True):
        deeper = any(other[:len(path)] == path and len(other) > len(path)
                     for other in paths)
        if not deeper and not _is_nested_stack_event(event):
            leaves.append(event)
    return list(reversed(leaves))


def cluster_status(stack, events, deployments=None, names=None, now=None,
                   pending=False):
    """Derive the cluster's status from its stack and events.

    :param stack: the stack as Heat shows it (``stack_status``,
        ``stack_status_reason``, times, ``timeout_mins``), or None when
        Heat no longer has it.
    :param events: the stack's events with ``nested_depth=2``, newest
        first, covering at least the current operation.
    :param deployments: software deployments by id, for the stderr of
        failed ones (see :func:`failed_leaves`).
    :param names: node names by scaling-group member, for the reasons.
    :param now: the current time (aware UTC), for stall detection.
    :param pending: an update was just accepted, so a ``*_COMPLETE``
        stack status is still the previous operation's.
    """
    if stack is None:
        return ClusterStatus(DELETED)
    action, _, state = stack['stack_status'].partition('_')
    operation = current_operation(stack, events)
    nodes = node_statuses(stack, operation)
    step = _latest_step(stack, operation)
    if action == 'DELETE' and state == 'COMPLETE':
        return ClusterStatus(DELETED, nodes={})
    if action == 'INIT':
        # Heat stores a new stack as INIT_COMPLETE before it starts.
        return ClusterStatus(BUILDING, '', nodes, step)
    if state == 'IN_PROGRESS':
        stalled = _stalled(stack, operation, now)
        if stalled:
            return ClusterStatus(ERROR, stalled, nodes, step)
        return ClusterStatus(_busy_status(action), '', nodes, step)
    if pending or _accepted_update(stack, operation):
        return ClusterStatus(UPDATING, '', nodes, step)
    if state == 'FAILED' or action == 'ROLLBACK':
        reason = failure_reason(stack, events, deployments, names)
        return ClusterStatus(ERROR, reason, nodes, step)
    return ClusterStatus(ACTIVE, '', nodes, step)


def node_statuses(stack, operation):
    """Return a :class:`NodeStatus` per member seen in *operation*.

    A node's status is its newest event's, except that the removal of a
    replaced incarnation (heal creates the new member first, then
    deletes the old one under the same name) does not count.
    """
    replaced = _replaced_incarnations(stack, operation)
    nodes = {}
    for event in operation:
        where = place(stack, event)
        if (not where.node or where.node in nodes or _is_signal(event)
                or event.get('physical_resource_id') in replaced):
            continue
        nodes[where.node] = NodeStatus(
            member=where.node, status=_node_status(event, where),
            step=where.step, reason=_reason_of(event, where))
    return nodes


def _node_status(event, where):
    """Status of a node from its newest event.

    A step inside a member that completes leaves the node still in its
    operation: only the member itself, or its formation deployment,
    completing makes it ACTIVE.
    """
    action, _, state = event['resource_status'].partition('_')
    if state == 'COMPLETE' and where.step not in ('node', FORMATION):
        return DELETING if action == 'DELETE' else _busy_status(action)
    return event_status(event)


def _replaced_incarnations(stack, operation):
    """Return physical ids of resources deleted after a replacement.

    Heal creates a node's new member first and deletes the old one under
    the same name; the formation group does the same with the node's
    deployment. Keyed by node and step, so that the removal of the old
    member or of its old deployment never reads as the node's removal.
    """
    created = {}
    deleted = []
    for event in operation:
        where = place(stack, event)
        if not where.node:
            continue
        key = (where.node, where.step)
        action, _, state = event['resource_status'].partition('_')
        if action == 'CREATE' and state != 'IN_PROGRESS':
            created.setdefault(key, set()).add(
                event.get('physical_resource_id'))
        elif action == 'DELETE':
            deleted.append((key, event.get('physical_resource_id')))
    return {physical for key, physical in deleted
            if created.get(key) and physical not in created[key]}


def failure_reason(stack, events, deployments=None, names=None):
    """Name the node and step that failed, with its stderr tail."""
    deployments = deployments or {}
    names = names or {}
    parts = []
    for event in failed_leaves(stack, events):
        where = place(stack, event)
        subject = 'Node %s' % names.get(where.node, where.node) if (
            where.node) else 'Cluster'
        text = '%s failed at step %s: %s' % (
            subject, where.step or 'stack', _clean(event))
        tail = stderr_tail(deployments.get(event.get('physical_resource_id')))
        if tail:
            text += ' stderr: %s' % tail
        parts.append(text)
    if not parts:
        return stack.get('stack_status_reason') or 'Stack operation failed.'
    return ' '.join(parts)


def stderr_tail(deployment):
    """Return the last lines of a deployment's stderr (or '')."""
    if not deployment:
        return ''
    outputs = deployment.get('output_values') or {}
    stderr = (outputs.get('deploy_stderr') or '').strip()
    tail = ' | '.join(stderr.splitlines()[-STDERR_TAIL_LINES:])
    return tail[-STDERR_TAIL_CHARS:]


def event_status(event):
    """Translate an event's ``resource_status`` into our vocabulary."""
    action, _, state = event['resource_status'].partition('_')
    if state == 'IN_PROGRESS':
        return _busy_status(action)
    if state == 'FAILED':
        return ERROR
    return DELETED if action == 'DELETE' else ACTIVE


def history_entry(stack, event, names=None):
    """Turn one Heat event into a cluster history entry."""
    where = place(stack, event)
    node = (names or {}).get(where.node, where.node)
    return {
        'id': event.get('id'),
        'time': event.get('event_time'),
        'node': node,
        'step': where.step or 'cluster',
        'action': event['resource_status'].partition('_')[0],
        'status': event_status(event),
        'reason': _clean(event),
    }


def _busy_status(action):
    if action == 'CREATE':
        return BUILDING
    if action == 'DELETE':
        return DELETING
    return UPDATING


def _stalled(stack, operation, now):
    """Return a reason when the operation made no progress in time."""
    timeout = stack.get('timeout_mins')
    if not timeout or now is None:
        return ''
    times = [parse_time(event['event_time']) for event in operation]
    times.append(parse_time(stack.get('updated_time') or
                            stack.get('creation_time')))
    last = max((time for time in times if time), default=None)
    if last is None or now - last <= datetime.timedelta(minutes=timeout):
        return ''
    return ('Operation %s stalled: no progress since %s, longer than its '
            'timeout of %d minutes.' % (
                stack['stack_status'].partition('_')[0],
                last.strftime('%Y-%m-%dT%H:%M:%SZ'), timeout))


def _accepted_update(stack, operation):
    """Tell whether an update started after the last finished one.

    Right after Heat accepts an update the stack can still read the old
    ``*_COMPLETE``; its ``updated_time`` is already the new one.
    """
    updated = parse_time(stack.get('updated_time'))
    finished = [parse_time(event['event_time']) for event in operation
                if _is_stack_event(stack, event)
                and not event['resource_status'].endswith('_IN_PROGRESS')]
    return bool(updated and finished and updated > max(finished))


def _latest_step(stack, operation):
    for event in operation:
        where = place(stack, event)
        if where.step:
            return where.step
    return ''


def _reason_of(event, where):
    if not event['resource_status'].endswith('_FAILED'):
        return ''
    return _clean(event)


def _clean(event):
    """Return an event's reason without Heat's resource-path prefix."""
    reason = (event.get('resource_status_reason') or '').strip()
    return re.sub(r'resources(\.[\w-]+)+: ', '', reason)


def _is_signal(event):
    """Tell a signal's receipt (``SIGNAL_*``), not a state change."""
    return event['resource_status'].startswith('SIGNAL_')


def _is_stack_event(stack, event):
    return (event.get('physical_resource_id') == stack['id']
            and event.get('resource_name') == stack['stack_name'])


def _is_nested_stack_event(event):
    """Tell whether *event* is a nested stack's own state change."""
    own = _event_stack_name(event)
    return bool(own) and event.get('logical_resource_id') == own


def _event_stack_name(event):
    for link in event.get('links') or ():
        if link.get('rel') == 'stack':
            parts = link['href'].rstrip('/').split('/')
            return parts[-2] if len(parts) >= 2 else ''
    return ''


def _stack_path(top_name, stack_name):
    """Turn a nested stack's name into resource names below the top.

    Returns None for a stack outside the cluster's tree.
    """
    if not stack_name or stack_name == top_name:
        return ()
    if not stack_name.startswith(top_name + '-'):
        return None
    rest = stack_name[len(top_name) + 1:]
    path = []
    while rest:
        match = re.match(r'^(?P<resource>.+?)-(?P<suffix>[a-z0-9]{12})'
                         r'(?:-(?P<rest>.*))?$', rest)
        if not match:
            return None
        path.append(match.group('resource'))
        rest = match.group('rest') or ''
    return tuple(path)
