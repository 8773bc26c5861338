"""Show one share's typed form to the one custodian receiving it: large, clear, and wiped afterwards.

The share arrives as lines of ASCII groups separated by spaces (the typed form of ``ceremony.crypto``'s
codec), each line a ``bytearray`` that this widget takes ownership of and zeroes when it is wiped or
unmounted (DESIGN §2: secrets live in wipeable buffers). Nothing is copied into a long-lived ``str``: the
text is rebuilt from the buffers at each render, so after :meth:`wipe` a refresh leaves nothing behind.

Groups are numbered so a custodian can find "group 7" when the codec reports a typo there, and spaced
generously; nine groups of five characters fit on one row of an 80-column terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from ceremony.crypto.codec import share_lines
from ceremony.crypto.secret import SecretBytes

GROUPS_PER_LINE = 7  # seven groups of five characters per row, with wide gaps, in 80 columns


def share_rows(encoded: SecretBytes) -> list[bytearray]:
    """The typed form as rows of groups, each row a buffer a ShareDisplay owns (and wipes); ``encoded`` is
    wiped. One layout for a new share and a recovered component alike."""
    rows: list[bytearray] = []
    try:
        for _first, line in share_lines(encoded, GROUPS_PER_LINE):
            with line:
                rows.append(bytearray(line.view()))
    finally:
        encoded.wipe()
    return rows


def _groups(line: bytearray) -> list[str]:
    # Transient strs exist only for the duration of one render.
    return line.decode("ascii", errors="replace").split()


class ShareDisplay(Widget):
    """Rows of numbered share groups. Owns and wipes the given buffers."""

    ALLOW_SELECT = False  # the share is never selectable, so never copied (OSC 52)

    def __init__(
        self,
        lines: Sequence[bytearray],
        *,
        caption: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[bytearray] = list(lines)
        self._wiped = False
        if caption:
            self.border_title = caption

    @property
    def wiped(self) -> bool:
        return self._wiped

    @property
    def group_count(self) -> int:
        return sum(len(_groups(line)) for line in self._lines)

    def _gap(self, groups_in_row: list[str], label_width: int) -> int:
        # Widest gap (3 spaces, then 2, then 1) that keeps the row on one line of the current width.
        width = self.content_size.width or 76
        used = label_width + 2 + sum(len(group) for group in groups_in_row)
        for gap in (3, 2, 1):
            if used + gap * max(len(groups_in_row) - 1, 0) <= width:
                return gap
        return 1

    def render(self) -> Text:
        if self._wiped:
            return Text("(share wiped from the screen)", style="dim")
        text = Text()
        number = 1
        label_width = len(str(max(self.group_count, 1)))
        for row_index, line in enumerate(self._lines):
            groups = _groups(line)
            if row_index:
                text.append("\n\n")  # a blank line between rows: easier to keep one's place
            text.append(f"{number:>{label_width}}  ", style="dim")
            gap = " " * self._gap(groups, label_width)
            text.append(gap.join(groups), style="bold")
            number += len(groups)
        return text

    def wipe(self) -> None:
        """Zero every buffer, forget them, and repaint as wiped. Idempotent."""
        for line in self._lines:
            for i in range(len(line)):
                line[i] = 0
        self._lines.clear()
        self._wiped = True
        if self.is_mounted:
            self.refresh(layout=True)

    def on_unmount(self) -> None:
        self.wipe()
