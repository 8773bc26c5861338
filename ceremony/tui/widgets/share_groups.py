"""Share entry group by group: each group is checked the moment it is complete, so a typo is named
while the custodian still has that group of their record in front of them (issue 14, 2.7).

What the custodian sees, and why. The screen is private (everyone else looks away), but the share is
still secret, and a shoulder or a camera may outlast the look-away. So:

- the group being typed shows its characters (``3A7··``): nobody can type twenty-odd groups blind, and
  comparing five characters with one's record is how a typo is found;
- a group that checks out is masked at once (``•••••✓``): it never needs to be read again;
- a group that does not check out stays visible in red (``3A7QZ✗``) with "Typing error in group N — …";
  Backspace corrects it, nothing else is accepted until it does;
- Backspace on an empty group goes back into the previous group (its characters become visible again,
  as it is again the group being typed): one key deletes one character, as in any text field;
- groups are laid out as on the share screen (the header groups 1-7 on the first row, then rows of
  seven, each row numbered), so "group 12" is found where the record has it.

The per-group check is the codec's (:func:`ceremony.crypto.codec.check_typed_groups`); the last group of a
share may be shorter than five characters, so it is judged, with the whole-share checksum, by the flow when
Enter hands the share over; a screen passes a refusal back with :meth:`GroupedShareEntry.refuse`.

Secrets (DESIGN §2): the typed characters live in one preallocated ``bytearray`` (no reallocation leaves
copies behind) that is zeroed by :meth:`wipe` and on unmount; they leave the widget only as
:class:`~ceremony.crypto.secret.SecretBytes` in :class:`GroupedShareEntry.Entered`, owned (and wiped) by
the handler. The repr shows counts only; notes name group numbers, never characters. Nothing can be
selected or copied. Transient ``str``s exist only while the current group is rendered.
"""

from __future__ import annotations

from typing import ClassVar

from rich.repr import Result
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from ceremony.crypto import codec
from ceremony.crypto.ids import ALPHABET
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import ShareChecksumError
from ceremony.tui.widgets.share_display import GROUPS_PER_LINE

GROUP = codec.GROUP_DATA + 1  # characters in a printed group
HEADER_ROW = codec.HEADER_GROUPS  # the header groups 1-7 have a row of their own, as on the share screen
ROW = GROUPS_PER_LINE  # groups per body row, as on the share screen
CAPACITY = 640  # characters: more than the longest share the codec encodes (111 groups of five)
MASK = "•" * GROUP

# Typed character -> the symbol printed on a card (upper case; Crockford's I, L -> 1 and O -> 0, the
# codec's decoding rule) or "" for a separator that is skipped. Anything else is never on a card.
_SYMBOL: dict[str, str] = {c: c for c in ALPHABET} | {c.lower(): c for c in ALPHABET}
_SYMBOL |= {"I": "1", "i": "1", "L": "1", "l": "1", "O": "0", "o": "0"}
_SYMBOL |= {" ": "", "-": "", "\t": "", "\n": "", "\r": ""}


def typo_text(error: ShareChecksumError) -> Text:
    """``✗ Typing error in group 9 — a character in it is mistyped …``: the one wording of a typo."""
    where = f"{error.refusal} in group {error.group}" if error.group else error.refusal
    text = Text(f"✗ {where}", style="bold red")
    text.append(f" — {error}", style="red")
    return text


class ShareGroups:
    """What has been typed, and which group (if any) does not check out. Pure: no UI, so it can be
    tested exhaustively. Feed it characters with :meth:`type`, correct with :meth:`backspace`."""

    def __init__(self) -> None:
        self._buf = bytearray(CAPACITY)
        self._length = 0
        self.bad = 0  # number (1-based) of the group that does not check out, 0 when none
        self.error: ShareChecksumError | None = None  # why ``bad`` is set, or the whole share failed
        self.stray = False  # the last character typed is never printed on a card (and was refused)

    def __repr__(self) -> str:
        return f"<ShareGroups {self._length} characters, bad group {self.bad}>"

    # --- where the custodian is ----------------------------------------------------------------------
    @property
    def length(self) -> int:
        return self._length

    @property
    def accepted(self) -> int:
        """Groups typed in full that check out (masked on screen)."""
        complete = self._length // GROUP
        return complete - 1 if self.bad and self.bad == complete else complete

    @property
    def current(self) -> int:
        """Number (1-based) of the group being typed: the one shown in clear."""
        return self.accepted + 1

    def current_chars(self) -> bytearray:
        """A copy of the current group's characters, for one render; the caller zeroes it."""
        return bytearray(memoryview(self._buf)[self.accepted * GROUP : self._length])

    # --- typing --------------------------------------------------------------------------------------
    def type(self, char: str) -> bool:
        """One typed character; False when refused (see :attr:`error` and :attr:`bad`)."""
        symbol = _SYMBOL.get(char)
        if symbol is None:
            self.stray = True
            return False
        if not symbol:
            return True  # a separator: the groups are counted, not delimited
        if self.bad or self._length >= CAPACITY:
            return False
        self._buf[self._length] = ord(symbol)
        self._length += 1
        self.error = None
        self.stray = False
        if self._length % GROUP == 0:
            self._check()
        return True

    def backspace(self) -> None:
        """Delete the last character; on an empty group that is the last character of the previous one."""
        if not self._length:
            return
        self._length -= 1
        self._buf[self._length] = 0
        self.bad = 0
        self.error = None
        self.stray = False

    def _check(self) -> None:
        typed = bytearray(memoryview(self._buf)[: self._length])
        try:
            codec.check_typed_groups(typed)
        except ShareChecksumError as error:
            self.bad = error.group
            self.error = error
        finally:
            typed[:] = bytes(len(typed))

    # --- a refusal from the flow ---------------------------------------------------------------------
    def refuse(self, error: ShareChecksumError) -> None:
        """The flow named a group (the last one, which only the flow can judge) or the whole share."""
        if not error.group:
            self.clear()
            self.error = error
            return
        # Only the last group can reach the flow unchecked; should an earlier one be named, it becomes the
        # group being typed (visible again), and what came after it is typed again.
        keep = min(self._length, error.group * GROUP)
        while self._length > keep:
            self.backspace()
        self.error = error
        if error.group == self.current and self._length > self.accepted * GROUP:
            self.bad = error.group  # shown in red, Backspace to correct

    # --- the share -----------------------------------------------------------------------------------
    def share(self) -> SecretBytes:
        """Everything typed, as the codec reads it, in a buffer the caller owns and wipes."""
        return SecretBytes(memoryview(self._buf)[: self._length])

    def clear(self) -> None:
        self._buf[:] = bytes(CAPACITY)
        self._length = 0
        self.bad = 0
        self.error = None
        self.stray = False

    wipe = clear


class GroupedShareEntry(Widget, can_focus=True):
    """Type a share group by group; posts :class:`Entered` on Enter. See the module docstring."""

    ALLOW_SELECT = False  # nothing to select, nothing to copy (PCI 3.6.1)

    DEFAULT_CSS = """
    GroupedShareEntry {
        height: auto;
        padding: 0 1;
        border: tall $border-blurred;
    }
    GroupedShareEntry:focus {
        border: tall $accent;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("backspace", "backspace", "Correct", show=False),
        Binding("enter", "submit", "Done", show=False),
        Binding("ctrl+c,super+c,ctrl+x,ctrl+shift+a", "nothing", show=False),  # no clipboard, ever
    ]

    class Entered(Message):
        """The custodian pressed Enter: ``share`` is everything typed; the handler owns and wipes it."""

        def __init__(self, entry: GroupedShareEntry, share: SecretBytes) -> None:
            super().__init__()
            self.entry = entry
            self.share = share

        @property
        def control(self) -> GroupedShareEntry:
            return self.entry

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.groups = ShareGroups()
        self._note: Text | None = None  # a message from the screen, shown until the next key

    def __rich_repr__(self) -> Result:
        yield "id", self.id, None
        yield "characters", self.groups.length
        yield "bad", self.groups.bad, 0

    @property
    def is_empty(self) -> bool:
        return not self.groups.length

    # --- keys ----------------------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character is not None:
            event.stop()
            event.prevent_default()
            self.type_text(event.character)

    def on_paste(self, event: events.Paste) -> None:
        # A QR scanner or a paste of the QR payload: the same characters, checked the same way.
        event.stop()
        self.type_text(event.text)

    def type_text(self, text: str) -> None:
        """Type ``text`` as keystrokes would (separators skipped); stops at the first refused character."""
        self._note = None
        for char in text:
            if not self.groups.type(char):
                break
        self.refresh(layout=True)

    def action_backspace(self) -> None:
        self._note = None
        self.groups.backspace()
        self.refresh(layout=True)

    def action_submit(self) -> None:
        if self.groups.bad:
            self.refresh()
            return
        if self.is_empty:
            self.show_note(Text("Type the share first.", style="bold red"))
            return
        self.post_message(self.Entered(self, self.groups.share()))

    def action_nothing(self) -> None:
        """Copy, cut and select-all do nothing here (there is nothing to select)."""

    # --- what the screen tells it --------------------------------------------------------------------
    def refuse(self, error: ShareChecksumError) -> None:
        """A typo the flow found (the last group, or the share as a whole): name it, keep what is good."""
        self._note = None
        self.groups.refuse(error)
        self.refresh(layout=True)

    def show_note(self, note: Text) -> None:
        """A line under the groups until the next key (e.g. a refusal that is not a typo)."""
        self._note = note
        self.refresh(layout=True)

    def clear(self, note: Text | None = None) -> None:
        """Start again from group 1 (a share that is refused as a whole)."""
        self.groups.clear()
        self._note = note
        self.refresh(layout=True)

    def wipe(self) -> None:
        """Zero the typed characters. Idempotent."""
        self.groups.wipe()
        self._note = None
        self.refresh(layout=True)

    def on_unmount(self) -> None:
        self.groups.wipe()

    # --- what is shown -------------------------------------------------------------------------------
    def render(self) -> Text:
        groups = self.groups
        text = Text()
        label_width = len(str(max(groups.current, HEADER_ROW)))
        for number in range(1, groups.current + 1):
            if number == 1 or _row_start(number):
                if number > 1:
                    text.append("\n")
                text.append(f"{number:>{label_width}}  ", style="dim")
            else:
                text.append(" ")
            if number < groups.current:
                text.append(MASK, style="dim")
                text.append("✓", style="green")
            else:
                self._render_current(text)
        text.append("\n")
        text.append_text(self._status())
        return text

    def _render_current(self, text: Text) -> None:
        chars = self.groups.current_chars()
        try:
            shown = chars.decode("ascii")  # transient: the one group the custodian is typing
            style = "bold red" if self.groups.bad else "bold"
            text.append(shown, style=style)
            if self.groups.bad:
                text.append("✗", style="bold red")
            elif len(chars) < GROUP:
                text.append("_" if self.has_focus else "·", style="reverse" if self.has_focus else "dim")
                text.append("·" * (GROUP - len(chars) - 1), style="dim")
        finally:
            chars[:] = bytes(len(chars))

    def _status(self) -> Text:
        groups = self.groups
        if self._note is not None:
            return self._note
        if groups.error is not None:
            text = typo_text(groups.error)
            if groups.bad:
                text.append(f"\n  Backspace to correct group {groups.bad}.", style="bold")
            elif not groups.error.group:
                text.append("\n  Type the share again from group 1.", style="bold")
            return text
        if groups.stray:
            return Text(
                "✗ Not a share character: a card has only digits and capital letters. Type that one again.",
                style="bold red",
            )
        accepted = groups.accepted
        if not groups.length:
            return Text("Type the first group of your share, as on your record.", style="dim")
        checked = f"✓ Groups 1–{accepted} check out" if accepted > 1 else "✓ Group 1 checks out"
        lead = Text(checked + "; " if accepted else "", style="green")
        lead.append(f"typing group {groups.current}. Enter after the last group.", style="dim")
        return lead


def _row_start(number: int) -> bool:
    """Group ``number`` (1-based) starts a row: the header groups 1-7, then rows of seven."""
    return number > HEADER_ROW and (number - HEADER_ROW - 1) % ROW == 0
