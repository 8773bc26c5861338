"""The recipes: the short safe path flows use (generate + KCV, split with commitments, recover and verify)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import compute_kcv, kcv_for
from ceremony.crypto.keys import KeyType
from ceremony.crypto.recipes import new_key, recover_key, split_key, split_key_into_components
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.shamir import share_commitment
from ceremony.crypto.share import Scheme
from ceremony.errors import BadShareError, BelowThresholdError, ForeignShareError, KCVMismatchError


@pytest.mark.parametrize("key_type", [KeyType.AES_256, KeyType.TDES_3KEY, KeyType.GENERIC])
def test_shamir_round_trip_with_commitments(key_type: KeyType) -> None:
    key, kcv = new_key(key_type, 48 if key_type is KeyType.GENERIC else None)
    assert kcv == compute_kcv(key)
    result = split_key(key, new_id(), new_id(), 3, 5)
    assert result.scheme is Scheme.SHAMIR
    assert result.key_check_value == kcv
    assert result.component_kcvs == {}
    assert result.commitments == {s.number: share_commitment(s) for s in result.shares}
    recovered = recover_key(list(result.shares[1:4]), key_type, kcv, result.commitments)
    assert recovered.key_type is key_type
    assert recovered.material == key.material
    result.wipe()
    assert all(s.data.wiped for s in result.shares)


def test_xor_round_trip_with_component_kcvs() -> None:
    key, kcv = new_key(KeyType.TDES_2KEY)
    result = split_key_into_components(key, new_id(), new_id(), 3)
    assert result.scheme is Scheme.XOR
    assert result.component_kcvs == {s.number: kcv_for(KeyType.TDES_2KEY, s.data) for s in result.shares}
    assert (
        recover_key(list(result.shares), KeyType.TDES_2KEY, kcv, result.commitments).material == key.material
    )


def test_bad_commitment_named_for_both_schemes() -> None:
    key, kcv = new_key()
    for result in (
        split_key(key, new_id(), new_id(), 2, 3),
        split_key_into_components(key, new_id(), new_id(), 2),
    ):
        first = result.shares[0]
        data = bytearray(first.data.view())
        data[3] ^= 0x10
        offered = [replace(first, data=SecretBytes(data)), *result.shares[1:]]
        with pytest.raises(BadShareError) as info:
            recover_key(offered, KeyType.AES_256, kcv, result.commitments)
        assert info.value.share_numbers == (1,)


def test_wrong_kcv_and_mixed_and_empty() -> None:
    key, kcv = new_key(KeyType.AES_128)
    _, other_kcv = new_key(KeyType.AES_128)
    shamir_split = split_key(key, new_id(), new_id(), 2, 2)
    xor_split = split_key_into_components(key, new_id(), new_id(), 2)
    with pytest.raises(KCVMismatchError):
        recover_key(list(shamir_split.shares), KeyType.AES_128, other_kcv)
    with pytest.raises(KCVMismatchError):
        recover_key(list(xor_split.shares), KeyType.AES_128, other_kcv)
    with pytest.raises(ForeignShareError, match="cannot be combined together"):
        recover_key([shamir_split.shares[0], xor_split.shares[1]], KeyType.AES_128, kcv)
    with pytest.raises(BelowThresholdError):
        recover_key([], KeyType.AES_128, kcv)
