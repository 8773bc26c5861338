"""Canonical JSON: sorted keys, no whitespace, NFC, UTF-8, no floats (ceremony.ledger.canonical)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.ledger.canonical import CanonicalFormError, canonical_json, parse_canonical


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert canonical_json({"b": [1, True, None], "a": "é"}) == '{"a":"é","b":[1,true,null]}'.encode()


def test_nfc_normalisation_makes_one_value() -> None:
    decomposed = "Jose\u0301"  # e + combining acute
    composed = "Jos\u00e9"
    assert canonical_json({"name": decomposed}) == canonical_json({"name": composed})
    assert canonical_json({decomposed: 1}) == canonical_json({composed: 1})


def test_keys_equal_after_nfc_are_refused() -> None:
    with pytest.raises(CanonicalFormError, match="twice"):
        canonical_json({"Jose\u0301": 1, "Jos\u00e9": 2})


@pytest.mark.parametrize(
    "value", [1.5, float("nan"), {"a": 0.0}, [1, 2.0], b"bytes", {1: "x"}, 2**53, {"a": object()}]
)
def test_unencodable_values_are_refused(value: object) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_json(value)


def test_lone_surrogate_refused() -> None:
    with pytest.raises(CanonicalFormError):
        canonical_json({"a": "\ud800"})


@pytest.mark.parametrize(
    "text", ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}', '{"a":NaN}', '{"a":1,"a":1}', "[1,", '"Jose\u0301"']
)
def test_non_canonical_text_is_refused(text: str) -> None:
    with pytest.raises(CanonicalFormError):
        parse_canonical(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_round_trip_and_idempotence(value: object) -> None:
    try:
        data = canonical_json(value)
    except CanonicalFormError:
        return  # keys colliding after NFC
    text = data.decode("utf-8")
    parsed = parse_canonical(text)
    assert canonical_json(parsed) == data
    assert json.loads(text) == parsed
