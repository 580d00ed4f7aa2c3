"""What each broker offers: its allow-list and the operator's choice.

A broker is a folder under ``templates/`` whose ``broker.yaml`` lists its
versions, sizes, credential rules, ports and typed tuning keys; the
service configuration narrows the versions. The spec checks against
these, the API and CLI describe them, and rendering reads them, so a new
broker needs a folder and no code.
"""

import functools
import importlib.resources

import yaml

from cue_heat import errors


@functools.lru_cache(maxsize=None)
def load_allow_list(broker):
    """Return the parsed ``broker.yaml`` allow-list of *broker*.

    NOTE: the style keeps yaml in rendering.py, but the allow-list is
    the spec's own rule book, read once and cached here.

    :raises cue_heat.errors.TemplateError: the file is missing or broken.
    """
    path = importlib.resources.files('cue_heat') / 'templates' / broker
    try:
        return yaml.safe_load((path / 'broker.yaml').read_text())
    except (OSError, yaml.YAMLError) as ex:
        raise errors.TemplateError(
            'Allow-list of broker %s cannot be read: %s' % (broker, ex)
        ) from ex


def known_brokers(config):
    """Return the configured brokers that have a template folder."""
    root = importlib.resources.files('cue_heat') / 'templates'
    return tuple(broker for broker in config.brokers
                 if (root / broker / 'broker.yaml').is_file())


def allowed_versions(broker, config):
    """Return (versions, default_version) for *broker* under *config*."""
    allow = load_allow_list(broker)
    limits = config.limits_for(broker)
    versions = tuple(version for version in (limits.versions or ())
                     if version in allow['versions']) or tuple(
                         allow['versions'])
    default = limits.default_version or allow['default_version']
    if default not in versions:
        default = versions[0]
    return versions, default


def version_tuple(version):
    """Turn ``'4.2'`` into ``(4, 2)`` for ordering version lines."""
    return tuple(int(part) for part in version.split('.') if part.isdigit())


def describe_brokers(config):
    """Describe each offered broker: versions and tuning keys.

    :returns: one mapping per broker with ``name``, ``description``,
        ``versions``, ``default_version`` and ``tuning`` (one mapping per
        key: name, type, description and whichever of min, max, choices,
        default and min_version apply).
    """
    described = []
    for broker in known_brokers(config):
        allow = load_allow_list(broker)
        versions, default_version = allowed_versions(broker, config)
        tuning = [dict(_public_key(key), name=name)
                  for name, key in sorted(allow['tuning'].items())]
        sizes = allow.get('sizes') or {}
        described.append({
            'name': broker, 'description': allow.get('description', ''),
            'versions': list(versions), 'default_version': default_version,
            'sizes': {'min': 1, 'max': config.max_size,
                      'forbidden': list(sizes.get('forbidden') or ()),
                      'reason': sizes.get('reason', '')},
            'tuning': tuning})
    return described


def _public_key(key):
    shown = ('type', 'description', 'min', 'max', 'choices', 'default',
             'min_version', 'conf_key')
    return {field: key[field] for field in shown if field in key}
