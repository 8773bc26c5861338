"""The Textual application: key bindings, the screen stack, safe exit.

Keyboard-first and usable at 80x24 (DESIGN §6). Every screen gets the same frame (``CeremonyScreen``),
``?``/F1 help, footer key hints and the command palette (Ctrl+P) without Textual's Screenshot command.

Leaving the app:

- ``q`` on the home screen: nothing is in progress, exit code 0;
- Ctrl+C or Ctrl+Q, on any screen, also inside a text field: during a ceremony the first press asks and a
  second within five seconds confirms (SIGTERM does not ask); then :meth:`CeremonyApp.on_cancel_requested`
  lets each screen on the stack (top first) record the cancellation through its flow, and the app
  exits with code 130 and Textual restores the terminal (alternate screen left, cursor back);
- an unhandled exception: a traceback without locals or message (``leaks.safe_traceback``), exit code 1.

``run_tui`` returns the exit code; ``ceremony.cli`` passes it to ``sys.exit``.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segments
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.errors import ScreenCaptureRefusedError
from ceremony.flows import card_files
from ceremony.flows.unfinished import unfinished_in
from ceremony.ledger.replay import replayed
from ceremony.tui import router
from ceremony.tui.leaks import neutralise_textual_switches, safe_traceback
from ceremony.tui.messages import FlowEnded, Open, Proceed
from ceremony.tui.screens.context import LedgerContext, run_preflight

if TYPE_CHECKING:
    from ceremony.tui.screens.gen_session import PreflightRunner

# Cold start (issue 14): only what the main menu needs is imported here. The first-run, help and
# unfinished-ceremony screens (first run pulls in the document renderer: reportlab, pyHanko, qrcode) are
# imported where they are shown.

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_INTERNAL_ERROR",
    "CeremonyApp",
    "LedgerApp",
    "run_app",
    "run_tui",
]

# Importing ceremony.tui scrubbed TEXTUAL* before Textual was imported; this also covers a process
# that imported Textual earlier (DESIGN §2).
neutralise_textual_switches()

EXIT_CANCELLED = 130  # same as the CLI's "cancelled" (128 + SIGINT)
CONFIRM_SECONDS = 5.0  # a second Ctrl+C within this confirms voiding a ceremony
EXIT_INTERNAL_ERROR = 1

_CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# Palette commands that must never be offered: they write what is on screen to a file.
_REFUSED_COMMANDS = ("screenshot",)


class CeremonyApp(App[int]):
    """The ceremony TUI. Subclass or push screens (``CeremonyScreen`` / ``SecretScreen``) on it."""

    TITLE = "ceremony"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live in other modules
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: checked before the focused widget, so a text field's copy (ctrl+c) never wins.
        Binding("ctrl+c", "cancel", "Cancel", priority=True),
        Binding("ctrl+q", "cancel", "Cancel", show=False, priority=True),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]
    # (name, what it is for) of the screens an operator meets; shown by the help screen. Flow screens
    # add themselves here.
    SCREEN_GUIDE: ClassVar[list[tuple[str, str]]] = [
        ("Home", "what the tool does and which ledger it records to"),
    ]

    def __init__(self, ledger: Path | None = None) -> None:
        super().__init__()
        self.ledger = ledger
        self._cancelling = False
        self._cancel_armed_at = -CONFIRM_SECONDS - 1.0  # monotonic time of the first Ctrl+C (none yet)
        # No devtools, whatever the environment said (it streams every log line, key events included).
        self.features = frozenset()
        self.devtools = None
        self._devtools_redirector = None

    # --- screens ---------------------------------------------------------------------------------------
    def home_screen(self) -> Screen[Any]:
        """The first screen. Override to start elsewhere (e.g. first-run enrollment on an empty ledger)."""
        return router.welcome(self.ledger)

    def get_default_screen(self) -> Screen[Any]:
        return self.home_screen()

    def action_help(self) -> None:
        screen = router.help_for(self.screen, self.SCREEN_GUIDE)
        if screen is not None:
            self.push_screen(screen)

    # --- navigation: screens report, the router decides (issue 14) ------------------------------------
    @on(Proceed)
    def _proceed(self, report: Proceed) -> None:
        router.proceed(self, report)

    @on(Open)
    def _open(self, request: Open) -> None:
        router.open_place(self, request)

    @on(FlowEnded)
    def _flow_ended(self, _: FlowEnded) -> None:
        router.end_flow(self)

    # --- command palette: no screenshot -------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if not any(word in command.title.lower() for word in _REFUSED_COMMANDS):
                yield command

    # --- no screenshots, no logging --------------------------------------------------------------------
    def save_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str:
        raise ScreenCaptureRefusedError(
            "screenshots are disabled in ceremony: a screen may show a share or a passphrase"
        )

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        self.notify("Screenshots are disabled in ceremony.", severity="warning")
        return None

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.notify("Screenshots are disabled in ceremony.", severity="warning")

    # --- cancelling -------------------------------------------------------------------------------------
    async def on_cancel_requested(self) -> None:
        """Let every screen on the stack, top first, record the cancellation (and wipe its secrets).

        Override in a subclass to record it elsewhere; call ``super()`` to keep the screens' hooks.
        """
        for screen in reversed(self.screen_stack):
            hook = getattr(screen, "on_cancel_requested", None)
            if callable(hook):
                outcome = hook()
                if inspect.isawaitable(outcome):
                    await outcome

    def _cancel_would_void(self) -> bool:
        """A screen on the stack holds an open ceremony that a cancel would void."""
        for screen in self.screen_stack:
            would_void = getattr(screen, "cancel_would_void", None)
            if callable(would_void) and would_void():
                return True
        return False

    async def action_cancel(self) -> None:
        """Ctrl+C / Ctrl+Q: during a ceremony, a first press only asks (issue 14: one accidental Ctrl+C
        must not void a ceremony); a second within :data:`CONFIRM_SECONDS` confirms. Then record the
        cancellation and exit with code 130. Outside a ceremony nothing is voided: exit at once."""
        if self._cancelling:
            return
        now = time.monotonic()
        if self._cancel_would_void() and now - self._cancel_armed_at > CONFIRM_SECONDS:
            self._cancel_armed_at = now
            self.notify(
                f"Press Ctrl+C again within {CONFIRM_SECONDS:.0f} seconds to cancel: the ceremony is voided "
                "(the key and every share held in memory are wiped) and the cancellation recorded.",
                title="Cancel the ceremony?",
                severity="warning",
                timeout=CONFIRM_SECONDS,
            )
            return
        await self._cancel_now()

    async def _cancel_now(self) -> None:
        """Record the cancellation (each screen, top first, through its flow), then exit with code 130."""
        if self._cancelling:
            return
        self._cancelling = True
        # Share card files in the RAM folder go first, recorded while custodian and witness are present.
        card_files.wipe_all(record=True)
        await self.on_cancel_requested()
        self.exit(EXIT_CANCELLED, return_code=EXIT_CANCELLED)

    @on(events.Mount)
    def _install_signal_handlers(self) -> None:
        # SIGINT from outside the terminal (Ctrl+C itself arrives as a key) and SIGTERM (shutdown) take the
        # same recorded-cancel path instead of killing the app between a step and its ledger record.
        try:
            loop = asyncio.get_running_loop()
            for signum in _CANCEL_SIGNALS:
                loop.add_signal_handler(signum, self._cancel_from_signal)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread, or a platform without loop signal handlers

    @on(events.Unmount)
    def _remove_signal_handlers(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            for signum in _CANCEL_SIGNALS:
                loop.remove_signal_handler(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            return
        card_files.install(_CANCEL_SIGNALS)  # the loop gave the signals back: card files still get wiped

    def _cancel_from_signal(self) -> None:
        # SIGTERM (shutdown) or SIGINT from outside: no one is at the keyboard to confirm, void at once.
        card_files.wipe_all(record=True)  # at once, before anything else runs
        self.call_later(self._cancel_now)

    async def action_quit(self) -> None:
        # The palette's "Quit" and anything else asking to quit go through the same recorded cancel.
        await self.action_cancel()

    # --- unhandled exceptions: no locals, non-zero exit -------------------------------------------------
    def _handle_exception(self, error: Exception) -> None:
        self._return_code = EXIT_INTERNAL_ERROR
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.bell()
        self._exit_renderables.append(
            Segments(self.console.render(safe_traceback(error), self.console.options))
        )
        self._close_messages_no_wait()

    def _print_error_renderables(self) -> None:
        # The first error only (later ones are fallout of the shutdown), without Textual's advice to
        # rerun in devtools mode, which this app refuses.
        first = self._exit_renderables[:1]
        self._exit_renderables.clear()
        for renderable in first:
            self.error_console.print(renderable)
        if first and self._return_code == EXIT_INTERNAL_ERROR:
            self.error_console.print(
                "ceremony: internal error, the app stopped (exit code 1). "
                "Variable values and error details are not shown: they could hold key material."
            )

    def _fatal_error(self) -> None:
        # Textual's own version renders show_locals=True; every path comes through _handle_exception.
        self._close_messages_no_wait()


class LedgerApp(CeremonyApp):
    """The ceremony TUI on one ledger file. The first screen depends on what the ledger holds:

    - no file, or nobody enrolled: first run (greeting, founding by the first security officer, the ledger
      anchor, participants);
    - otherwise the main menu, with an unfinished ceremony (started, never closed or voided) shown on top
      of it first, to be voided or resumed (DESIGN §4).

    ``kdf`` is the passphrase-key cost for new enrollments (tests pass a light one); ``preflight`` runs
    the air-gap checks (the real ones by default).
    """

    SCREEN_GUIDE: ClassVar[list[tuple[str, str]]] = [
        ("Welcome", "first run: the first security officer founds the ledger (organisation, own identity)"),
        ("Ledger anchor", "after founding: the anchor to print and keep with the paper checkpoints"),
        ("Participants", "enroll people: a security officer and a second enrolled person authenticate"),
        ("Main menu", "generation, recovery, re-share, retirement, departure, keys, reports, verify"),
        ("Preflight", "air-gap checks; uncovered findings block (rehearsal: record and continue)"),
        ("Administrator & witness", "two different people authenticate; the ceremony starts"),
        ("Key details / Split", "key type, label, usage, cryptoperiod; scheme and custodians"),
        ("Generate", "key generated and split; KCV shown large and read aloud"),
        ("Distribution", "one custodian at a time: others look away, share shown, wiped, receipt"),
        ("Verification round", "each custodian re-enters their share before the key is wiped"),
        ("Close-out", "key wiped, acknowledgement forms and minutes signed, checkpoint shown"),
        ("Recovery / Re-share", "envelopes inspected, shares entered (k of m), KCV checked, output"),
        ("Retirement / Departure", "retire a key or split; a leaver flags every key they knew (3.7.5)"),
        ("Key list", "inventory with cryptoperiods due or expired and must-be-replaced flags"),
        ("Reaffirmations", "custodians current / due / overdue; record the annual reaffirmation (3.7.8)"),
        ("Reports", "custody, custodians, keys, ceremonies, exceptions; export PDF or CSV"),
    ]

    def __init__(
        self,
        ledger: Path,
        *,
        kdf: ScryptParams = DEFAULT_KDF,
        preflight: PreflightRunner = run_preflight,
        rehearsal: bool = False,
    ) -> None:
        super().__init__(ledger=ledger)
        self.context = LedgerContext(Path(ledger), kdf=kdf, run_preflight=preflight, rehearsal=rehearsal)

    def home_screen(self) -> Screen[Any]:
        # First run or the main menu, decided without reading the history: the checked read of every
        # event comes right after the first frame (_after_first_frame).
        return router.home(self.context)

    @on(events.Mount)
    def _after_first_frame(self) -> None:
        # Cold start (issue 14): the menu paints first; the start's one checked read of the ledger (every
        # hash link and signature) follows at once, before any key press is handled.
        self.call_after_refresh(self._show_unfinished)

    def _show_unfinished(self) -> None:
        ledger = self.context.open()
        if ledger is None:
            return
        events = replayed(ledger).events(ledger)  # the start's one checked read, shared (issue 14)
        for card in card_files.wipe_leftovers(events):
            self.notify(
                f"Ceremony {card.ceremony_id}: the share card file {card.path}, left by an interrupted run, "
                "was overwritten and removed. Voiding or resuming that ceremony records it.",
                title="Share card file wiped",
                severity="warning",
                timeout=60,
            )
        for item in reversed(unfinished_in(ledger)):
            self.push_screen(router.unfinished(self.context, item))

    @on(events.Unmount)
    def _close_ledger(self) -> None:
        self.context.close()


def run_app(app: CeremonyApp, *, headless: bool = False) -> int:
    """Run ``app`` to the end and return its exit code (0 when it set none)."""
    app.run(headless=headless)
    code = app.return_code
    return EXIT_INTERNAL_ERROR if code is None and app._exception is not None else int(code or 0)


def run_tui(ledger: str | None = None) -> int:
    """Entry point used by ``ceremony`` with no subcommand; returns the process exit code."""
    from ceremony.commands import resolve_ledger

    card_files.install()  # Ctrl+C / SIGTERM / exit: share card files in the RAM folder are wiped
    return run_app(LedgerApp(resolve_ledger(ledger)))
