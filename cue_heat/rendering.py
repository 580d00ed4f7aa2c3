"""Render a cluster spec into a HOT bundle, and write a bundle to disk.

The broker's folder under ``templates/`` says in ``broker.yaml`` which
templates make the bundle, so a new broker is a folder, not code. Values
reach Heat as parameters; Jinja only shapes the structure, and never
unrolls the nodes. Rendering is pure: no network, no files written.
"""

import dataclasses
import functools
import importlib.resources
import os
import pathlib
import re
import shutil
import tempfile

import jinja2
import yaml

from cue_heat import allow_lists
from cue_heat import errors
from cue_heat import spec as spec_module

#: Heat resource type of each optional part when the spec leaves it out.
ABSENT = 'OS::Heat::None'
#: Parameters hidden in the HOT (secrets and TLS material), kept out
#: of the bundle's environment (only write_bundle's file holds them).
HIDDEN_PARAMETERS = frozenset(['admin_password', 'tls_key', 'tls_cert',
                               'tls_ca'])

#: libyaml's safe loader when PyYAML has it: same result, much faster.
_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader('cue_heat', 'templates'),
    undefined=jinja2.StrictUndefined,
    # NOTE: HOT is YAML; HTML escaping would corrupt it.
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A rendered cluster: everything Heat needs to create the stack.

    :ivar template: the top-level HOT (cluster.yaml) as text.
    :ivar files: nested templates and scripts, keyed as the templates
        reference them (``node.yaml``, ``scripts/configure.sh``...).
    :ivar environment: ``resource_registry`` for optional parts and the
        ``parameter_defaults`` that are not secret.
    :ivar parameters: every parameter value, secrets included.
    """

    template: str
    files: dict
    environment: dict
    parameters: dict


def render(spec, config):
    """Render *spec* into a :class:`Bundle`.

    :param spec: a spec from :func:`cue_heat.spec.load_spec`.
    :param config: a :class:`cue_heat.config.Config` (its ``max_size``
        bounds the scaling group).
    :raises cue_heat.errors.TemplateError: a template or static file is
        missing, fails to render, or renders into invalid HOT.
    """
    broker = spec['broker']
    allow = allow_lists.load_allow_list(broker)
    recipe = allow['bundle']
    context = _context(spec, allow, config)

    parameters = _parameters(spec, config, context)
    for name, source in recipe.get('text_parameters', {}).items():
        parameters[name] = _render(broker, source, context)
    template = _render_hot(broker, recipe['template'], context)
    files = {path: _render_hot(broker, source, context)
             if path.endswith('.yaml') else _render(broker, source, context)
             for path, source in recipe.get('rendered_files', {}).items()}
    for path in recipe.get('static_files', ()):
        files[path] = _read_static(broker, path)
    registry = {name: part['file'] if context['parts'][part['when']]
                else ABSENT
                for name, part in recipe.get('optional_parts', {}).items()}
    environment = {
        'resource_registry': registry,
        'parameter_defaults': {
            name: value for name, value in parameters.items()
            if name not in HIDDEN_PARAMETERS},
    }
    return Bundle(template, files, environment, parameters)


def _context(spec, allow, config):
    """Gather what the templates may use, derived once from the spec."""
    tls = spec['tls'] is not None
    services = _services(allow, tls)
    return {
        'spec': spec,
        'allow': allow,
        'max_size': config.max_size,
        'version': allow_lists.version_tuple(spec['version']),
        'host_prefix': host_prefix(
            spec['name'], allow.get('host_prefix_fallback', 'node')),
        'ports': allow['ports'],
        'tls_dir': allow.get('tls_dir', ''),
        'client_ports': [service['port'] for service in services],
        'service_ports': {service['name']: service['port']
                          for service in services},
        'endpoints': [
            {'type': service['name'],
             'uri': '%s://ADDRESS:%d' % (service['scheme'],
                                         service['port'])}
            for service in services if service['scheme']],
        'tuning': _tuning(spec, allow),
        'parts': {'volume': spec['volume_size'] > 0, 'tls': tls},
    }


def _services(allow, tls):
    """Resolve the allow-list's client services for TLS on or off.

    Each becomes ``{name, port, scheme}``: the TLS variant's name, port
    and endpoint scheme replace the plain ones when *tls*; ``scheme`` is
    None for a service that is not published as an endpoint.
    """
    ports = allow['ports']
    resolved = []
    for service in allow['services']:
        prefix = 'tls_' if tls else ''
        resolved.append({
            'name': service.get(prefix + 'name', service['name']),
            'port': ports[service[prefix + 'port']],
            'scheme': service.get(prefix + 'endpoint'),
        })
    return resolved


def _tuning(spec, allow):
    """Return the conf lines of the spec's tuning plus keyed defaults.

    A key with a ``default`` in the allow-list is always written (when
    the version has it), so the cluster never runs on a development
    default such as a 50 MB disk limit.
    """
    version = allow_lists.version_tuple(spec['version'])
    lines = []
    for name, key in sorted(allow['tuning'].items()):
        value = spec['config'].get(name, key.get('default'))
        if value is None or version < allow_lists.version_tuple(
                key.get('min_version', '0')):
            continue
        lines.append({'name': name, 'conf_key': key['conf_key'],
                      'value': key['format'].format(value=value)})
    return lines


def _parameters(spec, config, context):
    token = spec['authentication']['token']
    tls = spec['tls'] or {}
    parameters = {
        'size': spec['size'],
        'cluster_name': spec['name'],
        'cluster_spec': spec_module.public_spec(spec),
        'cluster_size_hint': spec['size'],
        'host_prefix': context['host_prefix'],
        'image': spec['image'],
        'flavor': spec['flavor'],
        'network': spec['network_id'][0],
        'client_cidr': spec['client_cidr'],
        'volume_size': spec['volume_size'],
        'volume_type': spec['volume_type'] or '',
        'version': spec['version'],
        'admin_username': token['username'],
        'admin_password': token['password'],
    }
    for optional in ('key_name', 'availability_zone'):
        if spec[optional]:
            parameters[optional] = spec[optional]
    for part in ('cert', 'key', 'ca'):
        if tls:
            parameters['tls_' + part] = tls[part]
    return parameters


def host_prefix(name, fallback='node'):
    """Turn a free-text cluster name into a hostname prefix.

    Brokers name nodes after their host (RabbitMQ's node name, Kafka's
    and Qpid's advertised addresses), so the prefix keeps to lowercase
    letters, digits and dashes, starts with a letter and leaves room for
    the random suffix within DNS's 63 characters. A name that gives no
    such start is prefixed with the broker's *fallback*.
    """
    slug = re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')[:20]
    slug = slug.rstrip('-')
    if not slug or not slug[0].isalpha():
        slug = (fallback + '-' + slug).rstrip('-')[:20].rstrip('-')
    return slug


def _render(broker, source, context):
    try:
        return _ENV.get_template('%s/%s' % (broker, source)).render(context)
    except jinja2.TemplateNotFound as ex:
        raise errors.TemplateError(
            'Template %s of broker %s is missing.' % (ex.name, broker)
        ) from ex
    except jinja2.TemplateError as ex:
        raise errors.TemplateError(
            'Template %s/%s failed to render: %s' % (broker, source, ex)
        ) from ex


def _render_hot(broker, source, context):
    """Render a HOT template and check that Heat could parse it."""
    hot = _render(broker, source, context)
    _check_hot(broker, source, hot)
    return hot


# PERF: a template's text depends on the spec's optional parts and
# version only (values travel as parameters), so the same few texts
# recur across clusters; parsing each once keeps a render near a
# millisecond instead of tens spent in the YAML parser.
@functools.lru_cache(maxsize=256)
def _check_hot(broker, source, hot):
    try:
        parsed = yaml.load(hot, Loader=_YAML_LOADER)
    except yaml.YAMLError as ex:
        raise errors.TemplateError(
            'Template %s/%s rendered into invalid YAML: %s'
            % (broker, source, ex)) from ex
    missing = [section for section in ('heat_template_version', 'resources',
                                       'outputs')
               if not isinstance(parsed, dict) or section not in parsed]
    if missing:
        raise errors.TemplateError(
            'Template %s/%s rendered without %s.'
            % (broker, source, ', '.join(missing)))


def _read_static(broker, path):
    source = importlib.resources.files('cue_heat') / 'templates' / broker
    try:
        return (source / path).read_text()
    except OSError as ex:
        raise errors.TemplateError(
            'File %s of broker %s is missing.' % (path, broker)) from ex


def write_bundle(bundle, directory):
    """Write *bundle* as files that ``openstack stack create`` takes.

    ``cluster.yaml`` and the files go under *directory*, and
    ``environment.yaml`` carries every parameter (secrets included) as
    ``parameter_defaults``, so ``openstack stack create -t
    DIR/cluster.yaml -e DIR/environment.yaml NAME`` needs nothing else.
    The files are written to a temporary sibling directory first and
    renamed into place, so a failure leaves nothing behind.

    :raises cue_heat.errors.TemplateError: *directory* exists and is not
        empty, or cannot be written.
    """
    target = pathlib.Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise errors.TemplateError(
            'Directory %s exists and is not empty; nothing was written.'
            % target)
    environment = dict(bundle.environment,
                       parameter_defaults=dict(bundle.parameters))
    contents = dict(bundle.files)
    contents['cluster.yaml'] = bundle.template
    contents['environment.yaml'] = yaml.safe_dump(
        environment, default_flow_style=False, sort_keys=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(
        prefix='.%s-' % target.name, dir=target.parent))
    try:
        for path, text in sorted(contents.items()):
            _write(staging / path, text, secret=path == 'environment.yaml')
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except OSError as ex:
        shutil.rmtree(staging, ignore_errors=True)
        raise errors.TemplateError(
            'Bundle cannot be written to %s: %s' % (target, ex)) from ex


def _write(path, text, secret):
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if secret else (0o755 if path.suffix == '.sh' else 0o644)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, 'w') as stream:
        stream.write(text)
