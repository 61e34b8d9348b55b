"""dead_letter_for: a failed record is kept byte for byte, as text when it can be."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cartstream.operators.validation import dead_letter_for, validate_record
from cartstream.schemas import DeadLetter
from cartstream.schemas.dead_letter import MAX_ERROR_LENGTH

FAILED_AT = 1_732_540_030_000


def test_utf8_key_and_payload_are_stored_as_text():
    dl = dead_letter_for("clicks", 2, 81723, b"u-4821", b'{"event_time": "yesterday"}', "schema violation", FAILED_AT)
    assert (dl.key, dl.key_encoding, dl.payload, dl.payload_encoding) == (
        "u-4821",
        "utf8",
        '{"event_time": "yesterday"}',
        "utf8",
    )
    assert (dl.source_topic, dl.partition, dl.offset, dl.failed_at) == ("clicks", 2, 81723, FAILED_AT)


def test_bytes_that_are_not_utf8_are_stored_as_base64():
    dl = dead_letter_for("menu-items", 0, 1, b"\xc3\x28", b"\x89PNG\r\n", "not UTF-8", FAILED_AT)
    assert (dl.key, dl.key_encoding, dl.payload, dl.payload_encoding) == ("wyg=", "base64", "iVBORw0K", "base64")


def test_missing_key_and_tombstone_stay_null():
    dl = dead_letter_for("clicks", 0, 5, None, None, "null value: clicks does not allow tombstones", FAILED_AT)
    assert (dl.key, dl.payload, dl.key_bytes(), dl.payload_bytes()) == (None, None, None, None)


def test_overlong_error_is_cut_to_the_contract_limit():
    dl = dead_letter_for("clicks", 0, 5, b"k", b"v", "e" * 10_000, FAILED_AT)
    assert len(dl.error) == MAX_ERROR_LENGTH and dl.error.endswith("…")


def test_empty_error_still_makes_a_valid_dead_letter():
    assert dead_letter_for("clicks", 0, 5, b"k", b"v", "", FAILED_AT).error == "no reason given"


def test_rejection_reason_becomes_the_dead_letter_error():
    rejected = validate_record("carts", b"u-1", b"{oops")
    dl = dead_letter_for("carts", 1, 9, rejected.key, rejected.value, rejected.reason, FAILED_AT)
    assert dl.error.startswith("not JSON: ") and dl.payload_bytes() == b"{oops"


def test_a_dead_letter_is_itself_valid_on_the_dead_letters_topic():
    dl = dead_letter_for("clicks", 0, 5, b"\xff", b"\x00", "not UTF-8", FAILED_AT)
    assert validate_record("dead-letters", b"\xff", dl.to_json()).message == dl


@given(
    key=st.none() | st.binary(max_size=64) | st.text(max_size=32).map(str.encode),
    value=st.none() | st.binary(max_size=512) | st.text(max_size=128).map(str.encode),
    error=st.text(max_size=3000),
)
def test_any_key_and_payload_bytes_round_trip_through_json(key, value, error):
    dl = dead_letter_for("clicks", 3, 42, key, value, error, FAILED_AT)
    back = DeadLetter.from_json(dl.to_json())
    assert (back.key_bytes(), back.payload_bytes()) == (key, value)
    assert back == dl
