"""The committed Kafka and Qpid example bundles: current and valid.

Each ``examples/kafka-*/`` and ``examples/qpid-*/`` holds ``spec.yaml``
and the bundle ``cue-heat render`` wrote from it. The bundle must be
what the code renders today, and pass the broker's static validators.
"""

import pathlib

import pytest
import yaml

from cue_heat import config as config_module
from cue_heat import kafka_config
from cue_heat import qpid_config
from cue_heat import rendering
from cue_heat import spec as spec_module

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'examples'
FOLDERS = sorted(path for pattern in ('kafka-*', 'qpid-*')
                 for path in EXAMPLES.glob(pattern))


def _files(root):
    return {str(path.relative_to(root)): path.read_text()
            for path in sorted(root.rglob('*')) if path.is_file()}


def test_there_are_examples_of_both_brokers():
    names = {folder.name.split('-')[0] for folder in FOLDERS}
    assert names == {'kafka', 'qpid'}


@pytest.mark.parametrize('folder', FOLDERS, ids=lambda path: path.name)
def test_bundle_is_what_the_spec_renders(folder, tmp_path):
    config = config_module.Config()
    body = yaml.safe_load((folder / 'spec.yaml').read_text())
    bundle = rendering.render(spec_module.load_spec(body, config), config)
    rendering.write_bundle(bundle, tmp_path / 'bundle')

    assert _files(folder / 'bundle') == _files(tmp_path / 'bundle')


@pytest.mark.parametrize('folder', FOLDERS, ids=lambda path: path.name)
def test_bundle_passes_the_static_validators(folder):
    body = yaml.safe_load((folder / 'spec.yaml').read_text())
    parameters = yaml.safe_load(
        (folder / 'bundle' / 'environment.yaml').read_text())[
            'parameter_defaults']
    if body['broker'] == 'kafka':
        for role in ('broker', 'controller'):
            assert kafka_config.check_properties(
                parameters['%s_properties' % role],
                parameters['version']) == []
    else:
        token = body['authentication']['token']
        assert qpid_config.check_broker_config(
            parameters['broker_config'], token['username'],
            token['password']) == []
