"""Signers' certificates chain to the ledger's root (DESIGN §1): pdfsig with the root in its NSS database
and pyHanko with the root as trust root both report the signer as trusted; each certificate is embedded
once per signature."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen import canvas

from ceremony.crypto.identity import new_signing_key
from ceremony.crypto.ledger_root import RootAuthority, create_root
from ceremony.documents.render import render_acknowledgement
from ceremony.documents.sign import sign_document, validate_document

from .samples import ALICE, Identity, acknowledgement_data, make_identity

needs_nss_tools = pytest.mark.skipif(
    shutil.which("pdfsig") is None or shutil.which("certutil") is None,
    reason="poppler-utils (pdfsig) and libnss3-tools (certutil) are needed",
)

NOW = datetime.now(UTC)  # pdfsig checks validity against the real clock


@pytest.fixture(scope="module")
def root() -> RootAuthority:
    return create_root("Example Payments Ltd", "7QK3M0D4XA", rehearsal=False, now=NOW)


@pytest.fixture(scope="module")
def alice(root: RootAuthority) -> Identity:
    key = new_signing_key()
    return Identity(ALICE, key, root.issue(key.public_key(), ALICE.name, ALICE.employee_id, now=NOW))


def _small_pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "I received share 2 of 5 of PIN-KEK-2026.")
    page.save()
    return out.getvalue()


def _sign(pdf: bytes, who: Identity, chain: Sequence[x509.Certificate] = ()) -> bytes:
    return sign_document(pdf, who.key, who.cert, field_name="Custodian", reason="acknowledged", chain=chain)


def _embedded_certificates(pdf: bytes) -> list[bytes]:
    """DER of every certificate in the (only) signature's CMS SignedData ``certificates`` set."""
    [sig] = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    signed_data: cms.SignedData = sig.signed_data
    return [choice.chosen.dump() for choice in signed_data["certificates"]]


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


# --- each certificate once ---------------------------------------------------------------------------------
def test_signer_certificate_embedded_once(alice: Identity) -> None:
    certs = _embedded_certificates(_sign(_small_pdf(), alice))
    assert certs.count(_der(alice.cert)) == 1
    assert len(certs) == 1


def test_self_signed_signer_embedded_once_too() -> None:
    """The old profile (self-signed enrolled certificate) was embedded twice before."""
    erin = make_identity(ALICE)
    certs = _embedded_certificates(_sign(_small_pdf(), erin))
    assert certs == [_der(erin.cert)]


def test_chain_embeds_the_root_once(root: RootAuthority, alice: Identity) -> None:
    pdf = _sign(_small_pdf(), alice, chain=[root.certificate, alice.cert, root.certificate])
    certs = _embedded_certificates(pdf)
    assert certs.count(_der(alice.cert)) == 1
    assert certs.count(_der(root.certificate)) == 1
    assert len(certs) == 2


def test_acknowledgement_form_embeds_the_signer_once(alice: Identity) -> None:
    certs = _embedded_certificates(_sign(render_acknowledgement(acknowledgement_data()), alice))
    assert certs == [_der(alice.cert)]


# --- pyHanko: the root as trust root -----------------------------------------------------------------------
def test_root_as_trust_root_makes_the_signer_trusted(root: RootAuthority, alice: Identity) -> None:
    pdf = _sign(render_acknowledgement(acknowledgement_data()), alice)
    [status] = validate_document(pdf, [root.certificate])
    assert status.ok and status.trusted and status.valid and status.intact and status.whole_document
    assert status.signer == ALICE.name
    assert status.signer_cert_sha256 == hashlib.sha256(_der(alice.cert)).hexdigest()
    # The old way still works: the enrolled certificate itself as trust root.
    [status] = validate_document(pdf, [alice.cert])
    assert status.ok


def test_another_root_does_not_make_it_trusted(root: RootAuthority, alice: Identity) -> None:
    other = create_root("Example Payments Ltd", "ZZZZZZZZZZ", rehearsal=False, now=NOW)
    # Same organisation and even the same ledger id: another key, so still not trusted.
    impostor = create_root("Example Payments Ltd", "7QK3M0D4XA", rehearsal=False, now=NOW)
    for pdf in (_sign(_small_pdf(), alice), _sign(_small_pdf(), alice, chain=[root.certificate])):
        for trust in (other.certificate, impostor.certificate):
            [status] = validate_document(pdf, [trust])
            assert status.valid and status.intact
            assert not status.trusted and not status.ok
            assert "not an enrolled one" in status.summary


def test_root_signed_signer_trusted_alongside_an_old_enrolled_certificate(
    root: RootAuthority, alice: Identity
) -> None:
    """A ledger may hold both: older self-signed enrolled certificates and the root."""
    dan = make_identity(ALICE)
    both = [dan.cert, root.certificate]
    [status] = validate_document(_sign(_small_pdf(), alice), both)
    assert status.ok
    [status] = validate_document(_sign(_small_pdf(), dan), both)
    assert status.ok


# --- poppler's pdfsig with an NSS database -----------------------------------------------------------------
# NSS trust flags are "SSL,email,object signing"; pdfsig verifies a signer for the email/S-MIME usage
# (certificateUsageEmailSigner), so the root must be a trusted CA in the middle field: ",C,". With "C,,"
# (a CA for TLS only) pdfsig reports "Certificate issuer isn't Trusted." (checked below).
DOCUMENT_SIGNING_CA = ",C,"


def _nss_db(tmp_path: Path, root: x509.Certificate | None, trust: str = DOCUMENT_SIGNING_CA) -> Path:
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    if root is not None:
        pem = tmp_path / "root.pem"
        pem.write_bytes(root.public_bytes(Encoding.PEM))
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{db}", "-n", "root", "-t", trust, "-i", str(pem)], check=True
        )
    return db


def _pdfsig(pdf: bytes, db: Path, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", str(path)], capture_output=True, text=True, check=False
    ).stdout


@needs_nss_tools
def test_pdfsig_trusts_a_signer_issued_by_the_root_in_its_database(
    root: RootAuthority, alice: Identity, tmp_path: Path
) -> None:
    out = _pdfsig(_sign(_small_pdf(), alice), _nss_db(tmp_path, root.certificate), tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert f"Signer Certificate Common Name: {ALICE.name}" in out


@needs_nss_tools
def test_pdfsig_trusts_a_signed_form_too(root: RootAuthority, alice: Identity, tmp_path: Path) -> None:
    pdf = _sign(render_acknowledgement(acknowledgement_data()), alice, chain=[root.certificate])
    out = _pdfsig(pdf, _nss_db(tmp_path, root.certificate), tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out


@needs_nss_tools
@pytest.mark.parametrize("embed_root", [False, True])
def test_pdfsig_without_the_root_is_not_trusted(
    root: RootAuthority, alice: Identity, tmp_path: Path, embed_root: bool
) -> None:
    """Without the root in the database the signer is not trusted, even with the root embedded in the
    signature: trust comes from the validator's database, never from the file."""
    chain = [root.certificate] if embed_root else []
    out = _pdfsig(_sign(_small_pdf(), alice, chain=chain), _nss_db(tmp_path, None), tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    expected = "Certificate issuer isn't Trusted." if embed_root else "Certificate issuer is unknown."
    assert f"Certificate Validation: {expected}" in out
    assert "Certificate is Trusted" not in out


@needs_nss_tools
def test_pdfsig_needs_the_root_trusted_for_email_signing(
    root: RootAuthority, alice: Identity, tmp_path: Path
) -> None:
    out = _pdfsig(_sign(_small_pdf(), alice), _nss_db(tmp_path, root.certificate, "C,,"), tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate issuer isn't Trusted." in out


@needs_nss_tools
def test_pdfsig_with_another_root_is_not_trusted(alice: Identity, tmp_path: Path) -> None:
    other = create_root("Example Payments Ltd", "7QK3M0D4XA", rehearsal=False, now=NOW)  # same name
    out = _pdfsig(_sign(_small_pdf(), alice), _nss_db(tmp_path, other.certificate), tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate is Trusted" not in out


def test_signing_key_is_p256(alice: Identity) -> None:
    assert isinstance(alice.key, ec.EllipticCurvePrivateKey)
    assert isinstance(alice.key.curve, ec.SECP256R1)
