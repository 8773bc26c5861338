"""Key types, generation from the OS CSPRNG, validation and TDES parity (DESIGN §2, issue 2 item 2)."""

from __future__ import annotations

import pickle

import pytest

from ceremony.crypto.keys import (
    DEFAULT_KEY_TYPE,
    GENERIC_MAX_LENGTH,
    GENERIC_MIN_LENGTH,
    Key,
    KeyType,
    all_odd_parity,
    generate_key,
    has_odd_parity,
    key_length,
    set_odd_parity,
    validate_key,
)
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import KeyMaterialError

FIXED = [kt for kt in KeyType if kt is not KeyType.GENERIC]
CLASSIC_TDES2 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # odd parity, a public test key


def test_default_is_aes_256() -> None:
    assert DEFAULT_KEY_TYPE is KeyType.AES_256
    assert len(generate_key()) == 32


@pytest.mark.parametrize(
    ("key_type", "length"),
    [
        (KeyType.AES_128, 16),
        (KeyType.AES_192, 24),
        (KeyType.AES_256, 32),
        (KeyType.TDES_2KEY, 16),
        (KeyType.TDES_3KEY, 24),
    ],
)
def test_fixed_lengths(key_type: KeyType, length: int) -> None:
    assert key_type.fixed_length == length
    key = generate_key(key_type)
    assert isinstance(key, SecretBytes)
    assert len(key) == length
    validate_key(key_type, key)


def test_generic_needs_a_length_in_range() -> None:
    with pytest.raises(KeyMaterialError, match="stated length"):
        generate_key(KeyType.GENERIC)
    for bad in (GENERIC_MIN_LENGTH - 1, GENERIC_MAX_LENGTH + 1, 0):
        with pytest.raises(KeyMaterialError, match="generic secret has"):
            generate_key(KeyType.GENERIC, bad)
    for good in (GENERIC_MIN_LENGTH, 32, GENERIC_MAX_LENGTH):
        assert len(generate_key(KeyType.GENERIC, good)) == good


def test_fixed_type_with_another_length_is_refused() -> None:
    with pytest.raises(KeyMaterialError, match="AES-256 key has 32 bytes, not 16"):
        key_length(KeyType.AES_256, 16)


def test_keys_are_fresh_each_time() -> None:
    keys = [generate_key(KeyType.AES_128) for _ in range(50)]
    assert len({bytes(k.view()) for k in keys}) == 50


@pytest.mark.parametrize("key_type", [KeyType.TDES_2KEY, KeyType.TDES_3KEY])
def test_generated_tdes_keys_have_odd_parity_and_are_not_degenerate(key_type: KeyType) -> None:
    for _ in range(200):
        key = generate_key(key_type)
        data = key.view()
        assert all_odd_parity(data)
        parts = [bytes(data[i : i + 8]) for i in range(0, len(data), 8)]
        assert parts[0] != parts[1]
        if len(parts) == 3:
            assert parts[1] != parts[2]


def test_set_odd_parity_known_answers() -> None:
    # Odd parity (ANSI X3.92 / FIPS 46-3 §3): the low bit makes each byte's count of one bits odd.
    buf = bytearray([0x00, 0x01, 0x02, 0x03, 0xFE, 0xFF, 0x10, 0x11])
    set_odd_parity(buf)
    assert buf == bytearray([0x01, 0x01, 0x02, 0x02, 0xFE, 0xFE, 0x10, 0x10])


def test_set_odd_parity_every_byte() -> None:
    buf = bytearray(range(256))
    set_odd_parity(buf)
    for original, fixed in zip(range(256), buf, strict=True):
        assert has_odd_parity(fixed)
        assert fixed & 0xFE == original & 0xFE  # only the parity bit may change


def test_validate_rejects_wrong_length_and_all_zero() -> None:
    with pytest.raises(KeyMaterialError, match="AES-128 key has 16 bytes, not 15"):
        validate_key(KeyType.AES_128, bytes(15))
    with pytest.raises(KeyMaterialError, match="all zeros"):
        validate_key(KeyType.AES_256, bytes(32))
    with pytest.raises(KeyMaterialError, match="generic secret has"):
        validate_key(KeyType.GENERIC, b"\x01" * 8)


def test_validate_tdes_parity() -> None:
    validate_key(KeyType.TDES_2KEY, CLASSIC_TDES2)
    bad = bytearray(CLASSIC_TDES2)
    bad[5] ^= 0x01
    with pytest.raises(KeyMaterialError, match="odd parity"):
        validate_key(KeyType.TDES_2KEY, bad)


def test_validate_tdes_degenerate() -> None:
    k1, k2 = CLASSIC_TDES2[:8], CLASSIC_TDES2[8:]
    with pytest.raises(KeyMaterialError, match=r"degenerate \(K1 = K2\)"):
        validate_key(KeyType.TDES_2KEY, k1 + k1)
    with pytest.raises(KeyMaterialError, match="degenerate"):
        validate_key(KeyType.TDES_3KEY, k1 + k1 + k2)  # K1 = K2
    with pytest.raises(KeyMaterialError, match="degenerate"):
        validate_key(KeyType.TDES_3KEY, k1 + k2 + k2)  # K2 = K3
    validate_key(KeyType.TDES_3KEY, k1 + k2 + k1)  # K1 = K3 is double length keying: allowed


def test_validation_messages_never_carry_the_key() -> None:
    key = bytearray(CLASSIC_TDES2[:8] * 2)
    with pytest.raises(KeyMaterialError) as info:
        validate_key(KeyType.TDES_2KEY, key)
    assert key.hex() not in str(info.value).lower()
    assert key[:8].hex() not in str(info.value).lower()


def test_key_validates_on_construction_and_wipes() -> None:
    with pytest.raises(KeyMaterialError):
        Key(KeyType.AES_128, SecretBytes(bytes(16)))
    key = Key.generate(KeyType.AES_128)
    material = key.material
    with key:
        assert len(key) == 16
    assert material.wiped
    with pytest.raises(ValueError, match="wiped"):
        material.view()


def test_key_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Key.generate())


def test_key_type_lookups() -> None:
    assert KeyType.for_aes_length(24) is KeyType.AES_192
    assert KeyType.for_tdes_length(16) is KeyType.TDES_2KEY
    with pytest.raises(KeyMaterialError):
        KeyType.for_aes_length(20)
    with pytest.raises(KeyMaterialError):
        KeyType.for_tdes_length(8)
    assert [kt.value for kt in FIXED] == ["AES-128", "AES-192", "AES-256", "TDES-2KEY", "TDES-3KEY"]
