"""What the node agent is told to do: fail chosen deployments, be slow.

The rules live in ``<state>/agent-rules.json`` and the agent re-reads the
file on every poll, so a test changes the agent's behaviour by writing
it::

    {"fail": [{"node": "*-2", "config": "configure",
               "status_code": 1, "stderr": "boom"}],
     "delay": 0,
     "outputs": {"node_ip": "10.0.0.1"},
     "node_outputs": [{"node": "*-ab12cd", "outputs": {"role": "x"}}]}

``node`` is an fnmatch glob over the server's name; ``config`` a glob over
the deployment's resource name (``configure``, ``leave``, ...) or its
config's name. ``delay`` is how many seconds the agent waits before it
answers a deployment; ``outputs`` gives values for declared outputs, and
``node_outputs`` values for the servers whose name matches ``node``
(the first match wins over ``outputs``): how a test plays what the nodes
would report, such as which one is a broker's primary.
"""

import dataclasses
import fnmatch
import json
import logging
import os

LOG = logging.getLogger(__name__)

#: stderr of a failure rule that gives none.
DEFAULT_STDERR = 'simulated failure requested by the agent rules'


@dataclasses.dataclass(frozen=True)
class Failure:
    """One rule: fail matching deployments with this code and stderr."""

    node: str = '*'
    config: str = '*'
    status_code: int = 1
    stderr: str = DEFAULT_STDERR

    def matches(self, node, names):
        """Tell whether the rule covers *node* and any of *names*."""
        return fnmatch.fnmatchcase(node, self.node) and any(
            fnmatch.fnmatchcase(name, self.config) for name in names if name)


@dataclasses.dataclass(frozen=True)
class Rules:
    """The parsed rules file."""

    failures: tuple = ()
    delay: float = 0.0
    outputs: dict = dataclasses.field(default_factory=dict)
    node_outputs: tuple = ()

    def failure_for(self, node, names):
        """Return the first Failure covering *node* and *names*, or None."""
        for failure in self.failures:
            if failure.matches(node, names):
                return failure
        return None

    def output_for(self, node, key, default):
        """Return the value of output *key* for server *node*."""
        for entry in self.node_outputs:
            if (fnmatch.fnmatchcase(node, entry['node'])
                    and key in entry['outputs']):
                return entry['outputs'][key]
        return self.outputs.get(key, default)


def load(path):
    """Read the rules at *path*; no file or a bad file means no rules."""
    try:
        with open(path) as stream:
            data = json.load(stream)
        return Rules(
            failures=tuple(Failure(**rule) for rule in data.get('fail', ())),
            delay=float(data.get('delay', 0)),
            outputs=dict(data.get('outputs', {})),
            node_outputs=tuple(data.get('node_outputs', ())))
    except FileNotFoundError:
        return Rules()
    except (ValueError, TypeError) as ex:
        LOG.warning('Ignoring unreadable agent rules %s: %s', path, ex)
        return Rules()


class RulesFile:
    """Writes the rules file a running agent reads; for tests and demos."""

    def __init__(self, path):
        self.path = str(path)
        self._data = {'fail': [], 'delay': 0, 'outputs': {},
                      'node_outputs': []}

    def fail(self, node='*', config='configure', status_code=1,
             stderr=DEFAULT_STDERR):
        """Fail deployments of *config* on servers matching *node*."""
        self._data['fail'].append({
            'node': node, 'config': config, 'status_code': status_code,
            'stderr': stderr})
        self._save()

    def slow(self, seconds):
        """Make the agent wait *seconds* before answering a deployment."""
        self._data['delay'] = seconds
        self._save()

    def output(self, name, value):
        """Make the agent answer declared output *name* with *value*."""
        self._data['outputs'][name] = value
        self._save()

    def node_output(self, node, name, value):
        """Answer output *name* with *value* on servers matching *node*.

        A later call for the same *node* and *name* replaces the earlier.
        """
        kept = [entry for entry in self._data['node_outputs']
                if not (entry['node'] == node
                        and list(entry['outputs']) == [name])]
        self._data['node_outputs'] = [
            {'node': node, 'outputs': {name: value}}] + kept
        self._save()

    def reset(self):
        """Go back to completing every deployment at once, successfully."""
        self._data = {'fail': [], 'delay': 0, 'outputs': {},
                      'node_outputs': []}
        self._save()

    def _save(self):
        # Written whole and renamed, so the agent never reads half a file.
        temporary = self.path + '.tmp'
        with open(temporary, 'w') as stream:
            json.dump(self._data, stream, indent=2)
        os.replace(temporary, self.path)
