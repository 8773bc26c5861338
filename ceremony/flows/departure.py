"""Custodian departure (PCI DSS 3.7.5, DESIGN §3): a custodian leaves or changes role.

A security officer and a witness record the deactivation (``participant.deactivated``). Nothing is erased:
the ledger's custody history keeps everything the person ever knew, and its replay
(``CustodyHistory.deactivate``) flags every key they ever had knowledge of — any split, retired or not —
as "must be replaced". The flag stays until new key material replaces it: a generation that names the key
as replaced (``key.registered`` with ``replaces_key_id``), then the old key retired naming its replacement
(``key.retired`` with ``replaced_by_key_id``). A re-share keeps the same key and never clears it.

Then the envelopes they hold (every sealed envelope the register says is theirs, of any split, retired or
not) are asked about one by one (:func:`account_envelope`, :mod:`ceremony.flows.envelopes`): returned sealed
and destroyed by the security officer under the witness's eyes (serial read and checked; a destruction
certificate signed by both follows, :func:`ceremony.flows.paperwork.issue_destruction_certificate`),
returned with a broken seal, or not returned — each of the last two an incident, its share still counted
(and, when not returned, still held by the person who left).

:func:`keys_to_replace` is the list the key inventory and the start screen show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceremony.errors import DualControlError, FlowError, InputError
from ceremony.flows.common import Present, distinct, read_register, require_security_officer
from ceremony.flows.envelopes import AffectedEnvelope, EnvelopeOutcome, Outcome, held_by, record_outcome
from ceremony.ledger.participants import deactivate, participant
from ceremony.ledger.store import Ledger


@dataclass(frozen=True)
class Departure:
    person_id: str
    name: str
    seq: int  # the participant.deactivated event
    keys: tuple[str, ...]  # every key they ever had knowledge of, now flagged "must be replaced"
    # every sealed envelope they held when they left: ask what became of each (account_envelope)
    envelopes: tuple[AffectedEnvelope, ...] = field(default=())


@dataclass(frozen=True)
class FlaggedKey:
    key_id: str
    label: str
    flagged_seq: int  # the event that flagged it
    departed: tuple[str, ...]  # deactivated people who ever had knowledge of it


def record_departure(
    ledger: Ledger, person_id: str, reason: str, security_officer: Present, witness: Present
) -> Departure:
    """Deactivate ``person_id`` (security officer + witness sign); returns the keys now flagged."""
    if not reason.strip():
        raise InputError("state why the person leaves custody (left the company, changed role, ...)")
    distinct(security_officer, witness)
    if person_id in (security_officer.person_id, witness.person_id):
        raise DualControlError("the person leaving cannot record or witness their own departure")
    require_security_officer(ledger, security_officer)
    person = participant(ledger, person_id)
    if not person.active:
        raise InputError(
            f"{person.name} ({person_id}) was already deactivated at event #{person.deactivated_seq}"
        )
    event = deactivate(
        ledger,
        person_id,
        reason.strip(),
        [security_officer.person_id, witness.person_id],
        [security_officer, witness],
    )
    history = ledger.custody()
    keys = tuple(key_id for key_id in history.keys() if person_id in history.people_who_knew(key_id))
    return Departure(person_id, person.name, event.seq, keys, tuple(envelopes_held(ledger, person_id)))


def envelopes_held(ledger: Ledger, person_id: str) -> list[AffectedEnvelope]:
    """Every sealed envelope the person holds on record and whose outcome is not yet recorded."""
    return held_by(read_register(ledger.events()), person_id)


def account_envelope(
    ledger: Ledger,
    envelope: AffectedEnvelope,
    outcome: Outcome | str,
    security_officer: Present,
    witness: Present,
    *,
    serial_read: str = "",
    returned_by: str = "",
    note: str = "",
    method: str = "",
) -> EnvelopeOutcome:
    """What became of one envelope of a person who left: the security officer and the witness sign (for a
    destruction, the officer destroys it and the witness watches). No ceremony: the envelope record (a
    broken seal, a missing envelope) is itself the incident record."""
    distinct(security_officer, witness)
    require_security_officer(ledger, security_officer)
    register = read_register(ledger.events())
    holder = register.people.get(envelope.holder)
    if holder is not None and holder.active:
        raise FlowError(
            f"{holder.name} has not left: record their departure first, then what became of their envelopes"
        )

    def write(event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        actors = list(dict.fromkeys(s.person_id for s in signers))
        return ledger.append(event_type, dict(payload), actors, signers)

    return record_outcome(
        write,
        register,
        envelope,
        outcome,
        security_officer,
        witness,
        serial_read=serial_read,
        returned_by=returned_by,
        note=note,
        method=method,
        incidents=False,
    )


def keys_to_replace(ledger: Ledger) -> list[FlaggedKey]:
    """Every key flagged "must be replaced" and not yet cleared, in the order they were flagged."""
    from ceremony.ledger.replay import replayed

    shared = replayed(ledger)  # the one checked read of this ledger state (read only here)
    history = shared.state.custody
    flagged = history.flagged_keys()
    if not flagged:
        return []
    register = shared.register
    gone = {p.person_id for p in register.people.values() if not p.active}
    result = []
    for key_id, seq in sorted(flagged.items(), key=lambda item: (item[1], item[0])):
        label = register.keys[key_id].label if key_id in register.keys else ""
        departed = tuple(sorted(gone & history.people_who_knew(key_id)))
        result.append(FlaggedKey(key_id, label, seq, departed))
    return result
