"""The one place that knows which screen shows which turn, and the only module that imports screens.

Screens report (:mod:`ceremony.tui.messages`); the app hands every report here. For a ceremony the router
asks the flow what comes next (:mod:`ceremony.flows.turns`, through the session's ``next_turn``) unless the
screen already named the turn, builds the screen for it with what it shows, and *replaces* the current
step with it — no way back to a step, above all to a secret one. A menu's :class:`~ceremony.tui.messages.
Open` pushes a screen on top, to return to the menu when it closes.

Every screen module is imported inside the function that builds its screen, so the app can import this
module at start and still paint the menu before the ceremony screens (reportlab, pyHanko, the preflight
checks) are loaded (cold start, issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen

from ceremony.flows.turns import Next, Turn
from ceremony.tui.messages import Open, Place, Proceed

if TYPE_CHECKING:
    from ceremony.flows.unfinished import Unfinished
    from ceremony.tui.screens.context import LedgerContext

Build = Callable[[Any, Next, Proceed], Screen[Any]]


# --- generation ------------------------------------------------------------------------------------------
def _generation(session: Any, next: Next, report: Proceed) -> Screen[Any]:
    from ceremony.tui.screens import distribution, gen_key, gen_verify
    from ceremony.tui.screens.control_auth import ControlAuthScreen
    from ceremony.tui.screens.gen_close import CloseScreen
    from ceremony.tui.screens.gen_generate import GenerateScreen
    from ceremony.tui.screens.gen_preflight import PreflightScreen

    turn, number = next.turn, next.number or 0
    if turn is Turn.PREFLIGHT:
        return PreflightScreen(session)
    if turn is Turn.CONTROL_AUTH:
        return ControlAuthScreen(session)
    if turn is Turn.KEY_DETAILS:
        return gen_key.KeyDetailsScreen(session)
    if turn is Turn.SPLIT:
        return gen_key.SplitScreen(session)
    if turn is Turn.GENERATE:
        return GenerateScreen(session)
    if turn is Turn.LOOK_AWAY:
        return distribution.LookAwayScreen(session, number)
    if turn is Turn.SHOW:
        name, lines = report.data
        return distribution.ShareScreen(session, number, name, lines)
    if turn is Turn.CARD:
        return distribution.CardScreen(session, number, session.name_of(session.custodian_id(number)))
    if turn is Turn.RECEIPT:
        return distribution.ReceiptScreen(session, number, session.name_of(session.custodian_id(number)))
    if turn is Turn.VERIFY:
        return gen_verify.VerifyShareScreen(session, number)
    if turn is Turn.DECIDE_DEMONSTRATED:
        return gen_verify.DemonstratedIncidentScreen(session, number, report.data)
    if turn in (Turn.KBPK_COMPONENTS, Turn.KEY_BLOCK_FILE):  # the recovery's key block screens (issue 16)
        from ceremony.tui.screens.lifecycle import recovery_hsm, recovery_output

        if turn is Turn.KBPK_COMPONENTS:
            return recovery_output.KbpkComponentScreen(session)
        return recovery_hsm.KeyBlockFileScreen(session)
    if turn is Turn.CLOSE_OUT:
        return CloseScreen(session)
    raise AssertionError(f"generation has no screen for {turn}")


# --- recovery and re-share -------------------------------------------------------------------------------
def _lifecycle(session: Any, next: Next, report: Proceed) -> Screen[Any]:
    from ceremony.tui.screens import distribution, gen_verify
    from ceremony.tui.screens.control_auth import ControlAuthScreen
    from ceremony.tui.screens.lifecycle import (
        recovery_custodian,
        recovery_envelope,
        recovery_finish,
        recovery_hsm,
        recovery_incident,
        recovery_output,
        recovery_rebuild,
        recovery_share,
        reshare_distribute,
    )
    from ceremony.tui.screens.lifecycle.preflight import LifecyclePreflightScreen
    from ceremony.tui.screens.lifecycle.recovery_start import RecoveryPlanScreen
    from ceremony.tui.screens.lifecycle.reshare_start import ResharePlanScreen

    turn, number, person = next.turn, next.number or 0, report.person
    if turn is Turn.PLAN:
        return ResharePlanScreen(session) if session.reshare_mode else RecoveryPlanScreen(session)
    if turn is Turn.PREFLIGHT:
        return LifecyclePreflightScreen(session)
    if turn is Turn.CONTROL_AUTH:
        return ControlAuthScreen(session)
    if turn is Turn.NEXT_CUSTODIAN:
        return recovery_custodian.CustodianScreen(session, report.data)
    if turn is Turn.REFUSED:
        return recovery_custodian.CustodianScreen(session, report.data)
    if turn is Turn.INSPECT_ENVELOPE:
        assert person is not None
        return recovery_envelope.EnvelopeScreen(session, number, person)
    if turn is Turn.DECIDE_INCIDENT:
        assert person is not None
        return recovery_incident.IncidentScreen(session, number, person)
    if turn is Turn.DECIDE_DEMONSTRATED and person is not None:  # a recovery custodian typed another's
        return recovery_incident.IncidentScreen(session, number, person, report.data)
    if turn is Turn.ENTER_SHARE:
        assert person is not None
        return recovery_share.ShareEntryScreen(session, number, person)
    if turn is Turn.REBUILT:
        return recovery_rebuild.RebuiltScreen(session, report.data)
    if turn is Turn.COMPONENT:
        return distribution.LookAwayScreen(session, number)
    if turn is Turn.SHOW_COMPONENT:
        name, shown = report.data
        return recovery_output.ComponentScreen(session, number, name, shown)
    if turn is Turn.COMPONENT_RECEIPT:
        return distribution.ReceiptScreen(session, number, session.name_of(session.custodian_id(number)))
    if turn is Turn.KEK_COMPONENTS:
        return recovery_output.KekComponentScreen(session)
    if turn is Turn.WRAP_FILE:
        return recovery_output.WrapFileScreen(session)
    if turn is Turn.KBPK_COMPONENTS:
        return recovery_output.KbpkComponentScreen(session)
    if turn is Turn.KEY_BLOCK_FILE:
        return recovery_hsm.KeyBlockFileScreen(session)
    if turn is Turn.TOKEN_LOAD:
        return recovery_hsm.TokenLoadScreen(session)
    if turn is Turn.LOOK_AWAY:
        return distribution.LookAwayScreen(session, number)
    if turn is Turn.SHOW:
        name, lines = report.data
        return distribution.ShareScreen(session, number, name, lines)
    if turn is Turn.RECEIPT:
        return distribution.ReceiptScreen(session, number, session.name_of(session.custodian_id(number)))
    if turn is Turn.VERIFY:
        return reshare_distribute.NewShareVerifyScreen(session, number)
    if turn is Turn.DECIDE_DEMONSTRATED:  # at the re-share's verification round
        return gen_verify.DemonstratedIncidentScreen(session, number, report.data)
    if turn is Turn.CLOSE_OUT:
        return recovery_finish.finish_screen(session)
    raise AssertionError(f"a recovery or re-share has no screen for {turn}")


# --- checking a received key block (issue 16) ------------------------------------------------------------
def _key_block_check(session: Any, next: Next, report: Proceed) -> Screen[Any]:
    from ceremony.tui.screens.control_auth import ControlAuthScreen
    from ceremony.tui.screens.lifecycle import keyblock_check
    from ceremony.tui.screens.lifecycle.preflight import LifecyclePreflightScreen

    turn = next.turn
    if turn is Turn.PLAN:
        return keyblock_check.KeyBlockPlanScreen(session)
    if turn is Turn.PREFLIGHT:
        return LifecyclePreflightScreen(session)
    if turn is Turn.CONTROL_AUTH:
        return ControlAuthScreen(session)
    if turn is Turn.KBPK_COMPONENTS:
        return keyblock_check.CheckKbpkComponentScreen(session)
    if turn is Turn.KEY_BLOCK_VERDICT:
        return keyblock_check.VerdictScreen(session)
    if turn is Turn.CLOSE_OUT:
        return keyblock_check.CheckCloseScreen(session)
    raise AssertionError(f"a key block check has no screen for {turn}")


def proceed(app: App[Any], report: Proceed) -> None:
    """A step is done: show the turn the flow names next, in place of the step that reported."""
    session = report.session
    next = report.next or session.next_turn()
    if next.turn is Turn.DONE:
        end_flow(app)
        return
    from ceremony.tui.screens.gen_session import GenerationSession

    build: Build = _generation if isinstance(session, GenerationSession) else _lifecycle
    if getattr(session, "checks_a_key_block", False):  # a received key block's check (issue 16)
        build = _key_block_check
    app.switch_screen(build(session, next, report))


def end_flow(app: App[Any]) -> None:
    """The flow is over: back to whatever opened it (the menu), or out of an app it was the only screen
    of."""
    if len(app.screen_stack) > 1:
        app.pop_screen()
    else:
        app.exit(0, return_code=0)


# --- menus -----------------------------------------------------------------------------------------------
def open_place(app: App[Any], request: Open) -> None:
    """Push the screen for ``request.place`` on top of the one that asked."""
    app.push_screen(screen_for(request.place, request.data), request.callback)


def screen_for(place: Place, data: Any) -> Screen[Any]:
    """The first screen of ``place``. ``data``: the ledger context for menu entries (``.open()``,
    ``.run_preflight``, ``.kdf``), or what the sub-task answers."""
    from ceremony.flows.presence import Presence

    if place is Place.KEY_DETAIL:
        from ceremony.tui.screens.lifecycle.key_detail import KeyDetailScreen

        ledger, key_id, now = data
        return KeyDetailScreen(ledger, key_id, now)
    if place is Place.PREFLIGHT_EXCEPTION:
        from ceremony.tui.screens.preflight_exception import PreflightExceptionScreen

        ledger, findings = data
        return PreflightExceptionScreen(ledger, findings)
    if place in (Place.ENROLMENT, Place.RECORD_REAFFIRMATION) or (
        place is Place.REPORTS and isinstance(data, tuple)
    ):
        return _sub_task(place, data)
    if place is Place.QUORUM_DECISION:
        from ceremony.tui.screens.lifecycle.quorum_decision import QuorumDecisionScreen

        session, key_id, count, holders, error = data
        return QuorumDecisionScreen(session, key_id, count, holders, error)
    if place in (Place.FOUNDING, Place.ANCHOR) or isinstance(data, tuple):
        return _first_run(place, data)
    context = data
    ledger = context.open()
    assert ledger is not None
    if place is Place.GENERATION:
        from ceremony.tui.screens.gen_preflight import PreflightScreen
        from ceremony.tui.screens.gen_session import GenerationSession

        session = GenerationSession(ledger, Presence(ledger), context.run_preflight, context.kdf)
        return PreflightScreen(session)
    if place in (Place.RECOVERY, Place.RESHARE):
        from ceremony.tui.screens.lifecycle.session import LifecycleSession

        lifecycle = LifecycleSession(
            ledger, Presence(ledger), reshare_mode=place is Place.RESHARE, run_preflight=context.run_preflight
        )
        return _lifecycle(lifecycle, Next(Turn.PLAN), Proceed(lifecycle))
    if place is Place.KEY_BLOCK_CHECK:  # a received key block's check (issue 16)
        from ceremony.tui.screens.lifecycle.keyblock_check import KeyBlockCheckSession

        check = KeyBlockCheckSession(ledger, Presence(ledger), run_preflight=context.run_preflight)
        return _key_block_check(check, Next(Turn.PLAN), Proceed(check))
    if place is Place.RETIREMENT:
        from ceremony.tui.screens.lifecycle.retire import RetireScreen

        return RetireScreen(ledger, Presence(ledger), context.run_preflight)
    if place is Place.DEPARTURE:
        from ceremony.tui.screens.lifecycle.departure import DepartureScreen

        return DepartureScreen(ledger, Presence(ledger))
    if place is Place.KEYS:
        from ceremony.tui.screens.lifecycle.key_list import KeyListScreen

        return KeyListScreen(ledger)
    return _officer(place, context, ledger)


def _sub_task(place: Place, data: Any) -> Screen[Any]:
    """A screen opened on top of another for one task, returning what it did."""
    if place is Place.ENROLMENT:
        from ceremony.tui.screens.enroll import EnrollScreen

        context, enrolment = data
        return EnrollScreen(context, enrolment)
    if place is Place.RECORD_REAFFIRMATION:
        from ceremony.tui.screens.officer.reaffirmations import RecordReaffirmationScreen

        ledger, custodian, clock, policy, forms_dir = data
        return RecordReaffirmationScreen(ledger, custodian, clock=clock, policy=policy, forms_dir=forms_dir)
    from ceremony.tui.screens.officer.reports import ReportsScreen

    ledger_path, clock, export_folder = data  # the auditor's read-only view opens the reports
    return ReportsScreen(ledger_path, clock=clock, export_folder=export_folder)


def _first_run(place: Place, data: Any) -> Screen[Any]:
    """First run, in its own step list: founding, the anchor, the first participants."""
    from ceremony.tui.screens.anchor import AnchorScreen
    from ceremony.tui.screens.enroll import FoundingScreen
    from ceremony.tui.screens.participants import ParticipantsScreen

    subject, steps, step = data
    if place is Place.FOUNDING:
        return FoundingScreen(subject, steps=steps, current_step=step)
    if place is Place.ANCHOR:
        return AnchorScreen(subject, steps=steps, current_step=step)
    if place is Place.PARTICIPANTS:
        return ParticipantsScreen(subject, steps=steps, current_step=step)
    raise AssertionError(f"first run has no {place}")


def _officer(place: Place, context: Any, ledger: Any) -> Screen[Any]:
    # The officer's screens pull in the document renderer: imported when first opened (cold start).
    if place is Place.REAFFIRMATIONS:
        from ceremony.tui.screens.officer.reaffirmations import ReaffirmationsScreen

        return ReaffirmationsScreen(ledger)
    if place is Place.LOCKOUTS:
        from ceremony.tui.screens.officer.lockouts import lift_lockout_screen

        return lift_lockout_screen(ledger)
    if place is Place.REPORTS:
        from ceremony.tui.screens.officer.reports import ReportsScreen

        return ReportsScreen(context.ledger_path)
    if place is Place.PARTICIPANTS:
        from ceremony.tui.screens.participants import ParticipantsScreen

        return ParticipantsScreen(context)
    if place is Place.MAIN_MENU:
        from ceremony.tui.screens.main_menu import MainMenuScreen

        return MainMenuScreen(context)
    raise AssertionError(f"no screen for {place}")


# --- the app's own screens -------------------------------------------------------------------------------
def welcome(ledger: Path | None) -> Screen[Any]:
    """The plain app's first screen: what the tool does and which ledger it records to."""
    from ceremony.tui.screens.home import HomeScreen

    return HomeScreen(ledger)


def home(context: LedgerContext) -> Screen[Any]:
    """The first screen: first run on a ledger with no event (the genesis always enrols the founder),
    else the main menu."""
    ledger = context.open()
    if ledger is None or ledger.size() == 0:
        from ceremony.tui.screens.first_run import FirstRunScreen

        return FirstRunScreen(context)
    from ceremony.tui.screens.main_menu import MainMenuScreen

    return MainMenuScreen(context)


def unfinished(context: LedgerContext, item: Unfinished) -> Screen[Any]:
    """A ceremony started and never closed or voided, shown over the menu to be voided or resumed."""
    from ceremony.tui.screens.unfinished import UnfinishedScreen

    return UnfinishedScreen(context, item)


def help_for(screen: Screen[Any], guide: list[tuple[str, str]]) -> Screen[Any] | None:
    """The help screen for ``screen`` (None when help is already showing)."""
    from ceremony.tui.screens.help import HelpScreen

    return None if isinstance(screen, HelpScreen) else HelpScreen(screen, guide)
