"""Participant identities (issue 3 item 1): P-256 key, self-signed certificate, passphrase-sealed key."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from ceremony.crypto.identity import (
    DEFAULT_KDF,
    ScryptParams,
    UnlockedIdentity,
    certificate_fingerprint,
    certificate_holder,
    check_attestation,
    derive_key,
    enroll_identity,
    unlock,
    verify_attestation,
)
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import (
    IdentityError,
    IdentityKeyFormatError,
    IdentityMismatchError,
    SignatureError,
    WrongPassphraseError,
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
NAME = "Zoë Müller"  # NFC, as the caller must pass it
EMPLOYEE = "E-1042"


def passphrase(text: str = "correct horse battery staple") -> SecretBytes:
    return SecretBytes(bytearray(text.encode("utf-8")))


@pytest.fixture(scope="module")
def enrolled() -> tuple[x509.Certificate, bytes]:
    return enroll_identity(NAME, EMPLOYEE, passphrase(), now=NOW)


@pytest.fixture(scope="module")
def unlocked(enrolled: tuple[x509.Certificate, bytes]) -> UnlockedIdentity:
    cert, blob = enrolled
    return unlock(blob, cert, passphrase())


# --- known answers -----------------------------------------------------------------------------------------
# RFC 6979 Appendix A.2.5 (ECDSA, 256 bits, prime field = NIST P-256): key pair and the SHA-256 signatures.
RFC6979_X = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_UX = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
RFC6979_UY = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299
RFC6979_SHA256 = {
    b"sample": (
        0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
        0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
    ),
    b"test": (
        0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
        0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083,
    ),
}


@pytest.fixture(scope="module")
def rfc6979_certificate() -> x509.Certificate:
    """A certificate holding the RFC 6979 public key (signed by a throwaway key; only the key counts)."""
    public = ec.EllipticCurvePublicNumbers(RFC6979_UX, RFC6979_UY, ec.SECP256R1()).public_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "RFC 6979"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "A.2.5"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )


def test_rfc6979_key_pair_is_consistent() -> None:
    public = ec.derive_private_key(RFC6979_X, ec.SECP256R1()).public_key().public_numbers()
    assert (public.x, public.y) == (RFC6979_UX, RFC6979_UY)


@pytest.mark.parametrize("message", sorted(RFC6979_SHA256))
def test_rfc6979_signatures_verify(rfc6979_certificate: x509.Certificate, message: bytes) -> None:
    r, s = RFC6979_SHA256[message]
    signature = encode_dss_signature(r, s)
    assert verify_attestation(rfc6979_certificate, signature, message)
    check_attestation(rfc6979_certificate, signature, message)
    other = b"test" if message == b"sample" else b"sample"
    assert not verify_attestation(rfc6979_certificate, signature, other)
    assert not verify_attestation(rfc6979_certificate, encode_dss_signature(r, s ^ 1), message)


# RFC 7914 §12 scrypt test vectors 2 and 3 (vector 1 has N = 16, below our floor; vector 4 needs 1 GiB).
RFC7914 = [
    (
        b"password",
        b"NaCl",
        ScryptParams(log2_n=10, r=8, p=16, length=64),
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622e"
        "af30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    ),
    (
        b"pleaseletmein",
        b"SodiumChloride",
        ScryptParams(log2_n=14, r=8, p=1, length=64),
        "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5"
        "432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887",
    ),
]


@pytest.mark.parametrize(("password", "salt", "params", "expected"), RFC7914)
def test_scrypt_known_answer_through_our_derivation(
    password: bytes, salt: bytes, params: ScryptParams, expected: str
) -> None:
    with derive_key(SecretBytes(password), salt, params) as key:
        assert key.view().hex() == expected


def test_default_kdf_is_what_the_docs_state() -> None:
    assert (DEFAULT_KDF.log2_n, DEFAULT_KDF.r, DEFAULT_KDF.p, DEFAULT_KDF.length) == (17, 12, 1, 32)
    assert DEFAULT_KDF.memory_bytes == 192 * 2**20


# --- the certificate ---------------------------------------------------------------------------------------
def test_certificate_names_the_person_and_fits_pdf_signing(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cert, _ = enrolled
    assert certificate_holder(cert) == (NAME, EMPLOYEE)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)  # self-signed, signature valid
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign and not usage.value.key_encipherment
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - NOW >= timedelta(days=3650)
    assert certificate_fingerprint(cert) == cert.fingerprint(hashes.SHA256())


def test_each_enrollment_is_a_new_key(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cheap = ScryptParams(log2_n=10, r=8)
    other, _ = enroll_identity(NAME, EMPLOYEE, passphrase(), now=NOW, kdf=cheap)
    assert other.public_key() != enrolled[0].public_key() and other.serial_number != enrolled[0].serial_number


@pytest.mark.parametrize(
    ("name", "employee_id"),
    [
        ("", "E1"),
        (" Ann", "E1"),
        ("A" * 65, "E1"),
        ("Ann", ""),
        ("Ann", "E_1"),
        ("Ann", "Ë1"),
        ("Ann", "1" * 65),
        ("Ann\nLee", "E1"),
    ],
)
def test_bad_names_are_refused(name: str, employee_id: str) -> None:
    with pytest.raises(IdentityError):
        enroll_identity(name, employee_id, passphrase(), now=NOW)


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(IdentityError, match="passphrase is needed"):
        enroll_identity(NAME, EMPLOYEE, SecretBytes(b""), now=NOW)


# --- the sealed key ----------------------------------------------------------------------------------------
def test_blob_is_self_describing_and_holds_no_clear_key(
    enrolled: tuple[x509.Certificate, bytes], unlocked: UnlockedIdentity
) -> None:
    cert, blob = enrolled
    doc = json.loads(blob)
    assert doc["format"] == "ceremony-identity-key" and doc["version"] == 1
    assert doc["kdf"] | {"salt": None} == {
        "name": "scrypt",
        "log2_n": 17,
        "r": 12,
        "p": 1,
        "length": 32,
        "salt": None,
    }
    assert (
        len(base64.b64decode(doc["kdf"]["salt"])) == 16
        and len(base64.b64decode(doc["cipher"]["nonce"])) == 12
    )
    assert doc["cipher"]["name"] == "AES-256-GCM"
    assert doc["certificate_sha256"] == certificate_fingerprint(cert).hex()
    der = unlocked.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    scalar = unlocked.private_key.private_numbers().private_value.to_bytes(32, "big")
    ciphertext = base64.b64decode(doc["ciphertext"])
    assert len(ciphertext) == len(der) + 16
    for form in (der, scalar, scalar.hex().encode(), base64.b64encode(scalar)):
        assert form not in blob and form not in ciphertext


def test_unlock_sign_verify_round_trip(
    enrolled: tuple[x509.Certificate, bytes], unlocked: UnlockedIdentity
) -> None:
    cert, _ = enrolled
    data = b"ledger event 42: custodian acknowledged share 2 of split 4H8N2C6R1T"
    signature = unlocked.sign(data)
    assert verify_attestation(cert, signature, data)
    check_attestation(cert, signature, data)
    # cryptography's own verifier agrees (independent of our wrapper)
    cert.public_key().verify(signature, data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
    flipped = bytearray(signature)
    flipped[len(flipped) // 2] ^= 0x01
    assert not verify_attestation(cert, bytes(flipped), data)
    assert not verify_attestation(cert, signature, data[:-1] + b"U")
    assert not verify_attestation(cert, b"not a signature", data)
    with pytest.raises(SignatureError, match="not Zoë Müller's"):
        check_attestation(cert, bytes(flipped), data)


def test_signature_of_another_person_is_rejected(unlocked: UnlockedIdentity) -> None:
    other, _ = enroll_identity("Ann Lee", "E-7", passphrase(), now=NOW, kdf=ScryptParams(log2_n=10, r=8))
    assert not verify_attestation(other, unlocked.sign(b"x"), b"x")


def test_wrong_passphrase(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cert, blob = enrolled
    with pytest.raises(WrongPassphraseError) as err:
        unlock(blob, cert, passphrase("correct horse battery stapler"))
    assert "stapl" not in str(err.value) and NAME in str(err.value)


def test_blob_of_another_certificate_is_named_as_such(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cert, _ = enrolled
    cheap = ScryptParams(log2_n=10, r=8)
    other_cert, other_blob = enroll_identity("Ann Lee", "E-7", passphrase(), now=NOW, kdf=cheap)
    with pytest.raises(IdentityMismatchError, match=r"Zoë Müller \(E-1042\)"):
        unlock(other_blob, cert, passphrase())
    assert unlock(other_blob, other_cert, passphrase()).name == "Ann Lee"


def test_tampered_ciphertext_does_not_unlock(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cert, blob = enrolled
    doc = json.loads(blob)
    ct = bytearray(base64.b64decode(doc["ciphertext"]))
    ct[10] ^= 0x80
    doc["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    with pytest.raises(WrongPassphraseError):
        unlock(json.dumps(doc).encode(), cert, passphrase())


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: "not json at all",
        lambda d: {**d, "version": 2},
        lambda d: {**d, "format": "something-else"},
        lambda d: {**d, "kdf": {**d["kdf"], "name": "pbkdf2"}},
        lambda d: {**d, "kdf": {**d["kdf"], "log2_n": 30}},  # would take hours: refused before any work
        lambda d: {**d, "kdf": {**d["kdf"], "r": "8"}},
        lambda d: {**d, "kdf": {**d["kdf"], "salt": "***"}},
        lambda d: {**d, "cipher": {**d["cipher"], "nonce": base64.b64encode(b"short").decode()}},
        lambda d: {**d, "certificate_sha256": "zz"},
        lambda d: {**d, "ciphertext": base64.b64encode(b"0123456789abcdef").decode()},
    ],
)
def test_damaged_blob_is_a_format_error(enrolled: tuple[x509.Certificate, bytes], edit) -> None:
    cert, blob = enrolled
    changed = edit(json.loads(blob))
    data = changed.encode() if isinstance(changed, str) else json.dumps(changed).encode()
    with pytest.raises(IdentityKeyFormatError):
        unlock(data, cert, passphrase())


def test_lock_drops_the_key(enrolled: tuple[x509.Certificate, bytes]) -> None:
    cert, blob = enrolled
    with unlock(blob, cert, passphrase()) as identity:
        assert not identity.locked
        assert "Zoë Müller" in repr(identity) and "unlocked" in repr(identity)
        scalar = identity.private_key.private_numbers().private_value
        assert f"{scalar:x}" not in repr(identity) and str(scalar) not in repr(identity)
    assert identity.locked
    with pytest.raises(IdentityError, match="locked"):
        identity.sign(b"x")
    with pytest.raises(IdentityError, match="locked"):
        _ = identity.private_key


# --- the certificate signs PDFs that validators accept ----------------------------------------------------
def _signed_pdf(unlocked: UnlockedIdentity) -> bytes:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from reportlab.pdfgen import canvas

    page = io.BytesIO()
    pdf = canvas.Canvas(page)
    pdf.drawString(72, 720, "Acknowledgement of key custodian responsibilities")
    pdf.save()
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(
            unlocked.certificate.public_bytes(serialization.Encoding.DER)
        ),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            unlocked.private_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        cert_registry=None,
    )
    meta = signers.PdfSignatureMetadata(field_name="Custodian")
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(page.getvalue())), meta, signer=signer)
    return out.getvalue()


def test_pyhanko_validates_a_pdf_signed_with_the_identity(unlocked: UnlockedIdentity) -> None:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    signed = _signed_pdf(unlocked)
    root = asn1_x509.Certificate.load(unlocked.certificate.public_bytes(serialization.Encoding.DER))
    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    # and a byte changed in the signed range breaks it
    tampered = signed.replace(b"ReportLab Generated", b"ReportLab Generatex")
    assert tampered != signed
    embedded = PdfFileReader(io.BytesIO(tampered)).embedded_signatures[0]
    assert not validate_pdf_signature(embedded, ValidationContext(trust_roots=[root])).intact


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_poppler_pdfsig_accepts_the_signature(unlocked: UnlockedIdentity, tmp_path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(_signed_pdf(unlocked))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
    assert "Signature Validation: Signature is Valid." in out.stdout, out.stdout + out.stderr
    assert "Signer Certificate Common Name: Zoë Müller" in out.stdout


def test_only_p256_certificates_verify_attestations(unlocked: UnlockedIdentity) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "P-384"), x509.NameAttribute(NameOID.SERIAL_NUMBER, "X")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(p384.public_key())
        .serial_number(2)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(p384, hashes.SHA256())
    )
    signature = p384.sign(b"x", ec.ECDSA(hashes.SHA256()))
    assert not verify_attestation(cert, signature, b"x")
    with pytest.raises(SignatureError, match="P-256"):
        check_attestation(cert, signature, b"x")
