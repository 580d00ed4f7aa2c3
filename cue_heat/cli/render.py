"""``cue-heat render``: write a cluster's HOT bundle to a directory.

The bundle runs without the service::

    openstack stack create -t DIR/cluster.yaml -e DIR/environment.yaml NAME

``environment.yaml`` holds every parameter, secrets included, and is
written readable by its owner only.
"""

import logging
import pathlib

from cliff import command

from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import rendering
from cue_heat import spec as spec_module
from cue_heat.cli import spec_options

LOG = logging.getLogger(__name__)


class Render(command.Command):
    """Render a cluster spec into a Heat bundle (no cloud needed)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'spec', metavar='SPEC', nargs='?', default=None,
            help='cluster spec, JSON or YAML (options override its '
                 'fields; without it the options make the whole spec)')
        parser.add_argument(
            '-o', '--output', metavar='DIR', required=True,
            help='directory to write; must not exist or be empty')
        parser.add_argument(
            '--config-file', dest='config_file', metavar='FILE',
            help='cue-heat configuration with the limits '
                 '(default: $CUE_HEAT_CONFIG)')
        spec_options.add_spec_options(parser, tuning_option='--config')
        return parser

    def take_action(self, parsed_args):
        config = config_module.load(parsed_args.config_file)
        body = spec_options.build_body(parsed_args, self.app.stdin)
        output = pathlib.Path(parsed_args.output)
        _check_output(output)

        render_to(body, output, config)

        self.app.stdout.write(
            'Wrote the bundle to %s. Create the stack with:\n'
            '  openstack stack create -t %s -e %s NAME\n' % (
                output, output / 'cluster.yaml',
                output / 'environment.yaml'))
        return 0


def render_to(body, directory, config):
    """Validate *body*, render it and write the bundle to *directory*.

    Nothing is written unless the spec is valid and renders.

    :raises cue_heat.errors.InvalidSpec: the body is not a valid spec.
    :raises cue_heat.errors.TemplateError: rendering or writing failed.
    """
    spec = spec_module.load_spec(body, config)
    bundle = rendering.render(spec, config)
    rendering.write_bundle(bundle, directory)
    LOG.info('Rendered a %s bundle (size=%s) into %s', spec['broker'],
             spec['size'], directory)
    return bundle


def _check_output(output):
    """Refuse an output path that write_bundle would refuse, as input."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise errors.InvalidSpec({'output': [
            'Output %s exists and is not an empty directory; nothing was '
            'written.' % output]})
