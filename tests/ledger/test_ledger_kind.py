"""Test and production keys never share a ledger (PCI DSS 3.6.1.1), enforced by the writer and by verify."""

from __future__ import annotations

import sqlite3

import pytest

from ceremony.errors import LedgerIntegrityError, RehearsalMixError
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def _key(key_id: str, test_key: bool) -> dict[str, object]:
    return {
        "key_id": key_id,
        "key_type": "AES-256",
        "length": 32,
        "label": "ZMK",
        "usage": "PIN zone",
        "kcv_hex": "d77f007724",
        "kcv_method": "AES-CMAC-X9.24",
        "cryptoperiod_days": 365,
        "test_key": test_key,
    }


@pytest.mark.parametrize("rehearsal", [False, True])
def test_writer_refuses_the_other_kind_of_key(tmp_path, rehearsal):
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path, create=True, rehearsal=rehearsal) as ledger:
        ledger.append("key.registered", _key("K000000001", test_key=rehearsal), ["P000000001"])
        with pytest.raises(RehearsalMixError, match=r"3\.6\.1\.1"):
            ledger.append("key.registered", _key("K000000002", test_key=not rehearsal), ["P000000001"])
        assert ledger.size() == 1
    verify_ledger(path)


def test_verify_catches_a_flipped_ledger_kind(tmp_path):
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path, create=True, rehearsal=True) as ledger:
        ledger.append("key.registered", _key("K000000001", test_key=True), ["P000000001"])
    # The attacker can edit the file: drop the meta table's triggers, flip the flag, put the triggers back.
    conn = sqlite3.connect(path)
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name='meta'"
    ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'rehearsal'")
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()
    with pytest.raises(LedgerIntegrityError) as fault:
        verify_ledger(path)
    assert fault.value.seq == 1
