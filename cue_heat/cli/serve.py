"""``cue-heat serve``: the REST API under gunicorn.

The configuration file is read once in the master, checked, and handed
to each worker, which builds its own application after the fork. Log
lines of every process carry the request id they were written for.
"""

import logging

from cliff import command
from gunicorn.app import base

from cue_heat import app as app_module
from cue_heat import config as config_module

LOG = logging.getLogger(__name__)

LOG_FORMAT = ('%(asctime)s %(process)d %(levelname)s %(name)s '
              '[%(request_id)s] %(message)s')
#: gunicorn writes its access line after the request, outside its
#: context, so the id comes from the response header instead.
ACCESS_FORMAT = ('%(h)s "%(r)s" %(s)s %(b)s %(M)sms '
                 '%({x-request-id}o)s')


class Serve(command.Command):
    """Serve the REST API v1 with gunicorn."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--config', metavar='FILE', default=None,
            help='service configuration (default: CUE_HEAT_CONFIG)')
        parser.add_argument(
            '--bind', metavar='HOST:PORT', default=None,
            help='address to listen on (default: [api] bind)')
        parser.add_argument(
            '--workers', type=int, default=None,
            help='worker processes (default: [api] workers)')
        parser.add_argument(
            '--error-log', metavar='FILE', default=None,
            help='write the log here instead of standard error (the '
            'global --log-file is cliff\'s own)')
        return parser

    def take_action(self, parsed_args):
        config = config_module.load(parsed_args.config)
        options = {
            'bind': parsed_args.bind or config.bind,
            'workers': parsed_args.workers or config.workers,
            'logconfig_dict': log_config(parsed_args.error_log),
            'access_log_format': ACCESS_FORMAT,
            'proc_name': 'cue-heat-api',
            # NOTE: one control socket per user by default, which two
            # side-by-side servers would fight over; it is not needed.
            'control_socket_disable': True,
        }
        Gunicorn(config, options).run()


class Gunicorn(base.BaseApplication):
    """gunicorn application serving :func:`cue_heat.app.create_app`.

    :param config: the :class:`cue_heat.config.Config` to serve.
    :param options: gunicorn settings by name.
    """

    def __init__(self, config, options):
        self._config = config
        self._options = options
        super().__init__()

    def load_config(self):
        """Apply the settings (gunicorn calls this first)."""
        for name, value in self._options.items():
            if name in self.cfg.settings:
                self.cfg.set(name, value)

    def load(self):
        """Build the application in the worker."""
        return app_module.create_app(self._config)


def log_config(log_file=None):
    """Return a ``logging.config`` dict stamping lines with request ids.

    :param log_file: the file to append to; standard error when None.
    """
    if log_file:
        handler = {'class': 'logging.FileHandler', 'filename': log_file}
    else:
        handler = {'class': 'logging.StreamHandler',
                   'stream': 'ext://sys.stderr'}
    handler.update(formatter='request', filters=['request_id'])
    return {
        'version': 1,
        'disable_existing_loggers': False,
        'filters': {'request_id': {
            '()': 'cue_heat.api.middleware.RequestIdFilter'}},
        'formatters': {'request': {'format': LOG_FORMAT}},
        'handlers': {'main': handler},
        'root': {'level': 'INFO', 'handlers': ['main']},
        'loggers': {
            'gunicorn.error': {'handlers': [], 'propagate': True},
            'gunicorn.access': {'handlers': [], 'propagate': True},
            # NOTE: auth_token warns that the auth plugin options of
            # [keystone_authtoken] are unknown to it, then uses them.
            'keystonemiddleware._common.config': {'level': 'ERROR'},
        },
    }
