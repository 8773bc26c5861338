"""Recovery's and re-share's names for the one ceremony frame (:mod:`ceremony.tui.screens.frame`).

Refusals use the one vocabulary the error classes carry; the lifecycle screens share one style sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.screen import Screen
from textual.widgets import Button

from ceremony.errors import CeremonyError, CustodyViolationError
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.frame import SecretStepScreen, StepScreen
from ceremony.tui.screens.frame import refusal_text as _refusal_text
from ceremony.tui.screens.lifecycle.session import LifecycleSession

LIFECYCLE_CSS = Path(__file__).with_name("lifecycle.tcss")


def refusal_name(error: BaseException) -> str:
    """The refusal's name, from the one vocabulary the error classes carry."""
    return error.refusal if isinstance(error, CeremonyError) else "Refused"


def refusal_text(error: BaseException, names: Mapping[str, str] | None = None) -> Text:
    return _refusal_text(error, names)


class LifecycleScreen(StepScreen):
    """A step of a recovery or re-share (no secret on it)."""

    CSS_PATH = LIFECYCLE_CSS
    session: LifecycleSession

    def go(self, screen: Screen[Any]) -> None:
        """Replace this step by ``screen`` (no way back). Kept while the last screens move to ``proceed``."""
        self.app.switch_screen(screen)


class CustodyPlanScreen(StepScreen):
    """A plan screen whose plan the custody rule checks before anyone authenticates (DESIGN §3): a recovery's
    output, a key block check's KBPK. A refusal is shown below Continue, read whole; a custody refusal
    offers the ``#quorum`` button, where a security officer and a witness may record a quorum decision
    (:class:`~ceremony.tui.screens.lifecycle.quorum_decision.QuorumDecisionScreen`). The screen composes a
    ``#quorum`` and a ``#continue`` button and has a ``session`` with ``names``."""

    refused: tuple[str, tuple[str, ...], CustodyViolationError] | None = None  # key, holders, refusal

    def _refuse(self, text: str | Text, style: str = "bold red") -> None:
        """A refusal below Continue, read whole: the body scrolls to its end (after the new layout)."""
        self.status(text, style)
        body = self.query_one("#body")
        self.call_after_refresh(body.scroll_end, animate=False)

    def custody_checked(self, key_id: str, holders: tuple[str, ...], check: Callable[[], None]) -> bool:
        """Run ``check`` (the plan's own checks and its custody dry run); True when it passes, else the
        refusal shown (names for ids) and, for a custody refusal, the quorum decision offered."""
        quorum = self.query_one("#quorum", Button)
        try:
            check()
        except CeremonyError as error:
            text = refusal_text(error, self.session.names)
            if isinstance(error, CustodyViolationError):
                text.append(
                    "\n  A security officer and a witness may record a quorum decision, with its reason.",
                    style="bold",
                )
                self.refused = (key_id, holders, error)
                quorum.display = True
            self._refuse(text)
            return False
        self.refused = None
        quorum.display = False
        return True

    @on(Button.Pressed, "#quorum")
    def quorum_decision(self) -> None:
        if self.refused is None:
            return
        key_id, holders, error = self.refused

        def decided(recorded_seq: int | None) -> None:
            if recorded_seq is None:
                return
            self.refused = None
            self.query_one("#quorum", Button).display = False
            done = f"✓ Quorum decision recorded (event #{recorded_seq}): Continue."
            self.status(Text(done, style="bold green"))
            self.query_one("#continue", Button).focus()

        data = (self.session, key_id, len(holders), holders, error)
        self.post_message(Open(Place.QUORUM_DECISION, data, decided))


class LifecycleSecretScreen(SecretStepScreen):
    """A step showing or collecting a share, a component or a KEK part: wiped when left, never shown again."""

    CSS_PATH = LIFECYCLE_CSS
    session: LifecycleSession


def close_flow_screen(screen: Screen[Any]) -> None:
    """The last screen of a flow: back to whatever opened it (the menu), or out of an app it was the
    only screen of."""
    app = screen.app
    if len(app.screen_stack) > 1:
        app.pop_screen()
    else:
        app.exit(0, return_code=0)
