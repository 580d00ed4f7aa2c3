"""The HTTP contract of the REST API, on in-memory stacks.

A fake auth layer stands in for keystonemiddleware (token -> project,
401 otherwise) and one :class:`FakeStackClient` per project stands in
for Heat, so these tests check routing, status codes, error mapping,
secrets and headers; tests/functional/test_api.py runs the real thing.
"""

import datetime
import json
import uuid

import falcon
import falcon.testing
import pytest

from cue_heat import app as app_module
from cue_heat import config as config_module
from cue_heat import errors
from cue_heat.api import middleware
from cue_heat.api import openapi
from tests.unit import test_clusters

PASSWORD = 'Unit-test-pass1'
BODY = test_clusters.BODY
TOKENS = {'token-a': 'project-a', 'token-b': 'project-b'}
A = {'X-Auth-Token': 'token-a'}
B = {'X-Auth-Token': 'token-b'}


class FakeStacks(test_clusters.FakeStackClient):
    """FakeStackClient with UUID stack ids, as Heat gives them."""

    def __init__(self):
        super().__init__()
        self.failure = None

    def create_stack(self, stack_name, bundle, tags, parameters=None):
        fake_id = super().create_stack(stack_name, bundle, tags, parameters)
        stack_id = str(uuid.uuid4())
        stack = self.stacks.pop(fake_id)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.stacks[stack_id] = dict(
            stack, id=stack_id,
            creation_time=now.strftime('%Y-%m-%dT%H:%M:%SZ'))
        return stack_id

    def list_stacks(self, tags, marker=None, limit=None):
        if self.failure:
            raise self.failure
        return super().list_stacks(tags, marker, limit)


def fake_keystone(app, config):
    """Stand-in for auth_token: known tokens pass, others get 401."""
    def protected(environ, start_response):
        project_id = TOKENS.get(environ.get('HTTP_X_AUTH_TOKEN'))
        if project_id is None:
            start_response('401 Unauthorized',
                           [('Content-Type', 'application/json')])
            return [b'{"error": {"code": 401, "title": "Unauthorized"}}']
        environ['HTTP_X_PROJECT_ID'] = project_id
        return app(environ, start_response)
    return protected


@pytest.fixture
def projects():
    return {'project-a': FakeStacks(), 'project-b': FakeStacks()}


@pytest.fixture
def client(projects):
    app = app_module.create_app(
        config_module.Config(),
        stacks_factory=lambda caller: projects[caller.project_id],
        authenticate=fake_keystone)
    return falcon.testing.TestClient(app)


def _create(client, body=None):
    result = client.simulate_post('/v1/clusters', json=body or BODY,
                                  headers=A)
    assert result.status_code == 202, result.text
    return result.json


def _active(projects, cluster_id):
    return test_clusters._active(projects['project-a'], cluster_id)


@pytest.mark.parametrize('path', ['/', '/v1', '/healthz',
                                  '/v1/openapi.json'])
def test_public_paths_need_no_token(client, path):
    result = client.simulate_get(path)

    assert result.status_code == 200
    assert result.headers[middleware.HEADER].startswith('req-')


@pytest.mark.parametrize('method, path', [
    ('GET', '/v1/clusters'), ('POST', '/v1/clusters'),
    ('GET', '/v1/brokers'), ('GET', '/v1/clusters/%s' % uuid.uuid4()),
    ('GET', '/v1/'), ('GET', '/healthz/'),
])
def test_everything_else_needs_a_token(client, method, path):
    result = client.simulate_request(method, path, json=BODY)

    assert result.status_code == 401
    assert middleware.HEADER in result.headers


def test_create_cue_v1_body_returns_202_location_and_cluster(client):
    result = client.simulate_post('/v1/clusters', json=BODY, headers=A)

    assert result.status_code == 202
    cluster = result.json
    assert result.headers['Location'].endswith(
        '/v1/clusters/%s' % cluster['id'])
    assert cluster['status'] == 'BUILDING'
    assert cluster['name'] == BODY['name']
    assert cluster['size'] == 3
    assert cluster['network_id'] == BODY['network_id']
    assert PASSWORD not in result.text
    assert 'authentication' not in cluster


def test_show_list_events_of_own_cluster(client, projects):
    cluster = _create(client)
    _active(projects, cluster['id'])

    shown = client.simulate_get('/v1/clusters/%s' % cluster['id'],
                                headers=A)
    listed = client.simulate_get('/v1/clusters', headers=A)
    events = client.simulate_get(
        '/v1/clusters/%s/events' % cluster['id'], headers=A)

    assert shown.json['status'] == 'ACTIVE'
    assert shown.json['endpoints'] == shown.json['end_points'] != []
    assert [entry['id'] for entry in listed.json] == [cluster['id']]
    assert events.status_code == 200 and events.json == []


def test_other_project_gets_404_and_an_empty_list(client):
    cluster = _create(client)
    path = '/v1/clusters/%s' % cluster['id']

    assert client.simulate_get(path, headers=B).status_code == 404
    assert client.simulate_delete(path, headers=B).status_code == 404
    assert client.simulate_patch(path, json={'size': 1},
                                 headers=B).status_code == 404
    assert client.simulate_get('/v1/clusters', headers=B).json == []


@pytest.mark.parametrize('path', [
    '/v1/clusters/not-a-uuid', '/v1/clusters/%s' % uuid.uuid4(),
    '/v1/clusters/%s/events' % uuid.uuid4(), '/v1/nothing',
])
def test_unknown_cluster_or_path_is_404(client, path):
    result = client.simulate_get(path, headers=A)

    assert result.status_code == 404
    assert result.json['title']


@pytest.mark.parametrize('body, field', [
    ('{"name": "x", ', '_body'),
    ('', '_body'),
    ('[1, 2]', '_schema'),
    (json.dumps(dict(BODY, size='three')), 'size'),
    (json.dumps(dict(BODY, size=True)), 'size'),
    (json.dumps(dict(BODY, colour='blue')), 'colour'),
    (json.dumps(dict(BODY, broker='nats')), 'broker'),
    (json.dumps({'size': 3}), 'name'),
])
def test_bad_create_body_is_400_keyed_by_field(client, projects, body,
                                               field):
    result = client.simulate_post(
        '/v1/clusters', body=body, headers=dict(
            A, **{'Content-Type': 'application/json'}))

    assert result.status_code == 400
    assert field in result.json['fields']
    assert all(isinstance(messages, (list, dict))
               for messages in result.json['fields'].values())
    assert projects['project-a'].stacks == {}


@pytest.mark.parametrize('body, field', [
    ({'size': 'five'}, 'size'),
    ({'size': 5, 'colour': 'red'}, 'colour'),
    ({}, 'size'),
])
def test_bad_patch_body_is_400_keyed_by_field(client, body, field):
    cluster = _create(client)

    result = client.simulate_patch('/v1/clusters/%s' % cluster['id'],
                                   json=body, headers=A)

    assert result.status_code == 400
    assert field in result.json['fields']


@pytest.mark.parametrize('body, field', [
    ({}, '_schema'),
    ({'resize': {'size': 5}, 'heal': {}}, '_schema'),
    ({'reboot': {}}, 'reboot'),
    ({'resize': {'size': 2.5}}, 'resize'),
])
def test_bad_action_is_400_keyed_by_field(client, body, field):
    cluster = _create(client)

    result = client.simulate_post(
        '/v1/clusters/%s/actions' % cluster['id'], json=body, headers=A)

    assert result.status_code == 400
    assert field in result.json['fields']


def test_resize_patch_and_actions_answer_202(client, projects):
    cluster = _create(client)
    _active(projects, cluster['id'])
    path = '/v1/clusters/%s' % cluster['id']

    patched = client.simulate_patch(path, json={'size': 5}, headers=A)
    healed = client.simulate_post(path + '/actions', json={
        'heal': {'nodes': ['orders-1']}}, headers=A)
    resized = client.simulate_post(path + '/actions', json={
        'resize': {'size': 1, 'nodes': ['orders-2']}}, headers=A)

    assert [patched.status_code, healed.status_code,
            resized.status_code] == [202, 202, 202]
    updates = [call for call in projects['project-a'].calls
               if call[0] == 'update']
    assert [update[2] for update in updates] == [{'size': 5}, {},
                                                 {'size': 1}]


def test_delete_answers_202(client, projects):
    cluster = _create(client)

    result = client.simulate_delete('/v1/clusters/%s' % cluster['id'],
                                    headers=A)

    assert result.status_code == 202
    assert ('delete', cluster['id']) in projects['project-a'].calls


def test_same_name_is_409(client):
    _create(client)

    result = client.simulate_post('/v1/clusters', json=BODY, headers=A)

    assert result.status_code == 409
    assert 'already exists' in result.json['description']


def test_operation_in_progress_is_409(client):
    cluster = _create(client)

    result = client.simulate_patch('/v1/clusters/%s' % cluster['id'],
                                   json={'size': 5}, headers=A)

    assert result.status_code == 409


@pytest.mark.parametrize('failure, code', [
    (errors.HeatUnavailable('Heat cannot be reached: refused.'), 503),
    (errors.HeatRejected('Heat refused the request: bad.'), 400),
    (errors.AuthenticationFailed('Keystone refused: expired.'), 401),
    (errors.StackFailed('Cluster x is in ERROR.'), 502),
    (errors.ClusterConflict('Busy.'), 409),
    (errors.ClusterNotFound('x'), 404),
    (errors.InvalidSpec({'size': ['Bad.']}), 400),
    (RuntimeError('Traceback: password=%s' % PASSWORD), 500),
    (errors.TemplateError('{{ password }} %s' % PASSWORD), 500),
])
def test_every_domain_error_maps_to_its_status(client, projects, failure,
                                               code):
    projects['project-a'].failure = failure

    result = client.simulate_get('/v1/clusters', headers=A)

    assert result.status_code == code
    assert result.headers['Content-Type'].startswith('application/json')
    assert result.json['title']
    assert PASSWORD not in result.text
    assert 'Traceback' not in result.text
    assert '{{' not in result.text


def test_heat_unavailable_says_when_to_retry(client, projects):
    projects['project-a'].failure = errors.HeatUnavailable('down')

    result = client.simulate_get('/v1/clusters', headers=A)

    assert result.status_code == 503
    assert int(result.headers['Retry-After']) > 0


def test_internal_error_names_the_request_id(client, projects):
    projects['project-a'].failure = RuntimeError('boom')

    result = client.simulate_get('/v1/clusters', headers=A)

    assert result.headers[middleware.HEADER] in result.json['description']


@pytest.mark.parametrize('bad', [
    {'password': 12345678901},
    {'password': 'x' * 2000},
    {'password': PASSWORD + '\u00e9'},
    {'password': PASSWORD, 'extra': PASSWORD},
])
def test_no_password_in_any_error_body(client, bad):
    token = dict(BODY['authentication']['token'], **bad)
    body = dict(BODY, authentication={'type': 'PLAIN', 'token': token})
    secret = str(bad['password'])

    result = client.simulate_post('/v1/clusters', json=body, headers=A)

    assert result.status_code == 400
    assert secret not in result.text
    assert secret[:12] not in result.text


def test_no_secret_in_any_success_body(client, projects):
    cluster = _create(client)
    _active(projects, cluster['id'])
    path = '/v1/clusters/%s' % cluster['id']

    bodies = [client.simulate_get(path, headers=A).text,
              client.simulate_get('/v1/clusters', headers=A).text,
              client.simulate_patch(path, json={'size': 5},
                                    headers=A).text]

    assert all(PASSWORD not in body for body in bodies)
    assert all('password' not in body for body in bodies)


def test_list_query_is_checked(client):
    result = client.simulate_get('/v1/clusters', params={
        'limit': 'ten', 'marker': 'nope'}, headers=A)

    assert result.status_code == 400
    assert set(result.json['fields']) == {'limit', 'marker'}


def test_brokers_describe_versions_sizes_and_tuning_types(client):
    result = client.simulate_get('/v1/brokers', headers=A)

    rabbitmq = {broker['name']: broker
                for broker in result.json['brokers']}['rabbitmq']
    assert rabbitmq['default_version'] in rabbitmq['versions']
    assert rabbitmq['sizes']['max'] == config_module.DEFAULT_MAX_SIZE
    assert 2 in rabbitmq['sizes']['forbidden']
    assert {key['type'] for key in rabbitmq['tuning']} <= {
        'integer', 'number', 'string'}


def test_every_response_has_a_request_id(client):
    results = [client.simulate_get('/'),
               client.simulate_get('/v1/clusters'),
               client.simulate_get('/v1/clusters', headers=A),
               client.simulate_post('/v1/clusters', body='{',
                                    headers=A)]

    ids = [result.headers[middleware.HEADER] for result in results]
    assert len(set(ids)) == len(ids)
    assert all(result.headers[middleware.OPENSTACK_HEADER] == request_id
               for result, request_id in zip(results, ids, strict=True))


def test_openapi_document_marks_secrets_write_only():
    document = openapi.document()

    schemas = document['components']['schemas']
    assert schemas['Token']['properties']['password']['writeOnly']
    assert 'password' not in json.dumps(schemas['Cluster'])
    assert document['openapi'].startswith('3.')
    assert falcon.HTTP_202[:3] in document['paths']['/v1/clusters'][
        'post']['responses']
