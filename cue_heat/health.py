"""Broker health as the nodes report it: pure functions.

Heat knows whether the deployments ran, not whether the broker works.
The cluster-level formation step runs the broker's documented health
checks (running, alarms, listeners, membership) on every node and
reports one line per node in the ``health`` output: ``ok``, or
``degraded: <reasons>``. A cluster whose stack is fine but whose nodes
report trouble is still ``ACTIVE``; its health says ``DEGRADED``.
"""

OK = 'OK'
DEGRADED = 'DEGRADED'
#: No report yet: the stack is building, or its outputs are unresolved.
UNKNOWN = 'UNKNOWN'

_HEALTHY = 'ok'


def broker_health(reports, nodes=None):
    """Summarise the nodes' health reports into (health, reason).

    :param reports: member (the key the formation group gives each
        server) or server id -> the node's report, as the stack's
        ``health`` output holds it (None when there is none).
    :param nodes: member -> ``{name, server_id, ...}`` (the ``nodes``
        output), to name a node instead of its server id.
    :returns: ``(OK | DEGRADED | UNKNOWN, reason)``; the reason names
        each unhealthy node with what it reported.
    """
    if not isinstance(reports, dict) or not reports:
        return UNKNOWN, ''
    names = {}
    for member, info in (nodes or {}).items():
        if isinstance(info, dict):
            names[member] = names[info.get('server_id')] = info.get('name')
    problems = []
    for server_id, report in sorted(reports.items()):
        text = str(report or '').strip()
        if text != _HEALTHY:
            problems.append('Node %s reports %s.' % (
                names.get(server_id) or server_id,
                text or 'nothing'))
    if problems:
        return DEGRADED, ' '.join(problems)
    return OK, ''


def role_health(roles, role, nodes=None):
    """Check that exactly one node reports *role* (a group's primary).

    A broker whose nodes elect one leader among themselves (Qpid's HA
    group) is broken with none and split with two, whatever each node
    says of its own health.

    :param roles: member -> the role the node reported (``roles``
        output), or None when there is no report yet.
    :param nodes: member -> ``{name, ...}``, to name the nodes.
    :returns: ``(OK | DEGRADED | UNKNOWN, reason)``.
    """
    if not isinstance(roles, dict) or not roles:
        return UNKNOWN, ''
    holders = sorted(
        ((nodes or {}).get(member) or {}).get('name') or member
        for member, reported in roles.items() if reported == role)
    if len(holders) == 1:
        return OK, ''
    return DEGRADED, '%d nodes report being %s (%s); exactly one should.' % (
        len(holders), role, ', '.join(holders) or 'none')


def combine(*verdicts):
    """Merge ``(health, reason)`` pairs: the worst wins, reasons add up."""
    order = (OK, UNKNOWN, DEGRADED)
    worst = max((verdict[0] for verdict in verdicts), key=order.index)
    reasons = ' '.join(reason for health, reason in verdicts
                       if health == DEGRADED and reason)
    return worst, reasons
