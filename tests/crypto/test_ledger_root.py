"""The ledger's root CA (DESIGN §1, §5): its profile, the certificates it issues, and its key sealed to each
security officer's identity key (ECIES over P-256)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from ceremony.crypto.identity import (
    CERTIFICATE_VALIDITY,
    ScryptParams,
    UnlockedIdentity,
    certificate_fingerprint,
    enroll_identity,
    new_signing_key,
    seal_identity,
    unlock,
)
from ceremony.crypto.ledger_root import (
    HKDF_INFO,
    ROOT_KEY_FORMAT,
    ROOT_VALIDITY,
    RootAuthority,
    _seal_root_key,
    _wrapping_key,
    check_issued_by,
    check_root,
    create_root,
    open_root,
)
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import IdentityError, IdentityKeyFormatError, IdentityMismatchError

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ORG = "Example Payments Ltd"
LEDGER = "7QK3M0D4XA"
FAST = ScryptParams(log2_n=10, r=8)  # unlock speed is not under test here


def passphrase(text: str = "correct horse battery staple") -> SecretBytes:
    return SecretBytes(bytearray(text.encode("utf-8")))


@pytest.fixture(scope="module")
def root() -> RootAuthority:
    return create_root(ORG, LEDGER, rehearsal=False, now=NOW)


@pytest.fixture(scope="module")
def other_root() -> RootAuthority:
    return create_root(ORG, "ZZZZZZZZZZ", rehearsal=False, now=NOW)


def officer_of(root: RootAuthority, name: str, employee_id: str) -> UnlockedIdentity:
    key = new_signing_key()
    return UnlockedIdentity(root.issue(key.public_key(), name, employee_id, now=NOW), key)


@pytest.fixture(scope="module")
def erin(root: RootAuthority) -> UnlockedIdentity:
    return officer_of(root, "Erin Novak", "E30007")


@pytest.fixture(scope="module")
def frank(root: RootAuthority) -> UnlockedIdentity:
    return officer_of(root, "Frank Osei", "E30008")


@pytest.fixture(scope="module")
def sealed_for_erin(root: RootAuthority, erin: UnlockedIdentity) -> bytes:
    return root.seal_for(erin.certificate)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --- the root's profile ------------------------------------------------------------------------------------
def test_root_certificate_profile(root: RootAuthority) -> None:
    cert = root.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"{ORG} key ceremony root {LEDGER}"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ORG
    assert cert.issuer == cert.subject
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign and usage.value.digital_signature
    assert not usage.value.content_commitment and not usage.value.key_agreement
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + ROOT_VALIDITY
    assert ROOT_VALIDITY >= timedelta(days=20 * 365)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    cert.verify_directly_issued_by(cert)  # cryptography's own check of the self-signature
    check_root(cert)


def test_rehearsal_root_says_test_and_long_organisation_fits() -> None:
    org = "The Very Long Name of an Example Payments Processing Company Ltd"  # 64 characters
    assert len(org) == 64
    with create_root(org, LEDGER, rehearsal=True, now=NOW) as rehearsal:
        [cn] = rehearsal.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert isinstance(cn.value, str)
        assert len(cn.value) <= 64
        assert cn.value.endswith(f" key ceremony root {LEDGER} TEST")
        assert org.startswith(cn.value.split(" key ceremony root ")[0])
        [o] = rehearsal.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        assert o.value == org  # the organisation stays whole in O
        check_root(rehearsal.certificate)


@pytest.mark.parametrize(
    ("organisation", "ledger_id"),
    [("", LEDGER), (" Padded", LEDGER), ("x" * 65, LEDGER), ("Tab\tLtd", LEDGER), (ORG, ""), (ORG, "A" * 33)],
)
def test_root_names_are_checked(organisation: str, ledger_id: str) -> None:
    with pytest.raises(IdentityError):
        create_root(organisation, ledger_id, rehearsal=False, now=NOW)


def _variant_root(
    *, ca: bool = True, path_length: int | None = 0, cert_sign: bool = True
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Variant root"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=cert_sign,
                crl_sign=cert_sign,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def test_check_root_refuses_what_is_not_a_ledger_root(root: RootAuthority, erin: UnlockedIdentity) -> None:
    check_root(_variant_root())  # the variant builder makes a valid root by default
    for cert in (
        _variant_root(ca=False),
        _variant_root(path_length=None),
        _variant_root(path_length=1),
        _variant_root(cert_sign=False),
        erin.certificate,  # issued by the root, not self-signed
        enroll_identity("Zoë Müller", "E-1042", passphrase(), now=NOW, kdf=FAST)[0],  # self-signed EE
    ):
        with pytest.raises(IdentityError):
            check_root(cert)
    p384 = ec.generate_private_key(ec.SECP384R1())
    subject = root.certificate.subject
    wrong_curve = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(p384.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(p384, hashes.SHA256())
    )
    with pytest.raises(IdentityError, match="P-256"):
        check_root(wrong_curve)


# --- issuing -----------------------------------------------------------------------------------------------
def test_issued_certificate_has_the_participant_profile(root: RootAuthority) -> None:
    key = new_signing_key()
    cert = root.issue(key.public_key(), "Alice Okafor", "E10234", now=NOW)
    self_signed, _ = enroll_identity("Alice Okafor", "E10234", passphrase(), now=NOW, kdf=FAST)

    assert cert.subject == self_signed.subject
    assert cert.issuer == root.certificate.subject
    assert cert.public_key() == key.public_key()
    assert cert.not_valid_before_utc == self_signed.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + CERTIFICATE_VALIDITY
    # The same extensions as enrolment makes, except the authority key identifier names the root's key.
    for kind in (x509.BasicConstraints, x509.KeyUsage):
        ours = cert.extensions.get_extension_for_class(kind)
        theirs = self_signed.extensions.get_extension_for_class(kind)
        assert ours == theirs and ours.critical
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value == (
        x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    )
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert {e.oid for e in cert.extensions} == {e.oid for e in self_signed.extensions}
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    cert.verify_directly_issued_by(root.certificate)  # cryptography's own check
    check_issued_by(cert, root.certificate)


def test_issued_validity_stops_at_the_roots_expiry(root: RootAuthority) -> None:
    late = NOW + ROOT_VALIDITY - timedelta(days=365)
    cert = root.issue(new_signing_key().public_key(), "Alice Okafor", "E10234", now=late)
    assert cert.not_valid_after_utc == root.certificate.not_valid_after_utc
    with pytest.raises(IdentityError, match="expired"):
        root.issue(new_signing_key().public_key(), "Alice Okafor", "E10234", now=NOW + ROOT_VALIDITY)


def test_issue_refuses_bad_input(root: RootAuthority) -> None:
    public = new_signing_key().public_key()
    with pytest.raises(IdentityError):
        root.issue(public, " Alice", "E10234", now=NOW)
    with pytest.raises(IdentityError):
        root.issue(public, "Alice", "E10234;DROP", now=NOW)
    with pytest.raises(IdentityError, match="P-256"):
        root.issue(ec.generate_private_key(ec.SECP384R1()).public_key(), "Alice", "E10234", now=NOW)
    with pytest.raises(IdentityError, match="root's own key"):
        root.issue(root.certificate.public_key(), "Alice", "E10234", now=NOW)  # type: ignore[arg-type]


def test_check_issued_by_refuses_other_certificates(
    root: RootAuthority, other_root: RootAuthority, erin: UnlockedIdentity
) -> None:
    check_issued_by(erin.certificate, root.certificate)
    self_signed, _ = enroll_identity("Erin Novak", "E30007", passphrase(), now=NOW, kdf=FAST)
    foreign = other_root.issue(erin.certificate.public_key(), "Erin Novak", "E30007", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="not issued by this ledger's root"):
        check_issued_by(self_signed, root.certificate)
    # Another ledger's root: different name (different ledger id) and key.
    with pytest.raises(IdentityError):
        check_issued_by(foreign, root.certificate)
    # Same subject name as our root but another key: the signature check catches it.
    impostor = create_root(ORG, LEDGER, rehearsal=False, now=NOW)
    assert impostor.certificate.subject == root.certificate.subject
    forged = impostor.issue(erin.certificate.public_key(), "Erin Novak", "E30007", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="valid signature"):
        check_issued_by(forged, root.certificate)
    # The root itself is self-issued and self-signed, but a CA: not a participant's certificate.
    with pytest.raises(IdentityError, match="is a CA"):
        check_issued_by(root.certificate, root.certificate)


def test_check_issued_by_refuses_a_tampered_certificate(root: RootAuthority, erin: UnlockedIdentity) -> None:
    der = _der(erin.certificate)
    at = der.index(b"Erin Novak")
    tampered = x509.load_der_x509_certificate(der[:at] + b"Evil" + der[at + 4 :])
    assert tampered.subject != erin.certificate.subject
    with pytest.raises(IdentityError, match="valid signature"):
        check_issued_by(tampered, root.certificate)
    # A changed signature byte (its last byte: the end of S) as well.
    broken = x509.load_der_x509_certificate(der[:-1] + bytes([der[-1] ^ 0x01]))
    with pytest.raises(IdentityError, match="valid signature"):
        check_issued_by(broken, root.certificate)


# --- sealing to an officer ---------------------------------------------------------------------------------
def test_seal_and_open_round_trip(
    root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes
) -> None:
    doc = json.loads(sealed_for_erin)
    assert sealed_for_erin == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert doc["format"] == ROOT_KEY_FORMAT and doc["version"] == 1
    assert doc["root_certificate_sha256"] == certificate_fingerprint(root.certificate).hex()
    assert doc["officer_certificate_sha256"] == certificate_fingerprint(erin.certificate).hex()
    assert len(base64.b64decode(doc["ephemeral_public"])) == 65
    assert len(base64.b64decode(doc["nonce"])) == 12

    with open_root(sealed_for_erin, root.certificate, erin) as opened:
        assert opened.certificate == root.certificate
        new = opened.issue(new_signing_key().public_key(), "Gus Tanaka", "E10999", now=NOW)
        check_issued_by(new, root.certificate)
    assert opened.closed
    with pytest.raises(IdentityError, match="closed"):
        opened.issue(new_signing_key().public_key(), "Gus Tanaka", "E10999", now=NOW)
    with pytest.raises(IdentityError, match="closed"):
        opened.seal_for(erin.certificate)


def test_two_seals_differ(root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes) -> None:
    again = json.loads(root.seal_for(erin.certificate))
    first = json.loads(sealed_for_erin)
    for field in ("ephemeral_public", "nonce", "ciphertext"):
        assert again[field] != first[field]


def test_enrolment_path_new_key_issue_seal_unlock_open(root: RootAuthority) -> None:
    """How enrolment uses it: the officer's identity is root-issued and sealed under her passphrase, the
    root is sealed to her; later she unlocks her identity, opens the root and it issues a newcomer's
    certificate, whose key is then sealed under the newcomer's passphrase."""
    officer_key = new_signing_key()
    officer_cert = root.issue(officer_key.public_key(), "Erin Novak", "E30007", now=NOW)
    identity_blob = seal_identity(officer_key, officer_cert, passphrase("erin's passphrase"), kdf=FAST)
    root_blob = root.seal_for(officer_cert)
    del officer_key

    with (
        unlock(identity_blob, officer_cert, passphrase("erin's passphrase")) as officer,
        open_root(root_blob, root.certificate, officer) as opened,
    ):
        key = new_signing_key()
        cert = opened.issue(key.public_key(), "Hana Berg", "E10777", now=NOW)
    assert officer.locked and opened.closed
    blob = seal_identity(key, cert, passphrase("hana's passphrase"), kdf=FAST)
    with unlock(blob, cert, passphrase("hana's passphrase")) as hana:
        assert hana.certificate == cert
        check_issued_by(hana.certificate, root.certificate)
    with pytest.raises(IdentityMismatchError):
        seal_identity(new_signing_key(), cert, passphrase(), kdf=FAST)
    with pytest.raises(IdentityError, match="passphrase"):
        seal_identity(key, cert, SecretBytes(0), kdf=FAST)


def test_open_with_another_officer_is_refused(
    root: RootAuthority, frank: UnlockedIdentity, sealed_for_erin: bytes
) -> None:
    with pytest.raises(IdentityMismatchError, match="another security officer"):
        open_root(sealed_for_erin, root.certificate, frank)
    # Even with the fingerprint rewritten to Frank's, his key does not open it.
    doc = json.loads(sealed_for_erin)
    doc["officer_certificate_sha256"] = certificate_fingerprint(frank.certificate).hex()
    with pytest.raises(IdentityKeyFormatError):
        open_root(json.dumps(doc).encode(), root.certificate, frank)


def test_blob_for_another_root_is_refused(
    root: RootAuthority, other_root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes
) -> None:
    with pytest.raises(IdentityMismatchError, match="another ledger's root"):
        open_root(sealed_for_erin, other_root.certificate, erin)
    # A blob the other root sealed for an officer of its own, offered as ours.
    theirs = officer_of(other_root, "Erin Novak", "E30007")
    with pytest.raises(IdentityMismatchError):
        open_root(other_root.seal_for(theirs.certificate), root.certificate, theirs)


def test_seal_only_for_certificates_the_root_issued(root: RootAuthority, other_root: RootAuthority) -> None:
    stranger = officer_of(other_root, "Ivan Petrov", "E40001")
    with pytest.raises(IdentityError):
        root.seal_for(stranger.certificate)
    self_signed, _ = enroll_identity("Ivan Petrov", "E40001", passphrase(), now=NOW, kdf=FAST)
    with pytest.raises(IdentityError):
        root.seal_for(self_signed)


def _flip(blob: bytes, field: str, index: int) -> bytes:
    doc = json.loads(blob)
    raw = bytearray(base64.b64decode(doc[field]))
    raw[index] ^= 0x01
    doc[field] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("ciphertext", 0),
        ("ciphertext", 40),
        ("ciphertext", -1),  # the GCM tag
        ("nonce", 0),
        ("nonce", 11),
        ("ephemeral_public", 1),  # X: almost surely no longer on the curve
        ("ephemeral_public", 64),  # Y's last bit: off the curve
        ("ephemeral_public", 0),  # the 0x04 prefix
    ],
)
def test_one_flipped_byte_is_refused(
    root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes, field: str, index: int
) -> None:
    with pytest.raises(IdentityKeyFormatError):
        open_root(_flip(sealed_for_erin, field, index), root.certificate, erin)


def test_valid_point_but_another_ephemeral_key_is_refused(
    root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes
) -> None:
    """An ephemeral point on the curve but not the sealer's: the derived key differs, the tag fails."""
    doc = json.loads(sealed_for_erin)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    doc["ephemeral_public"] = base64.b64encode(
        other.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    ).decode()
    with pytest.raises(IdentityKeyFormatError, match="damaged or was altered"):
        open_root(json.dumps(doc).encode(), root.certificate, erin)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not json",
        b"[]",
        b'{"format":"ceremony-identity-key","version":1}',
        b'{"format":"ceremony-root-key","version":2}',
    ],
)
def test_not_a_sealed_root_key(root: RootAuthority, erin: UnlockedIdentity, blob: bytes) -> None:
    with pytest.raises(IdentityKeyFormatError):
        open_root(blob, root.certificate, erin)


@pytest.mark.parametrize("field", ["scheme", "root_certificate_sha256", "nonce", "ciphertext"])
def test_missing_field_is_a_format_error(
    root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes, field: str
) -> None:
    doc = json.loads(sealed_for_erin)
    del doc[field]
    with pytest.raises(IdentityKeyFormatError):
        open_root(json.dumps(doc).encode(), root.certificate, erin)


def test_locked_officer_cannot_open(
    root: RootAuthority, erin: UnlockedIdentity, sealed_for_erin: bytes
) -> None:
    again = UnlockedIdentity(erin.certificate, erin.private_key)  # Erin's identity, then locked again
    again.lock()
    with pytest.raises(IdentityError, match="locked"):
        open_root(sealed_for_erin, root.certificate, again)


def test_root_key_matching_is_checked(root: RootAuthority, other_root: RootAuthority) -> None:
    """A sealed key that decrypts but is not the root certificate's key (a sealer's mistake or a forged
    blob made with the officer's public key) is refused."""
    officer = officer_of(root, "Erin Novak", "E30007")
    wrong = _seal_root_key(
        other_root._private_key(),
        root.certificate,
        officer.certificate,
        ephemeral=ec.generate_private_key(ec.SECP256R1()),
        nonce=bytes(12),
    )
    with pytest.raises(IdentityMismatchError, match="does not match"):
        open_root(wrong, root.certificate, officer)


def test_repr_shows_no_key_material_and_pickling_is_refused(root: RootAuthority) -> None:
    with create_root(ORG, LEDGER, rehearsal=False, now=NOW) as fresh:
        key = fresh._private_key()
        scalar = key.private_numbers().private_value
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        text = repr(fresh) + str(fresh) + f"{fresh}"
        assert text.startswith("<RootAuthority ") and "open" in text
        for secret in (
            str(scalar),
            f"{scalar:x}",
            f"{scalar:X}",
            der.hex(),
            base64.b64encode(der).decode(),
            f"{scalar:064x}"[:16],
        ):
            assert secret not in text
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(fresh)
        with pytest.raises(TypeError):
            copy.copy(fresh)
    assert "closed" in repr(fresh)


def test_root_authority_refuses_a_key_that_is_not_its_certificates(
    root: RootAuthority, other_root: RootAuthority
) -> None:
    with pytest.raises(IdentityMismatchError):
        RootAuthority(root.certificate, other_root._private_key())


# --- known answers -----------------------------------------------------------------------------------------
# Fixed private scalars: SHA-256 of a label, reduced mod the P-256 group order n (SEC 2 §2.4.2).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
EPHEMERAL_SCALAR = int.from_bytes(hashlib.sha256(b"ceremony.ledger.root-key KAT ephemeral").digest()) % P256_N
OFFICER_SCALAR = int.from_bytes(hashlib.sha256(b"ceremony.ledger.root-key KAT officer").digest()) % P256_N
ROOT_FP = hashlib.sha256(b"root certificate").digest()
OFFICER_FP = hashlib.sha256(b"officer certificate").digest()
# Computed with OpenSSL 3.0.19, independently of this code (the keys written out as PEM from the scalars):
#   openssl pkeyutl -derive -inkey ephemeral.pem -peerkey officer_public.pem            -> SHARED
#   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:SHARED -kdfopt hexsalt:POINT \
#       -kdfopt hexinfo:hex("ceremony.ledger.root-key.v1" || ROOT_FP || OFFICER_FP) HKDF    -> WRAPPING_KEY
EPHEMERAL_POINT = bytes.fromhex(
    "04e1de7badc4ab2224e86dcaeb13c7ecf8cb77c008fc413c061868142c504366"
    "827703ecc6d535409b8c3b5419b7ebdfe8ebaa0e92099505b64e90ca5886dfcb53"
)
SHARED = bytes.fromhex("66f8496e49c0ab22bc495651ebf814ec03f10b28bac06790bc792ae6f41d1d4e")
WRAPPING_KEY = bytes.fromhex("287e5a7a11a2dd39a90f16fe97a2065d8e1aa654bb9a0c68df08a72a7ed6b5bc")


def test_known_answer_key_derivation() -> None:
    ephemeral = ec.derive_private_key(EPHEMERAL_SCALAR, ec.SECP256R1())
    officer = ec.derive_private_key(OFFICER_SCALAR, ec.SECP256R1())
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert point == EPHEMERAL_POINT
    # ECDH agrees both ways: the sealer's side and the officer's side.
    assert ephemeral.exchange(ec.ECDH(), officer.public_key()) == SHARED
    assert officer.exchange(ec.ECDH(), ephemeral.public_key()) == SHARED
    assert HKDF_INFO == b"ceremony.ledger.root-key.v1"
    with _wrapping_key(SHARED, EPHEMERAL_POINT, ROOT_FP, OFFICER_FP) as key:
        assert bytes(key.view()).hex() == WRAPPING_KEY.hex()


def test_known_answer_whole_seal(root: RootAuthority) -> None:
    """The sealed blob, with the ephemeral key and nonce fixed, opened independently with cryptography's
    primitives (ECDH, HKDF, AES-GCM) following the module docstring: checks the format, not just a round
    trip through our own code."""
    officer_key = ec.derive_private_key(OFFICER_SCALAR, ec.SECP256R1())
    officer = UnlockedIdentity(
        root.issue(officer_key.public_key(), "Kat Officer", "KAT-1", now=NOW), officer_key
    )
    nonce = bytes(range(12))
    ephemeral = ec.derive_private_key(EPHEMERAL_SCALAR, ec.SECP256R1())
    blob = _seal_root_key(
        root._private_key(), root.certificate, officer.certificate, ephemeral=ephemeral, nonce=nonce
    )
    again = _seal_root_key(
        root._private_key(), root.certificate, officer.certificate, ephemeral=ephemeral, nonce=nonce
    )
    assert blob == again  # deterministic once the randomness is fixed
    doc = json.loads(blob)
    assert base64.b64decode(doc["ephemeral_public"]) == EPHEMERAL_POINT
    assert base64.b64decode(doc["nonce"]) == nonce

    root_fp = hashlib.sha256(_der(root.certificate)).digest()
    officer_fp = hashlib.sha256(_der(officer.certificate)).digest()
    shared = officer_key.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), EPHEMERAL_POINT)
    )
    assert shared == SHARED  # the officer's key is the KAT officer's
    aes_key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=EPHEMERAL_POINT,
        info=b"ceremony.ledger.root-key.v1" + root_fp + officer_fp,
    ).derive(shared)
    pkcs8 = AESGCM(aes_key).decrypt(nonce, base64.b64decode(doc["ciphertext"]), root_fp + officer_fp)
    recovered = serialization.load_der_private_key(pkcs8, password=None)
    assert isinstance(recovered, ec.EllipticCurvePrivateKey)
    assert recovered.public_key() == root.certificate.public_key()
    with open_root(blob, root.certificate, officer) as opened:
        assert opened.certificate == root.certificate
