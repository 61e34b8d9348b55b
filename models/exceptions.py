"""Errors raised by cartstream.models; each one says what to do about it."""

from __future__ import annotations


class ModelsError(Exception):
    """Base class of every error raised by cartstream.models."""


class ModelNotExported(ModelsError, FileNotFoundError):
    """The exported model directory, or a file the manifest names, is missing."""


class ModelChecksumMismatch(ModelsError):
    """A file of an exported model differs from the checksum its manifest records."""


class ModelExportFailed(ModelsError):
    """The export produced a model that disagrees with sentence-transformers on torch."""


class IndexKeyCollision(ModelsError):
    """Two item ids hash to the same 63-bit index key (astronomically rare; never silent)."""


class DimensionMismatch(ModelsError, ValueError):
    """A vector's length differs from the index's dimension."""


class SnapshotNotFound(ModelsError, FileNotFoundError):
    """No saved vector-index snapshot at the given path."""
