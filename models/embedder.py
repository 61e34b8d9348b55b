"""Sentence embeddings of menu texts with an exported ONNX model: no torch at run time.

The pipeline is sentence-transformers' own, rebuilt on onnxruntime and the model's
``tokenizers`` tokenizer: tokenize (truncate to the model's max length), run the
transformer, mean-pool the token embeddings over the attention mask, L2-normalise.
Texts are sorted by token length and padded per batch, so a batch of short menu names
never pays for one long description.

Examples
--------
The pooling steps are pure functions:

>>> import numpy as np
>>> tokens = np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]], dtype=np.float32)
>>> mask = np.array([[1, 1, 0]])
>>> mean_pool(tokens, mask)
array([[2., 2.]], dtype=float32)
>>> l2_normalise(np.array([[3.0, 4.0]], dtype=np.float32))
array([[0.6, 0.8]], dtype=float32)
>>> [b.tolist() for b in length_batches([5, 2, 9, 2, 7], batch_size=2)]
[[1, 3], [0, 4], [2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from cartstream.models.manifest import Manifest, read_manifest, verify_files

__all__ = ["TextEmbedder", "mean_pool", "l2_normalise", "length_batches"]

_OPTIMIZATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def mean_pool(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average the token embeddings of each row over its attention mask.

    Parameters
    ----------
    token_embeddings
        Shape (batch, tokens, dim).
    attention_mask
        Shape (batch, tokens); 1 for real tokens, 0 for padding.
    """
    mask = attention_mask[..., None].astype(np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    # Same floor as sentence-transformers' Pooling, so an all-padding row gives zeros.
    counts = np.maximum(mask.sum(axis=1), 1e-9)
    return (summed / counts).astype(np.float32)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (rows of zeros stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Group positions into batches of similar length, shortest first.

    Parameters
    ----------
    lengths
        Token count of each text.
    batch_size
        Most texts per batch.
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class TextEmbedder:
    """Embed texts with an exported model directory (``model.onnx``, tokenizer, manifest).

    Parameters
    ----------
    model_dir
        Directory written by ``python -m cartstream.models.onnx_export``.
    threads
        onnxruntime intra-op threads. 2 measured fastest on the 2-core machine; use 1
        when the embedder must leave a core to a co-located broker.
    batch_size
        Most texts per onnxruntime call. 32 measured best: smaller batches pay per-call
        overhead, larger ones gain nothing once texts are length-sorted.
    optimization
        onnxruntime graph optimisation level: ``disable``, ``basic``, ``extended`` or
        ``all``. ``all`` measured fastest and costs well under a second at start-up.
    verify
        Check the files against the manifest's sha256 before loading (about 0.2 s);
        turned off only by callers that verified the same directory already.

    Raises
    ------
    ModelNotExported
        When the directory, its manifest or a file is missing; the message says how to build it.
    ModelChecksumMismatch
        When a file differs from the manifest.
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        threads: int = 2,
        batch_size: int = 32,
        optimization: str = "all",
        verify: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if optimization not in _OPTIMIZATION_LEVELS:
            raise ValueError(f"optimization must be one of {sorted(_OPTIMIZATION_LEVELS)}")
        self.model_dir = Path(model_dir)
        self.manifest: Manifest = read_manifest(self.model_dir)
        if verify:
            verify_files(self.model_dir, self.manifest)
        if self.manifest.pooling != "mean":
            raise ValueError(f"unsupported pooling {self.manifest.pooling!r}; only 'mean'")
        self.batch_size = batch_size

        options = ort.SessionOptions()
        options.graph_optimization_level = _OPTIMIZATION_LEVELS[optimization]
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle worker threads would otherwise spin on the cores the broker and the other
        # topologies share with us, between micro-batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.model_dir / self.manifest.onnx_file),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._session.get_outputs()[0].name

        self._tokenizer = Tokenizer.from_file(str(self.model_dir / self.manifest.tokenizer_file))
        # The shipped tokenizer.json pads to a fixed 128 and truncates at 128; we pad per
        # batch ourselves and truncate where sentence-transformers does.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.manifest.max_length)

    @property
    def model_id(self) -> str:
        """The manifest's model id, e.g. ``all-MiniLM-L6-v2@onnx-fp32``."""
        return self.manifest.model_id

    @property
    def dim(self) -> int:
        """Length of every vector this embedder returns."""
        return self.manifest.dim

    def embed_many(self, texts: list[str]) -> np.ndarray:
        """Embed texts; returns float32 of shape (len(texts), dim), rows in input order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        for batch in length_batches(lengths, self.batch_size):
            width = max(lengths[i] for i in batch)
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            attention_mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : lengths[i]] = encodings[i].ids
                attention_mask[row, : lengths[i]] = 1
            feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            (tokens,) = self._session.run([self._output_name], feeds)
            pooled = mean_pool(tokens, attention_mask)
            out[batch] = l2_normalise(pooled) if self.manifest.normalize else pooled
        return out

    def embed_one(self, text: str) -> np.ndarray:
        """Embed one text; returns float32 of shape (dim,)."""
        return self.embed_many([text])[0]
