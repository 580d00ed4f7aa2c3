"""Tests of the configuration reader."""

import pytest

from cue_heat import config
from cue_heat import errors


def test_load_defaults_without_file():
    """No file and no environment gives the documented defaults."""
    conf = config.load(environ={})

    assert conf.max_size == config.DEFAULT_MAX_SIZE
    assert conf.brokers == config.DEFAULT_BROKERS


def test_load_reads_file_and_environment(tmp_path):
    """The file sets options, CUE_HEAT_* overrides them."""
    path = tmp_path / 'cue-heat.conf'
    path.write_text(
        '[cue_heat]\nmax_size = 9\ndefault_flavor = m1.large\n'
        '[broker:rabbitmq]\nversions = 4.2, 3.13\ndefault_version = 4.2\n'
        '[heat]\nenvironment_files = /a.yaml,/b.yaml\n')

    conf = config.load(str(path), environ={'CUE_HEAT_MAX_SIZE': '5'})

    assert conf.max_size == 5
    assert conf.default_flavor == 'm1.large'
    assert conf.limits_for('rabbitmq').versions == ('4.2', '3.13')
    assert conf.environment_files == ('/a.yaml', '/b.yaml')


def test_load_rejects_bad_number_naming_option_and_value():
    """A malformed number names the option and the value."""
    with pytest.raises(errors.InvalidSpec) as info:
        config.load(environ={'CUE_HEAT_MAX_SIZE': 'lots'})

    assert 'max_size' in str(info.value)
    assert "'lots'" in str(info.value)


def test_load_rejects_missing_file(tmp_path):
    """A named file that cannot be read is an error, not defaults."""
    with pytest.raises(errors.InvalidSpec):
        config.load(str(tmp_path / 'absent.conf'), environ={})
