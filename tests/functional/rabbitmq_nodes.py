"""Real RabbitMQ nodes on loopback, driven by the node scripts.

The harness runs ``configure.sh``, ``form.sh`` and ``leave.sh`` exactly as
Heat's script hook does (inputs as environment variables, outputs read
from ``$heat_outputs_path.<name>``), with the local-run variables of
CONTRACT.md: each node gets its own directory tree, free ports and a name
of its own on the shared host. The cluster has its own epmd on a free
port, so it never touches a RabbitMQ or an epmd the machine already runs,
and only processes the harness started are ever stopped, by pid.
"""

import concurrent.futures
import dataclasses
import glob
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import time

import cue_heat

SCRIPTS = pathlib.Path(cue_heat.__file__).parent.joinpath(
    'templates', 'rabbitmq', 'scripts')
RABBITMQ_BIN = pathlib.Path('/usr/lib/rabbitmq/bin')
SHARED_HOST = 'localhost'
SCRIPT_TIMEOUT = 300
STOP_TIMEOUT = 60

#: The CLI listens on the distribution port + 10000 up to + 10010.
_MAX_DIST_PORT = 65535 - 10011


@dataclasses.dataclass
class ScriptResult:
    """What a deployment would report: status code, logs and outputs."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict

    def check(self):
        """Return self, or raise with the stderr tail when it failed."""
        if self.returncode != 0:
            raise AssertionError('script exited %d:\n%s' % (
                self.returncode, self.stderr[-3000:]))
        return self


def _epmd_binary():
    """Find epmd, which Debian keeps inside the Erlang runtime."""
    found = shutil.which('epmd') or sorted(
        glob.glob('/usr/lib/erlang/erts-*/bin/epmd'))[-1:]
    if not found:
        raise RuntimeError('epmd not found: is rabbitmq-server installed?')
    return found if isinstance(found, str) else found[0]


class PortPicker:
    """Free loopback ports, never the same one twice in a session."""

    def __init__(self):
        self._taken = set()

    def pick(self, below=65535):
        """Return a port that is free on 127.0.0.1 right now."""
        for _attempt in range(200):
            with socket.socket() as sock:
                sock.bind(('127.0.0.1', 0))
                port = sock.getsockname()[1]
            if port < below and port not in self._taken:
                self._taken.add(port)
                return port
        raise RuntimeError('no free loopback port below %d' % below)


class LocalNode:
    """One incarnation of a node: its directory, ports and processes."""

    def __init__(self, host, root, ports):
        self.host = host
        self.root = root
        self.ports = ports
        self.server_id = 'server-%s' % secrets.token_hex(4)
        self.name = 'rabbit-%s@%s' % (host, SHARED_HOST)

    @property
    def data(self):
        """The node's home: cookie, pid files and mnesia data."""
        return self.root / 'var' / 'lib' / 'rabbitmq'

    @property
    def logs(self):
        """The node's log directory."""
        return self.root / 'var' / 'log' / 'rabbitmq'

    def pids(self):
        """Return the pids the scripts recorded for this node's broker."""
        pids = []
        for name in ('launcher.pid', 'rabbit.pid'):
            path = self.data / name
            if path.exists() and path.read_text().strip().isdigit():
                pids.append(int(path.read_text().strip()))
        return pids

    def alive_pids(self):
        """Return the recorded pids that still run."""
        return [pid for pid in self.pids() if _alive(pid)]

    def cli_env(self):
        """Environment for running RabbitMQ's CLI against this node."""
        return {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': str(self.data),
            'LANG': 'C.UTF-8',
            'LC_ALL': 'C.UTF-8',
            'RABBITMQ_CONF_ENV_FILE': str(
                self.root / 'etc' / 'rabbitmq' / 'rabbitmq-env.conf'),
            'ERL_CRASH_DUMP': str(self.logs / 'erl_crash_dump'),
        }

    def cli(self, tool, *args, check=True):
        """Run a RabbitMQ CLI tool (rabbitmqctl...) against this node."""
        result = subprocess.run(
            [str(RABBITMQ_BIN / tool), '-q', '-n', self.name, *args],
            env=self.cli_env(), cwd=self.root, capture_output=True,
            text=True, timeout=SCRIPT_TIMEOUT)
        if check and result.returncode != 0:
            raise AssertionError('%s %s on %s exited %d: %s' % (
                tool, ' '.join(args), self.name, result.returncode,
                result.stderr[-2000:] or result.stdout[-2000:]))
        return result

    def cluster_status(self):
        """Return ``rabbitmqctl cluster_status`` as a dict."""
        return json.loads(
            self.cli('rabbitmqctl', 'cluster_status', '--formatter',
                     'json').stdout)

    def is_running(self):
        """Tell whether the broker passes the check_running health check."""
        return self.cli('rabbitmq-diagnostics', 'check_running',
                        check=False).returncode == 0


class LocalCluster:
    """Nodes of one cluster on loopback, with the cluster's own epmd."""

    def __init__(self, workdir, rabbitmq_conf, version='3.13'):
        self.workdir = pathlib.Path(workdir)
        self.rabbitmq_conf = rabbitmq_conf
        self.version = version
        self.cookie = secrets.token_hex(24)
        self.username = 'cue-admin'
        self.password = secrets.token_urlsafe(18)
        self.ports = PortPicker()
        self.nodes = {}
        self._started = []
        self._count = 0
        self.epmd_port = self.ports.pick()
        self._epmd = subprocess.Popen(
            [_epmd_binary(), '-port', str(self.epmd_port),
             '-address', '127.0.0.1'],
            cwd=self.workdir, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    def new_node(self, host):
        """Create a blank incarnation of *host* (not started yet)."""
        self._count += 1
        root = self.workdir / ('%s.%d' % (host, self._count))
        root.mkdir(parents=True)
        ports = {
            'amqp': self.ports.pick(),
            'dist': self.ports.pick(below=_MAX_DIST_PORT),
            'management': self.ports.pick(),
            'prometheus': self.ports.pick(),
        }
        node = LocalNode(host, root, ports)
        self.nodes[host] = node
        return node

    def members(self, nodes):
        """Return the members input form.sh gets from the templates."""
        return json.dumps([
            {'host': node.host, 'address': '127.0.0.1',
             'server_id': node.server_id} for node in nodes])

    def run(self, node, script, inputs):
        """Run a node script as Heat's script hook would on *node*."""
        outputs = self.workdir / 'outputs' / secrets.token_hex(6)
        outputs.parent.mkdir(exist_ok=True)
        env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'CUE_ROOT': str(node.root),
            'CUE_SERVICE_MODE': 'direct',
            'CUE_SHARED_HOST': SHARED_HOST,
            'CUE_SKIP_INSTALL': '1',
            'CUE_AMQP_PORT': str(node.ports['amqp']),
            'CUE_DIST_PORT': str(node.ports['dist']),
            'CUE_MGMT_PORT': str(node.ports['management']),
            'CUE_PROMETHEUS_PORT': str(node.ports['prometheus']),
            'CUE_EPMD_PORT': str(self.epmd_port),
            'CUE_FORM_TIMEOUT': '120',
            'deploy_server_id': node.server_id,
            'heat_outputs_path': str(outputs),
        }
        env.update(inputs)
        result = subprocess.run(
            [str(SCRIPTS / script)], env=env, cwd=node.root,
            capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)
        found = {}
        for path in outputs.parent.glob(outputs.name + '.*'):
            found[path.suffix[1:]] = path.read_text()
        return ScriptResult(result.returncode, result.stdout,
                            result.stderr, found)

    def configure(self, node, rabbitmq_conf=None):
        """Run configure.sh on *node*; it starts the broker standalone."""
        if node not in self._started:
            self._started.append(node)
        return self.run(node, 'configure.sh', {
            'node_host': node.host,
            'node_address': '127.0.0.1',
            'erlang_cookie': self.cookie,
            'rabbitmq_conf': (self.rabbitmq_conf if rabbitmq_conf is None
                              else rabbitmq_conf),
            'admin_username': self.username,
            'admin_password': self.password,
            'version': self.version,
            'cluster_size': '3',
            'tls_cert': '', 'tls_key': '', 'tls_ca': '',
            'data_device': '',
        })

    def form(self, nodes):
        """Run form.sh on every node at once, as a deployment group does.

        Like Heat's group, node_host stays empty: form.sh finds its node
        by ``deploy_server_id`` among the members.
        """
        members = self.members(nodes)
        with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
            futures = {node.host: pool.submit(
                self.run, node, 'form.sh',
                {'members': members, 'node_host': ''}) for node in nodes}
            return {host: future.result()
                    for host, future in futures.items()}

    def leave(self, node, **inputs):
        """Run leave.sh on *node*, as the DELETE of its deployment does."""
        return self.run(node, 'leave.sh', {'node_host': node.host, **inputs})

    def connection_parameters(self, node):
        """Return pika connection parameters for the spec's user."""
        import pika

        return pika.ConnectionParameters(
            host='127.0.0.1', port=node.ports['amqp'],
            credentials=pika.PlainCredentials(self.username,
                                              self.password),
            connection_attempts=3, retry_delay=1)

    def stop(self, node):
        """Stop a node this harness started: shutdown, then its pids."""
        if node.alive_pids():
            node.cli('rabbitmqctl', 'shutdown', check=False)
        _stop_pids(node.alive_pids())

    def kill(self, node):
        """Kill a node's processes at once, as when its server dies."""
        pids = node.alive_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        _stop_pids(pids)

    def close(self):
        """Stop every node started here, then the cluster's epmd."""
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(self.stop, self._started))
        _stop_pids([self._epmd.pid])
        self._epmd.wait(timeout=STOP_TIMEOUT)


def _stop_pids(pids):
    """Terminate processes by pid, killing those that do not exit."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT / 2
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            time.sleep(0.2)
        if not pids:
            return


def _alive(pid):
    """Tell whether *pid* still runs (reaping it if it is our child)."""
    try:
        finished, _status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return False
    except ChildProcessError:
        pass
    try:
        stat = pathlib.Path('/proc/%d/stat' % pid).read_text()
    except FileNotFoundError:
        return False
    # A zombie has exited; only its parent (maybe not us) can reap it.
    return stat.rpartition(')')[2].split()[0] != 'Z'
