"""Sample documents, signing identities and PDF read-back helpers for the documents tests.

The identities are real P-256 keys with self-signed certificates, made the way enrollment makes them
(CN = the person's name; keyUsage digitalSignature + nonRepudiation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ceremony.crypto.ids import ALPHABET
from ceremony.crypto.secret import SecretBytes
from ceremony.documents.model import (
    AcknowledgementData,
    EnvelopeRecord,
    HeldComponent,
    KcvRecord,
    LedgerReference,
    MinutesData,
    MinutesStep,
    Participant,
    Person,
    PreflightException,
    ReaffirmationData,
    ShareCardData,
)

ISSUED = datetime(2026, 11, 23, 14, 5, 0, tzinfo=UTC)

ALICE = Person("Alice Okafor", "E10234", "Key custodian")
BOB = Person("Bob Lindqvist", "E10567", "Key custodian")
CAROL = Person("Carol Mendes", "E20011", "Ceremony administrator")
DAN = Person("Dan Whitfield", "E20042", "Witness")
ERIN = Person("Erin Novak", "E30007", "Security officer")
CUSTODIANS = ("Alice Okafor", "Bob Lindqvist", "Farah Idris", "Gus Tanaka", "Hana Berg")

LEDGER = LedgerReference(
    event_id="E-000042",
    checkpoint_text="ceremony-checkpoint v1 size=42 "
    "head=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 "
    "root=60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
    qr_payload="CKPT1:42:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08:"
    "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752",
)


@dataclass
class Identity:
    person: Person
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def make_identity(person: Person, *, ca_profile: bool = False) -> Identity:
    """``ca_profile``: also basicConstraints CA:TRUE + keyCertSign, the only self-signed profile poppler's
    pdfsig (NSS) reports as "Certificate is Trusted" when the certificate is in its database."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, person.name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca_profile,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if ca_profile:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    return Identity(person, key, builder.sign(key, hashes.SHA256()))


def acknowledgement_data() -> AcknowledgementData:
    return AcknowledgementData(
        ceremony_id="C7QK3M0D4X",
        custodian=ALICE,
        key_label="PIN-KEK-2026",
        key_id="K4W9ZT2B8N",
        key_type="AES-256",
        kcv="D77F007724",
        kcv_method="AES-CMAC, X9.24-1:2017",
        split_id="S8HD3J5RVA",
        scheme="Shamir 3-of-5",
        share_number=2,
        share_count=5,
        issued_at=ISSUED,
        ledger=LEDGER,
        witness=DAN,
        envelope_serial="TE-880231",
        issued_event_id="E-000041",
    )


def reaffirmation_data(count: int = 3) -> ReaffirmationData:
    holdings = tuple(
        HeldComponent(
            key_label=f"PIN-KEK-{2024 + i}",
            key_id=f"K4W9ZT2B{i}N",
            key_type="AES-256" if i % 2 == 0 else "TDES (triple length)",
            split_id=f"S8HD3J5R{i}A",
            share_number=1 + i % 5,
            share_count=5,
            kcv="D77F00772" + str(i) if i % 2 == 0 else f"A1B2C{i}",
            kcv_method="AES-CMAC" if i % 2 == 0 else "TDES-ECB",
            envelope_serial=f"TE-{880100 + i}",
        )
        for i in range(count)
    )
    return ReaffirmationData(
        custodian=ALICE,
        security_officer=ERIN,
        period="2026",
        holdings=holdings,
        issued_at=ISSUED,
        ledger=LEDGER,
        next_due="2027-11-23",
    )


def share_lines_and_qr() -> tuple[SecretBytes, SecretBytes]:
    """A share in a typed form like the codec's: 6 lines of 4 groups of 4 characters, and its QR payload."""
    lines = bytearray()
    qr = bytearray(b"CSH1")
    for _ in range(6):
        for g in range(4):
            group = bytearray(ALPHABET.encode()[secrets.randbelow(32)] for _ in range(4))
            lines += group
            qr += group
            if g < 3:
                lines += b" "
        lines += b"\n"
    return SecretBytes.adopt(lines), SecretBytes.adopt(qr)


def share_card_data(lines: SecretBytes, qr: SecretBytes) -> ShareCardData:
    return ShareCardData(
        ceremony_id="C7QK3M0D4X",
        custodian=ALICE,
        key_label="PIN-KEK-2026",
        key_id="K4W9ZT2B8N",
        key_type="AES-256",
        split_id="S8HD3J5RVA",
        scheme="Shamir 3-of-5",
        share_number=2,
        share_count=5,
        kcv="D77F007724",
        kcv_method="AES-CMAC",
        envelope_serial="TE-880231",
        issued_at=ISSUED,
        share_lines=lines,
        qr_payload=qr,
    )


def minutes_data(steps: int = 14) -> MinutesData:
    start = ISSUED - timedelta(hours=2)
    people = [ALICE, BOB, CAROL, DAN, ERIN]
    # Envelopes go to the five custodians of the split; only two of them attended this sample ceremony.
    return MinutesData(
        ceremony_id="C7QK3M0D4X",
        title="Generation of PIN-KEK-2026",
        purpose="Generate the 2026 PIN key-encrypting key and split it 3-of-5 among the custodians.",
        location="Room 4.12 (secure room), London",
        started_at=start,
        ended_at=ISSUED,
        participants=tuple(
            Participant(
                p,
                signature_field={"Carol Mendes": "Administrator", "Dan Whitfield": "Witness"}.get(p.name, ""),
            )
            for p in people
        ),
        preflight_result="passed with one exception",
        preflight_findings=("Bluetooth adapter present (hci0), powered off",),
        exceptions=(
            PreflightException(
                exception_id="X-2026-07",
                finding="Bluetooth adapter present (hci0)",
                justification="The adapter is soldered to the board and cannot be removed.",
                compensating_controls="rfkill block at boot; preflight confirms it stays blocked.",
                approved_by="Erin Novak",
                expires="2027-05-31",
            ),
        ),
        steps=tuple(
            MinutesStep(
                at=start + timedelta(minutes=7 * i),
                description=(
                    f"Step {i + 1}: share {i % 5 + 1} of 5 shown privately to its custodian, confirmed "
                    "and receipt signed"
                    if i % 3
                    else f"Step {i + 1}: key check value read aloud and compared with the screen"
                ),
                performed_by="Carol Mendes",
                approved_by="Dan Whitfield",
                event_id=f"E-{30 + i:06d}",
            )
            for i in range(steps)
        ),
        kcvs=(
            KcvRecord("key PIN-KEK-2026", "D77F007724", "AES-CMAC (X9.24-1:2017)"),
            KcvRecord("reconstruction check (shares 1, 3, 5)", "D77F007724", "AES-CMAC (X9.24-1:2017)"),
        ),
        envelopes=tuple(
            EnvelopeRecord(
                f"TE-88023{i}", name, f"share {i + 1} of 5, split S8HD3J5RVA", "sealed, handed over"
            )
            for i, name in enumerate(CUSTODIANS)
        ),
        outcome="Completed: key generated, split 3-of-5, verified and wiped",
        closing=LEDGER,
    )


# --- reading rendered PDFs back ----------------------------------------------------------------------------
def pdf_text(pdf: bytes | bytearray) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(bytes(pdf))).pages)


def decode_qr_codes(pdf: bytes | bytearray, tmp_dir, page: int = 1) -> list[bytes]:
    """Rasterise one page at 150 dpi with pdftoppm and decode every QR code on it with zxing-cpp."""
    import subprocess

    import zxingcpp
    from PIL import Image

    src = tmp_dir / "page.pdf"
    src.write_bytes(bytes(pdf))
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(src),
            str(tmp_dir / "page"),
        ],
        check=True,
    )
    image = Image.open(tmp_dir / "page.png")
    return [r.bytes for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def pdfsig(pdf: bytes, tmp_dir) -> list[dict[str, str]]:
    """Run poppler's pdfsig and parse its report: one dict per signature ("Signature Validation", ...)."""
    import subprocess

    path = tmp_dir / "signed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    sigs: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("Signature #"):
            sigs.append({})
        elif line.strip().startswith("- ") and sigs:
            key, _, value = line.strip()[2:].partition(":")
            sigs[-1][key.strip()] = value.strip() if value else key.strip()
            if not value:
                sigs[-1]["coverage"] = key.strip()
    return sigs
