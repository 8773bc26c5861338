"""The forgery suite: what an attacker with write access to the ledger file and no passphrase can do — plain
``sqlite3`` plus the project's own hashing code (``ceremony.ledger.events``), triggers dropped and put back —
and what ``ceremony verify`` says about it (DESIGN §5: nothing an attacker can write without a passphrase
verifies, except truncation after the last paper checkpoint).

Every attack runs on a copy of the demo ledger (a year of ceremonies built through the real flows) and ends
with ``ceremony verify`` exiting 4 and naming the event, its type and the rule broken. Insider variants (a
participant's real key used outside its rule) unlock demo identities with their demo passphrases.

``CEREMONY_FORGERY_TABLE=FILE`` writes the table (attack, exit code, verify's message) as JSON Lines.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ledger"))
from forge import raw_append  # tests/ledger/forge.py: the attacker's raw writer

from ceremony.crypto.identity import UnlockedIdentity, enroll_identity, unlock
from ceremony.errors import LedgerIntegrityError, SigningRuleError
from ceremony.flows.demo import DEMO_KDF, build_demo, demo_passphrase
from ceremony.ledger import events as ev
from ceremony.ledger import schema
from ceremony.ledger.canonical import normalise
from ceremony.ledger.participants import anchor, participants
from ceremony.ledger.store import PROTECTION_TRIGGERS, Attester, Ledger
from ceremony.ledger.verify import verify_ledger

# --- the attacker's tools: sqlite3 and the project's published hashing --------------------------------------
TIME = "2026-12-04T12:00:00Z"


def _triggers(conn: sqlite3.Connection) -> list[str]:
    return [
        str(sql)
        for (name, sql) in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        if name in {t for t in PROTECTION_TRIGGERS}
    ]


def forge_event(
    path: Path,
    event_type: str,
    payload: dict[str, Any],
    actors: Sequence[str] = (),
    attestations: Sequence[tuple[str, bytes]] = (),
    sign_with: Sequence[tuple[str, Callable[[bytes], bytes]]] = (),
) -> int:
    """Append one event the way an attacker would (tests/ledger/forge.py): the chain computed with the
    project's own code, rows inserted (INSERT is not blocked by the append-only triggers). ``sign_with``
    signs the real hash with the given keys (an insider); ``attestations`` adds rows with whatever bytes
    are given. Returns the seq."""
    return raw_append(path, event_type, payload, actors, sign_with=sign_with, attestations=attestations)


def rewrite_unsigned_from(path: Path, first: int) -> None:
    """Drop the triggers, rewrite every event from ``first`` on without its signatures (new hashes, chain
    recomputed), put the triggers back: what an attacker does to erase who signed what."""
    conn = sqlite3.connect(path)
    try:
        triggers = _triggers(conn)
        for name in PROTECTION_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        rows = conn.execute(
            "SELECT seq, time, type, actors, payload FROM events WHERE seq >= ? ORDER BY seq", (first,)
        ).fetchall()
        previous = conn.execute("SELECT hash FROM events WHERE seq = ?", (first - 1,)).fetchone()[0]
        conn.execute("DELETE FROM attestations WHERE seq >= ?", (first,))
        conn.execute("DELETE FROM events WHERE seq >= ?", (first,))
        for seq, time, event_type, actors, payload in rows:
            body = ev.event_body_from_canonical(time, event_type, actors, "[]", payload)
            digest = ev.event_hash(seq, previous, body)
            conn.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, time, event_type, actors, "[]", payload, previous, digest),
            )
            previous = digest
        for sql in triggers:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def relabel_meta(path: Path, key: str, value: str) -> None:
    conn = sqlite3.connect(path)
    try:
        triggers = _triggers(conn)
        for name in PROTECTION_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
        for sql in triggers:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


# --- the victim: the demo ledger, and who is who in it ------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    build_demo(path)
    return path


@dataclass
class Victim:
    path: Path
    ids: dict[str, str]  # employee id -> person id
    records: dict[str, list[tuple[int, schema.Record]]]  # type -> (seq, record)

    def first(self, event_type: str) -> tuple[int, schema.Record]:
        return self.records[event_type][0]

    def insider(self, employee_id: str) -> UnlockedIdentity:
        """A real participant's key, unlocked with their demo passphrase (an insider, or a stolen one)."""
        with Ledger.open(self.path, read_only=True) as ledger:
            person = next(p for p in participants(ledger) if p.employee_id == employee_id)
            blob, _ = ledger.key_blob(person.person_id) or (b"", "")
        return unlock(blob, person.certificate, demo_passphrase(employee_id))


@pytest.fixture
def victim(demo, tmp_path) -> Victim:
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(demo, path)
    records: dict[str, list[tuple[int, schema.Record]]] = {}
    with Ledger.open(path, read_only=True) as ledger:
        ids = {p.employee_id: p.person_id for p in participants(ledger)}
        for event in ledger.events():
            records.setdefault(event.type, []).append((event.seq, event.record))
    return Victim(path, ids, records)


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *map(str, args)], capture_output=True, text=True, timeout=120
    )


TABLE: list[dict[str, Any]] = []


def verify_refuses(victim: Victim, attack: str, seq: int, event_type: str, *fragments: str) -> dict[str, Any]:
    """``ceremony verify --format json`` exits 4 naming ``seq``, the type and each fragment of the rule."""
    done = cli("verify", "--ledger", victim.path, "--format", "json")
    assert done.returncode == 4, (done.stdout, done.stderr)
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["seq"] == seq, result
    assert f"Event #{seq}: {event_type}" in result["error"], result["error"]
    assert result["type"] == event_type, result
    for fragment in fragments:
        assert fragment in result["error"], result["error"]
    row = {"attack": attack, "exit": done.returncode, "message": result["error"], "rule": result["rule"]}
    TABLE.append(row)
    table = os.environ.get("CEREMONY_FORGERY_TABLE")
    if table:
        with open(table, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    return result


def _self_signed_officer(name: str, employee_id: str) -> tuple[x509.Certificate, bytes, UnlockedIdentity]:
    from ceremony.crypto.secret import SecretBytes

    passphrase = SecretBytes(b"attacker passphrase")
    cert, blob = enroll_identity(name, employee_id, passphrase, kdf=DEMO_KDF)
    identity = unlock(blob, cert, SecretBytes(b"attacker passphrase"))
    return cert, blob, identity


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _fp(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


# --- the attacks of the issue ------------------------------------------------------------------------------
def test_an_unsigned_enrolment_of_a_fake_security_officer(victim) -> None:
    cert, blob, _ = _self_signed_officer("Priya Raman", "E9999")
    payload = {
        "person_id": "FAKEOFFICR",
        "name": "Priya Raman",
        "employee_id": "E9999",
        "roles": ["security_officer", "witness"],
        "certificate_pem": _pem(cert),
        "cert_sha256": _fp(cert),
    }
    conn = sqlite3.connect(victim.path)
    conn.execute("INSERT INTO keystore VALUES (?, ?, ?)", ("FAKEOFFICR", blob, _fp(cert)))
    conn.commit()
    conn.close()
    seq = forge_event(victim.path, "participant.enrolled", payload, ["FAKEOFFICR"])
    verify_refuses(
        victim,
        "unsigned participant.enrolled of a fake officer (+keystore row)",
        seq,
        "participant.enrolled",
        "not issued by",
    )


def test_a_fake_officer_signing_their_own_enrolment(victim) -> None:
    """Signed by the fake person's own key (proof of possession) changes nothing: the certificate is not
    issued by the ledger's root, and neither an officer nor a second person signed."""
    cert, _, identity = _self_signed_officer("Priya Raman", "E9999")
    payload = {
        "person_id": "FAKEOFFICR",
        "name": "Priya Raman",
        "employee_id": "E9999",
        "roles": ["security_officer"],
        "certificate_pem": _pem(cert),
        "cert_sha256": _fp(cert),
    }
    seq = forge_event(
        victim.path,
        "participant.enrolled",
        payload,
        ["FAKEOFFICR"],
        sign_with=[("FAKEOFFICR", identity.sign)],
    )
    verify_refuses(
        victim,
        "participant.enrolled signed only by the fake person's own key",
        seq,
        "participant.enrolled",
        "not issued by this ledger",
    )


def test_the_fake_officer_cannot_open_the_air_gap_gate(victim) -> None:
    """An exception with subject '*' that turned `ceremony preflight` from 6 to 0: unsigned it is a fault,
    and with rows that name the real officer and witness over garbage it is a fault too — for verify and
    for the preflight command, which reads the ledger with every signature checked."""
    _, exception = victim.first("preflight.exception")
    assert isinstance(exception, schema.PreflightException)
    payload = {**exception.to_payload(), "id": "EXC-FORGED", "check": "net.listening", "subject": "*"}
    seq = forge_event(victim.path, "preflight.exception", payload, [exception.approved_by, exception.witness])
    verify_refuses(
        victim,
        "unsigned preflight.exception, subject '*'",
        seq,
        "preflight.exception",
        "security officer named in 'approved_by'",
        "has 0",
    )
    done = cli("preflight", "--ledger", victim.path, "--json")
    assert done.returncode == 4, done.stdout + done.stderr  # a ledger fault, never a cleared air gap


def test_exception_rows_naming_the_real_officer_over_garbage_signatures(victim) -> None:
    _, exception = victim.first("preflight.exception")
    assert isinstance(exception, schema.PreflightException)
    payload = {**exception.to_payload(), "id": "EXC-FORGED", "subject": "*"}
    fake = ec.generate_private_key(ec.SECP256R1())
    forged = fake.sign(b"anything", ec.ECDSA(hashes.SHA256()))
    seq = forge_event(
        victim.path,
        "preflight.exception",
        payload,
        [exception.approved_by, exception.witness],
        attestations=[(exception.approved_by, forged), (exception.witness, forged)],
    )
    verify_refuses(
        victim,
        "preflight.exception with the real signers' names over another key's signatures",
        seq,
        "preflight.exception",
        "does not verify against their enrolled certificate",
    )
    assert cli("preflight", "--ledger", victim.path, "--json").returncode == 4


def test_an_unsigned_departure_then_an_unsigned_flag_clearing(victim) -> None:
    seq = forge_event(
        victim.path, "participant.deactivated", {"person_id": victim.ids["E1004"], "reason": "x"}
    )
    verify_refuses(
        victim,
        "unsigned participant.deactivated",
        seq,
        "participant.deactivated",
        "security officer and a witness",
        "has 0",
    )


def test_an_unsigned_quorum_lowering(victim) -> None:
    """Lowering a key's quorum takes a security officer and a witness: a forged decision, which would let a
    later wrap or split below the quorum verify, is refused."""
    splits = [r for _, r in victim.records["split.created"] if isinstance(r, schema.SplitCreated)]
    three = next(s for s in splits if s.threshold >= 3 and s.scheme == "shamir")  # the 3-of-5 PEK
    seq = forge_event(
        victim.path, "key.quorum_lowered", {"key_id": three.key_id, "quorum": 2, "reason": "forged"}
    )
    verify_refuses(victim, "unsigned key.quorum_lowered", seq, "key.quorum_lowered", "security officer")


@pytest.mark.parametrize("event_type", ["key.block_exported", "key_block.checked", "key.loaded"])
def test_an_unsigned_key_block_or_token_load(victim, event_type) -> None:
    """A key block made or checked, or a key loaded into a token, is recorded by the administrator and the
    witness: one forged without them (a block route, a 'verified' verdict, a load) is refused."""
    seq = forge_event(victim.path, event_type, EXTRA_SAMPLES[event_type](victim))
    verify_refuses(victim, f"unsigned {event_type}", seq, event_type, "administrator", "witness")


def test_a_kbpk_component_not_signed_by_its_custodian(victim) -> None:
    """A KBPK component is entered by its own custodian with the witness: the administrator and the witness
    cannot record it for them."""
    admin, walter = victim.insider("E1001"), victim.insider("E1003")
    signers = [(victim.ids["E1001"], admin.sign), (victim.ids["E1003"], walter.sign)]
    payload = EXTRA_SAMPLES["kbpk.component_entered"](victim)
    seq = forge_event(
        victim.path, "kbpk.component_entered", payload, [s for s, _ in signers], sign_with=signers
    )
    verify_refuses(
        victim,
        "kbpk.component_entered signed by administrator + witness, not the custodian",
        seq,
        "kbpk.component_entered",
        "key custodian named in 'person_id'",
    )


def test_an_unsigned_lockout_lift(victim) -> None:
    seq = forge_event(
        victim.path,
        "auth.lockout_lifted",
        {"person_id": victim.ids["E2001"], "failures": 3, "reason": "forged"},
    )
    verify_refuses(victim, "unsigned auth.lockout_lifted", seq, "auth.lockout_lifted", "security officer")


def test_an_unsigned_document_record_for_a_pdf_signed_by_a_fake_key(victim, tmp_path) -> None:
    from reportlab.pdfgen import canvas

    from ceremony.documents.sign import sign_document

    cert, _, signer = _self_signed_officer("Priya Raman", "E2001")
    pdf_path = tmp_path / "ack.pdf"
    page = canvas.Canvas(str(pdf_path))
    page.drawString(72, 720, "I acknowledge nothing")
    page.save()
    signed = sign_document(
        pdf_path.read_bytes(), signer.private_key, cert, field_name="Custodian", reason="forged"
    )
    pdf_path.write_bytes(signed)
    import hashlib

    seq = forge_event(
        victim.path,
        "document.issued",
        {
            "kind": "acknowledgement",
            "sha256": hashlib.sha256(signed).hexdigest(),
            "subject": "share 1",
            "signed_by": [victim.ids["E2001"]],
        },
        [victim.ids["E2001"]],
    )
    verify_refuses(
        victim,
        "unsigned document.issued + PDF signed by a fake key",
        seq,
        "document.issued",
        "'signed_by[0]'",
    )
    done = cli("verify", "--ledger", victim.path, "--document", pdf_path)
    assert done.returncode == 4


def test_every_event_from_11_on_rewritten_unsigned(victim) -> None:
    rewrite_unsigned_from(victim.path, 11)
    verify_refuses(
        victim,
        "events #11.. rewritten unsigned (triggers dropped and put back)",
        11,
        "participant.enrolled",
        "has 0",
    )


def test_a_relabelled_ledger_id(victim) -> None:
    relabel_meta(victim.path, "ledger_id", "0000000000")
    verify_refuses(
        victim,
        "meta.ledger_id relabelled (triggers dropped and put back)",
        1,
        "ledger.genesis",
        "the file's label was changed",
    )


def test_a_production_label_on_a_rehearsal_ledger(victim) -> None:
    relabel_meta(victim.path, "rehearsal", "0")
    verify_refuses(victim, "meta.rehearsal relabelled to production", 1, "ledger.genesis", "rehearsal")


def test_an_unknown_key_type(victim) -> None:
    _, key = victim.first("key.registered")
    payload = {**key.to_payload(), "key_id": "FOOKEY0001", "key_type": "FOO"}
    seq = forge_event(victim.path, "key.registered", payload)
    verify_refuses(
        victim,
        "unsigned key.registered with key_type FOO",
        seq,
        "key.registered",
        "field 'key_type' must be one of",
    )


def test_an_unknown_event_type(victim) -> None:
    seq = forge_event(victim.path, "ceremony.note", {"text": "hello"})
    verify_refuses(
        victim,
        "an event type the schema does not define",
        seq,
        "ceremony.note",
        "not an event type this ledger knows",
    )


# --- signatures that are there but wrong -------------------------------------------------------------------
def _started(victim: Victim) -> dict[str, Any]:
    _, started = victim.first("ceremony.started")
    return {**started.to_payload(), "ceremony_id": "FORGEDCER1"}


def test_a_signature_by_a_key_nobody_enrolled(victim) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sign = lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))  # noqa: E731
    admin, witness = victim.ids["E1001"], victim.ids["E1003"]
    seq = forge_event(
        victim.path,
        "ceremony.started",
        _started(victim),
        [admin, witness],
        sign_with=[(admin, sign), (witness, sign)],
    )
    verify_refuses(
        victim,
        "signatures by an unenrolled key under enrolled names",
        seq,
        "ceremony.started",
        "does not verify against their enrolled certificate",
    )


def test_a_signer_nobody_enrolled(victim) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sign = lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))  # noqa: E731
    seq = forge_event(
        victim.path,
        "ceremony.started",
        _started(victim),
        ["NOBODY0001"],
        sign_with=[("NOBODY0001", sign), (victim.ids["E1003"], sign)],
    )
    verify_refuses(
        victim,
        "a signer id nobody enrolled",
        seq,
        "ceremony.started",
        "NOBODY0001 is not an enrolled participant",
    )


def test_an_insider_signer_lacking_the_role(victim) -> None:
    """Two custodians sign a ceremony step with their own real keys: the rule wants an administrator and
    a witness."""
    a, b = victim.insider("E2001"), victim.insider("E2003")
    ids = [victim.ids["E2001"], victim.ids["E2003"]]
    seq = forge_event(
        victim.path, "ceremony.started", _started(victim), ids, sign_with=[(ids[0], a.sign), (ids[1], b.sign)]
    )
    verify_refuses(
        victim,
        "a ceremony step signed (for real) by two custodians",
        seq,
        "ceremony.started",
        "ceremony administrator and a witness",
        "no assignment",
    )


def test_a_deactivated_signer(victim) -> None:
    """Jonas Berg left (deactivated in the demo); his real key no longer signs anything."""
    jonas, walter = victim.insider("E2002"), victim.insider("E1003")
    admin_like = victim.ids["E2002"]
    seq = forge_event(
        victim.path,
        "ceremony.started",
        _started(victim),
        [admin_like, victim.ids["E1003"]],
        sign_with=[(admin_like, jonas.sign), (victim.ids["E1003"], walter.sign)],
    )
    verify_refuses(
        victim,
        "a signature by a deactivated person (real key)",
        seq,
        "ceremony.started",
        "was deactivated at event #",
    )


def test_too_few_distinct_signers(victim) -> None:
    admin = victim.insider("E1001")
    seq = forge_event(
        victim.path,
        "ceremony.started",
        _started(victim),
        [victim.ids["E1001"]],
        sign_with=[(victim.ids["E1001"], admin.sign)],
    )
    result = verify_refuses(
        victim,
        "a ceremony step signed by the administrator alone",
        seq,
        "ceremony.started",
        "needs 2 different signers, has 1",
    )
    assert result["rule"] == "signed by a ceremony administrator and a witness (2 different people)"


def test_an_actor_who_did_not_sign(victim) -> None:
    admin, walter = victim.insider("E1001"), victim.insider("E1003")
    actors = [victim.ids["E1001"], victim.ids["E1003"], victim.ids["E2001"]]
    seq = forge_event(
        victim.path,
        "ceremony.started",
        _started(victim),
        actors,
        sign_with=[(actors[0], admin.sign), (actors[1], walter.sign)],
    )
    verify_refuses(
        victim,
        "an actor listed who did not sign",
        seq,
        "ceremony.started",
        f"actor {victim.ids['E2001']} did not sign",
    )


def test_a_share_event_not_signed_by_its_custodian(victim) -> None:
    _, received = victim.first("share.received")
    assert isinstance(received, schema.ShareReceived)
    admin, walter = victim.insider("E1001"), victim.insider("E1003")
    signers = [(victim.ids["E1001"], admin.sign), (victim.ids["E1003"], walter.sign)]
    seq = forge_event(
        victim.path, "share.received", received.to_payload(), [s for s, _ in signers], sign_with=signers
    )
    verify_refuses(
        victim,
        "share.received signed by administrator + witness, not the custodian",
        seq,
        "share.received",
        "key custodian named in 'person_id'",
    )


def test_a_wholesale_rewrite_with_invented_people_is_caught_by_the_anchor(victim, tmp_path) -> None:
    """Rebuild the whole ledger from scratch under the same ledger id, with invented people: internally
    consistent, so verify alone passes — the anchor printed on paper does not."""
    with Ledger.open(victim.path, read_only=True) as ledger:
        original = anchor(ledger)
        ledger_id = ledger.ledger_id
    fake = tmp_path / "rewritten.sqlite3"
    import ceremony.ledger.store as store

    real_new_id = store.new_id
    store.new_id = lambda: ledger_id  # the attacker picks the same ledger id
    try:
        build_demo(fake)
    finally:
        store.new_id = real_new_id
    with Ledger.open(fake, read_only=True) as rebuilt:
        assert rebuilt.ledger_id == ledger_id and anchor(rebuilt) != original
    assert cli("verify", "--ledger", fake).returncode == 0  # consistent in itself
    done = cli("verify", "--ledger", fake, "--anchor", original.text(), "--format", "json")
    assert done.returncode == 4, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["seq"] == 1 and "anchor differs" in result["error"]
    TABLE.append(
        {
            "attack": "wholesale rewrite, same ledger id, invented people",
            "exit": 4,
            "message": result["error"],
        }
    )
    # The real ledger passes with its anchor, printed grouped, with line breaks and in lower case.
    printed = "\n".join(original.grouped()).lower()
    assert cli("verify", "--ledger", victim.path, "--anchor", printed).returncode == 0


def test_truncation_passes_alone_and_the_paper_checkpoint_catches_it(victim) -> None:
    with Ledger.open(victim.path, read_only=True) as ledger:
        checkpoint = ledger.checkpoint().text()
    conn = sqlite3.connect(victim.path)
    triggers = _triggers(conn)
    for name in PROTECTION_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    last = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
    conn.execute("DELETE FROM attestations WHERE seq > ?", (last - 5,))
    conn.execute("DELETE FROM events WHERE seq > ?", (last - 5,))
    for sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()
    assert cli("verify", "--ledger", victim.path).returncode == 0  # the one thing a chain cannot see
    done = cli("verify", "--ledger", victim.path, "--checkpoint", checkpoint, "--format", "json")
    assert done.returncode == 4 and "truncated" in json.loads(done.stdout)["error"]


# --- the writer refuses what verify would -------------------------------------------------------------------
def test_the_writer_refuses_an_event_that_breaks_its_rule_before_anything_is_written(victim) -> None:
    admin = victim.insider("E1001")
    with Ledger.open(victim.path) as ledger:
        size = ledger.size()
        with pytest.raises(SigningRuleError, match="administrator and a witness"):
            ledger.append(
                "ceremony.started",
                _started(victim),
                [victim.ids["E1001"]],
                [Attester(victim.ids["E1001"], admin)],
            )
        assert ledger.size() == size
    verify_ledger(victim.path)


# --- every event type: an invalid payload is refused by name ----------------------------------------------
# Valid payloads of the types the demo does not write, so every type of the schema is covered.
EXTRA_SAMPLES: dict[str, Callable[[Victim], dict[str, Any]]] = {
    "auth.failed": lambda v: {"person_id": v.ids["E2001"], "attempt": 1, "role": "custodian"},
    "ceremony.resumed": lambda v: {"ceremony_id": _cid(v), "after_seq": 3},
    "participant.roles_changed": lambda v: {
        "person_id": v.ids["E2001"],
        "roles": ["custodian"],
        "reason": "r",
    },
    "recovery.kcv_failed": lambda v: {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "split_id": _sid(v),
        "offered": [1, 2],
        "bad_shares": [],
        "reason": "kcv",
    },
    "recovery.share_refused": lambda v: {
        "ceremony_id": _cid(v),
        "person_id": v.ids["E2001"],
        "split_id": _sid(v),
        "share_number": 1,
        "reason": "foreign",
        "entered_key_id": "X",
        "entered_split_id": "Y",
    },
    "kek.component_entered": lambda v: {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "person_id": v.ids["E2001"],
        "component_number": 1,
        "component_kcv_hex": "abcdef",
        "kcv_method": "AES-CMAC-X9.24",
    },
    "kbpk.component_entered": lambda v: {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "person_id": v.ids["E2001"],
        "component_number": 1,
        "component_kcv_hex": "abcdef0123",
        "kcv_method": "AES-CMAC-X9.24",
    },
    "key.block_exported": lambda v: {**_key_block(v), **_BLOCK_HEADER},
    "key_block.checked": lambda v: {**_key_block(v), "verdict": "verified", "found_kcv_hex": "abcdef0123"},
    "key.loaded": lambda v: {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "key_kcv_hex": "abcdef0123",
        "key_kcv_method": "AES-CMAC-X9.24",
        "token_label": "HSM-3",
        "token_serial": "0123456789",
        "token_manufacturer": "SoftHSM project",
        "token_model": "SoftHSM v2",
        "token_firmware": "2.6",
        "object_label": "ZMK",
        "object_id_hex": "0011223344556677",
        "mechanism": "unwrap-0x210A",
        "check_source": "token-cmac",
        "token_check_value_hex": "abcdef0123",
        "attributes": ["sensitive", "token", "unwrap", "wrap"],
        "pin_entered_by": v.ids["E2001"],
    },
    "key.quorum_lowered": lambda v: {"key_id": _kid(v), "quorum": 2, "reason": "r"},
    "auth.lockout_lifted": lambda v: {"person_id": v.ids["E2001"], "failures": 3, "reason": "r"},
    "key.retired": lambda v: {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "label": "L",
        "kcv_hex": "abcdef",
        "reason": "r",
    },
    "incident.recorded": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "key_id": _kid(v),
        "kind": "seal",
        "what": "broken",
    },
    "incident.decided": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "key_id": _kid(v),
        "incident_seq": 5,
        "decision": "refuse",
        "reason": "r",
    },
    "envelope.returned": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "key_id": _kid(v),
        "envelope_serial": "TE-1",
        "recorded_holder": v.ids["E2001"],
        "returned_by": "Priya",
        "seal_intact": True,
        "disposition": "destroyed",
    },
    "envelope.destroyed": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "key_id": _kid(v),
        "envelope_serial": "TE-1",
        "serial_read": "TE-1",
        "recorded_holder": v.ids["E2001"],
        "returned_by": "Priya",
        "destroyed_by": v.ids["E1001"],
        "witnessed_by": v.ids["E1003"],
        "method": "shredded",
    },
    "envelope.not_returned": lambda v: {
        "split_id": _sid(v),
        "share_number": 1,
        "key_id": _kid(v),
        "envelope_serial": "TE-1",
        "recorded_holder": v.ids["E2001"],
        "reason": "not handed back",
    },
    "share.card_delivered": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "copies": 1,
        "destination": "ram",
        "ram_backed": True,
    },
    "share.card_failed": lambda v: {
        "ceremony_id": _cid(v),
        "split_id": _sid(v),
        "share_number": 1,
        "reason": "r",
    },
    "share.card_wiped": lambda v: {"ceremony_id": _cid(v), "split_id": _sid(v), "file": "/dev/shm/x.pdf"},
}


_BLOCK_HEADER = {
    "key_usage": "K0",
    "algorithm": "A",
    "mode_of_use": "B",
    "key_version": "00",
    "exportability": "N",
}


def _key_block(v: Victim) -> dict[str, Any]:
    """What key.block_exported and key_block.checked both record (a KBPK of two components)."""
    return {
        "ceremony_id": _cid(v),
        "key_id": _kid(v),
        "key_kcv_hex": "abcdef0123",
        "key_kcv_method": "AES-CMAC-X9.24",
        "kbpk_label": "HSM-3 KBPK",
        "kbpk_source": "components",
        "kbpk_kcv_hex": "0123456789",
        "kbpk_kcv_method": "AES-CMAC-X9.24",
        "kbpk_custodians": [v.ids["E2001"], v.ids["E2003"]],  # both active (E2002 left)
        "kbpk_component_kcvs": ["1111111111", "2222222222"],
        "kbpk_component_method": "AES-CMAC-X9.24",
        "block_version": "D",
        "header": "D0144K0AB00N0000",
        "block_length": 144,
        "block_sha256": "ab" * 32,
    }


def _cid(v: Victim) -> str:
    return str(v.first("ceremony.started")[1].ceremony_id)


def _kid(v: Victim) -> str:
    return str(v.first("key.registered")[1].key_id)


def _sid(v: Victim) -> str:
    return str(v.first("split.created")[1].split_id)


def _sample(victim: Victim, event_type: str) -> dict[str, Any]:
    if event_type in victim.records:
        return victim.first(event_type)[1].to_payload()
    return EXTRA_SAMPLES[event_type](victim)


def _mutations(cls: type[schema.Record], payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    required = [s.name for s in cls.FIELDS if not s.optional]
    out = [("unknown field", {**payload, "zz_smuggled": "x"})]
    if required:
        name = required[-1]
        out.append((f"missing {name}", {k: v for k, v in payload.items() if k != name}))
        wrong: object = [] if not isinstance(payload[name], list) else "not a list"
        out.append((f"{name} of the wrong type", {**payload, name: wrong}))
    return out


def test_every_type_of_the_schema_is_covered() -> None:
    assert set(schema.REGISTRY) - {"ledger.genesis", "participant.enrolled"} <= (
        set(EXTRA_SAMPLES)
        | {
            "ceremony.closed",
            "ceremony.planned",
            "ceremony.started",
            "ceremony.voided",
            "custodian.reaffirmed",
            "document.issued",
            "envelope.inspected",
            "key.recovered",
            "key.registered",
            "key.wiped",
            "key.wrapped",
            "participant.deactivated",
            "preflight.exception",
            "preflight.run",
            "share.exposed",
            "share.received",
            "share.verified",
            "split.created",
            "split.retired",
        }
    )


@pytest.mark.parametrize("event_type", sorted(schema.REGISTRY))
def test_an_invalid_payload_of_every_type_is_refused_naming_the_field(victim, event_type) -> None:
    payload = _sample(victim, event_type)
    cls = schema.REGISTRY[event_type]
    assert schema.parse(event_type, normalise(payload)) is not None  # the sample itself is valid
    for _what, bad in _mutations(cls, payload):
        with pytest.raises(schema.EventFormError):
            schema.parse(event_type, normalise(bad))
    # And in a file: appended (as an attacker would), verify names the event, its type and the field.
    what, bad = _mutations(cls, payload)[-1]
    seq = forge_event(victim.path, event_type, bad)
    with pytest.raises(LedgerIntegrityError) as caught:
        verify_ledger(victim.path)
    assert caught.value.seq == seq
    assert f"Event #{seq}: {event_type}" in str(caught.value) and "field" in str(caught.value), what
