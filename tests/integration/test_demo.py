"""`cartstream demo`, the README's first command, end to end at a small size."""

from __future__ import annotations

import re
import subprocess
import sys

from cartstream.topologies.topics import TOPICS, admin_client, existing_topics

from tests.integration.support import ROOT, settings_env


def test_the_demo_runs_all_four_topologies_and_reports_rate_latency_and_hit_rates(settings, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "cartstream.topologies.cli", "demo", "--users", "10", "--events", "300",
         "--rate", "100", "--state-dir", str(tmp_path / "demo")],
        cwd=ROOT, env=settings_env(settings), capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, run.stderr[-2000:]
    assert "300 lists received" in out
    assert "stopped embedder (exit 0), item-stats (exit 0), recommender (exit 0), trainer (exit 0)" in out
    # The live view showed lists as they were published, with a reason for each item.
    assert re.search(r"^\[\d+/300 sent, \d+ lists\] u\d+ after (click|add) .+ -> .+: .+ \(\w+, \d+ ms\)$", out, re.M)
    rate = float(re.search(r"^throughput\s+([\d.]+) events/s processed", out, re.M).group(1))
    p50, p99 = map(int, re.search(r"^latency .*: p50 (\d+) ms, p99 (\d+) ms", out, re.M).groups())
    recommender, popularity = map(float, re.search(r"all lists \(n=\d+\)\s+([\d.]+)\s+([\d.]+)", out).groups())
    assert rate > 0 and 0 < p50 <= p99
    assert 0 <= popularity <= 1 and 0 <= recommender <= 1
    # A complete run deletes its topics: the design's and the changelogs of its groups.
    run = re.search(r"^cartstream demo: topics \S*(demo-[0-9a-f]+)\.\*,", out, re.M).group(1)
    deleted = int(re.search(r"^deleted the run's (\d+) topics", out, re.M).group(1))
    assert deleted > len(TOPICS)
    assert [name for name in existing_topics(admin_client(settings)) if run in name] == []
