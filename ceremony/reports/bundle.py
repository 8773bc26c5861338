"""The reports and the signed manifest of an evidence bundle (DESIGN §5: "a portable evidence bundle ...
that an auditor verifies on another machine").

* :func:`write_reports` writes every report as PDF and CSV into ``OUT/reports/``, from one read-only
  replay of the ledger (the same facts for all ten files, the same checkpoint on every page).
* :func:`write_manifest` lists the SHA-256 of every file in the bundle in ``manifest.json`` (canonical
  JSON, :mod:`ceremony.ledger.canonical`), names the exporting security officer (person id and the SHA-256
  of their enrolled certificate) and writes ``manifest.sig``: their detached ECDSA P-256 / SHA-256
  signature (DER) over exactly the bytes of ``manifest.json``.
* :func:`check_manifest` verifies the signature with the officer's certificate the auditor trusts (taken
  from the ledger's ``participant.enrolled`` event, or handed over on paper by fingerprint), then every
  file: none missing, none changed, none added.

The manifest's ``format`` field (``ceremony.bundle.manifest.v1``) is inside the signed bytes, so the
signature cannot be taken for a ledger attestation (those sign a length-prefixed domain tag, never JSON).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.errors import BundleIntegrityError, ReportError
from ceremony.ledger.canonical import canonical_json
from ceremony.ledger.store import Ledger
from ceremony.reports import KINDS, build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import to_csv, to_pdf

MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
FORMAT: Final = "ceremony.bundle.manifest.v1"
REPORTS_DIR: Final = "reports"


class BundleSigner(Protocol):
    """The exporting security officer, present (their passphrase unlocked their key)."""

    @property
    def person_id(self) -> str: ...

    @property
    def certificate(self) -> x509.Certificate: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class OfficerSigner:
    """Adapts a :class:`~ceremony.flows.presence.PresentPerson` (or any unlocked identity) to
    :class:`BundleSigner`."""

    person_id: str
    identity: _Identity

    @property
    def certificate(self) -> x509.Certificate:
        return self.identity.certificate

    def sign(self, data: bytes) -> bytes:
        return self.identity.sign(data)


class _Identity(Protocol):
    @property
    def certificate(self) -> x509.Certificate: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class ManifestCheck:
    files: int
    signed_by: str
    cert_sha256: str
    ledger_id: str
    checkpoint: str


def write_reports(ledger_path: Path, out_dir: Path, now: datetime | None = None) -> list[Path]:
    """Every report as PDF and CSV into ``out_dir/reports/`` (the ledger is opened read-only)."""
    folder = Path(out_dir) / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    as_of = now or datetime.now(UTC)
    with Ledger.open_for_reading(ledger_path) as ledger:
        facts = read_facts(ledger)
    written: list[Path] = []
    for kind in KINDS:
        report = build_report(kind, facts, Filters(), as_of)
        for suffix, data in ((".pdf", to_pdf(report)), (".csv", to_csv(report).encode("utf-8"))):
            path = folder / f"{kind}{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_files(out_dir: Path) -> dict[str, Path]:
    """Every regular file under ``out_dir`` but the manifest and its signature, by POSIX relative path."""
    files: dict[str, Path] = {}
    for path in sorted(out_dir.rglob("*")):
        if path.is_symlink():
            raise BundleIntegrityError(
                f"the bundle holds a symbolic link ({path.name}); a bundle holds only files"
            )
        if not path.is_file():
            continue
        relative = path.relative_to(out_dir).as_posix()
        if relative not in (MANIFEST, SIGNATURE):
            files[relative] = path
    return files


def cert_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as the ledger records it in ``participant.enrolled``."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def write_manifest(
    out_dir: Path,
    signer: BundleSigner,
    *,
    ledger_id: str = "",
    checkpoint: str = "",
    now: datetime | None = None,
) -> Path:
    """Hash every file of the bundle into ``manifest.json`` and sign it (``manifest.sig``)."""
    out_dir = Path(out_dir)
    files = _bundle_files(out_dir)
    if not files:
        raise ReportError(f"{out_dir} holds no files to list in a manifest")
    manifest = {
        "format": FORMAT,
        "created": (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ledger_id": ledger_id,
        "checkpoint": checkpoint,
        "signed_by": {"person_id": signer.person_id, "cert_sha256": cert_fingerprint(signer.certificate)},
        "files": {name: _sha256_file(path) for name, path in files.items()},
    }
    data = canonical_json(manifest)
    signature = signer.sign(data)
    (out_dir / MANIFEST).write_bytes(data)
    (out_dir / SIGNATURE).write_bytes(bytes(signature))
    return out_dir / MANIFEST


def check_manifest(out_dir: Path, trust_cert: x509.Certificate) -> ManifestCheck:
    """Check the manifest's signature against ``trust_cert`` and every file against the manifest.

    :raises BundleIntegrityError: naming the first problem (missing manifest or signature, signature not by
        that certificate, a file missing, changed or not listed).
    """
    out_dir = Path(out_dir)
    try:
        data = (out_dir / MANIFEST).read_bytes()
        signature = (out_dir / SIGNATURE).read_bytes()
    except FileNotFoundError as exc:
        raise BundleIntegrityError(
            f"the bundle has no {Path(str(exc.filename)).name}; it cannot be checked"
        ) from None
    public_key = trust_cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise BundleIntegrityError("the trusted certificate does not hold an ECDSA P-256 key")
    try:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BundleIntegrityError(
            "the manifest's signature does not verify with the trusted officer's certificate: the manifest "
            "was changed or signed by someone else"
        ) from None
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleIntegrityError("the signed manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleIntegrityError(f"the signed manifest is not a {FORMAT} manifest")
    signed_by = manifest.get("signed_by")
    listed = manifest.get("files")
    if not isinstance(signed_by, dict) or not isinstance(listed, dict):
        raise BundleIntegrityError("the signed manifest lacks its signer or its file list")
    fingerprint = cert_fingerprint(trust_cert)
    if signed_by.get("cert_sha256") != fingerprint:
        raise BundleIntegrityError("the manifest names a different officer certificate than the trusted one")
    present = _bundle_files(out_dir)
    for name, expected in sorted(listed.items()):
        path = present.get(name)
        if path is None:
            raise BundleIntegrityError(f"{name} is listed in the manifest but missing from the bundle")
        if _sha256_file(path) != expected:
            raise BundleIntegrityError(
                f"{name} differs from the file the officer signed for (SHA-256 mismatch)"
            )
    extra = sorted(set(present) - set(listed))
    if extra:
        raise BundleIntegrityError(f"{extra[0]} is in the bundle but not in the signed manifest")
    return ManifestCheck(
        files=len(listed),
        signed_by=str(signed_by.get("person_id", "")),
        cert_sha256=fingerprint,
        ledger_id=str(manifest.get("ledger_id", "")),
        checkpoint=str(manifest.get("checkpoint", "")),
    )
