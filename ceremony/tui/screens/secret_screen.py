"""Base for every screen that shows or collects a secret: a share, a component, a passphrase.

What it guarantees (DESIGN §2, issue 6 item 5):

- ``ALLOW_SELECT = False``: no text on it can be selected, so nothing can be copied to the clipboard;
- the app never saves a screenshot and never talks to devtools (``CeremonyApp``), here or elsewhere;
- it cannot be reached by going "back": leave it with :meth:`leave`, which wipes its secret widgets and
  *replaces* it (``switch_screen``) or dismisses it, so no screen stack keeps it. If a flow pushes a full
  screen on top of it anyway, it wipes itself at once and, when uncovered, removes itself instead of
  showing again. Overlays (help, command palette: ``ModalScreen``) cover it without wiping it;
- its :class:`SecretInput` and :class:`ShareDisplay` widgets are wiped on leave, on cancel and on unmount.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import ModalScreen, Screen

from ceremony.tui.screens.base import CeremonyScreen, ResultT
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_display import ShareDisplay
from ceremony.tui.widgets.share_groups import GroupedShareEntry


class SecretScreen(CeremonyScreen[ResultT]):
    """A screen that shows or collects secrets; see the module docstring."""

    ALLOW_SELECT = False
    SHOW_STEPS = False  # the share gets the full 80 columns; progress shows in the header

    _spent: bool = False

    @property
    def spent(self) -> bool:
        """True once the screen was left: its secrets are wiped and it will not show again."""
        return self._spent

    def wipe_secrets(self) -> None:
        """Wipe every SecretInput and ShareDisplay on this screen."""
        for field in self.query(SecretInput):
            field.wipe()
        for display in self.query(ShareDisplay):
            display.wipe()
        for entry in self.query(GroupedShareEntry):
            entry.wipe()

    def leave(self, next_screen: Screen[Any] | None = None, result: ResultT | None = None) -> None:
        """Wipe, then replace this screen with ``next_screen`` or, without one, dismiss it with ``result``."""
        self.wipe_secrets()
        self._spent = True
        if next_screen is not None:
            self.app.switch_screen(next_screen)
        else:
            self.dismiss(result)

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        top = self.app.screen_stack[-1] if self.app.screen_stack else None
        if top is not self and not isinstance(top, ModalScreen):
            # Covered by a full screen: the share must not survive underneath it.
            self.wipe_secrets()
            self._spent = True

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if self._spent and len(self.app.screen_stack) > 1:
            # Uncovered by "back": never show a spent secret screen again.
            self.app.pop_screen()

    def on_cancel_requested(self) -> None:
        self.wipe_secrets()

    def on_unmount(self) -> None:
        self._spent = True
