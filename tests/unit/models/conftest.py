"""Fixtures for the models' unit tests: the exported embedding model, when it has been built."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartstream.models.manifest import FP32_MODEL_ID, MANIFEST_FILE, build_instructions


@pytest.fixture(scope="session")
def exported_model_dir() -> Path:
    """The exported all-MiniLM-L6-v2 directory in the user's cache; skips the test when absent."""
    root = Path.home() / ".cache" / "cartstream" / "models"
    model_dir = root / FP32_MODEL_ID
    if not (model_dir / MANIFEST_FILE).is_file():
        pytest.skip(f"no exported model at {model_dir}; build it with: {build_instructions(root)}")
    return model_dir


@pytest.fixture(scope="session")
def embedder(exported_model_dir):
    from cartstream.models.embedder import TextEmbedder

    return TextEmbedder(exported_model_dir)
