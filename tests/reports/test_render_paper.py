"""The report PDF is printed with the forms' toolkit (ceremony.documents.pdfkit, issue 14 part 1.3): the same
header band, footer and palette, and the checkpoint's hashes in groups never broken inside one. Read back
from the real PDF (pypdf text, poppler for the page image)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_scenario import AS_OF, Scenario

from ceremony.documents import pdfkit
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.store import Ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import to_pdf


def _report(sc: Scenario, kind: str):
    with Ledger.open_for_reading(sc.path) as ledger:
        facts = read_facts(ledger)
    return build_report(kind, facts, Filters(), AS_OF), facts.checkpoint_text


def test_report_pages_carry_the_toolkits_header_and_footer(scenario: Scenario) -> None:
    report, checkpoint = _report(scenario, "custody")
    pages = PdfReader(io.BytesIO(to_pdf(report))).pages
    for number, page in enumerate(pages, start=1):
        lines = page.extract_text().splitlines()
        text = " ".join(" ".join(lines).split())
        # Header band: who issues it (left), the ledger and date (right), the rehearsal alert.
        assert (report.organisation or "ceremony") in lines[0] and f"Ledger {report.ledger_name}" in text
        assert "REHEARSAL LEDGER - TEST KEYS ONLY" in text
        assert f"page {number} of {len(pages)}" in text and checkpoint in text


def test_report_checkpoint_hashes_are_printed_in_whole_groups(scenario: Scenario) -> None:
    report, checkpoint = _report(scenario, "keys")
    first = PdfReader(io.BytesIO(to_pdf(report))).pages[0].extract_text()
    grouped = Checkpoint.parse(checkpoint).grouped()
    for line in grouped:
        assert " ".join(line.split()) in " ".join(first.split()), line
    groups = {g for line in grouped for g in line.split() if re.fullmatch(r"[0-9a-fA-F]{8}", g)}
    assert groups and all(g in first for g in groups)


def test_reports_and_forms_share_one_palette_and_style_sheet() -> None:
    import ceremony.documents.render as forms
    import ceremony.reports.render as reports

    for name in ("INK", "RULE", "SHADE", "STYLES"):
        assert getattr(reports, name) is getattr(pdfkit, name) and getattr(forms, name) is getattr(
            pdfkit, name
        )
    for module in (forms, reports):
        source = Path(module.__file__).read_text()
        assert "HexColor" not in source and 'ParagraphStyle("body"' not in source
        assert "SimpleDocTemplate" not in source and "def _furniture" not in source


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_report_renders_as_an_image(scenario: Scenario, tmp_path: Path) -> None:
    report, _ = _report(scenario, "custody")
    pdf = tmp_path / "custody.pdf"
    pdf.write_bytes(to_pdf(report))
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True
    )
    (png,) = tmp_path.glob("p*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
