"""A compute API stand-in that answers one question: does a server exist.

Heat asks Nova before it waits for a software deployment's DELETE action
(``SoftwareDeployment._server_exists``): with no compute endpoint in the
catalog that call fails, and a scale-in never runs its leave step. This
WSGI app answers ``GET /v2.1/servers/{id}`` for the simulated servers
(the ``OS::Heat::DeployedServer`` inside each provider stack) and 404 for
anything else, so Heat waits for the node agent's DELETE signal exactly as
it would wait for a real VM's. It also answers version discovery
(``GET /`` and ``GET /v2.1``), which the client does first: a 404 there
reads as "no such server", and Heat would skip every DELETE step. Every
other path is 404: nothing else of Nova is simulated.
"""

import json
import re

#: The version prefix Heat's nova plugin puts in front of every path.
VERSION = 'v2.1'

_SERVER_PATH = re.compile(r'^/%s/(?:[^/]+/)?servers/([^/]+)/?$' % VERSION)
_VERSION_PATH = re.compile(r'^/%s/?$' % VERSION)


def make_app(lookup):
    """Return the WSGI app.

    :param lookup: a callable taking a server id and returning the server's
        name, or None when no such server exists (any more).
    """
    def app(environ, start_response):
        path = environ.get('PATH_INFO', '') or '/'
        if environ.get('REQUEST_METHOD') == 'GET':
            if path == '/':
                return _reply(start_response, '200 OK', {
                    'versions': [_version(environ)]})
            if _VERSION_PATH.match(path):
                return _reply(start_response, '200 OK', {
                    'version': _version(environ)})
        match = _SERVER_PATH.match(path)
        name = None
        if match and environ.get('REQUEST_METHOD') == 'GET':
            name = lookup(match.group(1))
        if name is None:
            return _reply(start_response, '404 Not Found', {'itemNotFound': {
                'code': 404, 'message': 'Server could not be found.'}})
        return _reply(start_response, '200 OK', {'server': {
            'id': match.group(1), 'name': name, 'status': 'ACTIVE',
            'addresses': {}, 'metadata': {}, 'links': []}})
    return app


def _version(environ):
    """The one API version served: 2.1 without microversions."""
    host = environ.get('HTTP_HOST') or '%s:%s' % (
        environ.get('SERVER_NAME'), environ.get('SERVER_PORT'))
    return {'id': VERSION, 'status': 'CURRENT',
            'version': '2.1', 'min_version': '2.1',
            'updated': '2013-07-23T11:33:21Z',
            'links': [{'rel': 'self',
                       'href': 'http://%s/%s/' % (host, VERSION)}]}


def _reply(start_response, status, body):
    payload = json.dumps(body).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(payload)))])
    return [payload]
