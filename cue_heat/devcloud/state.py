"""The state directory of one local cloud, and what is kept in it.

Everything a local cloud owns lives under one directory: databases,
configuration, keys, logs, PID files, the clouds.yaml and cue-heat.conf it
writes for users, and ``cloud.json``, the record of its ports and
passwords that ``down``, ``status``, ``env`` and the agent read back.
"""

import json
import os
import pathlib

import platformdirs

#: Name of the record of ports and passwords inside the state directory.
RECORD = 'cloud.json'


def default_root():
    """Return the default state directory, under the user's cache dir."""
    return pathlib.Path(platformdirs.user_cache_dir('cue-heat')) / 'devcloud'


class StateDir:
    """Paths inside a local cloud's state directory."""

    def __init__(self, root=None):
        self.root = pathlib.Path(root or default_root()).expanduser()
        self.root = self.root.absolute()
        self.pids = self.root / 'pids'
        self.logs = self.root / 'logs'
        self.mariadb = self.root / 'mariadb'
        self.keystone = self.root / 'keystone'
        self.heat = self.root / 'heat'
        self.simulated = self.root / 'simulated'
        self.clouds_yaml = self.root / 'clouds.yaml'
        self.config_file = self.root / 'cue-heat.conf'
        self.environment_file = self.simulated / 'environment.yaml'
        self.agent_rules = self.root / 'agent-rules.json'
        self.record_file = self.root / RECORD

    def create(self):
        """Make the directory tree, readable by its owner only."""
        for path in (self.root, self.pids, self.logs, self.mariadb,
                     self.keystone, self.heat, self.simulated):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def exists(self):
        """Tell whether a cloud has been set up here."""
        return self.record_file.exists()

    def read_record(self):
        """Return the saved ports and passwords (an empty dict if none)."""
        try:
            return json.loads(self.record_file.read_text())
        except FileNotFoundError:
            return {}

    def write_record(self, record):
        """Save ports and passwords, readable by the owner only."""
        write_private(self.record_file, json.dumps(record, indent=2))

    def log(self, name):
        """Return the path of service *name*'s log file."""
        return self.logs / ('%s.log' % name)


def write_private(path, text):
    """Write *text* to *path* with mode 0600 (it may hold passwords)."""
    path = pathlib.Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as stream:
        stream.write(text)
