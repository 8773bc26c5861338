"""In-project GF(2^8) Shamir (ceremony.crypto.gf256) against pyshamir as the oracle, in Vault's share format.

* the field: every product and inverse against pyshamir's ``mul``/``div`` and FIPS 197's worked examples;
* known answers: shares computed by hand from fixed coefficients, and the same coefficients evaluated by
  pyshamir's own ``Polynomial``;
* interoperability (hypothesis): our split combines under ``pyshamir.combine`` and pyshamir's split combines
  under ours, for every m-subset, secrets of 1..64 bytes, m <= n <= 10;
* hygiene: the coefficient buffer is zero after a split (success and failure), and combine writes only
  into the buffer it returns (wiped if it fails).
"""

from __future__ import annotations

import itertools
import os

import pyshamir
import pyshamir._utils as pyshamir_utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.crypto import gf256
from ceremony.crypto.keys import KeyType, generate_key
from ceremony.crypto.shamir import split_secret


# --- the field ----------------------------------------------------------------------------------------------
def test_every_product_matches_pyshamir() -> None:
    for a in range(256):
        for b in range(256):
            assert gf256.mul(a, b) == pyshamir_utils.mul(a, b), (a, b)


def test_fips_197_examples_and_inverses() -> None:
    assert gf256.mul(0x57, 0x83) == 0xC1  # FIPS 197 §4.2
    assert gf256.mul(0x57, 0x13) == 0xFE  # FIPS 197 §4.2.1
    assert gf256.inverse(0x53) == 0xCA  # the S-box's inverse example
    assert gf256.inverse(0) == 0
    for a in range(1, 256):
        assert gf256.mul(a, gf256.inverse(a)) == 1
        for b in (1, 2, 0x53, 0xFF):
            assert gf256.div(a, b) == pyshamir_utils.div(a, b)
    with pytest.raises(ZeroDivisionError):
        gf256.div(1, 0)


# --- known answers ------------------------------------------------------------------------------------------
def _fixed(values: bytes) -> gf256.RandomFill:
    def fill(buf: memoryview) -> None:
        buf[:] = values

    return fill


def test_known_answer_by_hand() -> None:
    # One secret byte 0x01, m = 2, coefficient a1 = 0x02: P(x) = 1 + 2x.
    # P(1) = 1 ^ 2 = 0x03; P(2) = 1 ^ mul(2, 2) = 1 ^ 4 = 0x05; P(0x80) = 1 ^ mul(2, 0x80) = 1 ^ 0x1B = 0x1A.
    shares = gf256.split(bytearray(b"\x01"), 3, 2, x_coordinates=[1, 2, 0x80], fill=_fixed(b"\x02"))
    assert [bytes(s) for s in shares] == [b"\x03\x01", b"\x05\x02", b"\x1a\x80"]
    assert gf256.combine(shares[1:]) == bytearray(b"\x01")


def test_known_answer_against_pyshamir_polynomials() -> None:
    secret = bytes.fromhex("FA36E44278DB3AB5F298F9F7DA8F1F88")
    m, xs = 3, [7, 201, 33, 98, 1]
    coefficients = bytes(range(0x10, 0x10 + len(secret) * (m - 1)))
    shares = gf256.split(bytearray(secret), len(xs), m, x_coordinates=xs, fill=_fixed(coefficients))
    for share, x in zip(shares, xs, strict=True):
        assert share[-1] == x
        for index, byte in enumerate(secret):
            polynomial = pyshamir_utils.Polynomial(m - 1)
            polynomial.coefficients[0] = byte
            polynomial.coefficients[1:] = coefficients[index * (m - 1) : (index + 1) * (m - 1)]
            assert share[index] == polynomial.evaluate(x)
    # Fixed vector (the first share), so a change of format or field is caught without the oracle too.
    assert bytes(shares[0]).hex() == "d43c8200c641cc6791dfd2f82958a41707"


# --- interoperability with pyshamir, both ways ------------------------------------------------------------
@st.composite
def split_parameters(draw: st.DrawFn) -> tuple[bytes, int, int]:
    secret = draw(st.binary(min_size=1, max_size=64))
    n = draw(st.integers(2, 10))
    m = draw(st.integers(2, n))
    return secret, m, n


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_parameters())
def test_our_split_combines_under_pyshamir_for_every_subset(params: tuple[bytes, int, int]) -> None:
    secret, m, n = params
    shares = gf256.split(bytearray(secret), n, m)
    assert len(shares) == n and all(len(s) == len(secret) + 1 for s in shares)
    assert len({s[-1] for s in shares}) == n and all(s[-1] != 0 for s in shares)
    subsets = list(itertools.combinations(shares, m))
    for subset in subsets[:40]:  # pyshamir is slow: all subsets up to 40, else the first 40
        assert pyshamir.combine(list(subset)) == bytearray(secret)
    for subset in subsets:
        assert gf256.combine(list(subset)) == bytearray(secret)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_parameters())
def test_pyshamir_split_combines_under_ours_for_every_subset(params: tuple[bytes, int, int]) -> None:
    secret, m, n = params
    shares = pyshamir.split(secret, n, m)
    for subset in itertools.combinations(shares, m):
        assert gf256.combine(list(subset)) == bytearray(secret)


def test_too_few_shares_do_not_give_the_secret() -> None:
    secret = bytearray(os.urandom(32))
    shares = gf256.split(secret, 5, 3)
    assert gf256.combine(shares[:2]) != secret  # like Vault: the caller must enforce the threshold
    assert gf256.combine(shares[:2]) == pyshamir.combine(shares[:2])


def test_the_ceremony_wrapper_interoperates_with_pyshamir() -> None:
    key = generate_key(KeyType.AES_256)
    shares = split_secret(key, "K000000001", "S000000001", 3, 5)
    assert [s.number for s in shares] == [1, 2, 3, 4, 5]
    assert pyshamir.combine([bytearray(s.data.view()) for s in shares[2:]]) == key.buffer()


# --- refusals ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 3, "m": 1}, "2 <= m"),
        ({"n": 2, "m": 3}, "2 <= m"),
        ({"n": 256, "m": 2}, "2 <= m"),
        ({"n": 3, "m": 2, "x_coordinates": [1, 1, 2]}, "distinct"),
        ({"n": 3, "m": 2, "x_coordinates": [0, 1, 2]}, "1..255"),
        ({"n": 3, "m": 2, "x_coordinates": [1, 2]}, "distinct"),
    ],
)
def test_split_refuses_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gf256.split(bytearray(b"secret"), **kwargs)  # type: ignore[arg-type]


def test_combine_refuses_what_would_be_garbage() -> None:
    shares = gf256.split(bytearray(b"secret"), 3, 2)
    with pytest.raises(ValueError, match="two shares"):
        gf256.combine(shares[:1])
    with pytest.raises(ValueError, match="same length"):
        gf256.combine([shares[0], shares[1][1:]])
    with pytest.raises(ValueError, match="same x-coordinate"):
        gf256.combine([shares[0], bytearray(shares[0])])
    with pytest.raises(ValueError, match="x-coordinate 0"):
        gf256.combine([shares[0], bytearray(shares[1][:-1]) + b"\x00"])


# --- hygiene: the buffers this module allocates are wiped ------------------------------------------------
def test_coefficient_buffer_is_wiped_after_a_split() -> None:
    secret = bytearray(os.urandom(32))
    m = 4
    coefficients = bytearray(len(secret) * (m - 1))
    seen: list[bytes] = []

    def fill(buf: memoryview) -> None:
        gf256.random_fill(buf)
        seen.append(bytes(buf))  # what the split worked with (test only)

    shares = gf256.split(secret, 6, m, coefficients=coefficients, fill=fill)
    assert seen and seen[0] != bytes(len(coefficients))  # random coefficients were really used
    assert coefficients == bytearray(len(coefficients))  # ... and zeroed before returning
    assert gf256.combine(shares[:m]) == secret


def test_coefficient_buffer_is_wiped_when_a_split_fails() -> None:
    secret = bytearray(b"\x42" * 16)
    coefficients = bytearray(16)

    class Interrupted(Exception):
        pass

    def fill(buf: memoryview) -> None:
        buf[:] = b"\xa5" * len(buf)
        raise Interrupted

    with pytest.raises(Interrupted):
        gf256.split(secret, 3, 2, coefficients=coefficients, fill=fill)
    assert coefficients == bytearray(16)


def test_coefficient_buffer_must_have_the_right_size() -> None:
    with pytest.raises(ValueError, match="coefficient buffer"):
        gf256.split(bytearray(b"ab"), 3, 2, coefficients=bytearray(3))


def test_combine_writes_into_the_buffer_it_is_given_and_wipes_it_on_error() -> None:
    secret = bytearray(os.urandom(24))
    shares = gf256.split(secret, 5, 3)
    out = bytearray(24)
    assert gf256.combine(shares[1:4], out=out) is out
    assert out == secret
    with pytest.raises(ValueError, match="output buffer"):
        gf256.combine(shares[:3], out=bytearray(23))
    broken = bytearray(24)
    with pytest.raises(ValueError):
        gf256.combine([shares[0], shares[1], bytearray(25)], out=broken)
    assert broken == bytearray(24)


def test_random_fill_fills_in_place() -> None:
    buf = bytearray(64)
    view = memoryview(buf)
    gf256.random_fill(view)
    assert buf != bytearray(64)
    assert len(buf) == 64
