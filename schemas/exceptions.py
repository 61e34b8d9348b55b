"""Errors raised by the schemas package."""


class UnknownTopicError(LookupError):
    """A topic name that is not one of the design's topics (names are given without prefix)."""
