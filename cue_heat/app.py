"""The WSGI application: ``create_app`` wires it, ``get_app`` for gunicorn.

Run it with ``cue-heat serve --config FILE --bind HOST:PORT``, or with
gunicorn directly::

    CUE_HEAT_CONFIG=/etc/cue-heat/cue-heat.conf \\
        gunicorn 'cue_heat.app:get_app()'

From the outside in: the request id (:mod:`cue_heat.api.middleware`),
then Keystone's auth_token for every path but the public ones
(:mod:`cue_heat.api.auth`), then the Falcon app whose resources act on
Heat with the caller's own token.
"""

import falcon

from cue_heat import config as config_module
from cue_heat import heat
from cue_heat.api import auth
from cue_heat.api import brokers
from cue_heat.api import clusters
from cue_heat.api import errors
from cue_heat.api import middleware
from cue_heat.api import openapi
from cue_heat.api import versions


def create_app(config, stacks_factory=None, authenticate=None):
    """Build the whole WSGI application for *config*.

    :param config: a :class:`cue_heat.config.Config`.
    :param stacks_factory: ``stacks_factory(caller)`` returns the Heat
        adapter acting for an :class:`cue_heat.api.auth.Caller`; by
        default a :class:`cue_heat.heat.StackClient` on the caller's
        token. Tests inject an in-memory one.
    :param authenticate: ``authenticate(app, config)`` wraps *app* in
        authentication; keystonemiddleware's auth_token by default.
    """
    stacks_factory = stacks_factory or _heat_stacks(config)
    authenticate = authenticate or auth.keystone
    app = falcon.App(middleware=[
        auth.CallerServices(stacks_factory, config)])
    errors.register(app)
    _add_routes(app, config)
    protected = authenticate(app, config)
    return middleware.RequestId(auth.PublicPaths(app, protected))


def get_app():
    """Return the application configured from the environment.

    The entry point for gunicorn; ``CUE_HEAT_CONFIG`` names the file.
    """
    return create_app(config_module.load())


def _add_routes(app, config):
    app.add_route('/', versions.Root())
    app.add_route('/healthz', versions.Health())
    app.add_route('/v1', versions.Version())
    app.add_route('/v1/openapi.json', versions.OpenAPI(openapi.document()))
    app.add_route('/v1/brokers', brokers.Brokers(config))
    app.add_route('/v1/clusters', clusters.Collection())
    app.add_route('/v1/clusters/{cluster_id:uuid}', clusters.Item())
    app.add_route('/v1/clusters/{cluster_id:uuid}/actions',
                  clusters.Actions())
    app.add_route('/v1/clusters/{cluster_id:uuid}/events',
                  clusters.Events())


def _heat_stacks(config):
    """Return a factory of StackClients acting with a caller's token.

    The session rides on the auth plugin keystonemiddleware left for the
    request, so Heat sees the caller's own token and project.
    """
    def stacks_for(caller):
        session = heat.session_from_auth(caller.auth)
        return heat.StackClient.from_session(session, config)
    return stacks_for
