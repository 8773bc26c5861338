"""The ceremony's script as a list: what is done, what is happening now, what comes next.

Everyone in the room can see where the ceremony stands (DESIGN §4: a ceremony is a script of steps).
Marks are textual as well as coloured, so they survive a monochrome terminal: ``✓`` done, ``▶`` current,
``·`` pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

DONE_MARK = "✓"
CURRENT_MARK = "▶"
PENDING_MARK = "·"


class StepList(Widget):
    """Step titles with done / current / pending marks and an "n of N" progress line."""

    ALLOW_SELECT = False

    current: reactive[int] = reactive(0, layout=True)

    def __init__(
        self,
        titles: Sequence[str],
        current: int = 0,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if not titles:
            raise ValueError("a step list needs at least one step")
        self.titles: tuple[str, ...] = tuple(titles)
        self.set_reactive(StepList.current, self.validate_current(current))

    def validate_current(self, current: int) -> int:
        # len(titles) means "all done".
        return max(0, min(current, len(self.titles)))

    @property
    def finished(self) -> bool:
        return self.current >= len(self.titles)

    def advance(self) -> None:
        """Mark the current step done and move to the next."""
        self.current += 1

    def mark(self, index: int) -> str:
        if index < self.current:
            return DONE_MARK
        if index == self.current:
            return CURRENT_MARK
        return PENDING_MARK

    def progress_text(self) -> str:
        total = len(self.titles)
        if self.finished:
            return f"All {total} steps done"
        return f"Step {self.current + 1} of {total}"

    def render(self) -> Text:
        text = Text(self.progress_text(), style="bold")
        for index, title in enumerate(self.titles):
            mark = self.mark(index)
            style = {DONE_MARK: "green", CURRENT_MARK: "bold reverse", PENDING_MARK: "dim"}[mark]
            text.append("\n")
            text.append(f"{mark} {title}", style=style)
        return text
