"""Domain errors to HTTP, in one place::

    malformed or missing JSON body        400  fields._body
    InvalidSpec, marshmallow errors       400  fields, keyed by field
    HeatRejected (Heat refused)           400  Heat's one-line message
    AuthenticationFailed                  401
    ClusterNotFound                       404
    ClusterConflict, OperationInProgress  409
    StackFailed                           502
    HeatUnavailable                       503  with Retry-After
    anything else                         500  the request id only

Bodies are JSON ``{"title", "description", "fields"}``. They carry the
domain error's own message, which cue-heat writes to name objects and
values but never secrets; nothing else reaches the client: no traceback,
no template text, no exception class.
"""

import logging

import falcon
import marshmallow

from cue_heat import errors
from cue_heat.api import middleware

LOG = logging.getLogger(__name__)

#: Seconds a client should wait before retrying when Heat is away.
RETRY_AFTER = 30


class FieldErrors(falcon.HTTPBadRequest):
    """400 whose body also carries messages keyed by field."""

    def __init__(self, messages, description=None):
        super().__init__(
            title='Invalid request',
            description=description or errors.InvalidSpec(messages).args[0])
        self.messages = messages

    def to_dict(self, obj_type=dict):
        """Add the field-keyed messages to Falcon's error dict."""
        body = super().to_dict(obj_type)
        body['fields'] = self.messages
        return body


def register(app):
    """Register every handler and the error serializer on *app*."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.MediaNotFoundError, _no_body)
    app.add_error_handler(falcon.MediaMalformedError, _malformed)
    app.add_error_handler(marshmallow.ValidationError, _invalid_fields)
    app.add_error_handler(errors.InvalidSpec, _invalid_spec)
    app.add_error_handler(errors.HeatRejected, _rejected)
    app.add_error_handler(errors.AuthenticationFailed, _unauthorized)
    app.add_error_handler(errors.ClusterNotFound, _not_found)
    app.add_error_handler(errors.ClusterConflict, _conflict)
    app.add_error_handler(errors.StackFailed, _stack_failed)
    app.add_error_handler(errors.HeatUnavailable, _unavailable)
    app.set_error_serializer(serialize)


def serialize(req, resp, exception):
    """Always answer JSON, whatever the client accepts."""
    resp.content_type = falcon.MEDIA_JSON
    resp.media = exception.to_dict()


def _no_body(req, resp, ex, params):
    raise FieldErrors({'_body': ['A JSON body is required.']})


def _malformed(req, resp, ex, params):
    raise FieldErrors({'_body': ['The body is not valid JSON.']})


def _invalid_fields(req, resp, ex, params):
    messages = ex.messages
    if not isinstance(messages, dict):
        messages = {'_schema': messages}
    raise FieldErrors(messages)


def _invalid_spec(req, resp, ex, params):
    raise FieldErrors(ex.messages, str(ex))


def _rejected(req, resp, ex, params):
    # TODO: Heat's message is passed on because it names the property
    # at fault (a flavor or image that does not exist); cue-heat cannot
    # vouch for every message Heat may write, only that it is one line.
    raise falcon.HTTPBadRequest(title='Rejected by Heat', description=str(ex))


def _unauthorized(req, resp, ex, params):
    raise falcon.HTTPUnauthorized(
        title='Unauthorized', description='Heat refused the token.')


def _not_found(req, resp, ex, params):
    raise falcon.HTTPNotFound(title='Not found', description=str(ex))


def _conflict(req, resp, ex, params):
    raise falcon.HTTPConflict(title='Conflict', description=str(ex))


def _stack_failed(req, resp, ex, params):
    LOG.error('Answering 502: %s', ex)
    raise falcon.HTTPBadGateway(title='Stack failed', description=str(ex))


def _unavailable(req, resp, ex, params):
    LOG.error('Answering 503: %s', ex)
    raise falcon.HTTPServiceUnavailable(
        title='Service unavailable',
        description='Heat cannot be reached; try again later.',
        retry_after=RETRY_AFTER)


def _unexpected(req, resp, ex, params):
    """Log a bug once with its traceback; tell the client only the id.

    Falcon's own HTTP errors never get here: their handler is more
    specific than this one.
    """
    LOG.exception('Unexpected error serving %s %s', req.method, req.path)
    raise falcon.HTTPInternalServerError(
        title='Internal error',
        description='The request failed; report request id %s.'
        % middleware.current_request_id())
