"""Generation step 5: the flow generates the key, splits it and records the KCV; the KCV is shown large
and read aloud (ANSI X9.24-1 KCV; the value is not secret), and the room confirms it was."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Digits, Static

from ceremony.errors import CeremonyError
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.screens.gen_session import STEP_GENERATE

WHY_NOT_GENERATED = Text("Generate the key first; then the KCV is read aloud.", style="dim")
WHY_NOT_READ = Text("Tick that the KCV was read aloud (Space) to continue.", style="bold yellow")


def spaced(hex_text: str) -> str:
    """'D77F007724' -> 'D7 7F 00 77 24': easier to read aloud, pair by pair."""
    return " ".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))


class GenerateScreen(StepScreen):
    TITLE = "Generate the key"
    HELP: ClassVar[str | None] = (
        "The key is made from the operating system's random generator, split as planned and every "
        "combination of shares checked. Its KCV (key check value) is shown: the administrator reads it "
        "aloud, the witness checks it, and it is written in the minutes."
    )
    STEP = STEP_GENERATE

    def compose_body(self) -> ComposeResult:
        ceremony, spec = self.session.ceremony, self.session.key_spec
        assert ceremony is not None and ceremony.plan is not None and spec is not None
        plan = ceremony.plan
        holders = ", ".join(f"{n}: {self.session.name_of(p)}" for n, p in enumerate(plan.custodians, start=1))
        kind = (
            f"{plan.threshold} of {plan.count} Shamir"
            if plan.scheme.value == "shamir"
            else (f"XOR, {plan.count} components")
        )
        yield Static(
            Text.assemble(
                ("Key: ", "bold"),
                f"{spec.key_type.value} “{spec.label}” — {spec.usage}\n",
                ("Split: ", "bold"),
                f"{kind}; shares {holders}",
            ),
            id="plan-summary",
        )
        yield Button("Generate the key", id="generate", variant="primary")
        yield Static("", id="kcv-label")
        yield Digits("", id="kcv")
        yield Checkbox("KCV read aloud; the witness checked it", id="read-aloud", disabled=True)
        yield Button("Continue to private distribution", id="continue", variant="primary", disabled=True)
        yield Static(WHY_NOT_GENERATED, id="continue-why")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kcv", Digits).display = False
        self.query_one("#generate", Button).focus()

    @on(Button.Pressed, "#generate")
    def generate(self) -> None:
        ceremony = self.session.ceremony
        assert ceremony is not None
        button = self.query_one("#generate", Button)
        button.disabled = True
        try:
            kcv = ceremony.generate()
        except CeremonyError as error:
            button.disabled = False
            self.refusal(error)
            return
        button.display = False
        value = kcv.value.hex().upper()
        self.query_one("#kcv-label", Static).update(
            Text.assemble(
                ("KCV ", "bold"), (spaced(value), "bold reverse"), f"  ({kcv.method}) — read it aloud"
            )
        )
        digits = self.query_one("#kcv", Digits)
        digits.update(value)
        digits.display = True
        box = self.query_one("#read-aloud", Checkbox)
        box.disabled = False
        box.focus()
        self.query_one("#continue-why", Static).update(WHY_NOT_READ)

    @on(Checkbox.Changed, "#read-aloud")
    def _read(self, event: Checkbox.Changed) -> None:
        button = self.query_one("#continue", Button)
        button.disabled = not event.value
        # A disabled button says why (issue 14, 2.8): nobody should wonder what the room is waiting for.
        self.query_one("#continue-why", Static).update("" if event.value else WHY_NOT_READ)
        if event.value:
            button.focus()

    @on(Button.Pressed, "#continue")
    def distribute(self) -> None:
        self.advance()  # the flow: share 1 to its custodian
