"""One preflight run: every check against the running system, with the host, the kernel and the code hash.

The caller passes the time (``now``): this package reads the system but not the clock, so the ledger event
and the minutes carry the same instant the caller recorded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ceremony.errors import PreflightError
from ceremony.preflight.checks import CHECKS, Check
from ceremony.preflight.exceptions import Coverage
from ceremony.preflight.findings import LIVE, CheckInfo, Finding, SystemRoot, Unreadable, Verdict, unknown
from ceremony.preflight.integrity import INTEGRITY, CodeManifest, check_integrity, package_manifest

REPORT_FORMAT = 1


@dataclass(frozen=True)
class PreflightReport:
    taken_at: datetime
    host: str
    kernel: str
    code_sha256: str  # aggregate over the package files (integrity.py); "" when it could not be computed
    findings: tuple[Finding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {v.value: sum(1 for f in self.findings if f.verdict is v) for v in Verdict}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "taken_at": self.taken_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "host": self.host,
            "kernel": self.kernel,
            "code_sha256": self.code_sha256,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreflightReport:
        return cls(
            taken_at=datetime.fromisoformat(str(data["taken_at"]).replace("Z", "+00:00")),
            host=str(data["host"]),
            kernel=str(data["kernel"]),
            code_sha256=str(data["code_sha256"]),
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
        )


def run_preflight(
    now: datetime, root: SystemRoot = LIVE, checks: tuple[Check, ...] = CHECKS
) -> PreflightReport:
    """Run every check (each turns what it cannot read into an UNKNOWN finding; none raises)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise PreflightError("the preflight time must carry its time zone (UTC)")
    manifest: CodeManifest | None
    try:
        manifest = package_manifest()
    except Unreadable:
        manifest = None
    findings: list[Finding] = []
    for check in checks:
        if check.check == INTEGRITY.check:
            if manifest is None:
                findings += check_integrity()  # reports why, as UNKNOWN
            else:
                findings += check_integrity(manifest)
            continue
        try:
            findings += check.run(root)
        except Exception as exc:  # a defect in one check must not hide the others' evidence
            findings.append(
                unknown(CheckInfo(check.check, check.title), f"check failed: {type(exc).__name__}")
            )
    uname = os.uname()
    return PreflightReport(
        taken_at=now,
        host=uname.nodename,
        kernel=f"{uname.sysname} {uname.release} {uname.version} {uname.machine}",
        code_sha256=manifest.aggregate if manifest else "",
        findings=tuple(findings),
    )


def evidence_payload(report: PreflightReport, coverage: Coverage) -> dict[str, Any]:
    """What the ledger records for a preflight run and the minutes print: the report, which exceptions it
    relied on (full records, so the event stands alone), which findings stayed uncovered, and the verdict."""
    return {
        "report": report.to_dict(),
        "coverage": coverage.to_dict(),
        "cleared": not coverage.blocked,
    }
