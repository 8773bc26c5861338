"""XOR key components, n-of-n (DESIGN §2, issue 2 item 5).

Known answer: the classic double-length TDES test key 0123456789ABCDEF FEDCBA9876543210 (KCV 08D7B4, from
``openssl enc -des-ede``, see ``tests/vectors/kcv_vectors.json``) as the XOR of two odd-parity components
written out here byte by byte.
"""

from __future__ import annotations

from dataclasses import replace
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue, compute_kcv
from ceremony.crypto.keys import Key, KeyType, all_odd_parity
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.crypto.xor import combine_components, component_kcv, split_components, xor_components
from ceremony.errors import (
    BelowThresholdError,
    DuplicateShareError,
    ForeignShareError,
    KCVMismatchError,
    KeyMaterialError,
    MalformedShareError,
    SplitError,
)

ALL_TYPES = list(KeyType)


def _key(key_type: KeyType) -> Key:
    return Key.generate(key_type, 32 if key_type is KeyType.GENERIC else None)


def _xor(parts: list[bytes]) -> bytes:
    return bytes(reduce(lambda a, b: a ^ b, column) for column in zip(*parts, strict=True))


def test_known_answer_tdes_components_with_parity_fix() -> None:
    c1 = bytes.fromhex("1F1F1F1F0E0E0E0EE0E0E0E0F1F1F1F1")  # odd parity
    c2 = bytes.fromhex("1F3D5B7986A4C2E01F3D5B7986A4C2E0")  # (key XOR c1), parity set
    assert all_odd_parity(c1) and all_odd_parity(c2)
    key = xor_components([SecretBytes(c1), SecretBytes(c2)], KeyType.TDES_2KEY)
    # Plain XOR has even parity; the combined key gets odd parity back.
    assert not all_odd_parity(_xor([c1, c2]))
    assert bytes(key.material.view()) == bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert compute_kcv(key).hex == "08D7B4"


@pytest.mark.parametrize("key_type", ALL_TYPES)
@pytest.mark.parametrize("n", [2, 3, 9])
def test_split_and_combine(key_type: KeyType, n: int) -> None:
    key = _key(key_type)
    shares = split_components(key, new_id(), new_id(), n)
    assert [s.number for s in shares] == list(range(1, n + 1))
    parts = [bytes(s.data.view()) for s in shares]
    for share, part in zip(shares, parts, strict=True):
        assert (share.scheme, share.threshold, share.count) == (Scheme.XOR, n, n)
        assert len(part) == len(key)
        assert any(part)
        if key_type.is_tdes:
            assert all_odd_parity(part)
    assert len(set(parts)) == n
    combined = combine_components(shares, key_type, compute_kcv(key))
    assert combined.material == key.material
    if not key_type.is_tdes:
        assert _xor(parts) == bytes(key.material.view())


def test_each_component_has_its_own_kcv() -> None:
    key = _key(KeyType.AES_256)
    shares = split_components(key, new_id(), new_id(), 3)
    kcvs = [component_kcv(s, KeyType.AES_256) for s in shares]
    assert all(k.method == "AES-CMAC-X9.24" for k in kcvs)
    assert len({k.hex for k in kcvs} | {compute_kcv(key).hex}) == 4
    assert component_kcv(shares[0].data, KeyType.AES_256) == kcvs[0]


@pytest.mark.parametrize("n", [0, 1, 10])
def test_component_count_refused(n: int) -> None:
    with pytest.raises(SplitError, match="2 to 9 XOR components"):
        split_components(_key(KeyType.AES_128), new_id(), new_id(), n)


def test_bad_ids_refused() -> None:
    with pytest.raises(SplitError, match="split id"):
        split_components(_key(KeyType.AES_128), new_id(), "x", 2)


def _components(n: int = 3, key_type: KeyType = KeyType.AES_128) -> tuple[Key, list[Share]]:
    key = _key(key_type)
    return key, split_components(key, new_id(), new_id(), n)


def test_missing_component() -> None:
    _, shares = _components(3)
    with pytest.raises(BelowThresholdError, match="missing: 2"):
        combine_components([shares[0], shares[2]], KeyType.AES_128)
    with pytest.raises(BelowThresholdError):
        combine_components([], KeyType.AES_128)


def test_duplicate_component_number() -> None:
    _, shares = _components(2)
    with pytest.raises(DuplicateShareError, match="component 1 was offered twice"):
        combine_components([shares[0], shares[0]], KeyType.AES_128)


def test_identical_components_refused() -> None:
    _, shares = _components(2)
    twin = replace(shares[1], data=shares[0].data.copy())
    with pytest.raises(DuplicateShareError, match="components 1 and 2 are identical"):
        combine_components([shares[0], twin], KeyType.AES_128)


def test_identical_tdes_components_refused_even_if_parity_differs() -> None:
    a = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    b = bytes(x ^ 0x01 for x in a)
    with pytest.raises(DuplicateShareError):
        xor_components([SecretBytes(a), SecretBytes(b)], KeyType.TDES_2KEY)


def test_all_zero_component_refused() -> None:
    _, shares = _components(2)
    with pytest.raises(KeyMaterialError, match="component 2 is all zeros"):
        combine_components([shares[0], replace(shares[1], data=SecretBytes(16))], KeyType.AES_128)


def test_wrong_length_refused() -> None:
    _, shares = _components(2)
    with pytest.raises(MalformedShareError, match="component 2 has 15 bytes"):
        combine_components([shares[0], replace(shares[1], data=SecretBytes(b"\x01" * 15))], KeyType.AES_128)


def test_foreign_components_refused() -> None:
    _, shares = _components(2)
    _, other = _components(2)
    with pytest.raises(ForeignShareError, match="belongs to key"):
        combine_components([shares[0], other[1]], KeyType.AES_128)
    with pytest.raises(ForeignShareError, match="Shamir share"):
        combine_components([shares[0], replace(shares[1], scheme=Scheme.SHAMIR)], KeyType.AES_128)


def test_kcv_mismatch() -> None:
    _, shares = _components(2)
    wrong = KeyCheckValue.from_hex("AES-CMAC-X9.24", "0000000000")
    with pytest.raises(KCVMismatchError, match="combined key"):
        combine_components(shares, KeyType.AES_128, wrong)


def test_degenerate_combined_tdes_key_refused() -> None:
    half = bytes.fromhex("0123456789ABCDEF")
    c1 = bytes.fromhex("1F1F1F1F0E0E0E0E1F1F1F1F0E0E0E0E")
    c2 = bytes(a ^ b for a, b in zip(c1, half + half, strict=True))  # XOR gives K1 = K2
    with pytest.raises(KeyMaterialError, match="degenerate"):
        xor_components([SecretBytes(c1), SecretBytes(c2)], KeyType.TDES_2KEY)


@settings(max_examples=60, deadline=None)
@given(key_type=st.sampled_from(ALL_TYPES), n=st.integers(min_value=2, max_value=9), data=st.data())
def test_property_round_trip_and_n_minus_1_refused(key_type: KeyType, n: int, data: st.DataObject) -> None:
    key = _key(key_type)
    kcv = compute_kcv(key)
    shares = split_components(key, new_id(), new_id(), n)
    order = data.draw(st.permutations(shares))
    assert combine_components(order, key_type, kcv).material == key.material
    with pytest.raises(BelowThresholdError):
        combine_components(order[:-1], key_type, kcv)
