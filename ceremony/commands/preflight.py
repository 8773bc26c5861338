"""``ceremony preflight [--json] [--exceptions FILE]``: air-gap evidence for this laptop (DESIGN §4.1).

Prints one row per finding (verdict, check, summary) in 80 columns, then the details of every finding
that needs attention with its evidence and remedy; ``--json`` prints the same as the ledger event records.

Exit codes: 0 when every insecure or unknown finding is covered by an active exception (PCI DSS 1.2.6);
6 when at least one is not (the ceremony must not start); 2 for a bad exceptions file, 5 when an exception
breaks dual control (approver = witness).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony.errors import ExceptionRecordError, PreflightBlockedError
from ceremony.preflight.exceptions import Coverage, ExceptionRecord, covering, load_exceptions
from ceremony.preflight.findings import Finding, Verdict
from ceremony.preflight.report import PreflightReport, evidence_payload, run_preflight

EXIT_BLOCKED = PreflightBlockedError.exit_code
WIDTH = 80
VERDICT_WIDTH = 8
CHECK_WIDTH = 14
EVIDENCE_SHOWN = 6


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check that this laptop is air-gapped (exit 6 if an insecure finding is not excepted)",
        description="Air-gap preflight: network interfaces, listening sockets, routes, DNS, radios, swap, "
        "core dumps, process hardening and the code's own hashes. Exit 0 when clear, 6 when an insecure "
        "or unknown finding is not covered by an active exception.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (as the ledger records it)"
    )
    parser.add_argument(
        "--exceptions",
        metavar="FILE",
        type=Path,
        help="JSON list of exception records (PCI DSS 1.2.6) to apply",
    )
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="also apply the exceptions recorded in this ledger (default ledger if it exists)",
    )
    parser.set_defaults(handler=run)


def _load(path: Path | None) -> tuple[ExceptionRecord, ...]:
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExceptionRecordError(f"cannot read the exceptions file {path}: {exc.strerror}") from None
    return load_exceptions(text)


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _fit(text: str, width: int) -> str:
    """One line of at most ``width`` characters; longer text is cut with an ellipsis (--json has it all)."""
    text = text.replace("\t", " ").replace("\n", " ").rstrip()
    return text if len(text) <= width else text[: width - 1] + "…"


def _status(finding: Finding, coverage: Coverage) -> str:
    if finding.verdict is Verdict.PASS:
        return "pass"
    if coverage.exception_for(finding) is not None:
        return "excepted"
    return finding.verdict.value.upper()


def render_table(report: PreflightReport, coverage: Coverage) -> str:
    summary_width = WIDTH - VERDICT_WIDTH - CHECK_WIDTH - 4
    out = [
        _fit(f"Air-gap preflight of {report.host} at {_time(report.taken_at)}", WIDTH),
        _fit(f"kernel {report.kernel}", WIDTH),
        f"code sha256 {report.code_sha256 or 'unknown'}",
        "",
        f"{'VERDICT':<{VERDICT_WIDTH}}  {'CHECK':<{CHECK_WIDTH}}  SUMMARY",
    ]
    for f in report.findings:
        out.append(
            f"{_status(f, coverage):<{VERDICT_WIDTH}}  {f.check:<{CHECK_WIDTH}}  "
            + _fit(" ".join(f.summary.split()), summary_width)
        )
    attention = [f for f in report.findings if f.needs_attention]
    if attention:
        out += ["", "Details"]
    wrap = textwrap.TextWrapper(width=WIDTH, initial_indent="  ", subsequent_indent="  ")
    hang = textwrap.TextWrapper(width=WIDTH, initial_indent="  ", subsequent_indent="    ")
    flush = textwrap.TextWrapper(width=WIDTH)
    for f in attention:
        out += ["", _fit(f"{_status(f, coverage)}  {f.check}  {f.subject or '(whole check)'}", WIDTH)]
        out += wrap.wrap(f.summary)
        if f.evidence:
            out.append("  evidence:")
            out += ["    " + _fit(line, WIDTH - 4) for line in f.evidence[:EVIDENCE_SHOWN]]
            if len(f.evidence) > EVIDENCE_SHOWN:
                out.append(f"    ({len(f.evidence) - EVIDENCE_SHOWN} more lines with --json)")
        out += hang.wrap(f"remedy: {f.remedy}")
        exception = coverage.exception_for(f)
        if exception is not None:
            out += wrap.wrap(
                f"covered by exception {exception.exception_id} until {_time(exception.expires)}, "
                f"approved by {exception.approved_by}, witnessed by {exception.witness}"
            )
        else:
            out.append("  NOT COVERED by an active exception")
    for expired in coverage.expired:
        out += [
            "",
            *wrap.wrap(
                f"exception {expired.exception_id} ({expired.check} {expired.subject}) is not "
                f"active: valid {_time(expired.created)} to {_time(expired.expires)}"
            ),
        ]
    out.append("")
    if coverage.blocked:
        n = len(coverage.uncovered)
        out += flush.wrap(
            f"BLOCKED: {n} finding(s) insecure or unknown and not covered by an active exception; "
            f"the ceremony must not start (exit {EXIT_BLOCKED})."
        )
    else:
        relied = ", ".join(e.exception_id for e in coverage.relied_on)
        out += flush.wrap(
            "CLEAR: no uncovered insecure finding" + (f" (relying on {relied})." if relied else ".")
        )
    return "\n".join(line.rstrip() for line in out)


def _ledger_exceptions(args: argparse.Namespace, now: datetime) -> tuple[ExceptionRecord, ...]:
    """Exceptions recorded in the ledger (`ceremony exception add`), read-only; none if there is no ledger."""
    from ceremony.commands import ledger_path
    from ceremony.flows.exceptions import ledger_exceptions
    from ceremony.ledger.store import Ledger

    path = ledger_path(args)
    if not path.exists():
        if getattr(args, "ledger", None):
            raise ExceptionRecordError(f"no ledger at {path}")
        return ()
    with Ledger.open_for_reading(path) as ledger:
        return ledger_exceptions(ledger)


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    exceptions = _load(args.exceptions) + _ledger_exceptions(args, now)
    report = run_preflight(now)
    coverage = covering(report.findings, exceptions, now)
    if args.json:
        print(json.dumps(evidence_payload(report, coverage), ensure_ascii=False, sort_keys=True, indent=2))
    else:
        print(render_table(report, coverage))
    return EXIT_BLOCKED if coverage.blocked else 0
