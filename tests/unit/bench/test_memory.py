"""Per-user state size: synthetic diners look like the recommender's, figures scale to 100k users."""

from __future__ import annotations

import random

from bench.memory import measure, synthetic_user
from cartstream.operators.user_state import UserState


def test_a_synthetic_diner_has_recent_items_a_cart_and_a_shown_list():
    state = synthetic_user(random.Random(1))
    assert state.recent and state.cart and len(state.shown["items"]) == 10
    assert UserState.from_dict(state.to_dict()).to_dict() == state.to_dict()


def test_sizes_are_reported_per_100k_users():
    result = measure(200)
    per_user = result["serialised_bytes_per_user"]
    assert per_user > 500
    assert abs(result["serialised_mb_per_100k_users"] - per_user * 100_000 / 2**20) < 1
    assert 0 < result["rocksdb_on_disk_mb_per_100k_users"]
