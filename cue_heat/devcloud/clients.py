"""Files that tell clients how to reach the local cloud.

``clouds.yaml`` has one cloud per user (admin and the two ordinary
users); ``cue-heat.conf`` is what ``cue-heat serve`` needs to run against
this cloud, read by :func:`cue_heat.config.load`.
"""

import configparser
import io

import yaml

from cue_heat.devcloud import registration
from cue_heat.devcloud import state as state_mod

#: The cloud ``env`` selects for the shell.
DEFAULT_CLOUD = 'devcloud-a'
#: The admin's cloud name.
ADMIN_CLOUD = 'devcloud-admin'


def auth_url(record):
    """Return Keystone's URL (no version suffix) from the record."""
    return 'http://127.0.0.1:%d' % record['ports']['keystone']


def cloud_users(record):
    """Return {cloud name: (user, project, password)}."""
    passwords = record['passwords']
    users = {ADMIN_CLOUD: ('admin', 'admin', passwords['admin'])}
    for cloud, username, project in registration.TENANTS:
        users[cloud] = (username, project, passwords[username])
    return users


def write_clouds_yaml(state, record):
    """Write clouds.yaml with a cloud per user."""
    clouds = {}
    for cloud, (username, project, password) in cloud_users(record).items():
        clouds[cloud] = {
            'auth': {
                'auth_url': auth_url(record) + '/v3',
                'username': username,
                'password': password,
                'project_name': project,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
            },
            'region_name': registration.REGION,
            'identity_api_version': 3,
            'interface': 'public',
        }
    state_mod.write_private(
        state.clouds_yaml,
        yaml.safe_dump({'clouds': clouds}, default_flow_style=False))


def write_service_config(state, record):
    """Write cue-heat.conf for ``cue-heat serve`` on this cloud."""
    parser = configparser.ConfigParser(interpolation=None)
    parser['cue_heat'] = {'stack_timeout_mins': '20'}
    parser['api'] = {
        'bind': '127.0.0.1:%d' % record['ports']['cue-heat-api']}
    parser['heat'] = {
        'environment_files': str(state.environment_file),
        'region_name': registration.REGION,
        'interface': 'public',
    }
    parser['keystone_authtoken'] = {
        'www_authenticate_uri': auth_url(record) + '/v3',
        'auth_url': auth_url(record),
        'auth_type': 'password',
        'username': 'cue-heat',
        'password': record['passwords']['cue-heat'],
        'project_name': 'service',
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': registration.REGION,
    }
    text = io.StringIO()
    parser.write(text)
    state_mod.write_private(state.config_file, text.getvalue())
