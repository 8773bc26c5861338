"""``ceremony verify [--ledger PATH | --bundle DIR] [--checkpoint TEXT]... [--anchor TEXT] [--document FILE]
[--officer-cert-sha256 HEX] [--format text|json]`` (DESIGN §5, issue 15).

Replays the whole ledger (chain, signatures against enrolled certificates, custody rule, paper checkpoints;
see :mod:`ceremony.ledger.verify`). Intact: exit 0 and a summary. Any fault: exit 4 and one line naming
the first bad event and what is wrong (in JSON on stdout with ``--format json``). A rehearsal ledger says so
on a line of its own (``"rehearsal": true`` in JSON).

With ``--bundle DIR`` (made by ``ceremony export --officer``): the signed manifest (every file, none missing,
changed or added), who signed it and whether the auditor pinned that person — by the certificate
fingerprint given with ``--officer-cert-sha256`` (as printed: any grouping or case; a prefix is refused) or
through the ledger anchor given with ``--anchor`` (the bundle's ledger must have that genesis and root) —
then the ledger copy, then every bundled document against its ``document.issued`` event and its signatures.
``--document FILE`` with ``--bundle``: a report listed in the signed manifest is recognised as one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceremony.commands import existing_ledger, ledger_path
from ceremony.errors import InputError, LedgerIntegrityError, SignatureError

if TYPE_CHECKING:
    from ceremony.ledger.participants import Participant
    from ceremony.ledger.verify import VerifyResult
    from ceremony.reports.bundle import DocumentResult, ManifestCheck

BUNDLE_CONTENTS = (
    "ledger.sqlite3, events.jsonl, checkpoint.txt, root.pem, anchor.txt, reports/, documents/, and "
    "manifest.json with manifest.sig (the security officer's signature)"
)
REHEARSAL_LINE = (
    "REHEARSAL: this is a rehearsal ledger (TEST keys only); it is not evidence of a production key ceremony"
)
NOT_PINNED = "NOT PINNED: the bundle vouches for itself; give --anchor or --officer-cert-sha256"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the ledger: hash chain, signatures, custody rule, paper checkpoints",
        description="Replays every ledger event and stops at the first fault. "
        "Exit 0 when intact, 4 on a fault.",
    )
    # SUPPRESS: given after the command it overrides the global --ledger; absent, it leaves that alone.
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to verify")
    parser.add_argument(
        "--checkpoint",
        metavar="TEXT",
        action="append",
        default=[],
        help="a checkpoint from a signed form or the close-out screen, quoted, exactly as printed (CEREMONY-"
        "CHECKPOINT V1 ..., its hashes in groups; any spacing, line breaks or case; repeatable): proves "
        "nothing was cut off or rewritten",
    )
    parser.add_argument(
        "--anchor",
        metavar="TEXT",
        help="the ledger anchor printed at first run and on every form (CEREMONY-ANCHOR V1 ...; any spacing "
        "or case): refuses a ledger rewritten from its beginning or another ledger; with --bundle it also "
        "pins the manifest's signer to that ledger",
    )
    parser.add_argument(
        "--document",
        metavar="FILE.pdf",
        type=Path,
        help="also tell which ledger event issued this document and whether it was altered (with --bundle: "
        "a report listed in the signed manifest is recognised as one)",
    )
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        type=Path,
        help="check an evidence bundle made by `ceremony export --officer`: the signed manifest, its ledger "
        "copy, and every signed document in it",
    )
    parser.add_argument(
        "--officer-cert-sha256",
        metavar="HEX",
        help="with --bundle: the exporting officer's certificate fingerprint as `ceremony export` printed it "
        "(all 64 hex digits; any grouping, spacing or case), known from elsewhere than the bundle",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class BundleCheck:
    """What ``--bundle`` found before and after the ledger copy was replayed."""

    ledger: Path
    manifest: ManifestCheck
    officer: Participant
    pinned_fingerprint: bool
    documents: tuple[DocumentResult, ...] = ()

    def pinned_by(self, anchor_checked: bool) -> str | None:
        if self.pinned_fingerprint:
            return "fingerprint"
        return "anchor" if anchor_checked else None

    def pin_line(self, result: VerifyResult) -> str:
        """PINNED (by the fingerprint or the anchor the auditor gave) or NOT PINNED, in plain words."""
        how, name = self.pinned_by(result.anchor_checked), self.officer.name
        if how == "fingerprint":
            return f"PINNED: signed by {name} whose certificate fingerprint you gave"
        if how == "anchor":
            return (
                f"PINNED: signed by {name}, security officer of ledger {result.ledger_id} whose anchor you "
                "gave (its genesis and root certificate match)"
            )
        return NOT_PINNED

    def lines(self, result: VerifyResult) -> list[str]:
        from ceremony.crypto.fingerprint import printed

        officer, check = self.officer, self.manifest
        lines = [
            f"bundle: manifest of {check.files} files intact, signed by {officer.name} "
            f"({officer.employee_id}), security officer",
            f"  certificate fingerprint (SHA-256): {printed(check.cert_sha256)}",
        ]
        lines.append(self.pin_line(result))
        missing = [d for d in check.documents if d.path is None]
        lines.append(
            f"documents: {len(self.documents)} of {len(check.documents)} signed documents the ledger issued "
            "are in the bundle, each matches its document.issued event and its signatures are valid"
            + (
                f"; {check.share_cards_left_out} sealed share cards are never bundled"
                if check.share_cards_left_out
                else ""
            )
        )
        for result_ in self.documents:
            doc = result_.document
            by = ", ".join(result_.signers) or "nobody"
            lines.append(f"  ok  {doc.path}  {doc.kind}, event #{doc.event_seq}, signed by {by}")
        for doc in missing:
            lines.append(
                f"  NOT FOUND when exported: {doc.kind} of event #{doc.event_seq}, SHA-256 {doc.sha256}"
            )
        return lines

    def to_json(self, result: VerifyResult) -> dict[str, Any]:
        from ceremony.crypto.fingerprint import printed

        how = self.pinned_by(result.anchor_checked)
        return {
            "files": self.manifest.files,
            "signed_by": self.officer.name,
            "person_id": self.manifest.signed_by,
            "employee_id": self.officer.employee_id,
            "cert_sha256": self.manifest.cert_sha256,
            "cert_sha256_printed": printed(self.manifest.cert_sha256),
            "pinned": how is not None,
            "pinned_by": how,
            "documents": [d.to_json() for d in self.documents]
            + [d.to_json() for d in self.manifest.documents if d.path is None],
            "documents_checked": len(self.documents),
            "documents_not_found": sum(1 for d in self.manifest.documents if d.path is None),
            "share_cards_not_bundled": self.manifest.share_cards_left_out,
        }


def run(args: argparse.Namespace) -> int:
    from ceremony.ledger.verify import verify_ledger

    bundle: BundleCheck | None = None
    pinned: str | None = None
    if args.officer_cert_sha256 is not None:
        if args.bundle is None:
            raise InputError("--officer-cert-sha256 pins the signer of a bundle: use it with --bundle DIR")
        from ceremony.crypto.fingerprint import parse_fingerprint

        pinned = parse_fingerprint(args.officer_cert_sha256)
    if args.bundle is not None:
        bundle = _check_bundle(args.bundle, pinned)
        path = bundle.ledger
    else:
        path = existing_ledger(ledger_path(args), bundle_hint=True)
    try:
        result = verify_ledger(path, args.checkpoint, anchor=args.anchor)
        if bundle is not None:
            from ceremony.reports.bundle import check_documents

            docs = check_documents(path, args.bundle, bundle.manifest.documents)
            bundle = BundleCheck(
                bundle.ledger, bundle.manifest, bundle.officer, bundle.pinned_fingerprint, tuple(docs)
            )
    except LedgerIntegrityError as exc:
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "ok": False,
                        "ledger": str(path),
                        "seq": exc.seq,
                        "type": exc.event_type,
                        "rule": exc.rule,
                        "error": str(exc),
                    }
                )
            )
            return exc.exit_code
        raise
    if args.document is not None:
        return _check_document(path, args.document, args.format, result, bundle)
    if args.format == "json":
        out = result.to_json()
        if bundle is not None:
            out = {**out, "bundle": bundle.to_json(result)}
        print(json.dumps(out))
    else:
        if result.rehearsal:
            print(REHEARSAL_LINE)
        if bundle is not None:
            print("\n".join(bundle.lines(result)))
        print(result.summary())
    sys.stdout.flush()
    return 0


def _check_bundle(bundle: Path, pinned: str | None) -> BundleCheck:
    """Check the bundle's signed manifest and who signed it; the ledger copy is verified next."""
    from ceremony.crypto.fingerprint import printed
    from ceremony.errors import BundleIntegrityError
    from ceremony.ledger import participants
    from ceremony.ledger.store import Ledger
    from ceremony.reports.bundle import MANIFEST, cert_fingerprint, check_manifest

    make = "make one with `ceremony export --ledger PATH --out DIR --officer EMPLOYEE_ID`"
    if not bundle.is_dir():
        what = "a file" if bundle.is_file() else "nothing"
        raise InputError(
            f"--bundle {bundle}: there is {what} there, not a bundle folder; a bundle folder holds "
            f"{BUNDLE_CONTENTS}; {make}"
        )
    copy = bundle / "ledger.sqlite3"
    if not (bundle / MANIFEST).exists() and not copy.exists():
        raise InputError(
            f"{bundle} is not an evidence bundle (no manifest.json, no ledger.sqlite3): a bundle folder "
            f"holds {BUNDLE_CONTENTS}; {make}; a ledger file alone is checked with --ledger PATH"
        )
    try:
        signer_id = str(json.loads((bundle / MANIFEST).read_bytes())["signed_by"]["person_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleIntegrityError(
            f"{bundle} has no readable signed manifest (manifest.json): it was exported without --officer, "
            f"or the manifest was removed or damaged; {make}, or check the ledger copy alone with "
            f"--ledger {copy}"
        ) from None
    if not copy.is_file():
        raise BundleIntegrityError(f"{bundle} has a manifest but no ledger.sqlite3: the bundle is incomplete")
    with Ledger.open_for_reading(copy) as ledger:
        officer = participants.participant(ledger, signer_id)
    if "security_officer" not in officer.roles:
        raise BundleIntegrityError(f"the manifest is signed by {officer.name}, who is not a security officer")
    if not officer.active:
        raise BundleIntegrityError(
            f"the manifest is signed by {officer.name}, who was deactivated at event "
            f"#{officer.deactivated_seq}"
        )
    # The fingerprint of the certificate itself (DER), not the field recorded beside it: the signature below
    # is checked with exactly this certificate.
    actual = cert_fingerprint(officer.certificate)
    if pinned is not None and pinned != actual:
        raise BundleIntegrityError(
            "the manifest's signer is not the officer whose certificate fingerprint was given: it is signed "
            f"by {officer.name}, certificate fingerprint {printed(actual)}; "
            f"you gave {printed(pinned)}"
        )
    check = check_manifest(bundle, officer.certificate)
    return BundleCheck(copy, check, officer, pinned is not None)


def _check_document(
    path: Path, document: Path, fmt: str, result: VerifyResult, bundle: BundleCheck | None
) -> int:
    from ceremony.flows.audit import check_document
    from ceremony.ledger.store import Ledger

    if not document.is_file():
        raise InputError(f"no document at {document}")
    ledger_json = result.to_json()
    if bundle is not None:
        report = _listed_file(document, bundle)
        if report is not None:
            ok, line, listed_as = report
            if fmt == "json":
                out = {
                    "ok": ok,
                    "kind": "report" if listed_as and listed_as.startswith("reports/") else "bundle file",
                    "bundle_path": listed_as,
                    "sha256": _sha256(document),
                    "event_seq": None,
                    "ceremony_id": None,
                    "summary": line,
                }
                print(json.dumps({"ledger": ledger_json, "bundle": bundle.to_json(result), "document": out}))
            else:
                if result.rehearsal:
                    print(REHEARSAL_LINE)
                print(bundle.pin_line(result))
                print(line)
            return 0 if ok else SignatureError.exit_code
    with Ledger.open_for_reading(path) as ledger:
        try:
            check = check_document(ledger, document)
        except SignatureError as exc:
            raise SignatureError(f"{document}: {exc}") from None
    if fmt == "json":
        doc = check.to_json()
        doc["ceremony_id"] = check.ceremony_id or None  # null when the document belongs to no ceremony
        out_json: dict[str, Any] = {"ledger": ledger_json, "document": doc}
        if bundle is not None:
            out_json["bundle"] = bundle.to_json(result)
        print(json.dumps(out_json))
    else:
        if result.rehearsal:
            print(REHEARSAL_LINE)
        if bundle is not None:
            print(bundle.pin_line(result))
        print(f"document {document}:")
        print(check.summary())
    return 0 if check.ok else SignatureError.exit_code


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listed_file(document: Path, bundle: BundleCheck) -> tuple[bool, str, str | None] | None:
    """A file of the bundle that is not a document of the ledger (a report, the CSVs, root.pem...): matched
    against the signed manifest by SHA-256. None: not such a file (a signed document, or unknown)."""
    digest = _sha256(document)
    issued = {d.sha256 for d in bundle.manifest.documents}
    if digest in issued:
        return None  # a signed document: checked against its document.issued event
    listed_as = bundle.manifest.path_of(digest)
    officer = bundle.officer.name
    if listed_as is not None:
        what = "report made at export" if listed_as.startswith("reports/") else "file of the bundle"
        return (
            True,
            f"listed: {listed_as} in the manifest signed by {officer}, SHA-256 {digest} — a {what}, "
            "unaltered (reports are made from the ledger at export and signed through the manifest, "
            "not issued as ledger documents)",
            listed_as,
        )
    same_name = sorted(n for n in bundle.manifest.listed if Path(n).name == document.name)
    same_name = [n for n in same_name if not any(d.path == n for d in bundle.manifest.documents)]
    if same_name:
        return (
            False,
            f"ALTERED: {document} is not the {same_name[0]} listed in the manifest signed by {officer} "
            f"(SHA-256 {digest} differs from {bundle.manifest.listed[same_name[0]]})",
            same_name[0],
        )
    return None
