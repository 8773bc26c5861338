"""PDF reports read back with pypdf: every page has "page X of Y" and the ledger checkpoint line."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from report_scenario import AS_OF, Scenario

from ceremony.ledger.store import Ledger
from ceremony.reports import KINDS, build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import to_pdf


def _pdf(sc: Scenario, kind: str) -> tuple[bytes, str]:
    with Ledger.open_for_reading(sc.path) as ledger:
        facts = read_facts(ledger)
    return to_pdf(build_report(kind, facts, Filters(), AS_OF)), facts.checkpoint_text


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_page_has_page_numbers_and_the_checkpoint(scenario: Scenario, kind: str) -> None:
    pdf, checkpoint = _pdf(scenario, kind)
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages >= 1
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"page {number} of {pages}" in text
        assert checkpoint in text
        assert "REHEARSAL LEDGER" in text
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # A4 landscape


def test_custody_pdf_names_holders_envelopes_and_coalition(scenario: Scenario) -> None:
    pdf, _ = _pdf(scenario, "custody")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    for serial in scenario.envelopes.values():
        assert serial in text
    assert "Smallest coalition" in text and "2 people" in text
    assert "C2 (deactivated)" in text  # c2 left but never returned the envelope


def test_pdf_is_deterministic(scenario: Scenario) -> None:
    assert _pdf(scenario, "keys")[0] == _pdf(scenario, "keys")[0]
