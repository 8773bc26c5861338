"""Ceremonies interrupted by a crash or power cut (DESIGN §4): found on start, then resumed or voided —
never left half-done.

A ceremony is unfinished when the ledger has its ``ceremony.started`` and neither ``ceremony.closed`` nor
``ceremony.voided``. Resuming is safe only while no key material existed: a key (generated or rebuilt)
lived in memory only and is gone, so from there the ceremony can only be voided. Voiding retires every
split the ceremony created, so none of its shares is accepted by any later flow, and records the reason;
both need the administrator and the witness present and signing.

A share card file the interrupted run left in the RAM folder is overwritten and removed as soon as the app
starts (:func:`ceremony.flows.card_files.wipe_leftovers`, nobody authenticated yet); voiding or resuming then
records that wipe (``share.card_wiped`` with ``leftover: true``, administrator and witness sign).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ceremony.errors import FlowError, InputError
from ceremony.flows.card_files import CardFile, is_card_file, open_card_files
from ceremony.ledger.events import Event
from ceremony.ledger.register import KEY_MATERIAL_EVENTS, CeremonyInfo, Register
from ceremony.ledger.replay import replayed

if TYPE_CHECKING:
    from ceremony.flows.common import Present
    from ceremony.ledger.store import Ledger

# Cold start (issue 14): the app scans for unfinished ceremonies before the main menu shows; what voiding and
# resuming need (ceremony.flows.common: the recorder, dual control) is imported when they run.

__all__ = [
    "KEY_MATERIAL_EVENTS",
    "Unfinished",
    "check_resumable",
    "leftover_cards",
    "record_leftover_cards",
    "unfinished_ceremonies",
    "unfinished_in",
    "void_unfinished",
]


@dataclass(frozen=True)
class Unfinished:
    ceremony_id: str
    kind: str  # generation, recovery, reshare, retirement, ...
    purpose: str
    rehearsal: bool
    started_seq: int
    started_time: str
    last_step: str  # type of the ceremony's last event
    key_material: bool  # a key existed in memory at some point: only voiding is possible
    splits_created: tuple[str, ...]  # retired when voided
    splits_retired: tuple[str, ...]

    @property
    def resumable(self) -> bool:
        """Only a generation that never had key material restarts (at its preflight)."""
        return not self.key_material and self.kind in ("generation", "")


def _unfinished(ceremonies: Iterable[CeremonyInfo]) -> list[Unfinished]:
    return [
        Unfinished(
            c.ceremony_id,
            c.kind,
            c.purpose,
            c.rehearsal,
            c.started_seq,
            c.started_time,
            c.last_type,
            c.key_material,
            tuple(c.splits_created),
            tuple(c.splits_retired),
        )
        for c in ceremonies
    ]


def unfinished_ceremonies(events: Iterable[Event]) -> list[Unfinished]:
    """Every started ceremony that was neither closed nor voided, oldest first (one pass over events,
    e.g. ``ledger.events()``, folded into the register)."""
    return _unfinished(Register.from_events(events).unfinished())


def unfinished_in(ledger: Ledger) -> list[Unfinished]:
    """:func:`unfinished_ceremonies` of the ledger as it stands, from its one checked read per head
    (:func:`ceremony.ledger.replay.replayed`, shared with the rest of the start)."""
    return _unfinished(replayed(ledger).register.unfinished())


def void_unfinished(
    ledger: Any, item: Unfinished, administrator: Present, witness: Present, reason: str
) -> None:
    """Void an interrupted ceremony: retire each split it created (not already retired), then record
    ``ceremony.voided`` with the reason — all signed by administrator and witness."""
    from ceremony.flows.common import Recorder, distinct

    distinct(administrator, witness)
    if not reason.strip():
        raise InputError("say why the ceremony is voided; the reason goes into the ledger and the minutes")
    still_open = {u.ceremony_id for u in unfinished_ceremonies(ledger.events())}
    if item.ceremony_id not in still_open:
        raise FlowError(f"ceremony {item.ceremony_id} is not unfinished (already closed or voided)")
    record_leftover_cards(ledger, item, administrator, witness)
    record = Recorder(ledger, item.ceremony_id)
    for split_id in item.splits_created:
        if split_id not in item.splits_retired:
            record(
                "split.retired",
                {"split_id": split_id, "reason": "ceremony interrupted and voided before completion"},
                (administrator, witness),
            )
    record("ceremony.voided", {"reason": reason.strip(), "after_restart": True}, (administrator, witness))


def check_resumable(item: Unfinished, administrator: Present, witness: Present) -> None:
    """Resuming is allowed only for a generation that never had key material (it restarts at preflight)."""
    from ceremony.flows.common import distinct

    distinct(administrator, witness)
    if item.kind not in ("generation", ""):
        raise FlowError(f"a {item.kind} ceremony cannot be resumed after a restart; void it and start again")
    if not item.resumable:
        raise FlowError(
            "the key existed only in memory and is gone: this ceremony can only be voided, and its shares "
            "are then refused by every later flow"
        )


def leftover_cards(events: Iterable[Event], ceremony_id: str) -> list[CardFile]:
    """The ceremony's share card files that were written to a folder and never recorded as wiped."""
    return [card for card in open_card_files(events) if card.ceremony_id == ceremony_id]


def record_leftover_cards(
    ledger: Any, item: Unfinished, administrator: Present, witness: Present
) -> list[CardFile]:
    """Record ``share.card_wiped`` (``leftover: true``; administrator and witness) for each card file of the
    interrupted ceremony that was never recorded as wiped. The start of the app already overwrote and removed
    them; one still there (e.g. the folder was unreachable then) is overwritten and removed now, first."""
    from ceremony.documents.printing import overwrite_and_remove
    from ceremony.flows.common import Recorder, distinct

    distinct(administrator, witness)
    cards = leftover_cards(ledger.events(), item.ceremony_id)
    record = Recorder(ledger, item.ceremony_id)
    for card in cards:
        if is_card_file(card):
            try:
                overwrite_and_remove(card.path)
            except OSError as error:
                raise FlowError(
                    f"the share card file {card.path} could not be wiped ({error.strerror}): remove it by "
                    "hand (overwrite, then delete), then try again"
                ) from None
        record(
            "share.card_wiped",
            {"split_id": card.split_id, "file": str(card.path), "leftover": True},
            (administrator, witness),
        )
    return cards
