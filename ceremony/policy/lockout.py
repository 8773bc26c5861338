"""Lockout after wrong passphrases, read from the ledger (DESIGN §1, §5; issue 13).

Pure: no I/O, no clock. The fold reads only what the ledger recorded, so a restart of the program (a new
``Ledger`` object, a new ``Presence``) finds the same lockout.

* Every ``auth.failed`` event counts one failure for the person it names.
* A person is **locked out** once :data:`MAX_ATTEMPTS` (3) failures are counted in a row; the lockout
  dates from the ``auth.failed`` event that reached the limit ("locked out on record since event #n").
* The count restarts after the later of

  (a) the person's last **successful authentication on record**: any event the person signed (they are
      among its ``attested_by``: signing needs their unlocked key, so their passphrase worked). An
      ``auth.failed`` about them that they sign themselves (a failure kept waiting until they succeeded,
      see :mod:`ceremony.flows.presence`) counts the failure first, then the success;
  (b) the last ``auth.lockout_lifted`` for them (a security officer and a witness sign it).

* **A success after the lockout does not lift it.** Once locked, only ``auth.lockout_lifted`` unlocks:
  otherwise whoever guessed a passphrase right on the fourth try would clear their own lockout. (The
  program refuses a locked-out person before they can unlock their key, so such a signature should never
  be written; the fold ignores it if it is.) Failures recorded after the lockout keep counting, so the
  lift records how many it covers.
* A success that is not on record does not reset the count: a person who typed two wrong passphrases and
  then the right one, and signed nothing, still has two failures counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from ceremony.ledger import schema as sc
from ceremony.ledger.events import Event

MAX_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class Standing:
    """One person's lockout standing after the events folded so far."""

    person_id: str
    failures: tuple[int, ...] = ()  # seqs of the failures counted (since the last success or lift)
    locked_seq: int | None = None  # the auth.failed event that reached the limit, while locked
    lifted_seq: int | None = None  # the last auth.lockout_lifted for this person

    @property
    def count(self) -> int:
        """Failures counted (consecutive, recorded)."""
        return len(self.failures)

    @property
    def locked(self) -> bool:
        return self.locked_seq is not None


def advance(
    standing: Standing,
    seq: int,
    record: sc.Record,
    signers: Sequence[str],
    max_attempts: int = MAX_ATTEMPTS,
) -> Standing:
    """The standing of ``standing.person_id`` after event ``seq`` (its typed ``record``, signed by
    ``signers``). A new value; nothing is changed in place."""
    person_id = standing.person_id
    if isinstance(record, sc.AuthLockoutLifted) and record.person_id == person_id:
        return Standing(person_id, lifted_seq=seq)
    if isinstance(record, sc.AuthFailed) and record.person_id == person_id:
        failures = (*standing.failures, seq)
        locked = standing.locked_seq
        if locked is None and len(failures) >= max_attempts:
            locked = seq
        standing = replace(standing, failures=failures, locked_seq=locked)
    if person_id in signers and not standing.locked and standing.failures:
        standing = replace(standing, failures=())
    return standing


@dataclass(frozen=True)
class Lockouts:
    """Everyone's standing after a sequence of events (people with nothing recorded are not listed)."""

    standings: Mapping[str, Standing]
    max_attempts: int = MAX_ATTEMPTS

    def of(self, person_id: str) -> Standing:
        return self.standings.get(person_id) or Standing(person_id)

    def locked(self) -> list[Standing]:
        """Everyone locked out now, in the order they were locked out."""
        out = [s for s in self.standings.values() if s.locked]
        return sorted(out, key=lambda s: (s.locked_seq or 0, s.person_id))


def _touched(record: sc.Record, signers: Sequence[str]) -> set[str]:
    """The people whose standing event ``record`` may change."""
    people = set(signers)
    if isinstance(record, (sc.AuthFailed, sc.AuthLockoutLifted)):
        people.add(record.person_id)
    return people


def fold_records(
    steps: Iterable[tuple[int, sc.Record, Sequence[str]]], max_attempts: int = MAX_ATTEMPTS
) -> Lockouts:
    """The lockouts after ``(seq, record, signers)`` steps in seq order."""
    standings: dict[str, Standing] = {}
    for seq, record, signers in steps:
        for person_id in _touched(record, signers):
            before = standings.get(person_id) or Standing(person_id)
            after = advance(before, seq, record, signers, max_attempts)
            if after != before:
                standings[person_id] = after
    return Lockouts(MappingProxyType(standings), max_attempts)


def lockouts(events: Iterable[Event], max_attempts: int = MAX_ATTEMPTS) -> Lockouts:
    """Who is locked out, from the ledger's recorded events (pass ``ledger.events()``)."""
    return fold_records(((e.seq, e.record, e.attested_by) for e in events), max_attempts)
