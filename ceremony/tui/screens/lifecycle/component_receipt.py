"""Recovery output (a), after each fresh component was wiped from the screen: its custodian signs for it.

As a generated or re-shared share: the custodian seals their record of the component in a tamper-evident
envelope and types its serial; with the witness that signs their receipt (``share.received``). The register
then names them as the component's holder — the custody report's "Held now by" — and the next recovery
inspects that envelope before it is opened. The custodian stays authenticated until the close-out, where
they sign their acknowledgement form (PCI DSS 3.7.8).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.recovery import ComponentsOutput
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_OUTPUT, LifecycleSession


class ComponentReceiptScreen(LifecycleScreen):
    TITLE = "Component receipt and envelope"
    HELP: ClassVar[str | None] = (
        "The custodian seals their record of the component in a tamper-evident envelope and types its "
        "serial number: that signs their receipt in the ledger, which then names them as its holder."
    )
    STEP = STEP_OUTPUT

    def __init__(self, session: LifecycleSession, number: int) -> None:
        super().__init__(session)
        self.number = number

    def _output(self) -> ComponentsOutput:
        output = self.session.ceremony.output
        assert isinstance(output, ComponentsOutput)
        return output

    def compose_body(self) -> ComposeResult:
        output = self._output()
        name = self.session.name_of(output.custodians[self.number - 1])
        yield Static(Text("✓ The component was wiped from the screen.", style="bold green"))
        yield Static(
            f"{name}: seal your record of component {self.number} of {len(output.custodians)} in a "
            "tamper-evident envelope, then type its serial."
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
        if custodian is None:
            self.status("The component's custodian is not present any more.", "bold red")
            return
        serial = self.query_one("#serial", Input).value
        try:
            self.session.ceremony.confirm_component_receipt(self.number, custodian, serial, "recorded")
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.advance()  # the flow: the next component, or wipe and close
