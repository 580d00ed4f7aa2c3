"""Broker health from the nodes' own reports."""

import pytest

from cue_heat import health

NODES = {
    'm1': {'name': 'orders-1', 'server_id': 's1'},
    'm2': {'name': 'orders-2', 'server_id': 's2'},
}


@pytest.mark.parametrize('reports', [None, {}, 'ok', ['ok']])
def test_broker_health_without_reports_is_unknown(reports):
    assert health.broker_health(reports, NODES) == (health.UNKNOWN, '')


def test_broker_health_all_ok_is_ok():
    reports = {'s1': 'ok', 's2': 'ok\n'}

    assert health.broker_health(reports, NODES) == (health.OK, '')


def test_broker_health_names_each_unhealthy_node_and_its_report():
    reports = {'m1': 'degraded: alarm on rabbit@orders-1 (memory)',
               's2': 'ok', 's9': ''}

    state, reason = health.broker_health(reports, NODES)

    assert state == health.DEGRADED
    assert reason == (
        'Node orders-1 reports degraded: alarm on rabbit@orders-1 '
        '(memory). Node s9 reports nothing.')


def test_one_primary_is_ok():
    roles = {'m1': 'primary', 'm2': 'replica'}

    assert health.role_health(roles, 'primary', NODES) == (health.OK, '')


@pytest.mark.parametrize('roles, named', [
    ({'m1': 'replica', 'm2': 'replica'}, '0 nodes report being primary '
     '(none)'),
    ({'m1': 'primary', 'm2': 'primary'}, '2 nodes report being primary '
     '(orders-1, orders-2)'),
])
def test_no_or_two_primaries_degrade_the_cluster(roles, named):
    state, reason = health.role_health(roles, 'primary', NODES)

    assert state == health.DEGRADED
    assert reason.startswith(named)


def test_role_health_without_reports_is_unknown():
    assert health.role_health(None, 'primary') == (health.UNKNOWN, '')


def test_combine_keeps_the_worst_and_every_reason():
    merged = health.combine((health.OK, ''),
                            (health.DEGRADED, 'Node a reports x.'),
                            (health.DEGRADED, 'Two primaries.'))

    assert merged == (health.DEGRADED, 'Node a reports x. Two primaries.')
    assert health.combine((health.OK, ''), (health.UNKNOWN, '')) == (
        health.UNKNOWN, '')
