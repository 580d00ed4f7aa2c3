"""The OpenAPI 3 document, generated from the marshmallow schemas.

apispec turns each schema into a component, so the document and the
responses come from the same classes and cannot drift apart. Secrets are
``writeOnly`` in the request schema and absent from every response one.
"""

from apispec import APISpec
from apispec.ext import marshmallow as apispec_marshmallow

from cue_heat import spec
from cue_heat.api import schemas

TITLE = 'cue-heat'
API_VERSION = '1.0'
OPENAPI_VERSION = '3.0.3'
JSON = 'application/json'
CLUSTER_ID = {
    'name': 'cluster_id', 'in': 'path', 'required': True,
    'schema': {'type': 'string', 'format': 'uuid'},
    'description': 'The cluster id (its Heat stack id).'}
#: (path, {method: (operationId, summary, needs a token, request body
#: schema, {status: response schema}})) for every route.
_PATHS = (
    ('/', {'get': ('versions', 'List the API versions.', False, None,
                   {'200': 'Versions'})}),
    ('/healthz', {'get': ('health', 'Tell that the process serves.',
                          False, None, {'200': 'Health'})}),
    ('/v1', {'get': ('version', 'Describe API version 1.', False, None,
                     {'200': 'VersionDocument'})}),
    ('/v1/openapi.json', {'get': (
        'openapi', 'This document.', False, None, {'200': None})}),
    ('/v1/brokers', {'get': (
        'listBrokers', 'List brokers, versions, limits and tuning keys.',
        True, None, {'200': 'Brokers'})}),
    ('/v1/clusters', {
        'get': ('listClusters', 'List the project\'s clusters.', True,
                None, {'200': 'ClusterList', '400': 'Error'}),
        'post': ('createCluster', 'Create a cluster (Cue v1 body works).',
                 True, 'ClusterSpec', {'202': 'Cluster', '400': 'Error',
                                       '409': 'Error'})}),
    ('/v1/clusters/{cluster_id}', {
        'get': ('showCluster', 'Show a cluster.', True, None,
                {'200': 'Cluster', '404': 'Error'}),
        'patch': ('updateCluster', 'Resize a cluster.', True, 'Resize',
                  {'202': 'Cluster', '400': 'Error', '404': 'Error',
                   '409': 'Error'}),
        'delete': ('deleteCluster', 'Delete a cluster.', True, None,
                   {'202': None, '404': 'Error'})}),
    ('/v1/clusters/{cluster_id}/actions', {
        'post': ('clusterAction', 'Resize or heal a cluster.', True,
                 'Action', {'202': 'Cluster', '400': 'Error',
                            '404': 'Error', '409': 'Error'})}),
    ('/v1/clusters/{cluster_id}/events', {
        'get': ('listClusterEvents', 'List a cluster\'s events.', True,
                None, {'200': 'EventList', '400': 'Error',
                       '404': 'Error'})}),
)
_COMPONENTS = {
    'ClusterSpec': spec.ClusterSpecSchema,
    'Resize': schemas.ResizeSchema,
    'Action': schemas.ActionSchema,
    'Cluster': schemas.ClusterSchema,
    'ClusterSummary': schemas.ClusterSummarySchema,
    'Event': schemas.EventSchema,
    'Brokers': schemas.BrokersSchema,
    'Versions': schemas.VersionsSchema,
    'VersionDocument': schemas.VersionDocumentSchema,
    'Health': schemas.HealthSchema,
    'Error': schemas.ErrorSchema,
    'KeystoneError': schemas.KeystoneErrorSchema,
}


def document():
    """Build the OpenAPI document as a JSON-ready dict."""
    api = APISpec(
        title=TITLE, version=API_VERSION, openapi_version=OPENAPI_VERSION,
        plugins=[apispec_marshmallow.MarshmallowPlugin()],
        info={'description': 'Message-broker clusters as Heat stacks.'})
    api.components.security_scheme('keystone', {
        'type': 'apiKey', 'in': 'header', 'name': 'X-Auth-Token'})
    for name, schema in _COMPONENTS.items():
        api.components.schema(name, schema=schema)
    for name, item in (('ClusterList', 'ClusterSummary'),
                       ('EventList', 'Event')):
        api.components.schema(name, {'type': 'array', 'items': {
            '$ref': '#/components/schemas/%s' % item}})
    for path, operations in _PATHS:
        api.path(path=path, operations={
            method: _operation(path, method, *details)
            for method, details in operations.items()})
    return api.to_dict()


def _operation(path, method, operation_id, summary, secured, body,
               responses):
    operation = {
        'operationId': operation_id, 'summary': summary,
        'responses': {code: _response(code, name)
                      for code, name in responses.items()}}
    if '{cluster_id}' in path:
        operation['parameters'] = [CLUSTER_ID]
    if method == 'get' and path in ('/v1/clusters',
                                    '/v1/clusters/{cluster_id}/events'):
        operation.setdefault('parameters', []).append(
            {'in': 'query', 'schema': schemas.ListQuerySchema})
    if body:
        operation['requestBody'] = {'required': True, 'content': {
            JSON: {'schema': _ref(body)}}}
    if secured:
        operation['security'] = [{'keystone': []}]
        operation['responses']['401'] = {
            'description': 'No valid token (keystonemiddleware answers).',
            'content': {JSON: {'schema': {'anyOf': [
                _ref('KeystoneError'), _ref('Error')]}}}}
    if '{cluster_id}' in path or path == '/v1/clusters':
        operation['responses']['503'] = _response('503', 'Error')
    return operation


def _response(code, name):
    response = {'description': 'HTTP %s' % code}
    if name:
        response['content'] = {JSON: {'schema': _ref(name)}}
    if code == '503':
        response['headers'] = {'Retry-After': {
            'description': 'Seconds to wait before retrying.',
            'schema': {'type': 'integer'}}}
    return response


def _ref(name):
    return {'$ref': '#/components/schemas/%s' % name}
