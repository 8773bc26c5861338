"""The ledger anchor on paper (DESIGN §5): the @anchor block's checks, the anchor page's layout rules, and the
anchor printed in the checkpoint box of the other forms."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.documents.model import AnchorData, Person
from ceremony.documents.render import GroupedLines, render_acknowledgement, render_anchor
from ceremony.documents.templates import default_forms_dir, load_forms
from ceremony.errors import DocumentError, TemplateError

from .samples import LEDGER, acknowledgement_data, pdf_text

GENESIS = "9F86 D081 884C 7D65 9A2F EAA0 C55A D015 A3BF 4F1B 2B0B 822C D15D 6C15 B0F0 0A08"
ROOT = "6030 3AE2 2B99 8861 BCE3 B28F 33EE C1BE 758A 213C 86C9 3C07 6DBE 9F55 8C11 C752"
LINES = ("CEREMONY-ANCHOR V1 7QK3M0D4XZ", f"genesis {GENESIS}", f"root    {ROOT}")
ANCHOR = AnchorData(
    ledger_id="7QK3M0D4XZ",
    rehearsal=False,
    organisation="Example Payments Ltd",
    created=datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC),
    founder=Person("Erin Novak", "E30007", "Security officer"),
    lines=LINES,
    text=f"CEREMONY-ANCHOR V1 7QK3M0D4XZ {GENESIS.replace(' ', '')} {ROOT.replace(' ', '')}",
    root_cert_sha256=ROOT,
)


@pytest.fixture
def forms_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    shutil.copytree(default_forms_dir(), folder)
    return folder


def test_anchor_block_belongs_on_the_anchor_page_only(forms_copy: Path) -> None:
    ack = forms_copy / "acknowledgement.md"
    ack.write_text(ack.read_text() + "\n@anchor\n")
    with pytest.raises(
        TemplateError, match=r"acknowledgement\.md, line \d+: @anchor belongs on the anchor page"
    ):
        load_forms(forms_copy)


def test_anchor_page_must_keep_its_anchor_and_mode(forms_copy: Path) -> None:
    page = forms_copy / "anchor.md"
    original = page.read_text()
    page.write_text(original.replace("@anchor\n", ""))
    with pytest.raises(TemplateError, match=r"must contain @anchor"):
        load_forms(forms_copy)
    page.write_text(original.replace("@anchor\n", "@anchor\n@anchor\n"))
    with pytest.raises(TemplateError, match=r"@anchor appears twice"):
        load_forms(forms_copy)
    page.write_text(original.replace("**{ledger_mode}**", "-"))
    with pytest.raises(TemplateError, match=r"must show \{ledger_mode\}"):
        load_forms(forms_copy)


def test_anchor_page_is_one_page(forms_copy: Path) -> None:
    page = forms_copy / "anchor.md"
    padding = "\n".join(
        f"Paragraph {n} of an over-long policy text." + " More words." * 20 + "\n" for n in range(30)
    )
    page.write_text(page.read_text().replace("## For auditors", padding + "\n## For auditors"))
    with pytest.raises(DocumentError, match="does not fit on one page"):
        render_anchor(ANCHOR, forms=load_forms(forms_copy))


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_anchor_page_prints_every_line_whole_and_its_mode(paper: str) -> None:
    production = pdf_text(render_anchor(ANCHOR, paper=paper))
    assert all(line in production for line in LINES)
    assert "PRODUCTION LEDGER ANCHOR" in production and "REHEARSAL" not in production
    rehearsal = pdf_text(render_anchor(replace(ANCHOR, rehearsal=True), paper=paper))
    assert "REHEARSAL — TEST KEYS ONLY" in rehearsal and "PRODUCTION LEDGER ANCHOR" not in rehearsal
    assert render_anchor(ANCHOR, paper=paper) == render_anchor(ANCHOR, paper=paper)


def test_grouped_lines_break_between_groups_only() -> None:
    lines = GroupedLines(LINES, size=10, min_size=8)
    width, height = lines.wrap(0.6 * 8 * 40, 1000)  # room for 40 characters at the smallest size
    assert lines.font_size == 8 and width <= 0.6 * 8 * 40 and height == len(lines.pieces) * lines.leading
    genesis_pieces = [text for indent, text in lines.pieces if indent == 8]
    assert all(len(group) == 4 for piece in genesis_pieces for group in piece.split())
    rebuilt = " ".join(text for _, text in lines.pieces)
    assert rebuilt.split() == " ".join(LINES).split()  # nothing lost, no group cut
    wide = GroupedLines(LINES, size=10, min_size=8)
    wide.wrap(1000, 1000)
    assert [text for _, text in wide.pieces] == list(LINES) and wide.font_size == 10


def test_checkpoint_box_prints_the_anchor_when_given() -> None:
    plain = render_acknowledgement(acknowledgement_data())
    assert "Ledger anchor:" not in pdf_text(plain)
    anchored = replace(acknowledgement_data(), ledger=replace(LEDGER, anchor=LINES))
    text = pdf_text(render_acknowledgement(anchored))
    assert "Ledger anchor:" in text and all(line in text for line in LINES)
    assert render_acknowledgement(anchored) == render_acknowledgement(anchored)
