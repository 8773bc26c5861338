"""PAdES signatures: valid in pyHanko and poppler's pdfsig, invalid once a byte changes, two signatures in
incremental revisions, the right trust decisions, and safe use from an event loop."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.documents.model import Person
from ceremony.documents.render import render_acknowledgement, render_minutes, render_reaffirmation
from ceremony.documents.sign import (
    async_sign_document,
    async_validate_document,
    sha256_of,
    sign_document,
    signature_place,
    validate_document,
)
from ceremony.errors import DocumentError, SignatureError

from .samples import Identity, acknowledgement_data, make_identity, minutes_data, pdfsig, reaffirmation_data

needs_pdfsig = pytest.mark.skipif(
    shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed"
)


def _sign(pdf: bytes, who: Identity, field: str) -> bytes:
    return sign_document(pdf, who.key, who.cert, field_name=field, reason=f"signed as {field}")


def _flip_byte_in_signed_range(pdf: bytes) -> bytes:
    """Change one character of the organisation name in the first revision's /Info (covered by every
    signature), keeping the file well formed."""
    at = pdf.index(b"Example Payments Ltd")
    return pdf[:at] + b"F" + pdf[at + 1 :]


@pytest.fixture(scope="module")
def signed_acknowledgement() -> tuple[bytes, Identity]:
    alice = make_identity(Person("Alice Okafor", "E10234", "Key custodian"))
    pdf = render_acknowledgement(acknowledgement_data())
    return _sign(pdf, alice, "Custodian"), alice


def test_acknowledgement_signature_valid_in_pyhanko(signed_acknowledgement: tuple[bytes, Identity]) -> None:
    pdf, alice = signed_acknowledgement
    [status] = validate_document(pdf, [alice.cert])
    assert status.ok and status.intact and status.valid and status.trusted and status.whole_document
    assert status.field_name == "Custodian"
    assert status.signer == "Alice Okafor"
    assert status.signer_cert_sha256 == hashlib.sha256(alice.cert.public_bytes(Encoding.DER)).hexdigest()
    assert status.summary == "Custodian: valid signature by Alice Okafor"


@needs_pdfsig
def test_acknowledgement_signature_valid_in_pdfsig(
    signed_acknowledgement: tuple[bytes, Identity], tmp_path: Path
) -> None:
    pdf, _ = signed_acknowledgement
    [sig] = pdfsig(pdf, tmp_path)
    assert sig["Signature Validation"] == "Signature is Valid."
    assert sig["Signer Certificate Common Name"] == "Alice Okafor"
    assert sig["Signature Type"] == "ETSI.CAdES.detached"  # PAdES
    assert sig["Signing Hash Algorithm"] == "SHA-256"
    assert sig["coverage"] == "Total document signed"


@needs_pdfsig
def test_changed_byte_is_invalid_in_both(
    signed_acknowledgement: tuple[bytes, Identity], tmp_path: Path
) -> None:
    pdf, alice = signed_acknowledgement
    tampered = _flip_byte_in_signed_range(pdf)
    assert tampered != pdf and len(tampered) == len(pdf)
    [status] = validate_document(tampered, [alice.cert])
    assert not status.ok and not status.intact
    assert "INVALID" in status.summary
    [sig] = pdfsig(tampered, tmp_path)
    assert sig["Signature Validation"] != "Signature is Valid."
    assert "Mismatch" in sig["Signature Validation"]


def test_untrusted_certificate_is_not_ok(signed_acknowledgement: tuple[bytes, Identity]) -> None:
    pdf, _ = signed_acknowledgement
    stranger = make_identity(Person("Alice Okafor", "E99999", "Impostor"))  # same name, other key
    [status] = validate_document(pdf, [stranger.cert])
    assert status.intact and status.valid
    assert not status.trusted and not status.ok
    assert "not an enrolled one" in status.summary


def test_unsigned_document_has_no_signatures() -> None:
    assert validate_document(render_acknowledgement(acknowledgement_data()), []) == []


def test_garbage_is_not_a_pdf() -> None:
    with pytest.raises(SignatureError, match="cannot be read as a PDF"):
        validate_document(b"%PDF-1.7\nnot really", [])


@needs_pdfsig
def test_reaffirmation_two_signatures_both_valid(identities: dict[str, Identity], tmp_path: Path) -> None:
    alice, erin = identities["Alice Okafor"], identities["Erin Novak"]
    pdf = render_reaffirmation(reaffirmation_data())
    once = _sign(pdf, alice, "Custodian")
    twice = _sign(once, erin, "SecurityOfficer")
    assert twice.startswith(once)  # incremental: the first revision is untouched
    statuses = validate_document(twice, [alice.cert, erin.cert])
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Custodian", "Alice Okafor", True),
        ("SecurityOfficer", "Erin Novak", True),
    ]
    sigs = pdfsig(twice, tmp_path)
    assert [s["Signature Validation"] for s in sigs] == ["Signature is Valid."] * 2
    assert [s["Signature Field Name"] for s in sigs] == ["Custodian", "SecurityOfficer"]
    # Tampering with the first revision breaks both.
    tampered = _flip_byte_in_signed_range(twice)
    assert not any(s.ok for s in validate_document(tampered, [alice.cert, erin.cert]))
    assert all(s["Signature Validation"] != "Signature is Valid." for s in pdfsig(tampered, tmp_path))


@needs_pdfsig
def test_minutes_signed_by_administrator_and_witness(identities: dict[str, Identity], tmp_path: Path) -> None:
    carol, dan = identities["Carol Mendes"], identities["Dan Whitfield"]
    pdf = _sign(_sign(render_minutes(minutes_data()), carol, "Administrator"), dan, "Witness")
    statuses = validate_document(pdf, [carol.cert, dan.cert])
    assert [(s.signer, s.ok) for s in statuses] == [("Carol Mendes", True), ("Dan Whitfield", True)]
    assert [s["Signature Validation"] for s in pdfsig(pdf, tmp_path)] == ["Signature is Valid."] * 2


def test_same_field_twice_refused(signed_acknowledgement: tuple[bytes, Identity]) -> None:
    pdf, alice = signed_acknowledgement
    with pytest.raises(DocumentError, match="already has a signature field named 'Custodian'"):
        _sign(pdf, alice, "Custodian")


def test_key_must_match_certificate(identities: dict[str, Identity]) -> None:
    alice, erin = identities["Alice Okafor"], identities["Erin Novak"]
    pdf = render_acknowledgement(acknowledgement_data())
    with pytest.raises(SignatureError, match="does not belong to the certificate of 'Alice Okafor'"):
        sign_document(pdf, erin.key, alice.cert, field_name="Custodian", reason="x")
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SignatureError, match="P-256"):
        sign_document(pdf, p384, alice.cert, field_name="Custodian", reason="x")


def test_sha256_of_matches_hashlib(signed_acknowledgement: tuple[bytes, Identity]) -> None:
    pdf, _ = signed_acknowledgement
    assert sha256_of(pdf) == hashlib.sha256(pdf).hexdigest()
    assert sha256_of(bytearray(pdf)) == sha256_of(memoryview(pdf))
    assert sha256_of(_flip_byte_in_signed_range(pdf)) != sha256_of(pdf)


async def test_inside_event_loop_use_the_async_variants(identities: dict[str, Identity]) -> None:
    # What a Textual screen does: it runs inside the app's event loop.
    alice = identities["Alice Okafor"]
    pdf = render_acknowledgement(acknowledgement_data())
    with pytest.raises(DocumentError, match="await async_sign_document"):
        sign_document(pdf, alice.key, alice.cert, field_name="Custodian", reason="x")
    signed = await async_sign_document(pdf, alice.key, alice.cert, field_name="Custodian", reason="x")
    [status] = await async_validate_document(signed, [alice.cert])
    assert status.ok
    # ...or the synchronous functions from a worker thread.
    again = await asyncio.to_thread(
        sign_document, pdf, alice.key, alice.cert, field_name="Custodian", reason="x"
    )
    [status] = await asyncio.to_thread(validate_document, again, [alice.cert])
    assert status.ok


@needs_pdfsig
@pytest.mark.skipif(shutil.which("certutil") is None, reason="libnss3-tools (certutil) not installed")
@pytest.mark.parametrize(("ca_profile", "expected"), [(True, "Certificate is Trusted."), (False, None)])
def test_pdfsig_trust_with_the_enrolled_certificate(
    tmp_path: Path, ca_profile: bool, expected: str | None
) -> None:
    """pdfsig checks trust against an NSS database: put the enrolled certificate in one. NSS trusts a
    self-signed signer only if its certificate is marked as a CA; with a plain end-entity profile the
    signature is still "Signature is Valid." but the issuer stays unknown (reported for the identity
    profile)."""
    import subprocess

    alice = make_identity(Person("Alice Okafor", "E10234", "Key custodian"), ca_profile=ca_profile)
    pdf = _sign(render_acknowledgement(acknowledgement_data()), alice, "Custodian")
    db = tmp_path / "nss"
    db.mkdir()
    (tmp_path / "alice.der").write_bytes(alice.cert.public_bytes(Encoding.DER))
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "alice",
            "-t",
            "CT,C,C",
            "-i",
            str(tmp_path / "alice.der"),
        ],
        check=True,
    )
    (tmp_path / "signed.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", str(tmp_path / "signed.pdf")], capture_output=True, text=True
    ).stdout
    assert "Signature Validation: Signature is Valid." in out
    if expected:
        assert f"Certificate Validation: {expected}" in out
    else:
        assert "Certificate is Trusted" not in out
    # pyHanko accepts both profiles with the enrolled certificate as trust root.
    [status] = validate_document(pdf, [alice.cert])
    assert status.ok


@needs_pdfsig
def test_changed_signature_value_is_invalid_in_both(
    signed_acknowledgement: tuple[bytes, Identity], tmp_path: Path
) -> None:
    """A byte changed inside the signature itself (the one part of the file the signature cannot cover)."""
    pdf, alice = signed_acknowledgement
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    # Inside the DER signature value, near the end of the CMS blob (before the zero padding).
    end = pdf.index(b">", start)
    blob = pdf[start:end].rstrip(b"0")
    at = start + len(blob) - 10
    flipped = b"0" if pdf[at : at + 1] != b"0" else b"1"
    tampered = pdf[:at] + flipped + pdf[at + 1 :]
    [status] = validate_document(tampered, [alice.cert])
    assert not status.ok and not status.valid
    [sig] = pdfsig(tampered, tmp_path)
    assert sig.get("Signature Validation") != "Signature is Valid."


@needs_pdfsig
def test_content_appended_after_signing_is_caught(
    signed_acknowledgement: tuple[bytes, Identity], tmp_path: Path
) -> None:
    """An incremental update that draws on the page after signing leaves the signed bytes intact: pyHanko's
    difference analysis must still refuse it; pdfsig only says the signature no longer covers the file."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    pdf, alice = signed_acknowledgement
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    overlay = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 40 Tf 100 400 Td (VOID) Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), overlay])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    modified = out.getvalue()
    assert modified.startswith(pdf)
    [status] = validate_document(modified, [alice.cert])
    assert status.intact and status.valid and status.trusted
    assert not status.whole_document and not status.ok
    assert "modified after it" in status.summary
    [sig] = pdfsig(modified, tmp_path)
    assert sig["coverage"] == "Not total document signed"


def _widget_rect(pdf: bytes, field: str) -> tuple[int, int, int, int]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    for ref in reader.root["/AcroForm"]["/Fields"]:
        widget = ref.get_object()
        if widget["/T"] == field:
            x0, y0, x1, y1 = (round(float(v)) for v in widget["/Rect"])
            return x0, y0, x1, y1
    raise AssertionError(f"no field {field}")


def test_visible_stamp_sits_in_its_signature_block(identities: dict[str, Identity]) -> None:
    alice, erin = identities["Alice Okafor"], identities["Erin Novak"]
    pdf = render_reaffirmation(reaffirmation_data())
    custodian, officer = signature_place(pdf, "Custodian"), signature_place(pdf, "SecurityOfficer")
    assert custodian is not None and officer is not None
    assert custodian[0] == officer[0] == 0
    (cx0, cy0, cx1, cy1), (ox0, oy0, ox1, oy1) = custodian[1], officer[1]
    assert (cy0, cy1) == (oy0, oy1) and cx1 < ox0 < ox1  # side by side, custodian on the left
    assert cx1 - cx0 > 100 and cy1 - cy0 > 20  # room for a readable stamp
    assert signature_place(pdf, "Witness") is None  # no such block on this form
    signed = _sign(_sign(pdf, alice, "Custodian"), erin, "SecurityOfficer")
    assert _widget_rect(signed, "Custodian") == custodian[1]
    assert _widget_rect(signed, "SecurityOfficer") == officer[1]
    # Invisible on request (or when the form has no place for the field).
    hidden = sign_document(pdf, alice.key, alice.cert, field_name="Custodian", reason="x", visible=False)
    assert _widget_rect(hidden, "Custodian") == (0, 0, 0, 0)
    elsewhere = sign_document(pdf, alice.key, alice.cert, field_name="Auditor", reason="x")
    assert _widget_rect(elsewhere, "Auditor") == (0, 0, 0, 0)
    assert all(s.ok for s in validate_document(elsewhere, [alice.cert]))


def test_minutes_stamps_go_to_the_participants_blocks() -> None:
    pdf = render_minutes(minutes_data())
    admin, witness = signature_place(pdf, "Administrator"), signature_place(pdf, "Witness")
    assert admin is not None and witness is not None
    assert admin[0] == witness[0]  # the signature section stays on one page
    assert admin[1][2] < witness[1][0]  # administrator left, witness right (same row)
