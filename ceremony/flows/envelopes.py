"""What became of each sealed envelope when its split is retired or its holder leaves (DESIGN §4.6).

Retiring a split (or a key with its splits) and recording a custodian's departure ask about *each* affected
envelope — the register knows every share's envelope serial from its ``share.received`` — and record one
of three outcomes (PCI PIN: returned components are destroyed under dual control, with a record):

* **returned sealed and destroyed** — the serial read from the envelope is checked against the recorded one
  (a mismatch is refused: that envelope is not the one sealed), then ``envelope.destroyed`` is signed by the
  two people who destroy and witness it. From then on nobody holds the share and it no longer counts towards
  the key's smallest coalition (:mod:`ceremony.policy.custody`); a destruction certificate lists it
  (:func:`ceremony.flows.paperwork.issue_destruction_certificate`);
* **returned with a broken seal** — ``envelope.returned`` with ``seal_intact`` false: an incident; its
  share may have been copied, so it still counts;
* **not returned** — ``envelope.not_returned``: an incident; the share stays counted and held by its
  recorded holder.

Inside a ceremony (retirement) an ``incident.recorded`` is written too, so the minutes list it; a departure
is no ceremony, and its envelope record is the incident record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ceremony.errors import DualControlError, FlowError, InputError
from ceremony.flows.common import Present, normalise_serial
from ceremony.ledger.register import Register, SplitInfo

# Writes one event: (type, payload, signers) -> the event (a ceremony's Recorder, or a plain append).
Writer = Callable[[str, Mapping[str, Any], Sequence[Present]], Any]
DEFAULT_METHOD = "cross-cut shredded"


class Outcome(StrEnum):
    DESTROYED = "returned sealed and destroyed"
    SEAL_BROKEN = "returned with a broken seal"
    NOT_RETURNED = "not returned"


# How a screen offers the three outcomes (label, value), the destruction first.
CHOICES: tuple[tuple[str, str], ...] = (
    ("Returned sealed: destroy it now", Outcome.DESTROYED.value),
    ("Returned, seal BROKEN (incident)", Outcome.SEAL_BROKEN.value),
    ("Not returned (incident)", Outcome.NOT_RETURNED.value),
)


@dataclass(frozen=True)
class AffectedEnvelope:
    """One sealed envelope whose outcome must be recorded."""

    key_id: str
    key_label: str
    split_id: str
    split_label: str
    share_number: int
    share_count: int
    serial: str  # as recorded at sealing
    holder: str  # person id of the recorded holder ("" when nobody holds it on record)
    holder_name: str
    split_retired: bool

    def short(self) -> str:
        """One line that fits a 80-column list: serial, share, key, holder."""
        return (
            f"{self.serial} - share {self.share_number}/{self.share_count} {self.key_label[:14]}"
            f" - {self.holder_name[:16] or '?'}"
        )

    def describe(self) -> str:
        who = f", held by {self.holder_name}" if self.holder_name else ""
        return (
            f"envelope {self.serial}: share {self.share_number} of {self.share_count} of {self.key_label} "
            f"(split {self.split_id}{', retired' if self.split_retired else ''}){who}"
        )


@dataclass(frozen=True)
class EnvelopeOutcome:
    """What was recorded for one envelope."""

    envelope: AffectedEnvelope
    outcome: Outcome
    seq: int  # envelope.destroyed / envelope.returned / envelope.not_returned
    incident_seq: int | None = None  # the incident.recorded inside a ceremony
    serial_read: str = ""
    returned_by: str = ""
    destroyed_by: str = ""
    witnessed_by: str = ""
    method: str = ""
    note: str = ""


def _envelope(register: Register, split: SplitInfo, number: int) -> AffectedEnvelope:
    holder = split.holders.get(number, ("", 0))[0] or split.custodians.get(number, "")
    name = register.people[holder].name if holder in register.people else ""
    key = register.keys.get(split.key_id)
    return AffectedEnvelope(
        key_id=split.key_id,
        key_label=key.label if key is not None else split.key_id,
        split_id=split.split_id,
        split_label=split.label,
        share_number=number,
        share_count=split.count,
        serial=split.envelopes[number],
        holder=holder,
        holder_name=name,
        split_retired=split.retired,
    )


def outstanding_of_splits(register: Register, split_ids: Iterable[str]) -> list[AffectedEnvelope]:
    """Every sealed envelope of these splits whose outcome is not yet on record, by split then share."""
    out: list[AffectedEnvelope] = []
    for split_id in dict.fromkeys(split_ids):
        split = register.splits.get(split_id)
        if split is None:
            continue
        for number in sorted(split.envelopes):
            if not split.envelope_accounted(number):
                out.append(_envelope(register, split, number))
    return out


def retired_outstanding(register: Register) -> dict[str, list[AffectedEnvelope]]:
    """Every retired split with sealed envelopes whose outcome is not yet on record (split id -> its
    envelopes), in the order the splits were created: a re-share's old split, a split whose retirement
    closed with envelopes unanswered, a voided re-share's new split. A retirement ceremony takes them up
    (:meth:`ceremony.flows.retirement.RetirementCeremony.account_for_split`)."""
    out: dict[str, list[AffectedEnvelope]] = {}
    for split in register.splits.values():
        if split.retired:
            left = outstanding_of_splits(register, [split.split_id])
            if left:
                out[split.split_id] = left
    return out


def held_by(register: Register, person_id: str) -> list[AffectedEnvelope]:
    """Every sealed envelope the person holds on record (any split, retired or not) not yet accounted for."""
    out: list[AffectedEnvelope] = []
    for split in register.splits.values():
        for number in sorted(split.envelopes):
            holder = split.holders.get(number)
            if holder is not None and holder[0] == person_id and not split.envelope_accounted(number):
                out.append(_envelope(register, split, number))
    return out


def find(register: Register, serial: str) -> AffectedEnvelope:
    """The envelope recorded at sealing under ``serial``."""
    wanted = normalise_serial(serial)
    found = register.split_of_serial(wanted)
    if found is None:
        raise InputError(
            f"no envelope with serial {wanted} was recorded at sealing: check the number, or record an "
            "incident if the envelope is not one of ours"
        )
    split, number = found
    return _envelope(register, split, number)


def _check_open(register: Register, envelope: AffectedEnvelope) -> SplitInfo:
    split = register.split(envelope.split_id)
    if split.envelopes.get(envelope.share_number) != envelope.serial:
        raise InputError(
            f"envelope {envelope.serial} is not the one recorded for share {envelope.share_number}"
        )
    if split.envelope_accounted(envelope.share_number):
        seq = max(
            r.seq
            for table in (split.destroyed, split.returned, split.not_returned)
            if (r := table.get(envelope.share_number)) is not None
        )
        raise InputError(
            f"envelope {envelope.serial} was already returned or accounted for (event #{seq}): "
            "what became of it is on record"
        )
    return split


def record_outcome(
    write: Writer,
    register: Register,
    envelope: AffectedEnvelope,
    outcome: Outcome | str,
    first: Present,
    witness: Present,
    *,
    serial_read: str = "",
    returned_by: str = "",
    note: str = "",
    method: str = DEFAULT_METHOD,
    incidents: bool = True,
) -> EnvelopeOutcome:
    """Record ``outcome`` for ``envelope``; ``first`` (a security officer or the administrator) and
    ``witness`` sign. ``serial_read``: the serial read from the envelope (needed to destroy it);
    ``incidents``: also write ``incident.recorded`` (inside a ceremony)."""
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise InputError(f"the outcome is one of: {', '.join(o.value for o in Outcome)}") from None
    if first.person_id == witness.person_id:
        raise DualControlError("two different people witness what becomes of an envelope")
    if envelope.holder and envelope.holder in (first.person_id, witness.person_id):
        raise DualControlError(
            f"{envelope.holder_name or envelope.holder} holds envelope {envelope.serial}: they hand it back, "
            "two other people witness what becomes of it"
        )
    split = _check_open(register, envelope)
    base = {
        "key_id": envelope.key_id,
        "split_id": envelope.split_id,
        "share_number": envelope.share_number,
        "envelope_serial": envelope.serial,
        "recorded_holder": envelope.holder or split.custodians.get(envelope.share_number, ""),
    }
    if not base["recorded_holder"]:
        raise FlowError(f"envelope {envelope.serial} has no recorded holder")
    signers = (first, witness)
    if chosen is Outcome.DESTROYED:
        read = normalise_serial(serial_read) if serial_read.strip() else ""
        if not read:
            raise InputError(f"read the serial printed on envelope {envelope.serial} before it is destroyed")
        if read != envelope.serial:
            raise InputError(
                f"the envelope reads {read}, the ledger recorded {envelope.serial} for share "
                f"{envelope.share_number}: do not destroy it. Check the envelope; if it is not ours, record "
                "this share's envelope as not returned (an incident)"
            )
        if not returned_by.strip():
            raise InputError("record who handed the envelope back")
        if not split.retired:
            left = [
                n
                for n in range(1, split.count + 1)
                if n not in split.destroyed and n != envelope.share_number
            ]
            if len(left) < split.threshold:
                raise FlowError(
                    f"{split.label} is still in force: destroying share {envelope.share_number} would "
                    f"leave {len(left)} shares, fewer than its threshold of {split.threshold}, and the key "
                    "could not be recovered. Retire the split (or replace the key) first"
                )
        event = write(
            "envelope.destroyed",
            {
                **base,
                "serial_read": read,
                "returned_by": returned_by.strip(),
                "destroyed_by": first.person_id,
                "witnessed_by": witness.person_id,
                "method": method.strip() or DEFAULT_METHOD,
            },
            signers,
        )
        return EnvelopeOutcome(
            envelope,
            chosen,
            event.seq,
            None,
            read,
            returned_by.strip(),
            first.person_id,
            witness.person_id,
            method.strip() or DEFAULT_METHOD,
            note.strip(),
        )
    if chosen is Outcome.SEAL_BROKEN:
        if not returned_by.strip():
            raise InputError("record who handed the envelope back")
        event = write(
            "envelope.returned",
            {
                **base,
                "returned_by": returned_by.strip(),
                "seal_intact": False,
                "disposition": "incident: seal broken" + (f"; {note.strip()}" if note.strip() else ""),
            },
            signers,
        )
        what = f"envelope {envelope.serial} returned with its seal broken"
    else:
        reason = note.strip() or "not handed back when asked"
        event = write("envelope.not_returned", {**base, "reason": reason}, signers)
        what = f"envelope {envelope.serial} not returned: {reason}"
    incident = None
    if incidents:
        incident = write(
            "incident.recorded",
            {
                "kind": "envelope",
                "key_id": envelope.key_id,
                "split_id": envelope.split_id,
                "share_number": envelope.share_number,
                "what": what,
            },
            signers,
        ).seq
    return EnvelopeOutcome(envelope, chosen, event.seq, incident, "", returned_by.strip(), note=note.strip())


__all__ = [
    "CHOICES",
    "AffectedEnvelope",
    "EnvelopeOutcome",
    "Outcome",
    "find",
    "held_by",
    "outstanding_of_splits",
    "record_outcome",
    "retired_outstanding",
]
