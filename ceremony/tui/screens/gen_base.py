"""The frame of every generation-ceremony screen: the step list, and Ctrl+C handed to the flow.

Generation screens follow each other with ``switch_screen`` (the previous step is gone from the stack),
so no step, and above all no secret screen, can be reached again by going "back".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.gen_session import GENERATION_STEP_TITLES, GenerationSession
from ceremony.tui.screens.secret_screen import SecretScreen


def error_text(error: BaseException, names: Mapping[str, str] | None = None) -> Text:
    """A refusal from the flow, as the room reads it: person ids replaced by names where known."""
    message = str(error)
    for person_id, name in (names or {}).items():
        message = message.replace(person_id, name)
    text = Text("✗ ", style="bold red")
    text.append(message, style="red")
    seq = getattr(error, "forbidding_seq", None)
    if seq:
        text.append(f"\n  Forbidden by ledger event #{seq}.", style="bold red")
    return text


class GenerationScreen(CeremonyScreen[None]):
    """A step of the generation ceremony (no secret on it)."""

    STEP: ClassVar[int] = 0
    ALLOW_SELECT = False

    def __init__(self, session: GenerationSession) -> None:
        super().__init__(steps=GENERATION_STEP_TITLES, current_step=self.STEP)
        self.session = session

    def go(self, screen: Screen[Any]) -> None:
        """Replace this step by the next one (no way back)."""
        self.app.switch_screen(screen)

    def status(self, text: str | Text, style: str = "") -> None:
        widget = self.query_one("#status", Static)
        widget.update(text if isinstance(text, Text) else Text(text, style=style))
        self.call_after_refresh(widget.scroll_visible)  # once its new height is laid out

    def refusal(self, error: BaseException) -> None:
        self.status(error_text(error, self.session.names))

    def on_cancel_requested(self) -> None:
        self.session.cancel(GENERATION_STEP_TITLES[self.STEP].lower())


class SecretGenerationScreen(SecretScreen[None]):
    """A step that shows or collects a share: wiped when left, never shown again."""

    STEP: ClassVar[int] = 0

    def __init__(self, session: GenerationSession) -> None:
        super().__init__(steps=GENERATION_STEP_TITLES, current_step=self.STEP)
        self.session = session

    def status(self, text: str | Text, style: str = "") -> None:
        widget = self.query_one("#status", Static)
        widget.update(text if isinstance(text, Text) else Text(text, style=style))
        self.call_after_refresh(widget.scroll_visible)  # once its new height is laid out

    def refusal(self, error: BaseException) -> None:
        self.status(error_text(error, self.session.names))

    def on_cancel_requested(self) -> None:
        self.wipe_secrets()
        self.session.cancel(GENERATION_STEP_TITLES[self.STEP].lower())
