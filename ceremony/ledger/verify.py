"""``ceremony verify``: replay the whole ledger and stop at the first fault (DESIGN §5).

:func:`verify_ledger` streams the events in seq order (two SQLite cursors, nothing collected), and for each
event checks: the seq is the next one; every column has its canonical stored form; the previous-hash field
and the recomputed hash (:mod:`ceremony.ledger.events`); the attestation rows are exactly the listed signers
and every signature verifies against the certificate enrolled for that person, who must be enrolled and not
deactivated at that point; the payload of each known event type is well-formed; the custody rule
(PCI DSS 3.7.6) holds over the history (the same :class:`~ceremony.ledger.state.LedgerState` the writer
uses); and each paper checkpoint given: its ledger id, that the ledger has at least its size, that the head
hash at that seq and the RFC 6962 Merkle root over the first ``size`` events are equal.

The file must also still carry its append-only triggers (a missing one is a fault with no event number).

Memory is the person -> public key map, the custody state and a stack of log2(n) Merkle subtree hashes.

The first fault raises :class:`LedgerIntegrityError` (or :class:`CheckpointError`) whose ``seq`` names the
event and whose message says what is wrong. Without a checkpoint, a chain that was cut short or rebuilt from
scratch with fresh hashes cannot be told from an honest one (only signatures over rebuilt events would fail):
that is what paper checkpoints are for.

Verification opens the file read-only (:meth:`Ledger.open_for_reading`, which first lets SQLite roll back a
write interrupted by a crash, if there is one).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.errors import CheckpointError, LedgerIntegrityError
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.checkpoint import Checkpoint, MerkleAccumulator
from ceremony.ledger.replay import stream_events
from ceremony.ledger.state import SignatureSink
from ceremony.ledger.store import PROTECTION_TRIGGERS, Ledger, translate

_SIGNATURE = ec.ECDSA(hashes.SHA256())


class ParallelSignatures(SignatureSink):
    """Checks attestation signatures on worker threads while the replay parses the next events.

    OpenSSL's ECDSA verification releases the GIL, so on the ceremony laptop's cores the signatures (most of
    verify's work) are checked alongside the parsing, hashing and rule checks of the main thread. Work goes
    out in batches; at most ``max_pending`` batches are in flight, so memory stays flat however long the
    ledger. The first fault is still the first *event* at fault: before a structural fault at event ``n``
    is reported, every signature of events before ``n`` is checked and an earlier bad one wins
    (:meth:`first_bad_before`)."""

    def __init__(self, workers: int = 2, batch: int = 128, max_pending: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify-signatures")
        self._batch: list[tuple[int, str, str, ec.EllipticCurvePublicKey, bytes, bytes]] = []
        self._size = batch
        self._pending: deque[Future[tuple[int, str, str] | None]] = deque()
        self._max_pending = max_pending
        self._failed: tuple[int, str, str] | None = None

    def put(
        self,
        seq: int,
        event_type: str,
        person_id: str,
        key: ec.EllipticCurvePublicKey,
        signature: bytes,
        message: bytes,
    ) -> None:
        self._batch.append((seq, event_type, person_id, key, signature, message))
        if len(self._batch) >= self._size:
            self._submit()

    @staticmethod
    def _check(
        batch: list[tuple[int, str, str, ec.EllipticCurvePublicKey, bytes, bytes]],
    ) -> tuple[int, str, str] | None:
        for seq, event_type, person_id, key, signature, message in batch:
            try:
                key.verify(signature, message, _SIGNATURE)
            except InvalidSignature:
                return seq, event_type, person_id
        return None

    def _submit(self) -> None:
        if self._batch:
            self._pending.append(self._pool.submit(self._check, self._batch))
            self._batch = []
        while len(self._pending) > self._max_pending:
            self._settle(self._pending.popleft())

    def _settle(self, future: Future[tuple[int, str, str] | None]) -> None:
        bad = future.result()
        if bad is not None and (self._failed is None or bad[0] < self._failed[0]):
            self._failed = bad

    def first_bad_before(self, seq: int | None) -> tuple[int, str, str] | None:
        """Check everything handed in so far; the first bad signature of an event before ``seq`` (any)."""
        self._submit()
        while self._pending:
            self._settle(self._pending.popleft())
        if self._failed is not None and (seq is None or self._failed[0] < seq):
            return self._failed
        return None

    def raise_first_bad(self, seq: int | None = None) -> None:
        bad = self.first_bad_before(seq)
        if bad is not None:
            raise LedgerIntegrityError(
                f"Event #{bad[0]}: {bad[1]}: the attestation of {bad[2]} does not verify against their "
                "enrolled certificate.",
                seq=bad[0],
                event_type=bad[1],
                rule="each signature verifies against the signer's enrolled certificate",
            )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class VerifyResult:
    """What an intact ledger holds, for the one-line summary and ``--format json``."""

    path: str
    ledger_id: str
    events: int
    head_hash: bytes
    merkle_root: bytes
    participants: int
    active_participants: int
    keys: int
    splits: int
    ceremonies: int
    attestations: int
    checkpoints_checked: int
    flagged_keys: tuple[str, ...]
    rehearsal: bool = False
    organisation: str = ""
    anchor: Anchor | None = None
    anchor_checked: bool = False

    def summary(self) -> str:
        checked = f", checkpoints matched {self.checkpoints_checked}" if self.checkpoints_checked else ""
        checked += ", anchor matched" if self.anchor_checked else ""
        kind = "REHEARSAL ledger (TEST keys only)" if self.rehearsal else "Production ledger"
        return (
            f"{kind} {self.ledger_id} of {self.organisation} intact: events {self.events}, "
            f"ceremonies {self.ceremonies}, "
            f"keys {self.keys}, participants {self.participants}, signatures {self.attestations}{checked}; "
            f"head {self.head_hash.hex().upper()}"
        )

    def checkpoint(self) -> Checkpoint | None:
        if not self.events:
            return None
        return Checkpoint(self.ledger_id, self.events, self.head_hash, self.merkle_root)

    def to_json(self) -> dict[str, Any]:
        cp = self.checkpoint()
        return {
            "ok": True,
            "ledger": self.path,
            "ledger_id": self.ledger_id,
            "rehearsal": self.rehearsal,
            "organisation": self.organisation,
            "anchor": self.anchor.text() if self.anchor else None,
            "anchor_checked": self.anchor_checked,
            "events": self.events,
            "ceremonies": self.ceremonies,
            "keys": self.keys,
            "splits": self.splits,
            "participants": self.participants,
            "active_participants": self.active_participants,
            "attestations": self.attestations,
            "checkpoints_checked": self.checkpoints_checked,
            "head_hash": self.head_hash.hex(),
            "merkle_root": self.merkle_root.hex(),
            "keys_to_replace": list(self.flagged_keys),
            "checkpoint": cp.text() if cp else None,
        }


def verify_ledger(
    path: str | Path, checkpoints: Iterable[Checkpoint | str] = (), anchor: Anchor | str | None = None
) -> VerifyResult:
    """Replay and check the ledger at ``path``; raise at the first fault (see module docstring)."""
    path = Path(path)
    wanted_anchor = Anchor.parse(anchor) if isinstance(anchor, str) else anchor
    wanted = sorted(
        (c if isinstance(c, Checkpoint) else Checkpoint.parse(c) for c in checkpoints), key=lambda c: c.size
    )
    with Ledger.open_for_reading(path) as ledger:
        for cp in wanted:
            if cp.ledger_id != ledger.ledger_id:
                raise CheckpointError(
                    f"The checkpoint is for ledger {cp.ledger_id}, "
                    f"but this file is ledger {ledger.ledger_id}."
                )
        _check_protection(ledger)
        state = ledger.new_state()
        merkle = MerkleAccumulator()
        pending: Sequence[Checkpoint] = wanted
        signatures = ParallelSignatures()
        try:
            for event in stream_events(ledger.connection, state, check_signatures=signatures):
                merkle.push(event.hash)
                while pending and pending[0].size == event.seq:
                    _compare(pending[0], event.hash, merkle.root())
                    pending = pending[1:]
            signatures.raise_first_bad()
        except LedgerIntegrityError as fault:
            signatures.raise_first_bad(fault.seq)  # an earlier bad signature is the first fault
            raise
        except sqlite3.Error as exc:
            raise translate(exc, path, writing=False) from None
        finally:
            signatures.close()
        if pending:
            cp = pending[0]
            raise CheckpointError(
                f"A checkpoint covers {cp.size} events but the ledger holds only {state.last_seq}: "
                f"events after #{state.last_seq} were removed (the ledger was truncated or replaced).",
                seq=state.last_seq + 1,
            )
        if state.genesis is None or state.genesis_hash is None:
            raise LedgerIntegrityError(
                f"The ledger {ledger.ledger_id} holds no events, not even its genesis: it was never founded, "
                "or everything was removed.",
                seq=1,
            )
        found = Anchor(state.genesis.ledger_id, state.genesis_hash, state.genesis.root_cert_sha256)
        if wanted_anchor is not None and wanted_anchor != found:
            raise LedgerIntegrityError(
                "Event #1: this ledger's anchor differs from the one given "
                f"(ledger {found.ledger_id}, genesis "
                f"{found.genesis_hash.hex()[:16]}…, root {found.root_cert_sha256[:16]}… vs ledger "
                f"{wanted_anchor.ledger_id}, genesis {wanted_anchor.genesis_hash.hex()[:16]}…, root "
                f"{wanted_anchor.root_cert_sha256[:16]}…): it is another ledger, or this one was rewritten "
                "from its beginning.",
                seq=1,
            )
        custody = state.custody
        return VerifyResult(
            path=str(path),
            ledger_id=ledger.ledger_id,
            events=state.last_seq,
            head_hash=state.last_hash,
            merkle_root=merkle.root(),
            participants=len(state.people),
            active_participants=sum(1 for p in state.people.values() if p.deactivated_seq is None),
            keys=len(state.keys),
            splits=state.splits,
            ceremonies=state.ceremonies,
            attestations=state.attestations,
            checkpoints_checked=len(wanted),
            flagged_keys=tuple(sorted(custody.flagged_keys())),
            rehearsal=state.genesis.rehearsal,
            organisation=state.genesis.organisation,
            anchor=found,
            anchor_checked=wanted_anchor is not None,
        )


def _check_protection(ledger: Ledger) -> None:
    """The append-only triggers are part of the file: missing ones mean it was edited outside ceremony."""
    try:
        triggers = dict(
            ledger.connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        )
    except sqlite3.Error as exc:
        raise translate(exc, ledger.path, writing=False) from None
    for name in PROTECTION_TRIGGERS:
        sql = triggers.get(name)
        if not isinstance(sql, str) or "RAISE(ABORT" not in sql.upper():
            raise LedgerIntegrityError(
                f"The ledger's append-only protection ({name}) was removed or changed: "
                "the file was edited outside ceremony."
            )


def _compare(cp: Checkpoint, head: bytes, root: bytes) -> None:
    if head != cp.head_hash:
        raise CheckpointError(
            f"Event #{cp.size}: its hash differs from the paper checkpoint's head hash "
            "(history up to the checkpoint was rewritten).",
            seq=cp.size,
        )
    if root != cp.merkle_root:
        raise CheckpointError(
            f"Event #{cp.size}: the Merkle root over events 1..{cp.size} differs from the paper checkpoint "
            "(history up to the checkpoint was rewritten).",
            seq=cp.size,
        )


__all__ = ["LedgerIntegrityError", "VerifyResult", "verify_ledger"]
