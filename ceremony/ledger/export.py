"""Evidence bundle for auditors: a ledger copy, its events as JSON Lines, the checkpoint (DESIGN §5).

``export_ledger(ledger_path, out_dir)`` writes into ``out_dir`` (created if needed; existing bundle files
are never overwritten):

* ``ledger.sqlite3`` — a copy made with SQLite's online backup API (a consistent snapshot even if a writer
  is active), then with the ``keystore`` table emptied and the file vacuumed with ``secure_delete`` on, so
  no encrypted private key leaves the laptop (not even in freed pages). The hash chain does not cover the
  keystore, so the copy verifies exactly like the original (``ceremony verify --ledger DIR/ledger.sqlite3``).
* ``events.jsonl`` — one event per line (:meth:`Event.to_json`: seq, time, type, actors, signers, payload,
  previous hash, hash, attestations), UTF-8, for tools that do not read SQLite.
* ``checkpoint.txt`` — the checkpoint line of the exported state.
* ``root.pem`` — the ledger's root certificate (from the genesis): import it into a PDF validator's trust
  store (poppler/NSS: ``certutil -A -d sql:DIR -n ledger-root -t ",C," -i root.pem``; Adobe Reader: trusted
  certificates) and every signer of the ledger's forms shows as trusted. Its SHA-256 is part of the anchor.
* ``anchor.txt`` — the ledger anchor (one line, then the grouped form printed on paper), to compare with
  the anchor page kept with the paper checkpoints: ``ceremony verify --anchor``.

The source is opened read-only; nothing is written to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ceremony.errors import LedgerError
from ceremony.ledger import events as ev
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.schema import Genesis
from ceremony.ledger.store import Ledger, translate

LEDGER_NAME = "ledger.sqlite3"
EVENTS_NAME = "events.jsonl"
CHECKPOINT_NAME = "checkpoint.txt"
ROOT_NAME = "root.pem"
ANCHOR_NAME = "anchor.txt"


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    ledger: Path
    events_jsonl: Path
    events: int
    checkpoint: Checkpoint | None


def export_ledger(ledger_path: str | Path, out_dir: str | Path) -> ExportResult:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    copy_path, jsonl_path, cp_path = out / LEDGER_NAME, out / EVENTS_NAME, out / CHECKPOINT_NAME
    root_path, anchor_path = out / ROOT_NAME, out / ANCHOR_NAME
    for target in (copy_path, jsonl_path, cp_path, root_path, anchor_path):
        if target.exists():
            raise LedgerError(f"{target} already exists; export into an empty folder.")
    with Ledger.open_for_reading(ledger_path) as source:
        try:
            dest = sqlite3.connect(copy_path, isolation_level=None)
            try:
                source.connection.backup(dest)
                dest.execute("PRAGMA secure_delete = ON")
                dest.execute("PRAGMA journal_mode = DELETE")
                dest.execute("DELETE FROM keystore")
                dest.execute("DELETE FROM root_keys")
                dest.execute("VACUUM")
            finally:
                dest.close()
        except sqlite3.Error as exc:
            copy_path.unlink(missing_ok=True)
            raise translate(exc, copy_path, writing=True) from None

    count = 0
    with Ledger.open(copy_path, read_only=True) as copy:
        tmp = jsonl_path.with_suffix(".jsonl.partial")
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for event in copy.events():
                if event.type == ev.LEDGER_GENESIS:
                    genesis = event.record
                    assert isinstance(genesis, Genesis)
                    root_path.write_text(genesis.root_certificate_pem, encoding="ascii")
                    anchor = Anchor(genesis.ledger_id, event.hash, genesis.root_cert_sha256)
                    anchor_path.write_text(
                        anchor.text() + "\n\n" + "\n".join(anchor.grouped()) + "\n", encoding="ascii"
                    )
                fh.write(
                    json.dumps(event.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                )
                fh.write("\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(jsonl_path)
        checkpoint = copy.checkpoint() if count else None
    if checkpoint is not None:
        cp_path.write_text(checkpoint.text() + "\n", encoding="ascii")
    return ExportResult(out, copy_path, jsonl_path, count, checkpoint)
