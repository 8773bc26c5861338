"""No secret in a repr, str or format of any secret-holding object (DESIGN §2; issue 2 item 2).

For each object we render it every way Python can (repr, str, format with and without a spec, f-string,
inside a container, as an exception's message) and search the text for the secret in hex (both cases), as
raw bytes (Python's bytes repr and latin-1), and in base64 — for the key and for every share's bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import pytest

from ceremony.crypto.ids import new_id
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.recipes import new_key, split_key, split_key_into_components
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.shamir import combine_shares
from ceremony.errors import CeremonyError


def _renderings(obj: object) -> Iterator[str]:
    yield repr(obj)
    yield str(obj)
    yield format(obj, "")
    yield f"{obj}"
    yield f"{obj!r}"
    yield repr([obj])
    yield str({"k": obj})
    try:
        yield format(obj, "x")
    except (TypeError, ValueError):
        pass


def _forms(secret: bytes) -> list[str]:
    forms = [secret.hex(), secret.hex().upper(), repr(secret)[2:-1], base64.b64encode(secret).decode()]
    forms.append(secret.decode("latin-1"))
    # Also a long enough piece of each (a truncated dump is still a leak).
    half = len(secret) // 2
    forms += [secret[:half].hex(), secret[half:].hex().upper()]
    return [f for f in forms if len(f) >= 8]


def _assert_clean(obj: object, secrets: list[bytes]) -> None:
    for text in _renderings(obj):
        for secret in secrets:
            for form in _forms(secret):
                assert form not in text, f"{type(obj).__name__} rendering shows a secret: {text[:60]!r}"


@pytest.mark.parametrize("key_type", list(KeyType))
def test_keys_shares_and_results_show_no_bytes(key_type: KeyType) -> None:
    key, kcv = new_key(key_type, 32 if key_type is KeyType.GENERIC else None)
    secret = bytes(key.material.view())
    shamir_split = split_key(key, new_id(), new_id(), 2, 3)
    xor_split = split_key_into_components(key, new_id(), new_id(), 3)
    share_secrets = [bytes(s.data.view()) for s in (*shamir_split.shares, *xor_split.shares)]
    everything = [secret, *share_secrets]
    for obj in (key, key.material, kcv, shamir_split, xor_split, *shamir_split.shares, *xor_split.shares):
        _assert_clean(obj, everything)
    for share in shamir_split.shares:
        _assert_clean(share.data, everything)
    recovered = combine_shares(list(shamir_split.shares[:2]), kcv)
    _assert_clean(recovered, everything)
    _assert_clean(Key(key_type, recovered), everything)


def test_secret_bytes_after_wipe_and_of_known_text() -> None:
    secret = b"this-is-a-secret-passphrase"
    holder = SecretBytes(secret)
    _assert_clean(holder, [secret])
    holder.wipe()
    _assert_clean(holder, [secret])
    assert "wiped" in repr(holder)


def test_errors_from_combining_show_no_bytes() -> None:
    key, kcv = new_key(KeyType.AES_256)
    result = split_key(key, new_id(), new_id(), 2, 3)
    shares = list(result.shares)
    everything = [bytes(key.material.view()), *(bytes(s.data.view()) for s in shares)]
    bad = bytearray(shares[1].data.view())
    bad[0] ^= 1
    tampered = replace(shares[1], data=SecretBytes(bad))
    everything.append(bytes(bad))
    attempts = [
        [shares[0], tampered],  # KCV mismatch
        [shares[0], tampered, shares[2]],  # bad share named
        [shares[0]],  # below threshold
        [shares[0], shares[0]],  # duplicate
    ]
    for attempt in attempts:
        with pytest.raises(CeremonyError) as info:
            combine_shares(attempt, kcv)
        _assert_clean(info.value, everything)
        _assert_clean(info.value.args, everything)


@pytest.mark.parametrize("leaky", ["bytes", "bytearray", "hex-str", "b64-in-list"])
def test_the_detector_catches_leaks(leaky: str) -> None:
    """The search above would fail on objects that do show their bytes."""
    secret = bytes(range(40, 72))
    obj: object = {
        "bytes": secret,
        "bytearray": bytearray(secret),
        "hex-str": f"key={secret.hex()}",
        "b64-in-list": [base64.b64encode(secret).decode()],
    }[leaky]
    with pytest.raises(AssertionError):
        _assert_clean(obj, [secret])
