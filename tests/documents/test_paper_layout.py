"""Paper layout (issue 14, part 2.9), measured on the real PDFs: where the digital signature's stamp sits and
how large its text is, that the signatures never stand alone on a page after a half-empty one, that long names
are never cut in two, and what the acknowledgement cites. Positions come from poppler (``pdftotext -bbox``),
the stamp from the signed file's widget annotation and its appearance stream."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from ceremony.documents.model import Participant, Person
from ceremony.documents.render import render_acknowledgement, render_minutes, render_reaffirmation
from ceremony.documents.sign import sign_document, validate_document

from .samples import (
    Identity,
    acknowledgement_data,
    make_identity,
    minutes_data,
    pdf_text,
    reaffirmation_data,
)

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


# --- reading the PDF back ----------------------------------------------------------------------------------
class _Words(HTMLParser):
    """``pdftotext -bbox`` output: each page's height and its words with their boxes (top-down y)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[tuple[float, list[tuple[str, float, float, float, float]]]] = []
        self._word: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "page":
            self.pages.append((float(values["height"]), []))
        elif tag == "word":
            self._word = values

    def handle_data(self, data: str) -> None:
        if self._word is not None:
            w = self._word
            box = (float(w["xmin"]), float(w["ymin"]), float(w["xmax"]), float(w["ymax"]))
            self.pages[-1][1].append((data, *box))
            self._word = None


def _words(pdf: bytes, tmp_path: Path) -> list[tuple[float, list[tuple[str, float, float, float, float]]]]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True)
    parser = _Words()
    parser.feed(out.stdout)
    return parser.pages


def _widget(pdf: bytes, field: str) -> tuple[int, tuple[float, float, float, float], bytes]:
    """The signature field's page index, rectangle (PDF points, bottom-up) and appearance stream."""
    reader = PdfFileReader(io.BytesIO(pdf))
    pages = [p.idnum for p in (reader.root["/Pages"].get_object().raw_get("/Kids"))]
    for ref in reader.root["/AcroForm"]["/Fields"]:
        widget = ref.get_object()
        if widget["/T"] == field:
            x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
            page = pages.index(widget.raw_get("/P").idnum)
            return page, (x0, y0, x1, y1), widget["/AP"]["/N"].data
    raise AssertionError(f"no field {field}")


def _stamp_font_size(stream: bytes) -> float:
    """The stamp text's printed size: its font size times every scaling ``cm`` before it."""
    text = stream.decode("latin-1")
    scale = 1.0
    for a, d in re.findall(r"([-\d.]+) [-\d.]+ [-\d.]+ ([-\d.]+) [-\d.]+ [-\d.]+ cm", text.split("BT")[0]):
        scale *= min(float(a), float(d))
    (size,) = set(re.findall(r"/F\d+ ([\d.]+) Tf", text))
    return float(size) * scale


def _sign(pdf: bytes, who: Identity, field: str) -> bytes:
    return sign_document(pdf, who.key, who.cert, field_name=field, reason="test")


def _signature_lines(
    page: list[tuple[str, float, float, float, float]], height: float
) -> list[tuple[float, float]]:
    """(left x, y of the line in PDF points) of each block's signature line: just above its caption."""
    return [(x0, height - y0) for word, x0, y0, _, _ in page if word == "Signature"]


# --- (a) the stamp sits on its signer's signature line, readable -------------------------------------------
@needs_poppler
@pytest.mark.parametrize("document", ["acknowledgement", "reaffirmation", "minutes"])
def test_stamp_sits_on_the_signers_signature_line_in_readable_text(
    document: str, identities: dict[str, Identity], tmp_path: Path
) -> None:
    alice, carol, dan, erin = (
        identities[n] for n in ("Alice Okafor", "Carol Mendes", "Dan Whitfield", "Erin Novak")
    )
    if document == "acknowledgement":
        pdf = render_acknowledgement(acknowledgement_data())
        signers = [(alice, "Custodian", "Alice Okafor"), (dan, "Witness", "Dan Whitfield")]
    elif document == "reaffirmation":
        pdf = render_reaffirmation(reaffirmation_data())
        signers = [(alice, "Custodian", "Alice Okafor"), (erin, "SecurityOfficer", "Erin Novak")]
    else:
        pdf = render_minutes(minutes_data())
        signers = [(carol, "Administrator", "Carol Mendes"), (dan, "Witness", "Dan Whitfield")]
    for who, field, _ in signers:
        pdf = _sign(pdf, who, field)
    assert all(s.ok for s in validate_document(pdf, [who.cert for who, _, _ in signers]))
    pages = _words(pdf, tmp_path)
    for _, field, name in signers:
        index, (x0, y0, x1, y1), stream = _widget(pdf, field)
        height, words = pages[index]
        # Its block: the "Name: ..." line naming the signer, left of the stamp; its signature line: the
        # nearest "Signature" caption below that name, in the same block.
        names = [
            (w[1], height - w[2])
            for i, w in enumerate(words[:-1])
            if w[0] == "Name:" and name.split()[0] in words[i + 1][0] and w[1] < x0 + 15
        ]
        assert names, (field, "no block names the signer left of the stamp")
        name_x, name_top = max(names)
        lines = [
            (lx, ly) for lx, ly in _signature_lines(words, height) if ly < name_top and abs(lx - name_x) < 15
        ]
        line_x, line_y = max(lines, key=lambda p: p[1])
        # On the line (just above the caption "Signature"), from the line's left end, below the name.
        assert 0 < y0 - line_y < 12, (field, y0, line_y)
        assert abs(x0 - line_x) < 6 and x1 - x0 > 100, (field, x0, x1)
        assert y1 <= name_top and y1 - y0 > 30, (field, y1, name_top)
        # Readable: at least 8 pt on paper, and it says who signed.
        assert _stamp_font_size(stream) >= 8, (field, stream)
        assert b"Digitally signed by" in stream and name.split()[-1].encode() in stream


def test_a_long_signer_name_is_wrapped_at_spaces_in_the_stamp(tmp_path: Path) -> None:
    long = make_identity(Person("Maria Fernanda Albuquerque de Vasconcelos", "E777", "Key custodian"))
    data = replace(acknowledgement_data(), custodian=long.person)
    pdf = _sign(render_acknowledgement(data), long, "Custodian")
    _, (x0, _, x1, _), stream = _widget(pdf, "Custodian")
    shown = re.findall(rb"\((.*?)\) Tj", stream)
    assert shown[1:-1] == [b"Maria Fernanda", b"Albuquerque de", b"Vasconcelos"], shown  # at spaces only
    assert all(0.6 * 9 * len(line) <= x1 - x0 for line in shown[1:-1])
    assert _stamp_font_size(stream) >= 8  # the block left room for the extra lines


# --- (b) the signatures are kept with the last of what they sign -------------------------------------------
def _pages_text(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def _body_before(page: str, marker: str) -> str:
    """The page's text before ``marker``, without the header band (its first two lines)."""
    head, _, _ = page.partition(marker)
    return "\n".join(head.splitlines()[2:]).strip()


@pytest.mark.parametrize("steps", range(0, 41, 2))
def test_minutes_signatures_never_open_a_page(steps: int) -> None:
    pages = _pages_text(render_minutes(minutes_data(steps)))
    (where,) = [i for i, p in enumerate(pages) if "We, the participants present" in p]
    before = _body_before(pages[where], "Signatures\nWe, the participants present")
    # Something the participants sign (at least the closing checkpoint) shares the page with their blocks.
    assert "Ledger reference" in before or (where == 0 and before), (steps, where, before[:200])


@pytest.mark.parametrize("count", range(1, 25, 3))
def test_reaffirmation_signatures_never_open_a_page(count: int) -> None:
    pages = _pages_text(render_reaffirmation(reaffirmation_data(count)))
    (where,) = [i for i, p in enumerate(pages) if "Signatures" in p and "Security officer" in p]
    assert _body_before(pages[where], "Signatures"), (count, where)


# --- (c) long names wrap at spaces, never inside a word -----------------------------------------------------
LONG_SURNAME = "Featherstonehaugh-Cholmondeley-Worthingtonshire"  # one word, 47 characters


@needs_poppler
def test_long_names_are_never_cut_in_two(tmp_path: Path) -> None:
    long = Person(f"Bartholomew {LONG_SURNAME}", "E99999", "Key custodian")
    data = minutes_data()
    steps = tuple(replace(s, performed_by=long.name) for s in data.steps)
    envelopes = tuple(replace(e, custodian=long.name) for e in data.envelopes)
    participants = (Participant(long), *data.participants)
    pdf = render_minutes(replace(data, steps=steps, envelopes=envelopes, participants=participants))
    words = [w[0] for _, page in _words(pdf, tmp_path) for w in page]
    whole = sum(1 for w in words if LONG_SURNAME in w)
    pieces = [w for w in words if w != LONG_SURNAME and w in LONG_SURNAME and len(w) > 3]
    # Participants table, signature block, every step's "performed by", every envelope: all in one piece.
    assert whole == 2 + len(steps) + len(envelopes) and not pieces, pieces
    ack = render_acknowledgement(replace(acknowledgement_data(), custodian=long))
    ack_words = [w[0] for _, page in _words(ack, tmp_path) for w in page]
    assert sum(1 for w in ack_words if LONG_SURNAME in w) >= 3  # fields, signature block, header
    assert not [w for w in ack_words if w != LONG_SURNAME and w in LONG_SURNAME and len(w) > 3]


@needs_poppler
def test_a_long_name_in_the_header_does_not_run_into_the_organisation(tmp_path: Path) -> None:
    long = Person(f"Bartholomew Alexander {LONG_SURNAME} Junior", "E99999", "Key custodian")
    ack = render_acknowledgement(replace(acknowledgement_data(), custodian=long))
    _, page = _words(ack, tmp_path)[0]
    band = [w for w in page if w[2] < 20 * 72 / 25.4]  # the header band: top 20 mm
    org = max(w[3] for w in band if w[0] in ("Example", "Payments", "Ltd"))
    reference = min(w[1] for w in band if LONG_SURNAME in w[0] or w[0] == "Bartholomew")
    assert reference > org + 10


# --- (d) the acknowledgement: envelope, witness signature field, the issuing event in the footer ----------
def test_acknowledgement_names_the_envelope_and_the_event_that_issued_the_share() -> None:
    text = pdf_text(render_acknowledgement(acknowledgement_data()))
    flat = re.sub(r"\s+", " ", text)
    assert "envelope TE-880231" in flat
    footer = [line for line in text.splitlines() if line.startswith("Ceremony C7QK3M0D4X")]
    assert footer and all("issued in ledger event E-000041" in line for line in footer), footer
    assert all("E-000042" not in line for line in footer)  # the receipt: named in the ledger box instead
    assert "Ledger event: E-000042" in flat
    assert "None" not in flat


def test_the_witness_signs_the_acknowledgement_in_their_block(identities: dict[str, Identity]) -> None:
    alice, dan = identities["Alice Okafor"], identities["Dan Whitfield"]
    pdf = _sign(_sign(render_acknowledgement(acknowledgement_data()), alice, "Custodian"), dan, "Witness")
    statuses = validate_document(pdf, [alice.cert, dan.cert])
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Custodian", "Alice Okafor", True),
        ("Witness", "Dan Whitfield", True),
    ]
    _, custodian, _ = _widget(pdf, "Custodian")
    _, witness, _ = _widget(pdf, "Witness")
    assert custodian[1] == witness[1] and custodian[2] < witness[0]  # side by side, custodian left
