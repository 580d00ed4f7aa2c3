"""The broker group's members: finding them, and having Heat replace them.

A member is one resource of the stack's scaling group: a nested stack
holding one node's port, server, data volume and deployments. Heat
replaces whatever is marked unhealthy on the next stack update, so
removing and healing a node is a mark followed by a PATCH update.

How much a heal replaces is the broker's choice, made in its allow-list
(``heal: {replaces: ...}``):

``member`` (the default)
    the whole member: a new port, server and volume, so a new address
    and a new node. Right for brokers whose nodes are named by their
    host and rejoin as new members (RabbitMQ, Qpid).
``server``
    the member's server alone: the port stays (so the address and any
    node id derived from it) and so does the data volume, which Heat
    moves to the new server. Right for Kafka, whose replacement broker
    should come back as the same node.id with its log.

A server-only heal must not run the node's DELETE step (the leave step
that drains a node about to disappear): the node comes back. Heat
deletes the old server's deployments during the update, so the heal
first tells those members, through the template's ``healing_members``
parameter, to hold their leave step, and only then marks their servers.
"""

import logging
import time

from cue_heat import allow_lists
from cue_heat import errors
from cue_heat import status as status_module
from cue_heat import views

LOG = logging.getLogger(__name__)

#: The scaling group's parameter that holds a leave step back.
HEALING_PARAMETER = 'healing_members'
#: The resource a server-only heal replaces, in every member.
SERVER_RESOURCE = 'server'
#: Seconds between polls while a heal waits for Heat.
POLL_SECONDS = 1.0


class Members:
    """The members of one stack's broker group, through a StackClient.

    :param stacks: the :class:`cue_heat.heat.StackClient`.
    :param sleep: waits a number of seconds between polls.
    """

    def __init__(self, stacks, sleep=None):
        self._stacks = stacks
        self._sleep = sleep or time.sleep

    def find(self, stack, nodes):
        """Map node names (or member names) to group members.

        :raises cue_heat.errors.NodeNotFound: a name is no member's.
        """
        members = {resource['resource_name']
                   for resource in self._resources(stack)}
        by_name = {name: member
                   for member, name in views.node_names(stack).items()}
        found = []
        for node in nodes:
            member = node if node in members else by_name.get(node)
            if member not in members:
                raise errors.NodeNotFound(node, stack['id'])
            found.append(member)
        return found

    def failed(self, stack):
        """Find members Heat reports failed, checking the stack first.

        A stack that is not already FAILED gets a stack check, which
        marks resources that are gone or broken CHECK_FAILED.
        """
        if not stack['stack_status'].endswith('_FAILED'):
            self._stacks.check_stack(stack['id'])
            self._wait(stack['id'], 'CHECK_IN_PROGRESS')
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

    def remove(self, stack, members, reason):
        """Mark whole members so that the next update deletes them."""
        group_id = self._group_id(stack) if members else None
        for member in members:
            self._stacks.mark_unhealthy(group_id, member, reason)

    def heal(self, stack, members, reason):
        """Have Heat replace *members* as the broker asks; start it.

        :raises cue_heat.errors.OperationInProgress: a scale-in has not
            finished (server-only heal).
        :raises cue_heat.errors.StackFailed: holding the leave steps
            back failed; nothing was replaced.
        """
        if heal_replaces(views.public_spec(stack)) != SERVER_RESOURCE:
            self.remove(stack, members, reason)
            self._stacks.update_stack(stack['id'], {})
            return
        nested = {resource['resource_name']:
                  resource['physical_resource_id']
                  for resource in self._resources(stack)}
        size = int(stack['parameters'].get('size', len(nested)))
        if len(nested) > size:
            # The update that holds the leave steps would also retry the
            # unfinished scale-in, and could remove a held member
            # without draining it.
            raise errors.OperationInProgress(
                'Cluster %s has %d brokers for a size of %d: a scale-in '
                'did not finish. Resize again before healing.' % (
                    stack['id'], len(nested), size))
        held = ','.join(nested[member] for member in members)
        before = self._stacks.get_stack(stack['id']).get('updated_time')
        self._stacks.update_stack(stack['id'], {HEALING_PARAMETER: held})
        final = self._wait(stack['id'], 'UPDATE_IN_PROGRESS', before)
        if final != 'UPDATE_COMPLETE':
            raise errors.StackFailed(
                'Cluster %s: holding the leave step of %s ended %s; no '
                'node was replaced.' % (
                    stack['id'], ', '.join(members), final))
        names = views.node_names(stack)
        LOG.info('Cluster %s: leave step held before replacing the '
                 'server of %s', stack['id'],
                 ', '.join(names.get(member, member) for member in members))
        for member in members:
            self._stacks.mark_unhealthy(
                nested[member], SERVER_RESOURCE, reason)
        self._stacks.update_stack(stack['id'], {HEALING_PARAMETER: ''})

    def _group_id(self, stack):
        group = self._stacks.get_resource(stack['id'], status_module.GROUP)
        return group['physical_resource_id']

    def _resources(self, stack):
        return self._stacks.list_resources(self._group_id(stack))

    def _wait(self, stack_id, busy, before=None):
        """Poll until the stack leaves *busy*; return its new status.

        With *before* (the stack's ``updated_time`` before an update was
        asked for) an unchanged time means the update has not started.
        Heat ends every operation by the stack's timeout, so this ends.
        """
        while True:
            stack = self._stacks.get_stack(stack_id)
            started = before is None or stack.get('updated_time') != before
            if started and stack['stack_status'] != busy:
                return stack['stack_status']
            self._sleep(POLL_SECONDS)


def heal_replaces(public):
    """Return what a heal replaces for a cluster's public spec."""
    broker = public.get('broker')
    if not broker:
        return 'member'
    allow = allow_lists.load_allow_list(broker)
    return (allow.get('heal') or {}).get('replaces', 'member')


def _member_of(stack, resource):
    """Return the group member a nested resource belongs to."""
    event_like = dict(resource, resource_status='CHECK_FAILED')
    where = status_module.place(stack, event_like)
    return where.node if where.node else resource.get('resource_name')
