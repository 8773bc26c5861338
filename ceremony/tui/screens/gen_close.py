"""Generation step 8: wipe the clear key, acknowledgement forms, close-out with the ledger checkpoint.

Every share was verified, so the flow may wipe the key. Then the one close-out
(:class:`ceremony.flows.closeout.CloseOut`) has each new custodian sign their acknowledgement form (PCI DSS
3.7.8), closes the ceremony with the ledger checkpoint and has the minutes signed by administrator and
witness; a paper that fails is named here, and never stops the close. The PDFs hold no key material; they
are written next to the ledger, in ``ceremony-documents/<ceremony id>/``, for printing.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from ceremony.errors import CeremonyError
from ceremony.flows.closeout import CloseOut
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.tui.screens.frame import StepScreen, refusal_text
from ceremony.tui.screens.gen_session import STEP_CLOSE


class CloseScreen(StepScreen):
    TITLE = "Wipe and close-out"
    HELP: ClassVar[str | None] = (
        "Every custodian re-entered their share correctly. The clear key is now wiped from memory, each "
        "custodian's acknowledgement form is signed, and the minutes with the ledger checkpoint are signed "
        "by the administrator and the witness. Write the checkpoint down or keep the printed minutes."
    )
    STEP = STEP_CLOSE

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        assert ceremony is not None and ceremony.plan is not None
        yield Static(
            Text(f"✓ All {ceremony.plan.count} shares were verified against what was issued.", "bold green")
        )
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=80)
        yield Button("Wipe the clear key and close the ceremony", id="close", variant="primary")
        yield Static("", id="checkpoint")
        yield Static("", id="status")
        yield Button("Back to the main menu", id="home", variant="success")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#home", Button).display = False
        self.query_one("#location", Input).focus()

    @on(Input.Submitted, "#location")
    def _location(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def close_out(self) -> None:
        ceremony = self.session.ceremony
        assert ceremony is not None
        button = self.query_one("#close", Button)
        button.disabled = True
        try:
            ceremony.wipe()
        except CeremonyError as error:
            button.disabled = False
            self.refusal(error)
            return
        button.display = False
        self.status("Working: the key is wiped; signing the acknowledgement forms…", "bold yellow")
        self.run_worker(self._paperwork(), exit_on_error=False, name="close-out")

    async def _paperwork(self) -> None:
        session, ceremony = self.session, self.session.ceremony
        assert ceremony is not None
        location = self.query_one("#location", Input).value.strip()
        closing = CloseOut.generation(session.ledger, ceremony, session.custodians, location=location)
        closed = await closing.run_async()
        # The one closing checkpoint (issue 14): the one ceremony.closed records, also printed in the minutes.
        problem = "; ".join(closed.problems) or None
        self._done(closed.checkpoint, closed.folder, [p.name for p in closed.written], problem)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # An unexpected failure in the close-out is an internal error, never silently swallowed.
        if event.worker.name == "close-out" and event.state is WorkerState.ERROR:
            error = event.worker.error
            raise error if error is not None else RuntimeError("close-out failed")

    def _done(self, checkpoint: Checkpoint, folder: Path, written: list[str], problem: str | None) -> None:
        text = Text(
            "✓ Ceremony closed. Closing checkpoint (write it down; the minutes print the same):\n",
            style="bold green",
        )
        text.append(checkpoint.printed(), style="bold")
        self.query_one("#checkpoint", Static).update(text)
        if problem:
            self.status(refusal_text(CeremonyError(problem)))
        else:
            self.status(
                Text.from_markup(
                    f"Signed documents ({len(written)}) in [b]{escape(str(folder))}[/b]: print them for "
                    "wet-ink signatures and the ceremony file."
                )
            )
        home = self.query_one("#home", Button)
        home.display = True
        home.focus()

    @on(Button.Pressed, "#home")
    def home(self) -> None:
        self.session.release()
        self.dismiss(None)
