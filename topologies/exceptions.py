"""Errors a topology or the CLI reports to the user in one line."""


class CartstreamError(Exception):
    """Base of every error the CLI prints as a one-line message."""


class BrokerUnavailableError(CartstreamError):
    """The Kafka broker could not be reached or refused a request."""


class TopicMissingError(CartstreamError):
    """A topic a command reads or writes does not exist on the broker."""


class InvalidSelectionError(CartstreamError):
    """The options choosing which dead letters to replay are malformed or missing."""


class ReplayError(CartstreamError):
    """The broker did not accept every re-published dead letter."""


class EmbeddingModelMismatch(CartstreamError):
    """An embedding model is not the one `embedding-models` makes active, or none can be told."""
