"""Ledger files that cannot be used (issue 3, reliability): not SQLite, not a ledger, newer or older format,
locked by another writer, read-only. Each gives its own clear error and the file is left byte-for-byte
unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ledger"))
from ledger_support import TestSigner, found, founding, person

from ceremony.errors import LedgerBusyError, LedgerFormatError, LedgerReadOnlyError
from ceremony.ledger.store import APPLICATION_ID, FORMAT_VERSION, Ledger
from ceremony.ledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parents[2]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _ledger(path: Path) -> Path:
    """A founded ledger: one event, its genesis, signed by the founding officer."""
    with Ledger.open(path, create=True) as ledger:
        found(ledger, person(1))
    return path


def _founder(ledger: Ledger) -> TestSigner:
    return founding(ledger).founder


def _one_more(ledger: Ledger, attempt: int = 1) -> None:
    """A valid event signed by one person (the founder): only the file can refuse it."""
    founder = _founder(ledger)
    ledger.append(
        "auth.failed",
        {"person_id": founder.person_id, "attempt": attempt, "role": "security_officer"},
        [],
        [founder],
    )


@pytest.mark.parametrize(
    "content",
    [b"hello, this is a text file\n" * 40, os.urandom(4096), b"SQLite format 3\x00" + b"\xff" * 200],
    ids=["text", "random", "damaged-header"],
)
@pytest.mark.parametrize("create", [False, True])
def test_not_sqlite(tmp_path: Path, content: bytes, create: bool) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(content)
    before = _digest(path)
    with pytest.raises(LedgerFormatError, match="not a ceremony ledger"):
        Ledger.open(path, create=create)
    with pytest.raises(LedgerFormatError):
        verify_ledger(path)
    assert _digest(path) == before
    assert _siblings(path) == ["ledger.sqlite3"]


def test_other_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER, amount INTEGER)")
    conn.commit()
    conn.close()
    before = _digest(path)
    for create in (False, True):
        with pytest.raises(LedgerFormatError, match="SQLite database but not a ceremony ledger"):
            Ledger.open(path, create=create)
    assert _digest(path) == before


def test_empty_file_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"")
    for create in (False, True):  # an existing file is never turned into a ledger
        with pytest.raises(LedgerFormatError, match="is empty"):
            Ledger.open(path, create=create)
    assert path.read_bytes() == b""


def test_newer_format_version(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "ledger.sqlite3")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    conn.commit()
    conn.close()
    before = _digest(path)
    for kwargs in ({}, {"read_only": True}, {"create": True}):
        with pytest.raises(LedgerFormatError, match=f"format {FORMAT_VERSION + 1}.*newer version"):
            Ledger.open(path, **kwargs)
    with pytest.raises(LedgerFormatError, match="newer version"):
        verify_ledger(path)
    assert _digest(path) == before
    assert _siblings(path) == ["ledger.sqlite3"]
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_older_format_version(tmp_path: Path) -> None:
    """A ledger of format 1 (before every event was signed under its rule, with no signed genesis) is
    refused by name; there is no migration."""
    path = _ledger(tmp_path / "ledger.sqlite3")
    conn = sqlite3.connect(path, isolation_level=None)
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'meta'"
    ).fetchall()
    assert len(triggers) == 2
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")
    conn.execute("PRAGMA user_version = 1")
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()
    before = _digest(path)
    for kwargs in ({}, {"read_only": True}, {"create": True}):
        with pytest.raises(LedgerFormatError, match="ledger of format 1, written by an earlier version"):
            Ledger.open(path, **kwargs)
    with pytest.raises(LedgerFormatError, match=f"format 1.*reads format {FORMAT_VERSION} only"):
        verify_ledger(path)
    assert _digest(path) == before
    assert _siblings(path) == ["ledger.sqlite3"]


def test_locked_by_another_writer(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "ledger.sqlite3")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        before = _digest(path)
        with Ledger.open(path, busy_timeout=0.2) as ledger:
            assert ledger.size() == 1  # reading still works
            with pytest.raises(LedgerBusyError, match="another program"):
                _one_more(ledger)
        assert verify_ledger(path).events == 1
        assert _digest(path) == before
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Ledger.open(path) as ledger:  # once released, writing works again
        _one_more(ledger)
        assert ledger.size() == 2
    assert verify_ledger(path).events == 2


def test_opened_read_only(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "ledger.sqlite3")
    before = _digest(path)
    with Ledger.open(path, read_only=True) as ledger:
        with pytest.raises(LedgerReadOnlyError):
            _one_more(ledger)
        assert ledger.size() == 1
    assert _digest(path) == before and _siblings(path) == ["ledger.sqlite3"]


# The child signs as the founder (their key handed over in the environment, PEM): a valid event, so only the
# file's permissions can refuse it.
_AS_OTHER_USER = r"""
import os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ceremony.errors import LedgerReadOnlyError
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

class Founder:
    person_id = os.environ["CEREMONY_TEST_SIGNER"]
    key = serialization.load_pem_private_key(os.environ["CEREMONY_TEST_SIGNER_KEY"].encode(), None)
    def sign(self, data):
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

path = sys.argv[1]
with Ledger.open(path) as ledger:
    assert ledger.size() == 1
    try:
        founder = Founder()
        payload = {"person_id": founder.person_id, "attempt": 1, "role": "security_officer"}
        ledger.append("auth.failed", payload, [], [founder])
    except LedgerReadOnlyError as exc:
        print("refused:", exc)
    else:
        print("WROTE")
print("verified", verify_ledger(path).events)
"""


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_file_or_folder(what: str) -> None:
    """File mode 0444 (or folder 0555): reads work, a write is refused, nothing changes. Root ignores file
    modes, so as root the child process runs without the capabilities that bypass them (setpriv)."""
    folder = Path(tempfile.mkdtemp(prefix="ceremony-ro-"))
    try:
        folder.chmod(0o755)
        path = _ledger(folder / "ledger.sqlite3")
        with Ledger.open(path, read_only=True) as ledger:
            founder = _founder(ledger)
        key_pem = founder.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        path.chmod(0o444 if what == "file" else 0o644)
        if what == "folder":
            folder.chmod(0o555)
        before = _digest(path)
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: file modes cannot be enforced")
            prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown"]
        out = subprocess.run(
            [*prefix, sys.executable, "-c", _AS_OTHER_USER, str(path)],
            capture_output=True,
            text=True,
            env=dict(
                os.environ,
                PYTHONPATH=str(ROOT),
                CEREMONY_TEST_SIGNER=founder.person_id,
                CEREMONY_TEST_SIGNER_KEY=key_pem,
            ),
            cwd="/",
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert "refused: The ledger ledger.sqlite3 cannot be written" in out.stdout
        assert "verified 1" in out.stdout
        assert _digest(path) == before
        assert _siblings(path) == ["ledger.sqlite3"]
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
