"""The ``cue-heat cluster`` commands and ``cue-heat demo``, as users run
them: real processes against the session's local cloud."""

import json
import os
import subprocess
import sys
import uuid

import yaml

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'


def _cue_heat(devcloud, *args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=devcloud.clouds_yaml,
               OS_CLOUD='devcloud-a', CUE_HEAT_CONFIG=devcloud.config_file)
    return subprocess.run(
        [sys.executable, '-m', 'cue_heat.cli.app', *args],
        env=env, capture_output=True, text=True, check=False)


def _create(devcloud, name, *extra):
    return _cue_heat(
        devcloud, 'cluster', 'create', '--name', name, '--size', '3',
        '--network-id', NETWORK, '--username', 'app',
        '--password', 'Cli-test-pass1', '-f', 'json', *extra)


def test_cli_create_wait_show_events_delete(devcloud):
    name = 'cli %s' % uuid.uuid4().hex[:6]

    created = _create(devcloud, name, '--wait')

    assert created.returncode == 0, created.stderr
    view = json.loads(created.stdout)
    assert view['status'] == 'ACTIVE'
    assert len(view['nodes']) == 3
    assert 'nodes 3/3 ready' in created.stderr
    assert 'Cli-test-pass1' not in created.stdout + created.stderr

    shown = _cue_heat(devcloud, 'cluster', 'show', view['id'], '-f', 'yaml')
    assert yaml.safe_load(shown.stdout)['name'] == name
    listed = _cue_heat(devcloud, 'cluster', 'list', '-f', 'json')
    assert view['id'] in {entry['id'] for entry in json.loads(listed.stdout)}
    events = _cue_heat(devcloud, 'cluster', 'events', view['id'],
                       '--limit', '5', '-f', 'json')
    assert len(json.loads(events.stdout)) == 5
    table = _cue_heat(devcloud, 'cluster', 'show', view['id'])
    assert 'ACTIVE' in table.stdout

    deleted = _cue_heat(devcloud, 'cluster', 'delete', view['id'], '--wait')
    assert deleted.returncode == 0, deleted.stderr


def test_cli_wait_exits_non_zero_on_error(devcloud, agent_rules):
    agent_rules.fail(node='*', config='configure', status_code=1,
                     stderr='cli test failure')

    created = _create(devcloud, 'broken %s' % uuid.uuid4().hex[:6],
                      '--wait')

    assert created.returncode == 1
    assert 'step configure' in created.stderr
    assert 'cli test failure' in created.stderr


def test_cli_bad_input_exits_2(devcloud):
    created = _cue_heat(devcloud, 'cluster', 'create', '--name', 'x',
                        '--size', '2', '--network-id', NETWORK,
                        '--username', 'app', '--password', 'Cli-test-pass1')

    assert created.returncode == 2
    assert 'size' in created.stderr.lower()


def test_demo_runs_end_to_end(devcloud):
    demo = _cue_heat(devcloud, 'demo', '--state-dir', devcloud.state_dir)

    assert demo.returncode == 0, demo.stdout + demo.stderr
    for step in ('Cluster is ACTIVE', 'Resizing to 5 nodes',
                 'Removing node', 'Healing node', 'History, newest first',
                 'Cluster deleted; demo done'):
        assert step in demo.stdout
