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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from cartstream.operators.catalog import Catalog
from cartstream.operators.labelling import MAX_DELAY_MS
from cartstream.operators.online_metrics import HitRate
from cartstream.operators.recommend import Event
from cartstream.operators.user_state import UserState

__all__ = ["MostAdded", "next_action_hit_rates", "percentiles"]


class MostAdded:
    """The popularity baseline: items by how often they were added to a cart so far.

    >>> adds = MostAdded()
    >>> for item_id in ["pizza", "cola", "pizza", "tiramisu"]:
    ...     adds.learn_one(item_id)
    >>> adds.top(2), adds.top(2, exclude={"pizza"})
    (['pizza', 'cola'], ['cola', 'tiramisu'])
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def learn_one(self, item_id: str) -> None:
        self.counts[item_id] += 1

    def top(self, k: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The `k` most added items not in `exclude`; ties by item id, so lists are reproducible."""
        ranked = sorted(self.counts.items(), key=lambda entry: (-entry[1], entry[0]))
        return [item_id for item_id, _ in ranked if item_id not in exclude][:k]


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


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 99)) -> dict[int, float]:
    """The `qs` percentiles of `values` (linear interpolation), e.g. of latencies."""
    if not values:
        return {q: float("nan") for q in qs}
    return {q: float(v) for q, v in zip(qs, np.percentile(np.asarray(values, dtype=float), list(qs)))}
