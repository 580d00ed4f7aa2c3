"""Cluster resources: thin Falcon responders over ClusterService.

Each responder loads its input, calls ``req.context.clusters`` (the
caller's :class:`cue_heat.clusters.ClusterService`, see
:mod:`cue_heat.api.auth`) and dumps the result through a response
schema. Errors are left to the handlers of :mod:`cue_heat.api.errors`.
"""

import falcon

from cue_heat.api import schemas

_CLUSTER = schemas.ClusterSchema()
_SUMMARIES = schemas.ClusterSummarySchema(many=True)
_EVENTS = schemas.EventSchema(many=True)
_QUERY = schemas.ListQuerySchema()


def _page(req):
    """Return (marker, limit) from the query string."""
    query = _QUERY.load(req.params)
    marker = query.get('marker')
    return (str(marker) if marker else None), query.get('limit')


class Collection:
    """``/v1/clusters``: list and create."""

    acts_for_caller = True

    def on_get(self, req, resp):
        """List the project's clusters, newest first."""
        marker, limit = _page(req)
        found = req.context.clusters.list(marker=marker, limit=limit)

        resp.media = _SUMMARIES.dump(found)

    def on_post(self, req, resp):
        """Create a cluster from a Cue v1 (or extended) body."""
        view = req.context.clusters.create(req.get_media())

        resp.status = falcon.HTTP_202
        resp.location = '%s/v1/clusters/%s' % (req.prefix, view['id'])
        resp.media = _CLUSTER.dump(view)


class Item:
    """``/v1/clusters/{cluster_id}``: show, resize, delete."""

    acts_for_caller = True

    def on_get(self, req, resp, cluster_id):
        """Show the cluster with its status, nodes and endpoints."""
        view = req.context.clusters.show(str(cluster_id))

        resp.media = _CLUSTER.dump(view)

    def on_patch(self, req, resp, cluster_id):
        """Change the size, the one thing a cluster lets change."""
        change = schemas.ResizeSchema().load(req.get_media())
        view = req.context.clusters.resize(str(cluster_id), **change)

        resp.status = falcon.HTTP_202
        resp.media = _CLUSTER.dump(view)

    def on_delete(self, req, resp, cluster_id):
        """Start deleting the cluster."""
        req.context.clusters.delete(str(cluster_id))

        resp.status = falcon.HTTP_202


class Actions:
    """``/v1/clusters/{cluster_id}/actions``: resize or heal."""

    acts_for_caller = True

    def on_post(self, req, resp, cluster_id):
        """Run the one action the body names."""
        action = schemas.ActionSchema().load(req.get_media())
        clusters = req.context.clusters
        if 'resize' in action:
            view = clusters.resize(str(cluster_id), **action['resize'])
        else:
            # TODO: a heal naming no node waits for Heat's stack check
            # inside the request, holding a worker while it runs; an
            # asynchronous check needs a status for "checking" first.
            view = clusters.heal(str(cluster_id), **action['heal'])

        resp.status = falcon.HTTP_202
        resp.media = _CLUSTER.dump(view)


class Events:
    """``/v1/clusters/{cluster_id}/events``: the cluster's history."""

    acts_for_caller = True

    def on_get(self, req, resp, cluster_id):
        """List events, newest first, one page at a time."""
        marker, limit = _page(req)
        events = req.context.clusters.events(
            str(cluster_id), limit=limit or 50, marker=marker)

        resp.media = _EVENTS.dump(events)
