"""One key, everything the ledger records about it: opened with Enter on a row of the key list.

Read-only. The key's id in full (the list shows its first 8 characters; every command takes either), its
KCV, type, usage, cryptoperiod and why it needs attention (PCI DSS 3.6.1.4, 3.7.4, 3.7.5); each split with
the custodian each share was issued to, who holds it now and what became of its envelope (3.7.6); quorum
decisions, wraps, and its retirement or replacement. Made from the register (:mod:`ceremony.ledger.register`)
of the ledger's one checked read per head, like the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ceremony.ledger.register import KeyInfo, Register, SplitInfo
from ceremony.ledger.replay import replayed
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.base import LIFECYCLE_CSS
from ceremony.tui.screens.lifecycle.key_list import key_rows


def _day(text: str | None) -> str:
    return (text or "")[:10] or "—"


def _name(register: Register, person_id: str) -> str:
    person = register.people.get(person_id)
    if person is None:
        return person_id
    left = "" if person.active else ", left"
    return f"{person.name} ({person.employee_id}{left})"


def _split_text(register: Register, split: SplitInfo) -> Text:
    text = Text()
    state = f"retired {_day(split.retired_time)}" if split.retired else "active"
    text.append(f"{split.label.capitalize()} — {state}\n", style="bold")
    text.append(f"  made {_day(split.created_time)} (event #{split.created_seq})")
    if split.ceremony_id:
        text.append(f", ceremony {split.ceremony_id}")
    if split.replaces_split_id:
        text.append(f", replaces split {split.replaces_split_id}")
    text.append("\n")
    if split.retired and split.retired_reason:
        text.append(f"  retired because: {split.retired_reason}\n")
    for number in range(1, split.count + 1):
        issued = split.custodians.get(number)
        line = f"  share {number}: issued to {_name(register, issued) if issued else '—'}"
        serial = split.envelopes.get(number)
        if serial:
            line += f", envelope {serial}"
        if number in split.destroyed:
            line += f"; envelope DESTROYED (event #{split.destroyed[number].seq})"
        elif number in split.not_returned:
            line += f"; envelope NOT RETURNED (event #{split.not_returned[number].seq})"
        elif number in split.returned:
            line += f"; envelope returned (event #{split.returned[number].seq})"
        holder = split.holders.get(number)
        if holder is not None:
            line += f"; held now by {_name(register, holder[0])}"
        elif number not in split.destroyed:
            line += "; held by nobody on record"
        text.append(line + "\n")
    return text


def key_detail_text(ledger: Ledger, key_id: str, now: datetime | None = None) -> Text:
    """Everything the ledger records about ``key_id``, as the screen shows it."""
    shared = replayed(ledger)
    register = shared.register
    key: KeyInfo | None = register.keys.get(key_id)
    if key is None:
        return Text(f"The ledger has no key {key_id[:40]}.", style="bold red")
    row = next((r for r in key_rows(ledger, now) if r.key_id == key_id), None)
    text = Text()
    text.append(f"{key.label}\n", style="bold")
    text.append("Key id   ")
    text.append(f"{key.key_id}\n", style="bold")
    text.append(f"KCV      {key.kcv_hex.upper()} ({key.kcv_method})\n")
    length = f", {key.length * 8} bits" if key.length else ""
    text.append(f"Type     {key.key_type.value}{length}{' — TEST key' if key.test_key else ''}\n")
    text.append(f"Usage    {key.usage}\n")
    text.append(f"Made     {_day(key.registered_time)} (event #{key.registered_seq})")
    text.append(f", ceremony {key.ceremony_id}\n" if key.ceremony_id else "\n")
    text.append(f"Cryptoperiod {key.cryptoperiod_days} days: ")
    if row is not None:
        text.append(row.period_text + "\n", style="bold red" if row.period.value == "expired" else "")
    if row is not None and row.attention:
        text.append("Needs attention: ", style="bold")
        text.append_text(row.attention)
        text.append("\n")
    history = shared.state.custody
    if key_id in history.flagged_keys():
        knew = sorted(_name(register, p) for p in history.people_who_knew(key_id))
        gone = [p for p in knew if p.endswith(", left)")]
        text.append(
            f"Flagged must be replaced (PCI DSS 3.7.5) at event #{history.flagged_keys()[key_id]}; "
            f"knew it and left: {', '.join(gone) or 'a custodian'}.\n",
            style="bold red",
        )
    if key.replaces_key_id:
        text.append(f"Replaces key {key.replaces_key_id}\n")
    if key.retired:
        text.append(f"RETIRED {_day(key.retired_time)} (event #{key.retired_seq})", style="bold")
        text.append(f": {key.retired_reason}\n" if key.retired_reason else "\n")
    if key.replaced_by_key_id:
        text.append(f"Replaced by key {key.replaced_by_key_id}\n")
    for decision in key.quorum_lowered:
        text.append(
            f"Quorum lowered to {decision.quorum} at event #{decision.seq}: {decision.reason}\n",
            style="bold yellow",
        )
    for wrap in key.wraps:
        how = "As a TR-31 key block under" if wrap.kind == "kbpk" else "Wrapped under"
        text.append(
            f"{how} {wrap.kek_label} ({wrap.transport_name} KCV {wrap.kek_kcv_hex.upper()}), "
            f"event #{wrap.seq}\n"
        )
    for load in key.loads:
        text.append(
            f"Loaded into token {load.token_label} ({load.token_manufacturer} {load.token_model}, serial "
            f"{load.token_serial}, firmware {load.token_firmware}) as {load.object_label}, checked by the "
            f"token ({load.check_source}), event #{load.seq}\n"
        )
    splits = [register.splits[s] for s in key.splits if s in register.splits]
    text.append(f"\n{len(splits)} split(s), every one ever made:\n", style="bold")
    for split in splits:
        text.append_text(_split_text(register, split))
    text.rstrip()
    return text


class KeyDetailScreen(CeremonyScreen[None]):
    TITLE = "Key detail"
    HELP: ClassVar[str | None] = (
        "Everything the ledger records about one key: its id in full, KCV, type, usage, cryptoperiod, "
        "whether it must be replaced (PCI DSS 3.7.5), each split with whom each share was issued to, who "
        "holds it now and what became of its envelope, and its retirement. Read-only. Page Up/Down "
        "scroll; Escape goes back to the key list."
    )
    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
    ]

    def __init__(self, ledger: Ledger, key_id: str, now: datetime | None = None) -> None:
        super().__init__()
        self.ledger = ledger
        self.key_id = key_id
        self.now = now

    def compose_body(self) -> ComposeResult:
        yield Static(key_detail_text(self.ledger, self.key_id, self.now), id="key-detail")

    def action_back(self) -> None:
        self.dismiss(None)
