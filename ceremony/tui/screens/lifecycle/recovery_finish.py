"""The last step of a recovery or re-share: the flow wipes the clear key and closes the ceremony.

Every new holder first signs an acknowledgement form (PCI DSS 3.7.8), while still present: each custodian
of a re-share's new shares, and each custodian of a recovery's fresh XOR components. For a re-share the flow
then retires the old split (a departure's "must be replaced" flag stays: only a new key clears it); it
refuses while a new share is still unverified, or a component still unshown or unsigned for — and says
which. Then the minutes, signed by administrator and witness; every paper goes to
``ceremony-documents/<ceremony id>/`` beside the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from ceremony.errors import CeremonyError
from ceremony.tui.screens.gen_close import documents_dir
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_CLOSE, STEP_RESHARE_CLOSE, LifecycleSession

if TYPE_CHECKING:
    from ceremony.flows.paperwork import SignedDocument


class FinishScreen(LifecycleScreen):
    TITLE = "Wipe and close"
    HELP: ClassVar[str | None] = (
        "Wipe the clear key from memory and close the ceremony in the ledger (administrator and witness). "
        "A re-share retires the old split here. Then Done returns to the menu."
    )

    STEP = STEP_CLOSE

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(session)
        self.acknowledged: dict[int, SignedDocument] = {}  # share / component number -> its form, once

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        yield Static(Text(f"{ceremony.key.label}: output complete.", style="bold"))
        yield Button("Wipe the key and close the ceremony", id="finish", variant="primary")
        yield Static("", id="summary")
        yield Button("Done", id="done", disabled=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#finish", Button).focus()

    @on(Button.Pressed, "#finish")
    async def finish(self) -> None:
        from ceremony.flows import paperwork
        from ceremony.flows.presence import PresentPerson

        session = self.session
        ceremony = session.ceremony
        ledger = ceremony.ledger
        administrator, witness = ceremony.administrator, ceremony.witness
        assert isinstance(administrator, PresentPerson) and isinstance(witness, PresentPerson)
        papers: list[paperwork.SignedDocument] = []
        acknowledged = self.acknowledged
        new_split = (
            session.reshare.new_split_id if session.reshare is not None else ceremony.component_split_id
        )
        try:
            if new_split is not None:
                # Acknowledgement forms for the new shares or components, signed by their custodians (PCI
                # DSS 3.7.8) while they are still present; issued once even if the close is tried again.
                for number, custodian in sorted(session.custodians.items()):
                    if number not in acknowledged:
                        acknowledged[number] = await paperwork.async_issue_acknowledgement_for(
                            ledger, ceremony.ceremony_id, new_split, number, custodian, witness
                        )
                papers.extend(acknowledged[n] for n in sorted(acknowledged))
            if session.reshare is not None:
                result = session.reshare.finish(paperwork.closing_checkpoint(ledger))
                ceremony_id = session.reshare.ceremony_id
                lines = [
                    f"✓ Old split {result.old_split_id[:8]} retired; "
                    f"new split {result.new_split_id[:8]} in force.",
                    f"KCV {result.kcv.hex}: the key did not change.",
                ]
                if result.must_still_be_replaced:
                    lines.append(
                        "Re-shared; the key must still be replaced: whoever left still knows a share "
                        "of the old split (PCI DSS 3.7.5). Generate its replacement, then retire it."
                    )
            else:
                ceremony.finish(paperwork.closing_checkpoint(ledger))
                ceremony_id = ceremony.ceremony_id
                lines = [f"✓ Key wiped from memory. KCV {ceremony.key.kcv.hex}."]
            # DESIGN 4.7: minutes signed by administrator and witness, with the closing checkpoint.
            papers.append(
                await paperwork.async_issue_minutes_for(ledger, ceremony_id, administrator, witness)
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        folder = documents_dir(ledger.path, ceremony_id)
        folder.mkdir(parents=True, exist_ok=True)
        for paper in papers:
            (folder / paper.record.file_name).write_bytes(paper.pdf)
        session.release()
        text = Text("\n".join(lines), style="bold green")
        # The one closing checkpoint (issue 14): recorded in ceremony.closed, printed in the minutes.
        closing = paperwork.closing_checkpoint_of(ledger, ceremony_id)
        text.append("\nCeremony closed. Closing checkpoint (write it down; the minutes print the same):\n")
        text.append(closing.printed(), style="bold")
        text.append(f"\nSigned papers ({len(papers)}) in {folder}", style="")
        self.query_one("#summary", Static).update(text)
        self.query_one("#finish", Button).disabled = True
        done = self.query_one("#done", Button)
        done.disabled = False
        done.focus()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        close_flow_screen(self)


class ReshareFinishScreen(FinishScreen):
    STEP = STEP_RESHARE_CLOSE


def finish_screen(session: LifecycleSession) -> FinishScreen:
    return ReshareFinishScreen(session) if session.reshare_mode else FinishScreen(session)
