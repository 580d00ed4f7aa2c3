"""The cluster spec: a Cue v1 request body, validated and completed.

The schema checks shape, types and fixed ranges; the checks that depend
on the service configuration (size limit, allowed versions) or on the
broker's allow-list (``templates/<broker>/broker.yaml``: tuning keys,
credentials rules) run after it, so that one call reports every problem
at once. Every message names the field and the value it got; secrets are
described, never echoed.
"""

import copy
import re

import marshmallow
from marshmallow import fields
from marshmallow import validate
from cue_heat import allow_lists
from cue_heat import errors
from cue_heat import spec_fields

#: Broker used when a spec names none (Cue v1 only knew RabbitMQ).
DEFAULT_BROKER = 'rabbitmq'
#: Largest Cinder volume, in GB, a spec may ask for.
MAX_VOLUME_SIZE = 16384
#: Client networks allowed when the spec names none.
DEFAULT_CLIENT_CIDR = '0.0.0.0/0'

_TYPE_NAMES = {'integer': int, 'number': (int, float), 'string': str}
_ARTICLES = {'integer': 'an integer', 'number': 'a number',
             'string': 'a string'}


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

    username = spec_fields.text(1, 64, required=True, metadata={
        'description': 'Broker user created on every node.'})
    password = spec_fields.Secret(
        1, 1024, required=True, load_only=True, metadata={
            'description': 'Password of that user (never shown again).'})


class AuthenticationSchema(_StrictSchema):
    """Cue v1 authentication block: only PLAIN is defined."""

    type = spec_fields.Text(required=True, validate=validate.OneOf(
        ['PLAIN'], error='Must be one of: {choices} (got {input!r}).'),
        metadata={'description': 'Authentication type; PLAIN only.'})
    token = spec_fields.Block(TokenSchema, required=True)


class TLSSchema(_StrictSchema):
    """Operator-supplied certificate, key and CA for the listeners."""

    cert = spec_fields.Text(
        required=True, validate=spec_fields.pem('CERTIFICATE'), metadata={
            'description': 'PEM server certificate (chain) for every node.'})
    key = spec_fields.Secret(
        1, 65536, required=True, load_only=True,
        validate=spec_fields.pem('PRIVATE KEY', secret=True), metadata={
            'description': 'PEM private key of that certificate.'})
    ca = spec_fields.Text(
        required=True, validate=spec_fields.pem('CERTIFICATE'), metadata={
            'description': 'PEM CA bundle used to verify clients and peers.'})


class ClusterSpecSchema(_StrictSchema):
    """A cluster spec: Cue v1 fields plus cue-heat's extensions."""

    name = spec_fields.text(1, 255, required=True, metadata={
        'description': 'Free text shown to users.'})
    size = spec_fields.integer(required=True, validate=validate.Range(
        min=1, error='Must be at least {min} (got {input!r}).'), metadata={
            'description': 'Number of nodes; the service sets the limit.'})
    flavor = spec_fields.text(1, 255, metadata={
        'description': 'Nova flavor of every node; service default.'})
    network_id = fields.List(
        spec_fields.Text(validate=spec_fields.network_uuid), required=True,
        validate=validate.Length(
            1, 1, error='Must list exactly one network (got {input!r}).'),
        error_messages={'invalid': 'Must be a list of network UUIDs.'},
        metadata={'description': 'The one Neutron network, as a list.'})
    volume_size = spec_fields.integer(
        load_default=0, validate=validate.Range(
            0, MAX_VOLUME_SIZE, error='Must be from {min} to {max} GB '
            '(got {input!r}).'), metadata={
                'description': 'Data volume per node in GB; 0 for none.'})
    authentication = spec_fields.Block(AuthenticationSchema, required=True)
    broker = spec_fields.text(1, 64, load_default=DEFAULT_BROKER, metadata={
        'description': 'rabbitmq (default), kafka or qpid.'})
    version = spec_fields.text(1, 32, metadata={
        'description': 'Broker version line such as 4.2; default set '
                       'by the service.'})
    image = spec_fields.text(1, 255, metadata={
        'description': 'Glance image of every node; service default.'})
    key_name = spec_fields.text(1, 255, metadata={
        'description': 'Nova key pair for SSH access to the nodes.'})
    availability_zone = spec_fields.text(1, 255, metadata={
        'description': 'Nova and Cinder availability zone.'})
    volume_type = spec_fields.text(1, 255, metadata={
        'description': 'Cinder volume type of the data volumes.'})
    client_cidr = spec_fields.Text(
        load_default=DEFAULT_CLIENT_CIDR, validate=spec_fields.cidr,
        metadata={'description': 'Network allowed to reach the client '
                                 'ports.'})
    tls = spec_fields.Block(TLSSchema, metadata={
        'description': 'Serve AMQPS and HTTPS with these PEM texts.'})
    config = spec_fields.Mapping(
        keys=spec_fields.Text(), load_default=dict, metadata={
            'description': 'Broker tuning keys; see GET /v1/brokers.'})


# PERF: building a schema copies every field (and the nested schemas)
# and took half of load_spec; loading keeps no state in the schema, so
# one instance serves every call.
_SPEC_SCHEMA = ClusterSpecSchema()


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
    known = allow_lists.known_brokers(config)
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
    allow = allow_lists.load_allow_list(broker)
    versions, default_version = allow_lists.allowed_versions(broker, config)
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
            allow_lists.version_tuple(version)
            < allow_lists.version_tuple(key['min_version'])):
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
