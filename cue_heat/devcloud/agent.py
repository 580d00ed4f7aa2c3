"""The node agent: the in-VM Heat agent for the simulated servers.

Real broker VMs run os-collect-config, which polls Heat for the server's
metadata, runs each new software deployment and reports the result
through the deployment's signal transport (heat-config-notify). The
simulated servers have no VM, so this agent does that for all of them,
in every project:

1. as admin, list the software deployments IN_PROGRESS (the trigger);
2. find the simulated server they target, and read the server's
   metadata with the server's own ``os_collect_config`` credentials,
   as os-collect-config does (``POLL_SERVER_HEAT``);
3. answer with ``deploy_status_code``, ``deploy_stdout``,
   ``deploy_stderr`` and the config's declared outputs, through the
   deployment's transport: ``HEAT_SIGNAL`` with the deployment's own
   stack-domain user, ``CFN_SIGNAL`` to its presigned URL, otherwise
   a direct deployment update as admin.

Each (deployment, action) is answered once. What to fail and how slowly
to answer come from :mod:`cue_heat.devcloud.rules`.
"""

import ipaddress
import json
import logging
import time

import requests
from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from cue_heat.devcloud import rules as rules_mod
from cue_heat.devcloud import servers

LOG = logging.getLogger(__name__)

#: Seconds between two polls of Heat.
DEFAULT_INTERVAL = 0.5
#: The output a leader-electing broker's formation step reports.
ROLE_OUTPUT = 'role'


class NodeAgent:
    """Completes software deployments on simulated servers."""

    def __init__(self, session, rules_path, interval=DEFAULT_INTERVAL):
        """Build an agent.

        :param session: an admin keystoneauth1 session (deployments and
            servers of every project are visible to admin only).
        :param rules_path: the agent-rules.json to re-read on every poll.
        """
        self.heat = heat_client.Client('1', session=session)
        self.servers = servers.ServerDirectory(self.heat)
        self.rules_path = rules_path
        self.interval = interval
        self._done = set()
        self._first_seen = {}

    @classmethod
    def for_cloud(cls, devcloud, interval=DEFAULT_INTERVAL):
        """Return an agent for a :class:`~cue_heat.devcloud.cloud.DevCloud`."""
        return cls(devcloud.admin_session(), str(devcloud.state.agent_rules),
                   interval=interval)

    def run_forever(self, should_stop=lambda: False):
        """Poll until *should_stop* returns true; errors never stop it."""
        LOG.info('Node agent polling Heat every %s s', self.interval)
        while not should_stop():
            try:
                self.poll_once()
            except Exception as ex:  # noqa: B902 keep polling, as a VM would
                LOG.warning('Poll failed, will retry: %s', ex)
            time.sleep(self.interval)

    def poll_once(self):
        """Answer every pending deployment whose time has come.

        :returns: the number of deployments answered in this poll.
        """
        rules = rules_mod.load(self.rules_path)
        answered = 0
        for deployment in self.heat.software_deployments.list():
            # A deployment repeats an action (formation UPDATE on every
            # resize) with a new derived config each time.
            key = (deployment.id, deployment.action, deployment.config_id)
            if deployment.status != 'IN_PROGRESS' or key in self._done:
                continue
            first_seen = self._first_seen.setdefault(key, time.monotonic())
            if time.monotonic() - first_seen < rules.delay:
                continue
            try:
                if self._answer(deployment, rules):
                    self._done.add(key)
                    self._first_seen.pop(key, None)
                    answered += 1
            except Exception as ex:  # noqa: B902 one bad node stops no other
                LOG.warning('Deployment %s (%s) not answered yet: %s',
                            deployment.id, deployment.action, ex)
        return answered

    def _answer(self, deployment, rules):
        server = self.servers.find(deployment.server_id)
        entry = server.deployment(deployment)
        if entry is None:
            # The metadata lags the deployment list; try the next poll.
            return False
        inputs = {item['name']: item.get('value')
                  for item in entry.get('inputs', ())}
        names = (inputs.get('deploy_resource_name'), entry.get('name'))
        failure = rules.failure_for(server.name, names)
        data = _result(entry, server, inputs, failure, rules)
        transport = inputs.get('deploy_signal_transport')
        self._signal(deployment, inputs, transport, data, failure)
        LOG.info('Deployment %s (%s %s) on %s answered with status %s '
                 'through %s', deployment.id, names[0], deployment.action,
                 server.name, data['deploy_status_code'], transport)
        return True

    def _signal(self, deployment, inputs, transport, data, failure):
        if transport == 'NO_SIGNAL':
            return
        if transport == 'HEAT_SIGNAL':
            heat = heat_client.Client('1', session=_deploy_user(inputs))
            heat.resources.signal(inputs['deploy_stack_id'],
                                  inputs['deploy_resource_name'], data=data)
        elif transport == 'CFN_SIGNAL':
            response = requests.post(
                inputs['deploy_signal_id'], json=data, timeout=30)
            response.raise_for_status()
        else:
            self.heat.software_deployments.update(
                deployment.id, status='FAILED' if failure else 'COMPLETE',
                status_reason='Answered by the cue-heat devcloud agent',
                output_values=data)


def _deploy_user(inputs):
    """Return a session of the deployment's own stack-domain user."""
    auth = v3.Password(
        auth_url=inputs['deploy_auth_url'],
        user_id=inputs['deploy_user_id'],
        password=inputs['deploy_password'],
        project_id=inputs['deploy_project_id'])
    return ks_session.Session(auth=auth)


def _result(entry, server, inputs, failure, rules):
    """Build the signal data: status, stdout, stderr, declared outputs."""
    action = inputs.get('deploy_action', '')
    name = inputs.get('deploy_resource_name') or entry.get('name')
    data = {
        'deploy_status_code': failure.status_code if failure else 0,
        'deploy_stdout': 'simulated %s of %s on %s\n' % (
            action, name, server.name),
        'deploy_stderr': failure.stderr if failure else '',
    }
    for output in entry.get('outputs') or ():
        key = output['name']
        if key in data:
            continue
        if output.get('error_output'):
            # NOTE: any value of an error output fails the deployment, so
            # it carries stderr on failure and is absent otherwise; this
            # is also how stderr reaches Heat's events.
            if failure:
                data[key] = failure.stderr
            continue
        default = server.default_output(key)
        if key == ROLE_OUTPUT:
            default = _founder_role(inputs, server) or default
        data[key] = rules.output_for(server.name, key, default)
    return data


def _founder_role(inputs, server):
    """Play a leader election as a group's founder rule would.

    A ``role`` output of a step that lists the ``members`` is
    ``primary`` for the member with the lowest address and ``replica``
    for the others, so the local cloud shows a group with exactly one
    primary (Qpid's HA group) without rules; None when the step lists
    no members.
    """
    members = inputs.get('members')
    if isinstance(members, str):
        try:
            members = json.loads(members)
        except ValueError:
            return None
    if not isinstance(members, list) or not members:
        return None
    try:
        first = min(members, key=lambda member: ipaddress.ip_address(
            member['address']))
    except (KeyError, TypeError, ValueError):
        return None
    return 'primary' if first.get('server_id') == server.server_id else (
        'replica')
