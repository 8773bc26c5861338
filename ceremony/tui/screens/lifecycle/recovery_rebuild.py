"""Recovery / re-share step 4: the key is rebuilt and its KCV matched the register — shown large.

Nothing has been output yet. The next step is the output chosen at the start: fresh components, the
KEK components for a wrap, the KBPK components for a key block, the PIN for a token load, or (re-share)
the new split.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Digits, Static

from ceremony.errors import CeremonyError
from ceremony.flows.recovery import ComponentsOutput, KeyBlockOutput, TokenOutput
from ceremony.flows.turns import Next, Turn
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_REBUILD, LifecycleSession


def spaced(hex_text: str) -> str:
    return " ".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))


class RebuiltScreen(LifecycleScreen):
    TITLE = "Key rebuilt"
    HELP: ClassVar[str | None] = (
        "The shares were combined and the key's check value (KCV) matches the one registered when it was "
        "generated: read it aloud and compare with the register. Continue makes the output chosen at the "
        "start."
    )
    STEP = STEP_REBUILD

    def __init__(self, session: LifecycleSession, kcv_hex: str) -> None:
        super().__init__(session)
        self.kcv_hex = kcv_hex

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        yield Static(Text(f"✓ {ceremony.key.label} rebuilt; KCV matches the register:", style="bold green"))
        yield Static(f"KCV {spaced(self.kcv_hex)} ({ceremony.key.kcv.method})", id="kcv-line")
        yield Digits(spaced(self.kcv_hex), id="kcv")
        yield Button(self._next_label(), id="continue", variant="primary")
        yield Static("", id="status")

    def _next_label(self) -> str:
        if self.session.reshare_mode:
            return "Continue: split for the new custodians"
        output = self.session.ceremony.output
        if isinstance(output, ComponentsOutput):
            return "Continue: make the components"
        if isinstance(output, KeyBlockOutput):
            return "Continue: enter the KBPK components"
        if isinstance(output, TokenOutput):
            return "Continue: load the key into the token"
        return "Continue: enter the KEK components"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#continue", Button).focus()

    @on(Button.Pressed, "#continue")
    def proceed(self) -> None:
        session = self.session
        try:
            if session.reshare is not None:
                session.reshare.reshare()
            elif isinstance(session.ceremony.output, ComponentsOutput):
                session.ceremony.make_components()
            elif isinstance(session.ceremony.output, KeyBlockOutput):
                self.advance(Next(Turn.KBPK_COMPONENTS))  # the KBPK custodians type their parts next
                return
            elif isinstance(session.ceremony.output, TokenOutput):
                self.advance(Next(Turn.TOKEN_LOAD))  # a custodian types the token's PIN next
                return
            else:
                self.advance(Next(Turn.KEK_COMPONENTS))  # the KEK custodians type their parts next
                return
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.advance()  # the flow: the new split's first share, or the first component
