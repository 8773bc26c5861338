"""Shared helpers for ledger tests: real P-256 identities (made with cryptography directly, no scrypt so
tests stay fast), a deterministic clock, and a sample ledger with enrollments, a split, exposures and
signed events. Imported by tests/ledger, tests/reliability and tests/cli (which add this folder to
sys.path)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ceremony.ledger import events as ev
from ceremony.ledger.participants import enroll
from ceremony.ledger.store import Ledger

START = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)


def stepping_clock(start: dt.datetime = START, step_s: int = 7) -> Callable[[], dt.datetime]:
    counter = itertools.count()
    return lambda: start + dt.timedelta(seconds=step_s * next(counter))


@dataclass
class TestSigner:
    """A participant's identity: P-256 key and self-signed certificate. Satisfies ledger.store.Signer."""

    person_id: str
    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    certificate: x509.Certificate = field(init=False)

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(START - dt.timedelta(days=1))
            .not_valid_after(START + dt.timedelta(days=3650))
            .sign(self.key, hashes.SHA256())
        )

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def person(n: int, name: str | None = None) -> TestSigner:
    return TestSigner(person_id=f"P{n:09d}", name=name or f"Person {n}")


def enroll_signer(
    ledger: Ledger, signer: TestSigner, employee_id: str, roles: tuple[str, ...] = ("custodian",)
):
    return enroll(
        ledger,
        name=signer.name,
        employee_id=employee_id,
        roles=list(roles),
        certificate=signer.certificate,
        key_blob=b"encrypted-key-blob-of-" + signer.person_id.encode(),
        signers=[signer],
        person_id=signer.person_id,
    )


def key_payload(key_id: str, test_key: bool = False) -> dict[str, object]:
    """A key.registered payload; test_key must match the ledger's kind (production by default)."""
    return {
        "key_id": key_id,
        "key_type": "AES-256",
        "label": f"Zone master key {key_id}",
        "usage": "ZMK",
        "kcv_hex": "d77f007724",
        "kcv_method": "aes-cmac-x9.24",
        "cryptoperiod_days": 365,
        "test_key": test_key,
    }


def split_payload(key_id: str, split_id: str, threshold: int, shares: int) -> dict[str, object]:
    return {
        "key_id": key_id,
        "split_id": split_id,
        "scheme": "shamir",
        "threshold": threshold,
        "shares": shares,
        "commitments": {
            str(n): hashlib.sha256(f"{split_id}/{n}".encode()).hexdigest() for n in range(1, shares + 1)
        },
    }


def exposure(person_id: str, split_id: str, number: int, kind: str = "assigned") -> dict[str, object]:
    return {"person_id": person_id, "split_id": split_id, "share_number": number, "kind": kind}


@dataclass
class Sample:
    path: Path
    people: list[TestSigner]
    events: int


def build_sample(path: Path, total_events: int = 300, attest_every: int = 4) -> Sample:
    """A realistic ledger: 4 enrolled people, a key with a 2-of-3 split assigned, shown and entered
    (custody rule satisfied), one deactivation, then signed and unsigned generic events up to
    ``total_events``."""
    people = [
        person(i, name)
        for i, name in enumerate(["Ada Admin", "Carl Custodian", "Cora Custodian", "Walt Witness"])
    ]
    with Ledger.open(path, create=True, clock=stepping_clock()) as ledger:
        for i, p in enumerate(people):
            enroll_signer(
                ledger, p, f"E-{100 + i}", ("administrator",) if i == 0 else ("custodian", "witness")
            )
        admin, c1, c2, witness = people
        ledger.append(
            ev.CEREMONY_STARTED,
            {"ceremony_id": "CER0000001", "purpose": "key generation"},
            [admin.person_id, witness.person_id],
            [admin, witness],
        )
        ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id], [admin, witness])
        ledger.append(
            ev.SPLIT_CREATED,
            split_payload("KEY0000001", "SPL0000001", 2, 3),
            [admin.person_id],
            [admin, witness],
        )
        for number, holder in ((1, c1), (2, c2), (3, witness)):
            ledger.append(
                ev.SHARE_EXPOSED,
                exposure(holder.person_id, "SPL0000001", number, "shown"),
                [holder.person_id, admin.person_id],
                [holder, admin],
            )
            ledger.append(
                ev.SHARE_EXPOSED,
                exposure(holder.person_id, "SPL0000001", number, "entered"),
                [holder.person_id],
                [holder],
            )
        i = 0
        while ledger.size() < total_events - 1:
            signers = [people[i % 4]] if i % attest_every == 0 else []
            ledger.append(
                "ceremony.step", {"step": i, "note": f"step {i} — done"}, [admin.person_id], signers
            )
            i += 1
        ledger.append(
            ev.PARTICIPANT_DEACTIVATED,
            {"person_id": c2.person_id, "reason": "left the company"},
            [admin.person_id],
            [admin],
        )
        return Sample(path, people, ledger.size())
