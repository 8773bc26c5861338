"""What a rehearsal leaves in its output folder: the papers it lists (``manifest.json``, with the SHA-256 the
ledger's ``document.issued`` events record), the README, and the reports a trainer reads out
(``report.txt``: each step, refused or accepted, against what the script expected).

Files the manifest names are written under exactly that name or not at all
(:func:`ceremony.documents.archive.write_exclusive`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceremony.documents import archive
from ceremony.documents.sign import sha256_of
from ceremony.errors import DocumentError, InputError

if TYPE_CHECKING:
    from ceremony.flows.closeout import Closed
    from ceremony.flows.paperwork import SignedDocument
    from ceremony.flows.rehearsal.departure import DepartureResult
    from ceremony.flows.rehearsal.lifecycle import LifecycleResult
    from ceremony.flows.rehearsal.sequence import SequenceResult


@dataclass(frozen=True)
class ManifestEntry:
    kind: str
    path: str  # relative to the output folder, '/'-separated
    sha256: str
    subject: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256, "subject": self.subject}


@dataclass
class Papers:
    """The files of one output folder, in the order written, as ``manifest.json`` lists them."""

    out_dir: Path
    entries: list[ManifestEntry] = field(default_factory=list)

    def write(self, relative: str, data: bytes | memoryview, kind: str, subject: str) -> ManifestEntry:
        archive.write_exclusive(self.out_dir / relative, data)  # the manifest names this exact file
        self.entries.append(ManifestEntry(kind, relative, sha256_of(data), subject))
        return self.entries[-1]

    def keep(self, document: SignedDocument) -> Path:
        """The close-out's keeper (:class:`ceremony.flows.closeout.CloseOut`): acknowledgement forms under
        ``acknowledgements/``, the minutes at the top."""
        record = document.record
        folder = "acknowledgements/" if record.kind == "acknowledgement" else ""
        entry = self.write(folder + record.file_name, document.pdf, record.kind, record.subject)
        return self.out_dir / entry.path


def prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"the output folder {out_dir} is not empty; give a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def papers_missing(closed: Closed) -> DocumentError:
    """The error a rehearsal ends with when its close-out could not make every paper: the ceremony is
    closed (the key wiped, the split in force), and the missing papers are named, never pretended."""
    return DocumentError(
        f"ceremony {closed.ceremony_id} was closed (key wiped; closing checkpoint in manifest.json), but not "
        f"every paper exists: {'; '.join(closed.problems)}. The manifest lists only the files written; issue "
        "the missing papers again on the closed ceremony"
    )


README_TEXT = """REHEARSAL OUTPUT - TEST KEY, TEST SHARES

Everything in this folder comes from a rehearsal on a rehearsal ledger (ledger {ledger_id}).
The key {key_id} is a TEST key (test_key: true in the ledger) and the share cards hold TEST shares:
they must never protect production data (PCI DSS 3.6.1.1: test and production keys never mix).
In a production ceremony share cards are never written to disk; here they are, for training.

Print and seal as in a real ceremony: manifest.json lists every document with its SHA-256, the same
SHA-256 the ledger recorded in its document.issued events. Destroy the share cards after training.
"""

LIFECYCLE_README = """REHEARSAL OUTPUT - TEST KEY ({kind})

Everything in this folder comes from a {kind} rehearsal on a rehearsal ledger (ledger {ledger_id}),
of the TEST key {key_id} (test_key: true in the ledger). Share cards and component cards here hold TEST
material and a wrapped key file wraps a TEST key under a TEST key-encryption key: never use them to
protect production data (PCI DSS 3.6.1.1). report.txt lists every step and its outcome; the signed
minutes (minutes-<ceremony id>.pdf) are the ceremony's record; manifest.json lists every file with its
SHA-256.
"""


def lifecycle_report(result: LifecycleResult) -> str:
    """The step-by-step outcome a trainer reads out: each share presented, refused or accepted, against
    what the script expected."""
    lines = [
        f"{result.kind.capitalize()} rehearsal {result.ceremony_id or '(not started)'} of TEST key "
        f"{result.key_id}: {result.outcome} (expected: {result.expected_outcome})",
    ]
    for s in result.steps:
        what = {
            "present": f"share {s.share} presented by {s.presented_by}",
            "return envelope": f"envelope returned by {s.presented_by}",
        }.get(s.action, s.action)
        got = s.result + (f": {s.reason}" if s.reason else "")
        if s.bad_shares:
            got += f" (bad share {', '.join(map(str, s.bad_shares))})"
        mark = "as expected" if s.as_expected else f"NOT AS EXPECTED (expected {s.expected})"
        step = f"step {s.index}" if s.index else ("start" if s.action == "start" else "end")
        lines.append(f"  {step:<8} {what:<40} {got:<40} [{s.progress or '-'}] {mark}")
        if s.message:
            lines.append(f"           {s.message}")
    lines.append(f"Everything as the script expected: {'yes' if result.as_expected else 'NO'}")
    lines.append(f"Time: {result.seconds:.1f} s")
    return "\n".join(lines) + "\n"


def departure_report(result: DepartureResult) -> str:
    if result.seq is None:
        head = f"Departure of {result.name} ({result.employee_id}): {result.outcome}"
    else:
        head = (
            f"Departure of {result.name} ({result.employee_id}) recorded at event #{result.seq}; keys they "
            f"ever knew, now flagged 'must be replaced' (PCI DSS 3.7.5): {', '.join(result.keys) or 'none'}"
        )
    mark = "as expected" if result.as_expected else f"NOT AS EXPECTED (expected {result.expected_outcome})"
    lines = [head + f" [{mark}]"]
    if result.message:
        lines.append(f"  {result.message}")
    return "\n".join(lines) + "\n"


def sequence_report(result: SequenceResult) -> str:
    """Each stage's outcome and, after it, where each named key stands (PCI DSS 3.7.5), against the script."""
    lines = [
        f"Sequence rehearsal on rehearsal ledger {result.ledger_id}: {len(result.stages)} of "
        f"{result.planned} stage(s) run"
    ]
    for stage in result.stages:
        what = f"{stage.kind} {stage.name}".strip()
        mark = "as expected" if stage.as_expected else "NOT AS EXPECTED"
        lines.append(f"stage {stage.index}: {what}: {stage.outcome} (expected {stage.expected}) [{mark}]")
        lines += [f"    {line}" for line in stage.details.rstrip("\n").split("\n")]
        for flag in stage.flags:
            ok = "as expected" if flag.as_expected else f"NOT AS EXPECTED (expected {flag.expected})"
            lines.append(f"    key {flag.name} ({flag.key_id}): {flag.actual} [{ok}]")
            if flag.text:
                lines.append(f"        {flag.text}")
    lines.append(f"Everything as the script expected: {'yes' if result.as_expected else 'NO'}")
    lines.append(f"Time: {result.seconds:.1f} s")
    return "\n".join(lines) + "\n"
