"""Whose name is on the paper (issue 14, part 2, item 5): a production ledger's documents name the
organisation its genesis records, never the example name forms/organisation.toml ships with; a form
rendered without a ledger under the example name is marked as a specimen, never silently.

Real ledger (founded as "Acme Payments", production), a real generation ceremony, the real paperwork flows
and the real report command; every PDF is read back with pypdf.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.documents.model import AcknowledgementData, LedgerReference, Person
from ceremony.documents.render import render_acknowledgement
from ceremony.documents.templates import EXAMPLE_ORGANISATION, SPECIMEN_MARK, load_forms
from ceremony.flows import paperwork
from ceremony.flows.enrolment import Enrolment, found_ledger
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence
from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[2]
ORGANISATION = "Acme Payments"
FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)
SPEC = KeySpec(KeyType.AES_256, "ZMK-ACME", "PIN zone master key", 365)
CUSTODIANS = ("cust1", "cust2")


def passphrase_of(name: str) -> SecretBytes:
    return SecretBytes(f"test passphrase of {name}".encode())


def text_of(pdf: bytes | bytearray | memoryview) -> str:
    reader = PdfReader(io.BytesIO(bytes(pdf)))
    pages = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(f"{pages} {reader.metadata.author if reader.metadata else ''}".split())


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[tuple[Ledger, dict[str, str]]]:
    """A production ledger founded by Sophie for Acme Payments; Alice (administrator), Walter (witness),
    two custodians; each enrolled under dual control."""
    ledger = Ledger.open(tmp_path / "ledger.sqlite3", create=True, rehearsal=False)
    founded = found_ledger(
        ledger,
        organisation=ORGANISATION,
        name="Sophie Officer",
        employee_id="E0001",
        passphrase=passphrase_of("sophie"),
        kdf=FAST_KDF,
        roles=("security_officer",),
    )
    founded.identity.lock()
    ids = {"sophie": founded.founder.person_id}
    presence = Presence(ledger)
    officer = presence.authenticate(ids["sophie"], passphrase_of("sophie"), "security_officer")
    second = None
    roster = [("alice", ("administrator",)), ("walter", ("witness",))]
    roster += [(name, ("custodian",)) for name in CUSTODIANS]
    for index, (name, roles) in enumerate(roster, start=2):
        person = Enrolment(ledger, officer, second, kdf=FAST_KDF).enroll(
            name.title(), f"E{index:04d}", roles, passphrase_of(name)
        )
        ids[name] = person.person_id
        if second is None:
            second = presence.authenticate(person.person_id, passphrase_of(name), "administrator")
    officer.leave()
    assert second is not None
    second.leave()
    try:
        yield ledger, ids
    finally:
        ledger.close()


def test_the_forms_still_ship_the_example_name() -> None:
    # The premise of the tests below: organisation.toml carries the example, so it must never reach paper.
    assert load_forms().organisation.name == EXAMPLE_ORGANISATION


def test_production_paper_names_the_genesis_organisation(acme, tmp_path: Path) -> None:
    ledger, ids = acme
    assert people.genesis(ledger).organisation == ORGANISATION and not ledger.info.rehearsal
    presence = Presence(ledger)
    admin = presence.authenticate(ids["alice"], passphrase_of("alice"), "administrator")
    witness = presence.authenticate(ids["walter"], passphrase_of("walter"), "witness")
    ceremony = GenerationCeremony.start(ledger, admin, witness, "organisation on paper")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, tuple(ids[c] for c in CUSTODIANS)))
    ceremony.generate()
    present = {}
    cards = []
    for number, name in enumerate(CUSTODIANS, start=1):
        me = present[number] = presence.authenticate(ids[name], passphrase_of(name), "custodian")
        typed = ceremony.reveal(number, me)
        card = paperwork.render_card(ledger, ceremony, number, typed, f"ENV-{number:03d}")
        cards.append(bytes(card.view()))
        card.wipe()
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"ENV-{number:03d}", "card")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    acknowledgement = paperwork.issue_acknowledgement(ledger, ceremony, 1, present[1]).pdf
    ceremony.close(paperwork.closing_checkpoint(ledger))
    minutes = paperwork.issue_minutes(ledger, ceremony, location="Vault room").pdf
    papers = {"acknowledgement": acknowledgement, "minutes": minutes, "share card": cards[0]}
    for what, pdf in papers.items():
        text = text_of(pdf)
        assert ORGANISATION in text, what
        assert "Example Payments" not in text, what
        assert "SPECIMEN" not in text, what
    ledger.close()
    # The reports PDF, from the real command on the same ledger file.
    out = tmp_path / "custody.pdf"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ceremony", "report", "custody", "--ledger", str(ledger.path)),
            *("--format", "pdf", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = text_of(out.read_bytes())
    assert "Example Payments" not in report
    assert ORGANISATION in report  # the report names whose ledger it is, from the genesis


def test_a_form_without_a_ledger_is_a_specimen_never_silently_the_example() -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    data = AcknowledgementData(
        ceremony_id="C0001",
        custodian=Person("Carol Custodian", "E0042", "Key custodian"),
        key_label="ZMK-1",
        key_id="K0001",
        key_type="AES-256",
        kcv="D77F007724",
        kcv_method="AES-CMAC",
        split_id="S0001",
        scheme="Shamir 2-of-3",
        share_number=1,
        share_count=3,
        issued_at=now,
        ledger=LedgerReference("#12", "checkpoint text", "qr payload"),
    )
    preview = text_of(render_acknowledgement(data))
    assert SPECIMEN_MARK in preview  # the example name, if printed, is marked as a specimen on every page
    named = text_of(
        render_acknowledgement(replace(data, ledger=replace(data.ledger, organisation=ORGANISATION)))
    )
    assert ORGANISATION in named and "Example Payments" not in named and "SPECIMEN" not in named
