"""Textual's ways of leaking what is on screen or typed, closed (DESIGN §2, issue 6 item 6).

Seen on Textual 8.2.8:

- ``TEXTUAL_LOG`` writes every key event and ``Input.Changed`` value to a file; ``TEXTUAL_SCREENSHOT`` /
  ``TEXTUAL_SCREENSHOT_LOCATION`` save an SVG of the screen; ``TEXTUAL_PRESS`` injects keys;
  ``TEXTUAL=devtools`` streams every log line to a devtools console. Textual reads these once, when
  ``textual.constants`` is imported. ``ceremony.tui`` scrubs the environment before that import;
  :func:`neutralise_textual_switches` also resets the constants, in case something imported Textual
  before the scrub (defence in depth).
- An unhandled exception prints a Rich traceback *with locals* (a share in a local variable). The
  app renders :func:`safe_traceback` instead: no locals, and the message withheld unless the error is one
  of ours (``CeremonyError`` messages are written never to contain secrets; a ``ValueError`` from parsing
  may quote the input it could not parse).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from ceremony.errors import CeremonyError

if TYPE_CHECKING:
    from rich.traceback import Trace, Traceback

WITHHELD = "(message withheld: it may quote secret input)"


def neutralise_textual_switches(constants: ModuleType | None = None) -> None:
    """Turn off Textual's log file, auto-screenshot, key injection and debug switches."""
    if constants is None:
        import textual.constants as constants
    # setattr: these are typing.Final in Textual, read at call time by textual.log and App.run.
    setattr(constants, "LOG_FILE", None)  # noqa: B010
    setattr(constants, "SCREENSHOT_DELAY", -1)  # noqa: B010
    setattr(constants, "SCREENSHOT_LOCATION", None)  # noqa: B010
    setattr(constants, "SCREENSHOT_FILENAME", None)  # noqa: B010
    setattr(constants, "PRESS", "")  # noqa: B010
    setattr(constants, "DEBUG", False)  # noqa: B010


def safe_traceback(error: BaseException) -> Traceback:
    """A Rich traceback of ``error`` without locals and, unless it is a CeremonyError, without its message."""
    import rich  # only when an error is shown: rich.traceback costs the cold start ~40 ms
    from rich.traceback import Traceback

    trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
    _scrub(trace, _our_error_names())
    return Traceback(trace, show_locals=False, width=100, suppress=[rich])


def _scrub(trace: Trace, ours: set[str]) -> None:
    for stack in trace.stacks:
        if stack.exc_type not in ours:
            stack.exc_value = WITHHELD
            stack.notes = []
            stack.syntax_error = None
        for frame in stack.frames:
            frame.locals = None
        for inner in stack.exceptions:  # exception groups
            _scrub(inner, ours)


def _our_error_names() -> set[str]:
    names: set[str] = set()
    todo: list[type[BaseException]] = [CeremonyError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names
