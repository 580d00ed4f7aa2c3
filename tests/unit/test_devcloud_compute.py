"""The compute stand-in's answers, through a WSGI call.

Heat's nova client discovers the API version before it looks a server
up; a 404 there reads as "no such server", and Heat then skips every
DELETE deployment (the leave steps), so discovery must answer too.
"""

import json

import pytest

from cue_heat.devcloud import compute

LIVE = '2ff7f6d2-7e34-426e-a7cc-7c8bb1b07d73'


def _get(path):
    app = compute.make_app({LIVE: 'server'}.get)
    seen = {}

    def start_response(status, headers):
        seen['status'] = status
    body = b''.join(app({'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
                         'HTTP_HOST': '127.0.0.1:8774'}, start_response))
    return seen['status'], json.loads(body)


@pytest.mark.parametrize('path, key', [('/', 'versions'),
                                       ('/v2.1', 'version'),
                                       ('/v2.1/', 'version')])
def test_version_discovery_answers(path, key):
    status, body = _get(path)

    assert status == '200 OK'
    found = body[key][0] if key == 'versions' else body[key]
    assert found['id'] == 'v2.1' and found['status'] == 'CURRENT'
    assert found['links'][0]['href'] == 'http://127.0.0.1:8774/v2.1/'


@pytest.mark.parametrize('path', ['/v2.1/servers/%s' % LIVE,
                                  '/v2.1/project-a/servers/%s' % LIVE])
def test_live_server_is_found(path):
    status, body = _get(path)

    assert status == '200 OK'
    assert body['server']['id'] == LIVE


@pytest.mark.parametrize('path', ['/v2.1/servers/gone', '/v2.1/flavors',
                                  '/v3'])
def test_anything_else_is_not_found(path):
    assert _get(path)[0] == '404 Not Found'
