"""The destruction certificate form (issue 15, item 5): rendered from forms/destruction.md like every other
form, a rehearsal marked as such, a missing optional table entry said in words, and an organisation's older
forms folder (without destruction.md) still loads, falling back to the shipped wording."""

from __future__ import annotations

import shutil
from pathlib import Path

from ceremony.documents.model import DestroyedEnvelopeLine, DestructionData
from ceremony.documents.render import render_destruction
from ceremony.documents.templates import default_forms_dir, load_forms

from .samples import CAROL, DAN, ISSUED, LEDGER, pdf_text


def data(rehearsal: bool, not_destroyed: tuple[str, ...] = ()) -> DestructionData:
    line = DestroyedEnvelopeLine(
        serial="TE-ZMK-0001",
        key_label="ZMK-2026",
        key_id="KBZK5X1Q2A",
        kcv="D77F007724",
        split_id="S7QW1",
        share_number=1,
        share_count=3,
        custodian="Alice Okafor (E10234)",
        returned_by="Alice Okafor in person",
        destroyed_at=ISSUED,
        event_id="E-000042",
    )
    return DestructionData(
        occasion="Retirement ceremony C1",
        ceremony_id="C1",
        location="Vault room 2",
        destroyed_by=CAROL,
        witness=DAN,
        method="cross-cut shredded",
        envelopes=(line,),
        issued_at=ISSUED,
        ledger=LEDGER,
        rehearsal=rehearsal,
        not_destroyed=not_destroyed,
    )


def test_the_certificate_names_the_envelopes_the_two_people_and_the_ledger_kind() -> None:
    text = pdf_text(render_destruction(data(False, ("TE-ZMK-0002 (share 2 of S7QW1): not returned",))))
    for expected in (
        "Certificate of Envelope Destruction",
        "TE-ZMK-0001",
        "Carol Mendes",
        "Dan Whitfield",
        "cross-cut shredded",
        "PRODUCTION",
        "TE-ZMK-0002",
        "not returned",
        "Vault room 2",
    ):
        assert expected in text, expected
    rehearsal = pdf_text(render_destruction(data(True)))
    assert "REHEARSAL" in rehearsal and "none: every envelope asked for was destroyed" in rehearsal


def test_an_older_forms_folder_without_the_certificate_still_loads(tmp_path: Path) -> None:
    older = tmp_path / "forms"
    shutil.copytree(default_forms_dir(), older)
    (older / "destruction.md").unlink()
    forms = load_forms(older)
    assert forms["destruction"].path == default_forms_dir().resolve() / "destruction.md"
    assert "TE-ZMK-0001" in pdf_text(render_destruction(data(False), forms=forms))
