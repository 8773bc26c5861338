"""Share card files in the RAM folder: none outlives the run that wrote it (issue 13, "Secrets hygiene").

A card printed to a RAM-backed folder (``$CEREMONY_PRINTER=ram[:FOLDER]``) is a file holding a share until
the administrator confirms it was printed (:func:`ceremony.flows.cards.card_printed` overwrites and deletes
it). Between the two:

* this process keeps a registry of the card files it wrote (:func:`register`, :func:`forget`);
* Ctrl+C in the TUI and SIGTERM/SIGINT (the app's cancel path, or the handlers :func:`install` sets up
  outside the app's event loop) overwrite and remove every registered file before the process ends, and
  record ``share.card_wiped`` when they can (the custodian and the witness are still present); an
  ``atexit`` hook is the fallback for any other orderly exit;
* a run that could not clean up (power cut, SIGKILL) leaves a file whose ``share.card_delivered`` has no
  ``share.card_wiped`` in the ledger: the next start finds it (:func:`open_card_files`), overwrites and
  removes it at once (:func:`wipe_leftovers`) and tells the officer; the wipe is recorded
  (``leftover: true``, administrator + witness) when they void or resume that unfinished ceremony
  (:func:`ceremony.flows.unfinished.record_leftover_cards`).

Only files named as the card flow names them (``share-card-<split id>-<share number>.pdf``), at the path the
ledger recorded, are ever touched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ceremony.documents.printing import overwrite_and_remove

CARD_DELIVERED = "share.card_delivered"
CARD_WIPED = "share.card_wiped"
CLEANUP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def card_file_name(split_id: str, number: int) -> str:
    """The file name a share card gets in the RAM folder."""
    return f"share-card-{split_id}-{number}.pdf"


# --- this process's live card files ---------------------------------------------------------------------
_lock = threading.RLock()
_live: dict[Path, Callable[[], object] | None] = {}


def register(path: Path, on_wiped: Callable[[], object] | None = None) -> None:
    """Remember a card file this process wrote. ``on_wiped`` records ``share.card_wiped`` when it is
    wiped by :func:`wipe_all` with ``record=True`` (not from a signal handler)."""
    with _lock:
        _live[Path(path)] = on_wiped


def forget(path: Path) -> None:
    """The file was wiped and recorded by the normal path (after printing)."""
    with _lock:
        _live.pop(Path(path), None)


def live() -> list[Path]:
    with _lock:
        return list(_live)


def wipe_all(*, record: bool = False) -> list[Path]:
    """Overwrite and remove every registered card file; with ``record``, call each one's recorder (its
    failure does not stop the wiping, and the next start finds the unrecorded wipe). Returns the paths
    that were removed. Safe to call more than once (each file is taken off the registry first)."""
    removed: list[Path] = []
    while True:
        with _lock:
            if not _live:
                return removed
            path, recorder = _live.popitem()
        try:
            if overwrite_and_remove(path):
                removed.append(path)
        except OSError:
            continue  # the next start finds it in the ledger and tries again
        if record and recorder is not None:
            with contextlib.suppress(Exception):
                recorder()


# --- signal and exit handlers -------------------------------------------------------------------------------
_previous: dict[int, Any] = {}
_atexit_installed = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    wipe_all()
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # e.g. Python's KeyboardInterrupt for SIGINT
        return
    if previous == signal.SIG_IGN:
        return
    # Default action (terminate): restore it and deliver the signal again, so the exit status says so.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install(signals: Iterable[int] = CLEANUP_SIGNALS) -> None:
    """Wipe the live card files on SIGINT/SIGTERM (then behave as before) and at interpreter exit.

    Called when the TUI starts, and again after the app's event loop gives its own signal handlers back
    (the loop's handlers take the same path through :func:`wipe_all`). Main thread only; elsewhere the
    signal part is skipped and the ``atexit`` fallback remains.
    """
    global _atexit_installed
    if not _atexit_installed:
        atexit.register(wipe_all)
        _atexit_installed = True
    for signum in signals:
        try:
            current = signal.getsignal(signum)
            if current is not _on_signal:
                _previous[signum] = current
                signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not the main thread
            return


# --- cards left behind by an interrupted run --------------------------------------------------------------
@dataclass(frozen=True)
class CardFile:
    """A card file the ledger says was written (``share.card_delivered``) and never wiped."""

    ceremony_id: str
    split_id: str
    share_number: int
    path: Path


def open_card_files(events: Iterable[Any]) -> list[CardFile]:
    """Card files delivered to a folder and not recorded as wiped, in ledger order (one pass over
    ``ledger.events()``). Printer deliveries have no file and are skipped."""
    delivered: dict[tuple[str, str], CardFile] = {}
    for event in events:
        if event.type not in (CARD_DELIVERED, CARD_WIPED):
            continue
        payload = event.payload
        ceremony_id = str(payload.get("ceremony_id", ""))
        if event.type == CARD_DELIVERED:
            destination = str(payload.get("destination", ""))
            if not destination.startswith("/"):
                continue  # "printer device ...", "lp printer ...": nothing was written to a folder
            split_id = str(payload.get("split_id", ""))
            number = int(payload.get("share_number", 0))
            delivered[(ceremony_id, destination)] = CardFile(ceremony_id, split_id, number, Path(destination))
        else:
            delivered.pop((ceremony_id, str(payload.get("file", ""))), None)
    return list(delivered.values())


def is_card_file(card: CardFile) -> bool:
    """The path is the one the card flow would have named for that split and share."""
    return card.path.is_absolute() and card.path.name == card_file_name(card.split_id, card.share_number)


def wipe_leftovers(events: Iterable[Any]) -> list[CardFile]:
    """At start: overwrite and remove every card file the ledger shows as written and never wiped, unless
    this process itself is holding it. Returns the ones that were found and removed."""
    mine = set(live())
    removed = []
    for card in open_card_files(events):
        if card.path in mine or not is_card_file(card):
            continue
        try:
            if overwrite_and_remove(card.path):
                removed.append(card)
        except OSError:
            continue
    return removed
