"""The last step of a recovery or re-share: the flow wipes the clear key and closes the ceremony.

For a re-share the flow first retires the old split (and clears a departure's "must be replaced" flag);
it refuses while a new share is still unverified, or a component still unshown — and says which.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from ceremony.errors import CeremonyError
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_CLOSE, STEP_RESHARE_CLOSE, LifecycleSession


class FinishScreen(LifecycleScreen):
    TITLE = "Wipe and close"
    HELP: ClassVar[str | None] = (
        "Wipe the clear key from memory and close the ceremony in the ledger (administrator and witness). "
        "A re-share retires the old split here. Then Done returns to the menu."
    )

    STEP = STEP_CLOSE

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
    def finish(self) -> None:
        session = self.session
        ceremony = session.ceremony
        checkpoint = None
        try:
            if session.reshare is not None:
                result = session.reshare.finish(checkpoint)
                lines = [
                    f"✓ Old split {result.old_split_id[:8]} retired; "
                    f"new split {result.new_split_id[:8]} in force.",
                    f"KCV {result.kcv.hex}: the key did not change.",
                ]
                if result.flag_cleared:
                    lines.append("The “must be replaced” flag is cleared.")
            else:
                ceremony.finish(checkpoint)
                lines = [f"✓ Key wiped from memory. KCV {ceremony.key.kcv.hex}."]
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        session.release()
        text = Text("\n".join(lines), style="bold green")
        text.append(f"\nCeremony closed. Ledger checkpoint: {ceremony.ledger.checkpoint().text()}", style="")
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
