"""How published lists fare against what each diner did next, beside a popularity baseline.

Every list is judged by the diner's next click or cart add (HR@k, as in
`online_metrics`), if that comes within the labelling delay, the same rule that turns
outcomes into training examples. The baseline is what a recommender without any model
would show at the same moment: the items added to carts most often so far, minus what
is already in the diner's cart. Both see the same stream in the same order, so the two
hit rates are comparable.

Examples
--------
>>> from cartstream.operators.catalog import Catalog, ItemInfo
>>> from cartstream.operators.recommend import Event
>>> catalog = Catalog()
>>> for info in [ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
...              ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True),
...              ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True)]:
...     catalog.upsert(info)
>>> events = [Event("e1", 0, "bob", "add", "naan", "r1"),
...           Event("e2", 1_000, "ann", "add", "curry", "r1"),
...           Event("e3", 2_000, "ann", "add", "lassi", "r1")]
>>> shown = {"e2": ["lassi", "naan"]}  # what the recommender published after e2
>>> model, baseline = next_action_hit_rates(events, shown, catalog, k=1)
>>> model, baseline  # the baseline offered naan, the most added item not in ann's cart
(HitRate@1: 1.000000, HitRate@1: 0.000000)
>>> percentiles([float(ms) for ms in range(1, 102)], (50, 99))  # e.g. latencies in ms
{50: 51.0, 99: 100.0}

Prequential evaluation of a replayed order log (`prequential_scores`) judges every cart
add but the first of each order by the list published after the diner's previous event,
beside two baselines ranked at the same moment: popularity (`MostAdded`) and
co-visitation with the cart's items (`CoVisited`). Lists are judged by HR, NDCG and
MRR at k, and the report adds catalog coverage and the share of degraded lists:

>>> carts = [Event("o1-1", 0, "o1", "add", "naan", "r1"), Event("o1-2", 1, "o1", "add", "curry", "r1"),
...          Event("o1-c", 2, "o1", "checkout", None, None),
...          Event("o2-1", 3, "o2", "add", "naan", "r1"), Event("o2-2", 4, "o2", "add", "curry", "r1")]
>>> published = {"o1-1": (["curry", "lassi"], "similarity"), "o2-1": (["lassi", "curry"], "model")}
>>> report = prequential_scores(carts, published, catalog_size=3, k=2)
>>> {name: (r["hr@2"], round(r["mrr@2"], 2), r["judged"]) for name, r in report.items()}
{'cartstream': (1.0, 0.75, 2), 'popularity': (0.5, 0.5, 2), 'co_visitation': (0.5, 0.5, 2)}
>>> report["cartstream"]["degraded_share"], report["cartstream"]["coverage"]
(0.5, 0.666667)
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from cartstream.operators.catalog import Catalog
from cartstream.operators.labelling import MAX_DELAY_MS
from cartstream.operators.online_metrics import MRR, NDCG, HitRate
from cartstream.operators.recommend import Event
from cartstream.operators.user_state import UserState

__all__ = ["CoVisited", "MenuRelease", "MostAdded", "SystemScores", "menu_releases", "next_action_hit_rates",
           "percentiles", "prequential_scores"]


class MostAdded:
    """The popularity baseline: items by how often they were added to a cart so far.

    >>> adds = MostAdded()
    >>> for item_id in ["pizza", "cola", "pizza", "tiramisu"]:
    ...     adds.learn_one(item_id)
    >>> adds.top(2), adds.top(2, exclude={"pizza"})
    (['pizza', 'cola'], ['cola', 'tiramisu'])
    """

    def __init__(self, keep: int = 512) -> None:
        self.counts: Counter[str] = Counter()
        self.keep = keep
        # The `keep` best (-count, item_id), sorted: counts only grow, so an item enters
        # only through its own add, and a full sort per list (50k items) is never needed
        # unless a cart excludes nearly all of them.
        self._best: list[tuple[int, str]] = []

    def learn_one(self, item_id: str) -> None:
        self.counts[item_id] += 1
        count = self.counts[item_id]
        old = bisect.bisect_left(self._best, (-(count - 1), item_id))
        if old < len(self._best) and self._best[old] == (-(count - 1), item_id):
            del self._best[old]
        bisect.insort(self._best, (-count, item_id))
        if len(self._best) > self.keep:
            self._best.pop()

    def top(self, k: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The `k` most added items not in `exclude`; ties by item id, so lists are reproducible."""
        found = [item_id for _, item_id in self._best if item_id not in exclude][:k]
        if len(found) < k and len(self.counts) > len(self._best):
            ranked = sorted(self.counts.items(), key=lambda entry: (-entry[1], entry[0]))
            found = [item_id for item_id, _ in ranked if item_id not in exclude][:k]
        return found


class CoVisited:
    """The co-visitation baseline: items most often added to the same order as a cart's items so far.

    An item's score is its co-occurrence count summed over every item of the cart: on the
    Instacart subset that is the strongest within-cart signal measured
    (`bench/instacart_signals.py`: HR@10 1.13x popularity on the whole subset).

    >>> covis = CoVisited()
    >>> covis.learn_one("curry", with_items=["naan"])
    >>> covis.learn_one("lassi", with_items=["naan", "curry"])
    >>> covis.learn_one("rice", with_items=["curry"])
    >>> covis.top(["curry"], 5), covis.top(["curry"], 5, exclude={"naan"}), covis.top(["pizza"], 5)
    (['lassi', 'naan', 'rice'], ['lassi', 'rice'], [])
    >>> covis.top(["naan", "curry"], 5, exclude={"naan", "curry"})  # lassi went with both
    ['lassi', 'rice']
    """

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def learn_one(self, item_id: str, with_items: Iterable[str]) -> None:
        """`item_id` joined a cart that held `with_items`: each pair counts once, both ways."""
        row = self.counts.setdefault(item_id, Counter())
        for other in with_items:
            if other != item_id:
                row[other] += 1
                self.counts.setdefault(other, Counter())[item_id] += 1

    def top(self, items: Iterable[str], k: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The `k` items most often in an order with any of `items` (counts summed), not in
        `exclude`; ties by item id."""
        summed: Counter[str] = Counter()
        for item_id in items:
            summed.update(self.counts.get(item_id, {}))
        best = heapq.nsmallest(k + len(exclude), ((-n, other) for other, n in summed.items()))
        return [other for _, other in best if other not in exclude][:k]


def next_action_hit_rates(
    events: Iterable[Event],
    lists: Mapping[str, Sequence[str]],
    catalog: Catalog,
    k: int = 10,
    max_delay_ms: int = MAX_DELAY_MS,
) -> tuple[HitRate, HitRate]:
    """HR@k of the published lists and of `MostAdded` on the same triggers.

    Parameters
    ----------
    events
        Every click and cart event, in the order the stream had them.
    lists
        Trigger event id -> item ids of the list published after it, best first. Only
        these triggers are judged, so leave out lists that should not count (e.g. those
        ranked before the model was trained).
    catalog
        The menu, to follow carts by the recommender's rules (one restaurant per cart).
    k
        Cut-off of the hit rate.
    max_delay_ms
        A next action later than this after the trigger judges nothing: it answers some
        other list, not this one.

    Returns
    -------
    The hit rate of the lists, and the hit rate of the baseline.
    """
    model, baseline = HitRate(k), HitRate(k)
    adds = MostAdded()
    carts: dict[str, UserState] = {}
    # Per diner, the latest judged trigger and the baseline list at that moment.
    waiting: dict[str, tuple[Event, list[str]]] = {}
    for event in events:
        item = catalog.get(event.item_id) if event.item_id is not None else None
        if event.action in ("click", "add") and item is not None:
            trigger = waiting.pop(event.user_id, None)
            if trigger is not None and 0 <= event.event_time - trigger[0].event_time <= max_delay_ms:
                model.update(lists[trigger[0].event_id], item.item_id)
                baseline.update(trigger[1], item.item_id)
        cart = carts.setdefault(event.user_id, UserState())
        if event.action in ("clear", "checkout") or (event.action in ("add", "remove") and item is not None):
            cart.on_cart(event.action, item, event.quantity, event.event_time)
        if event.action == "add" and item is not None:
            adds.learn_one(item.item_id)
        if event.event_id in lists:
            waiting[event.user_id] = (event, adds.top(k, exclude=set(cart.cart)))
        else:
            waiting.pop(event.user_id, None)
    return model, baseline


class SystemScores:
    """HR, NDCG and MRR at ``k`` of one system's lists, with what they covered and how they were ranked.

    A list that never came (None) is judged as a miss and counted in ``missing``. Every
    add is judged twice over: among all adds, and among adds of items added before
    (``known``), the only ones a system that learns from adds can get right. A hit on an
    item nobody had added before (``hits_on_new_items``) means the list knew the future:
    in a leak-free replay it stays 0.

    >>> scores = SystemScores(k=3)
    >>> scores.update(["a", "b", "c"], "b", degraded=True)
    >>> scores.update(None, "a", known=False)
    >>> r = scores.report(catalog_size=10)
    >>> r["hr@3"], r["ndcg@3"], r["missing"], r["coverage"], r["degraded_share"]
    (0.5, 0.315465, 1, 0.3, 1.0)
    >>> r["hr@3_known_items"], r["judged_known_items"], r["hits_on_new_items"]
    (1.0, 1, 0)
    """

    def __init__(self, k: int = 10) -> None:
        self.k = k
        self.metrics = (HitRate(k), NDCG(k), MRR(k))
        self.known = (HitRate(k), NDCG(k), MRR(k))
        self.recommended: set[str] = set()
        self.degraded = 0
        self.missing = 0
        self.lists = 0
        self.hits_on_new_items = 0

    def update(self, shown: Sequence[str] | None, acted: str, degraded: bool = False, known: bool = True) -> None:
        if shown is None:
            self.missing += 1
            shown = ()
        else:
            self.lists += 1
            self.degraded += degraded
            self.recommended.update(shown[: self.k])
        for metric in self.metrics + (self.known if known else ()):
            metric.update(shown, acted)
        self.hits_on_new_items += not known and acted in shown[: self.k]

    def report(self, catalog_size: int) -> dict:
        """The scores as JSON-ready numbers, rounded to six places."""
        names = (f"hr@{self.k}", f"ndcg@{self.k}", f"mrr@{self.k}")
        return {
            **{name: round(m.get(), 6) for name, m in zip(names, self.metrics)},
            "judged": self.metrics[0].n,
            **{f"{name}_known_items": round(m.get(), 6) for name, m in zip(names, self.known)},
            "judged_known_items": self.known[0].n,
            "hits_on_new_items": self.hits_on_new_items,
            "missing": self.missing,
            "coverage": round(len(self.recommended) / catalog_size, 6) if catalog_size else 0.0,
            "distinct_recommended": len(self.recommended),
            "degraded_share": round(self.degraded / self.lists, 6) if self.lists else 0.0,
        }


def prequential_scores(
    events: Iterable[Event],
    lists: Mapping[str, tuple[Sequence[str], str]],
    catalog_size: int,
    k: int = 10,
) -> dict[str, dict]:
    """Judge every cart add but the first of its order, for the published lists and two baselines.

    Parameters
    ----------
    events
        The replay's cart events (add, remove, clear, checkout), in the order they were sent.
    lists
        Trigger event id -> (item ids best first, the list's ``mode``), as published. A
        trigger without a list judges the next add as a miss. A mode other than "model"
        counts as degraded.
    catalog_size
        Items in the replay's catalog, for coverage.
    k
        Cut-off of every metric.

    Returns
    -------
    System name -> `SystemScores.report`, for ``cartstream``, ``popularity`` (most added
    so far, minus the cart) and ``co_visitation`` (most often in one order with the
    cart's items so far, counts summed, minus the cart). ``hr@k_known_items`` is the hit rate on adds of
    items added before, the only ones the baselines can get right. Each add is judged by the list that followed the
    diner's previous event of the same order, for every system alike; baselines rank at
    that moment too and learn from each add only after it was judged. The first add of an
    order has no such list and is judged by no system; a checkout or clear ends the order.
    """
    systems = {name: SystemScores(k) for name in ("cartstream", "popularity", "co_visitation")}
    adds, covis = MostAdded(), CoVisited()
    carts: dict[str, list[str]] = {}
    # Per diner: the trigger of the list that will judge their next add, and the baselines' lists.
    waiting: dict[str, tuple[str, list[str], list[str]]] = {}
    for event in events:
        cart = carts.setdefault(event.user_id, [])
        if event.action == "add" and event.item_id is not None:
            trigger = waiting.pop(event.user_id, None)
            if trigger is not None:
                shown = lists.get(trigger[0])
                known = event.item_id in adds.counts
                systems["cartstream"].update(None if shown is None else shown[0], event.item_id,
                                             degraded=shown is not None and shown[1] != "model", known=known)
                systems["popularity"].update(trigger[1], event.item_id, known=known)
                systems["co_visitation"].update(trigger[2], event.item_id, known=known)
            if event.item_id not in cart:
                covis.learn_one(event.item_id, cart)
                cart.append(event.item_id)
            adds.learn_one(event.item_id)
        elif event.action == "remove" and event.item_id in cart:
            cart.remove(event.item_id)
        elif event.action in ("clear", "checkout"):
            cart.clear()
            waiting.pop(event.user_id, None)
            continue
        exclude = set(cart)
        waiting[event.user_id] = (event.event_id, adds.top(k, exclude=exclude),
                                  covis.top(cart, k, exclude=exclude))
    return {name: scores.report(catalog_size) for name, scores in systems.items()}


class MenuRelease(NamedTuple):
    """When a product's menu event may go out in a leak-free replay.

    Attributes
    ----------
    first_add
        Position, among the replay's cart events, of the first add of the item.
    after
        The event whose list judges that add (the adder's previous cart event), or None
        when no list judges it: the menu event goes out only once that list is out, so
        the list that is judged cannot hold an item that has not appeared yet.
    item
        The `menu-items` message.
    """

    first_add: int
    after: str | None
    item: dict


def menu_releases(stream: Iterable[tuple[str, dict]]) -> list[MenuRelease]:
    """The menu events of a replay (``(topic, value)`` pairs, as `OrderLog.replay` gives them),
    each with the cart event that first adds its item and the event whose list must come first.

    >>> stream = [("menu-items", {"item_id": "naan"}), ("carts", {"event_id": "a1", "user_id": "ann"}),
    ...           ("carts", {"event_id": "b1", "user_id": "bob"}),
    ...           ("menu-items", {"item_id": "lassi"}), ("carts", {"event_id": "a2", "user_id": "ann"})]
    >>> [(r.item["item_id"], r.first_add, r.after) for r in menu_releases(stream)]
    [('naan', 0, None), ('lassi', 2, 'a1')]
    """
    releases: list[MenuRelease] = []
    previous: dict[str, str] = {}  # user -> their latest cart event so far
    pending: list[dict] = []
    carts = 0
    for topic, value in stream:
        if topic == "menu-items":
            pending.append(value)
            continue
        releases += [MenuRelease(carts, previous.get(value["user_id"]), item) for item in pending]
        pending.clear()
        previous[value["user_id"]] = value["event_id"]
        carts += 1
    return releases


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 99)) -> dict[int, float]:
    """The `qs` percentiles of `values` (linear interpolation), e.g. of latencies."""
    if not values:
        return {q: float("nan") for q in qs}
    return {q: float(v) for q, v in zip(qs, np.percentile(np.asarray(values, dtype=float), list(qs)))}
