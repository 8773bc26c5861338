"""Reading stored events back, checking each row as it comes (used by the writer's catch-up and by verify).

Rows are streamed with two cursors in seq order (events, and attestations merged in by seq), so memory does
not grow with the ledger. For every row: the seq is the next one, every column has the stored type and the
canonical form it was written in, the previous-hash field equals the previous event's hash, the hash
recomputes, the attestation rows are exactly the people listed in ``attested_by``, and the
:class:`~ceremony.ledger.state.LedgerState` admits the event (signatures, enrollment, custody rule).
The first fault raises :class:`~ceremony.errors.LedgerIntegrityError` naming the event.

**One read per head** (:func:`replayed`, issue 14). Several readers want the whole history at once — the
start of the TUI asks who is enrolled, which keys need attention and which ceremonies were left unfinished.
:func:`replayed` does that checked read once per open ledger and per head and shares the outcome (the state,
the register, the events of a small ledger) until the file changes. The cache is keyed by the connection's
``PRAGMA data_version`` (moves when any other connection commits to the file), its ``total_changes`` (moves
when this connection writes, e.g. :meth:`~ceremony.ledger.store.Ledger.append`) and the stored head (last
seq and its hash), all taken again on every call: an append, by this program or another, is never missed,
and the next call reads (and checks) the file again. The read itself is the ordinary checked one
(``Ledger.events_into``): chain, schema, rules, and each signature once per open ledger.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ceremony.errors import CeremonyError, EventFormError, LedgerIntegrityError
from ceremony.ledger import events as ev
from ceremony.ledger.canonical import JSONObject, parse_canonical
from ceremony.ledger.state import LedgerState, SignatureSink

if TYPE_CHECKING:
    from ceremony.ledger.register import Register
    from ceremony.ledger.store import Ledger

EVENT_COLUMNS = "seq, time, type, actors, attested_by, payload, previous_hash, hash"


def _fault(seq: int, what: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(f"Event #{seq}: {what}", seq=seq)


def _text_column(seq: int, value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _fault(seq, f"its {name} is not stored as text (the row was altered).")
    return value


_ID_LISTS: dict[str, tuple[str, ...]] = {}  # the same few actor/signer lists recur in every ledger


def _id_list(seq: int, value: object, name: str) -> tuple[str, ...]:
    text = _text_column(seq, value, name)
    known = _ID_LISTS.get(text)
    if known is not None:
        return known
    try:
        parsed = parse_canonical(text)
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise EventFormError(f"the {name} are not a list of person ids.")
        ids = ev.check_person_ids([str(p) for p in parsed], name)
    except CeremonyError as exc:
        raise _fault(seq, f"its {name} are malformed ({exc}).") from None
    if len(_ID_LISTS) > 4096:
        _ID_LISTS.clear()
    _ID_LISTS[text] = ids
    return ids


def decode_row(
    row: tuple[object, ...], expected_seq: int, previous_hash: bytes
) -> tuple[ev.Event, JSONObject]:
    """Check one stored row's form and its place in the chain; return it as an :class:`Event`."""
    seq = row[0]
    if not isinstance(seq, int):
        raise LedgerIntegrityError(
            f"A stored sequence number is not a number (after event #{expected_seq - 1})."
        )
    if seq != expected_seq:
        if seq > expected_seq:
            raise _fault(expected_seq, f"is missing (the next stored event is #{seq}).")
        raise _fault(seq, f"is out of order (expected #{expected_seq}).")
    time = _text_column(seq, row[1], "time")
    event_type = _text_column(seq, row[2], "type")
    actors = _id_list(seq, row[3], "actors")
    attested_by = _id_list(seq, row[4], "signers")
    payload_text = _text_column(seq, row[5], "payload")
    try:
        ev.check_time(time)
        ev.check_type_name(event_type)
        payload = parse_canonical(payload_text)
        if not isinstance(payload, dict):
            raise EventFormError("the payload is not a JSON object.")
    except CeremonyError as exc:
        raise _fault(seq, f"is malformed: {exc}") from None
    if list(attested_by) != sorted(attested_by):
        raise _fault(seq, "its signers are not listed in order (the row was altered).")
    prev, digest = row[6], row[7]
    if not isinstance(prev, bytes) or len(prev) != ev.HASH_SIZE:
        raise _fault(seq, "its previous-hash field is not a 32-byte hash.")
    if prev != previous_hash:
        raise _fault(
            seq, f"its previous-hash field does not match the hash of event #{seq - 1} (the chain is broken)."
        )
    if not isinstance(digest, bytes) or len(digest) != ev.HASH_SIZE:
        raise _fault(seq, "its hash field is not a 32-byte hash.")
    body = ev.event_body_from_canonical(time, event_type, str(row[3]), str(row[4]), payload_text)
    if ev.event_hash(seq, prev, body) != digest:
        raise _fault(
            seq, "its hash does not match its contents (the event was changed after it was written)."
        )
    return ev.Event(seq, time, event_type, actors, attested_by, payload_text, prev, digest), payload


@dataclass
class SignatureMemo:
    """How far one open ledger has had its signatures checked in this process: the seq and hash of the last
    event checked. The hash chain covers everything before it, so an event whose hash at that seq is
    unchanged needs no second check, and every newer event is checked once — flows never act on an event
    whose signatures were not verified, at the cost of one verification per event per process."""

    seq: int = 0
    hash: bytes = ev.GENESIS_PREVIOUS_HASH


def stream_events(
    conn: sqlite3.Connection,
    state: LedgerState,
    *,
    check_signatures: bool | SignatureMemo | SignatureSink = True,
) -> Iterator[ev.Event]:
    """Yield every event after ``state.last_seq``, checked and admitted into ``state`` (see module doc).

    ``check_signatures``: True checks every signature; a :class:`SignatureMemo` checks those after the memo
    (and moves it on); False checks none (only for replaying events whose signatures were just checked)."""
    memo = check_signatures if isinstance(check_signatures, SignatureMemo) else None
    after = state.last_seq
    where = "WHERE seq > ?" if after else "WHERE ?= 0"
    events = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events {where} ORDER BY seq", (after,))  # noqa: S608
    attestations = conn.execute(
        f"SELECT seq, person_id, signature FROM attestations {where} ORDER BY seq, person_id",  # noqa: S608
        (after,),
    )
    pending = attestations.fetchone()
    for row in events:
        event, payload = decode_row(row, state.last_seq + 1, state.last_hash)
        seq = event.seq
        found: list[ev.Attestation] = []
        while pending is not None and isinstance(pending[0], int) and pending[0] <= seq:
            a_seq, person_id, signature = pending
            if a_seq < seq:
                raise _fault(a_seq, "has an attestation row but no event (the event was removed).")
            if not isinstance(person_id, str) or not isinstance(signature, bytes):
                raise _fault(seq, "an attestation row is malformed (the row was altered).")
            found.append(ev.Attestation(seq, person_id, signature))
            pending = attestations.fetchone()
        if tuple(a.person_id for a in found) != event.attested_by:
            listed = ", ".join(event.attested_by) or "nobody"
            present = ", ".join(a.person_id for a in found) or "none"
            raise _fault(seq, f"lists signers ({listed}) but the attestations present are from {present}.")
        if memo is not None and seq == memo.seq and event.hash != memo.hash:
            raise _fault(
                seq,
                "changed after this program had checked it (the file was altered while open); run verify.",
            )
        try:
            record = state.admit(
                seq,
                event.type,
                payload,
                [(a.person_id, a.signature) for a in found],
                event.hash,
                actors=event.actors,
                check_signatures=(
                    seq > memo.seq
                    if memo is not None
                    else check_signatures
                    if isinstance(check_signatures, SignatureSink)
                    else bool(check_signatures)
                ),
            )
        except CeremonyError as exc:
            message = str(exc).removeprefix(f"Event #{seq}: ")
            rule = getattr(exc, "rule", None) or None
            raise LedgerIntegrityError(
                f"Event #{seq}: {event.type}: {message}", seq=seq, event_type=event.type, rule=rule
            ) from None
        if memo is not None and seq > memo.seq:
            memo.seq, memo.hash = seq, event.hash
        checked = ev.Event(
            seq,
            event.time,
            event.type,
            event.actors,
            event.attested_by,
            event.payload_json,
            event.previous_hash,
            event.hash,
            tuple(found),
        )
        # The typed record admit just parsed from this very payload (immutable): ``Event.record`` is a cached
        # property, so readers (the register, flows) do not parse the payload a second time.
        checked.__dict__["record"] = record
        yield checked
    if pending is not None:
        a_seq = pending[0]
        raise LedgerIntegrityError(
            f"Event #{a_seq}: has an attestation row but no event (the event was removed).",
            seq=a_seq if isinstance(a_seq, int) else None,
        )
    if memo is not None and state.last_seq < memo.seq:
        # Events up to the memo were not checked again: that is only sound while they are still there.
        raise _fault(
            state.last_seq + 1,
            f"is gone: the ledger held {memo.seq} events when this program read it and now holds "
            f"{state.last_seq} (it was cut short while open); run verify.",
        )


# --- one checked read per ledger head, shared (see the module docstring) ----------------------------------

# The events themselves are kept for a ledger of at most this many: they are what a start-up sweep iterates
# (e.g. share card files), and a big ledger's events are streamed again instead of being held in memory.
KEEP_EVENTS: Final = 10_000


@dataclass(frozen=True)
class Replayed:
    """The whole history of one open ledger as one checked read saw it, up to ``head`` (seq and hash of the
    last event; ``(0, b"")`` for a ledger without events). Shared by every caller until the file changes:
    read it, never change it."""

    head: tuple[int, bytes]
    state: LedgerState  # after the last event
    register: Register  # everything the records say (ceremony.ledger.register)
    kept: tuple[ev.Event, ...] | None  # the events, when the ledger has at most KEEP_EVENTS

    def events(self, ledger: Ledger) -> Iterable[ev.Event]:
        """The events, oldest first: the ones kept, or (a big ledger) a fresh checked read of ``ledger``."""
        return self.kept if self.kept is not None else ledger.events()


_Key = tuple[int, int, int, bytes]
_CACHE: weakref.WeakKeyDictionary[Ledger, tuple[_Key, Replayed]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _cache_key(ledger: Ledger) -> _Key:
    conn = ledger.connection
    try:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        from ceremony.ledger.store import translate

        raise translate(exc, ledger.path, writing=False) from None
    seq, digest = row if row is not None else (0, b"")
    if not isinstance(seq, int) or not isinstance(digest, bytes):
        seq, digest = -1, b""  # a malformed head: never a hit; the read names the fault
    return (int(version), conn.total_changes, seq, digest)


def replayed(ledger: Ledger) -> Replayed:
    """The ledger's history, read and checked once per head and shared (see the module docstring).

    Raises :class:`~ceremony.errors.LedgerIntegrityError` on a fault, as ``ledger.events()`` does; a fault
    is never cached, so every later call reads again and raises again."""
    from ceremony.ledger.register import Register

    key = _cache_key(ledger)
    with _LOCK:
        cached = _CACHE.get(ledger)
    if cached is not None and cached[0] == key:
        return cached[1]
    state = ledger.new_state()
    register = Register()
    kept: list[ev.Event] | None = []
    for event in ledger.events_into(state):  # the ordinary checked read (signatures: once per ledger)
        register.take(event)
        if kept is not None:
            kept.append(event)
            if len(kept) > KEEP_EVENTS:
                kept = None
    head = (state.last_seq, state.last_hash if state.last_seq else b"")
    result = Replayed(head, state, register, None if kept is None else tuple(kept))
    if head == key[2:] and _cache_key(ledger) == key:
        with _LOCK:  # only what is still the file's head is kept (a writer may have committed meanwhile)
            _CACHE[ledger] = (key, result)
    return result


def forget(ledger: Ledger) -> None:
    """Drop what :func:`replayed` keeps for ``ledger`` (the next call reads the file again)."""
    with _LOCK:
        _CACHE.pop(ledger, None)
