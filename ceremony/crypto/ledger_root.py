"""The ledger's root: a per-ledger certificate authority that issues every participant's certificate.

Participants' certificates chain to the root, so a PDF validator (poppler's ``pdfsig`` with the root in its
NSS database, pyHanko with it as trust root) shows a signer as trusted (DESIGN §1), and the root certificate's
fingerprint is part of the ledger's anchor (DESIGN §5).

No single person holds the root key in clear at rest (PCI DSS 3.5/3.6; split knowledge, 3.7.6): the private
key exists only sealed to each security officer's own P-256 identity key, and is opened in memory with an
officer's unlocked identity, for one enrolment, then dropped. Sealing is ECIES over P-256::

    e                = fresh ephemeral P-256 key; E = its public point, uncompressed (X9.62, 65 bytes)
    shared           = ECDH(e, officer certificate's public key)                        (SEC 1 §3.3.1)
    fp_root, fp_off  = SHA-256 of the root's and the officer's certificate DER
    key              = HKDF-SHA256(shared, salt = E,
                                   info = "ceremony.ledger.root-key.v1" || fp_root || fp_off, 32 bytes)
                                                                                       (RFC 5869)
    blob             = AES-256-GCM(key, 12-byte random nonce, PKCS#8 DER of the root key,
                                   associated data = fp_root || fp_off)

The blob is canonical JSON naming its format, version, scheme, both fingerprints, E, nonce and ciphertext;
the fingerprints let :func:`open_root` refuse a blob sealed for another officer or another root before any
key agreement.

Root profile: self-signed, P-256, ECDSA-SHA256, CN "ORG key ceremony root LEDGER[ TEST]", O = organisation,
basicConstraints CA:TRUE pathlen 0 (critical), keyUsage keyCertSign + cRLSign + digitalSignature (critical),
subject key identifier, valid 20 years from five minutes before creation. Issued certificates carry exactly
the participant profile of :mod:`ceremony.crypto.identity`, with the root as issuer.

Pure: no file I/O; the clock only when ``now`` is not given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from ceremony.crypto.identity import (
    UnlockedIdentity,
    certificate_fingerprint,
    check_person,
    person_certificate_builder,
)
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import IdentityError, IdentityKeyFormatError, IdentityMismatchError

ROOT_KEY_FORMAT = "ceremony-root-key"
ROOT_KEY_VERSION = 1
ROOT_KEY_SCHEME = "ECIES-P256-HKDF-SHA256-AES-256-GCM"
ROOT_VALIDITY = timedelta(days=7305)  # twenty years: the life of a ledger, longer than any participant's
HKDF_INFO = b"ceremony.ledger.root-key.v1"
_ROOT_CN = "{organisation} key ceremony root {ledger_id}"
_MAX_NAME = 64  # X.520 upper bound for commonName and organizationName (RFC 5280 appendix A)
_MAX_LEDGER_ID = 32
_POINT_LENGTH = 65  # 0x04 || X || Y on P-256
_GCM_TAG = 16
_E = TypeVar("_E", bound=x509.ExtensionType)


def _is_p256(public: object) -> bool:
    return isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)


def _common_name(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else "an unnamed certificate"
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _extension(certificate: x509.Certificate, kind: type[_E]) -> x509.Extension[_E]:
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except (x509.ExtensionNotFound, ValueError):
        raise IdentityError(
            f"the certificate of {_common_name(certificate)!r} lacks (or has a damaged) {kind.__name__}"
        ) from None


# --- the root certificate ----------------------------------------------------------------------------------
def _root_subject(organisation: str, ledger_id: str, rehearsal: bool) -> x509.Name:
    if not organisation.strip() or organisation != organisation.strip() or not organisation.isprintable():
        raise IdentityError("the organisation's name must be printable, without leading or trailing spaces")
    if len(organisation) > _MAX_NAME:
        raise IdentityError(f"the organisation's name must be at most {_MAX_NAME} characters")
    if (
        not ledger_id
        or len(ledger_id) > _MAX_LEDGER_ID
        or ledger_id != ledger_id.strip()
        or not ledger_id.isprintable()
    ):
        raise IdentityError(f"a ledger id must be 1 to {_MAX_LEDGER_ID} printable characters")
    suffix = _ROOT_CN.format(organisation="", ledger_id=ledger_id) + (" TEST" if rehearsal else "")
    # The organisation gives way when the common name would pass 64 characters; O keeps it whole.
    shortened = organisation[: _MAX_NAME - len(suffix)].rstrip()
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, shortened + suffix),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def create_root(
    organisation: str, ledger_id: str, *, rehearsal: bool, now: datetime | None = None
) -> RootAuthority:
    """A new root for one ledger: a fresh P-256 key and its self-signed CA certificate (module docstring).
    The key lives only in the returned :class:`RootAuthority`: seal it for the founding officer
    (:meth:`RootAuthority.seal_for`) before closing it, or it is gone."""
    subject = _root_subject(organisation, ledger_id, rehearsal)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))  # tolerate a laptop clock a little behind
        .not_valid_after(start + ROOT_VALIDITY)
        # pathlen 0: the root issues participants' certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return RootAuthority(certificate, key)


def check_root(certificate: x509.Certificate) -> None:
    """Raise IdentityError unless ``certificate`` is a ledger root: self-signed (ECDSA P-256, SHA-256), CA
    with path length 0, keyUsage keyCertSign + cRLSign (both constraints critical), with a subject key
    identifier of its own key and a common name and organisation."""
    name = _common_name(certificate)
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise IdentityError(f"the root certificate {name!r} does not hold an ECDSA P-256 key")
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        if len(certificate.subject.get_attributes_for_oid(oid)) != 1:
            raise IdentityError(f"the root certificate {name!r} does not name one ledger and organisation")
    if certificate.issuer != certificate.subject:
        raise IdentityError(f"the root certificate {name!r} is not self-signed")
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise IdentityError(f"the root certificate {name!r} is not signed with ECDSA SHA-256")
    try:
        public.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise IdentityError(f"the root certificate {name!r} does not carry its own valid signature") from None
    constraints = _extension(certificate, x509.BasicConstraints)
    if not (constraints.critical and constraints.value.ca and constraints.value.path_length == 0):
        raise IdentityError(f"the root certificate {name!r} is not a CA limited to path length 0")
    usage = _extension(certificate, x509.KeyUsage)
    if not (usage.critical and usage.value.key_cert_sign and usage.value.crl_sign):
        raise IdentityError(f"the root certificate {name!r} may not sign certificates")
    identifier = _extension(certificate, x509.SubjectKeyIdentifier)
    if identifier.value != x509.SubjectKeyIdentifier.from_public_key(public):
        raise IdentityError(f"the root certificate {name!r} has a key identifier of another key")


def check_issued_by(certificate: x509.Certificate, root_certificate: x509.Certificate) -> None:
    """Raise IdentityError unless ``certificate`` is a participant's (not a CA, ECDSA P-256 key) issued by
    ``root_certificate``: issuer name equal to the root's subject and ECDSA-SHA256 signature by the root."""
    name = _common_name(certificate)
    if not _is_p256(certificate.public_key()):
        raise IdentityError(f"the certificate of {name!r} does not hold an ECDSA P-256 key")
    if certificate.issuer != root_certificate.subject:
        raise IdentityError(f"the certificate of {name!r} was not issued by this ledger's root")
    root_public = root_certificate.public_key()
    if not isinstance(root_public, ec.EllipticCurvePublicKey) or not isinstance(
        root_public.curve, ec.SECP256R1
    ):
        raise IdentityError("the root certificate does not hold an ECDSA P-256 key")
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise IdentityError(f"the certificate of {name!r} is not signed with ECDSA SHA-256")
    try:
        root_public.verify(
            certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        raise IdentityError(
            f"the certificate of {name!r} does not carry a valid signature of this ledger's root"
        ) from None
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise IdentityError(f"the certificate of {name!r} lacks the participant profile") from None
    except ValueError:
        raise IdentityError(f"the certificate of {name!r} has damaged extensions") from None
    if constraints.ca or usage.key_cert_sign:
        raise IdentityError(f"the certificate of {name!r} is a CA, not a participant's")


# --- the root key in memory --------------------------------------------------------------------------------
class RootAuthority:
    """The ledger's root certificate with its private key, in memory for one step (an enrolment, a new
    officer's sealed copy). :meth:`close` (or leaving a ``with`` block) drops the key. As with
    :class:`UnlockedIdentity`, Python cannot zero the key inside cryptography's object; we wipe the
    decrypted PKCS#8 buffer we held and drop the last reference we control."""

    __slots__ = ("_certificate", "_key")

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
            raise IdentityMismatchError("the root key does not match the ledger's root certificate")
        self._certificate = certificate
        self._key: ec.EllipticCurvePrivateKey | None = key

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def closed(self) -> bool:
        return self._key is None

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            raise IdentityError("the ledger's root key is closed; a security officer must open it again")
        return self._key

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        name: str,
        employee_id: str,
        *,
        now: datetime | None = None,
    ) -> x509.Certificate:
        """A participant's certificate for ``public_key`` (CN = name, serialNumber = employee id; the
        participant profile of :mod:`ceremony.crypto.identity`), issued and signed by this root. Its
        validity is ten years, cut short at the root's own expiry."""
        check_person(name, employee_id)
        if not _is_p256(public_key):
            raise IdentityError("a participant's certificate needs an ECDSA P-256 public key")
        key = self._private_key()
        root_public = key.public_key()
        if public_key == root_public:
            raise IdentityError("the root's own key cannot be a participant's key")
        start = (now or datetime.now(UTC)).astimezone(UTC)
        root_end = self._certificate.not_valid_after_utc
        if start >= root_end:
            raise IdentityError("the ledger's root certificate has expired; it can issue no certificate")
        return (
            person_certificate_builder(public_key, name, employee_id, start, not_after_limit=root_end)
            .issuer_name(self._certificate.subject)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_public), critical=False)
            .sign(key, hashes.SHA256())
        )

    def seal_for(self, officer_certificate: x509.Certificate) -> bytes:
        """The root key sealed to one security officer's identity key (module docstring): only that
        officer's unlocked identity opens it (:func:`open_root`). The officer's certificate must be one
        this root issued."""
        check_issued_by(officer_certificate, self._certificate)
        return _seal_root_key(
            self._private_key(),
            self._certificate,
            officer_certificate,
            ephemeral=ec.generate_private_key(ec.SECP256R1()),
            nonce=os.urandom(12),
        )

    def close(self) -> None:
        self._key = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._key is None else "open"
        return f"<RootAuthority {_common_name(self._certificate)!r} {state}>"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("a ledger root key cannot be pickled")


# --- sealing -----------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise IdentityKeyFormatError(f"the sealed root key has no valid {what}")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise IdentityKeyFormatError(f"the sealed root key has no valid {what}") from None


def _wrapping_key(
    shared: bytes, ephemeral_point: bytes, root_fingerprint: bytes, officer_fingerprint: bytes
) -> SecretBytes:
    """HKDF-SHA256 (RFC 5869) from the ECDH shared secret to the AES-256 key that seals the root key;
    bound to the ephemeral point (salt) and to both certificates (info)."""
    out = bytearray(32)
    HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral_point,
        info=HKDF_INFO + root_fingerprint + officer_fingerprint,
    ).derive_into(shared, out)
    return SecretBytes.adopt(out)


def _seal_root_key(
    key: ec.EllipticCurvePrivateKey,
    root_certificate: x509.Certificate,
    officer_certificate: x509.Certificate,
    *,
    ephemeral: ec.EllipticCurvePrivateKey,
    nonce: bytes,
) -> bytes:
    """The sealing itself, with the ephemeral key and nonce given (fresh random ones in
    :meth:`RootAuthority.seal_for`; fixed ones in the known-answer test)."""
    officer_public = officer_certificate.public_key()
    if not isinstance(officer_public, ec.EllipticCurvePublicKey) or not isinstance(
        officer_public.curve, ec.SECP256R1
    ):
        raise IdentityError("the officer's certificate does not hold an ECDSA P-256 key")
    if len(nonce) != 12:
        raise ValueError("AES-GCM nonce must be 12 bytes")
    root_fp = certificate_fingerprint(root_certificate)
    officer_fp = certificate_fingerprint(officer_certificate)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    # exchange() and private_bytes() return immutable bytes: cryptography offers no way around it; both
    # are dropped at once.
    shared = ephemeral.exchange(ec.ECDH(), officer_public)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with _wrapping_key(shared, point, root_fp, officer_fp) as aes_key:
        ciphertext = AESGCM(aes_key.buffer()).encrypt(nonce, der, root_fp + officer_fp)
    del shared, der
    doc = {
        "format": ROOT_KEY_FORMAT,
        "version": ROOT_KEY_VERSION,
        "scheme": ROOT_KEY_SCHEME,
        "root_certificate_sha256": root_fp.hex(),
        "officer_certificate_sha256": officer_fp.hex(),
        "ephemeral_public": _b64(point),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


@dataclass(frozen=True)
class _Sealed:
    root_fingerprint: bytes
    officer_fingerprint: bytes
    ephemeral_point: bytes
    nonce: bytes
    ciphertext: bytes


def _fingerprint(value: object, what: str) -> bytes:
    try:
        fp = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        fp = b""
    if len(fp) != hashlib.sha256().digest_size:
        raise IdentityKeyFormatError(f"the sealed root key does not name its {what} certificate")
    return fp


def _parse(blob: bytes) -> _Sealed:
    try:
        doc = json.loads(blob)
    except (ValueError, UnicodeDecodeError):
        raise IdentityKeyFormatError("this is not a sealed ledger root key") from None
    if not isinstance(doc, dict) or doc.get("format") != ROOT_KEY_FORMAT:
        raise IdentityKeyFormatError("this is not a sealed ledger root key")
    if doc.get("version") != ROOT_KEY_VERSION:
        raise IdentityKeyFormatError(
            f"the sealed root key is in format version {doc.get('version')!r}, "
            "which this program does not read"
        )
    if doc.get("scheme") != ROOT_KEY_SCHEME:
        raise IdentityKeyFormatError("the sealed root key uses a scheme this program does not know")
    root_fp = _fingerprint(doc.get("root_certificate_sha256"), "root")
    officer_fp = _fingerprint(doc.get("officer_certificate_sha256"), "officer's")
    point = _unb64(doc.get("ephemeral_public"), "ephemeral public key")
    nonce = _unb64(doc.get("nonce"), "nonce")
    ciphertext = _unb64(doc.get("ciphertext"), "ciphertext")
    if len(point) != _POINT_LENGTH or point[0] != 0x04:
        raise IdentityKeyFormatError("the sealed root key has a damaged ephemeral public key")
    if len(nonce) != 12:
        raise IdentityKeyFormatError("the sealed root key has a damaged nonce")
    if len(ciphertext) <= _GCM_TAG:
        raise IdentityKeyFormatError("the sealed root key has no ciphertext")
    return _Sealed(root_fp, officer_fp, point, nonce, ciphertext)


def open_root(blob: bytes, root_certificate: x509.Certificate, officer: UnlockedIdentity) -> RootAuthority:
    """The root key sealed in ``blob``, opened with ``officer``'s unlocked identity.

    Raises IdentityMismatchError when the blob was sealed for another officer or another root (checked
    before any key agreement) or holds a key that is not the root certificate's, IdentityKeyFormatError
    when it is damaged or was altered, IdentityError when the officer's identity is locked or the root
    certificate is not a ledger root.
    """
    sealed = _parse(blob)
    root_fp = certificate_fingerprint(root_certificate)
    officer_fp = certificate_fingerprint(officer.certificate)
    if sealed.root_fingerprint != root_fp:
        raise IdentityMismatchError("this sealed root key belongs to another ledger's root certificate")
    if sealed.officer_fingerprint != officer_fp:
        raise IdentityMismatchError(
            f"this sealed root key was sealed for another security officer, not {officer.name}"
        )
    check_root(root_certificate)
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sealed.ephemeral_point)
    except (ValueError, UnsupportedAlgorithm):
        raise IdentityKeyFormatError("the sealed root key has a damaged ephemeral public key") from None
    shared = officer.private_key.exchange(ec.ECDH(), ephemeral)
    der = bytearray(len(sealed.ciphertext) - _GCM_TAG)
    try:
        with _wrapping_key(shared, sealed.ephemeral_point, root_fp, officer_fp) as aes_key:
            AESGCM(aes_key.buffer()).decrypt_into(sealed.nonce, sealed.ciphertext, root_fp + officer_fp, der)
    except (InvalidTag, ValueError):
        der[:] = bytes(len(der))
        raise IdentityKeyFormatError("the sealed root key is damaged or was altered") from None
    finally:
        del shared
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, UnsupportedAlgorithm):
        raise IdentityKeyFormatError("the sealed root key does not hold a private key") from None
    finally:
        der[:] = bytes(len(der))
    public = root_certificate.public_key()
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey)
        or not isinstance(public, ec.EllipticCurvePublicKey)
        or key.public_key() != public
    ):
        raise IdentityMismatchError("the key inside does not match the ledger's root certificate")
    return RootAuthority(root_certificate, key)
