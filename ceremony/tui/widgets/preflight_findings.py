"""How a preflight's findings and verdict look on screen — one wording for generation and for recovery,
re-share and retirement (PCI DSS 1.2.6: an uncovered finding blocks)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ceremony.preflight import Coverage, Finding, PreflightReport, Verdict


def fill_findings(table: DataTable[Text], report: PreflightReport, coverage: Coverage) -> None:
    """One row per finding: its verdict in red, excepted (an active exception covers it) or pass — in that
    order, so what blocks is at the top. At 80x24 the table is a few rows high (``#findings`` in app.tcss)
    and scrolls: focused, the arrows, Page Up/Down and Ctrl+Home/End reach every finding."""
    table.clear()
    rows: list[tuple[int, Text, Finding]] = []
    for finding in report.findings:
        if finding.verdict is Verdict.PASS:
            rows.append((2, Text("pass", style="green"), finding))
        elif coverage.exception_for(finding) is not None:
            rows.append((1, Text("excepted", style="yellow"), finding))
        else:
            rows.append((0, Text(finding.verdict.value.upper(), style="bold red"), finding))
    for _, status, finding in sorted(rows, key=lambda row: row[0]):
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
            "\nFix them and Run again, or a security officer and a witness choose "
            "Record an exception… (PCI 1.2.6).",
            style="red",
        )
    return text
