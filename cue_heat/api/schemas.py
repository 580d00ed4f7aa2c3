"""Request and response schemas of the REST API v1.

Request bodies are loaded with these (the create body with
:class:`cue_heat.spec.ClusterSpecSchema`, through the service), and every
response is dumped through one of them: a response schema lists what may
be shown, so a field it does not name (a password, a TLS key) can never
reach a client. The OpenAPI document is generated from the same classes.
"""

import marshmallow
from marshmallow import fields
from marshmallow import validate

#: Most clusters or events one page may hold.
MAX_PAGE = 1000
STATUSES = ('BUILDING', 'ACTIVE', 'UPDATING', 'DELETING', 'DELETED',
            'ERROR')
HEALTHS = ('OK', 'DEGRADED', 'UNKNOWN')


def _text(**kwargs):
    return fields.String(allow_none=True, **kwargs)


class _StrictSchema(marshmallow.Schema):
    """Request schema: unknown fields are errors that say so."""

    class Meta:
        unknown = marshmallow.RAISE

    error_messages = {
        'unknown': 'Unknown field.',
        'type': 'Must be a JSON object.',
    }


def _integer(**kwargs):
    return fields.Integer(strict=True, error_messages={
        'invalid': 'Must be a whole number.',
        'null': 'Must be a whole number (got null).'}, **kwargs)


def _names(**kwargs):
    return fields.List(
        fields.String(validate=validate.Length(1, 255)),
        validate=validate.Length(max=100), **kwargs)


class ResizeSchema(_StrictSchema):
    """Resize: the new size, and the nodes to remove on a scale-in."""

    size = _integer(required=True, validate=validate.Range(min=1),
                    metadata={'description': 'The new number of nodes.'})
    nodes = _names(metadata={
        'description': 'Nodes to remove first when shrinking; Heat '
                       'picks the oldest for the rest.'})


class HealSchema(_StrictSchema):
    """Heal: the nodes to replace, or every failed node when empty."""

    nodes = _names(metadata={
        'description': 'Nodes to replace; all failed nodes if omitted.'})


class ActionSchema(_StrictSchema):
    """A cluster action: exactly one of ``resize`` and ``heal``."""

    resize = fields.Nested(ResizeSchema)
    heal = fields.Nested(HealSchema)

    @marshmallow.validates_schema
    def _one_action(self, data, **kwargs):
        if len(data) != 1:
            raise marshmallow.ValidationError(
                'Give exactly one action: resize or heal (got %d).'
                % len(data), '_schema')


class ListQuerySchema(marshmallow.Schema):
    """Paging of a listing: page size and the last id already seen."""

    class Meta:
        unknown = marshmallow.EXCLUDE

    limit = fields.Integer(validate=validate.Range(1, MAX_PAGE), metadata={
        'description': 'Most entries to return.'})
    marker = fields.UUID(metadata={
        'description': 'Id of the last entry of the previous page.'})


class EndpointSchema(marshmallow.Schema):
    """Where clients reach the broker."""

    type = fields.String(required=True)
    uri = fields.String(required=True)


class NodeSchema(marshmallow.Schema):
    """One broker server of a cluster."""

    name = fields.String(required=True)
    address = _text()
    status = fields.String(required=True, validate=validate.OneOf(
        STATUSES))


class ClusterSummarySchema(marshmallow.Schema):
    """A cluster as a listing shows it (status from the stack alone)."""

    id = fields.String(required=True)
    name = _text()
    broker = _text()
    size = fields.Integer(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(
        STATUSES))
    status_reason = _text()
    created_at = _text()
    updated_at = _text()


class ClusterSchema(ClusterSummarySchema):
    """A cluster with its nodes and endpoints; never its secrets."""

    version = _text()
    flavor = _text()
    image = _text()
    network_id = fields.List(fields.String(), required=True)
    volume_size = fields.Integer(allow_none=True)
    step = _text(metadata={
        'description': 'The step the current operation is at.'})
    health = fields.String(validate=validate.OneOf(HEALTHS), metadata={
        'description': 'Broker health as the nodes last reported it.'})
    health_reason = _text(metadata={
        'description': 'The nodes that report trouble, and what.'})
    endpoints = fields.List(fields.Nested(EndpointSchema), required=True)
    end_points = fields.Function(
        lambda view: EndpointSchema(many=True).dump(
            view.get('endpoints') or []),
        metadata={'description': 'Cue v1 name of endpoints.'})
    nodes = fields.List(fields.Nested(NodeSchema), required=True)


class EventSchema(marshmallow.Schema):
    """One entry of a cluster's history."""

    id = fields.String(required=True)
    time = _text()
    node = _text()
    step = _text()
    action = _text()
    status = _text()
    reason = _text()


class SizesSchema(marshmallow.Schema):
    """Sizes a broker's clusters may have."""

    min = fields.Integer(required=True)
    max = fields.Integer(required=True)
    forbidden = fields.List(fields.Integer(), required=True)
    reason = fields.String()


class TuningKeySchema(marshmallow.Schema):
    """One allow-listed tuning key of a broker."""

    name = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(
        ['integer', 'number', 'string']))
    description = fields.String()
    min = fields.Raw()
    max = fields.Raw()
    choices = fields.List(fields.Raw())
    default = fields.Raw()
    min_version = fields.String()
    conf_key = fields.String()


class BrokerSchema(marshmallow.Schema):
    """A broker the service offers, with its versions and limits."""

    name = fields.String(required=True)
    description = fields.String()
    versions = fields.List(fields.String(), required=True)
    default_version = fields.String(required=True)
    sizes = fields.Nested(SizesSchema, required=True)
    tuning = fields.List(fields.Nested(TuningKeySchema), required=True)


class BrokersSchema(marshmallow.Schema):
    """Every broker the service offers."""

    brokers = fields.List(fields.Nested(BrokerSchema), required=True)


class LinkSchema(marshmallow.Schema):
    """A link to a related document."""

    rel = fields.String(required=True)
    href = fields.String(required=True)


class VersionSchema(marshmallow.Schema):
    """One API version."""

    id = fields.String(required=True)
    status = fields.String(required=True)
    links = fields.List(fields.Nested(LinkSchema), required=True)


class VersionsSchema(marshmallow.Schema):
    """Every API version the service speaks."""

    versions = fields.List(fields.Nested(VersionSchema), required=True)


class VersionDocumentSchema(marshmallow.Schema):
    """The document of one API version."""

    version = fields.Nested(VersionSchema, required=True)


class HealthSchema(marshmallow.Schema):
    """Liveness of one API process."""

    status = fields.String(required=True)


class ErrorSchema(marshmallow.Schema):
    """Any error the API answers, keyed by field for bad input."""

    title = fields.String(required=True)
    description = fields.String()
    code = fields.Raw()
    link = fields.Dict()
    fields_ = fields.Dict(data_key='fields', metadata={
        'description': 'Messages keyed by field, for bad input.'})


class KeystoneErrorSchema(marshmallow.Schema):
    """The error keystonemiddleware answers when a token is refused."""

    error = fields.Dict(required=True)
