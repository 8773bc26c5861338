"""Participants: enrollment with the certificate in the chain and the key in the keystore; duplicates
refused; deactivation is an event, never a deletion."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ledger_support import TestSigner, enroll_signer, person, stepping_clock

from ceremony.errors import DuplicateEnrollmentError, IdentityError
from ceremony.ledger import events as ev
from ceremony.ledger.participants import deactivate, enroll, participant, participants
from ceremony.ledger.store import Attester, Ledger
from ceremony.ledger.verify import verify_ledger


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.sqlite3", create=True, clock=stepping_clock()) as opened:
        yield opened


def _keystore_rows(ledger: Ledger) -> list[tuple]:
    conn = sqlite3.connect(ledger.path)
    try:
        return conn.execute("SELECT person_id, blob, cert_sha256 FROM keystore ORDER BY person_id").fetchall()
    finally:
        conn.close()


def test_enrollment_records_certificate_and_stores_key_blob_apart(ledger: Ledger) -> None:
    alice = person(1, "Alice Adams")
    recorded = enroll_signer(ledger, alice, "E-042", ("custodian", "witness"))
    fingerprint = hashlib.sha256(alice.certificate.public_bytes(Encoding.DER)).hexdigest()
    assert recorded.cert_sha256 == fingerprint
    assert recorded.certificate == alice.certificate
    assert recorded.roles == ("custodian", "witness") and recorded.active
    (event,) = list(ledger.events())
    assert event.type == ev.PARTICIPANT_ENROLLED
    assert event.payload["cert_sha256"] == fingerprint
    assert "blob" not in event.payload_json  # the key never enters the chain
    assert _keystore_rows(ledger) == [
        (alice.person_id, b"encrypted-key-blob-of-" + alice.person_id.encode(), fingerprint)
    ]
    assert ledger.key_blob(alice.person_id) == (
        b"encrypted-key-blob-of-" + alice.person_id.encode(),
        fingerprint,
    )


@pytest.mark.parametrize("second_id", ["E-042", "e-042", " E-042 ", "E\u2010042".replace("\u2010", "-")])
def test_same_employee_id_cannot_be_enrolled_twice(ledger: Ledger, second_id: str) -> None:
    enroll_signer(ledger, person(1), "E-042")
    with pytest.raises(DuplicateEnrollmentError, match="already enrolled"):
        enroll_signer(ledger, person(2), second_id)
    assert ledger.size() == 1
    assert len(_keystore_rows(ledger)) == 1  # the keystore row went with the refused event


def test_employee_id_stays_taken_after_deactivation(ledger: Ledger) -> None:
    alice, bob = person(1), person(2)
    enroll_signer(ledger, alice, "E-1")
    enroll_signer(ledger, bob, "E-2")
    deactivate(ledger, alice.person_id, "left the company", [bob.person_id], [bob])
    with pytest.raises(DuplicateEnrollmentError):
        enroll_signer(ledger, person(3), "E-1")
    with pytest.raises(DuplicateEnrollmentError):
        enroll_signer(ledger, alice, "E-9")  # same person id


def test_deactivation_is_an_event_not_a_deletion(ledger: Ledger) -> None:
    alice, bob = person(1), person(2)
    enroll_signer(ledger, alice, "E-1")
    enroll_signer(ledger, bob, "E-2")
    event = deactivate(ledger, alice.person_id, "changed role", [bob.person_id], [bob])
    assert event.type == ev.PARTICIPANT_DEACTIVATED and event.seq == 3
    people = participants(ledger)
    assert [p.person_id for p in people] == [alice.person_id, bob.person_id]
    assert participant(ledger, alice.person_id).deactivated_seq == 3
    assert participant(ledger, bob.person_id).active
    assert next(e.type for e in ledger.events()) == ev.PARTICIPANT_ENROLLED
    assert _keystore_rows(ledger)[0][0] == alice.person_id
    with pytest.raises(IdentityError, match="deactivated"):
        deactivate(ledger, alice.person_id, "again", [bob.person_id])
    assert verify_ledger(ledger.path).active_participants == 1


def test_certificate_must_match_fingerprint_and_be_p256(ledger: Ledger) -> None:
    alice = person(1)
    payload = {
        "person_id": alice.person_id,
        "name": "Alice",
        "employee_id": "E-1",
        "roles": ["custodian"],
        "certificate_pem": alice.certificate.public_bytes(Encoding.PEM).decode(),
        "cert_sha256": "0" * 64,
    }
    with pytest.raises(IdentityError, match="fingerprint"):
        ledger.append(ev.PARTICIPANT_ENROLLED, payload, [alice.person_id])
    from cryptography.hazmat.primitives.asymmetric import ec

    other = TestSigner("P000000009", "Curve", key=ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(IdentityError, match="P-256"):
        enroll_signer(ledger, other, "E-9")
    assert ledger.size() == 0


def test_with_real_identities_from_crypto_identity(ledger: Ledger) -> None:
    identity = pytest.importorskip("ceremony.crypto.identity")
    from ceremony.crypto.secret import SecretBytes

    fast = identity.ScryptParams(log2_n=10, r=8)  # test speed only; production uses DEFAULT_KDF
    passphrase = SecretBytes(bytearray(b"correct horse battery staple"))
    cert, blob = identity.enroll_identity("Alice Adams", "E-042", passphrase, kdf=fast)
    recorded = enroll(
        ledger, name="Alice Adams", employee_id="E-042", roles=["custodian"], certificate=cert, key_blob=blob
    )
    stored_blob, fingerprint = ledger.key_blob(recorded.person_id)
    unlocked = identity.unlock(stored_blob, recorded.certificate, passphrase)
    ledger.append(
        "ceremony.note", {"text": "present"}, [recorded.person_id], [Attester(recorded.person_id, unlocked)]
    )
    assert fingerprint == recorded.cert_sha256
    assert verify_ledger(ledger.path).attestations == 1
