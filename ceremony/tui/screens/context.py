"""What every ledger screen needs to know: which ledger, how costly a new passphrase key is, how to run
the preflight. Handed from the app to each screen (screens never import the app).

Cold start (issue 14): the air-gap checks (:mod:`ceremony.preflight`) and the generation screens are imported
when a preflight first runs, not when the main menu is painted; :func:`run_preflight` here is the real
runner, importing them on its first call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.ledger.participants import Participant, participants
from ceremony.ledger.store import Ledger

if TYPE_CHECKING:
    from ceremony.preflight import PreflightReport

# The same type as ceremony.tui.screens.gen_session.PreflightRunner (not imported here: see the module doc).
PreflightRunner = Callable[[datetime], "PreflightReport"]


def run_preflight(now: datetime) -> PreflightReport:
    """The real air-gap checks (:func:`ceremony.preflight.run_preflight`), imported on the first run."""
    from ceremony.preflight import run_preflight as real

    return real(now)


@dataclass
class LedgerContext:
    ledger_path: Path
    ledger: Ledger | None = None  # None until the first enrollment creates the file
    kdf: ScryptParams = DEFAULT_KDF
    run_preflight: PreflightRunner = field(default=run_preflight)
    rehearsal: bool = False  # a ledger created here is a rehearsal ledger (tests, training)

    def open(self) -> Ledger | None:
        """The ledger if the file exists (opened once), else None: nothing is created before enrollment."""
        if self.ledger is None and self.ledger_path.exists():
            self.ledger = Ledger.open(self.ledger_path)
        return self.ledger

    def connect(self) -> Ledger:
        """A connection of its own to the file (made, empty, if missing), for a worker thread: an SQLite
        connection stays on the thread that opened it. The caller closes it; founding uses this."""
        return Ledger.open(self.ledger_path, create=True, rehearsal=self.rehearsal)

    def people(self, role: str | None = None, *, active: bool = True) -> list[Participant]:
        """Everyone enrolled (``active``: still active), with ``role`` if given. From the one checked read of
        the ledger's current head (:func:`ceremony.ledger.replay.replayed`), shared with the main menu and
        the start-up scan: no second replay while nothing was appended."""
        ledger = self.open()
        if ledger is None:
            return []
        return [
            p for p in participants(ledger) if (role is None or role in p.roles) and (p.active or not active)
        ]

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
