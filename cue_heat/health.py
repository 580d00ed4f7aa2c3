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
