"""Install the simulated-resource environment into a state directory.

The provider templates ship in ``cue_heat/devcloud/simulated``; they are
copied next to an ``environment.yaml`` whose resource registry names them
by absolute ``file://`` URL, so both heatclient's ``template_utils`` and
``openstack stack create -e <state>/simulated/environment.yaml`` find them.
"""

import pathlib
import shutil

import yaml

#: Folder of the packaged provider templates.
SOURCE = pathlib.Path(__file__).parent / 'simulated'
#: Simulated resource type -> provider template file name.
PROVIDERS = {
    'OS::Nova::Server': 'server.yaml',
    'OS::Nova::ServerGroup': 'server_group.yaml',
    'OS::Neutron::Port': 'port.yaml',
    'OS::Neutron::SecurityGroup': 'security_group.yaml',
    'OS::Cinder::Volume': 'volume.yaml',
    'OS::Cinder::VolumeAttachment': 'volume_attachment.yaml',
}


def environment(folder):
    """Return the environment dict mapping each type into *folder*."""
    folder = pathlib.Path(folder).absolute()
    return {'resource_registry': {
        resource_type: (folder / name).as_uri()
        for resource_type, name in PROVIDERS.items()}}


def install(state):
    """Copy the provider templates and write environment.yaml."""
    for name in PROVIDERS.values():
        shutil.copyfile(SOURCE / name, state.simulated / name)
    state.environment_file.write_text(yaml.safe_dump(
        environment(state.simulated), default_flow_style=False))
