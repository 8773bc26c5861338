"""`ceremony verify --document FILE.pdf`: which ledger event issued this paper, and was it altered?"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flows"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flow_support import make_cast

from ceremony.documents.render import render_acknowledgement
from ceremony.documents.sign import sign_document
from tests.documents.samples import acknowledgement_data


def _verify(ledger: Path, document: Path) -> tuple[int, dict]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ceremony",
            "verify",
            "--ledger",
            str(ledger),
            "--document",
            str(document),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    return out.returncode, json.loads(out.stdout)


def _issue(tmp_path: Path) -> tuple[Path, Path, int]:
    cast = make_cast(tmp_path)
    custodian = cast.present("cust1", "custodian")
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    cast.ledger.append(
        "ceremony.started",
        {"ceremony_id": "C7QK3M0D4X", "kind": "generation", "purpose": "ZMK generation", "rehearsal": False},
        [admin.person_id, witness.person_id],
        [admin, witness],
    )
    pdf = sign_document(
        render_acknowledgement(acknowledgement_data()),
        custodian.identity.private_key,
        custodian.identity.certificate,
        field_name="Custodian",
        reason="PCI DSS 3.7.8 acknowledgement",
    )
    # Recorded by the person who signed the PDF, and a witness (every document record has two signers).
    event = cast.ledger.append(
        "document.issued",
        {
            "kind": "acknowledgement",
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "subject": custodian.person_id,
            "signed_by": [custodian.person_id],
            "ceremony_id": "C7QK3M0D4X",
            "file_name": "ack.pdf",
        },
        [custodian.person_id],
        [custodian, witness],
    )
    for person in (custodian, admin, witness):
        person.leave()
    path = tmp_path / "ack.pdf"
    path.write_bytes(pdf)
    cast.ledger.close()
    return cast.ledger.path, path, event.seq


def test_issued_document_is_found_and_its_signature_valid(tmp_path):
    ledger, pdf, seq = _issue(tmp_path)
    code, report = _verify(ledger, pdf)
    assert code == 0, report
    doc = report["document"]
    assert doc["event_seq"] == seq and doc["kind"] == "acknowledgement"
    assert [s["ok"] for s in doc["signatures"]] == [True]
    text = subprocess.run(
        [sys.executable, "-m", "ceremony", "verify", "--ledger", str(ledger), "--document", str(pdf)],
        capture_output=True,
        text=True,
    )
    assert f"event #{seq} issued this acknowledgement" in text.stdout


def test_altered_document_is_not_recorded_and_exit_4(tmp_path):
    ledger, pdf, _ = _issue(tmp_path)
    data = bytearray(pdf.read_bytes())
    where = data.index(b"Custodian", len(data) // 3)  # a byte inside the signed content
    data[where] ^= 0x20
    pdf.write_bytes(bytes(data))
    code, report = _verify(ledger, pdf)
    assert code == 4
    assert report["document"]["event_seq"] is None
    assert not all(s["ok"] for s in report["document"]["signatures"])
