"""Air-gap preflight (DESIGN §4.1, PCI DSS 1.2.6 / 2.2.3): what the running laptop shows, as evidence.

report = run_preflight(now)                       # every check; never raises for unreadable /proc
coverage = covering(report.findings, exceptions, now)
coverage.blocked                                  # an insecure/unknown finding no active exception covers
evidence_payload(report, coverage)                # what the ledger event and the minutes record
"""

from __future__ import annotations

from ceremony.preflight.checks import CHECK_IDS, CHECKS, Check
from ceremony.preflight.exceptions import (
    MAX_EXCEPTION_LIFETIME,
    Cover,
    Coverage,
    ExceptionRecord,
    active_exceptions,
    covering,
    load_exceptions,
    needs_cover,
)
from ceremony.preflight.findings import LIVE, Finding, SystemRoot, Verdict
from ceremony.preflight.report import PreflightReport, evidence_payload, run_preflight

__all__ = [
    "CHECKS",
    "CHECK_IDS",
    "LIVE",
    "MAX_EXCEPTION_LIFETIME",
    "Check",
    "Cover",
    "Coverage",
    "ExceptionRecord",
    "Finding",
    "PreflightReport",
    "SystemRoot",
    "Verdict",
    "active_exceptions",
    "covering",
    "evidence_payload",
    "load_exceptions",
    "needs_cover",
    "run_preflight",
]
