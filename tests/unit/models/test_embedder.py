"""TextEmbedder: sentence-transformers' pipeline on onnxruntime, with a verified model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cartstream.models.embedder import TextEmbedder
from cartstream.models.exceptions import ModelChecksumMismatch, ModelNotExported
from cartstream.models.manifest import MANIFEST_FILE


def test_a_missing_model_says_the_command_that_builds_it(tmp_path):
    with pytest.raises(ModelNotExported, match=r"python -m cartstream\.models\.onnx_export"):
        TextEmbedder(tmp_path / "all-MiniLM-L6-v2@onnx-fp32")


def test_a_model_file_that_differs_from_its_manifest_is_refused(tmp_path):
    manifest = {
        "model_id": "demo@onnx-fp32", "onnx_file": "model.onnx", "onnx_sha256": "0" * 64,
        "tokenizer_file": "tokenizer.json", "tokenizer_sha256": "0" * 64,
        "dim": 4, "max_length": 8, "pooling": "mean", "normalize": True,
    }
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    (tmp_path / "model.onnx").write_bytes(b"not the exported graph")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelChecksumMismatch, match="model.onnx"):
        TextEmbedder(tmp_path)


def test_vectors_are_unit_float32_rows_in_input_order(embedder):
    texts = ["Coke Zero 330 ml", "Butter Chicken (main, North Indian) Creamy tomato sauce.", "Naan"]
    vectors = embedder.embed_many(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, row in zip(texts, vectors):
        np.testing.assert_allclose(embedder.embed_one(text), row, atol=1e-5)


def test_padding_a_short_text_inside_a_batch_of_long_ones_does_not_change_its_vector(embedder):
    long_texts = [f"Family feast number {i}: " + "rice, naan, raita, salad, " * 20 for i in range(5)]
    alone = embedder.embed_one("Mango Lassi")
    batched = embedder.embed_many(long_texts + ["Mango Lassi"])[-1]
    assert float(alone @ batched) > 0.99999


def test_similar_dishes_are_closer_than_unrelated_ones(embedder):
    chicken, tikka, cola = embedder.embed_many(["Butter Chicken", "Chicken Tikka Masala", "Coca-Cola can"])
    assert chicken @ tikka > chicken @ cola + 0.2


def test_no_texts_give_an_empty_matrix(embedder):
    assert embedder.embed_many([]).shape == (0, 384)


def test_the_embedder_runs_without_importing_torch(exported_model_dir):
    code = (
        "import sys\n"
        "from cartstream.models.embedder import TextEmbedder\n"
        f"vector = TextEmbedder({str(exported_model_dir)!r}).embed_one('Paneer Tikka')\n"
        "assert vector.shape == (384,)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'sentence_transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_copied_model_directory_loads_and_agrees(exported_model_dir, embedder, tmp_path):
    copy = shutil.copytree(exported_model_dir, tmp_path / exported_model_dir.name)
    other = TextEmbedder(copy, threads=1, batch_size=2, optimization="basic")
    texts = ["Tiramisu", "Pad Thai with prawns", "Garlic Naan", "Miso Soup", "Churros"]
    assert other.model_id == embedder.model_id == "all-MiniLM-L6-v2@onnx-fp32"
    np.testing.assert_allclose(other.embed_many(texts), embedder.embed_many(texts), atol=1e-4)
