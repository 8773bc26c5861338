"""The ledger anchor page (DESIGN §5), issued when the ledger is founded, read back from the real PDF: its
text, its QR code, its signature and its ledger record; and the anchor on every form with a checkpoint."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pytest
from flow_support import FAST_KDF, ORGANISATION, passphrase_of

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.documents.render import render_anchor
from ceremony.documents.sign import async_validate_document, validate_document
from ceremony.errors import EventFormError, FlowError, LedgerIntegrityError
from ceremony.flows import paperwork
from ceremony.flows.enrolment import Founded, found_ledger
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.reaffirmation import Reaffirmation
from ceremony.ledger import participants as people
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.schema import DocumentIssued
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def decode_qr_codes(pdf: bytes, work: Path) -> list[bytes]:
    """Rasterise page 1 at 150 dpi (pdftoppm) and read every QR code on it (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    (work / "page.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            work / "page.pdf",
            work / "page",
        ],
        check=True,
    )
    image = Image.open(work / "page.png")
    return [r.bytes for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def _found(tmp_path, *, rehearsal: bool = False, name: str = "l") -> tuple[Ledger, Founded]:
    ledger = Ledger.open(tmp_path / f"{name}.sqlite3", create=True, rehearsal=rehearsal)
    founded = found_ledger(
        ledger,
        organisation=ORGANISATION,
        name="Sophie Marchetti",
        employee_id="E0002",
        passphrase=passphrase_of("sophie"),
        kdf=FAST_KDF,
    )
    return ledger, founded


@pytest.fixture
def founded(tmp_path):
    ledger, made = _found(tmp_path)
    yield ledger, made
    made.identity.lock()
    ledger.close()


def _anchor_block(text: str) -> str:
    """The anchor's three printed lines, as a person copies them from the page."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CEREMONY-ANCHOR V1"))
    return "\n".join(lines[start : start + 3])


def test_anchor_page_is_signed_recorded_and_written(founded, tmp_path) -> None:
    ledger, made = founded
    anchor = people.anchor(ledger)
    assert anchor == made.anchor
    doc, path = paperwork.issue_anchor(ledger, made)

    # Written once, where the other signed papers go, under its own name.
    assert path == tmp_path / "ceremony-documents" / f"ledger-anchor-{anchor.ledger_id}.pdf"
    assert path.read_bytes() == doc.pdf

    # What the page says.
    text = pdf_text(doc.pdf)
    for line in anchor.grouped():
        assert line in text, line
    assert ORGANISATION in text and "Sophie Marchetti" in text and "E0002" in text
    assert "PRODUCTION" in text and "REHEARSAL" not in text
    assert "ceremony verify --anchor" in text and "root.pem" in text
    assert Anchor.parse(_anchor_block(text)) == anchor

    # The QR code, read from the rendered page, is the one-line anchor.
    assert decode_qr_codes(doc.pdf, tmp_path) == [anchor.text().encode("ascii")]

    # Signed by the founder, in the security officer's field.
    (status,) = validate_document(doc.pdf, [made.identity.certificate])
    assert status.ok and status.field_name == "SecurityOfficer" and status.signer == "Sophie Marchetti"

    # Recorded: no ceremony, the founder's signature alone.
    event = list(ledger.events())[-1]
    assert event.seq == doc.record.event_seq == 2
    assert event.type == "document.issued"
    assert event.payload == {
        "kind": "anchor",
        "sha256": hashlib.sha256(doc.pdf).hexdigest(),
        "subject": f"ledger anchor of {anchor.ledger_id}",
        "file_name": f"ledger-anchor-{anchor.ledger_id}.pdf",
        "signed_by": [made.founder.person_id],
    }
    assert list(event.attested_by) == [made.founder.person_id]

    # The ledger verifies against the printed anchor, and not against another ledger's.
    result = verify_ledger(ledger.path, anchor=anchor.text())
    assert result.anchor_checked and result.events == 2
    assert verify_ledger(ledger.path, anchor=_anchor_block(text)).anchor_checked
    other, other_founded = _found(tmp_path, name="other")
    try:
        with pytest.raises(LedgerIntegrityError, match="anchor differs"):
            verify_ledger(ledger.path, anchor=other_founded.anchor.text())
    finally:
        other_founded.identity.lock()
        other.close()


def test_rehearsal_anchor_page_says_rehearsal(tmp_path) -> None:
    ledger, made = _found(tmp_path, rehearsal=True)
    try:
        doc, _ = paperwork.issue_anchor(ledger, made)
    finally:
        made.identity.lock()
    text = pdf_text(doc.pdf)
    assert "REHEARSAL — TEST KEYS ONLY" in text and "NOT A PRODUCTION LEDGER" in text
    assert "PRODUCTION LEDGER ANCHOR" not in text
    assert Anchor.parse(_anchor_block(text)) == people.anchor(ledger)
    ledger.close()


def test_anchor_page_is_deterministic_and_never_overwritten(founded) -> None:
    ledger, made = founded
    data = paperwork.anchor_data(ledger)
    assert render_anchor(data) == render_anchor(data)  # same inputs, same bytes
    assert data.root_cert_sha256 == data.lines[2].removeprefix("root").strip()
    first, first_path = paperwork.issue_anchor(ledger, made)
    second, second_path = paperwork.issue_anchor(ledger, made)
    assert second_path == first_path.with_name(first_path.stem + "-2.pdf")
    assert first_path.read_bytes() == first.pdf and second_path.read_bytes() == second.pdf


def test_only_the_founder_issues_the_anchor(founded, tmp_path) -> None:
    ledger, _ = founded
    other, other_founded = _found(tmp_path, name="other")
    try:
        with pytest.raises(FlowError, match="signed by its founder"):
            paperwork.issue_anchor(ledger, other_founded, folder=tmp_path / "papers")
    finally:
        other_founded.identity.lock()
        other.close()
    assert not (tmp_path / "papers").exists() and ledger.size() == 1


def test_anchor_record_names_exactly_one_signer() -> None:
    payload = {"kind": "anchor", "sha256": "0" * 64, "subject": "ledger anchor of X", "signed_by": ["A1"]}
    rule = DocumentIssued.from_payload(payload).rule()
    assert rule.min_signers == 1 and rule.slots[0].roles == {"security_officer"}
    assert rule.slots[0].person_field == "signed_by[0]"
    for signed_by in ([], ["A1", "B2"]):
        with pytest.raises(EventFormError, match="exactly one person"):
            DocumentIssued.from_payload({**payload, "signed_by": signed_by})
    # Every other document still needs two different people.
    assert DocumentIssued.from_payload({**payload, "kind": "minutes"}).rule().min_signers == 2


async def test_async_issue_anchor_inside_an_event_loop(founded) -> None:
    ledger, made = founded
    doc, path = await paperwork.async_issue_anchor(ledger, made)
    assert path.read_bytes() == doc.pdf and doc.record.kind == "anchor"
    (status,) = await async_validate_document(doc.pdf, [made.identity.certificate])
    assert status.ok


# --- the anchor on the other forms --------------------------------------------------------------------------
def _generation(cast) -> tuple[GenerationCeremony, dict]:
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "anchor test")
    ceremony.record_preflight({}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, "ZMK-ANCHOR", "PIN zone master key", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    ceremony.generate()
    present = {}
    for number, name in enumerate(("cust1", "cust2"), start=1):
        me = present[number] = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"ENV-A-{number}", "card")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    return ceremony, present


def _carries_the_anchor(pdf: bytes, anchor: Anchor) -> None:
    text = pdf_text(pdf)
    assert anchor.ledger_id in text
    genesis, root = anchor.grouped()[1:]
    assert genesis in text and root in text  # grouped, each on one line
    assert Anchor.parse(_anchor_block(text)) == anchor


def test_acknowledgement_minutes_and_reaffirmation_carry_the_anchor(cast) -> None:
    anchor = people.anchor(cast.ledger)
    ceremony, present = _generation(cast)
    ack = paperwork.issue_acknowledgement(cast.ledger, ceremony, 1, present[1])
    _carries_the_anchor(ack.pdf, anchor)
    assert paperwork.acknowledgement_data(cast.ledger, ceremony, 2).ledger.anchor == tuple(anchor.grouped())
    ceremony.close()
    minutes = paperwork.issue_minutes(cast.ledger, ceremony)
    _carries_the_anchor(minutes.pdf, anchor)
    flow = Reaffirmation(cast.ledger)
    record = flow.record(
        cast.present("cust1", "custodian"), cast.present("sophie", "security_officer"), flow.wording()
    )
    _carries_the_anchor(record.pdf, anchor)
    assert verify_ledger(cast.ledger.path, anchor=anchor.text()).anchor_checked
