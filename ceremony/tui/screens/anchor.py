"""The ledger anchor, shown once when the first security officer has founded the ledger (DESIGN §5).

The anchor (ledger id, genesis hash, root certificate SHA-256) is what a ledger rewritten from scratch cannot
keep: printed on paper and kept with the paper checkpoints, it lets anyone check this ledger later
(``ceremony verify --anchor``). It is shown as on paper (:meth:`Anchor.grouped`: a name line, then each hash
in groups of four); a hash line (87 characters) does not fit 80 columns, so it is folded after its eighth
group with the rest indented under the first group — a group is never split, and the text read off the
screen parses back to the same anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from ceremony.ledger.anchor import Anchor
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.enroll import ROLE_LABELS, Founding

GROUPS_PER_ROW = 8  # 8 groups of four: 39 characters, beside an 8-character label
LABEL_WIDTH = 8  # "genesis " / "root    " as Anchor.grouped() prints them


def anchor_rows(anchor: Anchor) -> list[str]:
    """The anchor's three lines as screen rows: each hash line folded between groups (see module doc)."""
    name, *hashes = anchor.grouped()
    rows = [name]
    for line in hashes:
        label, groups = line[:LABEL_WIDTH], line[LABEL_WIDTH:].split()
        for start in range(0, len(groups), GROUPS_PER_ROW):
            head = label if start == 0 else " " * LABEL_WIDTH
            rows.append(head + " ".join(groups[start : start + GROUPS_PER_ROW]))
    return rows


class AnchorScreen(CeremonyScreen[None]):
    TITLE = "Ledger anchor"
    HELP: ClassVar[str | None] = (
        "The ledger is founded. Its anchor (ledger id, genesis hash, root certificate) identifies the ledger "
        "for good: print the signed anchor PDF (or copy the three lines by hand), and keep it with the paper "
        "checkpoints. Anyone can then check this ledger against it with 'ceremony verify --anchor'; a ledger "
        "rewritten from scratch has another anchor. Enter continues to enrolling the participants."
    )
    ALLOW_SELECT = False
    # The full width (the progress shows in the header): the anchor's box must never be narrowed by the
    # step list or a scroll bar, since a row that does not fit would be cut, not folded.
    SHOW_STEPS: ClassVar[bool] = False

    def __init__(self, founding: Founding, *, steps: Sequence[str] = (), current_step: int = 0) -> None:
        super().__init__(steps=steps, current_step=current_step, id="anchor-screen")
        self.founding = founding

    def compose_body(self) -> ComposeResult:
        founding = self.founding
        founder = founding.founder
        roles = ", ".join(ROLE_LABELS.get(r, r).lower() for r in founder.roles)
        yield Static(
            Text.assemble(
                ("✓ Founded: ", "bold green"),
                (f"the ledger of {founding.organisation}. ", "bold"),
                f"{founder.name} ({founder.employee_id}) is its {roles}.",
            ),
            id="founded",
        )
        yield Static(Text("\n".join(anchor_rows(founding.anchor)), style="bold", no_wrap=True), id="anchor")
        if founding.pdf is not None:
            paper = Text.assemble(("Signed anchor PDF: ", "bold"), str(founding.pdf))
        else:
            paper = Text.assemble(
                ("The anchor PDF could not be written: ", "bold red"),
                founding.pdf_problem or "",
                " Copy the anchor above by hand.",
            )
        yield Static(paper, id="anchor-pdf")
        yield Static(
            "Print it and keep it with the paper checkpoints: it is how this ledger is checked later "
            "(ceremony verify --anchor).",
            id="anchor-keep",
        )
        yield Button("Continue: enroll the participants", id="continue", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#continue", Button).focus()

    @on(Button.Pressed, "#continue")
    def _continue(self) -> None:
        self.dismiss(None)
