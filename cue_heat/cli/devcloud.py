"""``cue-heat devcloud up|down|status|env|agent``: the local cloud."""

import logging

from cliff import command
from cliff import lister

from cue_heat.devcloud import cloud
from cue_heat.devcloud import state as state_mod

LOG = logging.getLogger(__name__)

MEGABYTE = 1024 * 1024


class _DevCloudCommand(command.Command):
    """Base of the devcloud commands: the ``--state-dir`` option."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--state-dir', metavar='DIR', default=None,
            help='state directory of the local cloud (default: %s)'
            % state_mod.default_root())
        return parser

    def cloud(self, parsed_args):
        """Return the DevCloud of the chosen state directory."""
        return cloud.DevCloud(parsed_args.state_dir)


class Up(_DevCloudCommand):
    """Start a local Keystone + Heat (and the node agent) on loopback."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--no-agent', action='store_true',
            help='do not start the node agent that completes deployments')
        return parser

    def take_action(self, parsed_args):
        devcloud = self.cloud(parsed_args)
        out = self.app.stdout
        report = devcloud.up(
            agent=not parsed_args.no_agent,
            progress=lambda line: out.write(line + '\n'))
        if not report.started:
            out.write('A local cloud is already running in %s.\n'
                      % devcloud.state.root)
            _write_status(out, devcloud)
        else:
            out.write(
                'Local cloud up in %.1f s; resident memory %d MB '
                '(peak %d MB), summed over its processes.\n' % (
                    report.seconds, report.rss_bytes // MEGABYTE,
                    report.peak_rss_bytes // MEGABYTE))
        out.write('Use it with:\n  %s\n' % '\n  '.join(devcloud.env_lines()))
        out.write('cue-heat serve configuration: %s\n'
                  % devcloud.state.config_file)
        return 0


class Down(_DevCloudCommand):
    """Stop the local cloud's processes and remove its state."""

    def take_action(self, parsed_args):
        devcloud = self.cloud(parsed_args)
        if devcloud.down():
            self.app.stdout.write('Stopped and removed %s.\n'
                                  % devcloud.state.root)
        else:
            self.app.stdout.write('No local cloud in %s.\n'
                                  % devcloud.state.root)
        return 0


class Status(lister.Lister, _DevCloudCommand):
    """Show which local cloud service runs where."""

    def take_action(self, parsed_args):
        devcloud = self.cloud(parsed_args)
        rows = [(name, pid or '-', 'running' if pid else 'stopped', address)
                for name, pid, address in devcloud.status()]
        return ('Service', 'PID', 'State', 'Address'), rows


class Env(_DevCloudCommand):
    """Print the shell exports that point clients at the local cloud."""

    def take_action(self, parsed_args):
        devcloud = self.cloud(parsed_args)
        for line in devcloud.env_lines():
            self.app.stdout.write(line + '\n')
        return 0


class Agent(_DevCloudCommand):
    """Play the in-VM Heat agent for the simulated servers (foreground)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--interval', type=float, default=0.5,
            help='seconds between two polls of Heat (default 0.5)')
        return parser

    def take_action(self, parsed_args):
        from cue_heat.devcloud import agent
        devcloud = self.cloud(parsed_args)
        agent.NodeAgent.for_cloud(
            devcloud, interval=parsed_args.interval).run_forever()
        return 0


def _write_status(out, devcloud):
    for name, pid, address in devcloud.status():
        out.write('  %-9s %-8s %s\n' % (name, pid or 'stopped', address))
