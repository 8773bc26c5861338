"""The frame of every recovery / re-share screen, and how a refusal from the flow is shown.

Steps follow each other with ``switch_screen`` (the previous one is gone from the stack), so no step, and
above all no secret screen, is reached again by going "back". Ctrl+C hands the cancellation to the flow,
which voids the ceremony and records why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from ceremony.errors import (
    BadShareError,
    BelowThresholdError,
    CeremonyError,
    CustodyViolationError,
    DemonstratedKnowledgeError,
    DualControlError,
    DuplicateShareError,
    EnvelopeIncidentError,
    ForeignShareError,
    KCVMismatchError,
    RetiredKeyError,
    RetiredShareError,
    ShareChecksumError,
    ShareFormatError,
    WrongPassphraseError,
)
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.session import LifecycleSession
from ceremony.tui.screens.secret_screen import SecretScreen

# What the room hears for each kind of refusal (most specific first): the refusal is named, then the
# flow's own sentence, which never quotes a share.
_REFUSAL_NAMES: tuple[tuple[type[CeremonyError], str], ...] = (
    (ShareChecksumError, "Typing error"),
    (ShareFormatError, "Not a share"),
    (DuplicateShareError, "Duplicate share"),
    (RetiredShareError, "Share of a retired split"),
    (ForeignShareError, "Share of another key or split"),
    (BelowThresholdError, "Not enough shares"),
    (BadShareError, "Share does not match its commitment"),
    (KCVMismatchError, "KCV mismatch"),
    (EnvelopeIncidentError, "Envelope incident"),
    (DemonstratedKnowledgeError, "Demonstrated knowledge"),
    (CustodyViolationError, "Split knowledge"),
    (RetiredKeyError, "Retired"),
    (WrongPassphraseError, "Wrong passphrase"),
    (DualControlError, "Dual control"),
)


def refusal_name(error: BaseException) -> str:
    for kind, name in _REFUSAL_NAMES:
        if isinstance(error, kind):
            return name
    return "Refused"


def refusal_text(error: BaseException, names: Mapping[str, str] | None = None) -> Text:
    """``✗ Duplicate share — share 2 was already entered (by …)``; a typo names its group. ``names``: person
    id -> name, so a refusal names people as the room knows them (the engine's messages carry ids)."""
    text = Text("✗ ", style="bold red")
    text.append(refusal_name(error), style="bold red")
    group = getattr(error, "group", None)
    if isinstance(error, ShareChecksumError) and group:
        text.append(f" in group {group}", style="bold red")
    message = str(error)
    for person_id, name in (names or {}).items():
        message = message.replace(person_id, name)
    text.append(f" — {message}", style="red")
    seq = getattr(error, "forbidding_seq", None)
    if seq:
        text.append(f"\n  Forbidden by ledger event #{seq}.", style="bold red")
    return text


class _Frame:
    """Helpers both kinds of lifecycle screen share."""

    session: LifecycleSession
    STEP: ClassVar[int] = 0

    def status(self, text: str | Text, style: str = "") -> None:
        widget = self.query_one("#status", Static)  # type: ignore[attr-defined]
        widget.update(text if isinstance(text, Text) else Text(text, style=style))

    def step_name(self) -> str:
        return self.session.steps[self.STEP].lower()


LIFECYCLE_CSS = Path(__file__).with_name("lifecycle.tcss")


class LifecycleScreen(_Frame, CeremonyScreen[None]):
    """A step of a recovery or re-share (no secret on it)."""

    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(steps=session.steps, current_step=self.STEP)
        self.session = session

    def go(self, screen: Screen[Any]) -> None:
        """Replace this step by the next one (no way back)."""
        self.app.switch_screen(screen)

    def on_cancel_requested(self) -> None:
        self.session.cancel(self.step_name())


class LifecycleSecretScreen(_Frame, SecretScreen[None]):
    """A step showing or collecting a share, a component or a KEK part: wiped when left, never shown again."""

    CSS_PATH = LIFECYCLE_CSS

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(steps=session.steps, current_step=self.STEP)
        self.session = session

    def on_cancel_requested(self) -> None:
        self.wipe_secrets()
        self.session.cancel(self.step_name())


def close_flow_screen(screen: Screen[Any]) -> None:
    """The last screen of a flow: back to whatever opened it (the menu), or out of an app it was the
    only screen of."""
    app = screen.app
    if len(app.screen_stack) > 1:
        app.pop_screen()
    else:
        app.exit(0, return_code=0)
