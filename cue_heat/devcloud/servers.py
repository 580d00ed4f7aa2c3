"""The simulated servers the node agent serves, found through Heat.

A simulated ``OS::Nova::Server`` is a nested stack of the provider
template ``simulated/server.yaml``, recognised by its description. Its
outputs give the agent what a real VM would know about itself: its name,
address and ``os_collect_config`` (where and as whom to poll metadata).
"""

import logging

from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

LOG = logging.getLogger(__name__)

#: How the provider template's description starts.
MARKER = 'cue-heat devcloud simulated OS::Nova::Server'


class Server:
    """One simulated server and its way to read its own metadata."""

    def __init__(self, server_id, name, address, collect_config, admin):
        self.server_id = server_id
        self.name = name
        self.address = address
        self._admin = admin
        self._heat = _collector_client(collect_config or {})
        self._heat_source = (collect_config or {}).get('heat') or {}

    def metadata_deployments(self):
        """Return the server's deployments as its metadata lists them."""
        if self._heat is not None:
            metadata = self._heat.resources.metadata(
                self._heat_source['stack_id'],
                self._heat_source['resource_name'])
            return metadata.get('deployments') or []
        # Other transports (CFN, temp URL, Zaqar): read as admin.
        metadata = self._admin.software_deployments.metadata(self.server_id)
        if isinstance(metadata, dict):
            return [item for group in metadata.values() for item in group]
        return list(metadata or [])

    def deployment(self, deployment):
        """Return the metadata entry of one deployment, or None.

        NOTE: an entry's ``id`` is the id of the deployment's derived
        config, which changes with every action, not the deployment's.
        """
        for entry in self.metadata_deployments():
            if entry.get('id') in (deployment.config_id, deployment.id):
                return entry
        return None

    def default_output(self, key):
        """Return a deterministic value for a declared output *key*.

        A broker's ``health`` report is ``ok``, as a healthy node's
        formation step reports it; rules can make it anything else.
        """
        if key == 'health':
            return 'ok'
        if 'ip' in key.lower() or 'address' in key.lower():
            return self.address
        return '%s-%s' % (self.name, key)


def _collector_client(collect_config):
    """Return heatclient as the server's POLL_SERVER_HEAT user, or None."""
    source = collect_config.get('heat')
    if not source:
        return None
    auth = v3.Password(
        auth_url=source['auth_url'].rstrip('/') + (
            '' if source['auth_url'].rstrip('/').endswith('/v3') else '/v3'),
        user_id=source['user_id'], password=source['password'],
        project_id=source['project_id'])
    return heat_client.Client('1', session=ks_session.Session(auth=auth))


class ServerDirectory:
    """Maps deployment server ids to simulated servers, found as admin."""

    def __init__(self, heat):
        self.heat = heat
        self._known = {}
        self._scanned = set()

    def find(self, server_id):
        """Return the Server for *server_id*, rescanning Heat if unknown.

        A server that is no simulated server (a plain DeployedServer) is
        served through the admin metadata path under its id as name.
        """
        if server_id not in self._known:
            self._scan()
        if server_id not in self._known:
            return Server(server_id, server_id, '127.0.0.1', None, self.heat)
        return self._known[server_id]

    def _scan(self):
        # NOTE: Heat's stack list leaves every description empty, so each
        # stack is read in full once, when complete, to tell whether it is
        # a simulated server; _scanned remembers the answer either way.
        stacks = self.heat.stacks.list(global_tenant=True, show_nested=True)
        for stack in stacks:
            if stack.id in self._scanned or 'DELETE' in stack.stack_status:
                continue
            if stack.stack_status == 'CREATE_COMPLETE' or (
                    stack.action != 'CREATE'):
                self._add(stack)

    def _add(self, stack):
        try:
            full = self.heat.stacks.get(stack.id)
        except Exception as ex:  # noqa: B902 a stack may vanish meanwhile
            LOG.debug('Simulated server stack %s unreadable: %s',
                      stack.id, ex)
            return
        self._scanned.add(stack.id)
        if not (full.description or '').startswith(MARKER):
            return
        outputs = {item['output_key']: item.get('output_value')
                   for item in full.outputs or ()}
        server_id = outputs.get('deployed_server_id')
        if not server_id:
            return
        server = Server(server_id, outputs.get('name') or server_id,
                        outputs.get('first_address') or '127.0.0.1',
                        outputs.get('os_collect_config'), self.heat)
        self._known[server_id] = server
        LOG.debug('Found simulated server %s (%s)', server.name, server_id)
