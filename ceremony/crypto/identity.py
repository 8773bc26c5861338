"""Participant identities: an ECDSA P-256 signing key and an X.509 certificate per enrolled person.

The certificate is issued by the ledger's root (:mod:`ceremony.crypto.ledger_root`: :func:`new_signing_key`,
then ``RootAuthority.issue``, then :func:`seal_identity`), so a PDF validator trusting that root trusts the
signer; :func:`enroll_identity` still makes a self-signed one in a single step (same profile, own issuer).

"Present and authenticated" means the person typed their passphrase and it unlocked their key (DESIGN §1);
every attestation they make is signed with that key, so an auditor can check who attested what without
trusting the laptop (PCI DSS 3.6.1.2/3.7.6: custodians acknowledge, dual control is provable).

P-256 rather than Ed25519 because PDF validators (poppler's ``pdfsig``) reject Ed25519 PDF signatures, and the
same key signs ledger attestations and PDF forms.

The private key is stored only encrypted (PCI DSS 3.5/3.6: no clear private keys at rest)::

    key = scrypt(passphrase, salt, N = 2^17, r = 12, p = 1, 32 bytes)      (RFC 7914)
    blob = AES-256-GCM(key, nonce, PKCS#8 DER of the private key,
                       associated data = SHA-256 fingerprint of the certificate)

The parameters are chosen so one unlock takes about half a second on the ceremony laptop (measured by
``scripts/bench identity``) and needs 192 MiB of memory, which makes guessing expensive. The blob is a
canonical JSON document that names its format version, the KDF with all its parameters and salt, the cipher,
nonce and the certificate it belongs to; parameters are read from the blob, so they can be raised later
without breaking older keys.

Passphrases arrive as :class:`SecretBytes` holding UTF-8 text. Normalising them (Unicode NFC) is the caller's
job, done the same way at enrollment and at every unlock, so "é" typed two ways unlocks the same key. They are
never logged, stored or put in a message.

Pure: no file I/O; the clock only when ``now`` is not given.
"""

from __future__ import annotations

import base64
import json
import os
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.x509.oid import NameOID

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import (
    IdentityError,
    IdentityKeyFormatError,
    IdentityMismatchError,
    SignatureError,
    WrongPassphraseError,
)

BLOB_FORMAT = "ceremony-identity-key"
BLOB_VERSION = 1
CERTIFICATE_VALIDITY = timedelta(days=3652)  # ten years: longer than any custodian's tenure
_SIGNATURE = ec.ECDSA(hashes.SHA256())
# X.520 serialNumber is a PrintableString: these characters only.
_PRINTABLE = frozenset(string.ascii_letters + string.digits + " '()+,-./:=?")


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost (RFC 7914): N = 2**log2_n, block size r, parallelism p, output length in bytes."""

    log2_n: int = 17
    r: int = 12
    p: int = 1
    length: int = 32

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * (1 << self.log2_n)

    def check(self) -> None:
        """Refuse parameters outside sane bounds (a crafted blob must not make unlock take hours or GiBs)."""
        if not (
            10 <= self.log2_n <= 22 and 1 <= self.r <= 32 and 1 <= self.p <= 16 and 16 <= self.length <= 64
        ):
            raise IdentityKeyFormatError(
                "the encrypted key names scrypt parameters outside the accepted range"
            )


DEFAULT_KDF = ScryptParams()


def derive_key(passphrase: SecretBytes, salt: bytes, params: ScryptParams) -> SecretBytes:
    """scrypt(passphrase, salt) into a wipeable buffer; the one path every identity key goes through."""
    params.check()
    out = bytearray(params.length)
    kdf = Scrypt(salt=salt, length=params.length, n=1 << params.log2_n, r=params.r, p=params.p)
    kdf.derive_into(passphrase.view(), out)
    return SecretBytes.adopt(out)


def certificate_fingerprint(certificate: x509.Certificate) -> bytes:
    """SHA-256 over the certificate's DER: what the ledger and the encrypted key refer to it by."""
    return certificate.fingerprint(hashes.SHA256())


def certificate_holder(certificate: x509.Certificate) -> tuple[str, str]:
    """(name, employee id) as the certificate states them."""

    def one(oid: x509.ObjectIdentifier) -> str:
        values = certificate.subject.get_attributes_for_oid(oid)
        if len(values) != 1:
            raise IdentityError("the certificate does not name exactly one person")
        value = values[0].value
        return value if isinstance(value, str) else value.decode("utf-8")

    return one(NameOID.COMMON_NAME), one(NameOID.SERIAL_NUMBER)


# --- enrollment --------------------------------------------------------------------------------------------
def check_person(name: str, employee_id: str) -> None:
    """Raise IdentityError unless ``name`` and ``employee_id`` can stand in a participant's certificate."""
    if not name.strip() or len(name) > 64 or name != name.strip() or not name.isprintable():
        raise IdentityError(
            "a participant's name must be 1 to 64 characters without leading or trailing spaces"
        )
    if not employee_id or len(employee_id) > 64 or not set(employee_id) <= _PRINTABLE:
        raise IdentityError(
            "an employee id must be 1 to 64 characters: letters, digits, spaces and ' ( ) + , - . / : = ?"
        )


_check_person = check_person  # the old private name, kept for callers that still use it


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key for one participant (its certificate comes from the ledger's root)."""
    return ec.generate_private_key(ec.SECP256R1())


def person_name(name: str, employee_id: str) -> x509.Name:
    """A participant certificate's subject: CN = name, serialNumber = employee id."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, employee_id),
        ]
    )


def person_certificate_builder(
    public: ec.EllipticCurvePublicKey,
    name: str,
    employee_id: str,
    now: datetime,
    *,
    not_after_limit: datetime | None = None,
) -> x509.CertificateBuilder:
    """The participant certificate profile, without issuer, authority key identifier or signature: one
    place for it, whether the certificate is self-signed (:func:`enroll_identity`) or issued by the
    ledger's root. ``not_after_limit`` caps the validity (a certificate should not outlive its issuer)."""
    start = now.astimezone(UTC).replace(microsecond=0)
    end = start + CERTIFICATE_VALIDITY
    if not_after_limit is not None:
        end = min(end, not_after_limit.astimezone(UTC))
    return (
        x509.CertificateBuilder()
        .subject_name(person_name(name, employee_id))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))  # tolerate a laptop clock a little behind
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # digitalSignature + nonRepudiation (contentCommitment): what PDF signing validators expect of a
            # signer's certificate, and an attestation is a commitment by the person.
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _self_signed(
    key: ec.EllipticCurvePrivateKey, name: str, employee_id: str, now: datetime
) -> x509.Certificate:
    public = key.public_key()
    return (
        person_certificate_builder(public, name, employee_id, now)
        .issuer_name(person_name(name, employee_id))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise IdentityKeyFormatError(f"the encrypted key has no valid {what}")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise IdentityKeyFormatError(f"the encrypted key has no valid {what}") from None


def _seal(
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    passphrase: SecretBytes,
    params: ScryptParams,
) -> bytes:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    fingerprint = certificate_fingerprint(certificate)
    # private_bytes returns immutable bytes: cryptography offers no way around it; it is dropped at once.
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with derive_key(passphrase, salt, params) as aes_key:
        ciphertext = AESGCM(aes_key.buffer()).encrypt(nonce, der, fingerprint)
    del der
    doc = {
        "format": BLOB_FORMAT,
        "version": BLOB_VERSION,
        "certificate_sha256": fingerprint.hex(),
        "kdf": {
            "name": "scrypt",
            "log2_n": params.log2_n,
            "r": params.r,
            "p": params.p,
            "length": params.length,
            "salt": _b64(salt),
        },
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce), "associated_data": "certificate_sha256"},
        "ciphertext": _b64(ciphertext),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")


def seal_identity(
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    passphrase: SecretBytes,
    *,
    kdf: ScryptParams = DEFAULT_KDF,
) -> bytes:
    """``key`` encrypted under ``passphrase`` for storage beside ``certificate`` (whoever issued it): the blob
    :func:`unlock` opens. Refuses a key that is not the certificate's and an empty passphrase."""
    public = certificate.public_key()
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey)
        or not isinstance(key.curve, ec.SECP256R1)
        or not isinstance(public, ec.EllipticCurvePublicKey)
        or key.public_key() != public
    ):
        raise IdentityMismatchError("the signing key does not match the participant's certificate")
    if len(passphrase) == 0:
        raise IdentityError("a passphrase is needed to protect the signing key")
    kdf.check()
    return _seal(key, certificate, passphrase, kdf)


def enroll_identity(
    name: str,
    employee_id: str,
    passphrase: SecretBytes,
    *,
    now: datetime | None = None,
    kdf: ScryptParams = DEFAULT_KDF,
) -> tuple[x509.Certificate, bytes]:
    """A new signing identity for one person: (self-signed certificate, private key encrypted under
    ``passphrase``). The certificate goes into the ledger; the clear private key never leaves this call."""
    check_person(name, employee_id)
    if len(passphrase) == 0:
        raise IdentityError("a passphrase is needed to protect the signing key")
    kdf.check()
    key = new_signing_key()
    certificate = _self_signed(key, name, employee_id, now or datetime.now(UTC))
    blob = _seal(key, certificate, passphrase, kdf)
    return certificate, blob


# --- unlocking ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Blob:
    fingerprint: bytes
    params: ScryptParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes


def _parse_blob(blob: bytes) -> _Blob:
    try:
        doc = json.loads(blob)
    except (ValueError, UnicodeDecodeError):
        raise IdentityKeyFormatError("this is not an encrypted ceremony signing key") from None
    if not isinstance(doc, dict) or doc.get("format") != BLOB_FORMAT:
        raise IdentityKeyFormatError("this is not an encrypted ceremony signing key")
    if doc.get("version") != BLOB_VERSION:
        raise IdentityKeyFormatError(
            f"the encrypted signing key is in format version {doc.get('version')!r}, "
            f"which this program does not read"
        )
    kdf, cipher = doc.get("kdf"), doc.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise IdentityKeyFormatError(
            "the encrypted signing key uses a key derivation this program does not know"
        )
    if not isinstance(cipher, dict) or cipher.get("name") != "AES-256-GCM":
        raise IdentityKeyFormatError("the encrypted signing key uses a cipher this program does not know")
    numbers = [n for n in (kdf.get(k) for k in ("log2_n", "r", "p", "length")) if type(n) is int]
    if len(numbers) != 4:
        raise IdentityKeyFormatError("the encrypted signing key has damaged scrypt parameters")
    params = ScryptParams(*numbers)
    params.check()
    if params.length != 32:
        raise IdentityKeyFormatError("the encrypted signing key does not name a 256-bit AES key")
    fingerprint = doc.get("certificate_sha256")
    try:
        fp = bytes.fromhex(fingerprint) if isinstance(fingerprint, str) else b""
    except ValueError:
        fp = b""
    if len(fp) != 32:
        raise IdentityKeyFormatError("the encrypted signing key does not name its certificate")
    salt, nonce = _unb64(kdf.get("salt"), "salt"), _unb64(cipher.get("nonce"), "nonce")
    if len(salt) < 16 or len(nonce) != 12:
        raise IdentityKeyFormatError("the encrypted signing key has a damaged salt or nonce")
    ciphertext = _unb64(doc.get("ciphertext"), "ciphertext")
    if len(ciphertext) <= 16:  # the GCM tag alone
        raise IdentityKeyFormatError("the encrypted signing key has no ciphertext")
    return _Blob(fp, params, salt, nonce, ciphertext)


class UnlockedIdentity:
    """A participant's signing key, unlocked by their passphrase. :meth:`lock` (or leaving a ``with`` block)
    drops it. Python cannot zero the key inside cryptography's key object; lock wipes the decrypted PKCS#8
    buffer we held and drops the last reference we control."""

    __slots__ = ("_certificate", "_key")

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._certificate = certificate
        self._key: ec.EllipticCurvePrivateKey | None = key

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def name(self) -> str:
        return certificate_holder(self._certificate)[0]

    @property
    def employee_id(self) -> str:
        return certificate_holder(self._certificate)[1]

    @property
    def locked(self) -> bool:
        return self._key is None

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The private key, for signing PDFs. Do not keep it beyond the step that needs it."""
        if self._key is None:
            raise IdentityError(f"{self.name}'s signing key is locked; the passphrase must be typed again")
        return self._key

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 with SHA-256 over ``data``; the signature DER-encoded (RFC 3279 Ecdsa-Sig-Value)."""
        return self.private_key.sign(data, _SIGNATURE)

    def lock(self) -> None:
        self._key = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.lock()

    def __repr__(self) -> str:
        state = "locked" if self._key is None else "unlocked"
        return f"<UnlockedIdentity {self.name!r} ({self.employee_id}) {state}>"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("an unlocked identity cannot be pickled")


def unlock(blob: bytes, certificate: x509.Certificate, passphrase: SecretBytes) -> UnlockedIdentity:
    """Decrypt a participant's signing key: the proof that they are present (DESIGN §1).

    Raises IdentityMismatchError when the blob belongs to another certificate (checked before any
    passphrase work), WrongPassphraseError when the passphrase does not open it, IdentityKeyFormatError
    when it is damaged.
    """
    sealed = _parse_blob(blob)
    fingerprint = certificate_fingerprint(certificate)
    if sealed.fingerprint != fingerprint:
        name, employee_id = certificate_holder(certificate)
        raise IdentityMismatchError(
            f"this encrypted signing key is not the one enrolled for {name} ({employee_id})"
        )
    der = bytearray(len(sealed.ciphertext) - 16)
    try:
        with derive_key(passphrase, sealed.salt, sealed.params) as aes_key:
            AESGCM(aes_key.buffer()).decrypt_into(sealed.nonce, sealed.ciphertext, fingerprint, der)
    except InvalidTag:
        name, _ = certificate_holder(certificate)
        raise WrongPassphraseError(f"the passphrase does not unlock {name}'s signing key") from None
    except ValueError:
        raise IdentityKeyFormatError("the encrypted signing key is damaged") from None
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError:
        raise IdentityKeyFormatError("the encrypted signing key does not hold a private key") from None
    finally:
        der[:] = bytes(len(der))
    public = certificate.public_key()
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey)
        or not isinstance(public, ec.EllipticCurvePublicKey)
        or key.public_key() != public
    ):
        raise IdentityMismatchError("the signing key inside does not match the participant's certificate")
    return UnlockedIdentity(certificate, key)


# --- verification ------------------------------------------------------------------------------------------
def check_attestation(certificate: x509.Certificate, signature: bytes, data: bytes) -> None:
    """Raise SignatureError unless ``signature`` is the certificate holder's ECDSA P-256/SHA-256 signature."""
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise SignatureError("the certificate does not hold an ECDSA P-256 key")
    try:
        public.verify(signature, data, _SIGNATURE)
    except (InvalidSignature, ValueError):
        name, employee_id = certificate_holder(certificate)
        raise SignatureError(f"the signature is not {name}'s ({employee_id}) over this data") from None


def verify_attestation(certificate: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is the certificate holder's ECDSA P-256/SHA-256 signature over ``data``."""
    try:
        check_attestation(certificate, signature, data)
    except SignatureError:
        return False
    return True
