"""Request ids: one per request, in a header and in every log line.

The id is made by :class:`RequestId`, the outermost WSGI layer, so that
it also covers what keystonemiddleware answers (401, 503) before the
Falcon app sees the request, and the log lines it writes meanwhile.
:class:`RequestIdFilter` copies it onto log records; gunicorn's
``--log-config`` (or ``cue-heat serve``) attaches it to a handler and
formats ``%(request_id)s``.
"""

import contextvars
import logging
import time
import uuid

LOG = logging.getLogger(__name__)

#: Response header that carries the request id.
HEADER = 'X-Request-ID'
#: The same id under the name other OpenStack services use.
OPENSTACK_HEADER = 'X-OpenStack-Request-ID'
#: What log records carry outside of any request.
NO_REQUEST = '-'

_request_id = contextvars.ContextVar('request_id', default=NO_REQUEST)


def current_request_id():
    """Return the id of the request being served, or ``'-'``."""
    return _request_id.get()


def new_request_id():
    """Return a fresh request id in OpenStack's ``req-<uuid>`` form."""
    return 'req-%s' % uuid.uuid4()


class RequestIdFilter(logging.Filter):
    """Logging filter that stamps records with the current request id.

    Attach it to a handler (not a logger: logger filters do not see
    records of child loggers) and use ``%(request_id)s`` in the format.
    """

    def filter(self, record):
        """Add ``record.request_id``; never drop a record."""
        record.request_id = _request_id.get()
        return True


class RequestId:
    """WSGI middleware giving each request an id, a header and a log line.

    NOTE: the id is always made here, never taken from the client, so a
    caller cannot forge ids or put arbitrary text into the logs.

    :param app: the WSGI application to wrap.
    :param make_id: callable returning a new id (injected by tests).
    """

    def __init__(self, app, make_id=new_request_id):
        self._app = app
        self._make_id = make_id

    def __call__(self, environ, start_response):
        """Serve one request with its id set for its whole duration."""
        request_id = self._make_id()
        token = _request_id.set(request_id)
        environ['cue_heat.request_id'] = request_id
        started = time.monotonic()
        status_seen = []

        def start_with_id(status, headers, exc_info=None):
            status_seen.append(status.split(' ', 1)[0])
            headers = [(name, value) for name, value in headers
                       if name.lower() not in (HEADER.lower(),
                                               OPENSTACK_HEADER.lower())]
            headers.append((HEADER, request_id))
            headers.append((OPENSTACK_HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            return self._app(environ, start_with_id)
        finally:
            LOG.info('%s %s %s %.0fms',
                     environ.get('REQUEST_METHOD', ''),
                     environ.get('PATH_INFO', ''),
                     status_seen[-1] if status_seen else '-',
                     (time.monotonic() - started) * 1000)
            _request_id.reset(token)
