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
