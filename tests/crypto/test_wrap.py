"""AES key wrap with padding (RFC 5649) and the KEK's KCV.

Known answers: RFC 5649 §6 "Padded Key Wrap Examples" (both: 20-octet and 7-octet key under the same 192-bit
KEK), as published, in ``tests/vectors/rfc5649_vectors.json``. The KEK's KCV was derived with the OpenSSL
command line (AES-CMAC, NIST SP 800-38B, over one zero block; X9.24-1 keeps 5 bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.crypto.kcv import compute_kcv
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.wrap import (
    kek_check_value,
    unwrap_key,
    unwrap_material,
    wrap_key,
    wrap_material,
)
from ceremony.errors import KCVMismatchError, KeyWrapError

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "rfc5649_vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_rfc5649_section6_known_answers(vector):
    kek = SecretBytes(bytes.fromhex(vector["kek"]))
    key = SecretBytes(bytes.fromhex(vector["key"]))
    assert wrap_material(kek, key).hex() == vector["wrapped"]
    back = unwrap_material(kek, bytes.fromhex(vector["wrapped"]))
    assert bytes(back.view()).hex() == vector["key"]


def test_kek_kcv_known_answer():
    record = VECTORS["kek_kcv"]
    kcv = kek_check_value(SecretBytes(bytes.fromhex(record["kek"])))
    assert (kcv.method, kcv.hex) == (record["method"], record["kcv"])


def test_wrong_kek_is_refused_by_the_integrity_check():
    vector = VECTORS["vectors"][0]
    kek = bytearray.fromhex(vector["kek"])
    kek[0] ^= 1
    with pytest.raises(KeyWrapError, match="did not unwrap"):
        unwrap_material(SecretBytes(kek), bytes.fromhex(vector["wrapped"]))


def test_damaged_or_truncated_blob_is_refused():
    vector = VECTORS["vectors"][0]
    kek = SecretBytes(bytes.fromhex(vector["kek"]))
    blob = bytearray.fromhex(vector["wrapped"])
    blob[-1] ^= 0x80
    with pytest.raises(KeyWrapError):
        unwrap_material(kek, bytes(blob))
    with pytest.raises(KeyWrapError):
        unwrap_material(kek, bytes.fromhex(vector["wrapped"])[:12])


def test_kek_must_be_an_aes_key():
    with pytest.raises(KeyWrapError, match="AES"):
        wrap_key(Key.generate(KeyType.TDES_3KEY), Key.generate(KeyType.AES_128))
    with pytest.raises(KeyWrapError, match="16, 24 or 32"):
        wrap_material(SecretBytes(20), SecretBytes(b"x" * 16))


def test_wrap_key_records_kcvs_and_unwraps_to_the_same_key():
    kek, key = Key.generate(KeyType.AES_256), Key.generate(KeyType.TDES_2KEY)
    wrapped = wrap_key(kek, key)
    assert wrapped.kek_kcv.matches(kek_check_value(kek))
    assert wrapped.key_kcv.matches(compute_kcv(key))
    assert len(wrapped.sha256) == 64 and wrapped.key_type is KeyType.TDES_2KEY
    back = unwrap_key(kek, wrapped.blob, KeyType.TDES_2KEY, wrapped.key_kcv)
    assert back.material == key.material
    with pytest.raises(KCVMismatchError):
        unwrap_key(kek, wrapped.blob, KeyType.TDES_2KEY, compute_kcv(Key.generate(KeyType.TDES_2KEY)))


@settings(max_examples=60, deadline=None)
@given(
    kek=st.sampled_from((16, 24, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    key=st.binary(min_size=1, max_size=64),
)
def test_round_trip_property(kek, key):
    blob = wrap_material(SecretBytes(kek), SecretBytes(key))
    # RFC 5649 §4.1: the output is the padded length (a multiple of 8) plus one 8-byte block.
    assert len(blob) == max(16, ((len(key) + 7) // 8) * 8 + 8)
    assert bytes(unwrap_material(SecretBytes(kek), blob).view()) == key
