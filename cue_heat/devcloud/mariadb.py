"""A private MariaDB server for Keystone's and Heat's databases.

Debian's ``mariadb-server`` binaries run with a data directory inside the
state directory, on a free loopback port, with a small memory profile.
The system's ``/etc/mysql`` and data directory are never read: the
private ``my.cnf`` comes first on every command line.
"""

import getpass
import logging
import os
import shutil
import subprocess
import time

from cue_heat import errors
from cue_heat.devcloud import processes

LOG = logging.getLogger(__name__)

#: The service name of the server in PID files and logs.
NAME = 'mariadb'

MY_CNF = """\
[mysqld]
datadir = {datadir}
socket = {socket}
port = {port}
bind-address = 127.0.0.1
pid-file = {pid_file}
log-error = {log}
{user_line}
skip-name-resolve
character-set-server = utf8mb4
max_connections = 200
innodb_buffer_pool_size = 16M
key_buffer_size = 1M
aria_pagecache_buffer_size = 1M
innodb_log_buffer_size = 1M
innodb_log_file_size = 16M
performance_schema = OFF
thread_cache_size = 4

[client]
socket = {socket}
port = {port}
"""


def _defaults(state):
    """Return the option that makes a MariaDB program read only my.cnf."""
    return '--defaults-file=%s' % (state.mariadb / 'my.cnf')


def _client(state, program):
    """Return the argv start of a client program as the local superuser.

    NOTE: the data directory is made with socket authentication for
    root, so the client must log in as the user this process runs as.
    """
    return [_program(program), _defaults(state), '-u' + getpass.getuser()]


def configure(state, port):
    """Write the server's my.cnf and create its data directory."""
    datadir = state.mariadb / 'data'
    text = MY_CNF.format(
        datadir=datadir, socket=state.mariadb / 'mysqld.sock', port=port,
        pid_file=state.mariadb / 'mysqld.pid', log=state.log(NAME),
        user_line='user = root' if os.geteuid() == 0 else '')
    (state.mariadb / 'my.cnf').write_text(text)
    _run(state, [_program('mariadb-install-db'), _defaults(state),
                 '--skip-test-db', '--skip-name-resolve',
                 '--auth-root-authentication-method=socket']
         + (['--user=root'] if os.geteuid() == 0 else []))


def start(state, timeout=60):
    """Start the server and wait until it answers a ping."""
    processes.start(
        state, NAME, [_program('mariadbd'), _defaults(state)])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not processes.is_running(state, NAME):
            raise processes.failure(state, NAME, 'MariaDB exited at start.')
        ping = subprocess.run(
            _client(state, 'mariadb-admin') + ['ping'], capture_output=True)
        if ping.returncode == 0:
            return
        time.sleep(processes.POLL_INTERVAL)
    raise processes.failure(state, NAME, 'MariaDB did not answer in time.')


def create_database(state, name, password):
    """Create database *name* and a user *name* that owns only it.

    :returns: the SQLAlchemy URL for that user over TCP.
    """
    sql = (
        "CREATE DATABASE IF NOT EXISTS {db};"
        "CREATE USER IF NOT EXISTS '{db}'@'127.0.0.1' IDENTIFIED BY '{pw}';"
        "GRANT ALL ON {db}.* TO '{db}'@'127.0.0.1';"
    ).format(db=name, pw=password)
    _run(state, _client(state, 'mariadb') + ['-e', sql])
    port = state.read_record()['ports'][NAME]
    return 'mysql+pymysql://%s:%s@127.0.0.1:%s/%s?charset=utf8' % (
        name, password, port, name)


def _run(state, argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        # The SQL may hold a password: report only the program's output.
        raise processes.failure(state, NAME, '%s failed: %s' % (
            os.path.basename(argv[0]), result.stderr.strip()[-2000:]))
    LOG.debug('%s done', argv[0])


def _program(name):
    """Return the path of a MariaDB program ('' when not installed)."""
    # NOTE: mariadbd lives in /usr/sbin, which a user's PATH may lack.
    path = os.pathsep.join([os.defpath, '/usr/sbin', '/usr/bin'])
    return shutil.which(name, path=path) or ''


def check_installed():
    """Raise DevCloudError naming the package when MariaDB is missing."""
    names = ('mariadbd', 'mariadb-install-db', 'mariadb-admin', 'mariadb')
    if not all(_program(name) for name in names):
        raise errors.DevCloudError(
            'MariaDB is not installed; run ./tools/setup-env (it installs '
            'the Debian package mariadb-server).')
