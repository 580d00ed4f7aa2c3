"""Heat's API, CFN API and engine in one process, run as a subprocess.

Heat 27 has no ``heat-all``; this rebuilds it from Heat's own pieces: the
engine service plus the ``heat-api`` and ``heat-api-cfn`` paste apps on
threaded wsgiref servers, with RPC between them over oslo.messaging's
in-process ``fake://`` transport. Run as::

    python -m cue_heat.devcloud.heat_server --config-file heat.conf \\
        --api-port 8004 --cfn-port 8000

It is the only module of cue-heat that imports Heat.
"""

import argparse
import os
import signal
import socketserver
import sys
import threading
from wsgiref import simple_server

#: Seconds the engine gets to stop its stack threads before exit.
STOP_GRACE = 5


class _ThreadingServer(socketserver.ThreadingMixIn,
                       simple_server.WSGIServer):
    """A wsgiref server that answers each request on its own thread."""

    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(simple_server.WSGIRequestHandler):
    """Request handler that leaves access logging to Heat's own log."""

    def log_message(self, format, *args):  # noqa: A002
        pass


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog='cue-heat-devcloud-heat')
    parser.add_argument('--config-file', required=True)
    parser.add_argument('--api-port', type=int, required=True)
    parser.add_argument('--cfn-port', type=int, required=True)
    return parser.parse_args(argv)


def _load_heat(config_file):
    """Configure Heat and return (api app, cfn app, engine service).

    NOTE: the order is Heat's: the threading backend before any Heat
    import, ``messaging.setup()`` before ``transport_url`` exists, and the
    sanity check only after ``heat.engine.service`` registered its options.
    """
    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING)

    from heat import version
    from heat.common import config
    from heat.common import messaging
    from heat.rpc import api as rpc_api
    from oslo_config import cfg
    from oslo_log import log as logging

    conf = cfg.CONF
    logging.register_options(conf)
    conf(['--config-file', config_file], project='heat', prog='heat-all',
         version=version.version_info.version_string())
    logging.setup(conf, 'heat-all')
    config.set_config_defaults()
    messaging.setup()
    if not conf.transport_url.startswith('fake://'):
        sys.exit('heat_server runs only with transport_url = fake://')
    from heat.engine import service as engine_service
    config.startup_sanity_check()
    api_app = config.load_paste_app('heat-api')
    cfn_app = config.load_paste_app('heat-api-cfn')
    engine = engine_service.EngineService(conf.host, rpc_api.ENGINE_TOPIC)
    return api_app, cfn_app, engine


def _stop_on_signal(servers):
    """Shut the HTTP servers down on SIGTERM or SIGINT."""
    def handler(signum, frame):
        for server in servers:
            threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv=None):
    """Serve Heat until SIGTERM, then stop the engine and exit."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    api_app, cfn_app, engine = _load_heat(args.config_file)

    # NOTE: bind both ports before the engine starts: its threads are not
    # daemonic, so a failed bind after engine.start() would hang the process.
    api = simple_server.make_server(
        '127.0.0.1', args.api_port, api_app,
        server_class=_ThreadingServer, handler_class=_QuietHandler)
    cfn = simple_server.make_server(
        '127.0.0.1', args.cfn_port, cfn_app,
        server_class=_ThreadingServer, handler_class=_QuietHandler)
    _stop_on_signal([api, cfn])
    engine.start()
    threading.Thread(target=cfn.serve_forever, daemon=True).start()
    api.serve_forever()

    # NOTE: engine.stop() waits for stack threads (a deployment waiting
    # for its signal waits forever), so it gets a grace period; the next
    # engine start marks stacks left IN_PROGRESS as FAILED.
    stopper = threading.Thread(target=engine.stop, daemon=True)
    stopper.start()
    stopper.join(STOP_GRACE)
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
