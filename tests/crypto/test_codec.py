"""Share codec (issue 2 item 6): typed / QR form of a share, checks per group, whole-share checksum."""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
from pathlib import Path

import pyshamir
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.crypto.codec import (
    GROUP_DATA,
    HEADER_GROUPS,
    ShareHeader,
    decode_share,
    encode_share,
    read_header,
    share_groups,
    share_lines,
    share_text,
    vault_base64,
    vault_hex,
)
from ceremony.crypto.ids import ALPHABET, new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import ForeignShareError, ShareChecksumError, ShareError, ShareFormatError

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "codec_vectors.json").read_text())["vectors"]
GROUP = GROUP_DATA + 1


# --- an independent reference encoder, written from the format description in codec.py's docstring --------
def _gf32_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 62, [0] * 32
    value = 1
    for i in range(31):
        exp[i] = exp[i + 31] = value
        log[value] = i
        value <<= 1
        if value & 32:
            value ^= 0b100101  # x^5 + x^2 + 1
    return exp, log


EXP, LOG = _gf32_tables()


def _reference_typed(v: dict) -> str:
    data = bytes.fromhex(v["share_hex"])
    scheme = {"shamir": "S", "xor": "X"}[v["scheme"]]

    def two(n: int) -> str:
        return ALPHABET[n // 32] + ALPHABET[n % 32]

    header = f"1{scheme}{two(v['threshold'])}{two(v['count'])}{two(v['number'])}{v['key_id']}{v['split_id']}"
    nsym = -(-8 * len(data) // 5)
    big = int.from_bytes(data, "big") << (5 * nsym - 8 * len(data))
    body = "".join(ALPHABET[(big >> (5 * (nsym - 1 - i))) & 31] for i in range(nsym))
    digest = hashlib.sha256(b"ceremony/share-codec/v1\x00" + header.encode() + data).digest()
    top40 = int.from_bytes(digest[:5], "big")
    check = "".join(ALPHABET[(top40 >> (35 - 5 * i)) & 31] for i in range(8))
    stream = header + body + check
    groups = []
    for k in range(0, len(stream), 4):
        chunk = stream[k : k + 4]
        c = (k // 4) % 32
        for i, ch in enumerate(chunk):
            d = ALPHABET.index(ch)
            if d:
                c ^= EXP[(LOG[d] + i + 1) % 31]  # d * a^(i+1)
        groups.append(chunk + ALPHABET[c])
    return "-".join(groups)


def _share(v: dict) -> Share:
    return Share(
        v["key_id"],
        v["split_id"],
        Scheme(v["scheme"]),
        v["threshold"],
        v["count"],
        v["number"],
        SecretBytes(bytes.fromhex(v["share_hex"])),
    )


def _full_body_groups(typed: str) -> list[str]:
    """The body's five-character groups: what must never appear in a message or repr. (The last group
    may have two characters only, which turn up by chance in any text, e.g. "33 bytes".)"""
    return [g for g in typed.split("-")[HEADER_GROUPS:] if len(g) == GROUP]


def _text(secret: SecretBytes) -> str:
    return secret.view().tobytes().decode("ascii")


@pytest.fixture(scope="module")
def real_share() -> Share:
    """A real Shamir share of a fresh 32-byte key (33 Vault-format bytes), 3-of-5."""
    parts = pyshamir.split(os.urandom(32), 5, 3)
    return Share(new_id(), new_id(), Scheme.SHAMIR, 3, 5, 2, SecretBytes(parts[1]))


# --- known answers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("v", VECTORS, ids=[v["comment"] for v in VECTORS])
def test_vector_encodes_to_its_typed_form(v: dict) -> None:
    assert _text(encode_share(_share(v))) == v["typed"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["comment"] for v in VECTORS])
def test_vector_matches_independent_reference(v: dict) -> None:
    assert _reference_typed(v) == v["typed"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["comment"] for v in VECTORS])
def test_vector_decodes_to_its_share(v: dict) -> None:
    share = decode_share(v["typed"])
    assert share.data.view().tobytes().hex() == v["share_hex"]
    assert share.common_parameters() == (
        v["key_id"],
        v["split_id"],
        Scheme(v["scheme"]),
        v["threshold"],
        v["count"],
    )
    assert share.number == v["number"]
    header = read_header(v["typed"])
    fields = (v["key_id"], v["split_id"], v["threshold"], v["count"], v["number"])
    assert header == ShareHeader(1, Scheme(v["scheme"]), *fields)


def test_vectors_cover_short_and_long_shares() -> None:
    lengths = {len(v["share_hex"]) // 2 for v in VECTORS}
    assert min(lengths) == 1 and max(lengths) == 65 and 33 in lengths


# --- round trips (hypothesis) ------------------------------------------------------------------------------
ids = st.text(alphabet=ALPHABET, min_size=10, max_size=10)


@st.composite
def shares(draw: st.DrawFn) -> Share:
    scheme = draw(st.sampled_from(Scheme))
    n = draw(st.integers(2, 255))
    m = n if scheme is Scheme.XOR else draw(st.integers(2, n))
    number = draw(st.integers(1, n))
    data = draw(st.binary(min_size=1, max_size=65))
    return Share(draw(ids), draw(ids), scheme, m, n, number, SecretBytes(data))


@settings(max_examples=200, deadline=None)
@given(
    share=shares(),
    seps=st.lists(st.sampled_from([" ", "-", "\n", "\r\n", "\t", ""]), min_size=1),
    lower=st.booleans(),
)
def test_round_trip_any_share_any_spacing(share: Share, seps: list[str], lower: bool) -> None:
    typed = _text(encode_share(share))
    assert re.fullmatch(r"[0-9A-Z-]+", typed)  # QR alphanumeric mode
    assert all(len(g) == GROUP for g in typed.split("-")[:-1]) and 2 <= len(typed.split("-")[-1]) <= GROUP
    # Retype it the way a person might: arbitrary separators between groups, any case.
    chars = typed.replace("-", "")
    retyped = "".join(c + seps[i % len(seps)] for i, c in enumerate(chars))
    retyped = retyped.lower() if lower else retyped
    back = decode_share(retyped.encode(), expected_split_id=share.split_id)
    assert back.data == share.data
    assert back.common_parameters() == share.common_parameters() and back.number == share.number
    assert read_header(bytearray(retyped.encode())) == ShareHeader.of(share)


# --- typo detection: the figure for issue 2's closing note -------------------------------------------------
def _group_of(position: int) -> int:
    return position // GROUP + 1


def test_every_substitution_and_adjacent_transposition_is_caught(real_share: Share, capsys) -> None:
    typed = _text(encode_share(real_share))
    body_groups = _full_body_groups(typed)
    chars = typed.replace("-", "")
    subs_tried = subs_caught = subs_named = 0
    for pos, original in enumerate(chars):
        for ch in ALPHABET:
            if ch == original:
                continue
            subs_tried += 1
            typo = chars[:pos] + ch + chars[pos + 1 :]
            try:
                decode_share(typo)
            except ShareChecksumError as err:
                subs_caught += 1
                subs_named += err.group == _group_of(pos)
                assert not any(g in str(err) for g in body_groups)
    within_tried = within_caught = across_tried = across_caught = 0
    for pos in range(len(chars) - 1):
        if chars[pos] == chars[pos + 1]:
            continue  # swapping equal characters changes nothing
        typo = chars[:pos] + chars[pos + 1] + chars[pos] + chars[pos + 2 :]
        within = _group_of(pos) == _group_of(pos + 1)
        try:
            decode_share(typo)
            caught = False
        except ShareChecksumError as err:
            caught = err.group == _group_of(
                pos
            )  # the group where the slip happened (the first one if across)
        within_tried += within
        within_caught += within and caught
        across_tried += not within
        across_caught += (not within) and caught
    with capsys.disabled():
        print(
            f"\ncodec typo detection on one real 33-byte share ({len(chars)} characters): "
            f"{subs_tried} substitutions tried, {subs_caught} caught ({subs_named} at the right group); "
            f"{within_tried + across_tried} transpositions tried, {within_caught + across_caught} caught "
            f"({within_tried} within a group, {across_tried} across a group boundary)"
        )
    assert subs_tried == len(chars) * 31
    assert subs_caught == subs_named == subs_tried
    assert within_caught == within_tried > 0
    assert across_caught == across_tried > 0


def test_aliases_read_as_the_lookalike_digit() -> None:
    v = next(v for v in VECTORS if v["key_id"] == "0000000000")
    typed = v["typed"]
    assert decode_share(typed.replace("0", "O").replace("1", "l")).data == _share(v).data
    assert read_header(typed.replace("1", "I")).key_id == v["key_id"]


# --- wrong shares and broken input -------------------------------------------------------------------------
def _groups(share: Share) -> list[str]:
    return _text(encode_share(share)).split("-")


def test_share_of_another_split_is_named(real_share: Share) -> None:
    other = new_id()
    with pytest.raises(ForeignShareError, match=f"not a share of split {other}") as err:
        decode_share(_text(encode_share(real_share)), expected_split_id=other)
    assert real_share.split_id in str(err.value) and "share 2 of 5" in str(err.value)


def test_group_from_another_share_is_caught_by_the_whole_checksum(real_share: Share) -> None:
    # Same header, different body: each group passes its own check at the same position.
    twin = Share(real_share.key_id, real_share.split_id, Scheme.SHAMIR, 3, 5, 2,
                 SecretBytes(pyshamir.split(os.urandom(32), 5, 3)[1]))  # fmt: skip
    mine, theirs = _groups(real_share), _groups(twin)
    mixed = [*mine[:10], theirs[10], *mine[11:]]
    with pytest.raises(ShareChecksumError, match="as a whole") as err:
        decode_share(" ".join(mixed))
    assert err.value.group == 0
    assert not any(g in str(err.value) for g in _full_body_groups("-".join(mine)))


def test_header_edit_with_a_valid_group_check_is_caught(real_share: Share) -> None:
    relabelled = Share(real_share.key_id, real_share.split_id, Scheme.SHAMIR, 3, 5, 4, real_share.data.copy())
    mine, forged = _groups(real_share), _groups(relabelled)
    assert mine[1] != forged[1]  # group 2 carries n and the share number
    with pytest.raises(ShareChecksumError, match="as a whole"):
        decode_share("-".join([mine[0], forged[1], *mine[2:]]))


def test_skipped_or_repeated_group_is_named(real_share: Share) -> None:
    groups = _groups(real_share)
    with pytest.raises(ShareChecksumError) as err:
        decode_share("".join(groups[:9] + groups[10:]))
    assert err.value.group == 10
    with pytest.raises(ShareChecksumError) as err:
        decode_share("".join(groups[:12] + groups[11:]))
    assert err.value.group == 13


def test_missing_last_group_is_a_length_or_checksum_error(real_share: Share) -> None:
    groups = _groups(real_share)
    with pytest.raises(ShareFormatError):
        decode_share("".join(groups[:-1]))


def test_stray_character_is_named_without_quoting_it(real_share: Share) -> None:
    groups = _groups(real_share)
    groups[9] = groups[9][:2] + "U" + groups[9][3:]
    with pytest.raises(ShareFormatError, match="group 10 contains a character") as err:
        decode_share(" ".join(groups))
    assert groups[9] not in str(err.value) and "U" not in str(err.value).split("group")[1]


@pytest.mark.parametrize("text", ["", "   \n", "1S03W-0502G"])
def test_too_short_input(text: str) -> None:
    with pytest.raises(ShareFormatError, match="7 groups"):
        decode_share(text)


def test_unknown_format_version_is_refused() -> None:
    v = VECTORS[0]
    chars = v["typed"].replace("-", "")
    # Rewrite group 1 with version '2' and a correct check character, so only the version is wrong.
    group = "2" + chars[1:4]
    c = 0
    for i, ch in enumerate(group):
        d = ALPHABET.index(ch)
        c ^= EXP[(LOG[d] + i + 1) % 31] if d else 0
    with pytest.raises(ShareFormatError, match="format version 2"):
        read_header(group + ALPHABET[c] + chars[5:])


def test_encode_refuses_impossible_headers() -> None:
    good = dict(key_id=new_id(), split_id=new_id(), scheme=Scheme.SHAMIR, threshold=2, count=3, number=1)
    for bad in ({"number": 4}, {"threshold": 4}, {"count": 256, "threshold": 2}, {"split_id": "short"},
                {"key_id": "IIIIIIIIII"}, {"scheme": Scheme.XOR}, {"threshold": 1}):  # fmt: skip
        with pytest.raises(ShareError):
            encode_share(Share(**{**good, **bad}, data=SecretBytes(b"\x01\x02")))  # type: ignore[arg-type]
    with pytest.raises(ShareError, match="0 bytes"):
        encode_share(Share(**good, data=SecretBytes(b"")))  # type: ignore[arg-type]


# --- display and raw interop -------------------------------------------------------------------------------
def test_lines_keep_header_apart_and_retype_to_the_same_share(real_share: Share) -> None:
    encoded = encode_share(real_share)
    lines = list(share_lines(encoded, groups_per_line=4))
    assert [n for n, _ in lines][:3] == [1, 5, 8]  # header groups 1-7 on their own lines
    typed = "\n".join(_text(line) for _, line in lines)
    assert decode_share(typed).data == real_share.data
    card = share_text(encoded, groups_per_line=4)
    assert _text(card) == typed + "\n"
    groups = share_groups(encoded)
    assert [_text(g) for g in groups] == _text(encoded).split("-")


def test_qr_payload_uses_alphanumeric_mode_and_scans_back(real_share: Share) -> None:
    """The typed form is the QR payload: qrcode picks alphanumeric mode for it (denser than bytes), and a
    reader (zxing-cpp) returns the same string, which decodes to the same share."""
    import qrcode
    import qrcode.util
    import zxingcpp

    encoded = encode_share(real_share)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(encoded.view().tobytes())
    qr.make(fit=True)
    assert [chunk.mode for chunk in qr.data_list] == [qrcode.util.MODE_ALPHA_NUM]
    image = qr.make_image().get_image().convert("L")
    (scanned,) = zxingcpp.read_barcodes(image)
    assert decode_share(scanned.text).data == real_share.data


def test_vault_hex_and_base64_match_independent_encoders(real_share: Share) -> None:
    raw = real_share.data.view().tobytes()
    hex_form, b64_form = vault_hex(real_share), vault_base64(real_share)
    assert _text(hex_form) == binascii.hexlify(raw).decode()
    assert _text(b64_form) == binascii.b2a_base64(raw, newline=False).decode()
    for n in range(1, 7):  # every base64 padding case
        s = Share(new_id(), new_id(), Scheme.XOR, 2, 2, 1, SecretBytes(raw[:n]))
        assert _text(vault_base64(s)) == binascii.b2a_base64(raw[:n], newline=False).decode()


def test_nothing_secret_in_reprs(real_share: Share) -> None:
    encoded = encode_share(real_share)
    body = _full_body_groups(_text(encoded))
    for obj in (encoded, vault_hex(real_share), read_header(_text(encoded)), decode_share(_text(encoded))):
        assert not any(g in repr(obj) or g in str(obj) for g in body)
        assert real_share.data.view().tobytes().hex() not in repr(obj)


@settings(max_examples=200, deadline=None)
@given(junk=st.one_of(st.binary(max_size=200), st.text(alphabet=ALPHABET + " -\n", max_size=200)))
def test_any_input_is_a_share_or_a_format_error(junk: bytes | str) -> None:
    try:
        decode_share(junk)
    except ShareFormatError as err:
        assert str(err) and "\n" not in str(err)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_several_typos_never_decode_to_another_share(real_share: Share, data: st.DataObject) -> None:
    chars = list(_text(encode_share(real_share)).replace("-", ""))
    positions = data.draw(st.lists(st.integers(0, len(chars) - 1), min_size=2, max_size=6, unique=True))
    for pos in positions:
        chars[pos] = data.draw(st.sampled_from([c for c in ALPHABET if c != chars[pos]]))
    with pytest.raises(ShareFormatError):
        decode_share("".join(chars))


def test_check_typed_groups_counts_complete_groups_and_names_a_bad_one(real_share: Share) -> None:
    from ceremony.crypto.codec import check_typed_groups

    encoded = encode_share(real_share)
    text = bytes(encoded.view())
    groups = text.split(b"-")
    # every prefix ending on a group boundary checks out; a partial last group is not judged
    assert check_typed_groups(b"-".join(groups[:5])) == 5
    assert check_typed_groups(b"-".join(groups[:5]) + b"-" + groups[5][:2]) == 5
    # a typo in group 9 is named while typing group 12
    typo = bytearray(b"-".join(groups[:12]))
    at = len(b"-".join(groups[:8])) + 2  # a character inside group 9
    typo[at] = ord("Z") if typo[at] != ord("Z") else ord("Y")
    with pytest.raises(ShareChecksumError) as bad:
        check_typed_groups(typo)
    assert bad.value.group == 9
