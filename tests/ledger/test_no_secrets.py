"""No key material, share, passphrase or private signing key is ever written (DESIGN §2, issue 3 item 2).

A full split-and-assign runs against a real ledger: a ledger root sealed to the founding officer, identities
issued by it and enrolled under passphrases (dual control), a random AES-256
key registered by KCV, split 2-of-3 with pyshamir, share commitments recorded, each share assigned, shown
and entered with signatures. Then the database file, every journal file seen during the writes, and the
temp directories are scanned for every secret in raw, hex (both cases) and base64 form.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import tempfile
import time
from pathlib import Path

import pyshamir
import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ceremony.crypto.ledger_root import create_root
from ceremony.crypto.secret import SecretBytes
from ceremony.ledger import events as ev
from ceremony.ledger.participants import enroll, found
from ceremony.ledger.store import Attester, Ledger
from ceremony.ledger.verify import verify_ledger

identity = pytest.importorskip("ceremony.crypto.identity")
FAST_KDF = identity.ScryptParams(log2_n=10, r=8)  # test speed only


def _forms(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def _scan(data: bytes, secrets: list[bytes]) -> list[int]:
    return [i for i, s in enumerate(secrets) if any(form in data for form in _forms(s))]


def _commitment(split_id: str, number: int, share: bytes) -> str:
    tag = b"ceremony.share.commitment.v1"
    return hashlib.sha256(
        struct.pack(">I", len(tag)) + tag + split_id.encode() + struct.pack(">B", number) + share
    ).hexdigest()


def test_split_and_assign_leaves_no_secret_anywhere(tmp_path: Path, monkeypatch) -> None:
    started = time.time()
    sqlite_tmp = tmp_path / "sqlite-tmp"
    sqlite_tmp.mkdir()
    monkeypatch.setenv("SQLITE_TMPDIR", str(sqlite_tmp))
    path = tmp_path / "ledger.sqlite3"
    journals: list[bytes] = []

    def snapshot_journal(_conn: object) -> None:
        for suffix in ("-journal", "-wal"):
            j = Path(str(path) + suffix)
            if j.exists():
                journals.append(j.read_bytes())

    secrets: list[bytes] = []
    cast = [
        ("Olga Officer", ("security_officer", "witness")),
        ("Ada Admin", ("administrator",)),
        ("Carl Custodian", ("custodian",)),
        ("Cora Custodian", ("custodian",)),
        ("Walt Witness", ("custodian", "witness")),
    ]
    with Ledger.open(path, create=True) as ledger:
        # The ledger root (a P-256 CA): its key is sealed to the founding officer, never stored in clear.
        root = create_root("Test Payments Ltd", ledger.ledger_id, rehearsal=False)
        root_key = root._private_key()
        secrets.append(root_key.private_numbers().private_value.to_bytes(32, "big"))
        secrets.append(root_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
        people: list[Attester] = []
        for i, (name, roles) in enumerate(cast):
            passphrase = SecretBytes(bytearray(os.urandom(12).hex().encode()))
            secrets.append(bytes(passphrase.view()))
            signing_key = identity.new_signing_key()
            cert = root.issue(signing_key.public_key(), name, f"E-{i}")
            blob = identity.seal_identity(signing_key, cert, passphrase, kdf=FAST_KDF)
            newcomer = Attester(f"P{i + 1:09d}", identity.UnlockedIdentity(cert, signing_key))
            if i == 0:  # the genesis, signed by the founding security officer
                who = found(
                    ledger,
                    organisation="Test Payments Ltd",
                    name=name,
                    employee_id=f"E-{i}",
                    certificate=cert,
                    key_blob=blob,
                    root_certificate=root.certificate,
                    root_key_blob=root.seal_for(cert),
                    founder=newcomer,
                    roles=roles,
                )
            else:  # dual control: the officer, the second person (from the second enrolment on), the new one
                who = enroll(
                    ledger,
                    name=name,
                    employee_id=f"E-{i}",
                    roles=roles,
                    certificate=cert,
                    key_blob=blob,
                    signers=[*people[:1], *people[1:2], newcomer],
                    person_id=newcomer.person_id,
                )
            unlocked = identity.unlock(ledger.key_blob(who.person_id)[0], who.certificate, passphrase)
            key = unlocked.private_key
            secrets.append(key.private_numbers().private_value.to_bytes(32, "big"))
            secrets.append(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
            people.append(Attester(who.person_id, unlocked))
        root.close()
        officer, admin, c1, c2, witness = people

        clear_key = SecretBytes(bytearray(os.urandom(32)))
        secrets.append(bytes(clear_key.view()))
        mac = cmac.CMAC(algorithms.AES(bytes(clear_key.view())))
        mac.update(bytes(16))
        kcv = mac.finalize()[:5].hex()  # AES KCV, X9.24-1: public, 5 bytes
        shares = pyshamir.split(bytes(clear_key.view()), 3, 2)
        secrets.extend(bytes(s) for s in shares)
        split = {
            "ceremony_id": "CER0000001",
            "key_id": "KEY0000001",
            "split_id": "SPL0000001",
            "scheme": "shamir",
            "threshold": 2,
            "shares": 3,
            "commitments": {str(n): _commitment("SPL0000001", n, bytes(s)) for n, s in enumerate(shares, 1)},
        }
        pair = [admin, witness]
        ids = [p.person_id for p in pair]
        opening = {
            "ceremony_id": "CER0000001",
            "kind": "generation",
            "purpose": "generate ZMK",
            "rehearsal": False,
        }
        ledger._append(ev.CEREMONY_STARTED, opening, ids, pair, snapshot_journal)
        key_payload = {
            "ceremony_id": "CER0000001",
            "key_id": "KEY0000001",
            "key_type": "AES-256",
            "label": "ZMK",
            "usage": "ZMK",
            "kcv_hex": kcv,
            "kcv_method": "AES-CMAC-X9.24",
            "cryptoperiod_days": 365,
            "test_key": False,
        }
        ledger._append(ev.KEY_REGISTERED, key_payload, ids, pair, snapshot_journal)
        ledger._append(ev.SPLIT_CREATED, split, ids, pair, snapshot_journal)
        # Each share: its custodian and a witness sign (Walt's own share is witnessed by Olga).
        for number, holder, watcher in ((1, c1, witness), (2, c2, witness), (3, witness, officer)):
            for kind in ("assigned", "shown", "entered"):
                payload = {
                    "ceremony_id": "CER0000001",
                    "person_id": holder.person_id,
                    "split_id": "SPL0000001",
                    "share_number": number,
                    "kind": kind,
                }
                ledger._append(
                    ev.SHARE_EXPOSED,
                    payload,
                    [holder.person_id, watcher.person_id],
                    [holder, watcher],
                    snapshot_journal,
                )
        clear_key.wipe()

    assert verify_ledger(path).events == 5 + 3 + 9
    assert journals, "the journal snapshots must have seen the rollback journal of at least one write"

    scanned: dict[str, bytes] = {"ledger": path.read_bytes()}
    scanned.update({f"journal {i}": data for i, data in enumerate(journals)})
    for folder in (tmp_path, sqlite_tmp, Path(tempfile.gettempdir())):
        for entry in folder.iterdir():
            try:
                if (
                    entry.is_file()
                    and entry.stat().st_mtime >= started - 1
                    and entry.stat().st_size < 50_000_000
                ):
                    scanned[str(entry)] = entry.read_bytes()
            except OSError:
                continue
    for where, data in scanned.items():
        assert _scan(data, secrets) == [], f"a secret was found in {where}"

    # The scan itself can fail: a file holding one share in base64 is caught.
    planted = base64.b64encode(bytes(shares[1]))
    assert _scan(b"xx" + planted + b"yy", secrets) == [secrets.index(bytes(shares[1]))]
    # And the enrolled certificates / key blobs are there (we scanned the right file).
    assert b"BEGIN CERTIFICATE" in scanned["ledger"]
