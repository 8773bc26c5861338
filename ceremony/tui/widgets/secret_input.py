"""A passphrase / share entry field that cannot leak what is typed into it.

A stock ``Input(password=True)`` hides the characters but still copies its plaintext to the system
clipboard through an OSC 52 escape sequence on select-all + copy (ctrl+shift+a, then ctrl+c / super+c,
or ctrl+x), and its ``Changed``/``Submitted``/``Blurred`` messages carry the clear value into any log
that records messages. This field (DESIGN §2, issue 6 item 6):

- is always a password field;
- never holds a selection, so there is nothing to copy or cut, and its copy/cut/select-all do nothing;
- posts its messages with the value withheld (``""``): read the value with :meth:`value_secret`;
- hands the value out only as :class:`~ceremony.crypto.secret.SecretBytes` (UTF-8 of the NFC form, so
  the same passphrase typed on two keyboards gives the same bytes) and can :meth:`wipe` itself.

Textual keeps the typed text in a Python ``str``, which cannot be zeroed; :meth:`wipe` drops the widget's
reference so the string is freed as soon as nothing else holds it. That is the limit of what a terminal UI
in Python can do, and why secrets leave the widget as ``SecretBytes`` straight away.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from rich.repr import Result
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input
from textual.widgets._input import Selection

from ceremony.crypto.secret import SecretBytes

# Every key Textual 8.2.8's Input binds to copy, cut or select-all: rebound here to a no-op so the
# keys are consumed by the field (and never reach a screen-level "copy selected text" binding).
_NO_CLIPBOARD_KEYS = "ctrl+c,super+c,ctrl+x,ctrl+shift+a"


class SecretInput(Input):
    """Password entry whose copy, cut and selection do nothing. See the module docstring."""

    ALLOW_SELECT = False  # no mouse/keyboard text selection of this widget (PCI 3.6.1: no disclosure)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(_NO_CLIPBOARD_KEYS, "refuse_clipboard", "Copying is disabled", show=False),
    ]

    def __init__(
        self,
        placeholder: str = "",
        *,
        max_length: int = 0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        tooltip: str | None = None,
    ) -> None:
        super().__init__(
            placeholder=placeholder,
            password=True,
            max_length=max_length,
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
            tooltip=tooltip,
            select_on_focus=False,
        )

    # --- nothing to copy -------------------------------------------------------------------------------
    def validate_selection(self, selection: Selection) -> Selection:
        # Collapse any selection (keyboard, mouse, programmatic) to a plain cursor at its end.
        collapsed = super().validate_selection(selection)
        return Selection.cursor(collapsed.end)

    def validate_password(self, password: bool) -> bool:
        return True  # a SecretInput is always masked

    def select_all(self) -> None:
        """Deliberately does nothing: a secret is never selected."""

    def action_select_all(self) -> None:
        """Deliberately does nothing: a secret is never selected."""

    def action_copy(self) -> None:
        """Deliberately does nothing: a secret never goes to the clipboard (OSC 52)."""

    def action_cut(self) -> None:
        """Deliberately does nothing: a secret never goes to the clipboard (OSC 52)."""

    def action_refuse_clipboard(self) -> None:
        """Consume copy/cut/select keys so no other binding acts on them while a secret is focused."""

    # --- nothing in messages, reprs or logs --------------------------------------------------------------
    def post_message(self, message: Message) -> bool:
        # Changed / Submitted / Blurred carry ``value``; withhold it so a message log cannot record it.
        if isinstance(message, (Input.Changed, Input.Submitted, Input.Blurred)):
            message.value = ""
        return super().post_message(message)

    def __rich_repr__(self) -> Result:
        yield "id", self.id, None
        yield "length", len(self.value)

    # --- the value, as a secret ---------------------------------------------------------------------------
    @property
    def is_empty(self) -> bool:
        return not self.value

    def value_secret(self) -> SecretBytes:
        """The typed text as UTF-8 bytes of its NFC normal form, in a wipeable buffer owned by the caller."""
        return SecretBytes.adopt(bytearray(unicodedata.normalize("NFC", self.value), "utf-8"))

    def wipe(self) -> None:
        """Forget the typed text (the field becomes empty)."""
        self.value = ""
        self.cursor_position = 0

    def on_unmount(self) -> None:
        # Drop the text when the field goes away, however its screen was closed.
        self.set_reactive(Input.value, "")
