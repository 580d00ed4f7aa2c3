"""Who is calling: Keystone auth in front, the caller's service behind.

keystonemiddleware's ``auth_token`` validates the token of every request
except the public paths (version documents, health, the OpenAPI
document) and answers 401 itself. Behind it, :class:`CallerServices`
gives each resource that acts on clusters a
:class:`cue_heat.clusters.ClusterService` speaking to Heat with the
caller's own token and project, so Heat's project scoping is the only
access rule: another project's cluster is simply not found.
"""

import dataclasses

import falcon
from keystonemiddleware import auth_token

from cue_heat import clusters

#: Paths served without a token (exact match).
PUBLIC_PATHS = frozenset({'/', '/v1', '/v1/openapi.json', '/healthz'})


@dataclasses.dataclass(frozen=True)
class Caller:
    """The validated identity a request acts with.

    :param project_id: the token's project (``X-Project-Id``).
    :param token: the caller's token (``X-Auth-Token``).
    :param auth: keystonemiddleware's auth plugin holding that token and
        its service catalog (``keystone.token_auth``), when present.
    """

    project_id: str
    token: str
    auth: object = None


def keystone(app, config):
    """Wrap *app* in keystonemiddleware's auth_token, as configured.

    :param config: the :class:`cue_heat.config.Config`; its
        ``auth_token`` dict is ``[keystone_authtoken]`` of the file.
    """
    return auth_token.AuthProtocol(app, dict(config.auth_token))


class PublicPaths:
    """WSGI dispatcher: public paths skip authentication.

    :param app: the application itself.
    :param protected: the same application behind authentication.
    """

    def __init__(self, app, protected):
        self._app = app
        self._protected = protected

    def __call__(self, environ, start_response):
        """Route the request around or through authentication."""
        if environ.get('PATH_INFO') in PUBLIC_PATHS:
            return self._app(environ, start_response)
        return self._protected(environ, start_response)


class CallerServices:
    """Falcon middleware: a ClusterService for the caller, per request.

    Only resources with ``acts_for_caller = True`` get one, as
    ``req.context.clusters``.

    :param stacks_factory: ``stacks_factory(caller)`` returns the Heat
        adapter acting for that :class:`Caller`.
    :param config: the service :class:`cue_heat.config.Config`.
    """

    def __init__(self, stacks_factory, config):
        self._stacks_factory = stacks_factory
        self._config = config

    def process_resource(self, req, resp, resource, params):
        """Build the caller's ClusterService before the responder runs."""
        if not getattr(resource, 'acts_for_caller', False):
            return
        caller = caller_of(req)
        req.context.clusters = clusters.ClusterService(
            self._stacks_factory(caller), self._config)


def caller_of(req):
    """Return the :class:`Caller` auth_token left on the request.

    :raises falcon.HTTPUnauthorized: no validated identity, which only
        happens when the app runs without authentication in front.
    """
    project_id = req.get_header('X-Project-Id')
    token = req.get_header('X-Auth-Token')
    if not project_id or not token:
        raise falcon.HTTPUnauthorized(
            title='Unauthorized',
            description='A Keystone token scoped to a project is required.')
    return Caller(project_id, token, req.env.get('keystone.token_auth'))
