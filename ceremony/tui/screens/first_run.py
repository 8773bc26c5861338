"""First run: an empty ledger. Greets the user; the first security officer founds the ledger (organisation,
their own identity: the genesis), the ledger anchor is shown (and its signed PDF written), then the
participants screen walks through enrolling the people a ceremony needs (DESIGN §1, §5, §6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Static

from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext

if TYPE_CHECKING:
    from ceremony.tui.screens.enroll import Founding

FIRST_RUN_STEPS = ("Welcome", "Found the ledger", "Ledger anchor", "Ceremony participants")

GREETING = (  # one paragraph per line: the body wraps them to its width
    """\
[b]ceremony[/b] — split-knowledge key ceremonies under dual control (PCI DSS 3.6–3.7)

This ledger is empty: nobody is enrolled yet. Let's set it up.

1. The first [b]security officer[/b] founds the ledger (organisation, name, employee id, \
passphrase) and prints its [b]anchor[/b].
2. They enroll an [b]administrator[/b], a [b]witness[/b] and the [b]key custodians[/b], with a second \
enrolled person present. Each person types their own passphrase.

Ledger: {ledger}
"""
)


class FirstRunScreen(CeremonyScreen[None]):
    TITLE = "Welcome"
    HELP: ClassVar[str | None] = (
        "The ledger has no participants yet. Press Enter for the first security officer to found it "
        "(organisation, their own name, employee id and passphrase); they then enroll the administrator, "
        "witness and custodians. q leaves (nothing is recorded)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "leave", "Quit")]

    def __init__(self, context: LedgerContext) -> None:
        super().__init__(steps=FIRST_RUN_STEPS, current_step=0, id="first-run")
        self.context = context

    def compose_body(self) -> ComposeResult:
        ledger = escape(str(self.context.ledger_path))
        yield Static(Text.from_markup(GREETING.format(ledger=ledger)), id="welcome")
        yield Button("Found the ledger (first security officer)", id="begin", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#begin", Button).focus()

    @on(Button.Pressed, "#begin")
    def begin(self) -> None:
        self.post_message(Open(Place.FOUNDING, (self.context, FIRST_RUN_STEPS, 1), self._founded))

    def _founded(self, founding: Founding | None) -> None:
        if founding is None:
            return
        self.post_message(Open(Place.ANCHOR, (founding, FIRST_RUN_STEPS, 2), self._anchor_seen))

    def _anchor_seen(self, _: None) -> None:
        data = (self.context, FIRST_RUN_STEPS, 3)
        self.post_message(Open(Place.PARTICIPANTS, data, self._participants_done))

    def _participants_done(self, _: None) -> None:
        # The main menu goes on top of this screen (the bottom of the stack cannot be replaced).
        self.post_message(Open(Place.MAIN_MENU, self.context))

    def action_leave(self) -> None:
        self.app.exit(0, return_code=0)
