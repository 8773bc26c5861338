"""Issue 15, item 3: every paper from a rehearsal ledger says so on every page; a production one does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ceremony.documents.render import (
    REHEARSAL_MODE,
    render_acknowledgement,
    render_minutes,
    render_reaffirmation,
)
from tests.documents import samples

MARK = " ".join(REHEARSAL_MODE.split())  # as pypdf reads it back


def _pages(pdf: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("kind", ["acknowledgement", "reaffirmation", "minutes"])
def test_rehearsal_ledger_marks_every_page_and_production_none(kind: str) -> None:
    if kind == "acknowledgement":
        data = samples.acknowledgement_data()
        papers = [
            render_acknowledgement(replace(data, ledger=replace(data.ledger, rehearsal=r)))
            for r in (True, False)
        ]
    elif kind == "reaffirmation":
        data = samples.reaffirmation_data(count=30)  # several pages
        papers = [
            render_reaffirmation(replace(data, ledger=replace(data.ledger, rehearsal=r)))
            for r in (True, False)
        ]
    else:
        minutes = samples.minutes_data(steps=60)
        papers = [
            render_minutes(replace(minutes, closing=replace(minutes.closing, rehearsal=r)))
            for r in (True, False)
        ]
    rehearsal, production = (_pages(p) for p in papers)
    assert len(rehearsal) >= (2 if kind != "acknowledgement" else 1)
    assert all(MARK in page for page in rehearsal), kind
    assert not any(MARK in page for page in production), kind
