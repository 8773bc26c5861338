"""The frame every ceremony screen shares: header, step list with progress, the screen's body, key hints.

A flow screen subclasses :class:`CeremonyScreen`, sets ``TITLE`` and ``HELP`` (what the screen is for, in
the custodians' words; shown by the help screen on ``?``/F1), and yields its widgets from
:meth:`compose_body`. It renders what its flow returns and never computes a share or writes the ledger
itself (STYLE: the TUI is a thin view over ``ceremony.flows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header

from ceremony.tui.widgets.step_list import StepList

ResultT = TypeVar("ResultT")


class Body(VerticalScroll):
    """The screen's body: a Tab stop only while it has something to scroll, and then it shows that it has
    the focus (issue 14: a body that fits the screen took a Tab press and showed nothing for it). Page Up /
    Page Down scroll it from anywhere on the screen (:class:`CeremonyScreen`)."""

    def on_resize(self) -> None:
        self.call_after_refresh(self._scrollable_or_not)

    def _scrollable_or_not(self) -> None:
        self.can_focus = self.max_scroll_y > 0 or self.max_scroll_x > 0


class CeremonyScreen(Screen[ResultT]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "scroll_body(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_body(1)", "Page down", show=False),
    ]

    """Base screen: ``Header``, optional :class:`StepList` on the left, body, ``Footer`` with key hints."""

    HELP: ClassVar[str | None] = None
    # Show the step list on the left (26 columns). Screens that need the full width (a share: nine
    # groups of five on one row) turn it off; the progress then shows in the header instead.
    SHOW_STEPS: ClassVar[bool] = True

    def __init__(
        self,
        *,
        steps: Sequence[str] = (),
        current_step: int = 0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._steps = tuple(steps)
        self._current_step = current_step

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="frame"):
            if self._steps and self.SHOW_STEPS:
                yield StepList(self._steps, self._current_step, id="steps")
            with Body(id="body"):
                yield from self.compose_body()
        yield Footer()

    def on_mount(self) -> None:
        if self._steps and not self.SHOW_STEPS:
            self.sub_title = StepList(self._steps, self._current_step).progress_text()

    def compose_body(self) -> ComposeResult:
        """Override: the widgets of this screen's body."""
        yield from ()

    def action_scroll_body(self, direction: int) -> None:
        body = self.query("#body")
        if body:
            target = body.first()
            (target.scroll_page_down if direction > 0 else target.scroll_page_up)()

    @property
    def step_list(self) -> StepList | None:
        found = self.query(StepList)
        return found.first() if found else None

    def on_cancel_requested(self) -> None:
        """Called (top screen first) when the operator cancels the ceremony with Ctrl+C.

        Override to have the flow record the cancellation. It runs before the app exits with code 130;
        an exception here is reported as an internal error (exit code 1) rather than swallowed.
        """
