"""The REST API served by gunicorn, on the real local Keystone + Heat.

Two ``cue-heat serve`` processes run side by side on free loopback ports
with the devcloud's cue-heat.conf. Requests carry real tokens of the two
project users; every response is checked against the OpenAPI document
the server itself serves, and a short schemathesis run fuzzes the whole
API for server errors and schema violations.
"""

import os
import re
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
import schemathesis

NETWORK = '6f1c6a8e-0d35-4c53-9b7c-3c1a2a6a8d10'
PASSWORD = 'Api-functional-pass1'
#: Seconds a server may take to answer /healthz after starting.
START_TIMEOUT = 60
#: Seconds a cluster operation may take on the local cloud.
OPERATION_TIMEOUT = 240
BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Server:
    """One ``cue-heat serve`` process and where its log goes."""

    def __init__(self, config_file, log_file):
        self.url = 'http://127.0.0.1:%d' % _free_port()
        self.log_file = log_file
        self._stderr = open(str(log_file) + '.stderr', 'w+')
        self._process = subprocess.Popen(
            [os.path.join(BIN, 'cue-heat'), 'serve',
             '--config', config_file, '--bind', self.url[len('http://'):],
             '--workers', '2', '--error-log', str(log_file)],
            stdout=subprocess.DEVNULL, stderr=self._stderr)

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._stderr.seek(0)
                pytest.fail('cue-heat serve exited: %s'
                            % self._stderr.read()[-2000:])
            try:
                requests.get(self.url + '/healthz', timeout=2)
                return self
            except requests.ConnectionError:
                time.sleep(0.3)
        pytest.fail('cue-heat serve did not answer in %d s' % START_TIMEOUT)

    def stop(self):
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()

    def log_lines(self, request_id):
        with open(self.log_file) as log:
            return [line for line in log if request_id in line]


@pytest.fixture(scope='module')
def servers(devcloud, tmp_path_factory):
    logs = tmp_path_factory.mktemp('api-logs')
    started = [Server(devcloud.config_file, logs / ('api-%d.log' % index))
               for index in (1, 2)]
    try:
        yield [server.wait_ready() for server in started]
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope='module')
def schema(servers):
    return schemathesis.openapi.from_url(servers[0].url + '/v1/openapi.json')


@pytest.fixture(scope='module')
def token_a(session_a):
    return session_a.get_token()


@pytest.fixture(scope='module')
def token_b(session_b):
    return session_b.get_token()


def _call(schema, server, method, path, token=None, template=None,
          **kwargs):
    """Make a request and check its answer against the OpenAPI document.

    :param template: the document's path when *path* has an id in it.
    """
    headers = {'X-Auth-Token': token} if token else {}
    response = requests.request(method, server.url + path,
                                headers=headers, timeout=60, **kwargs)
    operation = schema[template or path][method.upper()]
    operation.validate_response(response)
    assert response.headers['X-Request-ID'].startswith('req-')
    return response


def _body(name, size=1):
    return {
        'name': name, 'size': size, 'flavor': 'm1.small', 'volume_size': 0,
        'network_id': [NETWORK],
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'app', 'password': PASSWORD}},
    }


def _wait(schema, server, token, cluster_id, statuses):
    path = '/v1/clusters/%s' % cluster_id
    deadline = time.monotonic() + OPERATION_TIMEOUT
    while time.monotonic() < deadline:
        response = _call(schema, server, 'get', path, token,
                         '/v1/clusters/{cluster_id}')
        if response.status_code == 404 and 404 in statuses:
            return None
        assert response.status_code == 200, response.text
        cluster = response.json()
        assert cluster['status'] != 'ERROR', cluster['status_reason']
        if cluster['status'] in statuses:
            return cluster
        time.sleep(1)
    pytest.fail('cluster %s never reached %s' % (cluster_id, statuses))


def _wait_unlisted(schema, server, token, cluster_id):
    """Wait until a deleted cluster leaves the listing.

    NOTE: the stack's events can say DELETE COMPLETE a moment before
    Heat drops the stack from its listing.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = _call(schema, server, 'get', '/v1/clusters', token)
        if cluster_id not in [entry['id'] for entry in listed.json()]:
            return
        time.sleep(1)
    pytest.fail('deleted cluster %s is still listed' % cluster_id)


def test_public_paths_and_no_token(schema, servers):
    for path in ('/', '/healthz', '/v1'):
        assert _call(schema, servers[0], 'get', path).status_code == 200

    for path in ('/v1/clusters', '/v1/brokers'):
        response = _call(schema, servers[0], 'get', path)
        assert response.status_code == 401
    refused = _call(schema, servers[1], 'get', '/v1/clusters',
                    token='not-a-token')
    assert refused.status_code == 401


def test_brokers_with_a_real_token(schema, servers, token_a):
    response = _call(schema, servers[1], 'get', '/v1/brokers', token_a)

    assert response.status_code == 200
    assert 'rabbitmq' in [broker['name']
                          for broker in response.json()['brokers']]


def test_bad_body_is_400_keyed_by_field(schema, servers, token_a):
    response = _call(schema, servers[0], 'post', '/v1/clusters', token_a,
                     json=dict(_body('bad'), size='one', colour='red'))

    assert response.status_code == 400
    assert {'size', 'colour'} <= set(response.json()['fields'])
    assert PASSWORD not in response.text


def test_cluster_through_two_servers_and_two_projects(
        schema, servers, token_a, token_b, session_a):
    first, second = servers
    project_a = session_a.get_project_id()
    name = 'api %s' % uuid.uuid4().hex[:6]
    item = '/v1/clusters/{cluster_id}'

    created = _call(schema, first, 'post', '/v1/clusters', token_a,
                    json=_body(name))
    assert created.status_code == 202, created.text
    cluster = created.json()
    path = '/v1/clusters/%s' % cluster['id']
    assert created.headers['Location'] == first.url + path
    assert cluster['status'] == 'BUILDING' and cluster['name'] == name
    assert PASSWORD not in created.text
    request_id = created.headers['X-Request-ID']
    lines = first.log_lines(request_id)
    assert any('Creating stack' in line for line in lines), (
        request_id, open(first.log_file).read()[-3000:])

    for method, kwargs in (('get', {}), ('delete', {}),
                           ('patch', {'json': {'size': 3}})):
        other = _call(schema, second, method, path, token_b, item,
                      **kwargs)
        assert other.status_code == 404, (method, other.text)
    forged = requests.get(second.url + path, timeout=60, headers={
        'X-Auth-Token': token_b, 'X-Project-Id': project_a})
    assert forged.status_code == 404, forged.text
    listed_b = _call(schema, second, 'get', '/v1/clusters', token_b)
    assert cluster['id'] not in [entry['id'] for entry in listed_b.json()]
    listed_a = _call(schema, second, 'get', '/v1/clusters', token_a)
    assert cluster['id'] in [entry['id'] for entry in listed_a.json()]

    active = _wait(schema, second, token_a, cluster['id'], {'ACTIVE'})
    assert len(active['nodes']) == 1 and active['endpoints']

    resized = _call(schema, second, 'patch', path, token_a, item,
                    json={'size': 3})
    assert resized.status_code == 202, resized.text
    busy = _call(schema, first, 'post', path + '/actions', token_a,
                 item + '/actions', json={'resize': {'size': 5}})
    assert busy.status_code == 409, busy.text
    grown = _wait(schema, first, token_a, cluster['id'], {'ACTIVE'})
    assert grown['size'] == 3 and len(grown['nodes']) == 3
    healed = _call(schema, second, 'post', path + '/actions', token_a,
                   item + '/actions',
                   json={'heal': {'nodes': [grown['nodes'][0]['name']]}})
    assert healed.status_code == 202, healed.text
    assert healed.json()['status'] == 'UPDATING'
    healthy = _wait(schema, first, token_a, cluster['id'], {'ACTIVE'})
    assert len(healthy['nodes']) == 3
    assert healthy['health'] == 'OK'
    events = _call(schema, second, 'get', path + '/events', token_a,
                   item + '/events', params={'limit': 5})
    assert len(events.json()) == 5

    deleted = _call(schema, first, 'delete', path, token_a, item)
    assert deleted.status_code == 202
    _wait(schema, second, token_a, cluster['id'], {'DELETED', 404})
    _wait_unlisted(schema, first, token_a, cluster['id'])
    assert PASSWORD not in open(first.log_file).read()


def test_schemathesis_finds_no_server_error(servers, token_a, tmp_path):
    """Fuzz every operation briefly, with a real token."""
    run = subprocess.run(
        [os.path.join(BIN, 'st'), 'run',
         servers[0].url + '/v1/openapi.json',
         '--header', 'X-Auth-Token: %s' % token_a,
         '--checks', 'not_a_server_error,status_code_conformance,'
         'content_type_conformance,response_headers_conformance,'
         'response_schema_conformance',
         '--phases', 'examples,coverage,fuzzing', '--max-examples', '25',
         '--seed', '5', '--workers', '1', '--no-color',
         '--report-dir', str(tmp_path)],
        capture_output=True, text=True, timeout=240)

    assert run.returncode == 0, run.stdout[-4000:]
    assert 'Tested: 11' in run.stdout, run.stdout[-4000:]
    cases = re.search(r'(\d+) generated, (\d+) passed', run.stdout)
    assert cases and cases.group(1) == cases.group(2) != '0', run.stdout
    print('schemathesis: %s' % cases.group(0))
