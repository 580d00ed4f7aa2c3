"""``/v1/brokers``: what the service offers, for clients to choose."""

from cue_heat import allow_lists
from cue_heat.api import schemas


class Brokers:
    """Brokers with their versions, size limits and tuning keys.

    :param config: the service :class:`cue_heat.config.Config`.
    """

    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp):
        """Describe every offered broker."""
        brokers = allow_lists.describe_brokers(self._config)

        resp.media = schemas.BrokersSchema().dump({'brokers': brokers})
