"""The Textual application. Until the ceremony screens exist it shows what the tool will do."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

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


class CeremonyApp(App[int]):
    TITLE = "ceremony"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+c", "quit", "Quit", show=False)]

    def __init__(self, ledger: Path | None = None) -> None:
        super().__init__()
        self.ledger = ledger

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(WELCOME.format(ledger=self.ledger or "(default)"), id="welcome")
        yield Footer()

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(0)


def run_tui(ledger: str | None = None) -> int:
    from ceremony.commands import ledger_path

    app = CeremonyApp(ledger=ledger_path(type("A", (), {"ledger": ledger})()))
    app.run()
    return int(app.return_code or 0)
