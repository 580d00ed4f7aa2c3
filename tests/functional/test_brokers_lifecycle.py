"""Kafka and Qpid clusters through their whole life on the local cloud.

The real rendered bundles go through :class:`cue_heat.clusters.
ClusterService` into the real local Heat, with the devcloud's node
agent completing the deployments (it does not run the node scripts; no
broker runs here). What Heat computes (node ids, the cluster id, the
controller string, member sets, roles) is read back from the stack and
checked with the static validators.
"""

import io
import time
import uuid

import pytest
import yaml

from cue_heat import clusters
from cue_heat import config as config_module
from cue_heat import heat
from cue_heat import kafka_config
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


def test_kafka_lifecycle_keeps_ids_and_quorum(service, heat_a, config):
    body = _body('kafka %s' % uuid.uuid4().hex[:6], 'kafka')
    spec = spec_module.load_spec(body, config)
    created = service.create(body)
    view = _wait(service, created['id'])

    assert view['status'] == status.ACTIVE
    brokers = _ids(view)
    controllers = _ids(view, 'controller')
    assert len(brokers) == 3 and len(controllers) == 3
    first = _check_kafka_stack(heat_a, view, spec, config)
    assert len(view['endpoints']) == 3
    assert all(endpoint['uri'].startswith('sasl_plaintext://')
               for endpoint in view['endpoints'])

    service.resize(view['id'], 5)
    grown = _wait(service, view['id'])
    grown_ids = _ids(grown)
    assert len(grown_ids) == 5
    assert {name: grown_ids[name] for name in brokers} == brokers
    assert len(set(grown_ids.values()) | set(controllers.values())) == 8

    victim = sorted(brokers)[0]
    service.resize(view['id'], 4, [victim])
    shrunk_ids = _ids(_wait(service, view['id']))
    assert victim not in shrunk_ids
    assert {name: grown_ids[name] for name in shrunk_ids} == shrunk_ids

    target = sorted(shrunk_ids)[0]
    service.heal(view['id'], [target])
    healed = _wait(service, view['id'])
    healed_ids = _ids(healed)
    assert len(healed_ids) == 4 and target not in healed_ids
    kept = {name: ids for name, ids in shrunk_ids.items() if name != target}
    assert {name: healed_ids[name] for name in kept} == kept
    newcomer = (set(healed_ids) - set(shrunk_ids)).pop()
    assert healed_ids[newcomer] not in set(kept.values()) | set(
        controllers.values())
    assert _ids(healed, 'controller') == controllers

    last = _check_kafka_stack(heat_a, healed, spec, config)
    assert last['cluster_id'] == first['cluster_id']
    assert last['controller_voters'] == first['controller_voters']

    service.delete(view['id'])
    gone = _wait(service, view['id'], deleted=True)
    assert gone is None or gone['status'] == status.DELETED
