import orjson
import pytest

from cartstream.models.decay import DecayedWeights

HOUR = 3_600_000


def test_weights_halve_every_half_life():
    w = DecayedWeights(HOUR)
    w.add({"a": 4.0}, 0)
    w.add({}, 2 * HOUR)
    assert w.get("a") == pytest.approx(1.0)


def test_arrival_order_does_not_change_the_weights():
    events = [({"a": 1.0}, 0), ({"b": 2.0}, HOUR), ({"a": 1.0}, 3 * HOUR)]
    in_order, shuffled = DecayedWeights(HOUR), DecayedWeights(HOUR)
    for updates, t in events:
        in_order.add(updates, t)
    for updates, t in reversed(events):
        shuffled.add(updates, t)
    assert shuffled.clock == in_order.clock
    assert shuffled.weights == pytest.approx(in_order.weights)


def test_prune_keeps_the_heaviest_keys_above_the_floor():
    w = DecayedWeights(HOUR)
    w.add({"a": 3.0, "b": 2.0, "c": 2.0, "d": 0.001}, 0)
    w.prune(max_keys=2, min_weight=0.01)
    assert w.weights == {"a": 3.0, "b": 2.0}  # b beats c on the tie by key


def test_half_life_must_be_positive():
    with pytest.raises(ValueError, match="half_life_ms"):
        DecayedWeights(0)


def test_weights_round_trip_through_json():
    w = DecayedWeights(HOUR)
    w.add({"a": 1.0}, 5)
    again = DecayedWeights.from_dict(orjson.loads(orjson.dumps(w.to_dict())))
    assert again.to_dict() == w.to_dict()
