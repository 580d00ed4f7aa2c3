"""The cluster spec: a Cue v1 request body, validated and completed.

The schema checks shape, types and fixed ranges; the checks that depend
on the service configuration (size limit, allowed versions) or on the
broker's allow-list (``templates/<broker>/broker.yaml``: tuning keys,
credentials rules) run after it, so that one call reports every problem
at once. Every message names the field and the value it got; secrets are
described, never echoed.
"""

import copy
import functools
import importlib.resources
import ipaddress
import re

import marshmallow
from marshmallow import fields
from marshmallow import validate
import yaml

from cue_heat import errors

#: Broker used when a spec names none (Cue v1 only knew RabbitMQ).
DEFAULT_BROKER = 'rabbitmq'
#: Largest Cinder volume, in GB, a spec may ask for.
MAX_VOLUME_SIZE = 16384
#: Client networks allowed when the spec names none.
DEFAULT_CLIENT_CIDR = '0.0.0.0/0'

_UUID = re.compile(
    r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
    r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
_PEM = re.compile(
    r'^-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+'
    r'-----END \1-----\s*$')
_TYPE_NAMES = {'integer': int, 'number': (int, float), 'string': str}
_ARTICLES = {'integer': 'an integer', 'number': 'a number',
             'string': 'a string'}


class _Text(fields.String):
    """A string field whose type error shows what it got."""

    default_error_messages = {
        'invalid': 'Must be text (got {input!r}).',
        'null': 'Must be text (got null).',
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error('invalid', input=value)
        return value


class _Secret(_Text):
    """A secret string field: its errors describe the value, never show it.

    :param low: shortest length accepted.
    :param high: longest length accepted.
    """

    default_error_messages = {
        'invalid': 'Must be text (got a value of type {kind}).',
        'null': 'Must be text (got null).',
        'length': 'Must be {low} to {high} characters long (got a '
                  '{length}-character value).',
    }

    def __init__(self, low, high, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error('invalid', kind=type(value).__name__)
        if not self.low <= len(value) <= self.high:
            raise self.make_error('length', low=self.low, high=self.high,
                                  length=len(value))
        return value


class _Block(fields.Nested):
    """A nested block whose type error says what it got.

    Only the type is shown: a block that is not a mapping may still hold
    a password or a private key.
    """

    default_error_messages = {
        'type': 'Must be a mapping (got a value of type {kind}).'}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error('type', kind=type(value).__name__)
        return super()._deserialize(value, attr, data, **kwargs)


class _Mapping(fields.Dict):
    """A free-form mapping whose type error shows what it got."""

    default_error_messages = {
        'invalid': 'Must be a mapping (got {input!r}).'}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error('invalid', input=value)
        return super()._deserialize(value, attr, data, **kwargs)


def _integer(**kwargs):
    return fields.Integer(strict=True, error_messages={
        'invalid': 'Must be a whole number (got {input!r}).',
        'null': 'Must be a whole number (got null).'}, **kwargs)


def _text(low, high, **kwargs):
    return _Text(validate=validate.Length(
        low, high, error='Must be {min} to {max} characters long '
        '(got {input!r}).'), **kwargs)


def _uuid(value):
    if not _UUID.match(value):
        raise marshmallow.ValidationError(
            'Must be a network UUID (got %r).' % value)


def _cidr(value):
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as ex:
        raise marshmallow.ValidationError(
            'Must be a network in CIDR notation such as 10.0.0.0/24 '
            '(got %r: %s).' % (value, ex)) from ex


def _pem(label, secret=False):
    def check(value):
        match = _PEM.match(value.strip() + '\n')
        if not match or label not in match.group(1):
            # A private key's text is secret, even a mangled one.
            shown = '' if secret else ' starting %r' % value[:30]
            raise marshmallow.ValidationError(
                'Must be PEM text with a %s block (got %d characters%s).'
                % (label, len(value), shown))
    return check


class _StrictSchema(marshmallow.Schema):
    """Base schema: unknown fields are errors that say so."""

    class Meta:
        unknown = marshmallow.RAISE

    error_messages = {
        'unknown': 'Unknown field; it is not part of the cluster spec.',
        'type': 'Must be a mapping.',
    }


class TokenSchema(_StrictSchema):
    """The broker user's name and password (Cue v1 ``token``)."""

    username = _text(1, 64, required=True, metadata={
        'description': 'Broker user created on every node.'})
    password = _Secret(1, 1024, required=True, load_only=True, metadata={
        'description': 'Password of that user (never shown again).'})


class AuthenticationSchema(_StrictSchema):
    """Cue v1 authentication block: only PLAIN is defined."""

    type = _Text(required=True, validate=validate.OneOf(
        ['PLAIN'], error='Must be one of: {choices} (got {input!r}).'),
        metadata={'description': 'Authentication type; PLAIN only.'})
    token = _Block(TokenSchema, required=True)


class TLSSchema(_StrictSchema):
    """Operator-supplied certificate, key and CA for the listeners."""

    cert = _Text(required=True, validate=_pem('CERTIFICATE'), metadata={
        'description': 'PEM server certificate (chain) for every node.'})
    key = _Secret(1, 65536, required=True, load_only=True,
                  validate=_pem('PRIVATE KEY', secret=True), metadata={
                      'description': 'PEM private key of that certificate.'})
    ca = _Text(required=True, validate=_pem('CERTIFICATE'), metadata={
        'description': 'PEM CA bundle used to verify clients and peers.'})


class ClusterSpecSchema(_StrictSchema):
    """A cluster spec: Cue v1 fields plus cue-heat's extensions."""

    name = _text(1, 255, required=True, metadata={
        'description': 'Free text shown to users.'})
    size = _integer(required=True, validate=validate.Range(
        min=1, error='Must be at least {min} (got {input!r}).'), metadata={
            'description': 'Number of nodes; the service sets the limit.'})
    flavor = _text(1, 255, metadata={
        'description': 'Nova flavor of every node; service default.'})
    network_id = fields.List(
        _Text(validate=_uuid), required=True, validate=validate.Length(
            1, 1, error='Must list exactly one network (got {input!r}).'),
        error_messages={'invalid': 'Must be a list of network UUIDs.'},
        metadata={'description': 'The one Neutron network, as a list.'})
    volume_size = _integer(load_default=0, validate=validate.Range(
        0, MAX_VOLUME_SIZE, error='Must be from {min} to {max} GB '
        '(got {input!r}).'), metadata={
            'description': 'Data volume per node in GB; 0 for none.'})
    authentication = _Block(AuthenticationSchema, required=True)
    broker = _text(1, 64, load_default=DEFAULT_BROKER, metadata={
        'description': 'rabbitmq (default), kafka or qpid.'})
    version = _text(1, 32, metadata={
        'description': 'Broker version line such as 4.2; default set '
                       'by the service.'})
    image = _text(1, 255, metadata={
        'description': 'Glance image of every node; service default.'})
    key_name = _text(1, 255, metadata={
        'description': 'Nova key pair for SSH access to the nodes.'})
    availability_zone = _text(1, 255, metadata={
        'description': 'Nova and Cinder availability zone.'})
    volume_type = _text(1, 255, metadata={
        'description': 'Cinder volume type of the data volumes.'})
    client_cidr = _Text(load_default=DEFAULT_CLIENT_CIDR, validate=_cidr,
                        metadata={'description': 'Network allowed to '
                                  'reach the client ports.'})
    tls = _Block(TLSSchema, metadata={
        'description': 'Serve AMQPS and HTTPS with these PEM texts.'})
    config = _Mapping(keys=_Text(), load_default=dict, metadata={
        'description': 'Broker tuning keys; see GET /v1/brokers.'})


# PERF: building a schema copies every field (and the nested schemas)
# and took half of load_spec; loading keeps no state in the schema, so
# one instance serves every call.
_SPEC_SCHEMA = ClusterSpecSchema()


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


def load_spec(body, config):
    """Validate a Cue v1 body and complete it into a spec.

    :param body: the request body (a mapping, e.g. parsed JSON or YAML).
    :param config: a :class:`cue_heat.config.Config`.
    :returns: the spec: every field present, defaults applied.
    :raises cue_heat.errors.UnknownBroker: no such broker is offered.
    :raises cue_heat.errors.InvalidSpec: anything else is wrong; its
        ``messages`` are keyed by field.
    """
    if not isinstance(body, dict):
        raise errors.InvalidSpec({'_schema': [
            'The cluster spec must be a mapping (got %s).'
            % type(body).__name__]})
    broker = body.get('broker', DEFAULT_BROKER)
    known = known_brokers(config)
    if broker not in known:
        raise errors.UnknownBroker(broker, known)

    try:
        spec, messages = _SPEC_SCHEMA.load(body), {}
    except marshmallow.ValidationError as ex:
        spec, messages = ex.valid_data or {}, ex.messages
    spec = _complete(spec, broker, config, messages)
    if messages:
        raise errors.InvalidSpec(messages)
    return spec


def _complete(spec, broker, config, messages):
    """Apply config-dependent checks and defaults to a loaded spec."""
    allow = load_allow_list(broker)
    versions, default_version = allowed_versions(broker, config)
    limits = config.limits_for(broker)
    spec = dict(spec)
    spec.setdefault('version', default_version)
    spec.setdefault('flavor', config.default_flavor)
    spec.setdefault('image', limits.image or config.default_image)
    for optional in ('key_name', 'availability_zone', 'volume_type', 'tls'):
        spec.setdefault(optional, None)

    if spec['version'] not in versions:
        _add(messages, ('version',), 'Version %r is not offered for %s; '
             'choose one of: %s.' % (spec['version'], broker,
                                     ', '.join(versions)))
    if 'size' in spec:
        _check_size(spec['size'], allow, config, messages)
    token = spec.get('authentication', {}).get('token')
    if token:
        _check_token(token, allow['authentication'], messages)
    if isinstance(spec.get('config'), dict):
        _check_tuning(spec['config'], allow['tuning'], spec['version'],
                      messages)
    return spec


def _check_size(size, allow, config, messages):
    if size > config.max_size:
        _add(messages, ('size',), 'Size must be at most %d (got %d).'
             % (config.max_size, size))
    elif size in allow['sizes']['forbidden']:
        _add(messages, ('size',), 'Size %d is not allowed: %s.'
             % (size, allow['sizes']['reason']))


def _check_token(token, rules, messages):
    where = ('authentication', 'token')
    username = token.get('username')
    user_rule = rules['username']
    if username is not None and (
            not re.match(user_rule['pattern'], username)
            or username in user_rule['forbidden']):
        _add(messages, where + ('username',), 'Username must be %s '
             '(got %r).' % (user_rule['rule'], username))
    password = token.get('password')
    if password is not None:
        problem = _password_problem(password, rules['password'])
        if problem:
            _add(messages, where + ('password',), 'Password must be %s '
                 '(got %s).' % (rules['password']['rule'], problem))


def _password_problem(password, rule):
    """Describe what is wrong with a password without revealing it."""
    if not rule['min_length'] <= len(password) <= rule['max_length']:
        return 'a %d-character password' % len(password)
    for char in password:
        if not ('!' <= char <= '~') or char in rule['forbidden_characters']:
            return 'a password containing %r' % char
    return None


def _check_tuning(tuning, keys, version, messages):
    for name, value in sorted(tuning.items()):
        where = ('config', name)
        key = keys.get(name)
        if key is None:
            _add(messages, where, 'Unknown tuning key %r; known keys: %s.'
                 % (name, ', '.join(sorted(keys))))
            continue
        problem = _tuning_problem(key, value, version)
        if problem:
            _add(messages, where, problem)


def _tuning_problem(key, value, version):
    expected = _TYPE_NAMES[key['type']]
    if isinstance(value, bool) or not isinstance(value, expected):
        return 'Must be %s (got %r).' % (_ARTICLES[key['type']], value)
    if 'min_version' in key and (
            version_tuple(version) < version_tuple(key['min_version'])):
        return 'Needs version %s or later (got %r with version %s).' % (
            key['min_version'], value, version)
    if 'choices' in key and value not in key['choices']:
        return 'Must be one of: %s (got %r).' % (
            ', '.join(key['choices']), value)
    if 'min' in key and not key['min'] <= value <= key['max']:
        return 'Must be from %s to %s (got %r).' % (
            key['min'], key['max'], value)
    return None


def _add(messages, path, message):
    """Add *message* under the nested field *path* of *messages*."""
    node = messages
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node.setdefault(path[-1], []).append(message)


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


def public_spec(spec):
    """Return a copy of *spec* without its secrets.

    The password and the TLS private key are dropped; everything else
    (certificates included) is public and may be shown or stored in the
    stack.
    """
    public = copy.deepcopy(spec)
    token = public.get('authentication', {}).get('token', {})
    token.pop('password', None)
    if public.get('tls'):
        public['tls'].pop('key', None)
    return public
