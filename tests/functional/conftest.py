"""Session fixtures: one real local Keystone + Heat for all the tests.

The cloud starts once per test session through the same code as
``cue-heat devcloud up`` (node agent included) in a temporary state
directory, and is torn down at the end. If it cannot start, every test
that needs it fails with the tail of the failing service's log; nothing
is skipped.
"""

import dataclasses
import time

import pytest
from heatclient import client as heat_client
from heatclient.common import template_utils
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from cue_heat import errors
from cue_heat.devcloud import clients
from cue_heat.devcloud import cloud
from cue_heat.devcloud import rules

#: Lines for the end-of-run summary: what the tiers and the cloud took.
TIMINGS = pytest.StashKey[list]()
MEGABYTE = 1024 * 1024


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the measured times of the tiers and of the local cloud.

    NOTE: a summary section, not a line from a fixture's teardown, so it
    shows in CI logs whatever the verbosity and whichever tests failed.
    """
    lines = config.stash.get(TIMINGS, [])
    if lines:
        terminalreporter.write_sep('-', 'functional timings')
        for line in lines:
            terminalreporter.write_line(line)


def _record_timing(config, line):
    config.stash.setdefault(TIMINGS, []).append(line)


@pytest.fixture(scope='module')
def tier_timer(request):
    """Measure a whole test module, named by its ``TIER`` constant.

    A module opts in with ``pytestmark = pytest.mark.usefixtures(
    'tier_timer')``; ``TIER_GOAL_SECONDS`` is printed beside the time,
    never asserted (speed is checked by benchmarks, not tests).
    """
    name = getattr(request.module, 'TIER', request.module.__name__)
    goal = getattr(request.module, 'TIER_GOAL_SECONDS', None)
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    line = '%s: %.1f s' % (name, seconds)
    if goal:
        line += ' (goal <= %d s)' % goal
    _record_timing(request.config, line)


@dataclasses.dataclass(frozen=True)
class LocalCloud:
    """Where the session's local cloud keeps what tests need."""

    state_dir: str
    clouds_yaml: str
    config_file: str
    environment_file: str
    auth_url: str
    devcloud: cloud.DevCloud

    def session(self, cloud_name):
        """Return a keystoneauth1 session for a cloud of clouds.yaml."""
        record = self.devcloud.record
        username, project, password = clients.cloud_users(record)[
            cloud_name]
        auth = v3.Password(
            auth_url=self.auth_url, username=username, password=password,
            project_name=project, user_domain_name='Default',
            project_domain_name='Default')
        return ks_session.Session(auth=auth)


@pytest.fixture(scope='session')
def devcloud(tmp_path_factory, pytestconfig):
    """Start one local cloud for the session; fail loudly if it can't."""
    devcloud = cloud.DevCloud(tmp_path_factory.mktemp('devcloud') / 'state')
    try:
        report = devcloud.up(agent=True)
    except errors.DevCloudError as ex:
        devcloud.down()
        pytest.fail('The local cloud did not start: %s' % ex, pytrace=False)
    _record_timing(pytestconfig, (
        'local cloud up: %.1f s, %d MB resident (peak %d MB)' % (
            report.seconds, report.rss_bytes // MEGABYTE,
            report.peak_rss_bytes // MEGABYTE)))
    state = devcloud.state
    yield LocalCloud(
        state_dir=str(state.root), clouds_yaml=str(state.clouds_yaml),
        config_file=str(state.config_file),
        environment_file=str(state.environment_file),
        auth_url=devcloud.auth_url, devcloud=devcloud)
    devcloud.down()


@pytest.fixture(scope='session')
def admin_session(devcloud):
    """keystoneauth1 session of the admin (cloud devcloud-admin)."""
    return devcloud.session(clients.ADMIN_CLOUD)


@pytest.fixture(scope='session')
def session_a(devcloud):
    """keystoneauth1 session of user-a in project-a (devcloud-a)."""
    return devcloud.session('devcloud-a')


@pytest.fixture(scope='session')
def session_b(devcloud):
    """keystoneauth1 session of user-b in project-b (devcloud-b)."""
    return devcloud.session('devcloud-b')


@pytest.fixture(scope='session')
def heat_admin(admin_session):
    """heatclient v1 client of the admin."""
    return heat_client.Client('1', session=admin_session)


@pytest.fixture(scope='session')
def heat_a(session_a):
    """heatclient v1 client of user-a."""
    return heat_client.Client('1', session=session_a)


@pytest.fixture(scope='session')
def heat_b(session_b):
    """heatclient v1 client of user-b."""
    return heat_client.Client('1', session=session_b)


@pytest.fixture(scope='session')
def simulated_environment(devcloud):
    """The simulated-resource environment, as stacks.create takes it.

    A dict with ``environment`` and ``files``:
    ``heat.stacks.create(..., **simulated_environment)``.
    """
    files, environment = (
        template_utils.process_multiple_environments_and_files(
            [devcloud.environment_file]))
    return {'environment': environment, 'files': files}


@pytest.fixture
def agent_rules(devcloud):
    """Rules for the running node agent; reset after the test."""
    rules_file = rules.RulesFile(devcloud.devcloud.state.agent_rules)
    rules_file.reset()
    yield rules_file
    rules_file.reset()


@pytest.fixture
def settle():
    """Wait until none of a project's stacks, nested ones included, is
    IN_PROGRESS.

    After a failed update Heat goes on with the members' nested stacks
    for a moment, and an update started then cancels them ("Stack UPDATE
    cancelled"); a test retrying after a failure waits for this first.
    """
    def wait(heat, timeout=300):
        deadline = time.monotonic() + timeout
        while any(stack.stack_status.endswith('IN_PROGRESS')
                  for stack in heat.stacks.list(show_nested=True)):
            if time.monotonic() > deadline:
                raise AssertionError('stacks still busy after %d s'
                                     % timeout)
            time.sleep(1)
    return wait
