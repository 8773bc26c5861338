"""A bundle manifest signed by a security officer who was deactivated is refused (issue: trust the record):
the ex-officer's key still signs bytes, but the ledger in the bundle says they left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flows"))

from flow_support import FAST_KDF, make_cast, passphrase_of

from ceremony.crypto.identity import unlock
from ceremony.flows.enrolment import Enrolment
from ceremony.flows.presence import Presence
from ceremony.ledger import participants
from ceremony.ledger.export import export_ledger
from ceremony.reports.bundle import OfficerSigner, write_manifest, write_reports


def test_a_manifest_signed_by_a_deactivated_officer_is_refused(tmp_path: Path) -> None:
    cast = make_cast(tmp_path)
    ledger = cast.ledger
    sophie = cast.present("sophie", "security_officer")
    alice = cast.present("alice", "administrator")
    olga = Enrolment(ledger, sophie, alice, kdf=FAST_KDF).enroll(
        "Olga", "E0099", ("security_officer",), passphrase_of("olga")
    )
    sophie.leave()
    alice.leave()
    witness = cast.present("walter", "witness")
    officer = Presence(ledger).authenticate(olga.person_id, passphrase_of("olga"), "security_officer")
    signers = [officer, witness]
    participants.deactivate(ledger, cast.ids["sophie"], "left", [s.person_id for s in signers], signers)
    # Sophie's key still opens with her passphrase (the keystore keeps it): she signs a manifest anyway.
    blob, _ = ledger.key_blob(cast.ids["sophie"]) or (b"", "")
    gone = participants.participant(ledger, cast.ids["sophie"])
    identity = unlock(blob, gone.certificate, passphrase_of("sophie"))
    ledger.close()
    bundle = tmp_path / "bundle"
    export_ledger(ledger.path, bundle)
    write_reports(bundle / "ledger.sqlite3", bundle)
    write_manifest(bundle, OfficerSigner(cast.ids["sophie"], identity))
    done = subprocess.run(
        [sys.executable, "-m", "ceremony", "verify", "--bundle", str(bundle)], capture_output=True, text=True
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "deactivated at event #" in done.stderr
    # The same bundle signed by the active officer Olga passes.
    (bundle / "manifest.json").unlink()
    (bundle / "manifest.sig").unlink()
    write_manifest(bundle, OfficerSigner(olga.person_id, officer.identity))
    done = subprocess.run(
        [sys.executable, "-m", "ceremony", "verify", "--bundle", str(bundle)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
