"""Shamir m-of-n over pyshamir: refusals, subset verification, commitments (DESIGN §2, issue 2 item 4).

Known answers: the GF(2^8) tables are checked against a bitwise multiplier written here from the AES field
definition (FIPS 197 §4.2, x^8 + x^4 + x^3 + x + 1) and against pyshamir's own ``mul``; commitments against
``tests/vectors/commitment_vectors.json``, hashed by ``openssl dgst -sha256`` from the documented layout
(see ``tests/vectors/generate_vectors.py``).
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pyshamir
import pyshamir._utils as pyshamir_utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.crypto import gf256, shamir
from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue, kcv_for
from ceremony.crypto.keys import Key, KeyType, generate_key
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.shamir import (
    check_commitment,
    combine_shares,
    gf_div,
    gf_mul,
    share_commitment,
    split_secret,
    verify_split,
)
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import (
    BadShareError,
    BelowThresholdError,
    DuplicateShareError,
    ForeignShareError,
    KCVMismatchError,
    MalformedShareError,
    SplitError,
)

COMMITMENT_VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "commitment_vectors.json").read_text()
)["vectors"]
KEY_TYPES = [KeyType.AES_128, KeyType.AES_192, KeyType.AES_256, KeyType.TDES_2KEY, KeyType.TDES_3KEY]


def _key(key_type: KeyType = KeyType.AES_256) -> tuple[SecretBytes, KeyCheckValue]:
    material = generate_key(key_type, 32 if key_type is KeyType.GENERIC else None)
    return material, kcv_for(key_type, material)


def _split(
    m: int, n: int, key_type: KeyType = KeyType.AES_256
) -> tuple[SecretBytes, KeyCheckValue, list[Share]]:
    material, kcv = _key(key_type)
    return material, kcv, split_secret(material, new_id(), new_id(), m, n)


def _with_data(share: Share, data: bytes | bytearray) -> Share:
    return replace(share, data=SecretBytes(data))


def _corrupt(share: Share, index: int = 0, delta: int = 0x5A) -> Share:
    data = bytearray(share.data.view())
    data[index] ^= delta
    return _with_data(share, data)


# --- GF(2^8) ---------------------------------------------------------------------------------------------
def _slow_mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return result


def test_gf_tables_match_the_aes_field() -> None:
    for a in range(256):
        for b in range(256):
            assert gf_mul(a, b) == _slow_mul(a, b)
    assert gf_mul(0x57, 0x83) == 0xC1  # FIPS 197 §4.2 worked example


def test_gf_tables_match_pyshamir_field() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a, b = rng.randrange(256), rng.randrange(1, 256)
        assert gf_mul(a, b) == pyshamir_utils.mul(a, b)
        assert gf_div(a, b) == pyshamir_utils.div(a, b)


# --- split parameters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("m", "n", "message"),
    [
        (1, 3, "at least 2"),
        (0, 3, "at least 2"),
        (4, 3, "cannot exceed"),
        (2, 256, "at most 255"),
    ],
)
def test_split_parameters_refused(m: int, n: int, message: str) -> None:
    with pytest.raises(SplitError, match=message):
        split_secret(generate_key(), new_id(), new_id(), m, n)


def test_empty_secret_refused() -> None:
    with pytest.raises(SplitError, match="empty"):
        split_secret(SecretBytes(b""), new_id(), new_id(), 2, 3)


def test_bad_ids_refused() -> None:
    with pytest.raises(SplitError, match="key id"):
        split_secret(generate_key(), "not-an-id", new_id(), 2, 3)
    with pytest.raises(SplitError, match="split id"):
        split_secret(generate_key(), new_id(), "", 2, 3)


def test_shares_are_vault_format_and_numbered() -> None:
    material, _, shares = _split(3, 5)
    assert [s.number for s in shares] == [1, 2, 3, 4, 5]
    xs = {s.data.view()[32] for s in shares}
    assert len(xs) == 5 and 0 not in xs
    for share in shares:
        assert len(share.data) == 33  # y-bytes || x byte
        assert (share.scheme, share.threshold, share.count) == (Scheme.SHAMIR, 3, 5)
    # Interoperability: the raw bytes combine with pyshamir directly (HashiCorp Vault format).
    assert pyshamir.combine([bytearray(s.data.view()) for s in shares[1:4]]) == bytearray(material.view())


@pytest.mark.parametrize(("m", "n"), [(2, 255), (10, 20)])
def test_large_splits_use_the_polynomial_check(m: int, n: int) -> None:
    # C(n, m) exceeds the enumeration limit: verified as "all shares on one polynomial" instead.
    assert math.comb(n, m) > shamir.MAX_ENUMERATED_SUBSETS
    material, kcv, shares = _split(m, n, KeyType.AES_128)
    assert len({s.data.view()[16] for s in shares}) == n
    chosen = random.Random(1).sample(shares, m)
    assert combine_shares(chosen, kcv) == material


def test_verify_split_catches_a_corrupted_share() -> None:
    material, _, shares = _split(3, 5)
    shares[4] = _corrupt(shares[4])  # outside the first m, so pyshamir's cross-check alone would pass
    with pytest.raises(SplitError, match="did not reconstruct"):
        verify_split(shares, material)


def test_verify_split_catches_a_corrupted_share_on_large_splits() -> None:
    material, _, shares = _split(10, 20, KeyType.AES_128)  # C(20,10) > enumeration limit
    shares[15] = _corrupt(shares[15], 3)
    with pytest.raises(SplitError, match="share 16 is inconsistent"):
        verify_split(shares, material)


# --- combine: refusals -----------------------------------------------------------------------------------
def test_below_threshold() -> None:
    _, kcv, shares = _split(3, 5)
    with pytest.raises(BelowThresholdError, match="2 share"):
        combine_shares(shares[:2], kcv)
    with pytest.raises(BelowThresholdError, match="no shares"):
        combine_shares([], kcv)


def test_duplicate_by_number() -> None:
    _, kcv, shares = _split(2, 3)
    with pytest.raises(DuplicateShareError, match="share 1 was offered twice"):
        combine_shares([shares[0], shares[0], shares[1]], kcv)


def test_duplicate_by_x() -> None:
    _, kcv, shares = _split(2, 3)
    copy = replace(shares[0], number=3, data=shares[0].data.copy())
    with pytest.raises(DuplicateShareError, match="same x-coordinate"):
        combine_shares([shares[0], copy], kcv)


def test_x_zero() -> None:
    _, kcv, shares = _split(2, 3)
    data = bytearray(shares[1].data.view())
    data[-1] = 0
    with pytest.raises(MalformedShareError, match="x-coordinate 0"):
        combine_shares([shares[0], _with_data(shares[1], data)], kcv)


def test_unequal_lengths() -> None:
    _, kcv, shares = _split(2, 3)
    with pytest.raises(MalformedShareError, match="share 2 has 32 bytes, share 1 has 33"):
        combine_shares([shares[0], _with_data(shares[1], bytes(shares[1].data.view())[1:])], kcv)


def test_number_out_of_range() -> None:
    _, kcv, shares = _split(2, 3)
    with pytest.raises(MalformedShareError, match=r"outside 1\.\.3"):
        combine_shares([shares[0], replace(shares[1], number=4)], kcv)


def test_foreign_split_key_and_parameters() -> None:
    _, kcv, shares = _split(2, 3)
    _, _, other = _split(2, 3)
    with pytest.raises(ForeignShareError, match="belongs to key"):
        combine_shares([shares[0], other[1]], kcv)
    with pytest.raises(ForeignShareError, match="belongs to split"):
        combine_shares([shares[0], replace(other[1], key_id=shares[0].key_id)], kcv)
    with pytest.raises(ForeignShareError, match="3-of-4 split"):
        combine_shares([shares[0], replace(shares[1], threshold=3, count=4)], kcv)
    with pytest.raises(ForeignShareError, match="XOR component"):
        combine_shares([shares[0], replace(shares[1], scheme=Scheme.XOR)], kcv)


# --- combine: results ------------------------------------------------------------------------------------
def test_combine_passes_exactly_m_shares_to_gf256(monkeypatch: pytest.MonkeyPatch) -> None:
    material, kcv, shares = _split(3, 7)
    sizes: list[int] = []
    real = gf256.combine

    def recording(parts: list[bytearray]) -> bytearray:
        sizes.append(len(parts))
        return real(parts)

    monkeypatch.setattr(gf256, "combine", recording)
    assert combine_shares(shares, kcv) == material
    assert sizes == [3]


def test_kcv_mismatch_with_exactly_m() -> None:
    _, kcv, shares = _split(3, 5)
    bad = [shares[0], _corrupt(shares[1], 7), shares[2]]
    with pytest.raises(KCVMismatchError, match="at least one is mistyped"):
        combine_shares(bad, kcv)


def test_wrong_registered_kcv() -> None:
    _, _, shares = _split(2, 3)
    _, other_kcv = _key()
    with pytest.raises(KCVMismatchError):
        combine_shares(shares[:2], other_kcv)


@pytest.mark.parametrize("bad_numbers", [(1,), (4,), (2, 5)])
def test_bad_shares_named_when_more_than_m(bad_numbers: tuple[int, ...]) -> None:
    _, kcv, shares = _split(3, 6, KeyType.TDES_3KEY)

    def spoiled(share: Share) -> Share:
        # Eight bytes spoiled, each by a different delta. Vault's x-coordinates are random, so an error e
        # in a share becomes lambda * e in the key (lambda: a Lagrange coefficient of the subset tried);
        # with one delta, lambda * delta can be 0x01 — a TDES parity bit alone, which the KCV rightly
        # ignores — for some subset in about 1 run in 40. Distinct deltas cannot all map to 0x01.
        for index in range(2, 10):
            share = _corrupt(share, index, 0x5A + index)
        return share

    offered = [spoiled(s) if s.number in bad_numbers else s for s in shares[:5]]
    with pytest.raises(BadShareError) as info:
        combine_shares(offered, kcv)
    assert info.value.share_numbers == bad_numbers
    assert str(bad_numbers[0]) in str(info.value)


def test_too_many_bad_shares_to_say_which() -> None:
    _, kcv, shares = _split(3, 5)
    offered = [shares[0], _corrupt(shares[1]), _corrupt(shares[2]), shares[3]]
    with pytest.raises(KCVMismatchError, match="too many of them are wrong"):
        combine_shares(offered, kcv)


# --- commitments -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector", COMMITMENT_VECTORS, ids=lambda v: f"{v['split_id']}-{v['number']}")
def test_commitment_vectors(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["share"]))
    share = Share(
        new_id(),
        str(vector["split_id"]),
        Scheme.SHAMIR,
        2,
        255,
        int(str(vector["number"])),
        SecretBytes(data),
    )
    assert share_commitment(share).hex() == vector["commitment"]


def test_commitment_binds_split_and_number() -> None:
    _, _, shares = _split(2, 3)
    c = share_commitment(shares[0])
    assert share_commitment(replace(shares[0], split_id=new_id())) != c
    assert share_commitment(replace(shares[0], number=2)) != c
    check_commitment(shares[0], c)
    with pytest.raises(BadShareError, match="share 2 is not the share that was issued") as info:
        check_commitment(shares[1], c)
    assert info.value.share_numbers == (2,)


def test_combine_checks_commitments_first() -> None:
    material, kcv, shares = _split(2, 3)
    commitments = {s.number: share_commitment(s) for s in shares}
    assert combine_shares(shares[:2], kcv, commitments) == material
    with pytest.raises(BadShareError) as info:
        combine_shares([shares[0], _corrupt(shares[1])], kcv, commitments)
    assert info.value.share_numbers == (2,)
    with pytest.raises(BadShareError, match="no commitment is recorded for share 3"):
        combine_shares([shares[0], shares[2]], kcv, {1: commitments[1]})


# --- properties ------------------------------------------------------------------------------------------
SPLITS = st.integers(min_value=2, max_value=9).flatmap(
    lambda n: st.tuples(st.integers(min_value=2, max_value=n), st.just(n))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key_type=st.sampled_from([*KEY_TYPES, KeyType.GENERIC]), mn=SPLITS, data=st.data())
def test_property_any_m_subset_reconstructs_and_m_minus_1_is_refused(
    key_type: KeyType, mn: tuple[int, int], data: st.DataObject
) -> None:
    m, n = mn
    material, kcv, shares = _split(m, n, key_type)
    subset = data.draw(st.permutations(shares).map(lambda p: p[:m]), label="m-subset")
    recovered = combine_shares(subset, kcv)
    assert recovered == material
    Key(key_type, recovered)  # a valid key of its type (TDES parity survives the round trip)
    fewer = data.draw(st.permutations(shares).map(lambda p: p[: m - 1]), label="(m-1)-subset")
    with pytest.raises(BelowThresholdError):
        combine_shares(fewer, kcv)


@settings(max_examples=100, deadline=None)
@given(
    mn=SPLITS,
    which=st.integers(min_value=0, max_value=8),
    position=st.integers(min_value=0, max_value=32),
    delta=st.integers(min_value=1, max_value=255),
)
def test_property_commitment_detects_any_single_byte_change(
    mn: tuple[int, int], which: int, position: int, delta: int
) -> None:
    m, n = mn
    _, _, shares = _split(m, n)
    share = shares[which % n]
    commitment = share_commitment(share)
    changed = _corrupt(share, position, delta)
    with pytest.raises(BadShareError) as info:
        check_commitment(changed, commitment)
    assert info.value.share_numbers == (share.number,)


def test_every_subset_of_a_5_of_9_split() -> None:
    """Exhaustive, not sampled: all C(9,5) = 126 subsets combine through the public path."""
    material, kcv, shares = _split(5, 9, KeyType.AES_128)
    count = 0
    for subset in itertools.combinations(shares, 5):
        assert combine_shares(list(subset), kcv) == material
        count += 1
    assert count == 126


def test_module_limits() -> None:
    assert shamir.MAX_SHARES == 255 and shamir.MIN_THRESHOLD == 2
