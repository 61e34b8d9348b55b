"""Errors of the local infrastructure; each message says what to do next."""


class InfraError(Exception):
    """Starting, stopping or inspecting the local broker or Redis failed."""


class MissingToolError(InfraError):
    """A system program (java, mvn, redis-server) is absent and could not be installed."""
