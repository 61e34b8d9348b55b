"""Microseconds per message: plain orjson.loads against validate_record, on valid and invalid input.

Run with ``.venv/bin/python bench/validation.py``; prints a table and writes
``bench/results/validation.json``. The mix follows the input topics' expected shares:
mostly clicks, then cart events, then menu changes.
"""

from __future__ import annotations

import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pydantic

from cartstream.operators.validation import Accepted, Rejected, validate_record

Record = tuple[str, bytes | None, bytes | None]

N_MESSAGES = 20_000
ROUNDS = 7
SEED = 20241125
RESULTS = Path(__file__).parent / "results" / "validation.json"
T0 = 1_732_540_000_000
CATEGORIES = ["main", "side", "starter", "drink", "dessert"]
CUISINES = ["indian", "thai", "italian", "mexican", "japanese", "lebanese"]


def click(rng: random.Random, i: int) -> Record:
    user = f"u-{rng.randrange(50_000)}"
    restaurant = f"r{rng.randrange(800)}"
    value = {
        "schema_version": 1,
        "event_id": f"clk-{i:08d}",
        "event_time": T0 + i * 37,
        "user_id": user,
        "item_id": f"{restaurant}-item-{rng.randrange(60)}",
        "restaurant_id": restaurant,
        "session_id": f"s-{rng.randrange(10**6):06x}",
    }
    return "clicks", user.encode(), orjson.dumps(value)


def cart_event(rng: random.Random, i: int) -> Record:
    user = f"u-{rng.randrange(50_000)}"
    restaurant = f"r{rng.randrange(800)}"
    action = rng.choices(["add", "remove", "clear", "checkout"], weights=[70, 15, 5, 10])[0]
    value = {
        "schema_version": 1,
        "event_id": f"cart-{i:08d}",
        "event_time": T0 + i * 37,
        "user_id": user,
        "action": action,
        "quantity": rng.randint(1, 3),
        "session_id": f"s-{rng.randrange(10**6):06x}",
    }
    if action in {"add", "remove"}:
        value |= {"item_id": f"{restaurant}-item-{rng.randrange(60)}", "restaurant_id": restaurant}
    return "carts", user.encode(), orjson.dumps(value)


def menu_item(rng: random.Random, i: int) -> Record:
    restaurant = f"r{rng.randrange(800)}"
    item = f"{restaurant}-item-{rng.randrange(60)}"
    value = {
        "schema_version": 1,
        "event_id": f"menu-{i:08d}",
        "event_time": T0 + i * 37,
        "item_id": item,
        "restaurant_id": restaurant,
        "name": rng.choice(["Butter Chicken", "Pad Thai", "Margherita", "Garlic Naan", "Mango Lassi"]),
        "description": "A house favourite, cooked to order with fresh ingredients. " * rng.randint(1, 4),
        "category": rng.choice(CATEGORIES),
        "cuisine": rng.choice(CUISINES),
        "price": round(rng.uniform(2, 40), 2),
        "veg": rng.random() < 0.4,
        "available": rng.random() < 0.95,
        "tags": rng.sample(["spicy", "mild", "vegan", "gluten-free", "popular", "new", "creamy"], 3),
    }
    return "menu-items", item.encode(), orjson.dumps(value)


def valid_records(rng: random.Random, n: int) -> list[Record]:
    """Valid input records: 60% clicks, 30% cart events, 10% menu items."""
    makers = rng.choices([click, cart_event, menu_item], weights=[60, 30, 10], k=n)
    return [make(rng, i) for i, make in enumerate(makers)]


def break_record(rng: random.Random, record: Record) -> Record:
    """The same record broken in one of the ways producers break them."""
    topic, key, value = record
    raw = orjson.loads(value)
    match rng.randrange(6):
        case 0:  # truncated in flight
            return topic, key, value[: len(value) // 2]
        case 1:  # a Latin-1 producer
            return topic, key, value.replace(b'"event_id"', b'"event_id\xe9"', 1)
        case 2:  # event time in seconds
            raw["event_time"] //= 1000
        case 3:  # a required field dropped
            del raw["item_id" if topic != "carts" else "user_id"]
        case 4:  # wrong key
            return topic, b"someone-else", value
        case 5:  # a null value on a topic without tombstones, else an impossible price
            if topic != "menu-items":
                return topic, key, None
            raw["price"] = -1
    return topic, key, orjson.dumps(raw)


def time_per_message(run: Callable[[Sequence[Record]], object], records: Sequence[Record]) -> dict[str, float]:
    """Median and best microseconds per message over ROUNDS passes."""
    per_message = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        run(records)
        per_message.append((time.perf_counter_ns() - start) / len(records) / 1000)
    return {"median_us": round(statistics.median(per_message), 3), "best_us": round(min(per_message), 3)}


def orjson_only(records: Sequence[Record]) -> None:
    """Parse only: the floor any validation is measured against (valid records only)."""
    loads = orjson.loads
    for _, _, value in records:
        loads(value)


def validate_all(records: Sequence[Record]) -> None:
    """The topology's validation step on every record."""
    for topic, key, value in records:
        validate_record(topic, key, value)


def main() -> None:
    """Run the three measurements, print a table and write the JSON results."""
    rng = random.Random(SEED)
    valid = valid_records(rng, N_MESSAGES)
    invalid = [break_record(rng, r) for r in valid]
    # Guard against measuring the wrong thing: the mixes must be what they claim.
    assert all(isinstance(validate_record(*r), Accepted) for r in valid)
    assert all(isinstance(validate_record(*r), Rejected) for r in invalid)

    results = {
        "orjson.loads (valid mix)": time_per_message(orjson_only, valid),
        "validate_record (valid mix)": time_per_message(validate_all, valid),
        "validate_record (invalid mix)": time_per_message(validate_all, invalid),
    }
    mean_bytes = statistics.mean(len(v) for _, _, v in valid if v is not None)

    print(f"{N_MESSAGES} messages per pass, {ROUNDS} passes, mean valid message {mean_bytes:.0f} bytes")
    print(f"{'path':32} {'median us/msg':>14} {'best us/msg':>12} {'msgs/s (median)':>16}")
    for name, r in results.items():
        print(f"{name:32} {r['median_us']:>14.2f} {r['best_us']:>12.2f} {1e6 / r['median_us']:>16,.0f}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(
        orjson.dumps(
            {
                "messages_per_pass": N_MESSAGES,
                "passes": ROUNDS,
                "mean_valid_message_bytes": round(mean_bytes, 1),
                "python": platform.python_version(),
                "pydantic": pydantic.VERSION,
                "orjson": orjson.__version__,
                "machine": platform.machine(),
                "results": results,
            },
            option=orjson.OPT_INDENT_2,
        )
        + b"\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
