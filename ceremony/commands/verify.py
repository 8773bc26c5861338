"""``ceremony verify [--ledger PATH] [--checkpoint TEXT]... [--format text|json]`` (DESIGN §5).

Replays the whole ledger (chain, signatures against enrolled certificates, custody rule, paper checkpoints;
see :mod:`ceremony.ledger.verify`). Intact: exit 0 and a one-line summary. Any fault: exit 4 and one line
naming the first bad event and what is wrong (in JSON on stdout with ``--format json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError, LedgerIntegrityError, SignatureError


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
        "or case): refuses a ledger rewritten from its beginning or another ledger",
    )
    parser.add_argument(
        "--document",
        metavar="FILE.pdf",
        type=Path,
        help="also tell which ledger event issued this document and whether it was altered",
    )
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        type=Path,
        help="check an evidence bundle made by `ceremony export`: the signed manifest, then its ledger copy",
    )
    parser.add_argument(
        "--officer-cert-sha256",
        metavar="HEX",
        help="with --bundle: the exporting officer's certificate fingerprint, known from elsewhere (paper "
        "minutes, the production ledger); without it the bundle's own enrollment record is trusted",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.ledger.verify import verify_ledger

    manifest_json: dict[str, Any] | None = None
    if args.bundle is not None:
        path, manifest_json = _check_bundle(args.bundle, args.officer_cert_sha256)
    else:
        path = ledger_path(args)
    try:
        result = verify_ledger(path, args.checkpoint, anchor=args.anchor)
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
        return _check_document(path, args.document, args.format, result.to_json())
    if args.format == "json":
        out = result.to_json()
        if manifest_json is not None:
            out = {**out, "bundle": manifest_json}
        print(json.dumps(out))
    else:
        if manifest_json is not None:
            print(
                f"bundle: manifest of {manifest_json['files']} files intact, signed by "
                f"{manifest_json['signed_by']} (certificate {manifest_json['cert_sha256'][:16]}…)"
            )
        print(result.summary())
    sys.stdout.flush()
    return 0


def _check_bundle(bundle: Path, pinned: str | None) -> tuple[Path, dict[str, Any]]:
    """Check the bundle's signed manifest; return its ledger copy (verified next) and what was checked."""
    from ceremony.errors import BundleIntegrityError
    from ceremony.ledger import participants
    from ceremony.ledger.store import Ledger
    from ceremony.reports.bundle import MANIFEST, check_manifest

    if not bundle.is_dir():
        raise InputError(f"no bundle folder at {bundle}")
    copy = bundle / "ledger.sqlite3"
    try:
        signer_id = str(json.loads((bundle / MANIFEST).read_bytes())["signed_by"]["person_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleIntegrityError(
            f"{bundle} has no readable signed manifest (export it with --officer)"
        ) from None
    with Ledger.open_for_reading(copy) as ledger:
        officer = participants.participant(ledger, signer_id)
    if "security_officer" not in officer.roles:
        raise BundleIntegrityError(f"the manifest is signed by {officer.name}, who is not a security officer")
    if not officer.active:
        raise BundleIntegrityError(
            f"the manifest is signed by {officer.name}, who was deactivated at event "
            f"#{officer.deactivated_seq}"
        )
    if pinned is not None and pinned.strip().lower() != officer.cert_sha256:
        raise BundleIntegrityError(
            "the manifest's signer is not the officer whose certificate fingerprint was given"
        )
    check = check_manifest(bundle, officer.certificate)
    return copy, {
        "files": check.files,
        "signed_by": officer.name,
        "person_id": check.signed_by,
        "cert_sha256": check.cert_sha256,
    }


def _check_document(path: Path, document: Path, fmt: str, ledger_json: dict[str, Any]) -> int:
    from ceremony.flows.audit import check_document
    from ceremony.ledger.store import Ledger

    if not document.is_file():
        raise InputError(f"no document at {document}")
    with Ledger.open_for_reading(path) as ledger:
        check = check_document(ledger, document)
    if fmt == "json":
        print(json.dumps({"ledger": ledger_json, "document": check.to_json()}))
    else:
        print(check.summary())
    return 0 if check.ok else SignatureError.exit_code
