"""Recovery's and re-share's names for the one ceremony frame (:mod:`ceremony.tui.screens.frame`).

Refusals use the one vocabulary the error classes carry; the lifecycle screens share one style sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.screen import Screen

from ceremony.errors import CeremonyError
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
