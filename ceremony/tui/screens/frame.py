"""The one frame of every ceremony screen — generation, recovery, re-share, retirement (issue 14).

A step screen gets its session (the ledger, who is present, the flow) and what it shows in its constructor,
renders it, asks the flow to act, and when its part is done *reports* with :class:`~ceremony.tui.messages.
Proceed`: the router (:mod:`ceremony.tui.router`) asks the flow what comes next and shows it. Steps replace
each other (``switch_screen``), so no step, and above all no secret screen, is reached again by going back.

Refusals are shown in one vocabulary, the one the error classes carry (``refusal``, ``describe()`` in
:mod:`ceremony.errors`): "✗ Duplicate share — share 2 was already entered by Ana Lopez".

Ctrl+C asks first (a second Ctrl+C within a few seconds confirms); then the flow voids the ceremony and
records why. SIGTERM voids at once (:mod:`ceremony.tui.app`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from ceremony.errors import CeremonyError, ShareChecksumError
from ceremony.tui.messages import FlowEnded, Proceed
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.secret_screen import SecretScreen

if TYPE_CHECKING:  # without importing the flows at start
    from ceremony.flows.presence import PresentPerson
    from ceremony.flows.turns import Next


class Session(Protocol):
    """What every ceremony session offers its screens (generation and lifecycle sessions alike)."""

    names: dict[str, str]

    @property
    def steps(self) -> Sequence[str]: ...

    @property
    def open(self) -> bool: ...

    def cancel(self, step: str) -> None: ...

    def release(self) -> None: ...


def refusal_text(error: BaseException, names: Mapping[str, str] | None = None) -> Text:
    """``✗ Duplicate share — share 2 was already entered (by …)``: the refusal's name, then the flow's own
    sentence (never a share), people named as the room knows them; a typo names its group once."""
    text = Text("✗ ", style="bold red")
    if isinstance(error, CeremonyError):
        title = error.refusal
        group = getattr(error, "group", None)
        if isinstance(error, ShareChecksumError) and group:
            title += f" in group {group}"
        message = error.describe(names).removeprefix(error.refusal).removeprefix(" — ")
    else:
        title, message = "Refused", str(error)
    text.append(title, style="bold red")
    if message:
        text.append(f" — {message}", style="red")
    seq = getattr(error, "forbidding_seq", None)
    if seq:
        text.append(f"\n  Forbidden by ledger event #{seq}.", style="bold red")
    return text


class _Step:
    """What both kinds of step screen share (mixed into a CeremonyScreen or a SecretScreen)."""

    session: Any
    STEP: ClassVar[int] = 0

    def status(self, text: str | Text, style: str = "") -> None:
        widget = self.query_one("#status", Static)  # type: ignore[attr-defined]
        widget.update(text if isinstance(text, Text) else Text(text, style=style))
        self.call_after_refresh(widget.scroll_visible)  # type: ignore[attr-defined]

    def refusal(self, error: BaseException) -> None:
        self.status(refusal_text(error, self.session.names))

    def step_index(self) -> int:
        """Where this screen is in the step list (a screen shared by several ceremonies finds itself)."""
        return self.STEP

    def step_name(self) -> str:
        return str(self.session.steps[self.step_index()]).lower()

    def advance(
        self, next: Next | None = None, *, person: PresentPerson | None = None, data: Any = None
    ) -> None:
        """This step is done: the router shows what the flow says comes next (or ``next``)."""
        self.post_message(Proceed(self.session, next, person=person, data=data))  # type: ignore[attr-defined]

    def end_flow(self) -> None:
        """The ceremony is over (closed or voided): back to whatever opened it."""
        self.post_message(FlowEnded())  # type: ignore[attr-defined]

    def cancel_would_void(self) -> bool:
        """Ctrl+C here would void an open ceremony: the app asks for a second Ctrl+C first."""
        return bool(getattr(self.session, "open", False))


class StepScreen(_Step, CeremonyScreen[None]):
    """A step of a ceremony with no secret on it."""

    ALLOW_SELECT = False

    def __init__(self, session: Any) -> None:
        self.session = session
        super().__init__(steps=session.steps, current_step=self.step_index())

    def go(self, screen: Screen[Any]) -> None:
        """Replace this step by ``screen`` (no way back); the close-out and preflight screens still name
        their successor while they move to :meth:`advance`."""
        self.app.switch_screen(screen)

    def on_cancel_requested(self) -> None:
        self.session.cancel(self.step_name())


class SecretStepScreen(_Step, SecretScreen[None]):
    """A step showing or collecting a share, a component or a KEK part: wiped when left, never shown
    again (see :mod:`ceremony.tui.screens.secret_screen`)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        super().__init__(steps=session.steps, current_step=self.step_index())

    def advance(
        self, next: Next | None = None, *, person: PresentPerson | None = None, data: Any = None
    ) -> None:
        """Wipe this screen's secrets, then report (the router replaces it)."""
        self.wipe_secrets()
        self._spent = True
        super().advance(next, person=person, data=data)

    def on_cancel_requested(self) -> None:
        self.wipe_secrets()
        self.session.cancel(self.step_name())
