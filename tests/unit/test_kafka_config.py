"""The Kafka bundle checked with the static validators of kafka_config."""

import base64
import uuid

import pytest
import yaml

from cue_heat import allow_lists
from cue_heat import config as config_module
from cue_heat import kafka_config
from cue_heat import rendering
from cue_heat import spec as spec_module

CONFIG = config_module.Config()
ALLOW = allow_lists.load_allow_list('kafka')
CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
KEY = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'


def _bundle(size=3, version=None, tls=False, tuning=None):
    body = {
        'name': 'orders', 'size': size, 'broker': 'kafka',
        'network_id': ['6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': 'Kafka-pass1'}},
        'config': tuning or {},
    }
    if version:
        body['version'] = version
    if tls:
        body['tls'] = {'cert': CERT, 'key': KEY, 'ca': CERT}
    spec = spec_module.load_spec(body, CONFIG)
    return spec, rendering.render(spec, CONFIG)


def _cluster(bundle, brokers=3, controllers=3):
    """Fill in every node as the node scripts would."""
    addresses = ['10.0.0.%d' % (10 + index)
                 for index in range(brokers + controllers)]
    ids = [int.from_bytes(bytes(map(int, address.split('.'))), 'big')
           % 2 ** 31 for address in addresses]
    voters = ','.join('%d@%s:9093' % pair for pair in
                      zip(ids[brokers:], addresses[brokers:], strict=True))
    nodes = []
    for index, (node_id, address) in enumerate(
            zip(ids, addresses, strict=True)):
        role = 'broker' if index < brokers else 'controller'
        text = kafka_config.fill_node(
            bundle.parameters['%s_properties' % role], node_id, address,
            voters)
        settings, problems = kafka_config.parse_properties(text)
        assert problems == []
        nodes.append(settings)
    return nodes


def _rules(bundle):
    return yaml.safe_load(bundle.template)['resources'][
        'security_group']['properties']['rules']


@pytest.mark.parametrize('version', ALLOW['versions'])
@pytest.mark.parametrize('tls', [False, True])
def test_rendered_properties_use_only_published_keys(version, tls):
    _spec, bundle = _bundle(version=version, tls=tls, tuning={
        'log_retention_hours': 72, 'compression_type': 'zstd',
        'num_io_threads': 16})

    for role in ('broker', 'controller'):
        text = bundle.parameters['%s_properties' % role]
        assert kafka_config.check_properties(text, version) == []


@pytest.mark.parametrize('version', ALLOW['versions'])
def test_every_offered_version_has_its_own_key_list(version):
    # A version falling back to an older list would pass keys its
    # release removed and refuse keys it added.
    assert kafka_config.version_line(version) == allow_lists.version_tuple(
        version)


@pytest.mark.parametrize('version,line', [
    ('4.0', (4, 0)), ('4.1', (4, 1)), ('4.2', (4, 2)), ('4.3', (4, 3)),
    ('4.1.2', (4, 1)), ('4.4', (4, 3))])
def test_version_line_picks_the_newest_list_not_newer(version, line):
    assert kafka_config.version_line(version) == line


@pytest.mark.parametrize('version', ALLOW['versions'])
def test_every_tuning_key_lands_on_a_published_key(version):
    known = kafka_config.known_keys(kafka_config.version_line(version))

    missing = sorted(key['conf_key'] for key in ALLOW['tuning'].values()
                     if key['conf_key'] not in known)

    assert missing == []


@pytest.mark.parametrize('version,known', [
    ('4.0', False), ('4.1', False), ('4.2', False), ('4.3', True)])
def test_a_key_added_in_4_3_is_refused_before_it(version, known):
    # Log directory cordoning arrived in 4.3: the key is first in 4.3's
    # published reference.
    problems = kafka_config.check_properties(
        'cordoned.log.dirs=/var/lib/kafka/data\n', version)

    assert (problems == []) is known


@pytest.mark.parametrize('version,known', [
    ('4.0', True), ('4.1', False), ('4.3', False)])
def test_a_key_4_1_dropped_is_refused_after_it(version, known):
    # In 4.0's published reference, gone from 4.1's on.
    problems = kafka_config.check_properties(
        'group.share.max.groups=10\n', version)

    assert (problems == []) is known


def test_unknown_and_repeated_keys_are_reported():
    text = 'node.id=1\nlog.retention.hourz=5\nnode.id=2\nnonsense\n'

    problems = kafka_config.check_properties(text, '4.0')

    assert any('log.retention.hourz' in problem for problem in problems)
    assert any('second time' in problem for problem in problems)
    assert any('Line 4' in problem for problem in problems)


def test_zookeeper_keys_are_gone_in_4x():
    problems = kafka_config.check_properties(
        'zookeeper.connect=zk:2181\n', '4.3')

    assert problems == ["Kafka 4.3 has no setting 'zookeeper.connect'."]


def test_listener_overrides_are_checked_against_their_key():
    assert kafka_config.check_properties(
        'listener.name.client.ssl.keystore.type=PEM\n'
        'listener.name.client.scram-sha-512.sasl.jaas.config=x;\n',
        '4.0') == []
    assert kafka_config.check_properties(
        'listener.name.client.ssl.keystore.typo=PEM\n', '4.0')


def test_cluster_id_format():
    # NOTE: a fixed id: a random one starts with '-' one time in 64,
    # which Kafka never generates and the check refuses.
    good = base64.urlsafe_b64encode(uuid.UUID(
        '5f0c2a8e-1d3b-4c5e-9a7f-0b1c2d3e4f50').bytes).decode().rstrip('=')

    assert kafka_config.check_cluster_id(good) == []
    assert kafka_config.check_cluster_id('A' * 22)
    assert kafka_config.check_cluster_id(good[:-1] + 'B')
    assert kafka_config.check_cluster_id(good[:21])
    assert kafka_config.check_cluster_id('-' + good[1:])
    assert kafka_config.check_cluster_id(good.replace(good[3], '+'))


def test_whole_cluster_has_one_quorum_and_consistent_listeners():
    spec, bundle = _bundle()
    nodes = _cluster(bundle)
    rules = _rules(bundle)

    assert kafka_config.check_quorum(nodes) == []
    for node in nodes:
        assert kafka_config.check_listeners(
            node, rules, spec['client_cidr']) == []
    assert kafka_config.check_rules_used(nodes, rules) == []


def test_tls_cluster_listeners_match_the_security_group():
    spec, bundle = _bundle(tls=True)
    nodes = _cluster(bundle)

    for node in nodes:
        assert kafka_config.check_listeners(
            node, _rules(bundle), spec['client_cidr']) == []
    assert '9094' in nodes[0]['listeners']


def test_differing_voters_and_shared_ids_are_reported():
    _spec, bundle = _bundle()
    nodes = _cluster(bundle)
    nodes[0] = dict(nodes[0], **{'controller.quorum.voters': '1@x:9093'})
    assert 'disagree' in kafka_config.check_quorum(nodes)[0]

    nodes = _cluster(bundle)
    nodes[1] = dict(nodes[1], **{'node.id': nodes[0]['node.id']})
    assert any('not unique' in problem
               for problem in kafka_config.check_quorum(nodes))


def test_inter_node_port_open_to_clients_is_reported():
    spec, bundle = _bundle()
    node = _cluster(bundle)[0]
    rules = [dict(rule, remote_mode='remote_ip_prefix',
                  remote_ip_prefix={'get_param': 'client_cidr'})
             for rule in _rules(bundle)]

    problems = kafka_config.check_listeners(node, rules, spec['client_cidr'])

    assert any('INTERNAL' in problem for problem in problems)


def test_controller_count_is_fixed_by_size_at_creation():
    small = yaml.safe_load(_bundle(size=1)[1].template)
    large = yaml.safe_load(_bundle(size=5)[1].template)

    assert small['resources']['controllers']['properties']['count'] == 1
    assert large['resources']['controllers']['properties']['count'] == 3
    # The brokers and the controllers get one and the same voters value.
    formation = large['resources']['controller_formation']['properties']
    group = large['resources']['group']['properties']['resource']
    assert (formation['input_values']['controller_voters']
            == group['properties']['controller_voters'])
    assert (formation['input_values']['cluster_id']
            == group['properties']['cluster_id'])


@pytest.mark.parametrize('size,factor,insync', [(1, 1, 1), (2, 2, 1),
                                                (3, 3, 2), (6, 3, 2)])
def test_defaults_follow_the_size(size, factor, insync):
    text = _bundle(size=size)[1].parameters['broker_properties']
    settings, _ = kafka_config.parse_properties(text)

    assert settings['default.replication.factor'] == str(factor)
    assert settings['min.insync.replicas'] == str(insync)
    assert settings['auto.create.topics.enable'] == 'false'
    assert settings['log.dirs'] == '/var/lib/kafka/data'


def test_tuning_replaces_the_size_default_once():
    text = _bundle(tuning={'replication_factor': 2})[1].parameters[
        'broker_properties']

    settings, problems = kafka_config.parse_properties(text)

    assert problems == []
    assert settings['default.replication.factor'] == '2'
