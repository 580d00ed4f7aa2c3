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
        """Run one command; bad input exits 2, other failures 1.

        NOTE: cliff catches a command's exception itself, logs its
        message (a traceback only with --debug) and returns 1; the
        exception reaches :meth:`clean_up`, which is where bad input is
        told apart from other failures.
        """
        self._failure = None
        result = super().run_subcommand(argv)
        if isinstance(self._failure, errors.InvalidSpec):
            return EXIT_BAD_INPUT
        return result

    def clean_up(self, cmd, result, err):
        """Remember the command's exception for the exit status."""
        self._failure = err

def main(argv=None):
    """Entry point of the ``cue-heat`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    return CueHeatApp().run(argv)


if __name__ == '__main__':
    sys.exit(main())
