"""Status from recorded event streams of the local Heat, and edge cases.

The fixtures in tests/fixtures/events were recorded by
tools/record-events from the real local Heat (stack plus events with
``nested_depth=2``, newest first) at each point of a cluster's life.
"""

import copy
import datetime
import json
import pathlib

import pytest

from cue_heat import status

FIXTURES = pathlib.Path(__file__).parent.parent / 'fixtures' / 'events'


def _load(name):
    return json.loads((FIXTURES / ('%s.json' % name)).read_text())


def _names(stack):
    for output in stack.get('outputs') or ():
        if output['output_key'] == 'nodes' and output.get('output_value'):
            return {member: node['name']
                    for member, node in output['output_value'].items()}
    return {}


def _status(record, **kwargs):
    stack = record['stack']
    kwargs.setdefault('now', status.parse_time(
        stack.get('updated_time') or stack['creation_time']))
    return status.cluster_status(
        stack, record['events'], record.get('deployments'),
        _names(stack), **kwargs)


def _stack_event(stack, resource_status, when, event_id='e'):
    return {
        'id': event_id, 'event_time': when,
        'resource_name': stack['stack_name'],
        'logical_resource_id': stack['stack_name'],
        'physical_resource_id': stack['id'],
        'resource_status': resource_status,
        'resource_status_reason': '',
        'links': [{'rel': 'stack', 'href': 'http://h/v1/p/stacks/%s/%s' % (
            stack['stack_name'], stack['id'])}],
    }


@pytest.mark.parametrize('name, expected', [
    ('create-complete', status.ACTIVE),
    ('grow-accepted', status.UPDATING),
    ('grow-in-progress', status.UPDATING),
    ('grow-complete', status.ACTIVE),
    ('shrink-complete', status.ACTIVE),
    ('delete-in-progress', status.DELETING),
    ('delete-complete', status.DELETED),
    ('create-failed', status.ERROR),
    ('heal-complete', status.ACTIVE),
])
def test_recorded_stream_gives_status(name, expected):
    assert _status(_load(name)).status == expected


def test_create_complete_reports_every_node_active():
    record = _load('create-complete')

    nodes = _status(record).nodes

    assert set(nodes) == set(_names(record['stack']))
    assert {node.status for node in nodes.values()} == {status.ACTIVE}


def test_grow_in_progress_shows_new_nodes_building():
    nodes = _status(_load('grow-in-progress')).nodes

    assert status.BUILDING in {node.status for node in nodes.values()}


def test_failed_deployment_names_node_step_and_stderr():
    record = _load('create-failed')
    failed = [event for event in record['events']
              if event['resource_name'] == 'configure'
              and event['resource_status'] == 'CREATE_FAILED']
    member = status.place(record['stack'], failed[0]).node

    result = _status(record)

    assert 'Node %s failed at step configure' % member in result.reason
    assert 'non-zero status code: 1' in result.reason
    assert 'step join failed' in result.reason
    assert result.nodes[member].status == status.ERROR
    others = [node for key, node in result.nodes.items() if key != member]
    assert len(others) == 2
    assert {node.status for node in others} == {status.ACTIVE}


def test_failure_reason_uses_the_node_name_when_known():
    record = _load('create-failed')
    leaf = status.failed_leaves(record['stack'], record['events'])[0]
    member = status.place(record['stack'], leaf).node

    reason = status.failure_reason(record['stack'], record['events'],
                                   names={member: 'rabbit-1'})

    assert reason.startswith('Node rabbit-1 failed at step configure')


def test_failed_leaves_skip_the_parents_of_a_failure():
    record = _load('create-failed')

    leaves = status.failed_leaves(record['stack'], record['events'])

    assert [leaf['resource_name'] for leaf in leaves] == ['configure']


def test_shrink_removes_exactly_the_marked_node():
    record = _load('shrink-complete')

    nodes = _status(record).nodes

    assert nodes[record['removed']].status == status.DELETED
    assert record['removed'] not in _names(record['stack'])
    survivors = {key for key, node in nodes.items()
                 if node.status == status.ACTIVE}
    assert survivors == set(_names(record['stack']))


def test_heal_shows_the_replaced_node_active():
    record = _load('heal-complete')

    nodes = _status(record).nodes

    for member in record['healed']:
        assert nodes[member].status == status.ACTIVE


def test_heal_of_a_healthy_node_shows_every_node_active():
    """The formation group's removal of the old deployment is no removal.

    Recorded from the local Heat after healing a named, healthy node: the
    newest event of that node is its old formation deployment's deletion.
    """
    record = _load('heal-healthy-complete')

    state = _status(record)

    assert state.status == status.ACTIVE
    assert {node.status for node in state.nodes.values()} == {status.ACTIVE}
    assert set(record['healed']) <= set(state.nodes)


def test_only_events_of_the_current_operation_count():
    record = _load('heal-complete')
    stack = record['stack']

    operation = status.current_operation(stack, record['events'])

    assert operation[-1]['resource_status'] == 'UPDATE_IN_PROGRESS'
    assert status._is_stack_event(stack, operation[-1])
    assert not any(event['resource_status'] == 'CREATE_FAILED'
                   for event in operation)


def test_old_failure_does_not_survive_a_successful_heal():
    result = _status(_load('heal-complete'))

    assert result.reason == ''
    assert status.ERROR not in {node.status for node in
                                result.nodes.values()}


def test_stale_complete_after_accepted_update_is_updating():
    record = copy.deepcopy(_load('create-complete'))
    stack = record['stack']
    last = status.parse_time(record['events'][0]['event_time'])
    stack['updated_time'] = (last + datetime.timedelta(seconds=5)).strftime(
        '%Y-%m-%dT%H:%M:%SZ')

    assert _status(record).status == status.UPDATING


def test_pending_update_is_updating_even_without_new_events():
    assert _status(_load('grow-complete'), pending=True).status == (
        status.UPDATING)


def test_operation_without_progress_past_its_timeout_is_stalled():
    record = copy.deepcopy(_load('grow-in-progress'))
    stack = record['stack']
    stack['timeout_mins'] = 10
    newest = status.parse_time(record['events'][0]['event_time'])

    result = _status(record, now=newest + datetime.timedelta(minutes=11))

    assert result.status == status.ERROR
    assert 'stalled' in result.reason


def test_operation_within_its_timeout_is_not_stalled():
    record = copy.deepcopy(_load('grow-in-progress'))
    record['stack']['timeout_mins'] = 10
    newest = status.parse_time(record['events'][0]['event_time'])

    result = _status(record, now=newest + datetime.timedelta(minutes=9))

    assert result.status == status.UPDATING


def test_new_stack_not_started_yet_is_building():
    stack = {'id': 's', 'stack_name': 'n', 'stack_status': 'INIT_COMPLETE',
             'creation_time': '2026-01-01T00:00:00Z'}

    assert status.cluster_status(stack, []).status == status.BUILDING


def test_gone_stack_is_deleted():
    assert status.cluster_status(None, []).status == status.DELETED


@pytest.mark.parametrize('stack_status, expected', [
    ('CREATE_IN_PROGRESS', status.BUILDING),
    ('CREATE_COMPLETE', status.ACTIVE),
    ('CREATE_FAILED', status.ERROR),
    ('UPDATE_IN_PROGRESS', status.UPDATING),
    ('UPDATE_COMPLETE', status.ACTIVE),
    ('UPDATE_FAILED', status.ERROR),
    ('ROLLBACK_IN_PROGRESS', status.UPDATING),
    ('ROLLBACK_COMPLETE', status.ERROR),
    ('ROLLBACK_FAILED', status.ERROR),
    ('CHECK_IN_PROGRESS', status.UPDATING),
    ('CHECK_COMPLETE', status.ACTIVE),
    ('CHECK_FAILED', status.ERROR),
    ('DELETE_IN_PROGRESS', status.DELETING),
    ('DELETE_COMPLETE', status.DELETED),
    ('DELETE_FAILED', status.ERROR),
    ('INIT_COMPLETE', status.BUILDING),
])
def test_stack_status_table(stack_status, expected):
    stack = {'id': 's', 'stack_name': 'n', 'stack_status': stack_status,
             'stack_status_reason': 'why', 'timeout_mins': 60,
             'creation_time': '2026-01-01T00:00:00Z'}
    events = [_stack_event(stack, stack_status, '2026-01-01T00:00:01Z')]

    assert status.cluster_status(stack, events).status == expected


def test_failure_without_events_falls_back_to_the_stack_reason():
    stack = {'id': 's', 'stack_name': 'n', 'stack_status': 'CREATE_FAILED',
             'stack_status_reason': 'Timed out.',
             'creation_time': '2026-01-01T00:00:00Z'}

    assert status.cluster_status(stack, []).reason == 'Timed out.'


@pytest.mark.parametrize('resource_status, expected', [
    ('CREATE_IN_PROGRESS', status.BUILDING),
    ('UPDATE_IN_PROGRESS', status.UPDATING),
    ('DELETE_IN_PROGRESS', status.DELETING),
    ('CREATE_COMPLETE', status.ACTIVE),
    ('DELETE_COMPLETE', status.DELETED),
    ('CHECK_FAILED', status.ERROR),
])
def test_event_status_uses_our_vocabulary(resource_status, expected):
    assert status.event_status({'resource_status': resource_status}) == (
        expected)


def test_history_entry_names_node_and_step():
    record = _load('create-failed')
    leaf = status.failed_leaves(record['stack'], record['events'])[0]

    entry = status.history_entry(record['stack'], leaf, {})

    assert entry['step'] == 'configure'
    assert entry['node'] == status.place(record['stack'], leaf).node
    assert entry['status'] == status.ERROR
    assert entry['action'] == 'CREATE'
    assert 'resources.' not in entry['reason']


def test_stderr_tail_keeps_the_last_lines_only():
    stderr = '\n'.join('line %d' % number for number in range(20))

    tail = status.stderr_tail({'output_values': {'deploy_stderr': stderr}})

    assert tail.startswith('line 15')
    assert tail.endswith('line 19')


def _nested_event(stack, nested, resource, resource_status):
    return {
        'id': 'n', 'event_time': '2026-12-04T06:00:00Z',
        'resource_name': resource, 'logical_resource_id': resource,
        'physical_resource_id': 'x', 'resource_status': resource_status,
        'resource_status_reason': '',
        'links': [{'rel': 'stack', 'href': 'http://h/v1/p/stacks/%s/%s' % (
            nested, 'id')}],
    }


def test_fixed_controller_group_names_node_and_step():
    stack = {'stack_name': 'cue-k', 'id': 'top'}
    controllers = 'cue-k-controllers-abcdefghijkl'
    member = controllers + '-0-mnopqrstuvwx'
    event = _nested_event(stack, member, 'server', 'CREATE_FAILED')
    formation = _nested_event(
        stack, 'cue-k-controller_formation-abcdefghijkl', '0',
        'CREATE_FAILED')

    assert status.place(stack, event) == status.Place(
        node='0', step='server', path=('controllers', '0', 'server'))
    assert status.place(stack, formation).step == status.FORMATION
    assert status.place(stack, formation).node == '0'
