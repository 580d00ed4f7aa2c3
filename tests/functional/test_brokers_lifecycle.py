"""Kafka and Qpid clusters through their whole life on the local cloud.

The real rendered bundles go through :class:`cue_heat.clusters.
ClusterService` into the real local Heat, with the devcloud's node
agent completing the deployments (it does not run the node scripts; no
broker runs here). What Heat computes (node ids, the cluster id, the
controller string, member sets, roles) is read back from the stack and
checked with the static validators.

The nodes' reports (Qpid's primary) are played by the agent rules, as
the nodes would report them; what is under test is that Heat carries
them into status and endpoints, and that heal and resize keep exactly
one primary there.
"""

import io
import time
import uuid

import pytest
import yaml

from cue_heat import clusters
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import heat
from cue_heat import kafka_config
from cue_heat import qpid_config
from cue_heat import rendering
from cue_heat import spec as spec_module
from cue_heat import status
from cue_heat.cli import cluster as cli

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'
PASSWORD = 'Brokers-pass1'


def _body(name, broker, size=3):
    return {
        'name': name, 'size': size, 'broker': broker, 'volume_size': 5,
        'network_id': [NETWORK],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': PASSWORD}},
    }


def _wait(service, cluster_id, deleted=False):
    return cli.wait_for(service, cluster_id, io.StringIO(), deleted=deleted,
                        sleep=lambda seconds: time.sleep(min(seconds, 1.0)))


def _outputs(heat_client, cluster_id):
    stack = heat_client.stacks.get(cluster_id)
    return {output['output_key']: output['output_value']
            for output in stack.outputs}


@pytest.fixture(scope='module')
def config(devcloud):
    return config_module.load(devcloud.config_file)


@pytest.fixture(scope='module')
def service(session_a, config):
    return clusters.ClusterService(
        heat.StackClient.from_session(session_a, config), config)


def _ids(view, role='broker'):
    """Node name -> node id of the nodes of *role* in a cluster view."""
    return {node['name']: node['node_id'] for node in view['nodes']
            if node.get('role') == role}


def _broker_parts(heat_client, cluster_id):
    """Node name -> physical ids of its port, server and data volume."""
    group = heat_client.resources.get(cluster_id, 'group')
    parts = {}
    for member in heat_client.resources.list(group.physical_resource_id):
        nested = member.physical_resource_id
        found = {resource.resource_name: resource.physical_resource_id
                 for resource in heat_client.resources.list(
                     nested, nested_depth=1)}
        outputs = {output['output_key']: output['output_value']
                   for output in heat_client.stacks.get(nested).outputs}
        parts[outputs['node']['name']] = {
            'port': found['port'], 'server': found['server'],
            'volume': found['volume']}
    return parts


def _check_kafka_stack(heat_client, view, spec, config):
    """Check a live Kafka stack with the static validators."""
    outputs = _outputs(heat_client, view['id'])
    assert kafka_config.check_cluster_id(outputs['cluster_id']) == []
    bundle = rendering.render(spec, config)
    rules = yaml.safe_load(bundle.template)['resources'][
        'security_group']['properties']['rules']
    nodes = []
    for node in outputs['nodes'].values():
        text = bundle.parameters['%s_properties' % node['role']]
        filled = kafka_config.fill_node(
            text, node['node_id'], node['address'],
            outputs['controller_voters'])
        settings, problems = kafka_config.parse_properties(filled)
        assert problems == []
        assert kafka_config.check_listeners(
            settings, rules, spec['client_cidr']) == []
        nodes.append(settings)
    assert kafka_config.check_quorum(nodes) == []
    assert kafka_config.check_rules_used(nodes, rules) == []
    return outputs


def test_kafka_lifecycle_keeps_ids_and_quorum(service, heat_a, config,
                                              agent_rules, settle):
    body = _body('kafka %s' % uuid.uuid4().hex[:6], 'kafka', size=1)
    spec = spec_module.load_spec(body, config)
    created = service.create(body)
    view = _wait(service, created['id'])

    assert view['status'] == status.ACTIVE
    brokers = _ids(view)
    controllers = _ids(view, 'controller')
    assert len(brokers) == 1 and len(controllers) == 1
    first = _check_kafka_stack(heat_a, view, spec, config)
    assert len(view['endpoints']) == 1
    assert all(endpoint['uri'].startswith('sasl_plaintext://')
               for endpoint in view['endpoints'])

    service.resize(view['id'], 3)
    grown = _wait(service, view['id'])
    grown_ids = _ids(grown)
    assert len(grown_ids) == 3
    assert {name: grown_ids[name] for name in brokers} == brokers
    assert len(set(grown_ids.values()) | set(controllers.values())) == 4

    victim = sorted(brokers)[0]
    service.resize(view['id'], 2, [victim])
    shrunk_ids = _ids(_wait(service, view['id']))
    assert victim not in shrunk_ids
    assert {name: grown_ids[name] for name in shrunk_ids} == shrunk_ids

    # Heal replaces the server alone: the broker keeps its port (so its
    # address and node.id) and its data volume, and its leave step is
    # held (the agent would fail it here), since the node comes back.
    target = sorted(shrunk_ids)[0]
    before = _broker_parts(heat_a, view['id'])
    agent_rules.fail(node=target, config='leave')
    service.heal(view['id'], [target])
    healed = _wait(service, view['id'])
    assert healed['status'] == status.ACTIVE
    assert _ids(healed) == shrunk_ids
    after = _broker_parts(heat_a, view['id'])
    assert set(after) == set(before)
    for name, parts in after.items():
        assert parts['port'] == before[name]['port']
        assert parts['volume'] == before[name]['volume']
        assert (parts['server'] != before[name]['server']) == (
            name == target)
    assert _ids(healed, 'controller') == controllers
    agent_rules.reset()

    # The healed broker still drains when scale-in removes it: a failing
    # drain stops the scale-in, and no heal runs over the unfinished one.
    agent_rules.fail(node=target, config='leave')
    service.resize(view['id'], 1, [target])
    with pytest.raises(errors.StackFailed, match='step leave'):
        _wait(service, view['id'])
    assert service.show(view['id'])['status'] == status.ERROR
    group = heat_a.resources.get(view['id'], 'group').physical_resource_id
    assert len(heat_a.resources.list(group)) == 2
    with pytest.raises(errors.OperationInProgress):
        service.heal(view['id'])
    agent_rules.reset()
    settle(heat_a)
    service.resize(view['id'], 1)
    recovered = _wait(service, view['id'])
    assert recovered['status'] == status.ACTIVE
    assert _ids(recovered) == {name: shrunk_ids[name]
                               for name in shrunk_ids if name != target}

    last = _check_kafka_stack(heat_a, recovered, spec, config)
    assert last['cluster_id'] == first['cluster_id']
    assert last['controller_voters'] == first['controller_voters']

    service.delete(view['id'])
    gone = _wait(service, view['id'], deleted=True)
    assert gone is None or gone['status'] == status.DELETED


def _roles(view):
    return {node['name']: node.get('role') for node in view['nodes']}


def _primaries(view):
    """Names of the nodes the view and the endpoints call primary."""
    by_address = {node['address']: node['name'] for node in view['nodes']}
    from_endpoints = {by_address[endpoint['uri'].split('//')[1].split(
        ':')[0]] for endpoint in view['endpoints']
        if endpoint.get('role') == 'primary'}
    from_nodes = {name for name, role in _roles(view).items()
                  if role == 'primary'}
    assert from_endpoints == from_nodes
    return from_nodes


def test_qpid_lifecycle_keeps_one_primary(service, heat_a, config,
                                          agent_rules):
    body = _body('qpid %s' % uuid.uuid4().hex[:6], 'qpid', size=1)
    spec = spec_module.load_spec(body, config)
    bundle = rendering.render(spec, config)
    assert qpid_config.check_broker_config(
        bundle.parameters['broker_config'], 'app', PASSWORD) == []
    # A group of one: its only node founds the group and is primary (the
    # agent's founder rule, with no rule written).
    view = _wait(service, service.create(body)['id'])
    founder = view['nodes'][0]['name']
    assert view['status'] == status.ACTIVE
    assert _primaries(view) == {founder}
    assert view['health'] == 'OK'

    # Joining nodes become replicas; the founder stays primary.
    agent_rules.output('role', 'replica')
    agent_rules.node_output(founder, 'role', 'primary')
    service.resize(view['id'], 4)
    grown = _wait(service, view['id'])
    assert len(grown['nodes']) == 4
    assert _primaries(grown) == {founder}
    roles = _outputs(heat_a, view['id'])['roles']
    assert qpid_config.check_roles(roles) == []
    _check_qpid_group(bundle, grown, spec)

    # Healing the primary: it hands over to a replica, which the
    # survivors then report as the one primary.
    successor = sorted(set(_roles(grown)) - {founder})[0]
    agent_rules.node_output(founder, 'role', 'replica')
    agent_rules.node_output(successor, 'role', 'primary')
    service.heal(view['id'], [founder])
    healed = _wait(service, view['id'])
    assert founder not in _roles(healed) and len(healed['nodes']) == 4
    assert _primaries(healed) == {successor}
    assert qpid_config.check_roles(
        _outputs(heat_a, view['id'])['roles']) == []

    assert healed['health'] == 'OK'

    victim = sorted(set(_roles(healed)) - {successor})[0]
    service.resize(view['id'], 3, [victim])
    shrunk = _wait(service, view['id'])
    assert victim not in _roles(shrunk)
    assert _primaries(shrunk) == {successor}
    _check_qpid_group(bundle, shrunk, spec)

    # A split group (two nodes claiming the primary) is not healthy,
    # however each node judges itself.
    rival = sorted(set(_roles(shrunk)) - {successor})[0]
    agent_rules.node_output(rival, 'role', 'primary')
    service.resize(view['id'], 4)
    split = _wait(service, view['id'])
    assert split['status'] == status.ACTIVE
    assert split['health'] == 'DEGRADED'
    assert '2 nodes report being primary (%s)' % ', '.join(
        sorted([rival, successor])) in split['health_reason']

    service.delete(view['id'])
    gone = _wait(service, view['id'], deleted=True)
    assert gone is None or gone['status'] == status.DELETED


def _check_qpid_group(bundle, view, spec):
    """Fill in the members' HA nodes as form.sh would, and check them."""
    members = [(node['name'], node['address']) for node in view['nodes']]
    primary = [member for member in members
               if member[0] in _primaries(view)][0]
    permitted = ['%s:5000' % address for _name, address in members]
    nodes = [qpid_config.fill_node(
        bundle.parameters['virtualhostnode'], name, address, primary[0],
        primary[1], permitted) for name, address in members]
    rules = yaml.safe_load(bundle.template)['resources'][
        'security_group']['properties']['rules']
    assert qpid_config.check_ha_group(nodes) == []
    assert qpid_config.check_replication_port(
        nodes, rules, spec['client_cidr']) == []
