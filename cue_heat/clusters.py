"""The cluster lifecycle: create, list, show, resize, heal, delete.

A cluster is one Heat stack and nothing else: its id is the stack id,
its spec is the stack's ``cluster_spec`` parameter, and tags mark it as
cue-heat's (:mod:`cue_heat.views` reads them back). This module decides
what happens; views say what users see.
"""

import datetime
import logging
import re

from cue_heat import allow_lists
from cue_heat import errors
from cue_heat import members as members_module
from cue_heat import rendering
from cue_heat import spec as spec_module
from cue_heat import status as status_module
from cue_heat import views

LOG = logging.getLogger(__name__)

#: Heat's rule for stack names, checked with ``fullmatch`` because
#: Heat's own check lets a trailing newline through.
STACK_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_.-]{0,254}')
#: Events read per page, and pages read, to find an operation's start.
EVENT_PAGE = 200
EVENT_PAGES = 5
DEFAULT_LIST_LIMIT = 100
#: Steps that are software deployments, whose stderr explains a failure.
DEPLOYMENT_STEPS = ('configure', 'leave', 'formation')


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
        self._members = members_module.Members(stacks, sleep=sleep)

    def create(self, body):
        """Validate *body*, create its stack and return it as BUILDING.

        :raises cue_heat.errors.InvalidSpec: the body is not valid.
        :raises cue_heat.errors.ClusterConflict: the project already has
            a cluster of that name.
        """
        spec = spec_module.load_spec(body, self._config)
        name = spec['name']
        key = views.KEY_TAG + views.digest(name)
        taken = [stack for stack in
                 self._stacks.list_stacks([views.TAG, key])
                 if stack.get('stack_status') != 'DELETE_COMPLETE']
        if taken:
            raise errors.ClusterConflict(
                'A cluster named %r already exists (%s).' % (
                    name, taken[0]['id']))
        bundle = rendering.render(spec, self._config)
        stack_name = stack_name_for(name)
        tags = [views.TAG, views.BROKER_TAG + spec['broker'], key,
                views.name_tag(name), views.SIZE_TAG + str(spec['size'])]
        stack_id = self._stacks.create_stack(stack_name, bundle, tags)
        LOG.info('Creating stack %s for cluster %s (broker=%s, size=%s)',
                 stack_name, stack_id, spec['broker'], spec['size'])
        return views.cluster_view(
            stack_id, spec_module.public_spec(spec),
            status_module.ClusterStatus(status_module.BUILDING),
            created_at=_isotime(self._now()))

    def list(self, marker=None, limit=None):
        """Return one page of the project's clusters, newest first.

        The status comes from the stack status alone: reading events per
        cluster would cost one Heat call each. :meth:`show` is exact.
        """
        stacks = self._stacks.list_stacks(
            [views.TAG], marker=marker, limit=limit or DEFAULT_LIST_LIMIT)
        return [views.summary(stack) for stack in stacks]

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
        _check_size(size, views.public_spec(stack).get('broker') or
                    spec_module.DEFAULT_BROKER, self._config)
        nodes = list(nodes or ())
        if len(nodes) > max(current - size, 0):
            raise errors.InvalidSpec({'nodes': [
                'A resize from %d to %d removes %d nodes (got %d names).'
                % (current, size, max(current - size, 0), len(nodes))]})
        self._check_idle(stack)
        members = self._members.find(stack, nodes)
        self._members.remove(stack, members, 'removed by resize')
        tags = views.replace_tag(
            stack.get('tags'), views.SIZE_TAG, str(size))
        self._stacks.update_stack(
            stack['id'], {'size': size}, tags=tags)
        LOG.info('Resizing cluster %s from %d to %d (removing %s)',
                 cluster_id, current, size,
                 ', '.join(nodes) if nodes else 'none')
        return self._updating_view(stack['id'])

    def heal(self, cluster_id, nodes=None):
        """Replace the named nodes, or every node Heat finds failed.

        Replaced nodes (whole members, or only their servers: see
        :mod:`cue_heat.members`) are marked unhealthy and a PATCH update
        re-creates them; the other nodes keep their servers.

        :raises cue_heat.errors.NodeNotFound: a named node is unknown.
        :raises cue_heat.errors.OperationInProgress: the cluster is busy.
        :raises cue_heat.errors.StackFailed: the heal could not start.
        """
        stack = self._cluster_stack(cluster_id, resolve_outputs=True)
        self._check_idle(stack)
        if nodes:
            members = self._members.find(stack, list(nodes))
        else:
            members = self._members.failed(stack)
        if not members:
            LOG.info('Cluster %s has no failed node to heal', cluster_id)
            return self._full_view(stack)
        self._members.heal(stack, members, 'replaced by heal')
        names = views.node_names(stack)
        LOG.info('Healing cluster %s (replacing %s)', cluster_id,
                 ', '.join(names.get(member, member) for member in members))
        return self._updating_view(stack['id'])

    def delete(self, cluster_id):
        """Delete the cluster's stack; a stack already gone is fine.

        :raises cue_heat.errors.ClusterNotFound: Heat never had it here.
        """
        # TODO: deleting the stack runs every node's leave step at once,
        # and a leave step refuses when the others cannot take over (a
        # quorum-critical RabbitMQ node, a Kafka broker whose partitions
        # have nowhere to go), so on real nodes a delete can fail. A
        # teardown deployment group (DELETE action, deleted before the
        # group) could tell the nodes that the whole cluster goes.
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
        names = views.node_names(stack)
        events = self._stacks.list_events(
            stack['id'], marker=marker, limit=limit, nested_depth=2)
        return [status_module.history_entry(stack, event, names)
                for event in events]

    def _cluster_stack(self, cluster_id, resolve_outputs=False):
        stack = self._stacks.get_stack(
            cluster_id, resolve_outputs=resolve_outputs)
        if views.TAG not in (stack.get('tags') or ()):
            raise errors.ClusterNotFound(cluster_id)
        return stack

    def _status(self, stack, pending=False):
        events = self._operation_events(stack)
        names = views.node_names(stack)
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
        public = views.public_spec(stack)
        return views.cluster_view(
            stack['id'], public, state,
            created_at=stack.get('creation_time'),
            updated_at=stack.get('updated_time'),
            outputs=views.outputs(stack))

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


def stack_name_for(name):
    """Derive a valid Heat stack name from any cluster name.

    A digest of the full name keeps names that differ only in dropped
    characters apart.
    """
    slug = re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-.')[:40]
    stack_name = 'cue-%s-%s' % (slug or 'cluster', views.digest(name)[:8])
    if not STACK_NAME.fullmatch(stack_name):
        raise errors.InvalidSpec({'name': [
            'Name %r gives no valid stack name.' % name]})
    return stack_name


def _check_size(size, broker, config):
    """Refuse sizes outside the operator's limit or the broker's rules."""
    allow = allow_lists.load_allow_list(broker).get('sizes') or {}
    if (isinstance(size, bool) or not isinstance(size, int)
            or not 1 <= size <= config.max_size):
        raise errors.InvalidSpec({'size': [
            'Size must be between 1 and %d (got %r).' % (
                config.max_size, size)]})
    if size in (allow.get('forbidden') or ()):
        raise errors.InvalidSpec({'size': [
            'Size %d is not allowed: %s.' % (
                size, allow.get('reason', 'the broker forbids it'))]})


def _is_deployment(stack, event):
    """Tell whether a failed event is a software deployment's."""
    where = status_module.place(stack, event)
    return where.step in DEPLOYMENT_STEPS


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _isotime(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')
