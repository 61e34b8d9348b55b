from cartstream.models.ranker import Ranker
from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.features import FEATURE_NAMES
from cartstream.operators.recommend import Event, Tables, recommend
from cartstream.operators.stats_table import StatsTable
from cartstream.operators.user_state import UserState

T0 = 1_767_225_600_000


def tables() -> Tables:
    catalog = Catalog()
    for info in [ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
                 ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True),
                 ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True)]:
        catalog.upsert(info)
    stats = StatsTable(window_ms=60_000, half_life_ms=3_600_000)
    for item_id in ("naan", "lassi"):  # both were added by someone before
        stats.apply(item_id, {"event_time": T0, "trending": 2.0, "neighbours": []})
    return Tables(catalog=catalog, stats=stats)


def test_an_item_taken_though_not_shown_is_a_positive_with_the_features_it_had_then():
    t, state, ranker = tables(), UserState(), Ranker()
    first = recommend(state, Event("e1", T0, "u1", "add", "curry", "r1"), t, ranker, k=1)
    [shown] = [i["item_id"] for i in first.recommendation["items"]]
    other = ({"naan", "lassi"} - {shown}).pop()

    taken = recommend(state, Event("e2", T0 + 60_000, "u1", "add", other, "r1"), t, ranker, k=1)

    assert [(e["item_id"], e["label"]) for e in taken.examples] == [(shown, 0), (other, 1)]
    missed = taken.examples[1]
    assert missed["trigger_event_id"] == "e1" and missed["event_time"] == T0 + 60_000
    assert list(missed["features"]) == list(FEATURE_NAMES)
    # As the list saw it: it rounded off the curry then, and it was not in the cart yet.
    assert missed["features"]["complement_strength"] > 0 and missed["features"]["same_restaurant"] == 1.0
    assert taken.hit is False


def test_an_item_taken_from_the_list_adds_no_second_positive():
    t, state, ranker = tables(), UserState(), Ranker()
    first = recommend(state, Event("e1", T0, "u1", "add", "curry", "r1"), t, ranker, k=1)
    [shown] = [i["item_id"] for i in first.recommendation["items"]]
    taken = recommend(state, Event("e2", T0 + 60_000, "u1", "add", shown, "r1"), t, ranker, k=1)
    assert [(e["item_id"], e["label"]) for e in taken.examples] == [(shown, 1)]


def test_an_item_nobody_had_taken_before_teaches_nothing():
    t, state, ranker = tables(), UserState(), Ranker()
    t.catalog.upsert(ItemInfo("kulfi", "r1", "Kulfi", "dessert", "indian", 5.0, True))
    first = recommend(state, Event("e1", T0, "u1", "add", "curry", "r1"), t, ranker, k=1)
    taken = recommend(state, Event("e2", T0 + 60_000, "u1", "add", "kulfi", "r1"), t, ranker, k=1)
    assert taken.examples == []
    # The list is still judged: online metrics count the miss.
    assert taken.shown_ids == [i["item_id"] for i in first.recommendation["items"]] and taken.hit is False


def test_the_positive_says_which_policies_listed_it():
    t, state = tables(), UserState()
    ranker = Ranker(min_examples=1)
    ranker.learn_one({"complement_strength": 1.0, "popularity": 0.0}, 1)  # trained: it ranks in the fallback's shadow
    first = recommend(state, Event("e1", T0, "u1", "add", "curry", "r1"), t, ranker, k=1)
    listed = state.shown["listed"]
    assert set(listed) == {"model", "fallback"} and first.recommendation["mode"] == "popularity"

    taken = recommend(state, Event("e2", T0 + 60_000, "u1", "add", "naan", "r1"), t, ranker, k=1)

    [positive] = [e for e in taken.examples if e["label"]]
    assert positive["listed_by"] == {policy: "naan" in ids for policy, ids in listed.items()}
    assert all("listed_by" not in e for e in taken.examples if not e["label"])
