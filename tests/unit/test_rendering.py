"""Rendering: every broker folder, every optional part, valid HOT.

The tests run over every folder under cue_heat/templates that has a
``broker.yaml``, so a new broker is tested by adding its folder; the
tuning variant takes valid values from that broker's own allow-list.
"""

import importlib.resources
import os
import re
import stat

import pytest
import yaml

from cue_heat import allow_lists
from cue_heat import broker_config
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import rendering
from cue_heat import spec as spec_module

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'
PASSWORD = 'Render-pass-1'
CERT = ('-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n'
        '-----END CERTIFICATE-----\n')
KEY_TEXT = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg'
KEY = ('-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n'
       % KEY_TEXT)
HOT_SECTIONS = ('heat_template_version', 'resources', 'outputs')
#: Parameter names that hold a secret in any broker's templates.
SECRET_NAME = re.compile(r'password|secret|cookie|token|_key$|^tls_')

BROKERS = sorted(
    entry.name for entry in
    (importlib.resources.files('cue_heat') / 'templates').iterdir()
    if (entry / 'broker.yaml').is_file())


def _tuning(broker, version):
    """Return a valid value for every tuning key the version takes."""
    allow = allow_lists.load_allow_list(broker)
    tuning = {}
    for name, key in allow['tuning'].items():
        if allow_lists.version_tuple(version) < allow_lists.version_tuple(
                key.get('min_version', '0')):
            continue
        if 'choices' in key:
            tuning[name] = key['choices'][-1]
        elif 'min' in key:
            tuning[name] = key['max'] if key['type'] == 'integer' else (
                key['min'] + key['max']) / 2
        else:
            tuning[name] = key['default']
    return tuning


VARIANTS = {
    'plain': {},
    'volume': {'volume_size': 20, 'volume_type': 'ssd'},
    'tls': {'tls': {'cert': CERT, 'key': KEY, 'ca': CERT}},
    'key_name': {'key_name': 'ops'},
    'availability_zone': {'availability_zone': 'az-2'},
    'tuning': {'config': 'TUNING'},
    'everything': {'volume_size': 5, 'key_name': 'ops',
                   'availability_zone': 'az-2', 'client_cidr': '10.0.0.0/8',
                   'tls': {'cert': CERT, 'key': KEY, 'ca': CERT},
                   'config': 'TUNING'},
}


@pytest.fixture
def config():
    """Default limits, offering every broker that has a folder."""
    return config_module.Config(brokers=tuple(BROKERS))


def _spec(broker, service, version=None, size=3, **changes):
    body = {
        'name': 'Orders (prod) #1', 'size': size, 'broker': broker,
        'network_id': [NETWORK],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': PASSWORD}},
    }
    if version:
        body['version'] = version
    body.update(changes)
    if body.get('config') == 'TUNING':
        version = version or allow_lists.allowed_versions(
            broker, service)[1]
        body['config'] = _tuning(broker, version)
    return spec_module.load_spec(body, service)


def _hots(bundle):
    """Return name -> parsed HOT for the template and every .yaml file."""
    hots = {'cluster.yaml': yaml.safe_load(bundle.template)}
    for path, text in bundle.files.items():
        if path.endswith('.yaml'):
            hots[path] = yaml.safe_load(text)
    return hots


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('broker', BROKERS)
def test_render_gives_valid_hot(config, broker, variant):
    bundle = rendering.render(
        _spec(broker, config, **VARIANTS[variant]), config)

    for name, hot in _hots(bundle).items():
        assert isinstance(hot, dict), name
        for section in HOT_SECTIONS:
            assert section in hot, '%s lacks %s' % (name, section)
    assert set(bundle.environment) == {'resource_registry',
                                       'parameter_defaults'}


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('broker', BROKERS)
def test_render_hides_every_secret_parameter(config, broker, variant):
    spec = _spec(broker, config, **VARIANTS[variant])

    bundle = rendering.render(spec, config)

    hots = _hots(bundle)
    cluster = hots['cluster.yaml']['parameters']
    assert cluster['admin_password'].get('hidden') is True
    for part in ('tls_cert', 'tls_key', 'tls_ca'):
        assert (part in cluster) == (spec['tls'] is not None)
    for name, hot in hots.items():
        for parameter, definition in hot.get('parameters', {}).items():
            if (parameter in rendering.HIDDEN_PARAMETERS
                    or SECRET_NAME.search(parameter)):
                assert definition.get('hidden') is True, (name, parameter)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('broker', BROKERS)
def test_render_keeps_secrets_out_of_environment_and_text(
        config, broker, variant):
    spec = _spec(broker, config, **VARIANTS[variant])

    bundle = rendering.render(spec, config)

    environment = yaml.safe_dump(bundle.environment)
    defaults = bundle.environment['parameter_defaults']
    assert not set(defaults) & rendering.HIDDEN_PARAMETERS
    texts = [environment, bundle.template, *bundle.files.values()]
    for text in texts:
        assert PASSWORD not in text
        assert KEY_TEXT not in text
    assert bundle.parameters['admin_password'] == PASSWORD
    if spec['tls']:
        assert bundle.parameters['tls_key'] == KEY


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('broker', BROKERS)
def test_render_never_unrolls_the_size(config, broker, variant):
    # NOTE: a size below 3 at creation may pick a smaller fixed part
    # (Kafka's controller quorum of 1), so the texts are compared from 3.
    bundles = [rendering.render(
        _spec(broker, config, size=size, **VARIANTS[variant]), config)
        for size in (3, 5, config.max_size)]

    assert len({bundle.template for bundle in bundles}) == 1
    assert all(bundle.files == bundles[0].files for bundle in bundles)
    assert [bundle.parameters['size'] for bundle in bundles] == [
        3, 5, config.max_size]
    capacities = [
        resource['properties']['desired_capacity'] for resource in
        yaml.safe_load(bundles[0].template)['resources'].values()
        if resource['type'] == 'OS::Heat::AutoScalingGroup']
    assert {'get_param': 'size'} in capacities


@pytest.mark.parametrize('broker', BROKERS)
def test_render_is_deterministic(config, broker):
    spec = _spec(broker, config, **VARIANTS['everything'])

    assert rendering.render(spec, config) == rendering.render(spec, config)


@pytest.mark.parametrize('variant', ['plain', 'volume'])
@pytest.mark.parametrize('broker', BROKERS)
def test_render_maps_optional_parts_in_the_registry(config, broker,
                                                    variant):
    bundle = rendering.render(
        _spec(broker, config, **VARIANTS[variant]), config)

    parts = allow_lists.load_allow_list(broker)['bundle'].get(
        'optional_parts', {})
    registry = bundle.environment['resource_registry']
    for name, part in parts.items():
        wanted = part['file'] if (
            part['when'] == variant) else rendering.ABSENT
        assert registry[name] == wanted
        assert part['file'] in bundle.files


RABBITMQ_VERSIONS = allow_lists.load_allow_list('rabbitmq')['versions']


@pytest.mark.parametrize('variant', ['plain', 'tls', 'tuning', 'everything'])
@pytest.mark.parametrize('version', RABBITMQ_VERSIONS)
def test_rabbitmq_conf_passes_the_version_allow_list(config, version,
                                                     variant):
    bundle = rendering.render(
        _spec('rabbitmq', config, version=version, **VARIANTS[variant]),
        config)

    conf = bundle.parameters['rabbitmq_conf']
    assert broker_config.check_rabbitmq_conf(conf, version) == []
    if allow_lists.version_tuple(version) >= (4, 0):
        assert 'default_queue_type = ' in conf


def test_rabbitmq_conf_check_catches_a_key_of_a_newer_version():
    problems = broker_config.check_rabbitmq_conf(
        'anonymous_login_user = none\n', '3.13')

    assert problems == [
        "Line 1: RabbitMQ 3.13 has no setting 'anonymous_login_user'."]


def test_host_prefix_is_a_hostname_start():
    assert rendering.host_prefix('Orders (prod) #1') == 'orders-prod-1'
    assert rendering.host_prefix('42 things', 'rmq') == 'rmq-42-things'
    assert rendering.host_prefix('ÄÖÜ', 'rmq') == 'rmq'
    assert rendering.host_prefix('42 things') == 'node-42-things'
    assert len(rendering.host_prefix('x' * 100)) == 20


def test_write_bundle_keeps_environment_private(config, tmp_path):
    bundle = rendering.render(_spec('rabbitmq', config), config)

    rendering.write_bundle(bundle, tmp_path / 'out')

    environment = tmp_path / 'out' / 'environment.yaml'
    assert stat.S_IMODE(os.stat(environment).st_mode) == 0o600
    written = yaml.safe_load(environment.read_text())
    assert written['parameter_defaults'] == bundle.parameters
    assert (tmp_path / 'out' / 'cluster.yaml').read_text() == bundle.template
    for path, text in bundle.files.items():
        assert (tmp_path / 'out' / path).read_text() == text


def test_write_bundle_refuses_a_non_empty_directory(config, tmp_path):
    bundle = rendering.render(_spec('rabbitmq', config), config)
    (tmp_path / 'keep.txt').write_text('mine')

    with pytest.raises(errors.TemplateError):
        rendering.write_bundle(bundle, tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == ['keep.txt']
