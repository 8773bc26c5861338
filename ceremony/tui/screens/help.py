"""The help screen (``?`` or F1): the keys that work here, what this screen is for, and the screens of
a ceremony. An overlay (``ModalScreen``), so opening it over a secret screen neither wipes nor reveals it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

# Keys that work on every screen, with what they do, in the order an operator needs them.
GLOBAL_KEYS: tuple[tuple[str, str], ...] = (
    ("? / F1", "this help"),
    ("Tab / Shift+Tab", "move between fields and buttons"),
    ("Enter", "confirm the field or button in focus"),
    ("Ctrl+P", "command palette (search commands)"),
    ("Ctrl+C / Ctrl+Q", "cancel the ceremony (recorded), then exit"),
)


class HelpScreen(ModalScreen[None]):
    """Keys and screen guide. ``Esc``, ``q``, ``?`` or F1 closes it."""

    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help"),
    ]

    def __init__(self, under: Screen[Any], guide: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._under = under
        self._guide = tuple(guide)

    def _this_screen(self) -> Text:
        title = getattr(self._under, "TITLE", None) or self.app.title
        about = getattr(self._under, "HELP", None) or "No extra help for this screen."
        text = Text(f"This screen: {title}\n", style="bold")
        text.append(about.strip())
        return text

    def _keys(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        seen: set[str] = set()
        for key, what in GLOBAL_KEYS:
            table.add_row(key, what)
            seen.add(what)
        for key, active in self._under.active_bindings.items():
            binding = active.binding
            # The screen's own footer keys; the global ones are listed above.
            if active.node is not self._under or not binding.show or not binding.description:
                continue
            if binding.description in seen:
                continue
            seen.add(binding.description)
            table.add_row(self.app.get_key_display(binding) or key, binding.description)
        return table

    def _screens(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for name, what in self._guide:
            table.add_row(name, what)
        return table

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("Help", style="bold underline"), classes="help-title")
            yield Static(self._this_screen(), classes="help-section")
            yield Static(Text("Keys", style="bold"), classes="help-heading")
            yield Static(self._keys(), classes="help-section")
            if self._guide:
                yield Static(Text("Screens of a ceremony", style="bold"), classes="help-heading")
                yield Static(self._screens(), classes="help-section")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
