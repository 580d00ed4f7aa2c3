"""The cluster spec: a table of valid and invalid bodies and messages.

Each invalid body differs from a valid one in one place, and the test
checks the exact message under the exact field: it names the field (by
its key) and shows the bad value, except for secrets, which are only
described.
"""

import copy

import pytest

from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import spec as spec_module

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'
PASSWORD = 'Secret-pass-1'
#: A private key's text as a client could send it by mistake: no header.
KEY_BODY = 'MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCmz4c'
CERT = ('-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n'
        '-----END CERTIFICATE-----\n')
KEY = ('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgE=\n'
       '-----END PRIVATE KEY-----\n')
PASSWORD_RULE = (
    'Password must be 8 to 128 printable ASCII characters without blanks '
    'or any of " \' ` \\ $ #')
KNOWN_KEYS = ('channel_max, consumer_timeout, default_queue_type, '
              'disk_free_limit_mb, heartbeat, max_connections, '
              'memory_high_watermark')


def _body(**changes):
    """Return a valid body with *changes*; a value of ... drops a field."""
    body = {
        'name': 'orders', 'size': 3, 'network_id': [NETWORK],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': PASSWORD}},
    }
    for field, value in changes.items():
        if value is ...:
            body.pop(field)
        else:
            body[field] = value
    return body


def _token(username='app', password=PASSWORD):
    return {'type': 'PLAIN', 'token': {'username': username,
                                       'password': password}}


def _tls(**changes):
    return dict({'cert': CERT, 'key': KEY, 'ca': CERT}, **changes)


@pytest.fixture
def config():
    return config_module.Config()


VALID = [
    pytest.param(_body(), {
        'broker': 'rabbitmq', 'version': '4.2', 'flavor': 'm1.small',
        'image': 'debian-12', 'volume_size': 0, 'client_cidr': '0.0.0.0/0',
        'config': {}, 'tls': None, 'key_name': None,
        'availability_zone': None, 'volume_type': None}, id='defaults'),
    pytest.param(_body(size=1), {'size': 1}, id='size-1'),
    pytest.param(_body(size=4), {'size': 4}, id='even-size-4'),
    pytest.param(_body(size=7), {'size': 7}, id='size-at-limit'),
    pytest.param(_body(name='Zähler & Co: orders (prod) ' + 'x' * 200),
                 {'name': 'Zähler & Co: orders (prod) ' + 'x' * 200},
                 id='name-free-text-227'),
    pytest.param(_body(version='3.13'), {'version': '3.13'}, id='3.13'),
    pytest.param(_body(network_id=[NETWORK.replace('-', '')]),
                 {'network_id': [NETWORK.replace('-', '')]},
                 id='uuid-without-dashes'),
    pytest.param(_body(client_cidr='2001:db8::/32'),
                 {'client_cidr': '2001:db8::/32'}, id='ipv6-cidr'),
    pytest.param(_body(volume_size=16384, volume_type='ssd'),
                 {'volume_size': 16384, 'volume_type': 'ssd'},
                 id='largest-volume'),
    pytest.param(_body(key_name='ops', availability_zone='az1',
                       flavor='m1.large', image='ubuntu-24.04'),
                 {'key_name': 'ops', 'availability_zone': 'az1',
                  'flavor': 'm1.large', 'image': 'ubuntu-24.04'},
                 id='nova-fields'),
    pytest.param(_body(tls=_tls()), {'tls': _tls()}, id='tls'),
    pytest.param(_body(config={
        'memory_high_watermark': 0.2, 'disk_free_limit_mb': 1048576,
        'default_queue_type': 'stream', 'heartbeat': 0, 'channel_max': 1,
        'max_connections': 10000000, 'consumer_timeout': 60000}),
        {'config': {
            'memory_high_watermark': 0.2, 'disk_free_limit_mb': 1048576,
            'default_queue_type': 'stream', 'heartbeat': 0,
            'channel_max': 1, 'max_connections': 10000000,
            'consumer_timeout': 60000}}, id='tuning-at-bounds'),
    pytest.param(_body(config={'memory_high_watermark': 1 - 0.1}),
                 {'config': {'memory_high_watermark': 0.9}},
                 id='number-accepts-float'),
    pytest.param(_body(version='3.13', config={'heartbeat': 30}),
                 {'config': {'heartbeat': 30}}, id='ungated-key-on-3.13'),
    pytest.param(_body(authentication=_token(
        username='svc.orders@eu-1', password='a!%&()*+,-./:;<=>?@[]^_{|}~')),
        {}, id='username-and-password-punctuation'),
]


@pytest.mark.parametrize('body, expected', VALID)
def test_load_spec_accepts_and_completes(config, body, expected):
    spec = spec_module.load_spec(copy.deepcopy(body), config)

    for field, value in expected.items():
        if field == 'config' and value:
            assert spec[field] == pytest.approx(value)
        else:
            assert spec[field] == value
    assert spec['authentication'] == body['authentication']


INVALID = [
    # Unknown broker or version.
    pytest.param(_body(broker='redis'), ('broker',),
                 "Broker 'redis' is not one of: kafka, qpid, rabbitmq.",
                 id='unknown-broker'),
    pytest.param(_body(version='5.0'), ('version',),
                 "Version '5.0' is not offered for rabbitmq; choose one "
                 "of: 4.3, 4.2, 4.1, 4.0, 3.13.", id='unknown-version'),
    pytest.param(_body(version='3.12'), ('version',),
                 "Version '3.12' is not offered for rabbitmq; choose one "
                 "of: 4.3, 4.2, 4.1, 4.0, 3.13.", id='retired-version'),
    # Size: 0, over the limit, forbidden, wrong type.
    pytest.param(_body(size=0), ('size',), 'Must be at least 1 (got 0).',
                 id='size-0'),
    pytest.param(_body(size=-3), ('size',), 'Must be at least 1 (got -3).',
                 id='size-negative'),
    pytest.param(_body(size=8), ('size',),
                 'Size must be at most 7 (got 8).', id='size-over-limit'),
    pytest.param(_body(size=2), ('size',),
                 'Size 2 is not allowed: a two-node RabbitMQ cluster stops '
                 'when either node fails; use 1, 3 or more.',
                 id='size-forbidden'),
    pytest.param(_body(size='3'), ('size',),
                 "Must be a whole number (got '3').", id='size-text'),
    pytest.param(_body(size=3.0), ('size',),
                 'Must be a whole number (got 3.0).', id='size-float'),
    pytest.param(_body(size=True), ('size',),
                 'Must be a whole number (got True).', id='size-bool'),
    pytest.param(_body(size=None), ('size',),
                 'Must be a whole number (got null).', id='size-null'),
    # Networks.
    pytest.param(_body(client_cidr='10.0.0.0/33'), ('client_cidr',),
                 "Must be a network in CIDR notation such as 10.0.0.0/24 "
                 "(got '10.0.0.0/33': '10.0.0.0/33' does not appear to be "
                 "an IPv4 or IPv6 network).", id='cidr-bad-prefix'),
    pytest.param(_body(client_cidr='10.0.0.1/24'), ('client_cidr',),
                 "Must be a network in CIDR notation such as 10.0.0.0/24 "
                 "(got '10.0.0.1/24': 10.0.0.1/24 has host bits set).",
                 id='cidr-host-bits'),
    pytest.param(_body(client_cidr='anywhere'), ('client_cidr',),
                 "Must be a network in CIDR notation such as 10.0.0.0/24 "
                 "(got 'anywhere': 'anywhere' does not appear to be an "
                 "IPv4 or IPv6 network).", id='cidr-word'),
    pytest.param(_body(network_id=['private']), ('network_id', 0),
                 "Must be a network UUID (got 'private').",
                 id='network-name-not-uuid'),
    pytest.param(_body(network_id=[NETWORK[:-1]]), ('network_id', 0),
                 "Must be a network UUID (got '%s')." % NETWORK[:-1],
                 id='network-uuid-short'),
    pytest.param(_body(network_id=NETWORK), ('network_id',),
                 'Must be a list of network UUIDs.', id='network-not-list'),
    pytest.param(_body(network_id=[]), ('network_id',),
                 'Must list exactly one network (got []).',
                 id='network-none'),
    pytest.param(_body(network_id=[NETWORK, NETWORK]), ('network_id',),
                 "Must list exactly one network (got ['%s', '%s'])."
                 % (NETWORK, NETWORK), id='network-two'),
    # Tuning: unknown key, out of range, wrong type, version-gated.
    pytest.param(_body(config={'vm_memory': 0.5}), ('config', 'vm_memory'),
                 "Unknown tuning key 'vm_memory'; known keys: %s."
                 % KNOWN_KEYS, id='tuning-unknown'),
    pytest.param(_body(config={'heartbeat': 3601}), ('config', 'heartbeat'),
                 'Must be from 0 to 3600 (got 3601).',
                 id='tuning-over-max'),
    pytest.param(_body(config={'memory_high_watermark': 0.1}),
                 ('config', 'memory_high_watermark'),
                 'Must be from 0.2 to 0.9 (got 0.1).',
                 id='tuning-under-min'),
    pytest.param(_body(config={'heartbeat': '60'}), ('config', 'heartbeat'),
                 "Must be an integer (got '60').", id='tuning-text'),
    pytest.param(_body(config={'channel_max': 2.5}),
                 ('config', 'channel_max'),
                 'Must be an integer (got 2.5).', id='tuning-float'),
    pytest.param(_body(config={'memory_high_watermark': True}),
                 ('config', 'memory_high_watermark'),
                 'Must be a number (got True).', id='tuning-bool'),
    pytest.param(_body(config={'default_queue_type': 'lazy'}),
                 ('config', 'default_queue_type'),
                 "Must be one of: quorum, classic, stream (got 'lazy').",
                 id='tuning-not-a-choice'),
    pytest.param(_body(config={'default_queue_type': 7}),
                 ('config', 'default_queue_type'),
                 'Must be a string (got 7).', id='tuning-choice-type'),
    pytest.param(_body(version='3.13',
                       config={'default_queue_type': 'quorum'}),
                 ('config', 'default_queue_type'),
                 "Needs version 4.0 or later (got 'quorum' with version "
                 "3.13).", id='tuning-version-gated'),
    pytest.param(_body(config=['heartbeat=60']), ('config',),
                 "Must be a mapping (got ['heartbeat=60']).",
                 id='tuning-not-mapping'),
    # Credentials the broker cannot take.
    pytest.param(_body(authentication=_token(password='Short1')),
                 ('authentication', 'token', 'password'),
                 PASSWORD_RULE + ' (got a 6-character password).',
                 id='password-short'),
    pytest.param(_body(authentication=_token(password='Secret pass 1')),
                 ('authentication', 'token', 'password'),
                 PASSWORD_RULE + " (got a password containing ' ').",
                 id='password-blank'),
    pytest.param(_body(authentication=_token(password='Secret$pass1')),
                 ('authentication', 'token', 'password'),
                 PASSWORD_RULE + " (got a password containing '$').",
                 id='password-dollar'),
    pytest.param(_body(authentication=_token(password='x' * 129)),
                 ('authentication', 'token', 'password'),
                 PASSWORD_RULE + ' (got a 129-character password).',
                 id='password-over-broker-max'),
    pytest.param(_body(authentication=_token(password='y' * 2000)),
                 ('authentication', 'token', 'password'),
                 'Must be 1 to 1024 characters long (got a 2000-character '
                 'value).', id='password-huge'),
    pytest.param(_body(authentication=_token(password=31415926535)),
                 ('authentication', 'token', 'password'),
                 'Must be text (got a value of type int).',
                 id='password-number'),
    pytest.param(_body(authentication=_token(username='guest')),
                 ('authentication', 'token', 'username'),
                 'Username must be 1 to 64 letters, digits or _ . @ - '
                 "starting with a letter or digit, and not guest (got "
                 "'guest').", id='username-guest'),
    pytest.param(_body(authentication=_token(username='-app')),
                 ('authentication', 'token', 'username'),
                 'Username must be 1 to 64 letters, digits or _ . @ - '
                 "starting with a letter or digit, and not guest (got "
                 "'-app').", id='username-dash-first'),
    pytest.param(_body(authentication={'type': 'SASL', 'token': {
        'username': 'app', 'password': PASSWORD}}),
        ('authentication', 'type'), "Must be one of: PLAIN (got 'SASL').",
        id='authentication-type'),
    pytest.param(_body(authentication=...), ('authentication',),
                 'Missing data for required field.',
                 id='authentication-missing'),
    # TLS material; the key is never shown.
    pytest.param(_body(tls=_tls(key=KEY_BODY)), ('tls', 'key'),
                 'Must be PEM text with a PRIVATE KEY block (got 55 '
                 'characters).', id='tls-key-no-pem'),
    pytest.param(_body(tls=_tls(key=CERT)), ('tls', 'key'),
                 'Must be PEM text with a PRIVATE KEY block (got %d '
                 'characters).' % len(CERT), id='tls-key-is-a-cert'),
    pytest.param(_body(tls=_tls(cert='not a cert')), ('tls', 'cert'),
                 "Must be PEM text with a CERTIFICATE block (got 10 "
                 "characters starting 'not a cert').", id='tls-cert'),
    pytest.param(_body(tls={'cert': CERT, 'key': KEY}), ('tls', 'ca'),
                 'Missing data for required field.', id='tls-ca-missing'),
    # Unknown fields and wrong types elsewhere.
    pytest.param(_body(colour='blue'), ('colour',),
                 'Unknown field; it is not part of the cluster spec.',
                 id='unknown-field'),
    pytest.param(_body(authentication={'type': 'PLAIN', 'token': {
        'username': 'app', 'password': PASSWORD, 'role': 'admin'}}),
        ('authentication', 'token', 'role'),
        'Unknown field; it is not part of the cluster spec.',
        id='unknown-nested-field'),
    pytest.param(_body(name=''), ('name',),
                 "Must be 1 to 255 characters long (got '').",
                 id='name-empty'),
    pytest.param(_body(name='n' * 256), ('name',),
                 "Must be 1 to 255 characters long (got '%s')." % ('n' * 256),
                 id='name-too-long'),
    pytest.param(_body(name=42), ('name',), 'Must be text (got 42).',
                 id='name-number'),
    pytest.param(_body(name=...), ('name',),
                 'Missing data for required field.', id='name-missing'),
    pytest.param(_body(volume_size=-1), ('volume_size',),
                 'Must be from 0 to 16384 GB (got -1).',
                 id='volume-negative'),
    pytest.param(_body(volume_size=16385), ('volume_size',),
                 'Must be from 0 to 16384 GB (got 16385).',
                 id='volume-too-big'),
    pytest.param(_body(volume_size='20G'), ('volume_size',),
                 "Must be a whole number (got '20G').", id='volume-text'),
    pytest.param(_body(key_name=''), ('key_name',),
                 "Must be 1 to 255 characters long (got '').",
                 id='key-name-empty'),
    pytest.param(_body(flavor=['m1.small']), ('flavor',),
                 "Must be text (got ['m1.small']).", id='flavor-list'),
    pytest.param(_body(tls='yes'), ('tls',),
                 'Must be a mapping (got a value of type str).',
                 id='tls-not-mapping'),
    pytest.param(_body(authentication='app:' + PASSWORD),
                 ('authentication',),
                 'Must be a mapping (got a value of type str).',
                 id='authentication-not-mapping'),
]


@pytest.mark.parametrize('body, path, message', INVALID)
def test_load_spec_rejects_with_field_and_value(config, body, path,
                                                message):
    with pytest.raises(errors.InvalidSpec) as caught:
        spec_module.load_spec(body, config)

    messages = caught.value.messages
    for part in path:
        messages = messages[part]
    assert messages == [message]
    assert message in str(caught.value)


@pytest.mark.parametrize('body', [
    _body(authentication=_token(password=PASSWORD + ' ')),
    _body(authentication=_token(password=PASSWORD * 100)),
    _body(authentication=_token(password='Pw$' + PASSWORD)),
    _body(tls=_tls(key=KEY_BODY)),
    _body(tls=_tls(key=KEY.replace('PRIVATE KEY', 'PUBLIC KEY'))),
    _body(tls=_tls(key=KEY, cert='x'), size=0, colour='blue'),
    _body(tls=KEY),
], ids=['password-blank', 'password-huge', 'password-dollar',
        'key-body', 'key-wrong-label', 'key-fine-others-bad',
        'tls-is-the-key'])
def test_load_spec_never_echoes_a_secret(config, body):
    with pytest.raises(errors.InvalidSpec) as caught:
        spec_module.load_spec(body, config)

    shown = str(caught.value) + repr(caught.value.messages)
    password = body['authentication']['token']['password']
    assert password not in shown
    assert password[:8] not in shown
    if 'tls' in body:
        assert 'MIIE' not in shown and 'MIGH' not in shown


def test_load_spec_reports_every_problem_at_once(config):
    body = _body(size=8, client_cidr='10.0.0.1/24', colour='blue',
                 config={'heartbeat': -1, 'nope': 1})

    with pytest.raises(errors.InvalidSpec) as caught:
        spec_module.load_spec(body, config)

    assert set(caught.value.messages) == {
        'size', 'client_cidr', 'colour', 'config'}
    assert set(caught.value.messages['config']) == {'heartbeat', 'nope'}


@pytest.mark.parametrize('body, kind', [
    ([], 'list'), ('name: orders', 'str'), (None, 'NoneType')])
def test_load_spec_rejects_a_body_that_is_not_a_mapping(config, body,
                                                        kind):
    with pytest.raises(errors.InvalidSpec) as caught:
        spec_module.load_spec(body, config)

    assert caught.value.messages == {'_schema': [
        'The cluster spec must be a mapping (got %s).' % kind]}


def test_load_spec_follows_the_configured_limits():
    config = config_module.Config(max_size=3, broker_limits={
        'rabbitmq': config_module.BrokerLimits(
            versions=('3.13',), default_version='3.13', image='rmq-img')})

    spec = spec_module.load_spec(_body(), config)
    with pytest.raises(errors.InvalidSpec) as caught:
        spec_module.load_spec(_body(size=5, version='4.2'), config)

    assert (spec['version'], spec['image']) == ('3.13', 'rmq-img')
    assert caught.value.messages == {
        'size': ['Size must be at most 3 (got 5).'],
        'version': ["Version '4.2' is not offered for rabbitmq; choose "
                    "one of: 3.13."]}


def test_load_spec_refuses_a_broker_the_operator_left_out():
    config = config_module.Config(brokers=('qpid', 'kafka'))

    with pytest.raises(errors.UnknownBroker) as caught:
        spec_module.load_spec(_body(), config)

    assert caught.value.messages == {
        'broker': ["Broker 'rabbitmq' is not one of: kafka, qpid."]}


def test_public_spec_drops_the_secrets_only(config):
    spec = spec_module.load_spec(_body(tls=_tls()), config)

    public = spec_module.public_spec(spec)

    assert 'password' not in public['authentication']['token']
    assert 'key' not in public['tls']
    assert public['tls']['cert'] == CERT
    assert spec['authentication']['token']['password'] == PASSWORD
