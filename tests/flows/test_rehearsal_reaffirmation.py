"""Issue 15, item 3: a reaffirmation signed on a rehearsal ledger is marked REHEARSAL on every page (it had no
TEST marking at all); on a production ledger it carries none."""

from __future__ import annotations

import io

import pytest
from flow_support import make_cast
from pypdf import PdfReader

from ceremony.documents.render import REHEARSAL_MODE
from ceremony.flows.reaffirmation import Reaffirmation


def _text(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("rehearsal", [True, False])
def test_reaffirmation_form_says_rehearsal_on_a_rehearsal_ledger(tmp_path, rehearsal: bool) -> None:
    cast = make_cast(tmp_path, rehearsal=rehearsal)
    flow = Reaffirmation(cast.ledger)
    custodian, officer = cast.present("cust1", "custodian"), cast.present("sophie", "security_officer")
    record = flow.record(custodian, officer, flow.wording())
    pages = _text(record.pdf)
    marked = [REHEARSAL_MODE in page for page in pages]
    assert marked == [rehearsal] * len(pages)
