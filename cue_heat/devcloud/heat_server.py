"""Heat's API, CFN API and engine in one process, run as a subprocess.

Heat 27 has no ``heat-all``; this rebuilds it from Heat's own pieces: the
engine service plus the ``heat-api`` and ``heat-api-cfn`` paste apps on
threaded wsgiref servers, with RPC between them over oslo.messaging's
in-process ``fake://`` transport. The compute stand-in
(:mod:`cue_heat.devcloud.compute`) is served here too, because the
servers it knows are the ones in Heat's database. Run as::

    python -m cue_heat.devcloud.heat_server --config-file heat.conf \\
        --api-port 8004 --cfn-port 8000 --compute-port 8774

It is the only module of cue-heat that imports Heat.
"""

import argparse
import os
import signal
import socketserver
import sys
import threading
from wsgiref import simple_server

from cue_heat.devcloud import compute

#: Seconds the engine gets to stop its stack threads before exit.
STOP_GRACE = 5
#: Resource name of the DeployedServer inside a simulated server stack.
SIMULATED_SERVER = 'server'



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
    parser.add_argument('--compute-port', type=int, required=True)
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


def _server_lookup():
    """Return a lookup of live simulated servers in Heat's database."""
    from heat.common import context
    from heat.db import api as db_api

    def lookup(server_id):
        admin = context.get_admin_context()
        found = db_api.resource_get_by_physical_resource_id(admin, server_id)
        # NOTE: Heat's resource rows keep no type; the provider template
        # (simulated/server.yaml) names its DeployedServer `server`.
        if found is None or found.name != SIMULATED_SERVER:
            return None
        if found.action == 'DELETE' and found.status == 'COMPLETE':
            return None
        return found.name
    return lookup


def _serve(port, app):
    return simple_server.make_server(
        '127.0.0.1', port, app,
        server_class=_ThreadingServer, handler_class=_QuietHandler)


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

    # NOTE: bind every port before the engine starts: its threads are not
    # daemonic, so a failed bind after engine.start() would hang the process.
    api = _serve(args.api_port, api_app)
    cfn = _serve(args.cfn_port, cfn_app)
    nova = _serve(args.compute_port, compute.make_app(_server_lookup()))
    _stop_on_signal([api, cfn, nova])
    engine.start()
    for server in (cfn, nova):
        threading.Thread(target=server.serve_forever, daemon=True).start()
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
