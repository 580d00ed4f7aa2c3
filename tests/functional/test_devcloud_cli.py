"""``cue-heat devcloud up|down|status|env`` as users run them.

Real processes in a state directory of their own, next to the session's
cloud: one more full cloud (about 30 s) for up, up again, status, env and
down, and one start that fails cheaply, at Keystone, for the log tail.
"""

import json
import os
import pathlib
import subprocess
import sys
import urllib.request

import psutil
import pytest

from cue_heat.devcloud import clients

SERVICES = ['mariadb', 'keystone', 'heat', 'agent']


def _devcloud(*args, env=None):
    return subprocess.run(
        [sys.executable, '-m', 'cue_heat.cli.app', 'devcloud', *args],
        env=env, capture_output=True, text=True, timeout=600, check=False)


def _status(state_dir):
    listed = _devcloud('status', '--state-dir', str(state_dir), '-f', 'json')
    assert listed.returncode == 0, listed.stderr
    return {row['Service']: row for row in json.loads(listed.stdout)}


def _processes_under(state_dir):
    """Return the live processes whose argv or environment names it.

    Keystone's gunicorn finds its configuration through the environment.
    """
    found = []
    for process in psutil.process_iter(['cmdline', 'environ']):
        words = list(process.info['cmdline'] or ())
        words += (process.info['environ'] or {}).values()
        if any(str(state_dir) in word for word in words):
            found.append(process)
    return found


@pytest.fixture(scope='module')
def second_cloud(tmp_path_factory):
    """A state directory for one more cloud; taken down in any case."""
    state_dir = tmp_path_factory.mktemp('devcloud-cli') / 'state'
    yield state_dir
    _devcloud('down', '--state-dir', str(state_dir))


def test_up_starts_a_cloud_and_reports_time_and_memory(second_cloud):
    started = _devcloud('up', '--state-dir', str(second_cloud))

    assert started.returncode == 0, started.stdout + started.stderr
    assert 'Local cloud up in' in started.stdout
    assert 'resident memory' in started.stdout
    assert 'Heat engine ready' in started.stdout


def test_status_says_what_runs_where(second_cloud):
    rows = _status(second_cloud)
    record = json.loads((second_cloud / 'cloud.json').read_text())

    assert sorted(rows) == sorted(SERVICES)
    for name in SERVICES:
        assert rows[name]['State'] == 'running'
        assert psutil.pid_exists(rows[name]['PID'])
    keystone = rows['keystone']['Address']
    assert keystone == 'http://127.0.0.1:%d/v3' % record['ports']['keystone']
    with urllib.request.urlopen(keystone, timeout=10) as response:
        assert response.status == 200
    assert str(record['ports']['heat-api']) in rows['heat']['Address']


def test_up_again_reports_the_running_cloud(second_cloud):
    before = _status(second_cloud)

    again = _devcloud('up', '--state-dir', str(second_cloud))

    assert again.returncode == 0, again.stderr
    assert 'already running in %s' % second_cloud in again.stdout
    assert _status(second_cloud) == before


def test_env_lines_point_a_shell_at_the_cloud(second_cloud):
    printed = _devcloud('env', '--state-dir', str(second_cloud))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == [
        'export OS_CLIENT_CONFIG_FILE=%s' % (second_cloud / 'clouds.yaml'),
        'export OS_CLOUD=%s' % clients.DEFAULT_CLOUD,
        'export CUE_HEAT_CONFIG=%s' % (second_cloud / 'cue-heat.conf')]
    openstack = pathlib.Path(sys.executable).parent / 'openstack'
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('OS_')}

    shell = subprocess.run(
        ['bash', '-c', 'eval "$1" && "$2" stack list -f json', 'shell',
         printed.stdout, str(openstack)],
        env=env, capture_output=True, text=True, timeout=120, check=False)

    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout) == []


def test_down_stops_exactly_its_processes(second_cloud, devcloud):
    pids = [row['PID'] for row in _status(second_cloud).values()]
    processes = [psutil.Process(pid) for pid in pids]

    stopped = _devcloud('down', '--state-dir', str(second_cloud))

    assert stopped.returncode == 0, stopped.stderr
    assert 'Stopped and removed %s' % second_cloud in stopped.stdout
    assert [process.pid for process in processes
            if process.is_running()
            and process.status() != psutil.STATUS_ZOMBIE] == []
    assert _processes_under(second_cloud) == []
    assert not second_cloud.exists()
    assert devcloud.devcloud.is_running()
    again = _devcloud('down', '--state-dir', str(second_cloud))
    assert 'No local cloud in %s' % second_cloud in again.stdout


def test_failed_start_prints_the_log_tail_and_stops(tmp_path):
    state_dir = tmp_path / 'state'
    # gunicorn reads extra options from this variable: Keystone's server
    # then refuses to start, after MariaDB has started.
    env = dict(os.environ, GUNICORN_CMD_ARGS='--workers=many')

    failed = _devcloud('up', '--state-dir', str(state_dir), '--no-agent',
                       env=env)

    try:
        assert failed.returncode == 1
        assert 'keystone exited while starting' in failed.stderr
        assert '--- last lines of %s' % (
            state_dir / 'logs' / 'keystone.out') in failed.stderr
        assert "invalid int value: 'many'" in failed.stderr
        assert _processes_under(state_dir) == []
        again = _devcloud('up', '--state-dir', str(state_dir))
        assert again.returncode == 1
        assert 'devcloud down --state-dir %s' % state_dir in again.stderr
    finally:
        _devcloud('down', '--state-dir', str(state_dir))
    assert not state_dir.exists()
