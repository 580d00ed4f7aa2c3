"""``cue-heat cluster create|list|show|resize|heal|delete|events``.

The commands act with the credentials of a clouds.yaml entry
(``--os-cloud``, else ``OS_CLOUD``; the file from
``OS_CLIENT_CONFIG_FILE`` or the usual places) and the service
configuration of ``--config`` (else ``CUE_HEAT_CONFIG``), whose
``[heat] environment_files`` are merged into every stack create.
"""

import json
import logging
import time

from cliff import columns
from cliff import command
from cliff import lister
from cliff import show

from cue_heat import clusters
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import heat
from cue_heat import status
from cue_heat.cli import spec_options

LOG = logging.getLogger(__name__)

#: Seconds between two polls of ``--wait``.
WAIT_INTERVAL = 2.0
SHOW_FIELDS = ('id', 'name', 'broker', 'version', 'size', 'status',
               'status_reason', 'health', 'health_reason', 'flavor',
               'image', 'network_id',
               'volume_size', 'endpoints', 'nodes', 'created_at',
               'updated_at')
LIST_FIELDS = ('id', 'name', 'broker', 'size', 'status', 'created_at')
EVENT_FIELDS = ('time', 'node', 'step', 'action', 'status', 'reason')


class StructuredColumn(columns.FormattableColumn):
    """A list or mapping: one item per line in tables, as is in JSON."""

    def human_readable(self):
        value = self._value
        if isinstance(value, list):
            return '\n'.join(_one_line(item) for item in value)
        return _one_line(value)

    def machine_readable(self):
        return self._value


def build_service(cloud=None, config_path=None, clouds_file=None):
    """Return a :class:`ClusterService` for one cloud and config."""
    config = config_module.load(config_path)
    session = heat.session_from_cloud(cloud, config_file=clouds_file)
    stacks = heat.StackClient.from_session(session, config)
    return clusters.ClusterService(stacks, config)


def wait_for(service, cluster_id, out, deleted=False, sleep=time.sleep):
    """Poll until the cluster's operation ends; return its last view.

    Prints one progress line per change (nodes done out of size, step).

    :raises cue_heat.errors.StackFailed: the operation ended in ERROR.
    """
    shown = None
    while True:
        try:
            view = service.show(cluster_id)
        except errors.ClusterNotFound:
            if deleted:
                return None
            raise
        line = progress_line(view)
        if line != shown:
            out.write(line + '\n')
            out.flush()
            shown = line
        if view['status'] == status.ERROR:
            raise errors.StackFailed('Cluster %s is in ERROR: %s' % (
                cluster_id, view['status_reason']))
        if view['status'] == status.DELETED or (
                not deleted and view['status'] == status.ACTIVE):
            return view
        sleep(WAIT_INTERVAL)


#: The role of nodes outside the resizable group (Kafka's controllers).
CONTROLLER_ROLE = 'controller'


def progress_line(view):
    """Summarise a cluster view as ``STATUS  nodes 3/5 ready  (step)``.

    Only the nodes that ``size`` counts are counted: a Kafka cluster's
    controllers are a fixed quorum outside its size.
    """
    ready = sum(1 for node in view['nodes']
                if node['status'] == status.ACTIVE
                and node.get('role') != CONTROLLER_ROLE)
    step = view.get('step') or ''
    return '%-9s nodes %d/%s ready%s' % (
        view['status'], ready, view['size'],
        '  (step %s)' % step if step else '')


class _ClusterCommand(command.Command):
    """Base of the cluster commands: cloud and configuration options."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--os-cloud', metavar='CLOUD', default=None,
            help='clouds.yaml entry to use (default: $OS_CLOUD)')
        parser.add_argument(
            '--config', metavar='FILE', default=None,
            help='cue-heat configuration (default: $CUE_HEAT_CONFIG)')
        return parser

    def service(self, parsed_args):
        return build_service(parsed_args.os_cloud, parsed_args.config)


class _WaitingCommand(_ClusterCommand, show.ShowOne):
    """A command that starts an operation and may ``--wait`` for it."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--wait', action='store_true',
            help='show progress until the operation ends; exit non-zero '
                 'if the cluster ends in ERROR')
        return parser

    def finish(self, service, view, parsed_args):
        if parsed_args.wait:
            view = wait_for(service, view['id'], self.app.stderr)
        return _show_columns(view)


class Create(_WaitingCommand):
    """Create a broker cluster from a spec file or options."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--spec', metavar='FILE',
                            help='cluster spec, JSON or YAML (options '
                                 'below override its fields)')
        spec_options.add_spec_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = spec_options.build_body(parsed_args, self.app.stdin)
        service = self.service(parsed_args)
        view = service.create(body)
        return self.finish(service, view, parsed_args)


class List(_ClusterCommand, lister.Lister):
    """List the project's clusters, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--marker', help='id of the last cluster seen')
        parser.add_argument('--limit', type=int, help='page size')
        return parser

    def take_action(self, parsed_args):
        views = self.service(parsed_args).list(
            marker=parsed_args.marker, limit=parsed_args.limit)
        return LIST_FIELDS, [[view.get(field) for field in LIST_FIELDS]
                             for view in views]


class Show(_ClusterCommand, show.ShowOne):
    """Show a cluster: status, nodes and endpoints."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cluster', help='cluster id')
        return parser

    def take_action(self, parsed_args):
        return _show_columns(
            self.service(parsed_args).show(parsed_args.cluster))


class Resize(_WaitingCommand):
    """Resize a cluster; on scale-in, choose the nodes to remove."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cluster', help='cluster id')
        parser.add_argument('size', type=int, help='new size')
        parser.add_argument(
            '--remove', metavar='NODE', action='append', default=[],
            help='node to remove (repeat for several)')
        return parser

    def take_action(self, parsed_args):
        service = self.service(parsed_args)
        view = service.resize(parsed_args.cluster, parsed_args.size,
                              parsed_args.remove)
        return self.finish(service, view, parsed_args)


class Heal(_WaitingCommand):
    """Replace the named nodes, or every node Heat finds failed."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cluster', help='cluster id')
        parser.add_argument(
            '--node', metavar='NODE', action='append', default=[],
            help='node to replace (repeat for several)')
        return parser

    def take_action(self, parsed_args):
        service = self.service(parsed_args)
        view = service.heal(parsed_args.cluster, parsed_args.node or None)
        return self.finish(service, view, parsed_args)


class Delete(_ClusterCommand):
    """Delete a cluster (a stack already gone is not an error)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cluster', help='cluster id')
        parser.add_argument('--wait', action='store_true',
                            help='wait until the cluster is deleted')
        return parser

    def take_action(self, parsed_args):
        service = self.service(parsed_args)
        service.delete(parsed_args.cluster)
        if parsed_args.wait:
            wait_for(service, parsed_args.cluster, self.app.stderr,
                     deleted=True)


class Events(_ClusterCommand, lister.Lister):
    """Show what happened to a cluster, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cluster', help='cluster id')
        parser.add_argument('--limit', type=int, default=50)
        parser.add_argument('--marker', help='id of the last event seen')
        return parser

    def take_action(self, parsed_args):
        entries = self.service(parsed_args).events(
            parsed_args.cluster, limit=parsed_args.limit,
            marker=parsed_args.marker)
        return EVENT_FIELDS, [[entry.get(field) for field in EVENT_FIELDS]
                              for entry in entries]


def _show_columns(view):
    values = []
    for field in SHOW_FIELDS:
        value = view.get(field)
        if isinstance(value, (list, dict)):
            value = StructuredColumn(value)
        values.append(value)
    return SHOW_FIELDS, values


def _one_line(value):
    if isinstance(value, dict):
        return ', '.join('%s=%s' % (key, value[key]) for key in value)
    if isinstance(value, str):
        return value
    return json.dumps(value)
