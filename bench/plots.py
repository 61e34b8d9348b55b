"""PNG plots of the benchmark summary: event -> list latency against the offered rate.

Used by `run_all.py`; matplotlib comes with the ``bench`` extra
(``pip install -e '.[bench]'``), never with the serving install.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402

PERCENTILES = (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"))
BUDGET_MS = 100.0


def latency_plot(runs: Mapping[str, Sequence[Mapping[str, float]]], path: Path, title: str) -> Path:
    """Plot p50/p99/p99.9 latency against offered events/s, one colour per run, and the 100 ms budget.

    ``runs`` maps a label (e.g. "exactly-once") to its latency steps, each a dict with
    ``offered_per_s``, ``p50_ms``, ``p99_ms`` and ``p999_ms`` as `recommender.py` writes them.
    """
    figure, axes = plt.subplots(figsize=(7, 4.5))
    styles = ("-", "--", ":")
    for colour, (label, steps) in enumerate(runs.items()):
        rates = [step["offered_per_s"] for step in steps]
        for style, (key, name) in zip(styles, PERCENTILES):
            axes.plot(rates, [step[key] for step in steps], linestyle=style, marker="o", color=f"C{colour}",
                      label=f"{label} {name}")
    axes.axhline(BUDGET_MS, color="grey", linewidth=1, label="100 ms budget")
    axes.set_xlabel("offered rate (events/s)")
    axes.set_ylabel("event -> list latency (ms)")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
