"""The local cloud as a whole: bring it up, report on it, take it down.

``up`` runs a private MariaDB; then, side by side, Keystone (schema,
keys, bootstrap, gunicorn) followed by the registration of Heat, cue-heat
and the test users, and Heat (schema, then one process with API, CFN API
and engine); then the client files, a readiness check through the
engine, and the node agent.
"""

from concurrent import futures
import dataclasses
import logging
import secrets
import shutil
import sys
import time

from heatclient import client as heat_client

from cue_heat import errors
from cue_heat.devcloud import clients
from cue_heat.devcloud import heat_service
from cue_heat.devcloud import keystone
from cue_heat.devcloud import mariadb
from cue_heat.devcloud import processes
from cue_heat.devcloud import registration
from cue_heat.devcloud import simulated
from cue_heat.devcloud import state as state_mod

LOG = logging.getLogger(__name__)

#: The node agent's service name in PID files and logs.
AGENT = 'agent'
#: Stop order and grace periods: services before the database.
STOP_ORDER = ((AGENT, 5), (heat_service.NAME, 15), (keystone.NAME, 10),
              (mariadb.NAME, 30))
#: Seconds to wait for an authenticated stack list through the engine.
READY_TIMEOUT = 60


@dataclasses.dataclass
class UpReport:
    """What ``up`` did: started or found running, time and memory."""

    started: bool
    seconds: float = 0.0
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    steps: list = dataclasses.field(default_factory=list)


class DevCloud:
    """One local cloud, identified by its state directory."""

    def __init__(self, state_dir=None):
        self.state = state_mod.StateDir(state_dir)

    @property
    def record(self):
        """The saved ports and passwords of this cloud."""
        return self.state.read_record()

    @property
    def auth_url(self):
        """Keystone's v3 URL."""
        return clients.auth_url(self.record) + '/v3'

    def is_running(self):
        """Tell whether Keystone and Heat of this cloud are alive."""
        return all(processes.is_running(self.state, name) for name in
                   (mariadb.NAME, keystone.NAME, heat_service.NAME))

    def up(self, agent=True, progress=None):
        """Start the cloud, or report the one already running here.

        :param agent: also start the node agent in the background.
        :param progress: called with a line per finished step.
        :raises cue_heat.errors.DevCloudError: a service failed; the
            message carries the tail of its log. What was started is
            stopped again; the state stays for inspection.
        """
        if self.state.exists():
            if self.is_running():
                if agent and not processes.is_running(self.state, AGENT):
                    self._start_agent()
                return UpReport(started=False)
            raise errors.DevCloudError(
                'A stopped local cloud is left in %s; run "cue-heat '
                'devcloud down --state-dir %s" first.' % (
                    self.state.root, self.state.root))
        mariadb.check_installed()
        report = UpReport(started=True)
        begin = time.monotonic()

        def step(text):
            line = '%5.1f s  %s' % (time.monotonic() - begin, text)
            report.steps.append(line)
            if progress:
                progress(line)

        try:
            self._bring_up(step, agent)
        except BaseException:
            self._stop_all()
            raise
        report.seconds = time.monotonic() - begin
        running = processes.recorded(self.state).values()
        report.rss_bytes, report.peak_rss_bytes = processes.memory(running)
        return report

    def _bring_up(self, step, agent):
        # TODO: the 20 s goal holds only on a quiet machine (15-20 s);
        # up needs about 24 CPU s, so on 2 cores shared with other test
        # runs it takes 27-35 s (bench/devcloud_start.py). Keystone's
        # schema, keys and bootstrap, then its registration, are the
        # critical path.
        state = self.state
        state.create()
        record = _new_record()
        state.write_record(record)
        ports = record['ports']
        url = clients.auth_url(record)

        mariadb.configure(state, ports[mariadb.NAME])
        mariadb.start(state)
        keystone_db = mariadb.create_database(
            state, 'keystone', record['passwords']['db_keystone'])
        heat_db = mariadb.create_database(
            state, 'heat', record['passwords']['db_heat'])
        step('MariaDB ready on 127.0.0.1:%d' % ports[mariadb.NAME])
        # NOTE: Heat needs Keystone only when requests come, so its schema
        # and start-up (about a third of the bring-up) overlap Keystone's.
        with futures.ThreadPoolExecutor(1) as pool:
            heat_started = pool.submit(
                self._start_heat, step, record, heat_db, url)
            keystone.configure(
                state, keystone_db, url + '/v3',
                record['passwords']['admin'])
            keystone.start(state, ports[keystone.NAME])
            step('Keystone serving on %s' % url)
            registration.register(self.admin_session(), record)
            step('Heat, cue-heat and users registered')
            heat_started.result()
        clients.write_clouds_yaml(state, record)
        clients.write_service_config(state, record)
        self.wait_ready()
        step('Heat engine ready (authenticated stack list)')
        if agent:
            self._start_agent()
            step('Node agent started')

    def _start_heat(self, step, record, heat_db, url):
        simulated.install(self.state)
        heat_service.configure(self.state, record, heat_db, url)
        heat_service.start(self.state, record)
        step('Heat API answering on 127.0.0.1:%d' % record['ports'][
            'heat-api'])

    def admin_session(self):
        """Return a keystoneauth1 session of the admin user."""
        return registration.admin_session(
            self.auth_url, self.record['passwords']['admin'])

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait for a stack list that needs the engine, and an engine up.

        :raises cue_heat.errors.DevCloudError: not ready in time.
        """
        heat = heat_client.Client('1', session=self.admin_session())
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not processes.is_running(self.state, heat_service.NAME):
                break
            try:
                list(heat.stacks.list(limit=1))
                if any(service.status == 'up'
                       for service in heat.services.list()):
                    return
            except Exception as ex:  # noqa: B902 any failure means wait
                last = ex
            time.sleep(processes.POLL_INTERVAL)
        raise processes.failure(
            self.state, heat_service.NAME,
            'Heat did not list stacks through its engine (%s).' % last)

    def _start_agent(self):
        processes.start(self.state, AGENT, [
            sys.executable, '-m', 'cue_heat.cli.app', 'devcloud', 'agent',
            '--state-dir', str(self.state.root)])

    def status(self):
        """Return a list of (service, pid or None, address)."""
        record = self.record
        ports = record.get('ports', {})
        running = processes.recorded(self.state) if record else {}
        addresses = {
            mariadb.NAME: '127.0.0.1:%s' % ports.get(mariadb.NAME),
            keystone.NAME: 'http://127.0.0.1:%s/v3' % ports.get('keystone'),
            heat_service.NAME: 'http://127.0.0.1:%s (CFN :%s)' % (
                ports.get('heat-api'), ports.get('heat-cfn')),
            AGENT: str(self.state.agent_rules),
        }
        rows = []
        for name, _grace in reversed(STOP_ORDER):
            process = running.get(name)
            rows.append((name, process.pid if process else None,
                         addresses[name]))
        return rows

    def env_lines(self):
        """Return the shell lines that point clients at this cloud.

        ``CUE_HEAT_CONFIG`` too: without the simulated-resource
        environment it names, ``cue-heat cluster`` would ask Heat for
        real Nova and Neutron resources.
        """
        return ['export OS_CLIENT_CONFIG_FILE=%s' % self.state.clouds_yaml,
                'export OS_CLOUD=%s' % clients.DEFAULT_CLOUD,
                'export CUE_HEAT_CONFIG=%s' % self.state.config_file]

    def down(self):
        """Stop exactly the processes ``up`` started and remove the state.

        :returns: True when there was a cloud here.
        """
        if not self.state.root.exists():
            return False
        self._stop_all()
        shutil.rmtree(self.state.root)
        return True

    def _stop_all(self):
        if not self.state.pids.exists():
            return
        for name, grace in STOP_ORDER:
            processes.stop(self.state, name, grace)


def _new_record():
    """Pick free ports and fresh passwords for a new cloud."""
    names = (mariadb.NAME, keystone.NAME, 'heat-api', 'heat-cfn', 'compute',
             'cue-heat-api')
    ports = {}
    while len(set(ports.values())) != len(names):
        ports = {name: processes.free_port() for name in names}
    users = ('admin', 'heat', 'heat_domain_admin', 'cue-heat', 'db_keystone',
             'db_heat') + tuple(user for _c, user, _p in registration.TENANTS)
    return {
        'ports': ports,
        'passwords': {user: secrets.token_hex(16) for user in users},
        'encryption_key': secrets.token_hex(16),
    }
