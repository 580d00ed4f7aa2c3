"""Keystone for the local cloud: configure, initialise and serve it.

This module drives ``keystone-manage`` and gunicorn as subprocesses; it
never imports Keystone (:mod:`cue_heat.devcloud.keystone_wsgi` does, inside
gunicorn's workers).
"""

from concurrent import futures
import logging
import os
import subprocess
import sys

from cue_heat.devcloud import processes

LOG = logging.getLogger(__name__)

#: The service name of Keystone in PID files and logs.
NAME = 'keystone'

KEYSTONE_CONF = """\
[DEFAULT]
log_file = {log}

[database]
connection = {database}

[identity]
# Keystone's default bcrypt cost adds about 0.3 s to every login.
password_hash_rounds = 4

[token]
provider = fernet
expiration = 86400

[fernet_tokens]
key_repository = {keys}/fernet-keys

[fernet_receipts]
key_repository = {keys}/fernet-keys

[credential]
key_repository = {keys}/credential-keys
"""


def venv_program(name):
    """Return the path of console script *name* of this Python's venv."""
    return os.path.join(os.path.dirname(sys.executable), name)


def _conf(state):
    return str(state.keystone / 'keystone.conf')


def configure(state, database, auth_url, admin_password):
    """Write keystone.conf, create the schema, keys and the admin user."""
    (state.keystone / 'fernet-keys').mkdir(mode=0o700, exist_ok=True)
    (state.keystone / 'credential-keys').mkdir(mode=0o700, exist_ok=True)
    (state.keystone / 'keystone.conf').write_text(KEYSTONE_CONF.format(
        log=state.log(NAME), database=database, keys=state.keystone))
    os.chmod(state.keystone / 'keystone.conf', 0o600)
    owner = _owner()
    # The key repositories need no database: made while the schema is.
    with futures.ThreadPoolExecutor(3) as pool:
        done = [pool.submit(_manage, state, args) for args in (
            ['db_sync'], ['fernet_setup'] + owner,
            ['credential_setup'] + owner)]
        for future in done:
            future.result()
    # The password goes through the environment, not the visible argv.
    _manage(state, [
        'bootstrap', '--bootstrap-username', 'admin',
        '--bootstrap-project-name', 'admin',
        '--bootstrap-role-name', 'admin',
        '--bootstrap-service-name', 'keystone',
        '--bootstrap-region-id', 'RegionOne',
        '--bootstrap-admin-url', auth_url,
        '--bootstrap-public-url', auth_url,
        '--bootstrap-internal-url', auth_url],
        env=dict(os.environ, OS_BOOTSTRAP_PASSWORD=admin_password))


def _owner():
    import grp
    import pwd
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return ['--keystone-user', user, '--keystone-group', group]


def _manage(state, args, env=None):
    argv = [venv_program('keystone-manage'), '--config-file', _conf(state)]
    result = subprocess.run(
        argv + args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise processes.failure(state, NAME, 'keystone-manage %s failed: %s'
                                % (args[0], result.stderr.strip()[-2000:]))
    LOG.debug('keystone-manage %s done', args[0])


def start(state, port):
    """Serve Keystone under gunicorn on 127.0.0.1:*port* and wait for it.

    NOTE: two single-threaded workers, because Keystone keeps the token
    being validated on a shared middleware instance and mixes up
    concurrent requests in one process (identity:create_trust then fails).
    """
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=_conf(state))
    processes.start(state, NAME, [
        venv_program('gunicorn'), '--no-control-socket',
        '-b', '127.0.0.1:%d' % port, '-w', '2', '-k', 'sync',
        '--timeout', '120', '--keep-alive', '75',
        'cue_heat.devcloud.keystone_wsgi:application'], env=env)
    processes.wait_http(
        state, NAME, 'http://127.0.0.1:%d/v3' % port, timeout=60)
