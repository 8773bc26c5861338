"""Participants: enrollment under dual control with a certificate issued by the ledger's root in the chain and
the key in the keystore; duplicates (employee id, public key, unconfirmed namesake) refused; deactivation and
role changes are events signed by a security officer and a witness, never deletions."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from ledger_support import (
    START,
    TestSigner,
    enroll_signer,
    found,
    founding,
    issue,
    person,
    start_ceremony,
    stepping_clock,
)

from ceremony.errors import DuplicateEnrollmentError, EventFormError, IdentityError, SigningRuleError
from ceremony.ledger import events as ev
from ceremony.ledger.participants import (
    change_roles,
    deactivate,
    enroll,
    participant,
    participants,
)
from ceremony.ledger.store import Attester, Ledger
from ceremony.ledger.verify import verify_ledger

OFFICER = "P000000009"


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.sqlite3", create=True, clock=stepping_clock()) as opened:
        yield opened


@pytest.fixture
def officer(ledger: Ledger) -> TestSigner:
    """The founding security officer (also a witness): the genesis is event #1 of every ledger here."""
    olga = person(9, "Olga Officer")
    found(ledger, olga, "E-000")
    return olga


def _keystore_rows(ledger: Ledger) -> list[tuple]:
    conn = sqlite3.connect(ledger.path)
    try:
        return conn.execute("SELECT person_id, blob, cert_sha256 FROM keystore ORDER BY person_id").fetchall()
    finally:
        conn.close()


def _blob(who: TestSigner) -> bytes:
    return b"encrypted-key-blob-of-" + who.person_id.encode()


def test_enrollment_records_certificate_and_stores_key_blob_apart(ledger: Ledger, officer) -> None:
    alice = person(1, "Alice Adams")
    recorded = enroll_signer(ledger, alice, "E-042", ("custodian", "witness"))
    fingerprint = hashlib.sha256(alice.certificate.public_bytes(Encoding.DER)).hexdigest()
    assert recorded.cert_sha256 == fingerprint
    assert recorded.certificate == alice.certificate
    assert recorded.certificate.issuer == founding(ledger).root.certificate.subject  # issued by the root
    assert recorded.roles == ("custodian", "witness") and recorded.active
    genesis, event = list(ledger.events())
    assert genesis.type == ev.LEDGER_GENESIS
    assert event.type == ev.PARTICIPANT_ENROLLED
    assert event.payload["cert_sha256"] == fingerprint
    assert event.attested_by == (alice.person_id, officer.person_id)  # officer + the new person
    assert "blob" not in event.payload_json  # the key never enters the chain
    founder_fingerprint = hashlib.sha256(officer.certificate.public_bytes(Encoding.DER)).hexdigest()
    assert _keystore_rows(ledger) == [
        (alice.person_id, _blob(alice), fingerprint),
        (officer.person_id, _blob(officer), founder_fingerprint),
    ]
    assert ledger.key_blob(alice.person_id) == (_blob(alice), fingerprint)


@pytest.mark.parametrize("second_id", ["E-042", "e-042", " E-042 ", "E\u2010042".replace("\u2010", "-")])
def test_same_employee_id_cannot_be_enrolled_twice(ledger: Ledger, officer, second_id: str) -> None:
    enroll_signer(ledger, person(1), "E-042")
    with pytest.raises(DuplicateEnrollmentError, match="already enrolled"):
        enroll_signer(ledger, person(2), second_id)
    assert ledger.size() == 2
    assert len(_keystore_rows(ledger)) == 2  # the keystore row went with the refused event


def test_employee_id_stays_taken_after_deactivation(ledger: Ledger, officer) -> None:
    alice, bob = person(1), person(2)
    enroll_signer(ledger, alice, "E-1")
    enroll_signer(ledger, bob, "E-2", ("custodian", "witness"))
    deactivate(
        ledger, alice.person_id, "left the company", [officer.person_id, bob.person_id], [officer, bob]
    )
    with pytest.raises(DuplicateEnrollmentError):
        enroll_signer(ledger, person(3), "E-1")
    with pytest.raises(DuplicateEnrollmentError):
        enroll_signer(ledger, alice, "E-9", second=bob)  # same person id


def test_deactivation_is_an_event_not_a_deletion(ledger: Ledger, officer) -> None:
    alice, bob = person(1), person(2)
    enroll_signer(ledger, alice, "E-1")
    enroll_signer(ledger, bob, "E-2", ("custodian", "witness"))
    event = deactivate(
        ledger, alice.person_id, "changed role", [officer.person_id, bob.person_id], [officer, bob]
    )
    assert event.type == ev.PARTICIPANT_DEACTIVATED and event.seq == 4
    people = participants(ledger)
    assert [p.person_id for p in people] == [officer.person_id, alice.person_id, bob.person_id]
    assert participant(ledger, alice.person_id).deactivated_seq == 4
    assert participant(ledger, bob.person_id).active
    assert [e.type for e in ledger.events()][:2] == [ev.LEDGER_GENESIS, ev.PARTICIPANT_ENROLLED]
    assert _keystore_rows(ledger)[0][0] == alice.person_id
    with pytest.raises(IdentityError, match="deactivated"):
        deactivate(ledger, alice.person_id, "again", [officer.person_id, bob.person_id], [officer, bob])
    assert verify_ledger(ledger.path).active_participants == 2


def test_deactivation_needs_a_security_officer_and_a_witness(ledger: Ledger, officer) -> None:
    alice, bob, carl = person(1), person(2), person(3)
    enroll_signer(ledger, alice, "E-1")
    enroll_signer(ledger, bob, "E-2", ("custodian", "witness"))
    enroll_signer(ledger, carl, "E-3")
    size = ledger.size()
    for signers in ([officer], [bob], [carl, bob]):  # one person; no security officer among two
        with pytest.raises(SigningRuleError, match="security officer"):
            deactivate(ledger, alice.person_id, "left", [s.person_id for s in signers], signers)
    assert ledger.size() == size and participant(ledger, alice.person_id).active
    deactivate(ledger, alice.person_id, "left", [officer.person_id, bob.person_id], [officer, bob])
    assert not participant(ledger, alice.person_id).active


def test_certificate_must_match_fingerprint_and_be_p256(ledger: Ledger, officer) -> None:
    alice = person(1, "Alice")
    issue(ledger, alice, "E-1")
    payload = {
        "person_id": alice.person_id,
        "name": "Alice",
        "employee_id": "E-1",
        "roles": ["custodian"],
        "certificate_pem": alice.certificate.public_bytes(Encoding.PEM).decode(),
        "cert_sha256": "0" * 64,
    }
    with pytest.raises(IdentityError, match="fingerprint"):
        ledger.append(ev.PARTICIPANT_ENROLLED, payload, [alice.person_id], [officer, alice])

    # A P-384 key: the root refuses to issue for it, and the ledger refuses its certificate either way.
    other = TestSigner("P000000008", "Curve", key=ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(IdentityError, match="P-256"):
        enroll_signer(ledger, other, "E-8")
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "Curve"),
            x509.NameAttribute(x509.NameOID.SERIAL_NUMBER, "E-8"),
        ]
    )
    p384 = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(other.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START - dt.timedelta(days=1))
        .not_valid_after(START + dt.timedelta(days=3650))
        .sign(other.key, hashes.SHA256())
    )
    with pytest.raises(IdentityError, match="P-256"):
        enroll(
            ledger,
            name="Curve",
            employee_id="E-8",
            roles=["custodian"],
            certificate=p384,
            key_blob=b"blob",
            signers=[officer, other],
            person_id=other.person_id,
        )
    assert ledger.size() == 1


def test_certificate_not_issued_by_the_ledger_root_is_refused(ledger: Ledger, officer) -> None:
    """A self-signed certificate (the person's own key, correct name and employee id) is not enough."""
    identity = pytest.importorskip("ceremony.crypto.identity")
    from ceremony.crypto.ledger_root import create_root
    from ceremony.crypto.secret import SecretBytes

    fast = identity.ScryptParams(log2_n=10, r=8)  # test speed only
    passphrase = SecretBytes(bytearray(b"correct horse battery staple"))
    cert, blob = identity.enroll_identity("Alice Adams", "E-042", passphrase, kdf=fast)
    assert cert.issuer == cert.subject  # self-signed
    unlocked = identity.unlock(blob, cert, passphrase)
    with pytest.raises(IdentityError, match="not issued by this ledger's root"):
        enroll(
            ledger,
            name="Alice Adams",
            employee_id="E-042",
            roles=["custodian"],
            certificate=cert,
            key_blob=blob,
            signers=[officer, Attester("P000000001", unlocked)],
            person_id="P000000001",
        )
    # Nor is a certificate from another ledger's root (same organisation, same ledger id even).
    bob = person(2, "Bob Brown")
    other_root = create_root("Test Payments Ltd", ledger.ledger_id, rehearsal=False, now=START)
    bob.certificate = other_root.issue(bob.key.public_key(), bob.name, "E-2", now=START)
    with pytest.raises(IdentityError, match=r"(not issued by|valid signature of) this ledger's root"):
        enroll(
            ledger,
            name=bob.name,
            employee_id="E-2",
            roles=["custodian"],
            certificate=bob.certificate,
            key_blob=_blob(bob),
            signers=[officer, bob],
            person_id=bob.person_id,
        )
    assert ledger.size() == 1 and len(_keystore_rows(ledger)) == 1
    assert verify_ledger(ledger.path).participants == 1


def test_same_public_key_cannot_be_enrolled_twice(ledger: Ledger, officer) -> None:
    alice = person(1, "Alice Adams")
    enroll_signer(ledger, alice, "E-1")
    twin = TestSigner("P000000002", "Bob Brown", key=alice.key)  # another person, another id, same key
    with pytest.raises(DuplicateEnrollmentError, match="public key is already enrolled for P000000001"):
        enroll_signer(ledger, twin, "E-2")
    founders_key = TestSigner("P000000003", "Carl Clone", key=officer.key)
    with pytest.raises(DuplicateEnrollmentError, match=f"already enrolled for {officer.person_id}"):
        enroll_signer(ledger, founders_key, "E-3")
    assert ledger.size() == 2 and len(_keystore_rows(ledger)) == 2


def test_namesake_needs_confirmation_on_record(ledger: Ledger, officer) -> None:
    alice = person(1, "Alice Adams")
    enroll_signer(ledger, alice, "E-1")
    other_alice = person(2, "ALICE  adams")  # the same name, normalised (case, inner spaces)
    with pytest.raises(DuplicateEnrollmentError, match="same_name_confirmed"):
        enroll_signer(ledger, other_alice, "E-2")
    with pytest.raises(EventFormError, match="do not share this name"):
        enroll_signer(ledger, person(3, "Bob Brown"), "E-3", same_name_confirmed=[alice.person_id])
    assert ledger.size() == 2
    recorded = enroll_signer(ledger, other_alice, "E-2", same_name_confirmed=[alice.person_id])
    assert recorded.name == "ALICE  adams"
    assert list(ledger.events())[-1].payload["same_name_confirmed"] == [alice.person_id]
    # A third namesake must confirm both earlier ones.
    third = person(4, "Alice Adams")
    with pytest.raises(DuplicateEnrollmentError, match="same_name_confirmed"):
        enroll_signer(ledger, third, "E-4", same_name_confirmed=[alice.person_id])
    enroll_signer(ledger, third, "E-4", same_name_confirmed=[alice.person_id, other_alice.person_id])
    assert verify_ledger(ledger.path).participants == 4


def test_officer_and_new_person_alone_enrol_only_the_first_person(ledger: Ledger, officer) -> None:
    alice, bob = person(1), person(2)
    first = enroll_signer(ledger, alice, "E-1")  # nobody else yet: officer + new person
    assert first.enrolled_seq == 2
    certificate = issue(ledger, bob, "E-2")
    with pytest.raises(SigningRuleError, match="needs 3 different signers, has 2"):
        enroll(
            ledger,
            name=bob.name,
            employee_id="E-2",
            roles=["custodian"],
            certificate=certificate,
            key_blob=_blob(bob),
            signers=[officer, bob],
            person_id=bob.person_id,
        )
    assert ledger.size() == 2 and len(_keystore_rows(ledger)) == 2
    enroll_signer(ledger, bob, "E-2", second=alice)
    assert [e.attested_by for e in ledger.events()][-1] == (alice.person_id, bob.person_id, officer.person_id)


def test_enrolment_needs_a_security_officer(ledger: Ledger, officer) -> None:
    alice, bob, carl = person(1), person(2), person(3)
    enroll_signer(ledger, alice, "E-1", ("administrator",))
    enroll_signer(ledger, bob, "E-2")
    with pytest.raises(SigningRuleError, match="security officer"):
        enroll_signer(ledger, carl, "E-3", officer=alice, second=bob)
    assert ledger.size() == 3


def test_role_changes_take_effect_for_later_signatures(ledger: Ledger, officer) -> None:
    admin, bob, walt = person(1, "Ada Admin"), person(2, "Bob Custodian"), person(3, "Walt Witness")
    enroll_signer(ledger, admin, "E-1", ("administrator",))
    enroll_signer(ledger, bob, "E-2", ("custodian",))
    enroll_signer(ledger, walt, "E-3", ("witness",))
    with pytest.raises(SigningRuleError, match="witness"):
        start_ceremony(ledger, admin, bob, "CER0000001")  # Bob is not a witness (yet)
    with pytest.raises(SigningRuleError, match="security officer"):  # a witness alone cannot change roles
        change_roles(ledger, bob.person_id, ["custodian", "witness"], "trained", [walt, admin])

    changed = change_roles(
        ledger, bob.person_id, ["custodian", "witness"], "trained as witness", [officer, walt]
    )
    assert changed.type == "participant.roles_changed"
    start_ceremony(ledger, admin, bob, "CER0000001")  # now he can witness

    change_roles(ledger, walt.person_id, ["custodian"], "no longer a witness", [officer, bob])
    with pytest.raises(SigningRuleError, match="witness"):
        start_ceremony(ledger, admin, walt, "CER0000002")  # the role removed: Walt cannot witness
    start_ceremony(ledger, admin, bob, "CER0000002")

    assert participant(ledger, bob.person_id).roles == ("custodian", "witness")
    assert participant(ledger, walt.person_id).roles == ("custodian",)
    result = verify_ledger(ledger.path)
    assert result.events == ledger.size() == 8 and result.ceremonies == 2


def test_with_real_identities_from_crypto_identity(ledger: Ledger, officer) -> None:
    identity = pytest.importorskip("ceremony.crypto.identity")
    from ceremony.crypto.secret import SecretBytes

    fast = identity.ScryptParams(log2_n=10, r=8)  # test speed only; production uses DEFAULT_KDF
    passphrase = SecretBytes(bytearray(b"correct horse battery staple"))
    key = identity.new_signing_key()
    cert = founding(ledger).root.issue(key.public_key(), "Alice Adams", "E-042", now=START)
    blob = identity.seal_identity(key, cert, passphrase, kdf=fast)
    new = Attester("P000000001", identity.UnlockedIdentity(cert, key))
    recorded = enroll(
        ledger,
        name="Alice Adams",
        employee_id="E-042",
        roles=["custodian"],
        certificate=cert,
        key_blob=blob,
        signers=[officer, new],
        person_id=new.person_id,
    )
    stored_blob, fingerprint = ledger.key_blob(recorded.person_id)
    unlocked = identity.unlock(stored_blob, recorded.certificate, passphrase)
    event = ledger.append(
        "auth.failed",
        {"person_id": officer.person_id, "attempt": 1, "role": "security_officer"},
        [],
        [Attester(recorded.person_id, unlocked)],
    )
    assert fingerprint == recorded.cert_sha256
    assert event.attested_by == (recorded.person_id,)
    assert verify_ledger(ledger.path).attestations == 1 + 2 + 1  # genesis, enrolment, this event
