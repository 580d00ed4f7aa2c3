"""``cue-heat render`` as users run it: exit statuses, files, messages.

Bad input exits 2 with a message naming the field and the value, and
leaves nothing on disk; good input writes the bundle, with the secrets'
file readable by its owner only. No cloud is involved. Most cases run
the real cliff application in this process (a new process per case costs
a second of imports); two run it as a real ``python -m`` process.
"""

import contextlib
import dataclasses
import io
import json
import logging
import os
import stat
import subprocess
import sys

import pytest
import yaml

from cue_heat.cli import app
from cue_heat.cli import cluster as cluster_cli

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'
PASSWORD = 'Cli-render-pass1'


@dataclasses.dataclass
class Result:
    """What a run of the command left: status and output."""

    returncode: int
    stdout: str
    stderr: str


def _argv(tmp_path, args, spec, spec_name):
    argv = ['render']
    if spec is not None:
        path = tmp_path / spec_name
        path.write_text(spec)
        argv.append(str(path))
    return argv + ['-o', str(tmp_path / 'out'), *args]


def _render(tmp_path, *args, spec=None, spec_name='spec.yaml'):
    """Run ``cue-heat render`` in this process into tmp_path/out."""
    argv = _argv(tmp_path, args, spec, spec_name)
    stdout, stderr = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            status = app.main(argv)
    finally:
        # cliff adds its console handler to the root logger on each run.
        root.handlers[:] = handlers
        root.setLevel(level)
    return Result(status, stdout.getvalue(), stderr.getvalue())


def _render_process(tmp_path, *args, spec=None):
    """Run ``cue-heat render`` as a real process into tmp_path/out."""
    argv = [sys.executable, '-m', 'cue_heat.cli.app',
            *_argv(tmp_path, args, spec, 'spec.yaml')]
    env = {name: value for name, value in os.environ.items()
           if not name.startswith('CUE_HEAT')}
    return subprocess.run(argv, env=env, capture_output=True, text=True,
                          check=False, timeout=60)


@pytest.fixture(autouse=True)
def _no_service_config(monkeypatch):
    """Render with the defaults, whatever this shell configures."""
    for name in list(os.environ):
        if name.startswith('CUE_HEAT'):
            monkeypatch.delenv(name)


def _flags(**changes):
    options = {'--name': 'orders', '--size': '3', '--network-id': NETWORK,
               '--username': 'app', '--password': PASSWORD}
    options.update(changes)
    return [word for option, value in options.items() if value is not None
            for word in (option, value)]


def _spec(**changes):
    body = {'name': 'orders', 'size': 3, 'network_id': [NETWORK],
            'authentication': {'type': 'PLAIN', 'token': {
                'username': 'app', 'password': PASSWORD}}}
    body.update(changes)
    return body


def test_render_from_flags_only_writes_the_bundle(tmp_path):
    result = _render_process(tmp_path, *_flags(), '--config',
                             'heartbeat=30', '--broker-version', '3.13')

    assert result.returncode == 0, result.stderr
    out = tmp_path / 'out'
    assert 'openstack stack create -t %s -e %s NAME' % (
        out / 'cluster.yaml', out / 'environment.yaml') in result.stdout
    assert {'cluster.yaml', 'environment.yaml', 'node.yaml'} <= {
        path.name for path in out.iterdir()}
    defaults = yaml.safe_load(
        (out / 'environment.yaml').read_text())['parameter_defaults']
    assert (defaults['size'], defaults['version']) == (3, '3.13')
    assert defaults['admin_password'] == PASSWORD
    assert 'heartbeat = 30' in defaults['rabbitmq_conf']
    assert PASSWORD not in result.stdout + result.stderr


def test_render_writes_environment_for_owner_only(tmp_path):
    result = _render(tmp_path, *_flags())

    assert result.returncode == 0, result.stderr
    environment = tmp_path / 'out' / 'environment.yaml'
    assert stat.S_IMODE(environment.stat().st_mode) == 0o600
    template = tmp_path / 'out' / 'cluster.yaml'
    assert stat.S_IMODE(template.stat().st_mode) == 0o644
    script = tmp_path / 'out' / 'scripts' / 'configure.sh'
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


@pytest.mark.parametrize('spec_name, text', [
    ('spec.yaml', yaml.safe_dump(_spec(size=5))),
    ('spec.json', json.dumps(_spec(size=5))),
], ids=['yaml', 'json'])
def test_render_reads_yaml_and_json_specs(tmp_path, spec_name, text):
    result = _render(tmp_path, spec=text, spec_name=spec_name)

    assert result.returncode == 0, result.stderr
    defaults = yaml.safe_load((tmp_path / 'out' / 'environment.yaml')
                              .read_text())['parameter_defaults']
    assert defaults['size'] == 5


def test_render_flags_override_the_spec_file(tmp_path):
    result = _render(tmp_path, '--size', '7', '--volume-size', '10',
                     spec=yaml.safe_dump(_spec()))

    assert result.returncode == 0, result.stderr
    environment = yaml.safe_load(
        (tmp_path / 'out' / 'environment.yaml').read_text())
    assert environment['parameter_defaults']['size'] == 7
    assert environment['resource_registry'][
        'CueHeat::RabbitMQ::DataVolume'] == 'volume.yaml'


@pytest.mark.parametrize('args, spec, expected', [
    pytest.param((), 'name: orders\nsize: [3\n',
                 ['spec.yaml is not valid YAML or JSON',
                  'at line 3, column 1'], id='invalid-yaml'),
    pytest.param((), '{"name": "orders", "size": 3,,}',
                 ['is not valid YAML or JSON', 'line 1'],
                 id='invalid-json'),
    pytest.param((), '- just\n- a list\n',
                 ['The cluster spec must be a mapping (got list).'],
                 id='not-a-mapping'),
    pytest.param(_flags(**{'--size': '0'}), None,
                 ['size: Must be at least 1 (got 0).'], id='size-0'),
    pytest.param(_flags(**{'--size': '9'}), None,
                 ['size: Size must be at most 7 (got 9).'],
                 id='size-over-limit'),
    pytest.param(_flags(**{'--broker': 'redis'}), None,
                 ["Broker 'redis' is not one of: kafka, qpid, rabbitmq."],
                 id='unknown-broker'),
    pytest.param(_flags(**{'--broker-version': '2.8'}), None,
                 ["version: Version '2.8' is not offered for rabbitmq"],
                 id='unknown-version'),
    pytest.param(_flags(**{'--client-cidr': '10.0.0.0/40'}), None,
                 ["client_cidr: Must be a network in CIDR notation",
                  "'10.0.0.0/40'"], id='bad-cidr'),
    pytest.param(_flags(**{'--network-id': 'private'}), None,
                 ["network_id.0: Must be a network UUID (got 'private')."],
                 id='bad-network-id'),
    pytest.param(_flags() + ['--config', 'heartbeat=99999'], None,
                 ['config.heartbeat: Must be from 0 to 3600 (got 99999).'],
                 id='tuning-out-of-range'),
    pytest.param(_flags() + ['--config', 'prefetch=10'], None,
                 ["config.prefetch: Unknown tuning key 'prefetch'"],
                 id='tuning-unknown'),
    pytest.param(_flags() + ['--config', 'heartbeat'], None,
                 ["config: Tuning must be KEY=VALUE (got 'heartbeat')."],
                 id='tuning-malformed'),
    pytest.param(_flags(**{'--password': 'Secret$' + PASSWORD}), None,
                 ['authentication.token.password: Password must be',
                  "(got a password containing '$')."],
                 id='password-broker-cannot-take'),
    pytest.param((), yaml.safe_dump(_spec(colour='blue')),
                 ['colour: Unknown field; it is not part of the cluster '
                  'spec.'], id='unknown-field'),
    pytest.param((), yaml.safe_dump(_spec(size='three')),
                 ["size: Must be a whole number (got 'three')."],
                 id='wrong-type'),
])
def test_render_bad_input_exits_2_and_writes_nothing(tmp_path, args, spec,
                                                     expected):
    result = _render(tmp_path, *args, spec=spec)

    assert result.returncode == 2, result.stdout + result.stderr
    for part in expected:
        assert part in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'out').exists()
    assert sorted(path.name for path in tmp_path.iterdir()) in (
        [], ['spec.yaml'])
    assert PASSWORD not in result.stdout + result.stderr


def test_render_refuses_a_non_empty_output(tmp_path):
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'mine.txt').write_text('keep')

    result = _render(tmp_path, *_flags())

    assert result.returncode == 2
    assert 'exists and is not an empty directory' in result.stderr
    assert [path.name for path in (tmp_path / 'out').iterdir()] == [
        'mine.txt']


def test_render_missing_spec_file_exits_2(tmp_path):
    result = _render(tmp_path, str(tmp_path / 'nope.yaml'))

    assert result.returncode == 2
    assert 'nope.yaml cannot be read: No such file or directory' in (
        result.stderr)
    assert not (tmp_path / 'out').exists()


def test_render_bad_input_process_exits_2(tmp_path):
    result = _render_process(tmp_path, *_flags(**{'--size': '2'}))

    assert result.returncode == 2
    assert 'size: Size 2 is not allowed' in result.stderr
    assert not (tmp_path / 'out').exists()


def test_progress_counts_only_the_nodes_that_size_counts():
    view = {'status': 'ACTIVE', 'size': 2, 'step': 'formation', 'nodes': [
        {'name': 'k-c-1', 'status': 'ACTIVE', 'role': 'controller'},
        {'name': 'k-b-1', 'status': 'ACTIVE', 'role': 'broker'},
        {'name': 'k-b-2', 'status': 'UPDATING', 'role': 'broker'},
        {'name': 'r-1', 'status': 'ACTIVE'}]}

    assert cluster_cli.progress_line(view) == (
        'ACTIVE    nodes 2/2 ready  (step formation)')
