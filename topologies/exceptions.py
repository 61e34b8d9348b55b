"""Errors a topology or the CLI reports to the user in one line."""


class CartstreamError(Exception):
    """Base of every error the CLI prints as a one-line message."""


class BrokerUnavailableError(CartstreamError):
    """The Kafka broker could not be reached or refused a request."""
