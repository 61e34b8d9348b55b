"""`cartstream evaluate --dataset orders` on a tiny generated order log, through the real broker."""

from __future__ import annotations

import csv
import random
import re
import subprocess
import sys

import orjson

from cartstream.topologies.topics import admin_client, existing_topics

from tests.integration.support import ROOT, settings_env

SYSTEMS = ("cartstream", "popularity", "co_visitation")


def test_evaluate_orders_writes_a_report_with_scores_for_every_system(settings, tmp_path):
    rng = random.Random(5)
    items = [f"dish-{n:02d}" for n in range(20)]
    path = tmp_path / "orders.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "item"])
        for order in range(1, 31):
            # Two kinds of diner, so there is something to learn beyond popularity.
            menu = items[:10] if order % 2 else items[10:]
            for item in rng.sample(menu, rng.randint(2, 5)):
                writer.writerow([order, item])
    report_path = tmp_path / "report.json"

    done = subprocess.run(
        [sys.executable, "-m", "cartstream.topologies.cli", "evaluate", "--dataset", "orders", str(path),
         "--json", str(report_path), "--keep-topics"],
        cwd=ROOT, env=settings_env(settings), capture_output=True, text=True, timeout=150)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = orjson.loads(report_path.read_bytes())
    assert set(SYSTEMS) <= set(report)
    for name in SYSTEMS:
        scores = report[name]
        assert scores["judged"] > 0
        for metric in ("hr@10", "ndcg@10", "mrr@10", "coverage", "degraded_share"):
            assert 0.0 <= scores[metric] <= 1.0, (name, metric, scores[metric])
    assert report["cartstream"]["missing"] == 0  # every event got its list
    # Leak-free: no list held an item before its menu event, so none hit an item never added before.
    assert all(report[name]["hits_on_new_items"] == 0 for name in SYSTEMS)
    assert len({(report[name]["judged"], report[name]["judged_known_items"]) for name in SYSTEMS}) == 1
    assert report["cartstream"]["run"]["orders"] == 30
    assert "cartstream" in done.stdout and "co_visitation" in done.stdout
    kept = re.search(r"^topics kept under (\S+)\*$", done.stdout, re.M).group(1)
    assert kept + "recommendations" in existing_topics(admin_client(settings))
