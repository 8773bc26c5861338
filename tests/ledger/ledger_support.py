"""Shared helpers for ledger tests: real P-256 identities whose certificates are issued by a real ledger root
(made with ceremony.crypto.ledger_root; no scrypt, so tests stay fast), a deterministic clock, and a
sample ledger whose every event is signed under its rule (DESIGN §5). Imported by tests/ledger,
tests/reliability, tests/cli and scripts/benchmarks (which add this folder to sys.path).

Every ledger starts with its genesis, signed by the founding security officer (:func:`found`); later
enrolments are signed by a security officer, a second enrolled person and the new person
(:func:`enroll_signer` picks the founder and the first other person enrolled unless told otherwise)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.crypto.ledger_root import RootAuthority, create_root
from ceremony.ledger import events as ev
from ceremony.ledger.canonical import canonical_text
from ceremony.ledger.participants import Participant, enroll
from ceremony.ledger.participants import found as found_genesis
from ceremony.ledger.store import Ledger

START = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
ORGANISATION = "Test Payments Ltd"


def stepping_clock(start: dt.datetime = START, step_s: int = 7) -> Callable[[], dt.datetime]:
    counter = itertools.count()
    return lambda: start + dt.timedelta(seconds=step_s * next(counter))


@dataclass
class TestSigner:
    """A participant's identity: a P-256 key, and once enrolled the certificate the ledger root issued.
    Satisfies ledger.store.Signer."""

    person_id: str
    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    certificate: x509.Certificate | None = None

    __test__ = False  # not a pytest test class

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def person(n: int, name: str | None = None) -> TestSigner:
    return TestSigner(person_id=f"P{n:09d}", name=name or f"Person {n}")


@dataclass
class Founding:
    """What a test needs to keep enrolling on a ledger: its root (in memory) and who is enrolled."""

    root: RootAuthority
    founder: TestSigner
    enrolled: list[TestSigner] = field(default_factory=list)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


_FOUNDINGS: dict[Path, Founding] = {}


def founding(ledger: Ledger) -> Founding:
    return _FOUNDINGS[ledger.path]


def found(
    ledger: Ledger,
    founder: TestSigner,
    employee_id: str = "E-000",
    roles: Sequence[str] = ("security_officer", "witness"),
    organisation: str = ORGANISATION,
) -> Participant:
    """Write the genesis of an empty ledger, signed by ``founder`` (a security officer). The root key
    stays in memory here (``founding(ledger).root``); the ledger's root_keys row holds a placeholder."""
    root = create_root(organisation, ledger.ledger_id, rehearsal=ledger.info.rehearsal, now=START)
    founder.certificate = root.issue(founder.key.public_key(), founder.name, employee_id, now=START)
    recorded = found_genesis(
        ledger,
        organisation=organisation,
        name=founder.name,
        employee_id=employee_id,
        certificate=founder.certificate,
        key_blob=b"encrypted-key-blob-of-" + founder.person_id.encode(),
        root_certificate=root.certificate,
        root_key_blob=b"root-key-sealed-to-" + founder.person_id.encode(),
        founder=founder,
        roles=list(roles),
    )
    _FOUNDINGS[ledger.path] = Founding(root, founder, [founder], {founder.person_id: tuple(roles)})
    return recorded


def issue(ledger: Ledger, signer: TestSigner, employee_id: str) -> x509.Certificate:
    """The certificate this ledger's root issues to ``signer`` (name and employee id as enrolled)."""
    signer.certificate = founding(ledger).root.issue(
        signer.key.public_key(), signer.name, employee_id, now=START
    )
    return signer.certificate


def enroll_signer(
    ledger: Ledger,
    signer: TestSigner,
    employee_id: str,
    roles: tuple[str, ...] = ("custodian",),
    *,
    officer: TestSigner | None = None,
    second: TestSigner | None = None,
    same_name_confirmed: Sequence[str] = (),
) -> Participant:
    """Enrol ``signer`` under dual control: ``officer`` (default: the founder), ``second`` (default: the
    first person enrolled after the founder, when there is one) and the new person sign."""
    state = founding(ledger)
    officer = officer or state.founder
    if second is None:
        second = next((p for p in state.enrolled if p is not officer and p is not signer), None)
    certificate = issue(ledger, signer, employee_id)
    co_signers = [officer] + ([second] if second is not None else [])
    recorded = enroll(
        ledger,
        name=signer.name,
        employee_id=employee_id,
        roles=list(roles),
        certificate=certificate,
        key_blob=b"encrypted-key-blob-of-" + signer.person_id.encode(),
        signers=[*co_signers, signer],
        person_id=signer.person_id,
        same_name_confirmed=same_name_confirmed,
    )
    state.enrolled.append(signer)
    state.roles[signer.person_id] = tuple(roles)
    return recorded


def key_payload(key_id: str, test_key: bool = False, ceremony_id: str = "CER0000001") -> dict[str, object]:
    """A key.registered payload; test_key must match the ledger's kind (production by default)."""
    return {
        "ceremony_id": ceremony_id,
        "key_id": key_id,
        "key_type": "AES-256",
        "label": f"Zone master key {key_id}",
        "usage": "ZMK",
        "kcv_hex": "d77f007724",
        "kcv_method": "AES-CMAC-X9.24",
        "cryptoperiod_days": 365,
        "test_key": test_key,
    }


def split_payload(
    key_id: str, split_id: str, threshold: int, shares: int, ceremony_id: str = "CER0000001"
) -> dict[str, object]:
    return {
        "ceremony_id": ceremony_id,
        "key_id": key_id,
        "split_id": split_id,
        "scheme": "shamir",
        "threshold": threshold,
        "shares": shares,
        "commitments": {
            str(n): hashlib.sha256(f"{split_id}/{n}".encode()).hexdigest() for n in range(1, shares + 1)
        },
    }


def exposure(
    person_id: str, split_id: str, number: int, kind: str = "assigned", ceremony_id: str = "CER0000001"
) -> dict[str, object]:
    return {
        "ceremony_id": ceremony_id,
        "person_id": person_id,
        "split_id": split_id,
        "share_number": number,
        "kind": kind,
    }


def start_ceremony(
    ledger: Ledger, admin: TestSigner, witness: TestSigner, ceremony_id: str = "CER0000001"
) -> ev.Event:
    return ledger.append(
        ev.CEREMONY_STARTED,
        {
            "ceremony_id": ceremony_id,
            "kind": "generation",
            "purpose": "key generation",
            "rehearsal": ledger.info.rehearsal,
        },
        [admin.person_id, witness.person_id],
        [admin, witness],
    )


def write_row(
    conn: sqlite3.Connection,
    seq: int,
    previous_hash: bytes,
    time: str,
    event_type: str,
    payload: dict[str, object],
    actors: Sequence[str],
    signers: Sequence[TestSigner],
) -> bytes:
    """Bypass the writer: insert event ``seq``, correctly chained after ``previous_hash`` and signed by
    ``signers``, straight into the tables (no rule is checked: for tests of what ``verify`` finds in a file,
    and to generate big ledgers fast). The caller holds the transaction; returns the event's hash."""
    ordered = sorted(signers, key=lambda s: s.person_id)
    attested = [s.person_id for s in ordered]
    body = ev.event_body(time, event_type, list(actors), attested, payload)
    digest = ev.event_hash(seq, previous_hash, body)
    conn.execute(
        "INSERT INTO events (seq, time, type, actors, attested_by, payload, previous_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seq,
            time,
            event_type,
            canonical_text(list(actors)),
            canonical_text(attested),
            canonical_text(payload),
            previous_hash,
            digest,
        ),
    )
    message = ev.attestation_message(digest)
    conn.executemany(
        "INSERT INTO attestations (seq, person_id, signature) VALUES (?, ?, ?)",
        [(seq, s.person_id, s.sign(message)) for s in ordered],
    )
    return digest


@dataclass
class Sample:
    path: Path
    people: list[TestSigner]
    events: int


def build_sample(path: Path, total_events: int = 300) -> Sample:
    """A realistic ledger, every event signed under its rule: the genesis (Olga, security officer and
    witness), 4 more people enrolled under dual control, a generation ceremony with a 2-of-3 split whose
    shares are shown and received, then verification-round events (custodian + witness) up to
    ``total_events``, and one departure (security officer + witness) at the end.

    ``people`` is [admin, custodian 1, custodian 2, witness, officer]."""
    officer = person(9, "Olga Officer")
    admin, c1, c2, witness = (
        person(i, name)
        for i, name in enumerate(["Ada Admin", "Carl Custodian", "Cora Custodian", "Walt Witness"])
    )
    with Ledger.open(path, create=True, clock=stepping_clock()) as ledger:
        found(ledger, officer, "E-099")
        enroll_signer(ledger, admin, "E-100", ("administrator",))
        for i, p in enumerate((c1, c2, witness), start=1):
            enroll_signer(ledger, p, f"E-{100 + i}", ("custodian", "witness"))
        start_ceremony(ledger, admin, witness)
        ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id], [admin, witness])
        ledger.append(
            ev.SPLIT_CREATED,
            split_payload("KEY0000001", "SPL0000001", 2, 3),
            [admin.person_id],
            [admin, witness],
        )
        holders = ((1, c1, witness), (2, c2, witness), (3, witness, c1))
        for number, holder, watcher in holders:
            ledger.append(
                ev.SHARE_EXPOSED,
                exposure(holder.person_id, "SPL0000001", number, "shown"),
                [holder.person_id, watcher.person_id],
                [holder, watcher],
            )
        i = 0
        while ledger.size() < total_events - 1:
            number, holder, watcher = holders[i % 3]
            ledger.append(
                "share.verified",
                {
                    "ceremony_id": "CER0000001",
                    "person_id": holder.person_id,
                    "split_id": "SPL0000001",
                    "share_number": number,
                    "ok": True,
                },
                [holder.person_id, watcher.person_id],
                [holder, watcher],
            )
            i += 1
        ledger.append(
            ev.PARTICIPANT_DEACTIVATED,
            {"person_id": c2.person_id, "reason": "left the company"},
            [officer.person_id, witness.person_id],
            [officer, witness],
        )
        return Sample(path, [admin, c1, c2, witness, officer], ledger.size())
