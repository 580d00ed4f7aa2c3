"""The cluster lifecycle against the real local Keystone + Heat.

Every test drives the real rendered RabbitMQ bundle through
:class:`cue_heat.clusters.ClusterService`, with the devcloud's node agent
completing (or, told by ``agent_rules``, failing) the deployments.
"""

import io
import time
import uuid

import pytest

from cue_heat import clusters
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import heat
from cue_heat import status
from cue_heat.cli import cluster as cli

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'


def _body(name, size=3):
    return {
        'name': name, 'size': size, 'network_id': [NETWORK],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': 'Lifecycle-pass1'}},
    }


def _wait(service, cluster_id, deleted=False):
    return cli.wait_for(service, cluster_id, io.StringIO(), deleted=deleted,
                        sleep=_nap)


def _nap(seconds):
    time.sleep(min(seconds, 1.0))


def _servers(heat_client, cluster_id):
    """Return ASG member name -> server id, straight from Heat."""
    stack = heat_client.stacks.get(cluster_id)
    for output in stack.outputs:
        if output['output_key'] == 'nodes':
            return {member: node['server_id']
                    for member, node in output['output_value'].items()}
    raise AssertionError('stack %s has no nodes output' % cluster_id)


@pytest.fixture(scope='module')
def config(devcloud):
    return config_module.load(devcloud.config_file)


@pytest.fixture(scope='module')
def service_a(session_a, config):
    return clusters.ClusterService(
        heat.StackClient.from_session(session_a, config), config)


@pytest.fixture(scope='module')
def service_b(session_b, config):
    return clusters.ClusterService(
        heat.StackClient.from_session(session_b, config), config)


@pytest.fixture
def cluster(service_a):
    """An ACTIVE 3-node cluster of project A, deleted afterwards."""
    view = service_a.create(_body('lifecycle %s' % uuid.uuid4().hex[:6]))
    active = _wait(service_a, view['id'])
    yield active
    try:
        service_a.delete(view['id'])
        _wait(service_a, view['id'], deleted=True)
    except errors.CueHeatError:
        pass


def test_create_is_building_at_once_then_active(service_a):
    view = service_a.create(_body('create %s' % uuid.uuid4().hex[:6]))

    assert view['status'] == status.BUILDING
    assert service_a.show(view['id'])['status'] == status.BUILDING
    active = _wait(service_a, view['id'])
    assert active['status'] == status.ACTIVE
    assert active['endpoints']
    assert len(active['nodes']) == 3
    assert {node['status'] for node in active['nodes']} == {status.ACTIVE}
    assert all(node['address'] for node in active['nodes'])
    assert active['health'] == 'OK'
    assert 'Lifecycle-pass1' not in repr(active)
    service_a.delete(view['id'])
    _wait(service_a, view['id'], deleted=True)


def test_list_pages_with_marker_and_limit(service_a, cluster):
    other = service_a.create(_body('page %s' % uuid.uuid4().hex[:6]))

    first = service_a.list(limit=1)
    second = service_a.list(marker=first[0]['id'], limit=1)

    assert len(first) == 1 and len(second) == 1
    assert first[0]['id'] != second[0]['id']
    ids = {entry['id'] for entry in service_a.list()}
    assert {cluster['id'], other['id']} <= ids
    named = [entry for entry in service_a.list()
             if entry['id'] == cluster['id']]
    assert named[0]['name'] == cluster['name']
    assert named[0]['size'] == 3
    service_a.delete(other['id'])


def test_same_name_in_same_project_conflicts(service_a, service_b,
                                             cluster):
    with pytest.raises(errors.ClusterConflict):
        service_a.create(_body(cluster['name']))

    other = service_b.create(_body(cluster['name']))
    assert other['status'] == status.BUILDING
    service_b.delete(other['id'])


def test_other_project_cannot_see_the_cluster(service_b, cluster):
    with pytest.raises(errors.ClusterNotFound):
        service_b.show(cluster['id'])
    with pytest.raises(errors.ClusterNotFound):
        service_b.delete(cluster['id'])
    assert cluster['id'] not in {entry['id'] for entry in service_b.list()}


def test_resize_during_resize_is_409_and_keeps_servers(
        service_a, heat_a, cluster):
    before = _servers(heat_a, cluster['id'])

    view = service_a.resize(cluster['id'], 5)
    assert view['status'] == status.UPDATING
    with pytest.raises(errors.OperationInProgress):
        service_a.resize(cluster['id'], 3)
    grown = _wait(service_a, cluster['id'])

    assert len(grown['nodes']) == 5
    after = _servers(heat_a, cluster['id'])
    assert {member: after[member] for member in before} == before


def test_resize_refuses_unknown_node_and_bad_sizes(
        service_a, heat_a, cluster):
    before = heat_a.stacks.get(cluster['id']).updated_time

    with pytest.raises(errors.NodeNotFound):
        service_a.resize(cluster['id'], 1, ['no-such-node'])
    with pytest.raises(errors.InvalidSpec):
        service_a.resize(cluster['id'], 2)
    with pytest.raises(errors.InvalidSpec):
        service_a.resize(cluster['id'], 100)

    assert heat_a.stacks.get(cluster['id']).updated_time == before
    assert service_a.show(cluster['id'])['status'] == status.ACTIVE


def test_scale_in_removes_exactly_the_named_node(service_a, heat_a,
                                                 cluster):
    _wait(service_a, service_a.resize(cluster['id'], 5)['id'])
    nodes = service_a.show(cluster['id'])['nodes']
    victim = nodes[2]['name']
    before = _servers(heat_a, cluster['id'])

    service_a.resize(cluster['id'], 4, [victim])
    shrunk = _wait(service_a, cluster['id'])

    names = [node['name'] for node in shrunk['nodes']]
    assert victim not in names
    assert sorted(names) == sorted(
        node['name'] for node in nodes if node['name'] != victim)
    after = _servers(heat_a, cluster['id'])
    assert set(after.values()) < set(before.values())


def test_failed_deployment_names_node_then_heal_fixes_it(
        service_a, heat_a, cluster, agent_rules):
    old = _servers(heat_a, cluster['id'])
    agent_rules.fail(node='*', config='configure', status_code=1,
                     stderr='join failed: peer unreachable')

    service_a.resize(cluster['id'], 4)
    with pytest.raises(errors.StackFailed):
        _wait(service_a, cluster['id'])
    broken = service_a.show(cluster['id'])

    assert broken['status'] == status.ERROR
    new_member = (set(_members(heat_a, cluster['id'])) - set(old)).pop()
    assert 'step configure' in broken['status_reason']
    assert 'peer unreachable' in broken['status_reason']
    assert new_member in broken['status_reason'] or any(
        node['name'] in broken['status_reason'] for node in broken['nodes'])
    fine = [node for node in broken['nodes']
            if node['status'] == status.ACTIVE]
    assert len(fine) == 3

    agent_rules.reset()
    service_a.heal(cluster['id'])
    healed = _wait(service_a, cluster['id'])

    assert healed['status'] == status.ACTIVE
    assert len(healed['nodes']) == 4
    after = _servers(heat_a, cluster['id'])
    assert {member: after[member] for member in old} == old


def test_heal_named_node_replaces_only_that_node(service_a, heat_a,
                                                 cluster):
    before = _servers(heat_a, cluster['id'])
    target = cluster['nodes'][0]['name']

    view = service_a.heal(cluster['id'], [target])
    assert view['status'] == status.UPDATING
    healed = _wait(service_a, cluster['id'])

    after = _servers(heat_a, cluster['id'])
    changed = {member for member in before
               if after.get(member) != before[member]}
    assert len(changed) == 1
    assert len(healed['nodes']) == 3
    assert {node['status'] for node in healed['nodes']} == {status.ACTIVE}


def test_history_is_newest_first_and_bounded(service_a, cluster):
    events = service_a.events(cluster['id'], limit=10)
    older = service_a.events(cluster['id'], limit=10,
                             marker=events[-1]['id'])

    assert len(events) == 10
    assert [event['time'] for event in events] == sorted(
        (event['time'] for event in events), reverse=True)
    assert events[-1]['time'] >= older[0]['time']
    assert {'time', 'node', 'step', 'status', 'reason'} <= set(events[0])
    assert any(event['step'] == 'configure' and event['node']
               for event in events + older + service_a.events(
                   cluster['id'], limit=200))


def test_delete_of_stack_deleted_behind_its_back(service_a, heat_a):
    view = service_a.create(_body('gone %s' % uuid.uuid4().hex[:6]))
    _wait(service_a, view['id'])

    heat_a.stacks.delete(view['id'])
    _wait(service_a, view['id'], deleted=True)

    service_a.delete(view['id'])
    shown = None
    try:
        shown = service_a.show(view['id'])
    except errors.ClusterNotFound:
        pass
    assert shown is None or shown['status'] == status.DELETED


def _members(heat_client, cluster_id):
    group = heat_client.resources.get(cluster_id, 'group')
    return [resource.resource_name for resource in
            heat_client.resources.list(group.physical_resource_id)]


def test_node_reporting_an_alarm_degrades_an_active_cluster(
        service_a, agent_rules):
    agent_rules.output('health', 'degraded: alarm on rabbit@n1 (memory)')
    view = service_a.create(_body('alarm %s' % uuid.uuid4().hex[:6], 1))

    active = _wait(service_a, view['id'])

    assert active['status'] == status.ACTIVE
    assert active['health'] == 'DEGRADED'
    assert 'alarm on rabbit@n1 (memory)' in active['health_reason']
    assert active['nodes'][0]['name'] in active['health_reason']
    service_a.delete(view['id'])
    _wait(service_a, view['id'], deleted=True)
