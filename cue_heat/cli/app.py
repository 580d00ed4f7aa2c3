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
        """Run one command, mapping bad input to exit status 2.

        NOTE: cliff catches every exception a command raises, logs its
        message (a traceback only with --debug) and returns 1; it hands
        the exception to :meth:`clean_up`, which keeps it here so that
        bad input can exit 2 instead.
        """
        self._failure = None
        result = super().run_subcommand(argv)
        if isinstance(self._failure, errors.InvalidSpec):
            return EXIT_BAD_INPUT
        if isinstance(self._failure, errors.CueHeatError):
            return EXIT_FAILURE
        return result

    def clean_up(self, cmd, result, err):
        """Keep the exception a command raised for run_subcommand."""
        self._failure = err


def main(argv=None):
    """Entry point of the ``cue-heat`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    return CueHeatApp().run(argv)


if __name__ == '__main__':
    sys.exit(main())
