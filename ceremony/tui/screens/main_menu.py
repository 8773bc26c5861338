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
    from ceremony.ledger.register import Register
    from ceremony.ledger.store import Ledger

# Cold start (issue 14): what a button leads to (flows, other screens, the verifier) is imported in its
# handler, not here.


def attention_text(ledger: Ledger | None, now: datetime | None = None) -> Text:
    """Shown at start and each time the menu is shown again (PCI DSS 3.7.4, 3.7.5, 3.7.8): keys past or
    within 90 days of their cryptoperiod's end, keys that must be replaced because someone who knew a share
    left, and custodians whose annual reaffirmation is overdue. Empty when nothing needs attention."""
    if ledger is None:
        return Text("")
    from ceremony.flows.departure import keys_to_replace
    from ceremony.ledger.replay import replayed
    from ceremony.policy.cryptoperiod import classify, periods_of

    # The one checked read of the ledger's head (issue 14), shared with the start-up scan; after a
    # ceremony the head moved and it is read again once, so the lines follow what was just recorded.
    register = replayed(ledger).register
    now = now or datetime.now(UTC)
    report = classify(periods_of(register.keys.values()), now)
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
    for name, due in overdue_reaffirmations(register, now):
        text.append(f"⚠ {name}: reaffirmation OVERDUE since {due:%Y-%m-%d} (PCI DSS 3.7.8)\n", "bold red")
    text.rstrip()
    return text


def overdue_reaffirmations(register: Register, now: datetime) -> list[tuple[str, datetime]]:
    """Each active custodian whose reaffirmation is overdue at ``now`` (name, due date), oldest due first;
    from the register already read, so the menu needs no second pass over the ledger."""
    from ceremony.policy.reaffirmation import Standing, standing

    overdue = []
    for person in register.people.values():
        if not person.active or "custodian" not in person.roles:
            continue
        affirmed = register.affirmations.get(person.person_id)
        status, due = standing(affirmed[-1].time if affirmed else None, now)
        if status is Standing.OVERDUE and due is not None:
            overdue.append((f"{person.name} ({person.employee_id})", due))
    return sorted(overdue, key=lambda item: (item[1], item[0]))


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
            yield Button("Check a received key block", id="keyblock")
            yield Button("Key list", id="keys")
            yield Button("Reaffirmations", id="reaffirmations")
            yield Button("Lift a lockout", id="lockouts")
            yield Button("Reports", id="reports")
            yield Button("Participants", id="participants")
            yield Button("Verify ledger", id="verify")
            yield Button("Quit", id="quit")
        # Right under the choices, so the answer to one (verify's result) is seen whole at 80x24.
        yield Static("", id="menu-status")
        yield Static("", id="menu-attention")  # filled each time the menu is shown (on_screen_resume)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#menu-status", Static).display = False
        self.query_one("#generate", Button).focus()

    def on_screen_resume(self) -> None:
        # Shown first, and shown again after every ceremony or task a choice opened (issue 15): what needs
        # attention is read again then (a departure's "must be replaced" appears at once). Cold start (issue
        # 14): the lines come right after the first frame, not before it; the ledger's read is shared per
        # head (ledger/replay.py), so doing it again on a return costs one read only if something changed.
        self.call_after_refresh(self._show_attention)

    def _show_attention(self) -> None:
        self.query_one("#menu-attention", Static).update(attention_text(self.context.open()))

    def _status(self, text: str, style: str) -> None:
        status = self.query_one("#menu-status", Static)
        status.update(Text(text, style=style))
        status.display = bool(text)
        if text:
            self.call_after_refresh(status.scroll_visible, animate=False)

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
        "keyblock": Place.KEY_BLOCK_CHECK,
        "keys": Place.KEYS,
        "reaffirmations": Place.REAFFIRMATIONS,
        "lockouts": Place.LOCKOUTS,
        "reports": Place.REPORTS,
        "participants": Place.PARTICIPANTS,
    }

    @on(Button.Pressed, "#recover, #reshare, #retire, #departure, #keyblock, #keys")
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
