"""TR-31 / ANSI X9.143 key blocks (issue 16 item 1).

Known answers: ``tests/vectors/tr31_vectors.json`` holds published blocks transcribed by hand, each with its
source — TR-31:2018 Annex A.7.2.2, A.7.3.2 and A.7.4 (version B and D examples), Thales payShield 10k
blocks (as given in openemv/tr31's tests) and blocks the real AWS Payment Cryptography service imported
(aws-samples).
Every block is unwrapped; A.7.4 publishes its padding, so it is also wrapped byte for byte.

Cross-check: ``psec`` (an independent implementation, test extra only) unwraps every block we make, across
versions B and D, every usage we issue and every key type each version carries; a tampered MAC is refused
by both.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.crypto.kcv import aes_kcv, tdes_kcv
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.tr31 import ALLOWED_MODES, Header, OptionalBlock, _wrap, inspect, unwrap, wrap
from ceremony.errors import CeremonyError, KeyBlockError

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "tr31_vectors.json").read_text()
)["vectors"]


def _psec() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import psec

    return psec


# --- known answers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_published_block_unwraps_to_its_key(vector: dict[str, Any]) -> None:
    header, key = unwrap(bytes.fromhex(vector["kbpk"]), vector["block"])
    assert key.view().hex().upper() == vector["key"]
    kcv = aes_kcv(key) if header.algorithm == "A" else tdes_kcv(key)
    assert kcv.hex[:6] == vector["kcv"]  # the KCV the source states
    block = vector["block"]
    assert header.version == block[0]
    assert header.key_usage == block[5:7]
    assert (header.algorithm, header.mode_of_use, header.key_version, header.exportability) == (
        block[7],
        block[8],
        block[9:11],
        block[11],
    )
    assert header.block("KS") == vector.get("ks")
    assert inspect(block) == header


def test_tr31_2018_a74_wraps_byte_for_byte() -> None:
    """A.7.4 gives its padding (and no key-length masking): our wrap reproduces the published block."""
    vector = next(v for v in VECTORS if v["name"] == "tr31-2018-a.7.4")
    padding = bytes.fromhex(vector["padding"])
    block = _wrap(
        bytes.fromhex(vector["kbpk"]),
        inspect(vector["block"]),
        bytes.fromhex(vector["key"]),
        lambda n: padding[:n],
        vector["masked_length"],
    )
    assert block == vector["block"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rewrap_matches_all_but_the_random_part(vector: dict[str, Any]) -> None:
    """Same header and length as published (the rest depends on the random padding), and it round-trips."""
    header = inspect(vector["block"])
    if header.mode_of_use == "N" or len(vector["key"]) > len(vector["kbpk"]):
        pytest.skip("accepted when received, never issued (mode N, or a key stronger than its KBPK)")
    kbpk, key = bytes.fromhex(vector["kbpk"]), bytes.fromhex(vector["key"])
    published = vector["block"]
    prefix = len(header.encode(len(published)))
    mac_size = 8 if header.version == "B" else 16
    payload_size = (len(published) - prefix) // 2 - mac_size  # the published masking, whatever it was
    block = _wrap(kbpk, header, key, os.urandom, payload_size - 2)
    assert len(block) == len(published)
    assert block[:prefix] == published[:prefix]
    assert unwrap(kbpk, block)[1].view().hex().upper() == vector["key"]


# --- refusals --------------------------------------------------------------------------------------------
AES256 = bytes(range(32))
TDES3 = bytes(range(100, 124))


@pytest.mark.parametrize(
    ("kbpk", "header", "key", "words"),
    [
        (TDES3, Header("B", "D0", "A", "E"), bytes(16), "AES key cannot be carried under a TDES KBPK"),
        (TDES3[:16], Header("B", "K0", "T", "E"), TDES3, "stronger than its KBPK"),
        (AES256[:16], Header("D", "K0", "A", "E"), AES256, "stronger than its KBPK"),
        (AES256, Header("D", "P0", "T", "G"), TDES3, "mode of use G is not allowed for key usage P0"),
        (AES256, Header("D", "M3", "T", "E"), TDES3, "mode of use E is not allowed for key usage M3"),
        (AES256, Header("D", "B0", "A", "E"), AES256, "only X"),
        (AES256, Header("D", "K0", "A", "G"), AES256, "only B, D, E"),
        (AES256, Header("D", "K1", "A", "X"), AES256, "only B, D, E"),
        (AES256, Header("D", "K0", "A", "N"), AES256, r"N \(no restrictions\) is never issued"),
        (AES256, Header("D", "M3", "A", "C"), AES256, "DES-based MAC"),
        (AES256, Header("D", "Z9", "A", "B"), AES256, "not one this program issues"),
        (AES256, Header("D", "D0", "R", "B"), AES256, "not wrapped here"),
        (AES256, Header("D", "D0", "A", "B"), bytes(20), "20 given"),
        (AES256[:20], Header("D", "D0", "A", "B"), AES256[:16], "AES KBPK"),
        (TDES3[:8], Header("B", "D0", "T", "B"), TDES3[:16], "TDES KBPK"),
        (AES256, Header("A", "D0", "T", "B"), TDES3, "only B and D"),
    ],
    ids=lambda value: (
        value.key_usage + value.algorithm + value.mode_of_use if isinstance(value, Header) else None
    ),
)
def test_forbidden_combinations_are_refused(kbpk: bytes, header: Header, key: bytes, words: str) -> None:
    with pytest.raises(KeyBlockError, match=words):
        wrap(kbpk, header, key)


def test_allowed_pairs_from_the_standard() -> None:
    assert ALLOWED_MODES["P0"] == frozenset("BDE")
    assert ALLOWED_MODES["M3"] == frozenset("CGV")
    assert ALLOWED_MODES["B0"] == frozenset("X")
    assert ALLOWED_MODES["K0"] == ALLOWED_MODES["K1"] == frozenset("BDE")


def test_a_received_block_with_a_forbidden_pair_is_refused() -> None:
    # M3 with mode E, made by psec (which does not police pairs): our unwrap still refuses it.
    block = _psec().tr31.wrap(AES256, "D0000M3TE00N0000", TDES3)
    with pytest.raises(KeyBlockError, match="not allowed for key usage M3"):
        unwrap(AES256, block)


def test_wrong_mac_says_nothing_more() -> None:
    block = wrap(AES256, Header("D", "P0", "A", "E"), AES256[:16])
    with pytest.raises(KeyBlockError) as caught:
        unwrap(bytes(32), block)
    assert str(caught.value) == "MAC does not verify"
    assert caught.value.refusal == "Key block refused"


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ("", "at least 16"),
        ("D0020P0AE00E0000", "length of 20"),
        ("X0016P0AE00E0000", "version"),
        ("D0016P0AE00E0001", "reserved"),
        ("D0016P0AZ00E0000", "mode of use"),
        ("D0016P0AE00Q0000", "exportability"),
        ("D0024P0AE00E0100KS99AAAA", "runs past the end"),
        ("D0016P0AE00E0000\u00e9", "ASCII"),
    ],
)
def test_malformed_blocks_are_refused(block: str, words: str) -> None:
    with pytest.raises(KeyBlockError, match=words):
        inspect(block)


def test_key_material_is_secret_bytes_and_never_in_errors() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    block = wrap(AES256, Header("D", "K0", "T", "B"), key)
    _, got = unwrap(AES256, block)
    assert isinstance(got, SecretBytes)
    assert "0123" not in repr(got)
    tampered = block[:-1] + ("0" if block[-1] != "0" else "1")
    with pytest.raises(KeyBlockError) as caught:
        unwrap(AES256, tampered)
    assert "0123" not in str(caught.value).upper()


def test_optional_blocks_and_padding() -> None:
    header = Header("D", "B0", "A", "X", "12", "S", (OptionalBlock("KS", "00604B120F9292800000"),))
    block = wrap(AES256, header, AES256[:16])
    assert block[16:40] == "KS1800604B120F9292800000"
    assert block[40:44] == "PB08"  # brings the header to 48 characters, a multiple of 16
    assert block[12:14] == "02"
    assert unwrap(AES256, block)[0] == header
    long_block = Header("D", "K0", "A", "E", blocks=(OptionalBlock("TS", "2" * 300),))
    assert inspect(wrap(AES256, long_block, AES256)) == long_block  # extended length form


def test_key_error_is_a_ceremony_error() -> None:
    assert issubclass(KeyBlockError, CeremonyError)
    assert KeyBlockError.exit_code == 2


# --- cross-check with psec -------------------------------------------------------------------------------
KBPKS = {"B": bytes(range(24)), "D": bytes(range(32))}
KEYS = {
    ("T", 16): TDES3[:16],
    ("T", 24): TDES3,
    ("A", 16): AES256[:16],
    ("A", 24): AES256[:24],
    ("A", 32): AES256,
}
CASES = [
    (version, usage, mode, algorithm, length)
    for version in ("B", "D")
    for usage, modes in sorted(ALLOWED_MODES.items())
    for mode in sorted(modes)
    for algorithm, length in KEYS
    if not (version == "B" and algorithm == "A")
    if not (algorithm == "A" and usage in {"M0", "M1", "M2", "M3", "M4", "M5"})
]


def test_the_cross_check_covers_the_matrix() -> None:
    versions = {(c[0], c[3], c[4]) for c in CASES}
    assert versions == {("B", "T", 16), ("B", "T", 24)} | {("D", a, n) for a, n in KEYS}
    assert {c[1] for c in CASES} == set(ALLOWED_MODES)
    assert len(CASES) == 373  # the count reported on issue 16


@pytest.mark.parametrize(("version", "usage", "mode", "algorithm", "length"), CASES)
def test_psec_unwraps_what_we_wrap(version: str, usage: str, mode: str, algorithm: str, length: int) -> None:
    psec = _psec()
    kbpk, key = KBPKS[version], KEYS[(algorithm, length)]
    header = Header(
        version, usage, algorithm, mode, "07", "E", (OptionalBlock("KS", "00604B120F9292800000"),)
    )
    block = wrap(kbpk, header, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_header, their_key = psec.tr31.unwrap(kbpk, block)
    assert their_key == key
    assert (their_header.key_usage, their_header.algorithm, their_header.mode_of_use) == (
        usage,
        algorithm,
        mode,
    )
    assert their_header.blocks["KS"] == "00604B120F9292800000"
    # And a block psec makes, we open.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = psec.tr31.wrap(kbpk, header.encode(0), key)
    assert unwrap(kbpk, theirs)[1].view().tobytes() == key


@pytest.mark.parametrize("version", ["B", "D"])
def test_a_tampered_mac_is_refused_by_both(version: str) -> None:
    psec = _psec()
    kbpk = KBPKS[version]
    block = wrap(kbpk, Header(version, "P0", "T", "E"), TDES3)
    last = block[-1]
    tampered = block[:-1] + ("A" if last != "A" else "B")
    with pytest.raises(KeyBlockError, match=r"^MAC does not verify$"):
        unwrap(kbpk, tampered)
    with warnings.catch_warnings(), pytest.raises(psec.tr31.KeyBlockError):
        warnings.simplefilter("ignore")
        psec.tr31.unwrap(kbpk, tampered)


# --- properties ------------------------------------------------------------------------------------------
_key_types = st.sampled_from([("B", "T", 16), ("B", "T", 24), *(("D", a, n) for a, n in KEYS)])


@settings(max_examples=60, deadline=None)
@given(kind=_key_types, seed=st.binary(min_size=32, max_size=32), usage=st.sampled_from(["K0", "P0", "D0"]))
def test_round_trip(kind: tuple[str, str, int], seed: bytes, usage: str) -> None:
    version, algorithm, length = kind
    kbpk = seed[: 24 if version == "B" else 32]
    key = bytes(reversed(seed))[:length]
    header = Header(version, usage, algorithm, "B")
    got_header, got_key = unwrap(kbpk, wrap(kbpk, header, key))
    assert got_header == header
    assert got_key.view().tobytes() == key


@settings(max_examples=100, deadline=None)
@given(kind=_key_types, position=st.integers(min_value=0), replacement=st.sampled_from("0123456789ABCDEFN"))
def test_tamper_anywhere_is_refused(kind: tuple[str, str, int], position: int, replacement: str) -> None:
    version, algorithm, length = kind
    kbpk = KBPKS[version]
    block = wrap(
        kbpk,
        Header(version, "K0", algorithm, "E", blocks=(OptionalBlock("KS", "0060"),)),
        TDES3[:16] if algorithm == "T" else AES256[:length],
    )
    position %= len(block)
    if block[position] == replacement:
        replacement = "1" if replacement != "1" else "2"
    with pytest.raises(KeyBlockError):
        unwrap(kbpk, block[:position] + replacement + block[position + 1 :])


@settings(max_examples=30, deadline=None)
@given(version=st.sampled_from(["B", "D"]), seed=st.binary(min_size=32, max_size=32))
def test_block_length_does_not_reveal_the_key_length(version: str, seed: bytes) -> None:
    kbpk = KBPKS[version]
    kinds = [k for k in KEYS if version == "D" or k[0] == "T"]
    lengths = {len(wrap(kbpk, Header(version, "K0", a, "E"), seed[:n])) for a, n in kinds}
    assert len(lengths) == 1
