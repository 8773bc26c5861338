"""Private distribution of a new split — generation and re-share alike (DESIGN §4.2).

For each share: everyone but its custodian looks away; the custodian authenticates; the flow records the
exposure (custody rule checked by the ledger) and only then returns the typed form, which appears on a
secret screen; the custodian confirms they recorded it; the screen is wiped; the custodian signs receipt
with the tamper-evident envelope's serial number.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Static

from ceremony.crypto.secret import SecretBytes
from ceremony.documents.printing import Delivery, describe_printer
from ceremony.errors import CeremonyError
from ceremony.flows.turns import Next, Turn
from ceremony.ledger.participants import participant
from ceremony.tui.screens.frame import SecretStepScreen, StepScreen
from ceremony.tui.screens.gen_session import STEP_DISTRIBUTE
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.look_away import LookAwayPanel
from ceremony.tui.widgets.share_display import ShareDisplay, share_rows


class LookAwayScreen(StepScreen):
    """Everyone but the custodian named looks away; they authenticate and the flow releases their share
    (generation, re-share) or their fresh component (a recovery's components output): ``session.noun``."""

    TITLE = "Private distribution"
    HELP: ClassVar[str | None] = (
        "Only the custodian named here looks at the screen. They type their passphrase; their share (or "
        "component) then appears on the next screen. The exposure is recorded in the ledger before it is "
        "shown."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: Any, number: int) -> None:
        super().__init__(session)
        self.number = number

    def compose_body(self) -> ComposeResult:
        person = participant(self.session.ledger, self.session.custodian_id(self.number))
        self.custodian_name = person.name
        noun = self.session.noun
        yield LookAwayPanel(
            self.session.presence,
            person,
            f"{noun.capitalize()} {self.number} of {self.session.share_count} — for {person.name}",
            heading_id="share-heading",
            auth_title=f"{person.name}: type your passphrase to see your {noun}",
        )
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(AuthForm).focus_first()

    @on(AuthForm.Authenticated)
    def reveal(self, event: AuthForm.Authenticated) -> None:
        custodian = event.person
        try:
            shown = self.session.distributor.reveal(self.number, custodian)
        except CeremonyError as error:
            custodian.leave()
            self.refusal(error)
            return
        # The custodian stays present: they sign their receipt next, and their acknowledgement at the end.
        self.session.custodians[self.number] = custodian
        self.session.joined(custodian)
        if isinstance(shown, SecretBytes):
            self.advance(Next(Turn.SHOW, self.number), data=(self.custodian_name, share_rows(shown)))
        else:  # a component: its typed form, its hex for the HSM and its KCV
            self.advance(Next(Turn.SHOW_COMPONENT, self.number), data=(self.custodian_name, shown))


class ShareScreen(SecretStepScreen):
    TITLE = "Your share"
    HELP: ClassVar[str | None] = (
        "Copy every group, in order, onto your custody form (the group numbers help). Then press Enter: "
        "the share is wiped from the screen and cannot be shown again."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: Any, number: int, name: str, lines: list[bytearray]) -> None:
        super().__init__(session)
        self.number = number
        self.custodian_name = name
        self._lines = lines

    def compose_body(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                (f"{self.custodian_name}", "bold reverse"),
                f": share {self.number} of {self.session.share_count}. Write every group down, in order.",
            ),
            id="share-intro",
        )
        yield ShareDisplay(self._lines, caption=f"Share {self.number} — {self.custodian_name}", id="share")
        self._lines = []
        yield Button("I have recorded it: wipe the screen", id="recorded", variant="primary")
        if self.session.cards_allowed:
            yield Button("Print a share card instead", id="card")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#recorded", Button).focus()

    @on(Button.Pressed, "#recorded")
    def recorded(self) -> None:
        self.advance(Next(Turn.RECEIPT, self.number))

    @on(Button.Pressed, "#card")
    def card(self) -> None:
        self.advance(Next(Turn.CARD, self.number))


class CardScreen(StepScreen):
    TITLE = "Share card"
    HELP: ClassVar[str | None] = (
        "The share card is printed for the custodian: type the serial of the tamper-evident envelope it goes "
        "into (it is printed on the card). The card goes straight to the printer, or to a RAM-backed folder "
        "($CEREMONY_PRINTER) from which it is printed and then wiped. Each card is recorded in the ledger."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: Any, number: int, name: str) -> None:
        super().__init__(session)
        self.number = number
        self.custodian_name = name
        self.delivery: Delivery | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(Text("✓ The share was wiped from the screen.", style="bold green"))
        yield Static(
            f"{self.custodian_name}: type the serial number of the tamper-evident envelope for share "
            f"{self.number}. The card goes {describe_printer(self.session.printer)}."
        )
        yield Label("Envelope serial number")
        yield Input(placeholder="e.g. TE-004711", id="serial", max_length=40)
        yield Button("Print the card", id="print", variant="primary")
        yield Button("Printed: wipe the card file and sign receipt", id="printed", disabled=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#serial", Input).focus()

    @on(Input.Submitted, "#serial")
    @on(Button.Pressed, "#print")
    def print_card(self) -> None:
        from ceremony.flows.cards import print_share_card

        if self.delivery is not None:
            return
        ceremony = self.session.ceremony
        custodian = self.session.custodians.get(self.number)
        assert ceremony is not None and custodian is not None
        serial = self.query_one("#serial", Input).value
        try:
            self.delivery = print_share_card(
                self.session.ledger, ceremony, self.number, custodian, serial, self.session.printer
            )
        except CeremonyError as error:
            self.refusal(error)
            return
        self.query_one("#serial", Input).disabled = True
        self.query_one("#print", Button).disabled = True
        if self.delivery.path is None:
            self._sign(serial)
            return
        self.status(
            Text(
                f"The card is in {self.delivery.path} (RAM). Print it now, seal it in the envelope in front "
                "of the witness, then confirm: the file is overwritten and deleted.",
                style="bold yellow",
            )
        )
        printed = self.query_one("#printed", Button)
        printed.disabled = False
        printed.focus()

    @on(Button.Pressed, "#printed")
    def printed(self) -> None:
        from ceremony.flows.cards import card_printed

        ceremony = self.session.ceremony
        custodian = self.session.custodians.get(self.number)
        assert ceremony is not None and custodian is not None and self.delivery is not None
        try:
            card_printed(ceremony, self.delivery, custodian)
        except CeremonyError as error:
            self.refusal(error)
            return
        self._sign(self.query_one("#serial", Input).value)

    def _sign(self, serial: str) -> None:
        ceremony = self.session.ceremony
        custodian = self.session.custodians.get(self.number)
        assert ceremony is not None and custodian is not None
        try:
            ceremony.confirm_receipt(self.number, custodian, serial, "card")
        except CeremonyError as error:
            self.refusal(error)
            return
        self.advance()  # the next custodian's share, or the verification round


class ReceiptScreen(StepScreen):
    TITLE = "Receipt and envelope"
    HELP: ClassVar[str | None] = (
        "The share is wiped from the screen. The custodian seals what they recorded in a tamper-evident "
        "envelope and types the envelope's serial number: that signs their receipt in the ledger."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: Any, number: int, name: str) -> None:
        super().__init__(session)
        self.number = number
        self.custodian_name = name

    def compose_body(self) -> ComposeResult:
        noun = self.session.noun
        yield Static(Text(f"✓ The {noun} was wiped from the screen.", style="bold green"))
        yield Static(
            f"{self.custodian_name}: seal your record of {noun} {self.number} in a tamper-evident envelope, "
            "then type the serial number printed on the envelope. Enter signs your receipt."
        )
        yield Label("Envelope serial number")
        yield Input(placeholder="e.g. TE-004711", id="serial", max_length=40)
        yield Button("Sign receipt", id="sign", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#serial", Input).focus()

    @on(Input.Submitted, "#serial")
    @on(Button.Pressed, "#sign")
    def sign(self) -> None:
        custodian = self.session.custodians.get(self.number)
        assert custodian is not None
        serial = self.query_one("#serial", Input).value
        try:
            self.session.distributor.confirm_receipt(self.number, custodian, serial, "recorded")
        except CeremonyError as error:
            self.refusal(error)
            return
        self.advance()  # the next custodian's share, or the verification round
