"""The Heat adapter: error translation and retries, without a network."""

import types

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
import pytest

from cue_heat import config as config_module
from cue_heat import errors
from cue_heat import heat


def _heat_error(cls, code, message='boom', error_type='Error'):
    body = ('{"code": %d, "error": {"message": "%s", "type": "%s", '
            '"traceback": "Traceback: secret internals"}}'
            % (code, message, error_type))
    return cls(body, code)


class FakeStacks:
    """Stands in for heatclient's stacks manager, failing on demand."""

    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def _next(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    def get(self, stack_id, resolve_outputs=True):
        self._next()
        return types.SimpleNamespace(to_dict=lambda: {'id': stack_id})

    def create(self, **fields):
        self._next()
        return {'stack': {'id': 'new-id'}}

    def update(self, stack_id, **fields):
        self._next()


def _client(failures):
    stacks = FakeStacks(failures)
    fake = types.SimpleNamespace(stacks=stacks)
    return heat.StackClient(fake, config_module.Config()), stacks


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(heat, 'RETRY_FIRST_WAIT', 0)
    monkeypatch.setattr(heat, 'RETRY_MAX_WAIT', 0)


@pytest.mark.parametrize('raised, expected', [
    (_heat_error(heat_exc.HTTPNotFound, 404), errors.ClusterNotFound),
    (_heat_error(heat_exc.HTTPConflict, 409, 'busy', 'ActionInProgress'),
     errors.OperationInProgress),
    (_heat_error(heat_exc.HTTPConflict, 409, 'exists', 'StackExists'),
     errors.ClusterConflict),
    (_heat_error(heat_exc.HTTPUnauthorized, 401), errors.AuthenticationFailed),
    (_heat_error(heat_exc.HTTPBadRequest, 400), errors.HeatRejected),
    (_heat_error(heat_exc.HTTPForbidden, 403), errors.HeatRejected),
    (_heat_error(heat_exc.HTTPInternalServerError, 500),
     errors.HeatUnavailable),
    (heat_exc.CommunicationError('down'), errors.HeatUnavailable),
    (ks_exc.ConnectFailure('refused'), errors.HeatUnavailable),
    (ks_exc.EndpointNotFound('no heat'), errors.HeatUnavailable),
    (ks_exc.Unauthorized('no'), errors.AuthenticationFailed),
])
def test_errors_translate_to_domain_errors(raised, expected):
    client, _ = _client([raised])

    with pytest.raises(expected) as caught:
        client.update_stack('s1', {'size': 3})

    assert caught.value.__cause__ is raised
    assert 'Traceback' not in str(caught.value)


def test_not_found_names_the_stack_as_cluster():
    client, _ = _client([_heat_error(heat_exc.HTTPNotFound, 404)])

    with pytest.raises(errors.ClusterNotFound) as caught:
        client.get_stack('abc')

    assert caught.value.cluster_id == 'abc'


@pytest.mark.parametrize('transient', [
    _heat_error(heat_exc.HTTPServiceUnavailable, 503),
    _heat_error(heat_exc.HTTPBadGateway, 502),
    _heat_error(heat_exc.HTTPException, 504),
    heat_exc.CommunicationError('reset'),
    ks_exc.ConnectFailure('refused'),
])
def test_idempotent_read_retries_transient_failures(transient):
    client, stacks = _client([transient, transient])

    assert client.get_stack('s1') == {'id': 's1'}
    assert stacks.calls == 3


def test_retries_give_up_after_the_last_attempt():
    failures = [_heat_error(heat_exc.HTTPServiceUnavailable, 503)] * 10
    client, stacks = _client(failures)

    with pytest.raises(errors.HeatUnavailable):
        client.get_stack('s1')
    assert stacks.calls == heat.RETRY_ATTEMPTS


def test_internal_server_error_is_not_retried():
    client, stacks = _client(
        [_heat_error(heat_exc.HTTPInternalServerError, 500)])

    with pytest.raises(errors.HeatUnavailable):
        client.get_stack('s1')
    assert stacks.calls == 1


@pytest.mark.parametrize('call', [
    lambda client: client.update_stack('s1', {'size': 5}),
    lambda client: client.create_stack(
        'name', types.SimpleNamespace(template='', files={},
                                      environment={}, parameters={}),
        ['cue-heat']),
])
def test_creates_and_updates_never_retry(call):
    client, stacks = _client(
        [_heat_error(heat_exc.HTTPServiceUnavailable, 503)])

    with pytest.raises(errors.HeatUnavailable):
        call(client)
    assert stacks.calls == 1


def test_environment_files_merge_over_the_bundle(tmp_path):
    provider = tmp_path / 'server.yaml'
    provider.write_text('heat_template_version: 2021-04-16\n')
    env = tmp_path / 'env.yaml'
    env.write_text('resource_registry:\n  OS::Nova::Server: server.yaml\n')
    config = config_module.Config(environment_files=(str(env),))
    client = heat.StackClient(types.SimpleNamespace(), config)
    bundle = types.SimpleNamespace(
        template='', files={'node.yaml': 'x'}, parameters={},
        environment={'resource_registry': {'OS::Cue::Part': 'part.yaml'},
                     'parameter_defaults': {'a': 1}})

    files, environment = client._environment(bundle)

    registry = environment['resource_registry']
    assert registry['OS::Cue::Part'] == 'part.yaml'
    assert registry['OS::Nova::Server'] == provider.as_uri()
    assert environment['parameter_defaults'] == {'a': 1}
    assert files['node.yaml'] == 'x'
    assert provider.as_uri() in files
    assert bundle.environment['resource_registry'] == {
        'OS::Cue::Part': 'part.yaml'}
