"""Static checks of broker configuration files before they ship.

A RabbitMQ node refuses to boot when its ``rabbitmq.conf`` holds a key its
version does not know, and it fails late, on the VM, minutes into a stack
create. Each supported version line has an allow-list of keys in
``templates/rabbitmq/conf_keys/<major>.<minor>.txt``, extracted from that
release's schema files with the management and prometheus plugins (the ones
the node scripts enable), so a rendered file can be checked in Python at
render time, with no broker at hand.
"""

import functools
import importlib.resources
import re

_KEYS_PACKAGE = 'cue_heat'
_KEYS_DIR = ('templates', 'rabbitmq', 'conf_keys')
_VERSION = re.compile(r'^(\d+)\.(\d+)(?:\.\d+)?$')

#: Keys a version accepts but ignores; shipping them misleads a reader.
IGNORED_KEYS = {
    (4, 3): {
        'cluster_partition_handling':
            'is ignored from 4.3 on (Khepri handles partitions)',
    },
}


def check_rabbitmq_conf(text, version):
    """Return the problems of a rabbitmq.conf text for a broker version.

    :param text: the rabbitmq.conf text (sysctl format).
    :param version: the version line, ``4.2`` or ``4.2.9``.
    :returns: a list of one-sentence problems, empty when the file is fine.
    """
    try:
        line = version_line(version)
    except ValueError as ex:
        return [str(ex)]
    patterns = _allowed(line)
    problems = []
    for number, key in _keys(text):
        if key is None:
            problems.append('Line %d is not of the form key = value.'
                            % number)
        elif not any(pattern.match(key) for pattern in patterns):
            problems.append('Line %d: RabbitMQ %s has no setting %r.'
                            % (number, '.'.join(map(str, line)), key))
        elif key in _ignored(line):
            problems.append('Line %d: %s %s.'
                            % (number, key, _ignored(line)[key]))
    return problems


def known_versions(keys_dir=_KEYS_DIR):
    """Return the version lines that have a key list, oldest first.

    :param keys_dir: the folder of per-version lists under the package
        (RabbitMQ's by default; Kafka's checks use it too).
    """
    folder = importlib.resources.files(_KEYS_PACKAGE).joinpath(*keys_dir)
    lines = []
    for entry in folder.iterdir():
        match = _VERSION.match(entry.name.removesuffix('.txt'))
        if entry.name.endswith('.txt') and match:
            lines.append((int(match.group(1)), int(match.group(2))))
    return sorted(lines)


def version_line(version, keys_dir=_KEYS_DIR, product='RabbitMQ'):
    """Pick the newest key list of the same major not newer than it.

    NOTE: a newer minor than any list (4.4 when 4.3 is the newest) is
    checked against the newest list of its major: keys added since are
    reported, which errs on the safe side; keys removed since are not.

    :raises ValueError: the version is malformed or has no list.
    """
    match = _VERSION.match(str(version).strip())
    if not match:
        raise ValueError('%s version %r is not of the form 4.2.'
                         % (product, version))
    wanted = (int(match.group(1)), int(match.group(2)))
    candidates = [line for line in known_versions(keys_dir)
                  if line[0] == wanted[0] and line <= wanted]
    if not candidates:
        raise ValueError('No list of configuration keys for %s %s.'
                         % (product, version))
    return candidates[-1]


def _ignored(line):
    """Return the ignored keys (with reasons) that apply to a line."""
    ignored = {}
    for since, keys in sorted(IGNORED_KEYS.items()):
        if line >= since:
            ignored.update(keys)
    return ignored


@functools.lru_cache(maxsize=None)
def _allowed(line):
    """Compile the allow-list of a version line into regexes."""
    name = '%d.%d.txt' % line
    path = importlib.resources.files(_KEYS_PACKAGE).joinpath(
        *_KEYS_DIR, name)
    patterns = []
    for entry in path.read_text().splitlines():
        entry = entry.strip()
        if entry and not entry.startswith('#'):
            patterns.append(_pattern(entry))
    return tuple(patterns)


def _pattern(entry):
    """Turn a schema pattern into a regex; ``$var`` is one segment."""
    parts = [r'[^.\s]+' if part.startswith('$') else re.escape(part)
             for part in entry.split('.')]
    return re.compile(r'\.'.join(parts) + r'\Z')


def _keys(text):
    """Yield (line number, key or None) for each setting line."""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith('#'):
            continue
        key, sep, _value = stripped.partition('=')
        key = key.strip()
        yield number, (key if sep and key and ' ' not in key else None)
