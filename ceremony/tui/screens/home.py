"""The first screen: what the tool does, where the ledger is. Flows start from here."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ceremony.tui.screens.base import CeremonyScreen

WELCOME = """\
[b]ceremony[/b] — split-knowledge key ceremonies under dual control (PCI DSS 3.6–3.7)

This laptop will walk custodians, witnesses and security officers through:

  • air-gap preflight, with recorded exceptions (PCI 1.2.6)
  • dual-control key generation, KCV, Shamir m-of-n or XOR split
  • private share distribution, share cards, a verification round
  • a tamper-evident, signed ledger of who ever knew which component (3.7.6)
  • signed acknowledgement and annual reaffirmation forms (3.7.8)

The ceremony screens are being built. Until then, the CLI works:
  ceremony kcv --alg aes      ceremony share inspect      ceremony verify

Ledger: {ledger}
"""


class HomeScreen(CeremonyScreen[None]):
    TITLE = "Home"
    HELP: ClassVar[str | None] = (
        "What this tool does and which ledger it records to. Press q to leave (nothing is in progress here)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Quit"),
    ]

    def __init__(self, ledger: Path | None) -> None:
        super().__init__(id="home")
        self.ledger = ledger

    def compose_body(self) -> ComposeResult:
        # Rich markup: keeps the indentation; the ledger path is escaped (it may contain "[").
        ledger = escape(str(self.ledger or "(default)"))
        yield Static(Text.from_markup(WELCOME.format(ledger=ledger)), id="welcome")

    def action_leave(self) -> None:
        # Nothing is in progress on this screen: a plain quit, exit code 0.
        self.app.exit(0, return_code=0)
