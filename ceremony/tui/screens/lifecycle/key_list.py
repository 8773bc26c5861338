"""The key list: every registered key with its status, its "must be replaced" flag and its cryptoperiod.

Read-only. A key a departed custodian ever knew is flagged "must be replaced" (PCI DSS 3.7.5) until a
re-share or re-key clears it; a key whose cryptoperiod ends within 90 days is "due", past it "expired"
(PCI DSS 3.6.1.4, 3.7.4). The same rows label the keys offered by the recovery and re-share screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ceremony.flows.common import read_register
from ceremony.flows.departure import keys_to_replace
from ceremony.ledger.store import Ledger
from ceremony.policy.cryptoperiod import PeriodStatus, cryptoperiods
from ceremony.reports.model import count_of
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.base import LIFECYCLE_CSS

MUST_BE_REPLACED = "MUST BE REPLACED"
KEY_LABEL_WIDTH = 28  # the key column's label, so that the Attention column stays within 80 columns


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class KeyRow:
    """One key as the lists show it."""

    key_id: str
    label: str
    key_type: str
    kcv_hex: str
    retired: bool
    must_be_replaced: bool
    period: PeriodStatus
    expires: str  # YYYY-MM-DD
    days_left: int
    active_splits: tuple[str, ...]

    @property
    def period_text(self) -> str:
        if self.period is PeriodStatus.EXPIRED:
            return f"EXPIRED {-self.days_left} days ago"
        if self.period is PeriodStatus.DUE:
            return f"due: {self.days_left} days left"
        if self.period is PeriodStatus.RETIRED:
            return "retired"
        return f"until {self.expires}"

    @property
    def marks(self) -> str:
        """What is flagged about the key, for a one-line label ("" when nothing is)."""
        marks = []
        if self.must_be_replaced:
            marks.append(f"⚠ {MUST_BE_REPLACED}")
        if self.period in (PeriodStatus.EXPIRED, PeriodStatus.DUE):
            marks.append(self.period_text)
        return ", ".join(marks)

    @property
    def attention(self) -> Text:
        """Why the key needs attention, in a few words for the list's second column ("" when it does
        not): the 3.7.5 flag, then the cryptoperiod's end."""
        text = Text()
        if self.retired:
            return text
        if self.must_be_replaced:
            text.append(MUST_BE_REPLACED, style="bold red")
        if self.period is PeriodStatus.EXPIRED:
            text.append(", " if text else "")
            text.append(f"expired {self.expires}", style="bold red")
        elif self.period is PeriodStatus.DUE:
            text.append(", " if text else "")
            text.append(f"due {self.expires}", style="bold yellow")
        return text

    def option_label(self) -> str:
        text = f"{self.label} ({self.key_id[:8]}, KCV {self.kcv_hex})"
        return f"{text} — {self.marks}" if self.marks else text


def key_rows(ledger: Ledger, now: datetime | None = None) -> list[KeyRow]:
    """Every registered key, in registration order, with its flags as of ``now`` (default: the clock)."""
    now = now or datetime.now(UTC)
    register = read_register(ledger.events())
    periods = {p.key_id: p for p in cryptoperiods(ledger.events())}
    flagged = {f.key_id for f in keys_to_replace(ledger)}
    rows = []
    for key in register.keys.values():
        period = periods.get(key.key_id)
        status = (
            PeriodStatus.RETIRED if key.retired else (period.status(now) if period else PeriodStatus.CURRENT)
        )
        rows.append(
            KeyRow(
                key_id=key.key_id,
                label=key.label,
                key_type=key.key_type.value,
                kcv_hex=key.kcv.hex,
                retired=key.retired,
                must_be_replaced=key.key_id in flagged,
                period=status,
                expires=period.expires.strftime("%Y-%m-%d") if period else "",
                days_left=period.days_left(now) if period else 0,
                active_splits=tuple(s.split_id for s in register.active_splits(key.key_id)),
            )
        )
    return rows


class KeyListScreen(CeremonyScreen[None]):
    TITLE = "Keys"
    HELP: ClassVar[str | None] = (
        "Every registered key: its KCV, whether it is retired, whether it must be replaced because a "
        "custodian who knew it left (PCI DSS 3.7.5), and its cryptoperiod (due within 90 days, or "
        "expired: PCI DSS 3.7.4); the Attention column says why a key needs attention. Enter on a key "
        "shows everything the ledger records about it. Read-only. Escape goes back."
    )
    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
    ]

    def __init__(self, ledger: Ledger, now: datetime | None = None) -> None:
        super().__init__()
        self.ledger = ledger
        self.now = now

    def compose_body(self) -> ComposeResult:
        rows = key_rows(self.ledger, self.now)
        attention = [r for r in rows if not r.retired and r.marks]
        summary = Text(f"{count_of(len(rows), 'key')} registered", style="bold")
        if attention:
            summary.append(f" — {len(attention)} need attention", style="bold red")
        yield Static(summary, id="key-summary")
        table: DataTable[str | Text] = DataTable(id="keys", cursor_type="row", zebra_stripes=True)
        # Why a key needs attention comes right after the key, inside 80 columns (issue 15); the key's
        # whole record is one Enter away (the key detail).
        for label, key in (
            ("Key", "key"),
            ("Attention", "attention"),
            ("KCV", "kcv"),
            ("Status", "status"),
            ("Cryptoperiod", "period"),
            ("Flag", "flag"),
        ):
            table.add_column(label, key=key)
        for row in rows:
            status = "retired" if row.retired else f"active ({count_of(len(row.active_splits), 'split')})"
            period_style = {PeriodStatus.EXPIRED: "bold red", PeriodStatus.DUE: "bold yellow"}.get(
                row.period, ""
            )
            table.add_row(
                Text(f"{_short(row.label, KEY_LABEL_WIDTH)} {row.key_id[:8]}"),
                row.attention,
                row.kcv_hex,
                status,
                Text(row.period_text, style=period_style),
                Text(MUST_BE_REPLACED, style="bold red") if row.must_be_replaced else "",
                key=row.key_id,
            )
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#keys", DataTable).focus()

    @on(DataTable.RowSelected, "#keys")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(Open(Place.KEY_DETAIL, (self.ledger, event.row_key.value, self.now)))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit(0, return_code=0)


def key_list_screen(ledger: Ledger, now: datetime | None = None) -> Screen[None]:
    """The read-only key list (push it from a menu)."""
    return KeyListScreen(ledger, now)
