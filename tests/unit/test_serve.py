"""``cue-heat serve`` settings and the gunicorn entry point."""

import logging
import logging.config

import falcon.testing

from cue_heat import app as app_module
from cue_heat import config as config_module
from cue_heat.api import middleware
from cue_heat.cli import serve

CONFIG = '''
[api]
bind = 127.0.0.1:9999
workers = 3

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:1/v3
'''


def test_api_section_sets_bind_and_workers(tmp_path):
    path = tmp_path / 'cue-heat.conf'
    path.write_text(CONFIG)

    loaded = config_module.load(str(path), environ={})

    assert (loaded.bind, loaded.workers) == ('127.0.0.1:9999', 3)


def test_get_app_reads_config_from_environment(tmp_path, monkeypatch):
    path = tmp_path / 'cue-heat.conf'
    path.write_text(CONFIG)
    monkeypatch.setenv('CUE_HEAT_CONFIG', str(path))

    client = falcon.testing.TestClient(app_module.get_app())

    assert client.simulate_get('/healthz').json == {'status': 'ok'}
    assert client.simulate_get('/v1/clusters').status_code == 401


def _logging_app(environ, start_response):
    logging.getLogger('cue_heat.test').info('inside the request')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def test_log_lines_carry_the_request_id(tmp_path):
    log_file = tmp_path / 'api.log'
    logging.config.dictConfig(serve.log_config(str(log_file)))
    app = middleware.RequestId(_logging_app, make_id=lambda: 'req-test-1')

    try:
        falcon.testing.TestClient(app).simulate_get('/')
    finally:
        logging.config.dictConfig({'version': 1, 'root': {'handlers': []},
                                   'disable_existing_loggers': False})

    lines = log_file.read_text().splitlines()
    assert any('inside the request' in line and '[req-test-1]' in line
               for line in lines)
    assert any('GET / 200' in line and '[req-test-1]' in line
               for line in lines)
