"""The reports and the signed manifest of an evidence bundle (DESIGN §5: "a portable evidence bundle ...
that an auditor verifies on another machine").

* :func:`write_reports` writes every report as PDF and CSV into ``OUT/reports/``, from one read-only
  replay of the ledger (the same facts for all ten files, the same checkpoint on every page).
* :func:`write_manifest` lists the SHA-256 of every file in the bundle in ``manifest.json`` (canonical
  JSON, :mod:`ceremony.ledger.canonical`), names the exporting security officer (person id and the SHA-256
  of their enrolled certificate) and writes ``manifest.sig``: their detached ECDSA P-256 / SHA-256
  signature (DER) over exactly the bytes of ``manifest.json``.
* :func:`copy_documents` copies every signed document the ledger issued (``document.issued``:
  acknowledgements, minutes, reaffirmations, transmittal, destruction and anchor forms) into
  ``OUT/documents/``, found by the SHA-256 its event records (never by name) among the PDFs in the folders
  searched (``ceremony-documents/`` beside the ledger, and any others given). A document not found is
  listed in the manifest by SHA-256 as ``"not found"``. Sealed share cards are never bundled.
* :func:`check_manifest` verifies the signature with the officer's certificate the auditor trusts (taken
  from the ledger's ``participant.enrolled`` event, or handed over on paper by fingerprint), then every
  file: none missing, none changed, none added.
* :func:`check_documents` checks each bundled document against its ``document.issued`` event (the same
  SHA-256) and its PDF signatures against the certificates of the people the event says signed it.

The manifest's ``format`` field (``ceremony.bundle.manifest.v1``) is inside the signed bytes, so the
signature cannot be taken for a ledger attestation (those sign a length-prefixed domain tag, never JSON).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.crypto.fingerprint import sha256_hex
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
DOCUMENTS_DIR: Final = "documents"
BUNDLED: Final = "bundled"
NOT_FOUND: Final = "not found"
SHARE_CARD: Final = "share_card"
MAX_DOCUMENT_BYTES: Final = 64 << 20  # a signed form is a few hundred kB; bigger files are not ours
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}\.pdf")
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
class BundledDocument:
    """One document the ledger issued, as the bundle carries it (``path``) or not (``path`` None)."""

    sha256: str
    kind: str
    event_seq: int
    subject: str
    ceremony_id: str | None
    path: str | None  # POSIX path inside the bundle; None: not found when the bundle was made

    @property
    def status(self) -> str:
        return BUNDLED if self.path is not None else NOT_FOUND

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "kind": self.kind,
            "event_seq": self.event_seq,
            "subject": self.subject,
            "ceremony_id": self.ceremony_id,
            "path": self.path,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, entry: object) -> BundledDocument:
        if not isinstance(entry, dict):
            raise BundleIntegrityError("the signed manifest's document list holds something not a document")
        sha, kind, seq = entry.get("sha256"), entry.get("kind"), entry.get("event_seq")
        path, ceremony_id = entry.get("path"), entry.get("ceremony_id")
        if (
            not isinstance(sha, str)
            or not _SHA256.fullmatch(sha)
            or not isinstance(kind, str)
            or not isinstance(seq, int)
            or not (path is None or isinstance(path, str))
            or not (ceremony_id is None or isinstance(ceremony_id, str))
        ):
            raise BundleIntegrityError(
                "the signed manifest lists a document without its SHA-256, kind or event"
            )
        return cls(sha, kind, seq, str(entry.get("subject", "")), ceremony_id or None, path)


@dataclass(frozen=True)
class ManifestCheck:
    files: int
    signed_by: str
    cert_sha256: str
    ledger_id: str
    checkpoint: str
    listed: Mapping[str, str] = field(default_factory=dict)  # bundle path -> SHA-256, as signed
    documents: tuple[BundledDocument, ...] = ()
    share_cards_left_out: int = 0

    def path_of(self, sha256: str) -> str | None:
        """The bundle path the signed manifest lists with exactly this SHA-256, if any."""
        for name, digest in sorted(self.listed.items()):
            if digest == sha256:
                return name
        return None


@dataclass(frozen=True)
class DocumentResult:
    """A bundled document checked against the ledger copy: its event and its signatures."""

    document: BundledDocument
    ok: bool
    summary: str  # the check's own lines (event, each signature)
    signers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            **self.document.to_json(),
            "ok": self.ok,
            "signers": list(self.signers),
            "check": self.summary,
        }


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
    """SHA-256 of the DER certificate, as the ledger records it in ``participant.enrolled`` (printed for
    people by :func:`ceremony.crypto.fingerprint.printed`)."""
    return sha256_hex(certificate.public_bytes(Encoding.DER))


def _pdfs(folders: Iterable[Path], skip: Path, names_to_skip: set[str]) -> Iterable[Path]:
    """Every regular ``*.pdf`` under ``folders`` (sorted, each once), none inside ``skip`` (the bundle being
    written) and none named like a recorded share card (those are sealed secrets: never read here)."""
    seen: set[Path] = set()
    skip = skip.resolve()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() != ".pdf" or path.is_symlink() or not path.is_file():
                continue
            real = path.resolve()
            if real in seen or real.is_relative_to(skip) or path.name in names_to_skip:
                continue
            seen.add(real)
            yield path


def _bundle_name(kind: str, sha256: str, file_name: str | None, found: Path) -> str:
    for candidate in (Path(file_name).name if file_name else "", found.name):
        if _SAFE_NAME.fullmatch(candidate):
            return candidate
    return f"{kind}-{sha256[:16]}.pdf"


def copy_documents(
    ledger_path: Path, out_dir: Path, search: Sequence[Path]
) -> tuple[list[BundledDocument], int]:
    """Copy every signed document ``ledger_path`` issued into ``out_dir/documents/`` (see module docstring).

    Returns every document the ledger issued but share cards, bundled or not found, in event order, and
    the number of share cards left out."""
    from ceremony.ledger.register import read

    with Ledger.open_for_reading(ledger_path) as ledger:
        register = read(ledger)
    issued = sorted(register.documents.values(), key=lambda r: r.seq)
    cards = [r for r in issued if r.record.kind == SHARE_CARD]
    wanted = {r.record.sha256: r for r in issued if r.record.kind != SHARE_CARD}
    card_names = {Path(r.record.file_name).name for r in cards if r.record.file_name}
    found: dict[str, Path] = {}
    if wanted:
        for path in _pdfs(search, out_dir, card_names):
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                continue
            digest = _sha256_file(path)
            if digest in wanted and digest not in found:
                found[digest] = path
    folder = Path(out_dir) / DOCUMENTS_DIR
    taken: set[str] = set()
    out: list[BundledDocument] = []
    for digest, recorded in wanted.items():
        record = recorded.record
        source = found.get(digest)
        relative: str | None = None
        if source is not None:
            sub = record.ceremony_id or record.kind
            name = _bundle_name(record.kind, digest, record.file_name, source)
            stem, suffix, n = name[: -len(".pdf")], ".pdf", 1
            while f"{sub}/{name}" in taken:
                n += 1
                name = f"{stem}-{n}{suffix}"
            taken.add(f"{sub}/{name}")
            target = folder / sub / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            if _sha256_file(target) != digest:  # changed while being copied
                target.unlink()
            else:
                relative = target.relative_to(out_dir).as_posix()
        out.append(
            BundledDocument(digest, record.kind, recorded.seq, record.subject, record.ceremony_id, relative)
        )
    return out, len(cards)


def check_documents(
    ledger_path: Path, bundle: Path, documents: Sequence[BundledDocument]
) -> list[DocumentResult]:
    """Check each bundled document against the ledger copy: the ``document.issued`` event the manifest names
    must record exactly its SHA-256, and every signature the event lists must be in the PDF and valid
    against that person's enrolled certificate (:func:`ceremony.flows.audit.check_document`).

    :raises BundleIntegrityError: naming the first document that fails."""
    from ceremony.flows.audit import check_document

    results: list[DocumentResult] = []
    with Ledger.open_for_reading(ledger_path) as ledger:
        for document in documents:
            if document.path is None:
                continue
            check = check_document(ledger, bundle / document.path)
            if check.event_seq != document.event_seq or check.sha256 != document.sha256:
                raise BundleIntegrityError(
                    f"{document.path}: the ledger copy has no document.issued event #{document.event_seq} "
                    f"with its SHA-256 {check.sha256}: it was altered, or belongs to another ledger"
                )
            if not check.ok:
                problems = [s.summary for s in check.signatures if not s.ok]
                problems += [
                    f"no signature by {name}, whom the ledger says signed it" for name in check.missing
                ]
                raise BundleIntegrityError(
                    f"{document.path}: {'; '.join(problems) or 'signatures do not verify'}"
                )
            results.append(
                DocumentResult(document, True, check.summary(), tuple(s.signer for s in check.signatures))
            )
    return results


def write_manifest(
    out_dir: Path,
    signer: BundleSigner,
    *,
    ledger_id: str = "",
    checkpoint: str = "",
    documents: Sequence[BundledDocument] = (),
    share_cards_left_out: int = 0,
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
        "documents": [d.to_json() for d in documents],
        "share_cards_not_bundled": share_cards_left_out,
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
    entries = manifest.get("documents", [])
    if not isinstance(entries, list):
        raise BundleIntegrityError("the signed manifest's document list is not a list")
    documents = tuple(BundledDocument.from_json(entry) for entry in entries)
    for document in documents:
        if document.path is not None and listed.get(document.path) != document.sha256:
            raise BundleIntegrityError(
                f"the signed manifest lists {document.path} as {document.kind} {document.sha256}, but its "
                "file list gives another SHA-256 or none"
            )
    cards = manifest.get("share_cards_not_bundled", 0)
    return ManifestCheck(
        files=len(listed),
        signed_by=str(signed_by.get("person_id", "")),
        cert_sha256=fingerprint,
        ledger_id=str(manifest.get("ledger_id", "")),
        checkpoint=str(manifest.get("checkpoint", "")),
        listed={str(k): str(v) for k, v in listed.items()},
        documents=documents,
        share_cards_left_out=cards if isinstance(cards, int) else 0,
    )
