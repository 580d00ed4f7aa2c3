"""Command-line options that build a cluster spec body.

``cue-heat cluster create`` and ``cue-heat render`` take the same
fields: a spec file (JSON or YAML) and options that override its
fields, so a spec file is optional. Secrets can come from files, so they
never need to be on the command line.
"""

import yaml

from cue_heat import errors

#: Options copied as they are into top-level fields of the body.
_PLAIN_FIELDS = ('name', 'size', 'broker', 'version', 'flavor', 'image',
                 'volume_size', 'key_name', 'availability_zone',
                 'volume_type', 'client_cidr')
#: TLS option -> field of the spec's ``tls`` block; each names a file.
_TLS_FILES = {'tls_cert': 'cert', 'tls_key': 'key', 'tls_ca': 'ca'}


def add_spec_options(parser, tuning_option=None):
    """Add the spec field options to an argparse *parser*.

    :param tuning_option: the flag of the repeatable ``KEY=VALUE``
        tuning option (such as ``--config``), or None for none.
    """
    parser.add_argument('--name', help='cluster name (free text)')
    parser.add_argument('--size', type=int, help='number of nodes')
    parser.add_argument('--broker', help='rabbitmq, kafka or qpid')
    # NOTE: not --version, which cliff's application parser takes first
    # (it prints cue-heat's own version and exits 0) wherever it stands.
    parser.add_argument('--broker-version', dest='version',
                        metavar='VERSION',
                        help='broker version line, such as 4.2')
    parser.add_argument('--flavor', help='Nova flavor of every node')
    parser.add_argument('--image', help='Glance image of every node')
    parser.add_argument('--network', '--network-id', dest='network_id',
                        metavar='NETWORK_ID', help='Neutron network UUID')
    parser.add_argument('--volume-size', dest='volume_size', type=int,
                        metavar='GB', help='data volume per node; 0: none')
    parser.add_argument('--volume-type', dest='volume_type')
    parser.add_argument('--key-name', dest='key_name',
                        help='Nova key pair for SSH access')
    parser.add_argument('--availability-zone', dest='availability_zone')
    parser.add_argument('--client-cidr', dest='client_cidr', metavar='CIDR',
                        help='network allowed to reach the client ports')
    parser.add_argument('--username', help='broker user')
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument('--password',
                        help='broker password (visible to other local '
                             'users; prefer --password-file)')
    secret.add_argument('--password-file', dest='password_file',
                        metavar='FILE',
                        help='read the broker password from FILE (- for '
                             'standard input); one trailing newline is '
                             'dropped')
    for option, part in sorted(_TLS_FILES.items()):
        parser.add_argument('--' + option.replace('_', '-'), dest=option,
                            metavar='FILE',
                            help='PEM file of the TLS %s' % part)
    if tuning_option:
        parser.add_argument(
            tuning_option, dest='tuning', metavar='KEY=VALUE',
            action='append', default=[],
            help='broker tuning key (repeat for several)')


def build_body(parsed_args, stdin=None):
    """Build the request body from the spec file and the options.

    The spec file is ``parsed_args.spec`` (None for none); options given
    on the command line override its fields.

    :param stdin: where ``--password-file -`` reads from.
    :raises cue_heat.errors.InvalidSpec: a file cannot be read or
        parsed, or an option is malformed; the message names it.
    """
    body = read_spec_file(parsed_args.spec) if parsed_args.spec else {}
    if not isinstance(body, dict):
        return body
    for field in _PLAIN_FIELDS:
        value = getattr(parsed_args, field, None)
        if value is not None:
            body[field] = value
    if parsed_args.network_id:
        body['network_id'] = [parsed_args.network_id]
    password = parsed_args.password
    if getattr(parsed_args, 'password_file', None):
        password = _read_secret(parsed_args.password_file, stdin)
    if parsed_args.username or password:
        token = _token(body)
        if parsed_args.username:
            token['username'] = parsed_args.username
        if password:
            token['password'] = password
    _apply_tls(body, parsed_args)
    _apply_tuning(body, getattr(parsed_args, 'tuning', None) or ())
    return body


def read_spec_file(path):
    """Parse a JSON or YAML spec file.

    NOTE: the parser's message is reduced to the problem and its line;
    the snippet of the offending line that PyYAML adds could hold a
    password.

    :raises cue_heat.errors.InvalidSpec: unreadable or not YAML/JSON.
    """
    try:
        with open(path, encoding='utf-8') as spec_file:
            text = spec_file.read()
    except (OSError, UnicodeDecodeError) as ex:
        raise errors.InvalidSpec({'spec': [
            'Spec file %s cannot be read: %s.' % (
                path, getattr(ex, 'strerror', None) or ex)]}) from ex
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as ex:
        raise errors.InvalidSpec({'spec': [
            'Spec file %s is not valid YAML or JSON: %s.' % (
                path, _yaml_problem(ex))]}) from ex
    return {} if body is None else body


def _yaml_problem(ex):
    problem = getattr(ex, 'problem', None) or 'cannot be parsed'
    mark = getattr(ex, 'problem_mark', None)
    if mark is None:
        return problem
    return '%s at line %d, column %d' % (
        problem, mark.line + 1, mark.column + 1)


def _token(body):
    authentication = body.get('authentication')
    if not isinstance(authentication, dict):
        authentication = body['authentication'] = {}
    authentication.setdefault('type', 'PLAIN')
    token = authentication.get('token')
    if not isinstance(token, dict):
        token = authentication['token'] = {}
    return token


def _read_secret(path, stdin):
    if path == '-':
        return (stdin.read() if stdin else '').rstrip('\r\n')
    try:
        with open(path, encoding='utf-8') as secret_file:
            text = secret_file.read()
    except (OSError, UnicodeDecodeError) as ex:
        raise errors.InvalidSpec({'password_file': [
            'Password file %s cannot be read: %s.' % (
                path, getattr(ex, 'strerror', None) or 'not UTF-8 text')]}
        ) from ex
    if text.endswith('\n'):
        text = text[:-1]
    return text.rstrip('\r')


def _apply_tls(body, parsed_args):
    for option, part in _TLS_FILES.items():
        path = getattr(parsed_args, option, None)
        if not path:
            continue
        try:
            with open(path, encoding='utf-8') as pem_file:
                text = pem_file.read()
        except (OSError, UnicodeDecodeError) as ex:
            raise errors.InvalidSpec({option: [
                'TLS %s file %s cannot be read: %s.' % (
                    part, path, getattr(ex, 'strerror', None) or
                    'not UTF-8 text')]}) from ex
        tls = body.get('tls')
        if not isinstance(tls, dict):
            tls = body['tls'] = {}
        tls[part] = text


def _apply_tuning(body, pairs):
    if not pairs:
        return
    tuning = body.get('config')
    if not isinstance(tuning, dict):
        tuning = body['config'] = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key.strip():
            raise errors.InvalidSpec({'config': [
                'Tuning must be KEY=VALUE (got %r).' % pair]})
        tuning[key.strip()] = _scalar(value.strip())


def _scalar(text):
    """Read a tuning value: a whole number, a number, else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
