"""First run: an empty ledger. Greets the user and starts the first security officer's enrollment.

Then the participants screen walks through enrolling the people a ceremony needs (DESIGN §6).
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Static

from ceremony.ledger.participants import Participant
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.screens.enroll import EnrollScreen

FIRST_RUN_STEPS = ("Welcome", "First security officer", "Ceremony participants")

GREETING = (  # one paragraph per line: the body wraps them to its width
    """\
[b]ceremony[/b] — split-knowledge key ceremonies under dual control (PCI DSS 3.6–3.7)

This ledger is empty: nobody is enrolled yet. Let's set it up.

1. The first [b]security officer[/b] enrolls: name, employee id and a passphrase only they know.
2. They enroll the people a ceremony needs: an [b]administrator[/b], a [b]witness[/b] and the \
[b]key custodians[/b]. Each person types their own passphrase.

Ledger: {ledger}
"""
)


class FirstRunScreen(CeremonyScreen[None]):
    TITLE = "Welcome"
    HELP: ClassVar[str | None] = (
        "The ledger has no participants yet. Press Enter to enroll the first security officer, who then "
        "enrolls the administrator, witness and custodians. q leaves (nothing is recorded)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "leave", "Quit")]

    def __init__(self, context: LedgerContext) -> None:
        super().__init__(steps=FIRST_RUN_STEPS, current_step=0, id="first-run")
        self.context = context

    def compose_body(self) -> ComposeResult:
        ledger = escape(str(self.context.ledger_path))
        yield Static(Text.from_markup(GREETING.format(ledger=ledger)), id="welcome")
        yield Button("Enroll the first security officer", id="begin", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#begin", Button).focus()

    @on(Button.Pressed, "#begin")
    def begin(self) -> None:
        self.app.push_screen(EnrollScreen(self.context, None, roles=("security_officer",)), self._enrolled)

    def _enrolled(self, person: Participant | None) -> None:
        if person is None:
            return
        from ceremony.tui.screens.participants import ParticipantsScreen

        self.app.push_screen(ParticipantsScreen(self.context, first_run=True), self._participants_done)

    def _participants_done(self, _: None) -> None:
        # The main menu goes on top of this screen (the bottom of the stack cannot be replaced).
        from ceremony.tui.screens.main_menu import MainMenuScreen

        self.app.push_screen(MainMenuScreen(self.context))

    def action_leave(self) -> None:
        self.app.exit(0, return_code=0)
