"""Rendered documents read back: the fields are there, the QR codes decode, no share leaks, output is
deterministic, both paper sizes work."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from ceremony.crypto.secret import SecretBytes
from ceremony.documents.model import Paper
from ceremony.documents.render import (
    render_acknowledgement,
    render_minutes,
    render_reaffirmation,
    render_share_card,
)
from ceremony.errors import DocumentError

from .samples import (
    LEDGER,
    acknowledgement_data,
    decode_qr_codes,
    minutes_data,
    pdf_text,
    reaffirmation_data,
    share_card_data,
    share_lines_and_qr,
)

needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")

PAPER_POINTS = {Paper.A4: (595, 842), Paper.LETTER: (612, 792)}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _page_sizes(pdf: bytes | bytearray) -> list[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(bytes(pdf)))
    return [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]


def _all_streams(pdf: bytes | bytearray) -> bytes:
    """Every stream of the file, inflated, plus the raw file: everything a leak could hide in."""
    raw = bytes(pdf)
    out = [raw]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.DOTALL):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return b"\n".join(out)


@pytest.mark.parametrize("paper", [Paper.A4, Paper.LETTER])
def test_acknowledgement_fields(paper: Paper) -> None:
    data = acknowledgement_data()
    pdf = render_acknowledgement(data, paper=paper)
    sizes = _page_sizes(pdf)
    assert sizes == [PAPER_POINTS[paper]]  # one page, the right paper
    text = _flat(pdf_text(pdf))
    for expected in (
        "Key Custodian Acknowledgement",
        "Alice Okafor",
        "E10234",
        "Key custodian",
        "PIN-KEK-2026",
        "AES-256",
        "D77F007724 (AES-CMAC, X9.24-1:2017)",
        "S8HD3J5RVA, Shamir 3-of-5",
        "2 of 5",
        "2026-11-23 14:05 UTC",
        "never disclose",
        "a second share or component of split",
        "tampering",
        "return my component",
        "3.7.6",
        "3.7.8",
        "Witness",
        "Dan Whitfield",
        "Signature",
        "Date (YYYY-MM-DD)",
        "Ledger event: E-000042",
        "page 1 of 1",
        "Example Payments Ltd",
    ):
        assert expected in text, expected
    assert "9f86d081884c7d659a2feaa0c55ad015" in text.replace(" ", "")


@needs_pdftoppm
def test_acknowledgement_checkpoint_qr_decodes(tmp_path: Path) -> None:
    pdf = render_acknowledgement(acknowledgement_data(), paper=Paper.LETTER)
    assert decode_qr_codes(pdf, tmp_path) == [LEDGER.qr_payload.encode()]


@pytest.mark.parametrize("paper", [Paper.A4, Paper.LETTER])
def test_reaffirmation_lists_every_component(paper: Paper) -> None:
    data = reaffirmation_data(count=4)
    pdf = render_reaffirmation(data, paper=paper)
    assert set(_page_sizes(pdf)) == {PAPER_POINTS[paper]}
    # The usual case, up to three components, fits on two sheets: what is held now, then everything ever
    # held or seen (the custody statement is about it), the responsibilities and the signatures.
    assert len(_page_sizes(render_reaffirmation(reaffirmation_data(count=3), paper=paper))) <= 2
    text = _flat(pdf_text(pdf))
    assert "Components currently held (4)" in text
    for held in data.holdings:
        for field in (held.key_label, held.split_id, held.kcv, held.envelope_serial):
            assert field in text, field
        assert f"{held.share_number} of {held.share_count}" in text
    for expected in (
        "Annual Key Custodian Reaffirmation",
        "2026",
        "Erin Novak",
        "Security officer",
        "2027-11-23",
    ):
        assert expected in text


def test_reaffirmation_with_many_components_continues_on_next_page() -> None:
    pdf = render_reaffirmation(reaffirmation_data(count=30), paper=Paper.LETTER)
    pages = len(_page_sizes(pdf))
    assert pages >= 2
    text = _flat(pdf_text(pdf))
    assert f"page {pages} of {pages}" in text
    assert "PIN-KEK-2053" in text  # the last of the 30


@pytest.mark.parametrize("paper", [Paper.A4, Paper.LETTER])
def test_minutes_multi_page_with_page_numbers(paper: Paper) -> None:
    data = minutes_data(steps=40)
    pdf = render_minutes(data, paper=paper)
    sizes = _page_sizes(pdf)
    assert len(sizes) >= 3 and set(sizes) == {PAPER_POINTS[paper]}
    reader = PdfReader(io.BytesIO(pdf))
    for n, page in enumerate(reader.pages, 1):
        assert f"page {n} of {len(sizes)}" in page.extract_text()
    text = _flat(pdf_text(pdf))
    for expected in (
        "Generate the 2026 PIN key-encrypting key",
        "Carol Mendes",
        "Ceremony administrator",
        "passed with one exception",
        "X-2026-07",
        "rfkill block at boot",
        "2027-05-31",
        "12:05:00",
        "E-000069",  # the 40th step's event
        "TE-880234",
        "Hana Berg",
        "D77F007724",
        "Completed: key generated",
        "Ledger event: E-000042",
    ):
        assert expected in text, expected
    # A signature block for everyone present.
    for participant in data.participants:
        assert f"Name: {participant.person.name} ({participant.person.employee_id})" in text


def test_minutes_of_an_aborted_ceremony_with_empty_sections() -> None:
    data = replace(minutes_data(steps=2), kcvs=(), envelopes=(), exceptions=(), outcome="Aborted at step 2")
    text = _flat(pdf_text(render_minutes(data)))
    # kcvs, envelopes, exceptions, and the officers' fingerprints (a sample has no ledger, so no officer)
    assert text.count("Nothing recorded.") == 4 and "None" not in text
    assert "Aborted at step 2" in text


@needs_pdftoppm
@pytest.mark.parametrize("paper", [Paper.A4, Paper.LETTER])
def test_share_card(paper: Paper, tmp_path: Path) -> None:
    lines, qr = share_lines_and_qr()
    card = render_share_card(share_card_data(lines, qr), paper=paper)
    assert isinstance(card, SecretBytes)
    pdf = bytes(card.view())
    assert _page_sizes(pdf) == [PAPER_POINTS[paper]]
    text = _flat(pdf_text(pdf))
    for expected in (
        "Key Share Card",
        "Alice Okafor (E10234)",
        "S8HD3J5RVA",
        "2 of 5",
        "TE-880231",
        "D77F007724",
        "Seal in envelope in front of the witness.",
    ):
        assert expected in text, expected
    # The typed share is printed: every character of every line, in order.
    compact = re.sub(r"\s+", "", pdf_text(pdf))
    for line in bytes(lines.view()).decode().splitlines():
        assert line.replace(" ", "") in compact
    # Its QR code carries exactly the payload.
    assert decode_qr_codes(pdf, tmp_path) == [bytes(qr.view())]
    # The caller's buffers are left to the caller; the returned card wipes.
    assert not lines.wiped and not qr.wiped
    card.wipe()
    assert card.wiped


def test_share_never_on_other_documents_and_not_plain_in_card_file() -> None:
    lines, qr = share_lines_and_qr()
    share_text = bytes(lines.view()).replace(b"\n", b" ")
    groups = share_text.split()
    # Any 8 consecutive share characters (across a group boundary, with or without the space).
    needles = [a + b for a, b in itertools.pairwise(groups)]
    needles += [a + b" " + b for a, b in itertools.pairwise(groups)]
    others = [
        render_acknowledgement(acknowledgement_data()),
        render_reaffirmation(reaffirmation_data()),
        render_minutes(minutes_data()),
    ]
    for pdf in others:
        haystack = _all_streams(pdf) + pdf_text(pdf).encode()
        assert not any(n in haystack for n in needles)
        assert bytes(qr.view()) not in haystack
    card = render_share_card(share_card_data(lines, qr))
    raw = bytes(card.view())
    # The file itself is compressed: no group of the share appears as plain bytes.
    assert not any(g in raw for g in groups)
    assert bytes(qr.view()) not in raw


def test_share_card_refuses_unprintable_share() -> None:
    lines = SecretBytes(b"ABCD EFGH\n\x00\x01 KLMN\n")
    _, qr = share_lines_and_qr()
    with pytest.raises(DocumentError, match=r"line 2") as err:
        render_share_card(share_card_data(lines, qr))
    assert "ABCD" not in str(err.value)


@pytest.mark.parametrize(
    "render",
    [
        lambda p: render_acknowledgement(acknowledgement_data(), paper=p),
        lambda p: render_reaffirmation(reaffirmation_data(), paper=p),
        lambda p: render_minutes(minutes_data(), paper=p),
    ],
    ids=["acknowledgement", "reaffirmation", "minutes"],
)
def test_deterministic(render, monkeypatch: pytest.MonkeyPatch) -> None:
    first = render(Paper.A4)
    monkeypatch.setenv("TZ", "America/New_York")  # the local clock/zone must not matter
    assert render(Paper.A4) == first
    assert render(Paper.LETTER) != first


def test_share_card_deterministic() -> None:
    lines, qr = share_lines_and_qr()
    a = render_share_card(share_card_data(lines, qr))
    b = render_share_card(share_card_data(lines, qr))
    assert a == b


def test_creation_date_comes_from_the_data() -> None:
    data = acknowledgement_data()
    later = replace(data, issued_at=data.issued_at + timedelta(days=1))
    first, second = render_acknowledgement(data), render_acknowledgement(later)
    assert first != second
    info = PdfReader(io.BytesIO(first)).metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20261123140500+00'00'"
    assert info["/Author"] == "Example Payments Ltd"
    assert info["/Title"] == "Key Custodian Acknowledgement"


def test_paper_from_organisation_and_bad_paper() -> None:
    assert _page_sizes(render_acknowledgement(acknowledgement_data())) == [PAPER_POINTS[Paper.A4]]
    with pytest.raises(DocumentError, match="A4 or Letter"):
        render_acknowledgement(acknowledgement_data(), paper="A5")


@needs_pdftoppm
def test_share_card_binary_qr_payload_round_trips(tmp_path: Path) -> None:
    # Raw Vault-format share bytes (DESIGN §2) are not QR-alphanumeric: byte mode must carry them exactly.
    import os

    lines, _ = share_lines_and_qr()
    payload = SecretBytes(os.urandom(33) + b"\x00\xff")
    card = render_share_card(share_card_data(lines, payload))
    assert decode_qr_codes(card.view(), tmp_path) == [bytes(payload.view())]


def test_share_card_data_repr_hides_the_share() -> None:
    lines, qr = share_lines_and_qr()
    data = share_card_data(lines, qr)
    shown = repr(data) + str(data)
    assert "TE-880231" in shown
    groups = bytes(lines.view()).decode().split()
    for a, b in itertools.pairwise(groups):  # 8 characters: no chance match, unlike one 4-character group
        assert a + b not in shown and f"{a} {b}" not in shown


def test_minutes_past_midnight_show_dates() -> None:
    data = minutes_data(steps=3)
    late = replace(data.steps[-1], at=data.started_at + timedelta(hours=14))  # 02:05 UTC the next day
    text = _flat(pdf_text(render_minutes(replace(data, steps=(*data.steps[:-1], late)))))
    assert "2026-11-23 12:12:00" in text and "2026-11-24 02:05:00" in text  # step 2, step 3
    same_day = _flat(pdf_text(render_minutes(data)))
    assert "12:12:00" in same_day and "2026-11-23 12:12:00" not in same_day  # same day: times only
