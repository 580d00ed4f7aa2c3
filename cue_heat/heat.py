"""The Heat adapter: python-heatclient on a keystoneauth1 session.

This is the only module that imports heatclient, keystoneauth1 and
openstack.config. Their errors are translated into
:mod:`cue_heat.errors` in one place, :func:`_translated`, so nothing
above this module knows them::

    heatclient / keystoneauth1            cue_heat.errors
    404 Not Found                         ClusterNotFound
    409 Conflict (ActionInProgress)       OperationInProgress
    409 Conflict (anything else)          ClusterConflict
    401, keystoneauth auth failures       AuthenticationFailed
    other 4xx                             HeatRejected
    5xx, connection failures, no endpoint HeatUnavailable

Idempotent reads and deletes retry transient failures (connection errors,
502, 503, 504) with exponential backoff; creates and updates never retry,
because a retried update that Heat had accepted answers 409.
"""

import contextlib
import logging

from heatclient import client as heat_client
from heatclient import exc as heat_exc
from heatclient.common import template_utils
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from openstack import config as os_config
import tenacity

from cue_heat import errors

LOG = logging.getLogger(__name__)

#: Attempts of an idempotent call before a transient failure is final.
RETRY_ATTEMPTS = 4
#: First backoff delay in seconds; it doubles up to :data:`RETRY_MAX_WAIT`.
RETRY_FIRST_WAIT = 0.5
RETRY_MAX_WAIT = 4
_TRANSIENT_CODES = (502, 503, 504)


def session_from_cloud(cloud_name=None, config_file=None):
    """Build a keystoneauth1 session from clouds.yaml or ``OS_*``.

    openstack.config does the loading (``OS_CLIENT_CONFIG_FILE``,
    ``OS_CLOUD`` and the ``OS_*`` variables), as the openstack CLI would.

    :param config_file: a clouds.yaml to read instead of the usual ones.

    :raises cue_heat.errors.AuthenticationFailed: the cloud is unknown or
        its settings are incomplete.
    """
    try:
        loader = os_config.OpenStackConfig(
            config_files=[str(config_file)] if config_file else None)
        region = loader.get_one(cloud=cloud_name)
        return region.get_session()
    except Exception as ex:
        # NOTE: openstack.config raises its own and keystoneauth1's
        # errors here; the message names the cloud, never a password.
        raise errors.AuthenticationFailed(
            'Cannot load cloud %r: %s.' % (
                cloud_name or 'from environment', _first_line(ex))) from ex


def session_from_token(auth_url, token, project_id):
    """Build a session that talks to Heat with the caller's own token.

    The API uses it so that each request acts with the rights of the
    user who made it; cue-heat holds no credentials of its own.
    """
    auth = v3.Token(auth_url=auth_url, token=token, project_id=project_id)
    return ks_session.Session(auth=auth)


def session_from_auth(auth):
    """Build a session on an auth plugin that already holds a token.

    keystonemiddleware leaves such a plugin for each request (the
    caller's validated token and service catalog), so acting for the
    caller costs no further call to Keystone.
    """
    return ks_session.Session(auth=auth)


class StackClient:
    """Stack operations cue-heat needs, over one heatclient.

    Every method returns plain dicts (``to_dict()`` of heatclient
    objects) so that callers never hold heatclient types.
    """

    def __init__(self, heat, config):
        self._heat = heat
        self._config = config

    @classmethod
    def from_session(cls, session, config):
        """Build a client on *session* for the configured region."""
        heat = heat_client.Client(
            '1', session=session,
            region_name=config.region_name or None,
            interface=config.interface or 'public')
        return cls(heat, config)

    def create_stack(self, stack_name, bundle, tags, parameters=None):
        """Create a stack from a rendered bundle; return its id.

        The operator's environment files (``[heat] environment_files``)
        are merged over the bundle's own environment.

        :raises cue_heat.errors.ClusterConflict: the stack name is taken.
        :raises cue_heat.errors.HeatRejected: Heat refused the template.
        """
        files, environment = self._environment(bundle)
        fields = {
            'stack_name': stack_name,
            'template': bundle.template,
            'files': files,
            'environment': environment,
            'parameters': dict(bundle.parameters, **(parameters or {})),
            'tags': ','.join(tags),
            'timeout_mins': self._config.stack_timeout_mins,
            'disable_rollback': self._config.disable_rollback,
        }
        LOG.debug('Heat: create stack %s', stack_name)
        with _translated('stack %s' % stack_name):
            body = self._heat.stacks.create(**fields)
        return body['stack']['id']

    def get_stack(self, stack_id, resolve_outputs=False):
        """Return one stack as a dict, outputs resolved only on demand.

        :raises cue_heat.errors.ClusterNotFound: no such stack here.
        """
        stack = self._retried(
            stack_id, self._heat.stacks.get, stack_id,
            resolve_outputs=resolve_outputs)
        return stack.to_dict()

    def list_stacks(self, tags, marker=None, limit=None):
        """Return one page of the project's stacks carrying all *tags*."""
        def page():
            return [stack.to_dict() for stack in self._heat.stacks.list(
                tags=','.join(tags), marker=marker, limit=limit,
                sort_keys='creation_time', sort_dir='desc')]
        return self._retried('stack list', page)

    def update_stack(self, stack_id, parameters, tags=None):
        """PATCH-update the stack with only *parameters* changed.

        ``existing=True`` keeps the template, files and every other
        parameter as Heat has them, so servers are not rebuilt.

        :raises cue_heat.errors.OperationInProgress: the stack is busy.
        """
        LOG.debug('Heat: patch stack %s (%s)', stack_id,
                  ', '.join(sorted(parameters)))
        fields = {
            'existing': True,
            'parameters': parameters,
            'timeout_mins': self._config.stack_timeout_mins,
            'disable_rollback': self._config.disable_rollback,
        }
        if tags is not None:
            fields['tags'] = ','.join(tags)
        with _translated(stack_id):
            self._heat.stacks.update(stack_id, **fields)

    def delete_stack(self, stack_id):
        """Ask Heat to delete the stack.

        :raises cue_heat.errors.ClusterNotFound: the stack is gone.
        """
        self._retried(stack_id, self._heat.stacks.delete, stack_id)

    def check_stack(self, stack_id):
        """Start a stack check, which marks failed resources."""
        with _translated(stack_id):
            self._heat.actions.check(stack_id)

    def list_events(self, stack_id, marker=None, limit=None,
                    nested_depth=0, sort_dir='desc'):
        """Return one page of the stack's events, newest first."""
        def page():
            return [event.to_dict() for event in self._heat.events.list(
                stack_id, marker=marker, limit=limit,
                nested_depth=nested_depth, sort_dir=sort_dir)]
        return self._retried(stack_id, page)

    def list_resources(self, stack_id, nested_depth=0):
        """Return the stack's resources, nested ones to *nested_depth*."""
        def listing():
            return [resource.to_dict() for resource in
                    self._heat.resources.list(
                        stack_id, nested_depth=nested_depth)]
        return self._retried(stack_id, listing)

    def get_resource(self, stack_id, resource_name):
        """Return one resource of the stack."""
        resource = self._retried(
            stack_id, self._heat.resources.get, stack_id, resource_name)
        return resource.to_dict()

    def mark_unhealthy(self, stack_id, resource_name, reason):
        """Mark a resource unhealthy so that the next update replaces it.

        Setting the same mark twice is harmless, so this one retries.
        """
        self._retried(
            stack_id, self._heat.resources.mark_unhealthy,
            stack_id, resource_name, True, reason)

    def get_deployment(self, deployment_id):
        """Return one software deployment (status, outputs) as a dict."""
        deployment = self._retried(
            deployment_id, self._heat.software_deployments.get,
            deployment_id)
        return deployment.to_dict()

    def _environment(self, bundle):
        files, environment = (
            template_utils.process_multiple_environments_and_files(
                env_paths=list(self._config.environment_files)))
        merged = template_utils.deep_update(
            _copy(bundle.environment), environment)
        return dict(bundle.files, **files), merged

    def _retried(self, what, func, *args, **kwargs):
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=tenacity.stop_after_attempt(RETRY_ATTEMPTS),
            wait=tenacity.wait_exponential(
                multiplier=RETRY_FIRST_WAIT, max=RETRY_MAX_WAIT),
            before_sleep=_log_retry,
            reraise=True)
        with _translated(what):
            return retrying(func, *args, **kwargs)


@contextlib.contextmanager
def _translated(what):
    """Re-raise heatclient and keystoneauth1 errors as cue-heat's own.

    :param what: the object the call was about (a stack id or name), for
        the message; ``ClusterNotFound`` carries it as the cluster id
        because a cluster id is its stack id.
    """
    try:
        yield
    except heat_exc.HTTPNotFound as ex:
        raise errors.ClusterNotFound(what) from ex
    except heat_exc.HTTPConflict as ex:
        if _error_type(ex) == 'ActionInProgress':
            raise errors.OperationInProgress(
                'Cluster %s is busy with another operation.' % what) from ex
        raise errors.ClusterConflict(_message(ex)) from ex
    except (heat_exc.HTTPUnauthorized, ks_exc.Unauthorized,
            ks_exc.AuthorizationFailure, ks_exc.MissingAuthPlugin) as ex:
        raise errors.AuthenticationFailed(
            'Keystone refused the credentials: %s' % _message(ex)) from ex
    except heat_exc.HTTPException as ex:
        if _code(ex) >= 500:
            raise errors.HeatUnavailable(
                'Heat failed on %s: %s' % (what, _message(ex))) from ex
        raise errors.HeatRejected(
            'Heat refused the request on %s: %s' % (
                what, _message(ex))) from ex
    except (heat_exc.CommunicationError, ks_exc.ConnectionError,
            ks_exc.EndpointNotFound, ks_exc.DiscoveryFailure,
            ks_exc.HttpServerError) as ex:
        raise errors.HeatUnavailable(
            'Heat cannot be reached: %s' % _first_line(ex)) from ex
    except ks_exc.ClientException as ex:
        raise errors.HeatRejected(
            'Request on %s failed: %s' % (what, _first_line(ex))) from ex


def _is_transient(ex):
    """Tell whether a failed call may succeed if simply repeated."""
    if isinstance(ex, (heat_exc.CommunicationError, ks_exc.ConnectionError)):
        return True
    if isinstance(ex, (heat_exc.HTTPException, ks_exc.HttpError)):
        return _code(ex) in _TRANSIENT_CODES
    return False


def _log_retry(retry_state):
    LOG.debug('Heat: transient failure (%s), attempt %d, retrying',
              type(retry_state.outcome.exception()).__name__,
              retry_state.attempt_number)


def _code(ex):
    code = getattr(ex, 'code', None) or getattr(ex, 'http_status', None)
    try:
        return int(code)
    except (TypeError, ValueError):
        return 0


def _error_type(ex):
    return (getattr(ex, 'error', None) or {}).get('error', {}).get('type')


def _message(ex):
    """Return Heat's one-line message, never its traceback."""
    error = (getattr(ex, 'error', None) or {}).get('error', {})
    text = error.get('message') or str(ex)
    return _first_line(text)


def _first_line(value):
    text = str(value).strip()
    line = text.splitlines()[0] if text else type(value).__name__
    return line if line.endswith('.') else line + '.'


def _copy(mapping):
    """Deep-copy a plain JSON-like mapping (dicts and lists)."""
    if isinstance(mapping, dict):
        return {key: _copy(value) for key, value in mapping.items()}
    if isinstance(mapping, list):
        return [_copy(item) for item in mapping]
    return mapping
