"""Service configuration, read once from a file and the environment.

The file is INI (the one ``cue-heat devcloud up`` writes works as is)::

    [cue_heat]
    max_size = 7
    default_flavor = m1.small
    default_image = debian-12
    stack_timeout_mins = 60
    disable_rollback = true

    [broker:rabbitmq]
    versions = 4.2, 3.13
    default_version = 4.2

    [heat]
    environment_files = /path/simulated.yaml

    [api]
    bind = 127.0.0.1:8795
    workers = 2

    [keystone_authtoken]
    ...   (handed to keystonemiddleware unchanged)

``CUE_HEAT_CONFIG`` names the file when no path is given, and
``CUE_HEAT_<OPTION>`` overrides an option of ``[cue_heat]``. No other
module reads ``os.environ``.
"""

import configparser
import dataclasses
import os

from cue_heat import errors

DEFAULT_MAX_SIZE = 7
DEFAULT_FLAVOR = 'm1.small'
DEFAULT_IMAGE = 'debian-12'
DEFAULT_STACK_TIMEOUT_MINS = 60
DEFAULT_DISABLE_ROLLBACK = True
DEFAULT_BROKERS = ('rabbitmq', 'kafka', 'qpid')
DEFAULT_BIND = '127.0.0.1:8795'
DEFAULT_WORKERS = 2


@dataclasses.dataclass(frozen=True)
class BrokerLimits:
    """Operator's choice of versions for one broker."""

    versions: tuple = ()
    default_version: str = ''
    image: str = ''


@dataclasses.dataclass(frozen=True)
class Config:
    """Typed settings of one cue-heat process."""

    max_size: int = DEFAULT_MAX_SIZE
    default_flavor: str = DEFAULT_FLAVOR
    default_image: str = DEFAULT_IMAGE
    stack_timeout_mins: int = DEFAULT_STACK_TIMEOUT_MINS
    disable_rollback: bool = DEFAULT_DISABLE_ROLLBACK
    brokers: tuple = DEFAULT_BROKERS
    broker_limits: dict = dataclasses.field(default_factory=dict)
    environment_files: tuple = ()
    region_name: str = ''
    interface: str = 'public'
    auth_token: dict = dataclasses.field(default_factory=dict)
    bind: str = DEFAULT_BIND
    workers: int = DEFAULT_WORKERS
    path: str = ''

    def limits_for(self, broker):
        """Return the operator's :class:`BrokerLimits` for *broker*."""
        return self.broker_limits.get(broker, BrokerLimits())


def load(path=None, environ=None):
    """Read the configuration file and the ``CUE_HEAT_*`` environment.

    :param path: the INI file; ``CUE_HEAT_CONFIG`` when None, and no file
        at all when neither is set (defaults only).
    :param environ: the environment mapping (``os.environ`` when None).
    :raises cue_heat.errors.InvalidSpec: a value has the wrong type; the
        message names the option and the value.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get('CUE_HEAT_CONFIG', '')
    parser = configparser.ConfigParser(interpolation=None)
    if path:
        if not parser.read(path):
            raise errors.InvalidSpec(
                {'config': ['Configuration file %s cannot be read.' % path]})
    main = dict(parser['cue_heat']) if parser.has_section('cue_heat') else {}
    for key, value in environ.items():
        if key.startswith('CUE_HEAT_') and key != 'CUE_HEAT_CONFIG':
            main[key[len('CUE_HEAT_'):].lower()] = value
    heat = dict(parser['heat']) if parser.has_section('heat') else {}
    api = dict(parser['api']) if parser.has_section('api') else {}
    return Config(
        max_size=_int(main, 'max_size', DEFAULT_MAX_SIZE),
        default_flavor=main.get('default_flavor', DEFAULT_FLAVOR),
        default_image=main.get('default_image', DEFAULT_IMAGE),
        stack_timeout_mins=_int(
            main, 'stack_timeout_mins', DEFAULT_STACK_TIMEOUT_MINS),
        disable_rollback=_bool(
            main, 'disable_rollback', DEFAULT_DISABLE_ROLLBACK),
        brokers=_list(main.get('brokers')) or DEFAULT_BROKERS,
        broker_limits=_broker_limits(parser),
        environment_files=_list(heat.get('environment_files')),
        region_name=heat.get('region_name', ''),
        interface=heat.get('interface', 'public'),
        auth_token=(dict(parser['keystone_authtoken'])
                    if parser.has_section('keystone_authtoken') else {}),
        bind=api.get('bind', DEFAULT_BIND),
        workers=_int(api, 'workers', DEFAULT_WORKERS),
        path=path,
    )


def _broker_limits(parser):
    limits = {}
    for section in parser.sections():
        if section.startswith('broker:'):
            options = parser[section]
            limits[section[len('broker:'):]] = BrokerLimits(
                versions=_list(options.get('versions')),
                default_version=options.get('default_version', ''),
                image=options.get('image', ''),
            )
    return limits


def _list(value):
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(',') if item.strip())


def _int(options, key, default):
    value = options.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as ex:
        raise errors.InvalidSpec({key: [
            'Option %s must be a whole number (got %r).' % (key, value)]}
        ) from ex


def _bool(options, key, default):
    value = options.get(key)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ('1', 'true', 'yes', 'on'):
        return True
    if lowered in ('0', 'false', 'no', 'off'):
        return False
    raise errors.InvalidSpec({key: [
        'Option %s must be true or false (got %r).' % (key, value)]})
