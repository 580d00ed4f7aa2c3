"""Fields and validators of the cluster spec, with messages that help.

marshmallow's stock messages say what is wrong but not what was sent;
these name the value they got, so a user can find it in a long body,
except for secrets, whose messages describe the value (its type or
length) and never show it.
"""

import ipaddress
import re

import marshmallow
from marshmallow import fields
from marshmallow import validate

_UUID = re.compile(
    r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
    r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
_PEM = re.compile(
    r'^-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+'
    r'-----END \1-----\s*$')

class Text(fields.String):
    """A string field whose type error shows what it got."""

    default_error_messages = {
        'invalid': 'Must be text (got {input!r}).',
        'null': 'Must be text (got null).',
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error('invalid', input=value)
        return value


class Secret(Text):
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


class Block(fields.Nested):
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


class Mapping(fields.Dict):
    """A free-form mapping whose type error shows what it got."""

    default_error_messages = {
        'invalid': 'Must be a mapping (got {input!r}).'}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error('invalid', input=value)
        return super()._deserialize(value, attr, data, **kwargs)


def integer(**kwargs):
    return fields.Integer(strict=True, error_messages={
        'invalid': 'Must be a whole number (got {input!r}).',
        'null': 'Must be a whole number (got null).'}, **kwargs)


def text(low, high, **kwargs):
    return Text(validate=validate.Length(
        low, high, error='Must be {min} to {max} characters long '
        '(got {input!r}).'), **kwargs)


def network_uuid(value):
    if not _UUID.match(value):
        raise marshmallow.ValidationError(
            'Must be a network UUID (got %r).' % value)


def cidr(value):
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as ex:
        raise marshmallow.ValidationError(
            'Must be a network in CIDR notation such as 10.0.0.0/24 '
            '(got %r: %s).' % (value, ex)) from ex


def pem(label, secret=False):
    def check(value):
        match = _PEM.match(value.strip() + '\n')
        if not match or label not in match.group(1):
            # A private key's text is secret, even a mangled one.
            shown = '' if secret else ' starting %r' % value[:30]
            raise marshmallow.ValidationError(
                'Must be PEM text with a %s block (got %d characters%s).'
                % (label, len(value), shown))
    return check
