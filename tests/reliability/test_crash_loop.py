"""Crash loop (issue 3, reliability): a writer SIGKILLed at random points never loses an acknowledged event.

The writer (this file run as a script) opens the ledger — founding it on the first run: the genesis, signed by
a security officer, with the ledger root sealed to them — enrolls a fresh signer under dual control (the
officer, a second person and the new one), and appends events as fast as it can, each signed under its rule
(``auth.failed``, one signer); after each ``append()`` returns (= COMMIT done, the event is acknowledged) it
prints ``seq hash``. The officer's and the second person's keys are derived from fixed numbers, so every run
can sign as them; the root key is opened from the ``root_keys`` row sealed to the officer, as the product
does. The test kills it with SIGKILL after a random delay — during start-up, inside a write transaction,
between transactions — then checks that ``verify`` passes (it first lets SQLite roll back the
interrupted transaction) and that every event ever acknowledged is still there with the same hash.

25 kills by default (about 15 s); CEREMONY_RELIABILITY_FULL=1 for 200.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

FULL = os.environ.get("CEREMONY_RELIABILITY_FULL") == "1"
KILLS = 200 if FULL else 25
HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
OFFICER_SECRET, SECOND_SECRET = 0x0C0FFEE1, 0x0C0FFEE2  # fixed P-256 private values: test keys only


def writer(path: str) -> None:
    sys.path.insert(0, str(HERE.parent.parent / "ledger"))
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from ledger_support import TestSigner

    from ceremony.crypto.identity import UnlockedIdentity
    from ceremony.crypto.ids import new_id
    from ceremony.crypto.ledger_root import create_root, open_root
    from ceremony.ledger import participants as people
    from ceremony.ledger.store import Ledger

    officer = TestSigner(
        "P000000001", "Olga Officer", key=ec.derive_private_key(OFFICER_SECRET, ec.SECP256R1())
    )
    second = TestSigner(
        "P000000002", "Walt Witness", key=ec.derive_private_key(SECOND_SECRET, ec.SECP256R1())
    )
    with Ledger.open(path, create=True) as ledger:
        if not ledger.size():
            root = create_root("Crash Loop Ltd", ledger.ledger_id, rehearsal=False)
            cert = root.issue(officer.key.public_key(), officer.name, "E-1")
            people.found(
                ledger,
                organisation="Crash Loop Ltd",
                name=officer.name,
                employee_id="E-1",
                certificate=cert,
                key_blob=b"not used here",
                root_certificate=root.certificate,
                root_key_blob=root.seal_for(cert),
                founder=officer,
                roles=("security_officer", "witness"),
            )
            root.close()
        genesis = people.genesis(ledger)
        officer.certificate = x509.load_pem_x509_certificate(genesis.certificate_pem.encode())
        root_certificate = x509.load_pem_x509_certificate(genesis.root_certificate_pem.encode())
        sealed = ledger.root_key_blob(officer.person_id)
        assert sealed is not None
        with open_root(sealed, root_certificate, UnlockedIdentity(officer.certificate, officer.key)) as root:

            def enroll(who: TestSigner, employee_id: str, signers: list[TestSigner]) -> None:
                certificate = root.issue(who.key.public_key(), who.name, employee_id)
                people.enroll(
                    ledger,
                    name=who.name,
                    employee_id=employee_id,
                    roles=("custodian", "witness"),
                    certificate=certificate,
                    key_blob=b"not used here",
                    signers=signers,
                    person_id=who.person_id,
                )

            if second.person_id not in {p.person_id for p in people.participants(ledger)}:
                enroll(second, "E-2", [officer, second])  # the first enrolment: officer + new person
            person_id = new_id()
            signer = TestSigner(person_id, f"Writer {person_id}")
            enroll(signer, f"E-{signer.person_id}", [officer, second, signer])
        n = 0
        while True:
            event = ledger.append(
                "auth.failed",
                {"person_id": signer.person_id, "attempt": n % 1000 + 1, "role": "custodian"},
                [],
                [signer],
            )
            print(event.seq, event.hash.hex(), flush=True)
            n += 1


def test_sigkilled_writer_never_loses_acknowledged_events(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import pytest

    from ceremony.errors import LedgerIntegrityError
    from ceremony.ledger.store import Ledger
    from ceremony.ledger.verify import verify_ledger

    path = tmp_path / "ledger.sqlite3"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: dict[int, str] = {}
    interrupted_writes = 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, str(HERE), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        time.sleep(rng.uniform(0.12, 0.6))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
        for line in out.decode().splitlines(keepends=True):
            if line.endswith("\n"):
                seq, digest = line.split()
                acknowledged[int(seq)] = digest
        if Path(str(path) + "-journal").exists():
            interrupted_writes += 1
        if not path.exists():
            continue  # killed before the ledger was created
        with Ledger.open_for_reading(path) as ledger:
            if not ledger.size():  # killed after the file was created, before its genesis was committed
                assert not acknowledged
                with pytest.raises(LedgerIntegrityError, match="not even its genesis"):
                    verify_ledger(path)
                continue
        result = verify_ledger(path)
        assert result.events >= max(acknowledged, default=0)
        with Ledger.open(path, read_only=True) as ledger:
            stored = {e.seq: e.hash.hex() for e in ledger.events()}
        lost = {seq for seq, digest in acknowledged.items() if stored.get(seq) != digest}
        assert not lost, f"acknowledged events lost or changed: {sorted(lost)[:10]}"
    assert len(acknowledged) > KILLS  # the writer did get work done between kills
    print(
        f"\ncrash loop: {KILLS} SIGKILLs, {len(acknowledged)} acknowledged events, all present; "
        f"{interrupted_writes} kills left an interrupted write (rolled back); verify passed every time"
    )


if __name__ == "__main__":
    writer(sys.argv[1])
