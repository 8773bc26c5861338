"""Lowering a key's quorum on record (DESIGN §3): the one way a key may be rebuilt by fewer people than its
first split needed.

A key's quorum is its first split's threshold. A later split (a re-share, fresh XOR components for an HSM)
or a wrapped output (a file plus the KEK's components) that would let fewer people rebuild the key is
refused by the custody dry run and by the ledger — unless a security officer and a witness record
``key.quorum_lowered`` first, with the reason, which the custody report and the minutes show. The quorum
never goes below 2 (no clear key knowledge, PCI DSS 3.7.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ceremony.errors import CustodyViolationError, DualControlError, InputError
from ceremony.flows.common import LedgerWriter, Present, distinct, read_register
from ceremony.ledger.participants import people_from


def lower_quorum(
    ledger: LedgerWriter,
    key_id: str,
    quorum: int,
    reason: str,
    security_officer: Present,
    witness: Present,
    *,
    ceremony_id: str | None = None,
    coalition: Sequence[str] = (),
) -> Any:
    """Record ``key.quorum_lowered``: from now on ``quorum`` people (at least 2, fewer than the key's
    current quorum) may be able to rebuild ``key_id``. Signed by a security officer (enrolled as such) and
    a witness, two different people, neither of whom ever had knowledge of the key. ``coalition``: the
    people who will then be able to rebuild it, when known (e.g. the planned KEK custodians). Returns the
    recorded event."""
    events = list(ledger.events())
    register = read_register(events)
    key = register.keys.get(key_id)
    if key is None:
        raise InputError(f"no key {key_id[:20]} is registered in this ledger")
    if key.retired:
        raise InputError(f"key {key_id} ({key.label}) was retired at event #{key.retired_seq}")
    if not reason.strip():
        raise InputError("state the reason for lowering the quorum; it is printed in the custody report")
    if isinstance(quorum, bool) or not isinstance(quorum, int):
        raise InputError("the new quorum is a whole number of people")
    history = ledger.custody()
    current = history.quorum(key_id)
    if current is None:
        raise InputError(f"key {key_id} has no split, so no quorum to lower")
    if quorum < 2:
        raise CustodyViolationError(
            f"a quorum of {quorum} would let one person rebuild key {key_id}; the quorum is never below 2 "
            "(PCI DSS 3.7.6)"
        )
    if quorum >= current:
        raise InputError(
            f"key {key_id} ({key.label}) has a quorum of {current}: the new quorum must be lower "
            f"(2 to {current - 1})"
        )
    roles = {p.person_id: (p.roles, p.active) for p in people_from(events)}
    for person, needed, name in (
        (security_officer, "security_officer", "security officer"),
        (witness, "witness", "witness"),
    ):
        held, active = roles.get(person.person_id, (frozenset(), False))
        if needed not in held or not active:
            raise DualControlError(f"{person.person_id} is not an active participant enrolled as {name}")
    distinct(security_officer, witness)
    knew = history.people_who_knew(key_id)
    for name, person in (("security officer", security_officer), ("witness", witness)):
        if person.person_id in knew:
            raise DualControlError(
                f"the {name} ({person.person_id}) has had knowledge of key {key_id}; the decision to "
                "lower its quorum is taken by people who never held any part of it"
            )
    members = list(dict.fromkeys(coalition))
    if len(members) != len(list(coalition)):
        raise InputError("the coalition names a person twice")
    payload: dict[str, Any] = {"key_id": key_id, "quorum": quorum, "reason": reason.strip()}
    if ceremony_id is not None:
        payload["ceremony_id"] = ceremony_id
    if members:
        payload["coalition"] = members
    signers = (security_officer, witness)
    return ledger.append("key.quorum_lowered", payload, [s.person_id for s in signers], signers)
