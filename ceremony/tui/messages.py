"""The messages screens send upward (issue 14): a screen reports, it never chooses its successor.

A ceremony screen that has finished its part posts :class:`Proceed`; the app hands it to
:mod:`ceremony.tui.router`, which asks the flow what comes next (:mod:`ceremony.flows.turns`) and shows it.
A screen that produced something the next screen must show (the share just released, the custodian who
just authenticated, the refusal to explain) carries it in the message, never in a global.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from ceremony.flows.presence import PresentPerson
    from ceremony.flows.turns import Next


class Proceed(Message):
    """This step is done. ``next``: the turn, when the screen already asked the flow (or the room chose
    between two ways on); None lets the router ask the session's flow. ``person``: who authenticated for
    that turn; ``data``: what the next screen shows (never a share kept beyond that screen)."""

    def __init__(
        self,
        session: Any,
        next: Next | None = None,
        *,
        person: PresentPerson | None = None,
        data: Any = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.next = next
        self.person = person
        self.data = data


class Place(StrEnum):
    """Where a menu (or a screen's "do this first" button) can take the room."""

    GENERATION = "generation"
    RECOVERY = "recovery"
    KEY_BLOCK_CHECK = "key block check"  # a TR-31 key block received from elsewhere, opened under its KBPK
    RESHARE = "reshare"
    RETIREMENT = "retirement"
    DEPARTURE = "departure"
    KEYS = "keys"
    KEY_DETAIL = "key detail"  # everything the ledger records about one key (from the key list)
    PARTICIPANTS = "participants"
    REAFFIRMATIONS = "reaffirmations"
    LOCKOUTS = "lockouts"
    REPORTS = "reports"
    MAIN_MENU = "main menu"
    FOUNDING = "founding the ledger"
    ENROLMENT = "enrolment"  # the new person types their own details and passphrase
    RECORD_REAFFIRMATION = "record a reaffirmation"
    ANCHOR = "ledger anchor"
    QUORUM_DECISION = "quorum decision"  # a security officer and a witness lower a key's quorum
    PREFLIGHT_EXCEPTION = "preflight exception"  # a security officer and a witness cover findings (1.2.6)


class Open(Message):
    """Open ``place`` on top of this screen; ``callback`` gets what it returns when it closes. ``data``:
    what that screen needs (the ledger context, the refusal it answers...)."""

    def __init__(self, place: Place, data: Any = None, callback: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.place = place
        self.data = data
        self.callback = callback


class FlowEnded(Message):
    """The ceremony (or the task a menu opened) is over: back to whatever opened it."""
