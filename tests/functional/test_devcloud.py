"""The local cloud's acceptance (issue 2), against the real local Heat.

One stack lives through the module, in order, as issue 2 describes it: an
``OS::Heat::AutoScalingGroup`` of 3 simulated servers, each configured by
an ``OS::Heat::SoftwareDeployment`` that the running node agent signals;
a PATCH scale to 5; one member marked unhealthy and replaced alone; a
deployment the agent is told to fail; the delete. All of it goes through
keystoneauth1 + python-heatclient as user-a; the ``openstack`` CLI lists
the stack from a shell.

The first tests hold the simulated provider templates to Heat's own
description of the resource types they stand in for.
"""

import copy
import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from heatclient import exc as heat_exc
from heatclient.common import template_utils

from cue_heat import config as config_module
from cue_heat import rendering
from cue_heat import spec as spec_module
from cue_heat.devcloud import clients
from cue_heat.devcloud import simulated

TEMPLATES = pathlib.Path(__file__).parent / 'templates'
#: Seconds a stack operation may take before the test gives up.
STACK_TIMEOUT = 300


def _wait(heat, stack_id, timeout=STACK_TIMEOUT):
    """Poll until the stack leaves IN_PROGRESS; return it."""
    deadline = time.monotonic() + timeout
    while True:
        stack = heat.stacks.get(stack_id)
        if stack.status != 'IN_PROGRESS':
            return stack
        if time.monotonic() > deadline:
            raise AssertionError('stack %s still %s after %d s' % (
                stack_id, stack.stack_status, timeout))
        time.sleep(1)


def _group_id(heat, stack_id):
    """Return the id of the ASG's nested stack."""
    return heat.resources.get(stack_id, 'group').physical_resource_id


def _members(heat, stack_id):
    """Return {member name: member stack id} of the stack's ASG."""
    return {resource.resource_name: resource.physical_resource_id
            for resource in heat.resources.list(_group_id(heat, stack_id))}


def _servers(heat, stack_id):
    """Return {member name: simulated server physical id}."""
    return {name: heat.resources.get(member_id, 'server').physical_resource_id
            for name, member_id in _members(heat, stack_id).items()}


def _output(heat, stack_id, key):
    return heat.stacks.output_show(stack_id, key)['output']['output_value']


def _provider(name):
    return yaml.safe_load((simulated.SOURCE / name).read_text())


@pytest.mark.parametrize('resource_type', sorted(simulated.PROVIDERS))
def test_provider_declares_heats_properties_and_attributes(
        heat_admin, resource_type):
    # Heat generates a provider template from the type's real schema,
    # whether or not the service behind the type exists here.
    facade = heat_admin.resource_types.generate_template(
        resource_type, template_type='hot')
    provider = _provider(simulated.PROVIDERS[resource_type])

    declared = {name: parameter['type'] for name, parameter
                in provider['parameters'].items()}
    wanted = {name: parameter['type'] for name, parameter
              in facade['parameters'].items()}
    assert declared == wanted
    missing = set(facade['outputs']) - set(provider['outputs'])
    assert missing == set()


#: A value of each parameter type, for properties a type requires.
_SAMPLES = {'string': 'sample', 'number': 1, 'boolean': False, 'json': {},
            'comma_delimited_list': []}


def _required_properties(resource_type):
    parameters = _provider(simulated.PROVIDERS[resource_type])['parameters']
    return {name: _SAMPLES[parameter['type']]
            for name, parameter in parameters.items()
            if 'default' not in parameter}


def test_heat_accepts_every_simulated_type(heat_a, simulated_environment):
    resources = {
        'r%d' % index: {'type': resource_type,
                        'properties': _required_properties(resource_type)}
        for index, resource_type in enumerate(sorted(simulated.PROVIDERS))}
    template = {'heat_template_version': '2021-04-16',
                'resources': resources}

    # NOTE: a preview runs Heat's full validation, which holds each
    # provider to its facade type; stacks.validate checks syntax only.
    preview = heat_a.stacks.preview(
        stack_name='preview-types', template=template,
        **simulated_environment)

    assert len(preview.resources) == len(resources)


def test_heat_rejects_a_provider_missing_an_attribute(
        heat_a, simulated_environment, tmp_path):
    broken = _provider('server.yaml')
    del broken['outputs']['first_address']
    path = tmp_path / 'server.yaml'
    path.write_text(yaml.safe_dump(broken))
    environment = copy.deepcopy(simulated_environment)
    environment['environment']['resource_registry'][
        'OS::Nova::Server'] = path.as_uri()
    environment['files'][path.as_uri()] = path.read_text()
    template = {'heat_template_version': '2021-04-16',
                'resources': {'server': {
                    'type': 'OS::Nova::Server',
                    'properties': _required_properties('OS::Nova::Server')}}}

    with pytest.raises(heat_exc.HTTPBadRequest) as raised:
        heat_a.stacks.preview(stack_name='preview-broken',
                              template=template, **environment)

    assert 'first_address' in str(raised.value)


def _simulated_uses(hot, files):
    """Yield (type, properties, attributes) the templates use."""
    documents = [hot] + [yaml.safe_load(text) for name, text in files.items()
                         if name.endswith('.yaml')]
    for document in documents:
        resources = (document or {}).get('resources') or {}
        for name, resource in resources.items():
            if resource.get('type') not in simulated.PROVIDERS:
                continue
            used = set()
            _collect_attributes(document, name, used)
            yield (resource['type'], set(resource.get('properties') or ()),
                   used)


def _collect_attributes(node, resource_name, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == 'get_attr' and isinstance(value, list)
                    and value[0] == resource_name and len(value) > 1):
                found.add(value[1])
            _collect_attributes(value, resource_name, found)
    elif isinstance(node, list):
        for item in node:
            _collect_attributes(item, resource_name, found)


def _rendered_bundle():
    config = config_module.load(environ={})
    spec = spec_module.load_spec({
        'name': 'provider check', 'size': 3, 'flavor': 'm1.small',
        'network_id': ['0f2b5a8e-1c3d-4e5f-8a9b-0c1d2e3f4a5b'],
        'volume_size': 10,
        'authentication': {'type': 'PLAIN', 'token': {
            'username': 'cue-admin', 'password': 'Not-used-here1'}},
    }, config)
    return rendering.render(spec, config)


def test_providers_cover_what_the_templates_use():
    bundle = _rendered_bundle()
    sources = [(yaml.safe_load(bundle.template), bundle.files)]
    sources.append((yaml.safe_load(
        (TEMPLATES / 'asg_cluster.yaml').read_text()), {
        'asg_member.yaml': (TEMPLATES / 'asg_member.yaml').read_text()}))
    seen = set()

    for hot, files in sources:
        for resource_type, properties, attributes in _simulated_uses(
                hot, files):
            provider = _provider(simulated.PROVIDERS[resource_type])
            seen.add(resource_type)
            assert properties <= set(provider['parameters']), resource_type
            assert attributes <= set(provider['outputs']), resource_type

    assert 'OS::Nova::Server' in seen


@pytest.fixture(scope='module')
def stack(heat_a, simulated_environment):
    """The acceptance stack of user-a: 3 members, created by the test."""
    files, template = template_utils.get_template_contents(
        template_file=str(TEMPLATES / 'asg_cluster.yaml'))
    files.update(simulated_environment['files'])
    created = heat_a.stacks.create(
        stack_name='devcloud-%s' % uuid.uuid4().hex[:8], template=template,
        files=files, environment=simulated_environment['environment'],
        parameters={'size': 3}, disable_rollback=True)
    stack_id = created['stack']['id']
    holder = {'id': stack_id}
    yield holder
    try:
        heat_a.stacks.delete(stack_id)
    except heat_exc.HTTPNotFound:
        pass


def test_asg_of_simulated_servers_reaches_create_complete(heat_a, stack):
    created = _wait(heat_a, stack['id'])

    assert created.stack_status == 'CREATE_COMPLETE', (
        created.stack_status_reason)
    assert _output(heat_a, stack['id'], 'current_size') == 3
    stdouts = _output(heat_a, stack['id'], 'stdouts')
    assert len(stdouts) == 3
    assert all(out.startswith('simulated CREATE of configure on ')
               for out in stdouts)
    addresses = _output(heat_a, stack['id'], 'node_addresses')
    assert len(set(addresses)) == 3
    assert sorted(_output(heat_a, stack['id'], 'node_ips')) == sorted(
        addresses)
    stack['servers'] = _servers(heat_a, stack['id'])


def test_openstack_cli_lists_the_stack(devcloud, stack):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=devcloud.clouds_yaml)
    env.pop('OS_CLOUD', None)
    openstack = pathlib.Path(sys.executable).parent / 'openstack'

    listed = subprocess.run(
        [str(openstack), '--os-cloud', clients.DEFAULT_CLOUD, 'stack',
         'list', '-f', 'json'],
        env=env, capture_output=True, text=True, timeout=120, check=False)

    assert listed.returncode == 0, listed.stderr
    rows = {row['ID']: row for row in json.loads(listed.stdout)}
    assert rows[stack['id']]['Stack Status'] == 'CREATE_COMPLETE'


def _patch_size(heat, stack_id, size):
    """PATCH the size alone, wait for the update and return the stack."""
    heat.stacks.update(stack_id, existing=True, parameters={'size': size},
                       disable_rollback=True)
    return _wait(heat, stack_id)


def test_patch_update_scales_to_five_and_keeps_members(heat_a, stack):
    updated = _patch_size(heat_a, stack['id'], 5)
    assert updated.stack_status == 'UPDATE_COMPLETE', (
        updated.stack_status_reason)
    assert _output(heat_a, stack['id'], 'current_size') == 5
    servers = _servers(heat_a, stack['id'])
    assert len(servers) == 5
    for name, server_id in stack['servers'].items():
        assert servers[name] == server_id
    assert len(_output(heat_a, stack['id'], 'stdouts')) == 5
    stack['servers'] = servers


def test_unhealthy_member_alone_is_replaced(heat_a, stack):
    before = _members(heat_a, stack['id'])
    victim = sorted(before)[1]
    heat_a.resources.mark_unhealthy(
        _group_id(heat_a, stack['id']), victim, True, 'acceptance test')

    heat_a.stacks.update(stack['id'], existing=True,
                         disable_rollback=True)

    updated = _wait(heat_a, stack['id'])
    assert updated.stack_status == 'UPDATE_COMPLETE', (
        updated.stack_status_reason)
    after = _members(heat_a, stack['id'])
    servers = _servers(heat_a, stack['id'])
    assert set(after) == set(before)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {victim}
    changed = {name for name in servers
               if servers[name] != stack['servers'][name]}
    assert changed == {victim}


def test_scale_in_waits_for_the_leaving_nodes_delete_step(
        heat_a, stack, agent_rules, settle):
    # Heat asks the compute stand-in whether the server still exists
    # before it waits for a DELETE deployment: a failing leave step must
    # stop the scale-in, as on a real cloud.
    stderr = 'node says: cannot leave (%s)' % uuid.uuid4().hex[:8]
    agent_rules.fail(node='*', config='leave', stderr=stderr)

    refused = _patch_size(heat_a, stack['id'], 4)
    assert refused.stack_status == 'UPDATE_FAILED'
    assert stderr in refused.stack_status_reason or any(
        stderr in (event.resource_status_reason or '') for event in
        heat_a.events.list(stack['id'], nested_depth=2))

    agent_rules.reset()
    settle(heat_a)
    updated = _patch_size(heat_a, stack['id'], 4)
    assert updated.stack_status == 'UPDATE_COMPLETE', (
        updated.stack_status_reason)
    assert _output(heat_a, stack['id'], 'current_size') == 4


def test_failed_deployment_fails_stack_with_node_stderr(
        heat_a, stack, agent_rules):
    stderr = 'node says: cannot join (%s)' % uuid.uuid4().hex[:8]
    agent_rules.fail(node='*', config='configure', status_code=3,
                     stderr=stderr)

    heat_a.stacks.update(stack['id'], existing=True,
                         parameters={'size': 6}, disable_rollback=True)

    failed = _wait(heat_a, stack['id'])
    assert failed.stack_status == 'UPDATE_FAILED'
    reasons = [event.resource_status_reason for event in
               heat_a.events.list(stack['id'], nested_depth=2)]
    assert any(stderr in (reason or '') for reason in reasons)
    assert any('status code: 3' in (reason or '') for reason in reasons)


def test_delete_completes(heat_a, stack):
    heat_a.stacks.delete(stack['id'])

    try:
        deleted = _wait(heat_a, stack['id'])
    except heat_exc.HTTPNotFound:
        return
    assert deleted.stack_status == 'DELETE_COMPLETE', (
        deleted.stack_status_reason)
