"""Register Heat, cue-heat and the test users in the local Keystone.

Every step looks before it creates, so running it again on a running
cloud changes nothing. The calls go through python-keystoneclient on one
admin keystoneauth1 session (about 30 requests, under 2 s), not the
``openstack`` CLI (about 3 s of start-up per call).
"""

from concurrent import futures
import logging

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

LOG = logging.getLogger(__name__)

#: Region of every endpoint.
REGION = 'RegionOne'
#: The ordinary users and their projects, for isolation tests.
TENANTS = (('devcloud-a', 'user-a', 'project-a'),
           ('devcloud-b', 'user-b', 'project-b'))
#: Roles an ordinary user needs to create stacks.
STACK_ROLES = ('member', 'heat_stack_owner')


def admin_session(auth_url, password):
    """Return a keystoneauth1 session of the bootstrap admin."""
    auth = v3.Password(
        auth_url=auth_url, username='admin', password=password,
        project_name='admin', user_domain_id='default',
        project_domain_id='default')
    return ks_session.Session(auth=auth)


class Registrar:
    """Find-or-create helpers over a keystoneclient v3 client."""

    def __init__(self, session):
        self.client = ks_client.Client(session=session, interface='public')
        self._roles = {}

    def domain(self, name, description=''):
        """Return domain *name*, creating it if missing."""
        found = self.client.domains.list(name=name)
        if found:
            return found[0]
        return self.client.domains.create(name, description=description)

    def project(self, name, domain='default'):
        """Return project *name* of *domain*, creating it if missing."""
        found = self.client.projects.list(name=name, domain=domain)
        if found:
            return found[0]
        return self.client.projects.create(name, domain)

    def role(self, name):
        """Return role *name*, creating it if missing (looked up once)."""
        if name not in self._roles:
            found = self.client.roles.list(name=name)
            self._roles[name] = (
                found[0] if found else self.client.roles.create(name))
        return self._roles[name]

    def user(self, name, password, domain='default'):
        """Return user *name* of *domain*, creating it if missing."""
        found = self.client.users.list(name=name, domain=domain)
        if found:
            return found[0]
        return self.client.users.create(
            name, domain=domain, password=password)

    def grant(self, role, user, project=None, domain=None):
        """Give *user* the role named *role* on a project or domain."""
        self.client.roles.grant(
            self.role(role), user=user, project=project, domain=domain)

    def service(self, name, service_type, url):
        """Ensure service *name* with all three endpoints at *url*."""
        found = self.client.services.list(name=name)
        service = found[0] if found else self.client.services.create(
            name, service_type)
        have = {endpoint.interface for endpoint in
                self.client.endpoints.list(service=service)}
        for interface in ('public', 'internal', 'admin'):
            if interface not in have:
                self.client.endpoints.create(
                    service, url, interface=interface, region=REGION)


def register(session, record):
    """Create everything Heat and cue-heat need in Keystone.

    :param session: an admin keystoneauth1 session.
    :param record: the cloud's record of ports and passwords.
    """
    reg = Registrar(session)
    service = reg.project('service')
    for role in ('admin', 'member', 'reader', 'service', 'heat_stack_user',
                 'heat_stack_owner'):
        reg.role(role)
    # NOTE: Keystone serves on two single-threaded workers, and the two
    # halves below need nothing from each other: both workers get one.
    with futures.ThreadPoolExecutor(2) as pool:
        done = [pool.submit(part, reg, service, record)
                for part in (_register_heat, _register_users)]
        for future in done:
            future.result()
    LOG.debug('Keystone registration done')


def _register_heat(reg, service, record):
    """Heat's users, stack-user domain and endpoints (and nova's)."""
    ports, passwords = record['ports'], record['passwords']
    admin = reg.user('admin', passwords['admin'])
    reg.grant('heat_stack_owner', admin, project=reg.project('admin'))
    heat = reg.user('heat', passwords['heat'])
    reg.grant('admin', heat, project=service)
    reg.grant('service', heat, project=service)
    stack_domain = reg.domain('heat', 'Stack projects and users')
    domain_admin = reg.user(
        'heat_domain_admin', passwords['heat_domain_admin'],
        domain=stack_domain)
    reg.grant('admin', domain_admin, domain=stack_domain)
    reg.service('heat', 'orchestration',
                'http://127.0.0.1:%d/v1/%%(tenant_id)s' % ports['heat-api'])
    reg.service('heat-cfn', 'cloudformation',
                'http://127.0.0.1:%d/v1' % ports['heat-cfn'])
    # Only server existence: see cue_heat.devcloud.compute.
    reg.service('nova', 'compute',
                'http://127.0.0.1:%d/v2.1' % ports['compute'])


def _register_users(reg, service, record):
    """cue-heat's service user and endpoint, and the test users."""
    ports, passwords = record['ports'], record['passwords']
    cue = reg.user('cue-heat', passwords['cue-heat'])
    reg.grant('admin', cue, project=service)
    reg.grant('service', cue, project=service)
    reg.service('cue-heat', 'message-broker',
                'http://127.0.0.1:%d/v1' % ports['cue-heat-api'])
    for _cloud, username, project_name in TENANTS:
        project = reg.project(project_name)
        user = reg.user(username, passwords[username])
        for role in STACK_ROLES:
            reg.grant(role, user, project=project)
