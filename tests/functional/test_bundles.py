"""The example bundles under examples/, as Heat users run them.

Every example goes through Heat's own template validation and then
becomes a real stack on the session's local Keystone + Heat, with the
devcloud's node agent running the deployments. The default example is
created with the README's exact ``openstack stack create`` command, in a
real process, and then resized 3 -> 5 -> 3 by PATCH updates of ``size``.
"""

import os
import pathlib
import subprocess
import sys
import time
import uuid

import pytest
from heatclient import exc as heat_exc
from heatclient.common import template_utils

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'examples'
BUNDLES = sorted(path.parent.name for path in EXAMPLES.glob('*/bundle'))
#: The example the README command creates and the resize test uses.
CLI_EXAMPLE = 'default'
#: Seconds a create, update or delete may take on the local cloud.
WAIT_SECONDS = 240


def _bundle(name):
    return EXAMPLES / name / 'bundle'


def _heat_inputs(bundle, environment_file):
    """Read a bundle as ``openstack stack create -t -e -e`` reads it."""
    files, template = template_utils.get_template_contents(
        template_file=str(bundle / 'cluster.yaml'))
    env_files, environment = (
        template_utils.process_multiple_environments_and_files(
            [str(bundle / 'environment.yaml'), environment_file]))
    return {'template': template, 'files': dict(files, **env_files),
            'environment': environment}


def _readme_command(devcloud, bundle, stack_name):
    """Run the README's stack create command plus the devcloud's env."""
    openstack = pathlib.Path(sys.executable).parent / 'openstack'
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=devcloud.clouds_yaml,
               OS_CLOUD='devcloud-a')
    return subprocess.run(
        [str(openstack), 'stack', 'create',
         '-t', str(bundle / 'cluster.yaml'),
         '-e', str(bundle / 'environment.yaml'),
         '-e', devcloud.environment_file, stack_name],
        env=env, capture_output=True, text=True, check=False, timeout=120)


def _wait(heat, stack_id, done):
    """Poll the stack until *done* says so or it fails; return it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        stack = heat.stacks.get(stack_id)
        if stack.stack_status.endswith('_FAILED'):
            raise AssertionError('%s %s: %s' % (
                stack.stack_name, stack.stack_status,
                stack.stack_status_reason))
        if done(stack):
            return stack
        time.sleep(2)
    raise AssertionError('%s still %s after %d s' % (
        stack_id, heat.stacks.get(stack_id).stack_status, WAIT_SECONDS))


def _wait_gone(heat, stack_ids):
    deadline = time.monotonic() + WAIT_SECONDS
    left = set(stack_ids)
    while left and time.monotonic() < deadline:
        for stack_id in sorted(left):
            try:
                stack = heat.stacks.get(stack_id)
            except heat_exc.HTTPNotFound:
                left.discard(stack_id)
                continue
            if stack.stack_status in ('DELETE_COMPLETE', 'DELETE_FAILED'):
                left.discard(stack_id)
        time.sleep(2)
    return left


def _nodes(heat, stack_id):
    """Return member name -> server id from the stack's nodes output."""
    stack = heat.stacks.get(stack_id)
    for output in stack.outputs:
        if output['output_key'] == 'nodes':
            return {member: node['server_id']
                    for member, node in output['output_value'].items()}
    raise AssertionError('stack %s has no nodes output' % stack_id)


def _cookie(heat, stack_id):
    resource = heat.resources.get(stack_id, 'erlang_cookie',
                                  with_attr=['value'])
    return resource.physical_resource_id, resource.attributes['value']


def _resize(heat, stack_id, size):
    """PATCH ``size`` alone and wait until the group holds *size*."""
    heat.stacks.update(stack_id, existing=True, parameters={'size': size})
    return _wait(heat, stack_id, lambda stack: (
        stack.stack_status == 'UPDATE_COMPLETE'
        and len(_nodes(heat, stack_id)) == size))


@pytest.fixture(scope='module')
def stacks(devcloud, heat_a):
    """Create one stack per example, all at once; delete them after.

    The CLI example is created by the README command in a subprocess,
    the others through heatclient with the same files. Yields
    ``(stack ids by example, the README command's result)``.
    """
    suffix = uuid.uuid4().hex[:6]
    created, command = {}, None
    try:
        for name in BUNDLES:
            stack_name = 'example-%s-%s' % (name, suffix)
            if name == CLI_EXAMPLE:
                command = _readme_command(devcloud, _bundle(name),
                                          stack_name)
                if command.returncode:
                    continue
                created[name] = heat_a.stacks.get(stack_name).id
            else:
                inputs = _heat_inputs(_bundle(name),
                                      devcloud.environment_file)
                created[name] = heat_a.stacks.create(
                    stack_name=stack_name, timeout_mins=10,
                    **inputs)['stack']['id']
        yield created, command
    finally:
        for stack_id in created.values():
            heat_a.stacks.delete(stack_id)
        left = _wait_gone(heat_a, created.values())
        assert not left, 'stacks not deleted: %s' % sorted(left)


def test_examples_are_found():
    assert set(BUNDLES) >= {'default', 'volume', 'tls'}


@pytest.mark.parametrize('name', BUNDLES)
def test_example_passes_heat_validation(devcloud, heat_a, name):
    inputs = _heat_inputs(_bundle(name), devcloud.environment_file)

    result = heat_a.stacks.validate(**inputs)

    parameters = result['Parameters']
    assert parameters['size']['Default'] == 3
    assert parameters['admin_password']['NoEcho'] == 'true'
    assert ('tls_key' in parameters) == (name == 'tls')
    if name == 'tls':
        assert parameters['tls_key']['NoEcho'] == 'true'


def test_readme_command_creates_the_stack(stacks):
    _created, command = stacks

    assert command.returncode == 0, command.stderr
    assert 'CREATE_IN_PROGRESS' in command.stdout


@pytest.mark.parametrize('name', BUNDLES)
def test_example_reaches_create_complete(heat_a, stacks, name):
    created, _command = stacks
    assert name in created, 'example %s was not created' % name

    stack = _wait(heat_a, created[name], lambda stack: (
        stack.stack_status == 'CREATE_COMPLETE'))

    outputs = {output['output_key']: output['output_value']
               for output in heat_a.stacks.get(stack.id).outputs}
    # NOTE: a broker may add fixed nodes beside the scaling group
    # (Kafka's controllers); the size counts the group's members only.
    members = [node for node in outputs['nodes'].values()
               if node.get('role') != 'controller']
    assert outputs['node_count'] == len(members) == 3
    assert outputs['facts']['tls'] is (name == 'tls')
    addresses = {node['address'] for node in members}
    assert len(outputs['endpoints']) % 3 == 0
    assert {endpoint['uri'].split('//')[1].rsplit(':', 1)[0]
            for endpoint in outputs['endpoints']} == addresses


def test_size_patch_keeps_servers_and_cookie(heat_a, stacks):
    stack_id = stacks[0][CLI_EXAMPLE]
    _wait(heat_a, stack_id, lambda stack: (
        stack.stack_status == 'CREATE_COMPLETE'))
    three = _nodes(heat_a, stack_id)
    cookie = _cookie(heat_a, stack_id)

    _resize(heat_a, stack_id, 5)
    five = _nodes(heat_a, stack_id)
    assert {member: five[member] for member in three} == three
    assert _cookie(heat_a, stack_id) == cookie

    _resize(heat_a, stack_id, 3)
    back = _nodes(heat_a, stack_id)
    assert len(back) == 3
    assert {member: five[member] for member in back} == back
    assert _cookie(heat_a, stack_id) == cookie
