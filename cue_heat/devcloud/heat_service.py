"""Heat for the local cloud: heat.conf, schema, and the one Heat process.

The process itself is :mod:`cue_heat.devcloud.heat_server`; this module
only writes its configuration and starts it, so it never imports Heat.
"""

import logging
import os
import pathlib
import shutil
import subprocess
import sys

from cue_heat.devcloud import keystone
from cue_heat.devcloud import processes

LOG = logging.getLogger(__name__)

#: The service name of the Heat process in PID files and logs.
NAME = 'heat'

HEAT_CONF = """\
[DEFAULT]
debug = false
log_file = {log}
host = devcloud-engine
transport_url = fake://
num_engine_workers = 1
region_name_for_services = RegionOne
auth_encryption_key = {encryption_key}
heat_metadata_server_url = http://127.0.0.1:{cfn_port}
heat_waitcondition_server_url = http://127.0.0.1:{cfn_port}/v1/waitcondition
stack_user_domain_name = heat
stack_domain_admin = heat_domain_admin
stack_domain_admin_password = {domain_admin_password}
environment_dir = {etc}/environment.d
template_dir = {etc}/templates
# Heat's own defaults need heat-api-cfn; the Heat API path is the one the
# node agent and the product's templates use.
default_deployment_signal_transport = HEAT_SIGNAL
default_software_config_transport = POLL_SERVER_HEAT
max_events_per_stack = 2000

[database]
connection = {database}

[paste_deploy]
api_paste_config = {paste}

[keystone_authtoken]
www_authenticate_uri = {auth_url}/v3
auth_url = {auth_url}
auth_type = password
username = heat
password = {heat_password}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne

[trustee]
auth_type = password
auth_url = {auth_url}
username = heat
password = {heat_password}
user_domain_name = Default

[clients_keystone]
auth_uri = {auth_url}

[ec2authtoken]
# Keystone lets only admin or service users check EC2 signatures, and
# Heat reads keystoneauth options here; endpoint_override avoids a
# doubled /v3 in the URL.
endpoint_override = {auth_url}
auth_type = password
auth_url = {auth_url}
username = heat
password = {heat_password}
project_name = service
user_domain_name = Default
project_domain_name = Default

[clients]
endpoint_type = publicURL

[oslo_messaging_notifications]
driver = noop

[oslo_policy]
policy_file = {policy}
"""

# NOTE: Heat denies stacks:global_index to everybody by default; the node
# agent plays the agents of every project's servers, so the local cloud
# lets its admin list stacks across projects. Nothing else is loosened.
POLICY = """\
"stacks:global_index": "role:admin"
"""


def _etc():
    return pathlib.Path(sys.prefix) / 'etc' / 'heat'


def _conf(state):
    return str(state.heat / 'heat.conf')


def configure(state, record, database, auth_url):
    """Write heat.conf and api-paste.ini, then create Heat's schema."""
    paste = state.heat / 'api-paste.ini'
    shutil.copyfile(_etc() / 'api-paste.ini', paste)
    text = HEAT_CONF.format(
        log=state.log(NAME), encryption_key=record['encryption_key'],
        cfn_port=record['ports']['heat-cfn'],
        domain_admin_password=record['passwords']['heat_domain_admin'],
        etc=_etc(), database=database, paste=paste, auth_url=auth_url,
        heat_password=record['passwords']['heat'],
        policy=state.heat / 'policy.yaml')
    (state.heat / 'policy.yaml').write_text(POLICY)
    (state.heat / 'heat.conf').write_text(text)
    os.chmod(state.heat / 'heat.conf', 0o600)
    result = subprocess.run(
        [keystone.venv_program('heat-manage'), '--config-file', _conf(state),
         'db_sync'], capture_output=True, text=True)
    if result.returncode != 0:
        raise processes.failure(state, NAME, 'heat-manage db_sync failed: '
                                + result.stderr.strip()[-2000:])


def start(state, record):
    """Start the Heat process and wait until its API answers."""
    ports = record['ports']
    processes.start(state, NAME, [
        sys.executable, '-m', 'cue_heat.devcloud.heat_server',
        '--config-file', _conf(state),
        '--api-port', str(ports['heat-api']),
        '--cfn-port', str(ports['heat-cfn']),
        '--compute-port', str(ports['compute'])])
    processes.wait_http(
        state, NAME, 'http://127.0.0.1:%d/' % ports['heat-api'],
        timeout=120)
