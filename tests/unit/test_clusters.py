"""ClusterService rules, on an in-memory stand-in for the Heat adapter."""

import datetime
import json

import pytest

from cue_heat import clusters
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import status
from cue_heat import views

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
BODY = {
    'name': 'orders, EU', 'size': 3,
    'network_id': ['6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'],
    'authentication': {'type': 'PLAIN', 'token': {
        'username': 'app', 'password': 'Unit-test-pass1'}},
}


class FakeStackClient:
    """In-memory StackClient: records calls, holds one stack per id."""

    def __init__(self):
        self.stacks = {}
        self.calls = []
        self.events = {}
        #: When set, an update ends at once with this stack status.
        self.updates_end = None

    def create_stack(self, stack_name, bundle, tags, parameters=None):
        stack_id = 'stack-%d' % (len(self.stacks) + 1)
        self.calls.append(('create', stack_name, tags))
        self.stacks[stack_id] = {
            'id': stack_id, 'stack_name': stack_name,
            'stack_status': 'CREATE_IN_PROGRESS', 'tags': list(tags),
            'creation_time': '2026-12-01T11:59:00Z', 'updated_time': None,
            'timeout_mins': 60,
            'parameters': {
                'size': str(bundle.parameters['size']),
                'cluster_name': bundle.parameters['cluster_name'],
                'cluster_spec': json.dumps(
                    bundle.parameters['cluster_spec']),
            },
            'outputs': [],
        }
        return stack_id

    def get_stack(self, stack_id, resolve_outputs=False):
        if stack_id not in self.stacks:
            raise errors.ClusterNotFound(stack_id)
        return dict(self.stacks[stack_id])

    def list_stacks(self, tags, marker=None, limit=None):
        self.calls.append(('list', tuple(tags), marker, limit))
        return [dict(stack) for stack in self.stacks.values()
                if set(tags) <= set(stack['tags'])]

    def update_stack(self, stack_id, parameters, tags=None):
        self.calls.append(('update', stack_id, parameters, tags))
        if self.updates_end:
            stack = self.stacks[stack_id]
            stack['stack_status'] = self.updates_end
            stack['updated_time'] = '2026-12-01T12:00:%02dZ' % len(
                self.calls)

    def delete_stack(self, stack_id):
        self.calls.append(('delete', stack_id))

    def list_events(self, stack_id, marker=None, limit=None,
                    nested_depth=0, sort_dir='desc'):
        return list(self.events.get(stack_id, []))

    def get_resource(self, stack_id, resource_name):
        return {'physical_resource_id': 'group-of-%s' % stack_id}

    def list_resources(self, stack_id, nested_depth=0):
        return [{'resource_name': member, 'resource_status': 'CREATE_COMPLETE',
                 'physical_resource_id': 'nested-' + member}
                for member in ('m1aaaaaaaaaa', 'm2bbbbbbbbbb', 'm3cccccccccc')]

    def mark_unhealthy(self, stack_id, resource_name, reason):
        self.calls.append(('mark', stack_id, resource_name))

    def get_deployment(self, deployment_id):
        raise errors.ClusterNotFound(deployment_id)


@pytest.fixture
def stacks():
    return FakeStackClient()


@pytest.fixture
def service(stacks):
    return clusters.ClusterService(
        stacks, config_module.Config(), now=lambda: NOW)


def _active(stacks, stack_id):
    stack = stacks.stacks[stack_id]
    stack['stack_status'] = 'CREATE_COMPLETE'
    stack['outputs'] = [
        {'output_key': 'nodes', 'output_value': {
            'm1aaaaaaaaaa': {'name': 'orders-1', 'address': '10.0.0.1'},
            'm2bbbbbbbbbb': {'name': 'orders-2', 'address': '10.0.0.2'},
            'm3cccccccccc': {'name': 'orders-3', 'address': '10.0.0.3'}}},
        {'output_key': 'endpoints', 'output_value': [
            {'type': 'amqp', 'uri': 'amqp://10.0.0.1:5672'}]},
    ]
    return stack


def _changes(stacks):
    return [call for call in stacks.calls
            if call[0] in ('update', 'mark', 'delete')]


def test_create_returns_building_view_without_secrets(service, stacks):
    view = service.create(dict(BODY))

    assert view['status'] == status.BUILDING
    assert view['name'] == 'orders, EU'
    assert view['size'] == 3
    assert view['broker'] == 'rabbitmq'
    assert 'Unit-test-pass1' not in repr(view)
    _, stack_name, tags = stacks.calls[-1]
    assert clusters.STACK_NAME.fullmatch(stack_name)
    assert 'cue-heat' in tags and 'cue-heat-broker=rabbitmq' in tags
    assert all(',' not in tag and len(tag) <= 80 for tag in tags)


def test_create_same_name_conflicts(service):
    service.create(dict(BODY))

    with pytest.raises(errors.ClusterConflict):
        service.create(dict(BODY))


def test_create_other_name_with_same_slug_does_not_conflict(service,
                                                            stacks):
    first = service.create(dict(BODY))
    second = service.create(dict(BODY, name='orders; EU'))

    names = [stacks.stacks[view['id']]['stack_name']
             for view in (first, second)]
    assert names[0] != names[1]


def test_create_invalid_body_touches_nothing(service, stacks):
    with pytest.raises(errors.InvalidSpec):
        service.create(dict(BODY, size=0))
    assert stacks.calls == []


@pytest.mark.parametrize('name', [
    'orders', 'orders, EU', '9 lives', '  ', 'é' * 300, 'a\n', '-x-',
    'x' * 255,
])
def test_stack_name_is_always_valid_for_heat(name):
    stack_name = clusters.stack_name_for(name)

    assert clusters.STACK_NAME.fullmatch(stack_name)
    assert not stack_name.endswith('\n')
    assert len(stack_name) <= 255


def test_heat_rule_refuses_trailing_newline():
    assert clusters.STACK_NAME.fullmatch('abc\n') is None


def test_list_reads_tags_without_per_cluster_calls(service, stacks):
    long_name = 'a very, very long name ' * 8
    service.create(dict(BODY))
    service.create(dict(BODY, name=long_name))
    stacks.calls.clear()

    listed = service.list(limit=10)

    assert [call[0] for call in stacks.calls] == ['list']
    assert {entry['name'] for entry in listed} >= {'orders, EU'}
    assert any(long_name.startswith(entry['name']) and entry['name']
               for entry in listed)
    assert {entry['status'] for entry in listed} == {status.BUILDING}


def test_show_of_a_stack_that_is_not_a_cluster_is_not_found(service,
                                                            stacks):
    stacks.stacks['plain'] = {'id': 'plain', 'stack_name': 'plain',
                              'stack_status': 'CREATE_COMPLETE', 'tags': []}

    with pytest.raises(errors.ClusterNotFound):
        service.show('plain')


def test_show_active_cluster_has_nodes_and_endpoints(service, stacks):
    view = service.create(dict(BODY))
    _active(stacks, view['id'])

    shown = service.show(view['id'])

    assert shown['status'] == status.ACTIVE
    assert [node['name'] for node in shown['nodes']] == [
        'orders-1', 'orders-2', 'orders-3']
    assert {node['status'] for node in shown['nodes']} == {status.ACTIVE}
    assert shown['endpoints'] == [{'type': 'amqp',
                                   'uri': 'amqp://10.0.0.1:5672'}]


@pytest.mark.parametrize('size, nodes, error', [
    (2, None, errors.InvalidSpec),
    (8, None, errors.InvalidSpec),
    (0, None, errors.InvalidSpec),
    (1, ['orders-1', 'orders-2', 'orders-3'], errors.InvalidSpec),
    (1, ['orders-9'], errors.NodeNotFound),
    (5, ['orders-1'], errors.InvalidSpec),
])
def test_resize_refusals_change_nothing(service, stacks, size, nodes,
                                        error):
    view = service.create(dict(BODY))
    _active(stacks, view['id'])

    with pytest.raises(error):
        service.resize(view['id'], size, nodes)
    assert _changes(stacks) == []


def test_resize_of_busy_cluster_is_409(service, stacks):
    view = service.create(dict(BODY))

    with pytest.raises(errors.OperationInProgress):
        service.resize(view['id'], 5)
    assert _changes(stacks) == []


def test_scale_in_marks_exactly_the_named_node_first(service, stacks):
    view = service.create(dict(BODY))
    _active(stacks, view['id'])

    service.resize(view['id'], 1, ['orders-2', 'm3cccccccccc'])

    group = 'group-of-%s' % view['id']
    assert _changes(stacks)[:2] == [('mark', group, 'm2bbbbbbbbbb'),
                                    ('mark', group, 'm3cccccccccc')]
    update = _changes(stacks)[2]
    assert update[2] == {'size': 1}
    assert 'cue-heat-size=1' in update[3]
    assert 'cue-heat-size=3' not in update[3]


def test_heal_named_node_marks_it_and_patches_nothing_else(service,
                                                           stacks):
    view = service.create(dict(BODY))
    _active(stacks, view['id'])

    healed = service.heal(view['id'], ['orders-3'])

    assert _changes(stacks) == [
        ('mark', 'group-of-%s' % view['id'], 'm3cccccccccc'),
        ('update', view['id'], {}, None)]
    assert healed['status'] == status.UPDATING


def _kafka(service, stacks, size=3):
    view = service.create(dict(BODY, broker='kafka', size=size))
    _active(stacks, view['id'])
    stacks.calls.clear()
    return view


def test_kafka_heal_holds_the_leave_step_then_replaces_the_server(
        service, stacks):
    view = _kafka(service, stacks)
    stacks.updates_end = 'UPDATE_COMPLETE'

    service.heal(view['id'], ['orders-3'])

    assert _changes(stacks) == [
        ('update', view['id'], {'healing_members': 'nested-m3cccccccccc'},
         None),
        ('mark', 'nested-m3cccccccccc', 'server'),
        ('update', view['id'], {'healing_members': ''}, None)]


def test_kafka_heal_stops_when_holding_the_leave_step_fails(
        service, stacks):
    view = _kafka(service, stacks)
    stacks.updates_end = 'UPDATE_FAILED'

    with pytest.raises(errors.StackFailed, match='orders-3|m3c'):
        service.heal(view['id'], ['orders-3'])

    assert [call[0] for call in _changes(stacks)] == ['update']


def test_kafka_heal_waits_for_an_unfinished_scale_in(service, stacks):
    view = _kafka(service, stacks, size=2)

    with pytest.raises(errors.OperationInProgress, match='3 brokers'):
        service.heal(view['id'], ['orders-3'])

    assert _changes(stacks) == []


def test_delete_of_already_deleted_stack_is_fine(service, stacks):
    view = service.create(dict(BODY))
    stacks.stacks[view['id']]['stack_status'] = 'DELETE_COMPLETE'

    service.delete(view['id'])

    assert _changes(stacks) == []


def test_delete_of_vanishing_stack_is_fine(service, stacks):
    view = service.create(dict(BODY))

    def vanish(stack_id):
        raise errors.ClusterNotFound(stack_id)
    stacks.delete_stack = vanish

    service.delete(view['id'])


def test_delete_of_unknown_cluster_is_not_found(service):
    with pytest.raises(errors.ClusterNotFound):
        service.delete('nothing')


def test_view_carries_node_roles_and_ids_from_the_outputs():
    outputs = {
        'nodes': {'m1': {'name': 'q-1', 'address': '10.0.0.1',
                         'server_id': 's1'},
                  '0': {'name': 'k-c', 'address': '10.0.0.2',
                        'server_id': 's2', 'role': 'controller',
                        'node_id': 167772162}},
        'roles': {'m1': 'primary'},
    }

    view = views.cluster_view('id', {}, status.ClusterStatus(status.ACTIVE),
                              outputs=outputs)

    nodes = {node['name']: node for node in view['nodes']}
    assert nodes['q-1']['role'] == 'primary'
    assert nodes['k-c']['role'] == 'controller'
    assert nodes['k-c']['node_id'] == 167772162
    assert 'role' not in views.cluster_view(
        'id', {}, status.ClusterStatus(status.ACTIVE), outputs={
            'nodes': {'m': {'name': 'r', 'address': 'a'}}})['nodes'][0]


def test_qpid_view_with_two_primaries_is_degraded():
    outputs = {
        'nodes': {'m1': {'name': 'q-1', 'address': '10.0.0.1'},
                  'm2': {'name': 'q-2', 'address': '10.0.0.2'}},
        'roles': {'m1': 'primary', 'm2': 'primary'},
        'health': {'m1': 'ok', 'm2': 'ok'},
    }
    active = status.ClusterStatus(status.ACTIVE)

    view = views.cluster_view('id', {'broker': 'qpid'}, active,
                              outputs=outputs)
    rabbit = views.cluster_view('id', {'broker': 'rabbitmq'}, active,
                                outputs=outputs)

    assert view['health'] == 'DEGRADED'
    assert 'q-1, q-2' in view['health_reason']
    assert rabbit['health'] == 'OK'
