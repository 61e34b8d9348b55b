"""`cartstream embed --rebuild` through the real broker: readers switch models whole, never mixed."""

from __future__ import annotations

import json
import threading
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from cartstream.compose import process
from cartstream.models.embedder import TextEmbedder
from cartstream.models.manifest import MANIFEST_FILE
from cartstream.schemas import EmbeddingModel, ItemVector
from cartstream.topologies.embed_rebuild import Rebuild
from cartstream.topologies.embedder import build
from cartstream.topologies.exceptions import EmbeddingModelMismatch
from cartstream.topologies.global_tables import RecommenderTables

from tests.integration.catalog import catalog, menu_item
from tests.integration.support import consume_until, produce

OLD = "all-MiniLM-L6-v2@onnx-fp32"
NEW = "all-MiniLM-L6-v2-rebuilt@onnx-fp32"


@pytest.fixture
def models(infra_settings, settings, tmp_path):
    """Settings whose model cache holds the exported model under its own id and, as a second
    model, the same files under the id NEW (a manifest is what names a model)."""
    exported = infra_settings.embed_model_dir()
    if not (exported / MANIFEST_FILE).exists():
        pytest.fail(f"no exported model at {exported}: .ci/test builds it with `python -m cartstream.models.onnx_export`")
    root = tmp_path / "cache" / "models"
    for model_id in (OLD, NEW):
        (root / model_id).mkdir(parents=True)
        for file in exported.iterdir():
            if file.name != MANIFEST_FILE:
                (root / model_id / file.name).symlink_to(file)
        manifest = json.loads((exported / MANIFEST_FILE).read_text())
        (root / model_id / MANIFEST_FILE).write_text(json.dumps({**manifest, "model_id": model_id}))
    return {m: settings.model_copy(update={"cache_dir": tmp_path / "cache", "embed_model": m}) for m in (OLD, NEW)}


def latest_vectors(settings, until) -> dict[str, ItemVector | None]:
    """The topic's latest vector per item, read until `until(latest)` holds."""
    def latest(messages) -> dict[str, ItemVector | None]:
        return {m.key().decode(): None if m.value() is None else ItemVector.from_json(m.value()) for m in messages}
    return latest(consume_until(settings, "item-vectors", lambda ms: until(latest(ms))))


class Observer:
    """A recommender's tables, checked every few milliseconds while a rebuild runs."""

    def __init__(self, settings, live: int):
        self.tables = RecommenderTables(settings)
        self.reader = self.tables.reader(settings).start()
        assert self.reader.wait_caught_up(60)
        self.live = live
        self.seen: list[tuple[str | None, int]] = []
        self.violations: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        # One last sample once stopped: the switch may land between two samples.
        while True:
            stopping = self._stop.is_set()
            self._sample()
            if stopping:
                return
            time.sleep(0.005)  # a sampling period, not synchronisation

    def _sample(self) -> None:
        with self.tables.lock:
            active = self.tables.embeddings.active
            store = self.tables.embeddings.current
            size = 0 if store is None else len(store.index)
            if store is None or store.vectors is not self.tables.vectors:
                self.violations.append(f"tables do not search the active model {active}'s index")
            elif size != self.live:
                self.violations.append(f"model {active} searched with {size} of {self.live} items")
        self.seen.append((active, size))

    def __enter__(self) -> "Observer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(self, model_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.tables.lock:
                if self.tables.embeddings.active == model_id:
                    return
            time.sleep(0.05)
        raise AssertionError(f"readers did not switch to {model_id} within {timeout}s")


class Interrupted(Exception):
    pass


@pytest.mark.timeout(600)
def test_rebuild_switches_readers_only_when_complete_and_the_embedder_follows(models, topology):
    old, new = models[OLD], models[NEW]
    menu = catalog(restaurants=4, items=10, unavailable=())
    produce(old, "menu-items", [(m["item_id"], m) for m in menu])
    build(old).run(idle_timeout=2)   # the first embedder makes its model active
    assert {v.model_id for v in latest_vectors(old, lambda v: len(v) == len(menu)).values()} == {OLD}

    observer = Observer(old, live=len(menu))
    assert observer.tables.embeddings.active == OLD
    embedder = topology("embedder", old)
    # Running, not refusing to start: the rebuild below must stop it mid-run.
    assert process.wait_until(lambda: f"embedding {old.topic('menu-items')} partitions" in embedder.log() or not embedder.alive(), 120)
    assert embedder.alive(), embedder.log()
    model = TextEmbedder(new.embed_model_dir())

    # A rebuild that crashes after its first batch: half the catalog has NEW vectors, nothing switched.
    def crash_after_first_batch(line: str) -> None:
        if "items/s" in line:
            raise Interrupted(line)

    with observer:
        with pytest.raises(Interrupted):
            Rebuild(new, model, batch_size=16, progress=crash_after_first_batch).run()
        consume_until(new, "item-vectors", lambda ms: sum(ItemVector.from_json(m.value()).model_id == NEW
                                                          for m in ms if m.value()) >= 16)
        assert observer.tables.embeddings.active == OLD

        lines: list[str] = []
        report = Rebuild(new, model, batch_size=16, progress=lines.append).run()
        observer.wait_for(NEW)

    assert not observer.violations, observer.violations[:3]
    models_seen = [m for m, _ in observer.seen]
    assert models_seen[0] == OLD and models_seen[-1] == NEW
    assert models_seen.index(NEW) > models_seen.index(OLD) and OLD not in models_seen[models_seen.index(NEW):]
    assert report.items == len(menu) and report.embedded == len(menu) - 16, "the re-run must embed only the rest"
    assert any("items/s" in line for line in lines)
    assert OLD not in observer.tables.embeddings.stores, "the replaced model's index is dropped"

    # The live embedder of the old model stops with a one-line error, and an old one refuses to start.
    assert embedder.proc.wait(60) != 0
    assert f"is not the active embedding model {NEW}" in embedder.log()
    with pytest.raises(EmbeddingModelMismatch, match=f"CARTSTREAM_EMBED_MODEL={NEW}"):
        build(old)

    # A late commit of the old embedder, past what the rebuild read: the new embedder redoes it.
    switch = EmbeddingModel.from_json(consume_until(new, "embedding-models", lambda ms: any(
        EmbeddingModel.from_json(m.value()).model_id == NEW for m in ms))[-1].value())
    renamed = {**menu_item("r1", 2), "name": "Paneer Tikka Masala", "event_id": "rename-r1-2"}
    produce(old, "menu-items", [("r1-2", renamed)])
    group = Consumer({"bootstrap.servers": old.bootstrap_servers, "group.id": old.consumer_group("embedder")})
    ends = {int(p): group.get_watermark_offsets(TopicPartition(old.topic("menu-items"), int(p)), 10)[1]
            for p in switch.menu_offsets}
    late = [TopicPartition(old.topic("menu-items"), p, end, metadata=OLD)
            for p, end in ends.items() if end > switch.menu_offsets[str(p)]]
    assert len(late) == 1
    group.commit(offsets=late, asynchronous=False)
    group.close()

    added = menu_item("r9", 1)
    produce(new, "menu-items", [(added["item_id"], added)])
    successor = build(new)
    successor.run(idle_timeout=2)
    assert successor.metrics.embedded._value.get() == 2, "only the renamed and the new item are embedded"
    vectors = latest_vectors(new, lambda v: "r9-1" in v and v["r1-2"].name == "Paneer Tikka Masala")
    assert vectors["r1-2"].model_id == NEW and vectors["r1-2"].name == "Paneer Tikka Masala"
    assert vectors["r9-1"].model_id == NEW

    deadline = time.monotonic() + 30
    while "r9-1" not in observer.tables.vectors and time.monotonic() < deadline:
        time.sleep(0.05)
    with observer.tables.lock:
        assert len(observer.tables.index) == len(menu) + 1 and observer.tables.embeddings.active == NEW
    observer.reader.stop()

    again = Rebuild(new, model).run()
    assert again.already_active and again.written == 0
