"""Version documents, health and the OpenAPI document: no token needed."""

from cue_heat.api import schemas

#: The one API version, as OpenStack version documents list it.
V1 = {'id': 'v1', 'status': 'CURRENT'}


def _version(req):
    links = [{'rel': 'self', 'href': '%s/v1' % req.prefix},
             {'rel': 'describedby',
              'href': '%s/v1/openapi.json' % req.prefix}]
    return dict(V1, links=links)


class Root:
    """``/``: the API versions this service speaks."""

    def on_get(self, req, resp):
        """List the versions."""
        versions = {'versions': [_version(req)]}

        resp.media = schemas.VersionsSchema().dump(versions)


class Version:
    """``/v1``: the document of version 1."""

    def on_get(self, req, resp):
        """Describe version 1."""
        resp.media = schemas.VersionDocumentSchema().dump(
            {'version': _version(req)})


class Health:
    """``/healthz``: the process is up and serving."""

    def on_get(self, req, resp):
        """Answer ok; Heat and Keystone are not consulted."""
        resp.media = schemas.HealthSchema().dump({'status': 'ok'})


class OpenAPI:
    """``/v1/openapi.json``: the OpenAPI 3 document of the API.

    :param document: the document, built once by
        :func:`cue_heat.api.openapi.document`.
    """

    def __init__(self, document):
        self._document = document

    def on_get(self, req, resp):
        """Serve the document."""
        resp.media = self._document
