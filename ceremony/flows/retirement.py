"""Retirement and destruction of a key or a split, witnessed (DESIGN §4.6; PCI DSS 3.6.1, 3.7.5).

Administrator and witness open the ceremony (``start``, with where it takes place) and record the air-gap
preflight (``record_preflight``, as generation does: an uncovered finding blocks; record-only in a
rehearsal) before anything is retired. Then, with the reason (end of cryptoperiod, compromise suspected,
replaced):

* ``retire_key`` — ``key.retired`` and ``split.retired`` for each of its active splits: from then on every
  flow refuses the key and its shares (:mod:`ceremony.flows.recovery` checks both at start and per share);
* ``retire_split`` — one split only (e.g. a set whose envelope was found tampered with);
* ``envelopes_to_account`` / ``account_envelope`` — what became of *each* envelope of the splits retired
  here (:mod:`ceremony.flows.envelopes`): returned sealed and destroyed (serial read and checked, destroyed
  by the administrator under the witness's eyes: ``envelope.destroyed``), returned with a broken seal or not
  returned (an incident each; the share stays counted). ``return_envelope`` does the same by serial alone.
  The destroyed envelopes get a destruction certificate signed by both
  (:func:`ceremony.flows.paperwork.issue_destruction_certificate`).
* ``account_for_split`` — a split retired *earlier* whose envelopes were never accounted for (a re-share
  retires its old split without asking: its old envelopes come here; a retirement closed with envelopes
  unanswered; a voided re-share's new split): its outstanding envelopes join ``envelopes_to_account``,
  nothing is retired again (:func:`ceremony.flows.envelopes.retired_outstanding` lists them).

Retirement touches no key material, so it needs no share and no clear key: two people and the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ceremony.crypto.ids import new_id
from ceremony.errors import FlowError, InputError, LedgerError, RetiredKeyError
from ceremony.flows.common import (
    Present,
    Recorder,
    ceremony_location,
    check_ledger_kind,
    distinct,
    read_register,
    record_preflight_run,
)
from ceremony.flows.envelopes import (
    AffectedEnvelope,
    EnvelopeOutcome,
    Outcome,
    find,
    outstanding_of_splits,
    record_outcome,
    retired_outstanding,
)
from ceremony.ledger.register import Register
from ceremony.ledger.store import Ledger


class RetirementReason(StrEnum):
    END_OF_CRYPTOPERIOD = "end of cryptoperiod"  # PCI DSS 3.6.1.4 / 3.7.4
    COMPROMISE_SUSPECTED = "compromise suspected"  # PCI DSS 3.7.5
    REPLACED = "replaced"


class Stage(StrEnum):
    STARTED = "started"  # the preflight is recorded before anything is retired
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class ReturnedEnvelope:
    serial: str
    key_id: str
    split_id: str
    share_number: int
    seq: int


@dataclass
class RetirementCeremony:
    ledger: Ledger
    administrator: Present
    witness: Present
    purpose: str
    rehearsal: bool = False
    ceremony_id: str = field(default_factory=new_id)
    stage: Stage = Stage.STARTED
    retired_keys: list[str] = field(default_factory=list)
    retired_splits: list[str] = field(default_factory=list)
    returned: dict[str, ReturnedEnvelope] = field(default_factory=dict)
    outcomes: list[EnvelopeOutcome] = field(default_factory=list)  # every envelope accounted for here
    # splits retired before this ceremony whose envelopes are accounted for here (account_for_split)
    earlier_splits: list[str] = field(default_factory=list)
    location: str = ""

    @classmethod
    def start(
        cls,
        ledger: Ledger,
        administrator: Present,
        witness: Present,
        purpose: str,
        rehearsal: bool = False,
        *,
        location: str | None = None,
    ) -> RetirementCeremony:
        """Open a retirement (``location``, where it takes place, recorded for the minutes); the next step
        is :meth:`record_preflight`: nothing is retired before it."""
        distinct(administrator, witness)
        check_ledger_kind(ledger, rehearsal)
        if not purpose.strip():
            raise InputError("state the ceremony's purpose; it is printed in the minutes")
        where = ceremony_location(location)
        ceremony = cls(ledger, administrator, witness, purpose.strip(), rehearsal)
        ceremony.location = where.get("location", "")
        ceremony._record(
            "ceremony.started",
            {"kind": "retirement", "purpose": ceremony.purpose, "rehearsal": rehearsal, **where},
            (administrator, witness),
        )
        return ceremony

    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """Record the air-gap preflight as generation does (:func:`~ceremony.flows.common.
        record_preflight_run`): an uncovered finding blocks the ceremony (recorded, then :class:`FlowError`;
        run it again once fixed or excepted); ``record_only`` in a rehearsal only. Required before anything
        is retired or an envelope recorded."""
        if self.stage is Stage.CLOSED:
            raise FlowError("this retirement ceremony is closed")
        if self.stage is Stage.OPEN and (self.retired_keys or self.retired_splits or self.outcomes):
            raise FlowError("the preflight is recorded before anything is retired, not after")
        self.stage = Stage.STARTED
        record_preflight_run(
            Recorder(self.ledger, self.ceremony_id),
            (self.administrator, self.witness),
            summary,
            uncovered,
            rehearsal=self.rehearsal,
            record_only=record_only,
        )
        self.stage = Stage.OPEN

    def _record(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        return Recorder(self.ledger, self.ceremony_id)(event_type, payload, signers)

    def _signers(self) -> tuple[Present, Present]:
        if self.stage is Stage.STARTED:
            raise FlowError(
                "run the air-gap preflight first: nothing is retired before a clear preflight is recorded "
                "(DESIGN §4.1, PCI DSS 1.2.6)"
            )
        if self.stage is not Stage.OPEN:
            raise FlowError("this retirement ceremony is closed")
        return (self.administrator, self.witness)

    def _register(self) -> Register:
        return read_register(self.ledger.events())

    @staticmethod
    def _reason(reason: RetirementReason | str, note: str) -> str:
        try:
            chosen = RetirementReason(reason)
        except ValueError:
            allowed = ", ".join(r.value for r in RetirementReason)
            raise InputError(f"the reason is one of: {allowed}") from None
        return chosen.value + (f": {note.strip()}" if note.strip() else "")

    def retire_key(
        self, key_id: str, reason: RetirementReason | str, note: str = "", *, replaced_by: str | None = None
    ) -> list[str]:
        """Retire the key and every active split of it; returns the split ids retired now.

        ``replaced_by``: the key generated to replace it (registered naming this key). Retiring a key whose
        replacement exists clears a departure's "must be replaced" flag, recorded with the link (PCI DSS
        3.7.5); when a replacement exists it is linked even if not given."""
        signers = self._signers()
        text = self._reason(reason, note)
        register = self._register()
        try:
            key = register.key(key_id)
        except LedgerError:
            raise InputError(f"no key {key_id[:20]} is registered in this ledger") from None
        if key.retired:
            raise RetiredKeyError(f"key {key_id} was already retired at event #{key.retired_seq}")
        replacements = [
            k.key_id for k in register.keys.values() if k.replaces_key_id == key_id and not k.retired
        ]
        if replaced_by is not None and replaced_by not in replacements:
            raise InputError(
                f"key {replaced_by[:20]} was not generated as the replacement of key {key_id}"
                + (f"; its replacement is {', '.join(replacements)}" if replacements else "")
            )
        link = replaced_by or (replacements[-1] if replacements else None)
        self._record(
            "key.retired",
            {
                "key_id": key_id,
                "reason": text,
                "label": key.label,
                "kcv_hex": key.kcv_hex,
                **({"replaced_by_key_id": link} if link else {}),
            },
            signers,
        )
        retired = []
        for split in register.active_splits(key_id):
            self._record(
                "split.retired",
                {"key_id": key_id, "split_id": split.split_id, "reason": f"key retired ({text})"},
                signers,
            )
            retired.append(split.split_id)
        self.retired_keys.append(key_id)
        self.retired_splits.extend(retired)
        return retired

    def retire_split(self, split_id: str, reason: RetirementReason | str, note: str = "") -> None:
        signers = self._signers()
        text = self._reason(reason, note)
        try:
            split = self._register().split(split_id)
        except LedgerError:
            raise InputError(f"no split {split_id[:20]} is recorded in this ledger") from None
        if split.retired:
            raise RetiredKeyError(f"{split.label} was already retired at event #{split.retired_seq}")
        self._record("split.retired", {"key_id": split.key_id, "split_id": split_id, "reason": text}, signers)
        self.retired_splits.append(split_id)

    def account_for_split(self, split_id: str) -> list[AffectedEnvelope]:
        """Take up a split retired before this ceremony (by a re-share, or a retirement closed with envelopes
        unanswered): its envelopes still to account for join :meth:`envelopes_to_account`; returns them.
        Nothing is retired or recorded now — each envelope's outcome is, by :meth:`account_envelope`."""
        self._signers()
        register = self._register()
        try:
            split = register.split(split_id)
        except LedgerError:
            raise InputError(f"no split {split_id[:20]} is recorded in this ledger") from None
        if not split.retired:
            raise FlowError(
                f"{split.label} is still in force: retire it (or its key) here first; its envelopes follow"
            )
        left = retired_outstanding(register).get(split_id, [])
        if not left:
            raise InputError(f"every envelope of {split.label} is already accounted for on record")
        if split_id not in self.earlier_splits and split_id not in self.retired_splits:
            self.earlier_splits.append(split_id)
        return left

    def envelopes_to_account(self) -> list[AffectedEnvelope]:
        """Every sealed envelope of the splits retired in this ceremony (and of earlier-retired splits taken
        up by :meth:`account_for_split`) whose outcome is not yet recorded (ask about each: destroyed,
        returned with a broken seal, or not returned)."""
        return outstanding_of_splits(self._register(), [*self.retired_splits, *self.earlier_splits])

    def account_envelope(
        self,
        envelope: AffectedEnvelope,
        outcome: Outcome | str,
        *,
        serial_read: str = "",
        returned_by: str = "",
        note: str = "",
        method: str = "",
    ) -> EnvelopeOutcome:
        """Record what became of one envelope of a retired split; the administrator and the witness sign
        (two people: for a destruction, the administrator destroys it and the witness watches). A broken
        seal or a missing envelope is an incident (recorded)."""
        signers = self._signers()
        register = self._register()
        split = register.split(envelope.split_id)
        if not split.retired:
            raise FlowError(
                f"envelope {envelope.serial} holds share {envelope.share_number} of {split.label}, which is "
                "still in force: retire the split before its envelopes are destroyed"
            )
        done = record_outcome(
            self._record,
            register,
            envelope,
            outcome,
            signers[0],
            signers[1],
            serial_read=serial_read,
            returned_by=returned_by,
            note=note,
            method=method,
        )
        self.outcomes.append(done)
        if done.outcome is not Outcome.NOT_RETURNED:
            self.returned[envelope.serial] = ReturnedEnvelope(
                envelope.serial, envelope.key_id, envelope.split_id, envelope.share_number, done.seq
            )
        return done

    def return_envelope(self, serial: str, returned_by: str, seal_intact: bool) -> ReturnedEnvelope:
        """An envelope handed back, found by the serial read from it, which must be one recorded at sealing,
        of a retired split, not accounted for before: destroyed on record when its seal is intact, an
        incident when broken."""
        self._signers()
        envelope = find(self._register(), serial)
        outcome = Outcome.DESTROYED if seal_intact else Outcome.SEAL_BROKEN
        self.account_envelope(envelope, outcome, serial_read=serial, returned_by=returned_by)
        return self.returned[envelope.serial]

    def destroyed(self) -> list[EnvelopeOutcome]:
        """The envelopes destroyed in this ceremony (for the destruction certificate)."""
        return [o for o in self.outcomes if o.outcome is Outcome.DESTROYED]

    def void(self, reason: str) -> None:
        """Stop before close-out and record why (a blocked preflight too); whatever was retired stays
        retired (never undone)."""
        if self.stage is Stage.CLOSED:
            return
        self._record("ceremony.voided", {"reason": reason or "voided"}, (self.administrator, self.witness))
        self.stage = Stage.CLOSED

    def close(self, checkpoint_text: str | None = None) -> None:
        signers = self._signers()
        self._record(
            "ceremony.closed",
            {
                "outcome": "completed",
                "retired_keys": list(self.retired_keys),
                "retired_splits": list(self.retired_splits),
                "envelopes_returned": sorted(self.returned),
                **({"checkpoint": checkpoint_text} if checkpoint_text else {}),
            },
            signers,
        )
        self.stage = Stage.CLOSED
