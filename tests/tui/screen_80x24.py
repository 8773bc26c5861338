"""What a person sees at 80x24, for the layout tests: the screen's text, whether a widget is fully on
screen (not clipped by a scrolling container, not below the fold), whether a tick is visibly ticked, and
a walk through every Tab stop asserting each focused widget can be seen."""

from __future__ import annotations

from textual.app import App
from textual.containers import HorizontalScroll, ScrollableContainer, VerticalScroll
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Checkbox, RadioButton, SelectionList


def screen_lines(app: App[object]) -> list[str]:
    """The text of every row of the screen as drawn."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def fully_on_screen(app: App[object], widget: Widget) -> bool:
    """The widget is displayed, has a size, and all of it is inside what its containers show."""
    placed = app.screen._compositor.visible_widgets.get(widget)
    if placed is None or not widget.display or not widget.visible:
        return False
    region, clip = placed
    return region.area > 0 and clip.intersection(region) == region


def shown_mark(toggle: Checkbox | RadioButton) -> str:
    """The tick as a person sees it: its glyph, or a space when drawn in the colour of its own box."""
    button = toggle._button
    inner = button.plain[1]
    style = next(span.style for span in button.spans if span.start == 1)
    assert not isinstance(style, str)
    return " " if style.foreground == style.background else inner


def shown_selection_marks(selection: SelectionList[object]) -> list[str]:
    """The ticks of a selection list's first rows, as a person sees them (see :func:`shown_mark`)."""
    marks: list[str] = []
    for y in range(selection.option_count):
        segments = [segment for segment in selection.render_line(y) if segment.text.strip()]
        inner = segments[1]
        style = inner.style
        assert style is not None
        marks.append(" " if style.color == style.bgcolor else inner.text)
    return marks


def shows_focus(widget: Widget) -> bool:
    """False for a Tab stop where nothing visible happens: a scrolling container with nothing to scroll."""
    if isinstance(widget, VerticalScroll | HorizontalScroll) or type(widget) is ScrollableContainer:
        return widget.allow_vertical_scroll or widget.allow_horizontal_scroll
    return True


async def tab_through(pilot: Pilot[object], app: App[object], stops: int) -> list[Widget]:
    """Press Tab ``stops`` times; after each press the focused widget must be fully on screen and show
    that it has the focus (no invisible Tab stop). Returns the widgets focused, in order."""
    seen: list[Widget] = []
    for _ in range(stops):
        await pilot.press("tab")
        await pilot.pause()
        focused = app.focused
        assert focused is not None, "Tab left nothing focused"
        assert fully_on_screen(app, focused), f"Tab stop {focused!r} cannot be seen"
        assert shows_focus(focused), f"Tab stop {focused!r} shows nothing"
        seen.append(focused)
    return seen
