"""/metrics and /health/* of a running stream topology, scraped over HTTP as Prometheus would."""

from __future__ import annotations

from cartstream.compose import process

from tests.integration.support import free_port, get, produce, samples
from tests.integration.test_item_stats import event


def test_item_stats_serves_health_event_counts_dead_letters_and_lag(settings, topology):
    port = free_port()
    observed = settings.model_copy(update={"metrics_port": port})
    clicks, carts = observed.topic("clicks"), observed.topic("carts")
    produce(observed, "clicks", [(user, body) for _, user, body in
                                 (event(0, "ann", "click", "curry"), event(1, "bob", "click", "naan"))])
    produce(observed, "carts", [(user, body) for _, user, body in
                                (event(2, "ann", "add", "curry"), event(2, "ann", "add", "curry"))])  # one repeat
    produce(observed, "clicks", [("ann", b'{"event_id": "broken", "event_time": ')])
    topology("item-stats", observed)

    def counted() -> bool:
        found = samples(port)
        return (found.get(("cartstream_events_total", (("topic", clicks),))) == 2
                and found.get(("cartstream_events_total", (("topic", carts),))) == 1
                and all(found.get(("cartstream_consumer_lag", (("partition", str(p)), ("topic", t))), -1) == 0
                        for t in (clicks, carts) for p in range(observed.partitions)))

    assert process.wait_until(counted, 90, interval=0.5), samples(port)
    found = samples(port)
    assert found[("cartstream_duplicates_total", ())] == 1
    assert found[("cartstream_dead_letters_total", (("reason", "not-json"),))] == 1
    assert found[("cartstream_topology_info", (("topology", "item-stats"),))] == 1
    assert get(port, "/health/live") == (200, "live\n")
    assert get(port, "/health/ready") == (200, "ready\n")
    assert get(port, "/nothing")[0] == 404
