"""How a preflight's findings and verdict look on screen — one wording for generation and for recovery,
re-share and retirement (PCI DSS 1.2.6: an uncovered finding blocks)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ceremony.preflight import Coverage, PreflightReport, Verdict


def fill_findings(table: DataTable[Text], report: PreflightReport, coverage: Coverage) -> None:
    """One row per finding: pass, excepted (an active exception covers it) or its verdict in red."""
    table.clear()
    for finding in report.findings:
        if finding.verdict is Verdict.PASS:
            status = Text("pass", style="green")
        elif coverage.exception_for(finding) is not None:
            status = Text("excepted", style="yellow")
        else:
            status = Text(finding.verdict.value.upper(), style="bold red")
        table.add_row(status, Text(finding.check), Text(finding.subject or finding.summary))


def verdict_text(coverage: Coverage, rehearsal: bool) -> Text:
    """Clear, or blocked — and the way on: record and continue on a rehearsal ledger, else fix or except."""
    if not coverage.blocked:
        return Text("✓ Preflight clear: no uncovered finding.", style="bold green")
    text = Text(
        f"✗ BLOCKED: {len(coverage.uncovered)} finding(s) without an active exception.", style="bold red"
    )
    if rehearsal:
        text.append("\nRehearsal ledger: you may record them and continue.", style="yellow")
    else:
        text.append(
            "\nFix them and run again, or a security officer records an exception (PCI 1.2.6).", style="red"
        )
    return text
