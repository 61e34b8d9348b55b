import math

import numpy as np
import pytest

from cartstream.models.trending import Trending
from cartstream.operators.candidates import Candidate
from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.features import FEATURE_NAMES, features_for, reasons_for
from cartstream.operators.user_state import UserState

HOUR = 3_600_000
CURRY = ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False)
PANEER = ItemInfo("paneer", "r1", "Paneer Tikka", "starter", "indian", 8.0, True)
LASSI = ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True)
PIZZA = ItemInfo("pizza", "r2", "Margherita", "main", "italian", 12.0, True)
VECTORS = {"curry": np.array([1.0, 0.0, 0.0]), "paneer": np.array([0.9, 0.1, 0.0]),
           "lassi": np.array([0.0, 1.0, 0.0]), "pizza": np.array([0.0, 0.0, 1.0])}


def catalog():
    c = Catalog()
    for info in [CURRY, PANEER, LASSI, PIZZA]:
        c.upsert(info)
    return c


def test_every_candidate_gets_the_same_float_keys():
    state = UserState()
    state.on_click(CURRY, 0)
    candidates = [Candidate(LASSI, ("menu",)), Candidate(PIZZA, ("trending",))]
    for row in features_for(candidates, state, event_time=0, vectors=VECTORS, trending=Trending()):
        assert tuple(row) == FEATURE_NAMES
        assert all(type(v) is float for v in row.values())


def test_unknowns_take_fixed_neutral_values():
    [row] = features_for([Candidate(PIZZA, ("trending",))], UserState(), event_time=0)
    assert row["similarity"] == 0.0 and row["popularity"] == 0.0
    assert row["veg_match"] == 0.5 and row["price_fit"] == 0.5
    assert row["category_affinity"] == 0.0 and row["same_restaurant"] == 0.0


def test_hour_of_day_comes_from_event_time_in_utc():
    def hour_features(event_time):
        [row] = features_for([Candidate(PIZZA, ("trending",))], UserState(), event_time=event_time)
        return row["hour_sin"], row["hour_cos"]

    midnight = 1_767_225_600_000  # 2026-01-01T00:00Z
    assert hour_features(midnight) == pytest.approx((0.0, 1.0))
    assert hour_features(midnight + 18 * HOUR) == pytest.approx((-1.0, 0.0), abs=1e-12)
    assert hour_features(midnight + 18 * HOUR) == hour_features(midnight + 18 * HOUR + 24 * HOUR)


def test_tastes_shape_affinity_veg_and_price_features():
    state = UserState()
    for _ in range(3):
        state.on_click(PANEER, 0)
    state.on_click(CURRY, 0)
    paneer, pizza = features_for([Candidate(PANEER, ()), Candidate(PIZZA, ())], state, event_time=0)
    assert paneer["veg_match"] == pytest.approx(0.75) and pizza["veg_match"] == pytest.approx(0.75)
    assert paneer["category_affinity"] == pytest.approx(0.75) and pizza["category_affinity"] == pytest.approx(0.25)
    assert paneer["cuisine_affinity"] == 1.0 and pizza["cuisine_affinity"] == 0.0
    assert paneer["price_fit"] > pizza["price_fit"]  # band 9: paneer 8 fits better than pizza 12
    assert paneer["same_restaurant"] == 1.0 and pizza["same_restaurant"] == 0.0


def test_similarity_is_the_cosine_to_the_taste_vector():
    state = UserState()
    state.on_click(CURRY, 0)
    [paneer] = features_for([Candidate(PANEER, ("ann",))], state, event_time=0, vectors=VECTORS)
    assert paneer["similarity"] == pytest.approx(0.9 / math.sqrt(0.82))


def test_popularity_is_the_log_of_the_trending_score():
    trending = Trending()
    trending.learn_one("pizza", 0, weight=3.0)
    [row] = features_for([Candidate(PIZZA, ("trending",))], UserState(), event_time=0, trending=trending)
    assert row["popularity"] == pytest.approx(math.log(4.0))


def reason(candidate, state, trending=None):
    [row] = features_for([candidate], state, event_time=0, vectors=VECTORS, trending=trending)
    [text] = reasons_for([(candidate, row)], state=state, catalog=catalog(), vectors=VECTORS)
    return text


def test_reasons_name_the_strongest_evidence():
    browsing = UserState()
    browsing.on_click(CURRY, 0)
    trending = Trending()
    trending.learn_one("pizza", 0)
    assert reason(Candidate(LASSI, ("menu",), complement_of="curry", complement=0.333), browsing) == "goes with your Butter Chicken"
    assert reason(Candidate(LASSI, ("covisitation",), 0.4, "curry"), browsing) == "often added with Butter Chicken"
    assert reason(Candidate(PANEER, ("ann",)), browsing) == "similar to Butter Chicken"
    assert reason(Candidate(PIZZA, ("trending",)), browsing, trending) == "popular right now"
    assert reason(Candidate(LASSI, ("ann",)), browsing) == "more from this restaurant"
    assert reason(Candidate(PIZZA, ("ann",)), UserState()) == "picked for you"


def reasons_after(clicked, listed, extra):
    """The reasons for ``listed`` shown to a diner who clicked ``clicked`` (a second apart,
    in order), with ``extra`` (item, vector) pairs added to the catalog and VECTORS."""
    vectors = {**VECTORS, **{item.item_id: vector for item, vector in extra}}
    cat = catalog()
    for item, _ in extra:
        cat.upsert(item)
    state = UserState()
    for t, item in enumerate(clicked):
        state.on_click(item, t * 1000)
    rows = features_for(listed, state, event_time=len(clicked) * 1000, vectors=vectors)
    return reasons_for(list(zip(listed, rows)), state=state, catalog=cat, vectors=vectors)


def test_a_list_names_for_each_item_the_recent_item_most_like_it_never_itself():
    twin = ItemInfo("twin", "r1", "Chicken Makhani", "main", "indian", 12.0, False)
    listed = [Candidate(PANEER, ("ann",)), Candidate(CURRY, ("ann",)), Candidate(LASSI, ("ann",))]
    # Paneer the latest click; curry and twin alike.
    reasons = reasons_after([PIZZA, CURRY, twin, PANEER], listed, [(twin, np.array([1.0, 0.0, 0.0]))])
    # Paneer: curry and twin are equally like it, twin was clicked later. Curry: its twin, not
    # itself. Lassi is like nothing recent.
    assert reasons[:2] == ["similar to Chicken Makhani", "similar to Chicken Makhani"]
    assert not reasons[2].startswith("similar")


def test_an_item_is_never_similar_to_another_restaurants_dish_of_the_same_name():
    elsewhere = ItemInfo("curry-r2", "r2", "Butter Chicken", "main", "indian", 11.0, False)
    reasons = reasons_after([PANEER, elsewhere], [Candidate(CURRY, ("ann",))],
                            [(elsewhere, np.array([1.0, 0.0, 0.0]))])
    # Not "similar to Butter Chicken" (r2's), though it is the nearer: the paneer it is like.
    assert reasons == ["similar to Paneer Tikka"]
