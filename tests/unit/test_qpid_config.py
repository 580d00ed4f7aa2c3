"""The Qpid Broker-J bundle checked with the validators of qpid_config."""

import json

import pytest
import yaml

from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import qpid_config
from cue_heat import rendering
from cue_heat import spec as spec_module

CONFIG = config_module.Config()
PASSWORD = 'Qpid-pass1'
CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
KEY = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'


def _bundle(size=3, tls=False, tuning=None):
    body = {
        'name': 'Orders HA', 'size': size, 'broker': 'qpid',
        'network_id': ['6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': PASSWORD}},
        'config': tuning or {},
    }
    if tls:
        body['tls'] = {'cert': CERT, 'key': KEY, 'ca': CERT}
    spec = spec_module.load_spec(body, CONFIG)
    return spec, rendering.render(spec, CONFIG)


def _group(bundle, count=3):
    """Fill in every node's virtual host node as form.sh would."""
    members = [('qpid-%d' % index, '10.0.0.%d' % (20 + index))
               for index in range(count)]
    founder = min(members, key=lambda member: member[1])
    permitted = ['%s:5000' % address for _name, address in members]
    return [qpid_config.fill_node(
        bundle.parameters['virtualhostnode'], name, address, founder[0],
        founder[1], permitted) for name, address in members]


@pytest.mark.parametrize('tls', [False, True])
def test_initial_configuration_has_only_the_spec_user(tls):
    _spec, bundle = _bundle(tls=tls)
    text = bundle.parameters['broker_config']

    assert qpid_config.check_broker_config(text, 'app', PASSWORD) == []
    ports = {port['name']: port['port']
             for port in json.loads(text)['ports']}
    assert ports == ({'AMQP': 5671, 'HTTP': 8443} if tls
                     else {'AMQP': 5672, 'HTTP': 8080})


def test_guest_account_and_a_shipped_password_are_reported():
    _spec, bundle = _bundle()
    document = json.loads(bundle.parameters['broker_config'])
    document['authenticationproviders'][0]['users'].append(
        {'name': 'guest', 'password': 'guest', 'type': 'managed'})
    text = json.dumps(document).replace('@ADMIN_PASSWORD@', PASSWORD)

    problems = qpid_config.check_broker_config(text, 'app', PASSWORD)

    assert any('guest' in problem for problem in problems)
    assert any('password' in problem for problem in problems)


def test_ha_group_is_consistent_and_replication_is_members_only():
    spec, bundle = _bundle()
    nodes = _group(bundle)
    rules = yaml.safe_load(bundle.template)['resources'][
        'security_group']['properties']['rules']

    assert qpid_config.check_ha_group(nodes) == []
    assert qpid_config.check_replication_port(
        nodes, rules, spec['client_cidr']) == []
    assert {node['groupName'] for node in nodes} == {'orders-ha'}


def test_replication_port_open_to_clients_is_reported():
    spec, bundle = _bundle()
    rules = [dict(rule, remote_mode='remote_ip_prefix',
                  remote_ip_prefix={'get_param': 'client_cidr'})
             for rule in yaml.safe_load(bundle.template)['resources'][
                 'security_group']['properties']['rules']]

    assert qpid_config.check_replication_port(
        _group(bundle), rules, spec['client_cidr'])


def test_broken_groups_are_reported():
    _spec, bundle = _bundle()
    nodes = _group(bundle)
    nodes[1] = dict(nodes[1], permittedNodes=nodes[1]['permittedNodes'][:1])
    assert any('permittedNodes' in problem
               for problem in qpid_config.check_ha_group(nodes))

    nodes = _group(bundle)
    nodes[2] = dict(nodes[2], helperAddress=nodes[2]['address'],
                    helperNodeName=nodes[2]['name'])
    assert qpid_config.check_ha_group(nodes)

    nodes = _group(bundle)
    nodes[0] = dict(nodes[0], type='JSON')
    assert 'BDB_HA' in qpid_config.check_ha_group(nodes)[0]


def test_exactly_one_primary():
    assert qpid_config.check_roles({'a': 'primary', 'b': 'replica'}) == []
    assert qpid_config.check_roles({'a': 'replica', 'b': 'replica'})
    assert qpid_config.check_roles({'a': 'primary', 'b': 'primary'})


def test_two_node_groups_are_refused():
    with pytest.raises(errors.InvalidSpec) as raised:
        _bundle(size=2)
    assert 'split' in str(raised.value.messages['size'])


def test_memory_tuning_reaches_java_not_the_broker_context():
    _spec, bundle = _bundle(tuning={'heap_mb': 2048,
                                    'direct_memory_mb': 4096})

    assert bundle.parameters['java_memory'].split() == [
        '-Xmx2048m', '-XX:MaxDirectMemorySize=4096m']
    context = json.loads(bundle.parameters['broker_config'])['context']
    assert not any(key.startswith('cue.') for key in context)
