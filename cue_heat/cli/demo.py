"""``cue-heat demo``: the main job, end to end, on a local cloud.

On a running ``cue-heat devcloud up``: create a 3-node RabbitMQ cluster,
show it ACTIVE with its endpoints, grow it to 5, remove one named node,
heal another, print the history and delete the cluster.
"""

import os
import secrets
import time

from cliff import command

from cue_heat import errors
from cue_heat.cli import cluster as cluster_cli
from cue_heat.devcloud import state as state_module

#: A network id for the simulated cloud, where Neutron is not consulted.
DEMO_NETWORK = '00000000-0000-4000-8000-00000000d3e0'
DEFAULT_CLOUD = 'devcloud-a'


class Demo(command.Command):
    """Run the cluster lifecycle end to end on the local cloud."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--state-dir', metavar='DIR', default=None,
            help='state directory of the local cloud (default: %s)'
            % state_module.default_root())
        parser.add_argument(
            '--os-cloud', metavar='CLOUD', default=None,
            help='clouds.yaml entry (default: $OS_CLOUD, else %s)'
            % DEFAULT_CLOUD)
        parser.add_argument(
            '--keep', action='store_true',
            help='leave the cluster in place at the end')
        return parser

    def take_action(self, parsed_args):
        state = state_module.StateDir(parsed_args.state_dir)
        if not state.exists():
            raise errors.DevCloudError(
                'No local cloud in %s; start one with: cue-heat devcloud '
                'up' % state.root)
        # NOTE: the clouds.yaml is always the local cloud's own.
        service = cluster_cli.build_service(
            parsed_args.os_cloud or _os_cloud(), str(state.config_file),
            clouds_file=str(state.clouds_yaml))
        run = _Run(service, self.app.stdout)
        run.everything(keep=parsed_args.keep)


class _Run:
    """One demo run: each step printed with the time it took."""

    def __init__(self, service, out):
        self.service = service
        self.out = out
        self.started = time.monotonic()

    def say(self, text):
        self.out.write('[%6.1f s] %s\n' % (
            time.monotonic() - self.started, text))
        self.out.flush()

    def wait(self, cluster_id, deleted=False):
        return cluster_cli.wait_for(self.service, cluster_id, _Indented(
            self.out), deleted=deleted)

    def everything(self, keep=False):
        body = {
            'name': 'demo %s' % secrets.token_hex(3), 'size': 3,
            'broker': 'rabbitmq', 'network_id': [DEMO_NETWORK],
            'authentication': {'type': 'PLAIN', 'token': {
                'username': 'demo', 'password': secrets.token_urlsafe(18)}},
        }
        self.say('Creating a 3-node RabbitMQ cluster %r' % body['name'])
        view = self.service.create(body)
        cluster_id = view['id']
        self.say('Cluster %s is %s' % (cluster_id, view['status']))
        view = self.wait(cluster_id)
        self.say('Cluster is ACTIVE; endpoints:')
        for endpoint in view['endpoints']:
            self.out.write('    %-10s %s\n' % (endpoint['type'],
                                               endpoint['uri']))
        self._nodes(view)

        self.say('Resizing to 5 nodes')
        self.service.resize(cluster_id, 5)
        view = self.wait(cluster_id)
        self._nodes(view)

        victim = view['nodes'][1]['name']
        self.say('Removing node %s (size 5 -> 4)' % victim)
        self.service.resize(cluster_id, 4, [victim])
        view = self.wait(cluster_id)
        self._nodes(view)

        patient = view['nodes'][0]['name']
        self.say('Healing node %s (it is replaced, the others stay)'
                 % patient)
        self.service.heal(cluster_id, [patient])
        view = self.wait(cluster_id)
        self._nodes(view)

        self.say('History, newest first:')
        for event in self.service.events(cluster_id, limit=15):
            self.out.write('    %s  %-24s %-12s %-8s %s\n' % (
                event['time'], event['node'] or '-', event['step'],
                event['status'], event['reason']))
        if keep:
            self.say('Keeping cluster %s' % cluster_id)
            return
        self.say('Deleting the cluster')
        self.service.delete(cluster_id)
        self.wait(cluster_id, deleted=True)
        self.say('Cluster deleted; demo done')

    def _nodes(self, view):
        for node in view['nodes']:
            self.out.write('    %-28s %-16s %s\n' % (
                node['name'], node['address'] or '-', node['status']))


class _Indented:
    """Indent the progress lines of ``wait_for`` under a step."""

    def __init__(self, out):
        self._out = out

    def write(self, text):
        self._out.write('    ' + text if text.strip() else text)

    def flush(self):
        self._out.flush()


def _os_cloud():
    """Return the cloud named by ``OS_CLOUD``, else the demo's user.

    NOTE: openstack.config would read ``OS_CLOUD`` itself, but the demo
    needs a default when it is unset, as after a plain devcloud up.
    """
    return os.environ.get('OS_CLOUD') or DEFAULT_CLOUD
