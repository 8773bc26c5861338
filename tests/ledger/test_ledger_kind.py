"""Test and production keys never share a ledger (PCI DSS 3.6.1.1), enforced by the writer and by verify."""

from __future__ import annotations

import sqlite3

import pytest
from ledger_support import enroll_signer, found, person, start_ceremony

from ceremony.errors import LedgerIntegrityError, RehearsalMixError
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def _crew(ledger: Ledger) -> list:
    """Genesis (officer, also a witness), an administrator, ceremony CER0000001: who signs key.registered."""
    officer, admin = person(1), person(2)
    found(ledger, officer)
    enroll_signer(ledger, admin, "E-2", ("administrator",))
    start_ceremony(ledger, admin, officer)
    return [admin, officer]


def _register(ledger: Ledger, signers: list, key_id: str, test_key: bool):  # type: ignore[no-untyped-def]
    return ledger.append("key.registered", _key(key_id, test_key), [signers[0].person_id], signers)


def _key(key_id: str, test_key: bool) -> dict[str, object]:
    return {
        "ceremony_id": "CER0000001",
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
        signers = _crew(ledger)
        _register(ledger, signers, "K000000001", test_key=rehearsal)
        with pytest.raises(RehearsalMixError, match=r"3\.6\.1\.1"):
            _register(ledger, signers, "K000000002", test_key=not rehearsal)
        assert ledger.size() == 4
    assert verify_ledger(path).keys == 1


def test_verify_catches_a_flipped_ledger_kind(tmp_path):
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path, create=True, rehearsal=True) as ledger:
        _register(ledger, _crew(ledger), "K000000001", test_key=True)
    assert verify_ledger(path).rehearsal is True
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
    with pytest.raises(LedgerIntegrityError, match="the genesis says the ledger is a rehearsal") as fault:
        verify_ledger(path)
    assert fault.value.seq == 1  # the signed genesis records the kind; the file's label is only a cache
