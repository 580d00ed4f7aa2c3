"""The one exception hierarchy of cue-heat.

Lower libraries' errors (heatclient, keystoneauth1, jinja2, yaml) are
translated into these in exactly one place each, so nothing above the
adapters needs to know them::

    CueHeatError
     +-- InvalidSpec (ValueError)        bad user input, keyed by field
     +-- UnknownBroker (InvalidSpec)     no template folder for the broker
     +-- ClusterNotFound (LookupError)   no such cluster in this project
     +-- NodeNotFound (InvalidSpec)      a named node is not a member
     +-- ClusterConflict                 name taken, or state forbids it
     |    +-- OperationInProgress        another operation is running
     +-- TemplateError                   a template failed to render
     +-- HeatUnavailable (ConnectionError)
     +-- HeatRejected                    Heat refused a request (4xx)
     +-- StackFailed                     the stack ended in a FAILED state
     +-- AuthenticationFailed            Keystone refused the credentials
     +-- DevCloudError (RuntimeError)    the local cloud failed to start
"""


class CueHeatError(Exception):
    """Base class of every error cue-heat raises on purpose."""


class InvalidSpec(CueHeatError, ValueError):
    """Raised when a cluster spec or request fails validation.

    :param messages: a mapping of field name to a list of messages, as
        marshmallow's ``ValidationError.messages`` has it.
    """

    def __init__(self, messages, message=None):
        self.messages = messages
        super().__init__(message or _flatten(messages))


class UnknownBroker(InvalidSpec):
    """Raised when a spec names a broker that has no template folder."""

    def __init__(self, broker, known):
        message = 'Broker %r is not one of: %s.' % (
            broker, ', '.join(sorted(known)))
        super().__init__({'broker': [message]}, message)


class NodeNotFound(InvalidSpec):
    """Raised when a resize or heal names a node the cluster lacks."""

    def __init__(self, node, cluster_id):
        message = 'Node %r is not a member of cluster %s.' % (
            node, cluster_id)
        super().__init__({'nodes': [message]}, message)


class ClusterNotFound(CueHeatError, LookupError):
    """Raised when no cluster has the given id in the caller's project."""

    def __init__(self, cluster_id):
        self.cluster_id = cluster_id
        super().__init__('Cluster %s not found.' % cluster_id)


class ClusterConflict(CueHeatError):
    """Raised when a request conflicts with the cluster's state or name."""


class OperationInProgress(ClusterConflict):
    """Raised when a cluster is busy with another operation."""


class TemplateError(CueHeatError):
    """Raised when a broker template fails to render into valid HOT."""


class HeatUnavailable(CueHeatError, ConnectionError):
    """Raised when Heat or Keystone cannot be reached or answers 5xx."""


class HeatRejected(CueHeatError):
    """Raised when Heat refuses a request that cue-heat thought valid."""


class StackFailed(CueHeatError):
    """Raised when a waited-for stack operation ends FAILED."""


class AuthenticationFailed(CueHeatError):
    """Raised when Keystone refuses the credentials or the token."""


class DevCloudError(CueHeatError, RuntimeError):
    """Raised when the local development cloud cannot start or stop."""


def _flatten(messages, prefix=''):
    """Turn a nested field -> messages mapping into one readable line."""
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list):
        return ' '.join(_flatten(item, prefix) for item in messages)
    parts = []
    for field, inner in sorted(messages.items(), key=lambda kv: str(kv[0])):
        name = '%s.%s' % (prefix, field) if prefix else str(field)
        if isinstance(inner, dict):
            parts.append(_flatten(inner, name))
        else:
            parts.append('%s: %s' % (name, _flatten(inner)))
    return ' '.join(parts)
