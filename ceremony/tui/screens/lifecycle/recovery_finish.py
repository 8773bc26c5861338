"""The last step of a recovery or re-share: the flow wipes the clear key and closes the ceremony.

The one close-out (:class:`ceremony.flows.closeout.CloseOut`): every new holder first signs an acknowledgement
form (PCI DSS 3.7.8), while still present: each custodian of a re-share's new shares, and each custodian of a
recovery's fresh XOR components. For a re-share the flow then retires the old split (a departure's "must be
replaced" flag stays: only a new key clears it); it refuses while a new share is still unverified, or a
component still unshown or unsigned for — and says which. The old split's envelopes stay held on record: the
screen says where to account for them (the retirement screen takes up a retired split). Then the minutes,
signed by administrator and witness; every paper goes to ``ceremony-documents/<ceremony id>/`` beside the
ledger. A paper that fails is named here and never stops the close (the key is wiped by it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from ceremony.errors import CeremonyError
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_CLOSE, STEP_RESHARE_CLOSE, LifecycleSession

if TYPE_CHECKING:
    from ceremony.flows.closeout import CloseOut


def old_envelopes_line(count: int) -> str:
    """Where the officer accounts for the old split's envelopes a re-share leaves held (issue 15, item 5)."""
    return (
        f"The old split's {count} envelope(s) stay held on record until accounted for: main menu > Retire a "
        "key or split > Envelopes of the retired split (destroyed under two people, or an incident)."
    )


class FinishScreen(LifecycleScreen):
    TITLE = "Wipe and close"
    HELP: ClassVar[str | None] = (
        "Wipe the clear key from memory and close the ceremony in the ledger (administrator and witness). "
        "A re-share retires the old split here. Then Done returns to the menu."
    )

    STEP = STEP_CLOSE

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(session)
        self.closing: CloseOut | None = None  # kept: tried again, it issues no form twice

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
        from ceremony.flows.closeout import CloseOut

        session = self.session
        ceremony = session.ceremony
        ledger = ceremony.ledger
        if self.closing is None:
            if session.reshare is not None:
                self.closing = CloseOut.reshare(ledger, session.reshare, session.custodians)
            else:
                self.closing = CloseOut.recovery(ledger, ceremony, session.custodians)
        try:
            closed = await self.closing.run_async()
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if closed.reshare is not None:
            result = closed.reshare
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
            if result.envelopes_to_account:
                lines.append(old_envelopes_line(len(result.envelopes_to_account)))
        else:
            lines = [f"✓ Key wiped from memory. KCV {ceremony.key.kcv.hex}."]
        session.release()
        text = Text("\n".join(lines), style="bold green")
        # The one closing checkpoint (issue 14): recorded in ceremony.closed, printed in the minutes.
        text.append("\nCeremony closed. Closing checkpoint (write it down; the minutes print the same):\n")
        text.append(closed.checkpoint.printed(), style="bold")
        text.append(f"\nSigned papers ({len(closed.written)}) in {closed.folder}", style="")
        for problem in closed.problems:
            text.append(f"\n{problem}", style="bold red")
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
