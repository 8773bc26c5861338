"""ceremony.hsm.pkcs11 against a real token (SoftHSM2 2.6): listing, loading by unwrap and by create, the
check against the registered KCV, and every refusal. Nothing of ceremony is mocked; the expected values
are computed here with ``cryptography`` directly, and the token is inspected with python-pkcs11 directly."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import KeyType, generate_key
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import InputError, TokenError
from ceremony.hsm.pkcs11 import LoadedKey, Mechanism, TokenSession, list_tokens, open_token
from tests.hsm.softhsm import SoftToken

# DESIGN §2's AES-128 example and the classic TDES test key, with their published KCVs.
DESIGN_AES_KEY = bytes.fromhex("FA36E44278DB3AB5F298F9F7DA8F1F88")
DESIGN_AES_KCV = "D77F007724"
TDES_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
TDES_KCV = "08D7B4"


# --- expected values, computed independently of ceremony ------------------------------------------------


def _aes_ecb(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _tdes_ecb(key: bytes, block: bytes) -> bytes:
    full = key + key[:8] if len(key) == 16 else key
    encryptor = Cipher(TripleDES(full), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _cmac_zero_block_by_hand(key: bytes) -> bytes:
    """SP 800-38B for one complete zero block, written out: L = E(K, 0); K1 = dbl(L); T = E(K, 0 ^ K1)."""
    big = int.from_bytes(_aes_ecb(key, bytes(16)), "big") << 1
    if big >> 128:
        big = (big & ((1 << 128) - 1)) ^ 0x87
    return _aes_ecb(key, big.to_bytes(16, "big"))


def expected_kcv(key_type: KeyType, key: bytes) -> KeyCheckValue:
    if key_type.is_aes:
        mac = CMAC(algorithms.AES(key))
        mac.update(bytes(16))
        return KeyCheckValue("AES-CMAC-X9.24", mac.finalize()[:5])
    return KeyCheckValue("TDES-ECB-X9.24", _tdes_ecb(key, bytes(8))[:3])


def fresh_key(key_type: KeyType) -> bytes:
    material = generate_key(key_type)
    try:
        return bytes(material.view())
    finally:
        material.wipe()


def test_known_answers_of_the_expected_values() -> None:
    assert _cmac_zero_block_by_hand(DESIGN_AES_KEY)[:5].hex().upper() == DESIGN_AES_KCV
    assert expected_kcv(KeyType.AES_128, DESIGN_AES_KEY).hex == DESIGN_AES_KCV
    assert expected_kcv(KeyType.TDES_2KEY, TDES_KEY).hex == TDES_KCV
    for _ in range(5):
        key = secrets.token_bytes(32)
        assert _cmac_zero_block_by_hand(key)[:5] == expected_kcv(KeyType.AES_256, key).value


# --- helpers that look at the token without ceremony -------------------------------------------------


@contextmanager
def raw_session(token: SoftToken) -> Iterator[Any]:
    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(user_pin=token.pin) as session:
        yield session


def objects_labelled(token: SoftToken, label: str) -> int:
    with raw_session(token) as session:
        return len(list(session.get_objects({pkcs11.Attribute.LABEL: label})))


@contextmanager
def opened(token: SoftToken, **kwargs: Any) -> Iterator[TokenSession]:
    with open_token(token.module, token.label, token.pin, **kwargs) as session:
        yield session


def load(
    token: SoftToken,
    key_type: KeyType,
    key: bytes,
    *,
    mechanism: Mechanism,
    usage: str,
    label: str = "KEY-1",
    kcv: KeyCheckValue | None = None,
) -> LoadedKey:
    with opened(token) as session:
        return session.load_key(
            SecretBytes(key),
            key_type,
            label=label,
            usage=usage,
            mechanism=mechanism,
            registered_kcv=kcv or expected_kcv(key_type, key),
        )


# --- listing -------------------------------------------------------------------------------------------


def test_list_tokens_sees_the_token(soft_token: SoftToken) -> None:
    tokens = list_tokens(soft_token.module)
    mine = [t for t in tokens if t.label == soft_token.label]
    assert len(mine) == 1
    info = mine[0]
    assert info.manufacturer == "SoftHSM project"
    assert info.model == "SoftHSM v2"
    assert len(info.serial) == 16 and int(info.serial, 16) >= 0
    assert info.initialized and info.login_required
    assert info.library.startswith("SoftHSM 2.")
    assert info.firmware.count(".") == 1 and info.hardware.count(".") == 1
    if soft_token.slot_id is not None:
        assert info.slot_id == soft_token.slot_id
    # SoftHSM always offers one more, uninitialised token in a free slot.
    assert any(not t.initialized for t in tokens)
    described = json.loads(json.dumps([t.describe() for t in tokens]))
    assert described[tokens.index(info)]["label"] == soft_token.label


def test_a_second_test_sees_only_its_own_token(soft_token: SoftToken) -> None:
    # The helper re-initialises the module for each test's SOFTHSM2_CONF (tests/hsm/softhsm.py).
    labels = [t.label for t in list_tokens(soft_token.module) if t.initialized]
    assert labels == [soft_token.label]


def test_missing_module_is_refused(tmp_path: Any) -> None:
    with pytest.raises(TokenError, match=r"no PKCS#11 module at .*does not exist"):
        list_tokens(tmp_path / "nothing.so")


def test_a_file_that_is_not_a_module_is_refused(tmp_path: Any) -> None:
    fake = tmp_path / "fake.so"
    fake.write_bytes(b"not a library")
    with pytest.raises(TokenError, match="is not a PKCS#11 module"):
        list_tokens(fake)


def test_unknown_token_label_lists_the_labels_present(soft_token: SoftToken) -> None:
    with pytest.raises(TokenError, match=f"no token labelled 'NOPE'.*'{soft_token.label}'"):
        open_token(soft_token.module, "NOPE", soft_token.pin)


# --- PIN -----------------------------------------------------------------------------------------------


def test_wrong_pin_is_refused_without_echoing_it(soft_token: SoftToken) -> None:
    wrong = "97531"
    with pytest.raises(TokenError) as caught:
        open_token(soft_token.module, soft_token.label, wrong)
    message = caught.value.describe()
    assert "CKR_PIN_INCORRECT" in message and message.startswith("Token refused")
    assert wrong not in message and soft_token.pin not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("kind", [SecretBytes, bytearray, str])
def test_pin_types(soft_token: SoftToken, kind: Any) -> None:
    pin = kind(soft_token.pin.encode()) if kind is not str else soft_token.pin
    with open_token(soft_token.module, soft_token.label, pin) as session:
        assert session.info.label == soft_token.label


def test_empty_pin_is_refused(soft_token: SoftToken) -> None:
    with pytest.raises(InputError, match="no PIN"):
        open_token(soft_token.module, soft_token.label, "")


# --- loading -------------------------------------------------------------------------------------------

CASES = [
    # key type, mechanism, usage, where the check came from on SoftHSM 2.6
    (KeyType.AES_256, Mechanism.UNWRAP_KWP_210A, "M3", "token-cmac"),
    (KeyType.AES_256, Mechanism.CREATE, "M3", "token-cmac"),
    (KeyType.AES_256, Mechanism.UNWRAP_KWP_210A, "D0", "token-ecb"),  # no CKA_CHECK_VALUE after unwrap
    (KeyType.AES_256, Mechanism.CREATE, "D0", "cka-check-value"),
    (KeyType.AES_128, Mechanism.UNWRAP_KWP_210A, "C0", "token-cmac"),
    (KeyType.AES_128, Mechanism.CREATE, "P0", "cka-check-value"),
    (KeyType.AES_192, Mechanism.UNWRAP_KWP_210A, "K0", "token-wrap"),
    (KeyType.AES_256, Mechanism.CREATE, "K1", "cka-check-value"),
    (KeyType.TDES_2KEY, Mechanism.UNWRAP_KWP_210A, "K0", "token-ecb"),
    (KeyType.TDES_2KEY, Mechanism.CREATE, "D0", "token-ecb"),
    (KeyType.TDES_3KEY, Mechanism.UNWRAP_KWP_210A, "B0", "token-ecb"),
    (KeyType.TDES_3KEY, Mechanism.CREATE, "P0", "token-ecb"),
    (KeyType.TDES_2KEY, Mechanism.CREATE, "E0", "cka-check-value"),
]


@pytest.mark.parametrize(
    ("key_type", "mechanism", "usage", "source"), CASES, ids=lambda v: str(getattr(v, "value", v))
)
def test_load_key(
    soft_token: SoftToken, key_type: KeyType, mechanism: Mechanism, usage: str, source: str
) -> None:
    key = fresh_key(key_type)
    registered = expected_kcv(key_type, key)
    loaded = load(soft_token, key_type, key, mechanism=mechanism, usage=usage, kcv=registered)
    assert loaded.check_source == source
    assert loaded.label == "KEY-1" and loaded.key_type is key_type and loaded.mechanism is mechanism
    assert len(bytes.fromhex(loaded.key_id_hex)) == 8
    if source in ("token-cmac",) or (source == "token-ecb" and key_type.is_tdes):
        assert loaded.check_value is not None and loaded.check_value.matches(registered)
    else:
        assert loaded.check_value is None
    attrs = loaded.attributes
    assert attrs["sensitive"] is True and attrs["extractable"] is False
    assert attrs["token"] is True and attrs["private"] is True
    if mechanism is Mechanism.CREATE:
        ecb = _aes_ecb(key, bytes(16)) if key_type.is_aes else _tdes_ecb(key, bytes(8))
        assert loaded.cka_check_value_hex == ecb[:3].hex().upper()
    else:
        assert loaded.cka_check_value_hex == ""  # SoftHSM 2.6 sets no CKA_CHECK_VALUE on C_UnwrapKey

    with raw_session(soft_token) as session:
        obj = session.get_key(label="KEY-1")
        assert obj[pkcs11.Attribute.ID].hex().upper() == loaded.key_id_hex
        assert obj[pkcs11.Attribute.TOKEN] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            obj[pkcs11.Attribute.VALUE]
    # Nothing but the key stayed behind: the transport key and the check probe are gone.
    with raw_session(soft_token) as session:
        assert [o[pkcs11.Attribute.LABEL] for o in session.get_objects()] == ["KEY-1"]
    with opened(soft_token, read_only=True) as session:
        assert session.find_key("KEY-1") and not session.find_key("KEY-2")


@pytest.mark.parametrize("mechanism", [Mechanism.UNWRAP_KWP_210A, Mechanism.CREATE])
@pytest.mark.parametrize("key_type", [KeyType.AES_256, KeyType.TDES_2KEY, KeyType.TDES_3KEY])
def test_the_token_holds_the_right_bytes(
    soft_token: SoftToken, key_type: KeyType, mechanism: Mechanism
) -> None:
    """A D0 key encrypts a block in the token exactly as the same key does on the laptop."""
    key = fresh_key(key_type)
    load(soft_token, key_type, key, mechanism=mechanism, usage="D0")
    block = secrets.token_bytes(16 if key_type.is_aes else 8)
    with raw_session(soft_token) as session:
        obj = session.get_key(label="KEY-1")
        if key_type.is_aes:
            assert obj.encrypt(block, mechanism=pkcs11.Mechanism.AES_ECB) == _aes_ecb(key, block)
        else:
            assert obj.encrypt(block, mechanism=pkcs11.Mechanism.DES3_ECB) == _tdes_ecb(key, block)


def test_known_answer_in_the_token(soft_token: SoftToken) -> None:
    loaded = load(
        soft_token,
        KeyType.AES_128,
        DESIGN_AES_KEY,
        mechanism=Mechanism.UNWRAP_KWP_210A,
        usage="M0",
        kcv=KeyCheckValue.from_hex("AES-CMAC-X9.24", DESIGN_AES_KCV),
    )
    assert loaded.check_value is not None and loaded.check_value.hex == DESIGN_AES_KCV
    loaded = load(
        soft_token,
        KeyType.TDES_2KEY,
        TDES_KEY,
        label="KEY-2",
        mechanism=Mechanism.UNWRAP_KWP_210A,
        usage="D0",
        kcv=KeyCheckValue.from_hex("TDES-ECB-X9.24", TDES_KCV),
    )
    assert loaded.check_value is not None and loaded.check_value.hex == TDES_KCV


@pytest.mark.parametrize(
    ("key_type", "mechanism", "usage"),
    [
        (KeyType.AES_256, Mechanism.UNWRAP_KWP_210A, "M3"),  # token-cmac
        (KeyType.AES_256, Mechanism.UNWRAP_KWP_210A, "D0"),  # token-ecb against the laptop
        (KeyType.AES_256, Mechanism.UNWRAP_KWP_210A, "K0"),  # token-wrap against the laptop
        (KeyType.AES_256, Mechanism.CREATE, "D0"),  # cka-check-value
        (KeyType.TDES_2KEY, Mechanism.CREATE, "K0"),  # token-ecb
        (KeyType.TDES_2KEY, Mechanism.CREATE, "E0"),  # cka-check-value
    ],
)
def test_a_wrong_registered_kcv_removes_the_key(
    soft_token: SoftToken, key_type: KeyType, mechanism: Mechanism, usage: str
) -> None:
    key = fresh_key(key_type)
    wrong = expected_kcv(key_type, fresh_key(key_type))
    with pytest.raises(
        TokenError, match=r"does not match the registered KCV.*removed from the token"
    ) as caught:
        load(soft_token, key_type, key, mechanism=mechanism, usage=usage, kcv=wrong)
    assert key.hex().upper()[:8] not in str(caught.value).upper()
    assert objects_labelled(soft_token, "KEY-1") == 0


def test_a_key_the_token_cannot_check_is_not_loaded(soft_token: SoftToken) -> None:
    # AES derive-only key via unwrap: SoftHSM gives no CKA_CHECK_VALUE and the key may do nothing else.
    with pytest.raises(TokenError, match=r"no way to check 'KEY-1'.*removed from the token"):
        load(
            soft_token,
            KeyType.AES_256,
            fresh_key(KeyType.AES_256),
            mechanism=Mechanism.UNWRAP_KWP_210A,
            usage="B0",
        )
    assert objects_labelled(soft_token, "KEY-1") == 0


def test_kwp_0x210b_is_not_offered_by_softhsm(soft_token: SoftToken) -> None:
    with pytest.raises(TokenError) as caught:
        load(
            soft_token,
            KeyType.AES_256,
            fresh_key(KeyType.AES_256),
            mechanism=Mechanism.UNWRAP_KWP_210B,
            usage="D0",
        )
    message = str(caught.value)
    assert "SoftHSM project SoftHSM v2" in message
    assert "does not offer CKM_AES_KEY_WRAP_KWP (0x210B)" in message
    assert "unwrap-0x210A or create" in message
    with raw_session(soft_token) as session:
        assert list(session.get_objects()) == []


def test_the_token_itself_rejects_0x210b(soft_token: SoftToken) -> None:
    """What the mechanism pre-check stands in for: SoftHSM answers CKR_MECHANISM_INVALID to 0x210B."""
    with raw_session(soft_token) as session:
        kek = session.create_object(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
                pkcs11.Attribute.KEY_TYPE: pkcs11.KeyType.AES,
                pkcs11.Attribute.VALUE: bytes(32),
                pkcs11.Attribute.UNWRAP: True,
            }
        )
        with pytest.raises(pkcs11.MechanismInvalid):
            kek.unwrap_key(
                pkcs11.ObjectClass.SECRET_KEY,
                pkcs11.KeyType.AES,
                bytes(24),
                mechanism=pkcs11.Mechanism.AES_KEY_WRAP_KWP,
            )


def test_duplicate_label_is_refused(soft_token: SoftToken) -> None:
    load(soft_token, KeyType.AES_128, fresh_key(KeyType.AES_128), mechanism=Mechanism.CREATE, usage="D0")
    with pytest.raises(TokenError, match="already holds an object labelled 'KEY-1'"):
        load(soft_token, KeyType.AES_128, fresh_key(KeyType.AES_128), mechanism=Mechanism.CREATE, usage="D0")
    assert objects_labelled(soft_token, "KEY-1") == 1


def test_read_only_session_loads_nothing(soft_token: SoftToken) -> None:
    with opened(soft_token, read_only=True) as session, pytest.raises(TokenError, match="read-only"):
        key = fresh_key(KeyType.AES_128)
        session.load_key(
            SecretBytes(key),
            KeyType.AES_128,
            label="KEY-1",
            usage="D0",
            mechanism=Mechanism.CREATE,
            registered_kcv=expected_kcv(KeyType.AES_128, key),
        )


@pytest.mark.parametrize(
    ("key_type", "length", "kcv_type", "usage", "match"),
    [
        (KeyType.AES_128, 16, KeyType.TDES_2KEY, "D0", "checked with a AES-CMAC-X9.24 KCV"),
        (KeyType.AES_128, 32, KeyType.AES_256, "D0", "has 16 bytes, not 32"),
        (KeyType.AES_128, 16, KeyType.AES_128, "X9", "key usage 'X9'"),
        (KeyType.GENERIC, 32, KeyType.AES_256, "M0", "only AES and TDES"),
    ],
)
def test_bad_requests_are_refused_before_the_token(
    soft_token: SoftToken, key_type: KeyType, length: int, kcv_type: KeyType, usage: str, match: str
) -> None:
    key = secrets.token_bytes(length)
    with opened(soft_token) as session, pytest.raises(InputError, match=match):
        session.load_key(
            SecretBytes(key),
            key_type,
            label="KEY-1",
            usage=usage,
            mechanism=Mechanism.CREATE,
            registered_kcv=expected_kcv(kcv_type, secrets.token_bytes(kcv_type.fixed_length or 16)),
        )
    assert objects_labelled(soft_token, "KEY-1") == 0


def test_random_comes_from_the_token(soft_token: SoftToken) -> None:
    with opened(soft_token) as session:
        first, second = session.random(32), session.random(32)
        assert len(first) == 32 and len(second) == 32
        assert bytes(first.view()) != bytes(second.view())
        with pytest.raises(InputError):
            session.random(0)


def test_a_closed_session_refuses(soft_token: SoftToken) -> None:
    session = open_token(soft_token.module, soft_token.label, soft_token.pin)
    session.close()
    session.close()  # idempotent
    with pytest.raises(TokenError, match="closed"):
        session.find_key("KEY-1")


def test_remove_key(soft_token: SoftToken) -> None:
    load(soft_token, KeyType.AES_128, fresh_key(KeyType.AES_128), mechanism=Mechanism.CREATE, usage="D0")
    with opened(soft_token, read_only=True) as session, pytest.raises(TokenError, match="read-only"):
        session.remove_key("KEY-1")
    with opened(soft_token) as session:
        assert session.remove_key("KEY-1") is True
        assert session.remove_key("KEY-1") is False
        assert not session.find_key("KEY-1")
    assert objects_labelled(soft_token, "KEY-1") == 0
