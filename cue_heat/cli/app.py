"""The ``cue-heat`` command: a cliff application.

Commands are registered as ``cue_heat.cli`` entry points in setup.cfg;
cliff turns ``devcloud_up`` into the two words ``devcloud up``.
"""

import sys

from cliff import app
from cliff import commandmanager

from cue_heat import errors

#: Exit status for input the user must fix (bad spec, unknown node).
EXIT_BAD_INPUT = 2
#: Exit status for any other failure cue-heat reports.
EXIT_FAILURE = 1


class CueHeatApp(app.App):
    """Application object shared by every ``cue-heat`` command."""

    def __init__(self):
        super().__init__(
            description='Message-broker clusters as OpenStack Heat stacks.',
            version='0.1.0',
            command_manager=commandmanager.CommandManager('cue_heat.cli'),
            deferred_help=True,
        )

    def run_subcommand(self, argv):
        """Run one command, mapping cue-heat errors to exit statuses.

        NOTE: cliff would print a traceback for any exception with
        --debug and a bare message otherwise, always exiting 1; bad input
        must exit 2 and never show a traceback, so it is caught here.
        """
        try:
            return super().run_subcommand(argv)
        except errors.InvalidSpec as ex:
            self.stderr.write('Error: %s\n' % ex)
            return EXIT_BAD_INPUT
        except errors.CueHeatError as ex:
            self.stderr.write('Error: %s\n' % ex)
            return EXIT_FAILURE


def main(argv=None):
    """Entry point of the ``cue-heat`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    return CueHeatApp().run(argv)


if __name__ == '__main__':
    sys.exit(main())
