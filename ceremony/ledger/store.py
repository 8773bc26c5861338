"""The ledger file: one SQLite database, append-only, the only writer of ceremony history (DESIGN §5).

**File.** ``PRAGMA application_id`` = 0x43524D59 ("CRMY") marks a ceremony ledger; ``PRAGMA user_version``
holds the format version (:data:`FORMAT_VERSION`), repeated in the ``meta`` table with the ledger id (a
Crockford base32 id printed on every checkpoint), the creation time and the ``rehearsal`` flag. A file that
is not SQLite, not a ledger, or of a newer format raises :class:`LedgerFormatError` and is left untouched.

**Tables.** ``events`` (seq, time, type, actors, attested_by, payload, previous_hash, hash; see
:mod:`ceremony.ledger.events` for the hash), ``attestations`` (seq, person_id, signature), ``meta`` —
all three refuse UPDATE and DELETE by trigger (``RAISE(ABORT)``). ``keystore`` (person_id, encrypted key blob,
cert_sha256) is *not* part of the chain: it holds passphrase-encrypted private keys, may be rewritten when a
passphrase changes, and is emptied in exports. Its rows are bound to the chain by the certificate SHA-256
recorded in the ``participant.enrolled`` event, so a swapped row fails at unlock.

**Durability.** Every write is one ``BEGIN IMMEDIATE`` transaction with ``synchronous=EXTRA``;
:meth:`Ledger.append` returns only after ``COMMIT`` (an event counts as done only then). The journal mode is
``DELETE`` (rollback journal), not WAL: between transactions the ledger is exactly one file, which is what
custodians copy, back up and hand to auditors, and a ``mode=ro`` reader never creates ``-wal``/``-shm``
files next to it (WAL readers need the shared-memory file, so read-only media would fail). EXTRA also syncs
the directory after the journal is deleted, so a power cut right after COMMIT cannot resurrect the journal
and roll back an acknowledged event. WAL's concurrency is not needed: there is one writer, a person.

**Opening.** ``Ledger.open(path, create=False, read_only=False)``. Read-only opens use the URI
``mode=ro`` and never write. A writer holding the lock makes a write wait at most ``busy_timeout`` seconds,
then :class:`LedgerBusyError`. A file or directory that cannot be written gives :class:`LedgerReadOnlyError`
on the first write; reading still works.

**Rules.** Before appending, the writer replays history into a :class:`~ceremony.ledger.state.LedgerState`
(kept in memory and caught up inside the write transaction) and asks it to admit the new event: unknown
signers, duplicate enrollments and custody-rule violations (PCI DSS 3.7.6) are refused with their own error
before anything is written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, Self

from ceremony.crypto.ids import new_id
from ceremony.errors import (
    LedgerBusyError,
    LedgerError,
    LedgerFormatError,
    LedgerFullError,
    LedgerNotFoundError,
    LedgerReadOnlyError,
)
from ceremony.ledger import events as ev
from ceremony.ledger import schema
from ceremony.ledger.canonical import canonical_text
from ceremony.ledger.checkpoint import Checkpoint, MerkleAccumulator
from ceremony.ledger.replay import SignatureMemo, stream_events
from ceremony.ledger.state import LedgerState

if TYPE_CHECKING:
    from ceremony.policy.custody import CustodyHistory

FORMAT_VERSION: Final = schema.FORMAT_VERSION  # 2: signed genesis, every event under its signing rule
APPLICATION_ID: Final = 0x43524D59  # "CRMY"
DEFAULT_BUSY_TIMEOUT: Final = 1.0

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        time TEXT NOT NULL,
        type TEXT NOT NULL,
        actors TEXT NOT NULL,
        attested_by TEXT NOT NULL,
        payload TEXT NOT NULL,
        previous_hash BLOB NOT NULL,
        hash BLOB NOT NULL)""",
    """CREATE TABLE attestations (
        seq INTEGER NOT NULL REFERENCES events(seq),
        person_id TEXT NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (seq, person_id)) WITHOUT ROWID""",
    """CREATE TABLE keystore (
        person_id TEXT PRIMARY KEY NOT NULL,
        blob BLOB NOT NULL,
        cert_sha256 TEXT NOT NULL)""",
    # The ledger root's private key, sealed to each security officer's own key (ECIES, see
    # ceremony.crypto.ledger_root); like the keystore, outside the chain and emptied in exports.
    """CREATE TABLE root_keys (
        person_id TEXT PRIMARY KEY NOT NULL,
        blob BLOB NOT NULL)""",
    *(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the ceremony ledger is append-only'); END"
        for table in ("events", "attestations", "meta")
        for verb in ("UPDATE", "DELETE")
    ),
)
PROTECTION_TRIGGERS: Final = tuple(
    f"{table}_no_{verb}" for table in ("events", "attestations", "meta") for verb in ("update", "delete")
)
EXPECTED_TABLES: Final = frozenset({"meta", "events", "attestations", "keystore", "root_keys"})


class Signer(Protocol):
    """An unlocked participant identity: who they are, and an ECDSA P-256/SHA-256 DER signature."""

    @property
    def person_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class _SignsBytes(Protocol):
    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Attester:
    """Adapts an unlocked identity (anything with ``sign``) to :class:`Signer` by naming its person."""

    person_id: str
    identity: _SignsBytes

    def sign(self, data: bytes) -> bytes:
        return self.identity.sign(data)


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _text_or_bytes(raw: bytes) -> str | bytes:
    # A TEXT value that is not UTF-8 can only come from tampering: hand it on as bytes so the replay
    # names the event ("not stored as text") instead of SQLite's decode error stopping the read.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def translate(exc: sqlite3.Error, path: Path, writing: bool) -> LedgerError:
    """A custodian-readable ledger error for an SQLite failure (never the SQL or any data)."""
    name = getattr(exc, "sqlite_errorname", "")
    where = path.name
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return LedgerBusyError(
            f"The ledger {where} is being written by another program; close it there and try again."
        )
    if name.startswith("SQLITE_READONLY") or (writing and name.startswith("SQLITE_CANTOPEN")):
        return LedgerReadOnlyError(
            f"The ledger {where} cannot be written (read-only file, folder or medium, or opened read-only)."
        )
    if name == "SQLITE_FULL":
        return LedgerFullError(
            f"The ledger {where} could not be written: the disk holding it is full. Nothing was recorded; "
            "free space (or move the ledger) and repeat the step."
        )
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return LedgerFormatError(f"{where} is not a ceremony ledger (not an SQLite database, or damaged).")
    if name == "SQLITE_CONSTRAINT_TRIGGER" or "append-only" in str(exc):
        return LedgerError(f"The ledger {where} is append-only: events cannot be changed or removed.")
    return LedgerError(
        f"The ledger {where} could not be {'written' if writing else 'read'} ({name or 'error'})."
    )


@dataclass(frozen=True)
class LedgerInfo:
    ledger_id: str
    format_version: int
    created: str
    rehearsal: bool


class Ledger:
    """An open ledger file. Use :meth:`open`; close with :meth:`close` or a ``with`` block."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, info: LedgerInfo, read_only: bool, clock: Clock
    ) -> None:
        self._conn = conn
        self.path = path
        self.info = info
        self.read_only = read_only
        self._clock = clock
        self._state: LedgerState | None = None
        self._signatures = SignatureMemo()  # every read checks each signature once per process

    # --- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = False,
        read_only: bool = False,
        clock: Clock | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        rehearsal: bool = False,
    ) -> Ledger:
        path = Path(path).absolute()
        if create and read_only:
            raise LedgerError("A ledger cannot be created read-only.")
        exists = path.exists()
        if not exists and not create:
            raise LedgerNotFoundError(f"There is no ledger at {path}.")
        if exists and not path.is_file():
            raise LedgerFormatError(f"{path.name} is not a file, so it is not a ceremony ledger.")
        if not exists:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                raise LedgerReadOnlyError(
                    f"The folder for a new ledger cannot be created: {path.parent}"
                ) from None
            cls._create_atomically(path, rehearsal, busy_timeout)
        mode = "ro" if read_only else "rw"
        try:
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode={mode}", uri=True, isolation_level=None, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise translate(exc, path, writing=not read_only) from None
        conn.text_factory = _text_or_bytes
        try:
            conn.execute("PRAGMA trusted_schema = OFF")  # a crafted file's triggers/views run nothing of ours
            if not read_only:
                conn.execute("PRAGMA synchronous = EXTRA")
                conn.execute("PRAGMA foreign_keys = ON")
            info = cls._identify(conn, path)
        except LedgerError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc, path, writing=False) from None
        return cls(conn, path, info, read_only, clock or _utc_now)

    @classmethod
    def open_for_reading(cls, path: str | Path) -> Ledger:
        """Open read-only, after letting SQLite finish the rollback of a write interrupted by a crash.

        A writer killed mid-transaction leaves a "hot" journal that a read-only connection may not roll
        back (SQLITE_READONLY_ROLLBACK). Then, only if the file and folder are writable, the ledger is opened
        once for writing, which makes SQLite restore the last committed state (what any next open would do),
        and is reopened read-only.
        """
        path = Path(path).absolute()
        try:
            return cls.open(path, read_only=True)
        except LedgerReadOnlyError as exc:
            cause = exc
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise LedgerReadOnlyError(
                f"{path.name} was interrupted in the middle of a write and is on a read-only medium; "
                "copy it (with its -journal file) to a writable place and open the copy."
            ) from cause
        cls.open(path).close()
        return cls.open(path, read_only=True)

    @classmethod
    def _create_atomically(cls, path: Path, rehearsal: bool, busy_timeout: float) -> None:
        """Make a new ledger under a temporary name and link it into place only once it is complete, so a
        crash or power cut during creation never leaves an empty or half-made file at ``path``. If another
        process created ``path`` meanwhile, theirs is kept (link never overwrites)."""
        temp = path.with_name(f".{path.name}.creating-{os.getpid()}")
        try:
            temp.unlink(missing_ok=True)
            conn = sqlite3.connect(
                f"{temp.as_uri()}?mode=rwc", uri=True, isolation_level=None, timeout=busy_timeout
            )
            try:
                conn.execute("PRAGMA synchronous = EXTRA")
                cls._initialise(conn, path, rehearsal)
            finally:
                conn.close()
            with temp.open("rb") as fh:
                os.fsync(fh.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except sqlite3.Error as exc:
            raise translate(exc, path, writing=True) from None
        except PermissionError:
            raise LedgerReadOnlyError(f"A new ledger cannot be written in {path.parent}.") from None
        finally:
            temp.unlink(missing_ok=True)

    @staticmethod
    def _identify(conn: sqlite3.Connection, path: Path) -> LedgerInfo:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app_id != APPLICATION_ID:
            if not tables and not version:
                raise LedgerFormatError(f"{path.name} is empty: it is not a ceremony ledger.")
            raise LedgerFormatError(f"{path.name} is an SQLite database but not a ceremony ledger.")
        if version > FORMAT_VERSION:
            raise LedgerFormatError(
                f"{path.name} is a ledger of format {version}, written by a newer version of ceremony; "
                f"this program reads formats up to {FORMAT_VERSION}. Use the newer program."
            )
        if 1 <= version < FORMAT_VERSION:
            raise LedgerFormatError(
                f"{path.name} is a ledger of format {version}, written by an earlier version of ceremony "
                "(before every event was signed under its rule and the ledger had a signed genesis); this "
                f"program reads format {FORMAT_VERSION} only. Start a new ledger: there is no migration."
            )
        if version < 1 or not EXPECTED_TABLES <= {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }:
            raise LedgerFormatError(f"{path.name} is marked as a ceremony ledger but its tables are missing.")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format_version") != str(version) or "ledger_id" not in meta:
            raise LedgerFormatError(
                f"{path.name}: the ledger's meta table does not match its format version."
            )
        return LedgerInfo(
            ledger_id=str(meta["ledger_id"]),
            format_version=version,
            created=str(meta.get("created", "")),
            rehearsal=meta.get("rehearsal") == "1",
        )

    @staticmethod
    def _initialise(conn: sqlite3.Connection, path: Path, rehearsal: bool) -> None:
        try:
            conn.execute("PRAGMA journal_mode = DELETE")  # one file between transactions (module doc)
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                conn.execute("ROLLBACK")
                raise LedgerFormatError(f"{path.name} changed while the ledger was being created.")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("format_version", str(FORMAT_VERSION)),
                    ("ledger_id", new_id()),
                    ("created", ev.format_time(_utc_now())),
                    ("rehearsal", "1" if rehearsal else "0"),
                ],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise translate(exc, path, writing=True) from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def ledger_id(self) -> str:
        return self.info.ledger_id

    def clock(self) -> datetime:
        """Now, by the ledger's clock (the one that stamps events)."""
        return self._clock()

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for read-only queries by reports and export (never write through it)."""
        return self._conn

    # --- reading ---------------------------------------------------------------------------------------
    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return list(self._conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise translate(exc, self.path, writing=False) from None

    def size(self) -> int:
        """Number of events (the highest seq)."""
        value = self._read("SELECT coalesce(max(seq), 0) FROM events")[0][0]
        assert isinstance(value, int)
        return value

    def events(self, *, check_signatures: bool = False) -> Iterator[ev.Event]:
        """Every event in seq order, each checked as it is read (raises LedgerIntegrityError on a fault):
        chain, schema, signing rule, and each signature the first time this program reads the event
        (``check_signatures=True``: every signature again)."""
        check: bool | SignatureMemo = True if check_signatures else self._signatures
        try:
            yield from stream_events(self._conn, self.new_state(), check_signatures=check)
        except sqlite3.Error as exc:
            raise translate(exc, self.path, writing=False) from None

    def event(self, seq: int) -> ev.Event:
        for event in self.events():
            if event.seq == seq:
                return event
        raise LedgerError(f"The ledger has no event #{seq}.")

    def new_state(self) -> LedgerState:
        """An empty state that checks the genesis against this file's identity (its meta cache)."""
        return LedgerState(rehearsal=self.info.rehearsal, ledger_id=self.info.ledger_id)

    def replay(self) -> LedgerState:
        """A fresh replay of the whole history (each signature checked once per process)."""
        state = self.new_state()
        for _ in self.events_into(state):
            pass
        return state

    def events_into(self, state: LedgerState) -> Iterator[ev.Event]:
        try:
            yield from stream_events(self._conn, state, check_signatures=self._signatures)
        except sqlite3.Error as exc:
            raise translate(exc, self.path, writing=False) from None

    def custody(self) -> CustodyHistory:
        """The custody history (PCI DSS 3.7.6) replayed from the ledger; the caller's own copy."""
        return self.replay().custody

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        """The checkpoint after the first ``size`` events (default: all) — print it on forms."""
        size = self.size() if size is None else size
        if not 1 <= size <= self.size():
            raise LedgerError(f"A checkpoint needs 1..{self.size()} events, not {size}.")
        acc = MerkleAccumulator()
        head = b""
        for event in self.events():
            if event.seq > size:
                break
            acc.push(event.hash)
            head = event.hash
        return Checkpoint(self.ledger_id, size, head, acc.root())

    def root_key_blob(self, person_id: str) -> bytes | None:
        """The ledger root's private key sealed to security officer ``person_id``, or None."""
        rows = self._read("SELECT blob FROM root_keys WHERE person_id = ?", (person_id,))
        if not rows:
            return None
        blob = rows[0][0]
        assert isinstance(blob, bytes)
        return blob

    def key_blob(self, person_id: str) -> tuple[bytes, str] | None:
        """The encrypted private key of ``person_id`` and the cert SHA-256 it claims, or None."""
        rows = self._read("SELECT blob, cert_sha256 FROM keystore WHERE person_id = ?", (person_id,))
        if not rows:
            return None
        blob, fingerprint = rows[0]
        assert isinstance(blob, bytes) and isinstance(fingerprint, str)
        return blob, fingerprint

    # --- writing ---------------------------------------------------------------------------------------
    def append(
        self,
        event_type: str,
        payload: Mapping[str, object],
        actors: Sequence[str],
        signers: Sequence[Signer] = (),
    ) -> ev.Event:
        """Append one event (signed by each of ``signers``) and return it once committed.

        Raises the rule's own error (CustodyViolationError, DuplicateEnrollmentError, SignatureError, ...)
        when history forbids the event; LedgerBusyError / LedgerReadOnlyError when the file cannot be written.
        """
        return self._append(event_type, payload, actors, signers, None)

    def _append(
        self,
        event_type: str,
        payload: Mapping[str, object],
        actors: Sequence[str],
        signers: Sequence[Signer],
        also: Callable[[sqlite3.Connection], None] | None,
    ) -> ev.Event:
        if self.read_only:
            raise LedgerReadOnlyError(f"The ledger {self.path.name} was opened read-only.")
        ev.check_type_name(event_type)
        actor_ids = ev.check_person_ids(list(actors), "actors")
        ordered = sorted(signers, key=lambda s: s.person_id)
        signer_ids = ev.check_person_ids([s.person_id for s in ordered], "signers")
        body_payload = ev.prepare_payload(event_type, payload)
        time = ev.format_time(self._clock())
        conn = self._conn
        touched_state = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            state = self._state if self._state is not None else self.new_state()
            self._state = state
            touched_state = True
            for _ in stream_events(conn, state, check_signatures=self._signatures):
                pass
            seq, previous = state.last_seq + 1, state.last_hash
            body = ev.event_body(time, event_type, actor_ids, signer_ids, body_payload)
            digest = ev.event_hash(seq, previous, body)
            message = ev.attestation_message(digest)
            signatures = [(s.person_id, bytes(s.sign(message))) for s in ordered]
            state.admit(seq, event_type, body_payload, signatures, digest, actors=actor_ids)
            stored_payload = canonical_text(body_payload)
            conn.execute(
                "INSERT INTO events (seq, time, type, actors, attested_by, payload, previous_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    time,
                    event_type,
                    canonical_text(list(actor_ids)),
                    canonical_text(list(signer_ids)),
                    stored_payload,
                    previous,
                    digest,
                ),
            )
            conn.executemany(
                "INSERT INTO attestations (seq, person_id, signature) VALUES (?, ?, ?)",
                [(seq, person_id, signature) for person_id, signature in signatures],
            )
            if also is not None:
                also(conn)
            conn.execute("COMMIT")
            if self._signatures.seq == seq - 1:  # admit checked the signatures just made
                self._signatures.seq, self._signatures.hash = seq, digest
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if touched_state:
                self._state = None  # rebuilt from the file on the next write
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, self.path, writing=True) from None
            raise
        return ev.Event(
            seq,
            time,
            event_type,
            actor_ids,
            signer_ids,
            stored_payload,
            previous,
            digest,
            tuple(ev.Attestation(seq, p, s) for p, s in signatures),
        )
