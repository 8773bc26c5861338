"""The main menu of a ledger with participants: start a ceremony, manage participants, verify the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from ceremony.errors import CeremonyError
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext

if TYPE_CHECKING:
    from ceremony.ledger.store import Ledger

# Cold start (issue 14): what a button leads to (flows, other screens, the verifier) is imported in its
# handler, not here.


def attention_text(ledger: Ledger | None, now: datetime | None = None) -> Text:
    """Shown at start (PCI DSS 3.7.4, 3.7.5): keys past or within 90 days of their cryptoperiod's end, and
    keys that must be replaced because someone who knew a share left. Empty when nothing needs attention."""
    if ledger is None:
        return Text("")
    from ceremony.flows.departure import keys_to_replace
    from ceremony.ledger.replay import replayed
    from ceremony.policy.cryptoperiod import classify, periods_of

    # The keys of the one checked read of the ledger's head (issue 14), shared with the start-up scan.
    report = classify(periods_of(replayed(ledger).register.keys.values()), now or datetime.now(UTC))
    text = Text()
    for period in report.expired:
        text.append(
            f"⚠ {period.label}: cryptoperiod EXPIRED {-period.days_left(report.now)} days ago\n", "bold red"
        )
    for period in report.due:
        text.append(
            f"⚠ {period.label}: cryptoperiod ends in {period.days_left(report.now)} days\n", "bold yellow"
        )
    for flagged in keys_to_replace(ledger):
        text.append(f"⚠ {flagged.label}: must be replaced (a custodian who knew it left)\n", "bold red")
    text.rstrip()
    return text


class MainMenuScreen(CeremonyScreen[None]):
    TITLE = "Main menu"
    HELP: ClassVar[str | None] = (
        "Tab or the arrow keys move between the choices, Enter picks one. q leaves (nothing is in progress)."
    )
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Quit"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self, context: LedgerContext) -> None:
        super().__init__(id="main-menu")
        self.context = context

    def compose_body(self) -> ComposeResult:
        ledger = self.context.open()
        kind = (
            "REHEARSAL ledger (test keys only)" if ledger and ledger.info.rehearsal else "production ledger"
        )
        yield Static(
            Text.from_markup(f"[b]ceremony[/b] — {kind}\nLedger: {escape(str(self.context.ledger_path))}"),
            id="menu-title",
        )
        with Vertical(id="menu"):
            yield Button("New key generation ceremony", id="generate", variant="primary")
            yield Button("Recover a key", id="recover")
            yield Button("Re-share / replace custodians", id="reshare")
            yield Button("Retire a key or split", id="retire")
            yield Button("Custodian departure", id="departure")
            yield Button("Key list", id="keys")
            yield Button("Reaffirmations", id="reaffirmations")
            yield Button("Lift a lockout", id="lockouts")
            yield Button("Reports", id="reports")
            yield Button("Participants", id="participants")
            yield Button("Verify ledger", id="verify")
            yield Button("Quit", id="quit")
        yield Static("", id="menu-attention")  # filled once the menu is on screen (on_mount)
        yield Static("", id="menu-status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#generate", Button).focus()
        # Cold start (issue 14): the attention lines come right after the first frame, not before it.
        self.call_after_refresh(self._show_attention)

    def _show_attention(self) -> None:
        self.query_one("#menu-attention", Static).update(attention_text(self.context.open()))

    def _status(self, text: str, style: str) -> None:
        self.query_one("#menu-status", Static).update(Text(text, style=style))

    @on(Button.Pressed, "#generate")
    def new_ceremony(self) -> None:
        from ceremony.flows.enrolment import missing_for_a_ceremony

        missing = missing_for_a_ceremony(self.context.people(active=False))
        if missing:
            self._status("Enroll first: " + ", ".join(missing) + " (Participants).", "bold red")
            return
        self.post_message(Open(Place.GENERATION, self.context))

    # Each menu entry opens its place on top of the menu (the router builds the screen, with the app's
    # preflight runner: the real checks, or the one a test or rehearsal gave).
    _PLACES: ClassVar[dict[str, Place]] = {
        "recover": Place.RECOVERY,
        "reshare": Place.RESHARE,
        "retire": Place.RETIREMENT,
        "departure": Place.DEPARTURE,
        "keys": Place.KEYS,
        "reaffirmations": Place.REAFFIRMATIONS,
        "lockouts": Place.LOCKOUTS,
        "reports": Place.REPORTS,
        "participants": Place.PARTICIPANTS,
    }

    @on(Button.Pressed, "#recover, #reshare, #retire, #departure, #keys")
    @on(Button.Pressed, "#reaffirmations, #lockouts, #reports, #participants")
    def open_place(self, event: Button.Pressed) -> None:
        self.post_message(Open(self._PLACES[str(event.button.id)], self.context))

    @on(Button.Pressed, "#verify")
    def verify(self) -> None:
        self._status("Working: verifying every event, signature and the custody rule…", "bold yellow")
        from ceremony.ledger.verify import verify_ledger

        path = self.context.ledger_path
        self.run_worker(lambda: verify_ledger(path), thread=True, exit_on_error=False, name="verify")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "verify" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state is WorkerState.SUCCESS:
            from ceremony.ledger.verify import VerifyResult

            result = event.worker.result
            assert isinstance(result, VerifyResult)
            self._status("✓ " + result.summary(), "bold green")
            return
        error = event.worker.error
        if not isinstance(error, CeremonyError):
            raise error if error is not None else RuntimeError("verification failed")
        self._status(f"✗ The ledger does not verify: {error}", "bold red")

    @on(Button.Pressed, "#quit")
    def action_leave(self) -> None:
        self.app.exit(0, return_code=0)
