"""The recommender's loop in memory: the synthetic food world streamed through
UserState -> candidates -> features -> Ranker, learning online from labelled outcomes."""

from __future__ import annotations

import dataclasses

import numpy as np
import orjson
import pytest

from cartstream.models.covisitation import CoVisitation
from cartstream.models.ranker import Ranker
from cartstream.models.trending import Trending
from cartstream.operators.candidates import candidates_for
from cartstream.operators.catalog import CATEGORIES, Catalog
from cartstream.operators.features import FEATURE_NAMES, features_for, reasons_for
from cartstream.operators.labelling import examples_from
from cartstream.operators.online_metrics import NDCG, HitRate
from cartstream.operators.user_state import UserState
from cartstream.topologies.synthetic import CUISINES, FoodWorld


@dataclasses.dataclass
class World:
    catalog: Catalog
    vectors: dict[str, np.ndarray]
    events: list[dict]


def build_world(seed: int = 7, diners: int = 40, sessions: int = 8) -> World:
    """The synthetic food world (one restaurant per cuisine), with stand-in item vectors.

    The vectors play the embedder: items of one cuisine, category or diet lie close, as
    the text of their names and descriptions would put them.
    """
    food = FoodWorld.generate(seed=seed, restaurants=len(CUISINES), diners=diners)
    rng = np.random.default_rng(seed)
    dim = 16
    cuisine_dirs = {c: rng.normal(size=dim) for c in CUISINES}
    category_dirs = {c: rng.normal(size=dim) for c in CATEGORIES}
    veg_dir = rng.normal(size=dim)
    vectors = {}
    for m in food.menu:
        vectors[m["item_id"]] = (
            cuisine_dirs[m["cuisine"]] + 0.8 * category_dirs[m["category"]]
            + (0.5 if m["veg"] else -0.5) * veg_dir + 0.6 * rng.normal(size=dim)
        )
    events = [{"event_id": e["event_id"], "user_id": e["user_id"], "kind": e.get("action", "click"),
               "item_id": e.get("item_id"), "event_time": e["event_time"]}
              for _, e in food.events(sessions=sessions)]
    return World(food.catalog(), vectors, events)


def exact_search(vectors):
    ids = sorted(vectors)
    matrix = np.stack([vectors[i] / np.linalg.norm(vectors[i]) for i in ids])

    def search(vector, k):
        scores = matrix @ vector
        order = sorted(range(len(ids)), key=lambda j: (-scores[j], ids[j]))[:k]
        return [(ids[j], float(scores[j])) for j in order]

    return search


def run(world: World, *, warm_up: int, round_trip: bool = False) -> dict:
    """Stream the world's events; score each shown list against the next action."""
    catalog, vectors, search = world.catalog, world.vectors, exact_search(world.vectors)
    states: dict[str, dict | UserState] = {}
    covis, trending, ranker = CoVisitation(), Trending(), Ranker(min_examples=300)
    baseline_lists: dict[str, list[str]] = {}
    metrics = {"model": HitRate(10), "popularity": HitRate(10), "model_ndcg": NDCG(10), "popularity_ndcg": NDCG(10)}
    published, modes = [], []

    for n, event in enumerate(world.events):
        user_id, t = event["user_id"], event["event_time"]
        state = states.get(user_id) or UserState()
        if round_trip:  # as if every event came back from Quix Streams' JSON state
            state = UserState.from_dict(orjson.loads(orjson.dumps(state.to_dict())))
            covis = CoVisitation.from_dict(orjson.loads(orjson.dumps(covis.to_dict())))
            trending = Trending.from_dict(orjson.loads(orjson.dumps(trending.to_dict())))
            if n % 50 == 0:
                ranker = Ranker.loads(ranker.dumps())
        item = catalog.get(event["item_id"]) if event["item_id"] else None

        shown = state.take_shown()
        if item is not None:
            for example in examples_from(shown, item.item_id, t):
                ranker.learn_one(example["features"], example["label"])
            if shown is not None:
                ranker.compare({policy: item.item_id in ids for policy, ids in shown["listed"].items()})
            if shown is not None and n >= warm_up:
                metrics["model"].update([i for i, _ in shown["items"]], item.item_id)
                metrics["model_ndcg"].update([i for i, _ in shown["items"]], item.item_id)
                metrics["popularity"].update(baseline_lists[user_id], item.item_id)
                metrics["popularity_ndcg"].update(baseline_lists[user_id], item.item_id)
            covis.learn_one(item.item_id, state.session_ids(t), t)
            trending.learn_one(item.item_id, t, weight=2.0 if event["kind"] == "add" else 1.0)

        if event["kind"] == "click":
            state.on_click(item, t)
        else:
            state.on_cart(event["kind"], item, 1, t)

        candidates = candidates_for(state, catalog, covisitation=covis, trending=trending,
                                    taste=state.taste_vector(vectors), search=search, k_ann=15, k_trending=10)
        features = features_for(candidates, state, event_time=t, vectors=vectors, trending=trending)
        ids = [c.item_id for c in candidates]
        ranking = ranker.lists(ids, np.array([[f[name] for name in FEATURE_NAMES] for f in features]).reshape(
            len(ids), len(FEATURE_NAMES)), FEATURE_NAMES, k=10)
        ranked, mode = ranking.items, ranking.mode
        by_id = {c.item_id: (c, f) for c, f in zip(candidates, features)}
        state.show([(i, by_id[i][1]) for i, _ in ranked], event["event_id"], t, ranking.listed)
        baseline_lists[user_id] = [i for i, _ in sorted(
            ((c.item_id, f["popularity"]) for c, f in zip(candidates, features)), key=lambda s: (-s[1], s[0]))][:10]
        reasons = reasons_for([by_id[i] for i, _ in ranked], state=state, catalog=catalog, vectors=vectors)
        published.append((event["event_id"], ranked, mode, reasons))
        modes.append(mode)
        states[user_id] = state

    return {"metrics": metrics, "published": published, "modes": modes, "ranker": ranker}


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def outcome(world):
    return run(world, warm_up=len(world.events) // 3)


def test_learnt_ranking_beats_popularity_after_warm_up(outcome):
    m = outcome["metrics"]
    assert m["model"].n > 300
    assert m["model"].get() > m["popularity"].get() + 0.1, (m["model"], m["popularity"])
    assert m["model_ndcg"].get() > m["popularity_ndcg"].get()


def test_ranker_moves_from_fallback_to_model_as_it_learns(outcome):
    modes = outcome["modes"]
    assert modes[0] == "similarity"  # a first click already gives a taste vector

    assert set(modes[-100:]) == {"model"}
    assert outcome["ranker"].metrics()["roc_auc"] > 0.6


def test_every_recommendation_carries_a_reason(outcome):
    for _, ranked, _, reasons in outcome["published"]:
        assert len(reasons) == len(ranked)
        assert all(reasons)


def test_replay_through_json_state_gives_the_same_recommendations():
    world = build_world(diners=15, sessions=4)
    straight = run(world, warm_up=0)
    replayed = run(world, warm_up=0, round_trip=True)
    assert replayed["published"] == straight["published"]
    assert "model" in replayed["modes"]  # the ranker snapshot round trip was exercised
