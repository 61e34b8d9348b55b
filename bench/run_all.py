"""Every benchmark in one command: one JSON summary and PNG latency plots under ``bench/results/``.

Each benchmark is a `Section` in `SECTIONS`, run in that order; its numbers go into the
summary under its name, with the load average before and after it (the machine is
shared, so every figure carries how busy it was). A section that fails is recorded with
its error and the others still run; the exit code is then 1. To add a benchmark, append a
`Section` whose ``run(quick)`` returns a JSON-ready dict.

Usage (broker and Redis up, ``pip install -e '.[bench]'`` for the plots)::

    .venv/bin/python bench/run_all.py --quick     # small sizes, two rates (~3 min on an idle machine)
    .venv/bin/python bench/run_all.py             # full: stepped rates, 100k users, 1M index
    .venv/bin/python bench/run_all.py --only memory,embedding

Writes ``bench/results/summary.json`` (``summary-quick.json`` with ``--quick``) and
``bench/results/latency-vs-rate.png`` (``-quick`` likewise); each benchmark also keeps
its own JSON file beside them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))  # the sibling benchmarks import by module name, as when run as scripts
from plots import latency_plot  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Section:
    """One benchmark of the summary: ``run(quick)`` measures and returns its numbers."""

    name: str
    run: Callable[[bool], dict]


def script(name: str, args: list[str], output: str) -> dict:
    """Run ``bench/<name>`` with `args` and return the JSON it writes to ``bench/results/<output>``."""
    done = subprocess.run([sys.executable, str(HERE / name), *args], cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"bench/{name} {' '.join(args)} exited with code {done.returncode}")
    return json.loads((RESULTS / output).read_text())


def recommender(exactly_once: bool) -> Callable[[bool], dict]:
    """The recommender through the broker: sustained events/s, then latency at stepped offered rates
    until p99 passes 100 ms (`recommender.py`)."""

    def run(quick: bool) -> dict:
        sizes = (["--items", "1000", "--backlog", "1000", "--rates", "20,50", "--seconds", "3"] if quick else
                 ["--backlog", "10000", "--rates", "10,25,50,100,150,200,300,400", "--seconds", "10"])
        return script("recommender.py", sizes + ([] if exactly_once else ["--at-least-once"]), "recommender.json")

    return run


def framework_floor(quick: bool) -> dict:
    """The recommender's topology with its step emptied: what Quix Streams, the state and the
    outputs cost per event before any recommending (`framework_floor.py`)."""
    return script("framework_floor.py", ["--events", "3000" if quick else "20000"], "framework_floor.json")


def item_stats(quick: bool) -> dict:
    """item-stats through a backlog, until every update it repartitioned is committed (`item_stats.py`)."""
    return script("item_stats.py", ["--events", "1000" if quick else "6000"], "item_stats.json")


def embedding(quick: bool) -> dict:
    """ONNX embedder against sentence-transformers on torch (`embedding.py`)."""
    return script("embedding.py", ["--texts", "100", "--runs", "1"] if quick else [], "embedding.json")


def index(quick: bool) -> dict:
    """The recommender's vector search: recall@50, latency, build speed (`index.py`: 20k vectors
    quick; 100k then 1M full)."""
    return script("index.py", ["--quick"], "index-quick.json") if quick else script("index.py", [], "index.json")


def projection_rebuild(quick: bool) -> dict:
    """How long the stream waits when the catalog crosses the projection threshold, rebuilt in
    place or in the background (`projection_rebuild.py`: 10k vectors quick, 100k full)."""
    sizes = ["--items", "10500", "--fit-after", "10000"] if quick else []
    return script("projection_rebuild.py", sizes, "projection_rebuild.json")


def memory(quick: bool) -> dict:
    """Per-user recommender state in RocksDB and in RSS, scaled to 100k users (`memory.py`)."""
    return script("memory.py", ["--users", "10000" if quick else "100000"], "memory.json")


def replay(quick: bool) -> dict:
    """A silent recommender rebuild (`cartstream replay --no-emit`) against the live rate (`replay.py`)."""
    return script("replay.py", ["--quick"] if quick else [], "replay.json")


def trainer_replay(quick: bool) -> dict:
    """`cartstream replay trainer` against the live trainer's rate (`trainer_replay.py`)."""
    return script("trainer_replay.py", ["--examples", "5000" if quick else "100000"], "trainer_replay.json")


SECTIONS: list[Section] = [
    Section("recommender_exactly_once", recommender(exactly_once=True)),
    Section("recommender_at_least_once", recommender(exactly_once=False)),
    Section("framework_floor", framework_floor),
    Section("item_stats", item_stats),
    Section("embedding", embedding),
    Section("index", index),
    Section("projection_rebuild", projection_rebuild),
    Section("memory", memory),
    Section("replay", replay),
    Section("trainer_replay", trainer_replay),
]


def run_sections(sections: list[Section], quick: bool) -> tuple[dict, bool]:
    """Run `sections` in order; their results by name, and whether every one succeeded."""
    results, ok = {}, True
    for section in sections:
        print(f"== {section.name} ({'quick' if quick else 'full'})", flush=True)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        try:
            numbers = section.run(quick)
        except Exception as exc:  # one broken benchmark must not lose the others' numbers
            numbers, ok = {"error": f"{type(exc).__name__}: {exc}"}, False
            print(f"   failed: {numbers['error']}", flush=True)
        results[section.name] = {**numbers, "seconds": round(time.perf_counter() - started, 1),
                                 "load_before": round(load_before, 2),
                                 "load_after": round(os.getloadavg()[0], 2)}
    return results, ok


def plot_latency(results: dict, path: Path) -> Path | None:
    """Latency against offered rate for the recommender sections that have steps."""
    runs = {name.removeprefix("recommender_").replace("_", "-"): section["latency_steps"]
            for name, section in results.items() if section.get("latency_steps")}
    return latency_plot(runs, path, "recommender: event -> list latency") if runs else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    parser.add_argument("--only", help="comma-separated section names: " + ", ".join(s.name for s in SECTIONS))
    args = parser.parse_args()
    sections = SECTIONS
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {s.name for s in SECTIONS})
        if unknown:
            parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(s.name for s in SECTIONS)}")
        sections = [s for s in SECTIONS if s.name in wanted]

    started_at, started = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter()
    results, ok = run_sections(sections, args.quick)
    suffix = "-quick" if args.quick else ""
    plot = plot_latency(results, RESULTS / f"latency-vs-rate{suffix}.png")
    summary = {
        "mode": "quick" if args.quick else "full",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "started": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "plots": [plot.name] if plot else [],
        "sections": results,
    }
    out = RESULTS / f"summary{suffix}.json"
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}" + (f" and {plot}" if plot else "") + f" in {summary['seconds']} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
