"""Minutes and acknowledgements for every ceremony, not only generation (DESIGN §4.7): a recovery, a re-share
and a retirement on a real ledger (light KDF), their minutes built from the ledger events of their ceremony
id, rendered to real PDFs, signed by administrator then witness and recorded; the lifecycle rehearsal puts
them in its out folder and manifest."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re

import pytest
from lifecycle_support import (
    Generated,
    People,
    distribute,
    generate,
    open_and_enter,
    start_components,
    start_reshare,
    start_retirement,
    start_wrapped,
    wrap_components,
)
from pypdf import PdfReader

from ceremony.crypto.codec import decode_share, vault_hex
from ceremony.crypto.share import Scheme
from ceremony.documents.sign import async_validate_document, validate_document
from ceremony.errors import FlowError
from ceremony.flows import paperwork
from ceremony.flows.common import SplitPlan
from ceremony.flows.rehearsal import (
    example_script,
    parse_lifecycle_script,
    parse_script,
    run_lifecycle,
    run_rehearsal,
)
from ceremony.flows.retirement import RetirementReason
from ceremony.ledger import participants as enrolled
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.store import Ledger

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")
NEW = ("cust6", "cust7", "cust8")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


@pytest.fixture
def zmk(people) -> Generated:
    return generate(people, FIVE, 3)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    """Table cells wrap anywhere: compare with all whitespace removed."""
    return re.sub(r"\s+", "", text)


def _cert(cast, name: str):
    return enrolled.participant(cast.ledger, cast.ids[name]).certificate


def _events(cast, ceremony_id: str) -> list:
    return [e for e in cast.ledger.events() if e.payload.get("ceremony_id") == ceremony_id]


def _assert_no_share_material(pdf: bytes, texts: dict[int, bytearray]) -> None:
    """Neither a share's bytes (hex, upper or lower) nor two consecutive groups of its typed form appear."""
    flat = _flat(_text(pdf))
    for text in texts.values():
        share = decode_share(bytearray(text))
        try:
            raw = bytes(share.data.view())
            assert raw.hex() not in flat and raw.hex().upper() not in flat
            vault = vault_hex(share)
            assert bytes(vault.view()).decode() not in flat
            vault.wipe()
        finally:
            share.wipe()
        body = text.decode().split("\n")[1:]
        groups = [g for line in body for g in line.split()]
        for a, b in itertools.pairwise(groups):
            assert a + b not in flat


def _assert_signed_and_recorded(cast, doc: paperwork.SignedDocument, ceremony_id: str) -> None:
    statuses = validate_document(doc.pdf, [_cert(cast, "alice"), _cert(cast, "walter")])
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Administrator", "Alice", True),
        ("Witness", "Walter", True),
    ]
    event = list(cast.ledger.events())[-1]
    assert event.type == "document.issued" and event.seq == doc.record.event_seq
    assert event.payload == {
        "ceremony_id": ceremony_id,
        "kind": "minutes",
        "sha256": hashlib.sha256(doc.pdf).hexdigest(),
        "subject": f"minutes of ceremony {ceremony_id}",
        "file_name": f"minutes-{ceremony_id}.pdf",
        "signed_by": [cast.ids["alice"], cast.ids["walter"]],
    }
    assert set(event.attested_by) == {cast.ids["alice"], cast.ids["walter"]}


def _assert_steps_and_checkpoint(cast, pdf: bytes, ceremony_id: str) -> None:
    """Every event of the ceremony is a step with its UTC time and event id; the closing checkpoint is the
    one its close recorded (or, voided, the ledger just before the void)."""
    flat = _flat(_text(pdf))
    events = _events(cast, ceremony_id)
    end = [e for e in events if e.type in ("ceremony.closed", "ceremony.voided")][-1]
    for event in events[: events.index(end) + 1]:  # the minutes' own record comes after them
        assert f"#{event.seq}" in flat
        assert event.time[11:19] in flat  # HH:MM:SS (UTC) of the step
    # The closing checkpoint (issue 14): the one ceremony.closed records, else the ledger before the void.
    recorded = end.payload.get("checkpoint")
    checkpoint = Checkpoint.parse(recorded) if recorded else cast.ledger.checkpoint(end.seq - 1)
    assert checkpoint.size < end.seq
    assert _flat(checkpoint.printed()) in flat


def test_recovery_minutes_hold_the_whole_ceremony_and_no_share(cast, people, zmk) -> None:
    ceremony = start_wrapped(people, zmk, location="Vault room")  # its preflight recorded, clear
    open_and_enter(ceremony, people, zmk, (1, 3, 4))
    ceremony.rebuild()
    wrapped, kek = wrap_components(ceremony, people)
    ceremony.finish(paperwork.closing_checkpoint(cast.ledger))
    kek_material = bytes(kek.material.view()).hex()
    kek.wipe()
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.title == "Key recovery ceremony" and data.purpose == "test recovery"
    assert data.location == "Vault room"  # as recorded when the ceremony started
    assert [(p.person.name, p.signature_field) for p in data.participants][:5] == [
        ("Alice", "Administrator"),
        ("Walter", "Witness"),
        ("Cust1", ""),
        ("Cust3", ""),
        ("Cust4", ""),
    ]
    assert data.participants[3].person.role == "Key custodian (presented share 3)"
    assert [e.serial for e in data.envelopes] == [zmk.serials[n] for n in (1, 3, 4)]
    assert all("serial matches, seal intact" in e.status for e in data.envelopes)
    assert data.kcvs[0].kcv == zmk.kcv.hex and "rebuilt" in data.kcvs[0].subject
    assert wrapped.kek_kcv.hex in [k.kcv for k in data.kcvs]  # the KEK's KCV, never the KEK
    assert data.outcome == "Completed" and data.preflight_result == "cleared: no insecure finding"

    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    _assert_signed_and_recorded(cast, doc, ceremony.ceremony_id)
    _assert_steps_and_checkpoint(cast, doc.pdf, ceremony.ceremony_id)
    text = _text(doc.pdf)
    flat = _flat(text)
    assert "Key recovery ceremony" in text and "test recovery" in text and "Vault room" in text
    assert _flat("Result: cleared: no insecure finding") in flat and "notrun" not in flat
    assert _flat("Air-gap preflight recorded: cleared") in flat  # the step, before any envelope
    for name in ("Alice", "Walter", "Cust1", "Cust3", "Cust4"):
        assert name in text
    assert "Cust2" not in text and "Cust5" not in text  # not present, not listed
    for n in (1, 3, 4):
        assert _flat(zmk.serials[n]) in flat
    assert zmk.kcv.hex in flat and wrapped.kek_kcv.hex in flat
    assert "Keyrebuiltfromshares1,3,4" in flat and "Completed" in text
    assert kek_material not in flat and kek_material.upper() not in flat
    _assert_no_share_material(doc.pdf, zmk.texts)


def test_a_voided_recovery_gets_minutes_saying_so(cast, people, zmk) -> None:
    ceremony = start_wrapped(people, zmk)
    open_and_enter(ceremony, people, zmk, (2, 5))
    ceremony.void("custodian 3 unreachable")
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.outcome == "Voided: custodian 3 unreachable"
    assert data.kcvs == ()  # nothing was rebuilt: no KCV to show
    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    _assert_signed_and_recorded(cast, doc, ceremony.ceremony_id)
    _assert_steps_and_checkpoint(cast, doc.pdf, ceremony.ceremony_id)
    flat = _flat(_text(doc.pdf))
    assert _flat("Voided: custodian 3 unreachable") in flat
    assert _flat(zmk.serials[2]) in flat and _flat(zmk.serials[5]) in flat
    _assert_no_share_material(doc.pdf, zmk.texts)


def test_reshare_minutes_and_acknowledgements_of_the_new_shares(cast, people, zmk) -> None:
    plan = SplitPlan(Scheme.SHAMIR, 3, tuple(people.id(n) for n in NEW))  # the key's quorum of 3 kept
    ceremony = start_reshare(people, zmk.key_id, plan, location="Vault room B")
    open_and_enter(ceremony, people, zmk, (1, 2, 5))
    ceremony.rebuild()
    ceremony.reshare()
    new = Generated(zmk.key_id, ceremony.new_split_id, zmk.kcv, dict(enumerate(NEW, start=1)))
    distribute(ceremony, people, new, "NEW")
    with pytest.raises(FlowError, match="signed by its custodian"):
        paperwork.issue_acknowledgement_for(
            cast.ledger, ceremony.ceremony_id, new.split_id, 1, people("cust7"), people.witness
        )
    for number, name in new.holders.items():
        ack = paperwork.issue_acknowledgement_for(
            cast.ledger, ceremony.ceremony_id, new.split_id, number, people(name), people.witness
        )
        status, witnessed = validate_document(ack.pdf, [_cert(cast, name), _cert(cast, "walter")])
        assert status.ok and status.field_name == "Custodian" and status.signer == name.title()
        assert witnessed.ok and witnessed.field_name == "Witness"
        event = list(cast.ledger.events())[-1]
        assert event.payload["kind"] == "acknowledgement"
        assert event.payload["sha256"] == hashlib.sha256(ack.pdf).hexdigest()
        assert event.payload["subject"].startswith(f"share {number} of 3 - {name.title()}")
        text = _text(ack.pdf)
        flat = _flat(text)
        assert new.split_id in flat and zmk.kcv.hex in flat and _flat("Shamir 3-of-3") in flat
        assert name.title() in text and "ZMK" in text and _flat(f"Share number {number} of 3") in flat
    ceremony.finish(paperwork.closing_checkpoint(cast.ledger))

    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.title == "Key re-share ceremony" and data.purpose == "custodian rotation"
    assert data.location == "Vault room B" and data.preflight_result == "cleared: no insecure finding"
    roles = {p.person.name: p.person.role for p in data.participants}
    assert roles["Cust6"] == f"Key custodian (share 1 of 3, new split {new.split_id})"
    assert roles["Cust5"] == "Key custodian (presented share 5)"
    old = [e for e in data.envelopes if e.status.startswith("inspected")]
    sealed = [e for e in data.envelopes if e.status == "sealed and handed to the custodian"]
    assert [e.serial for e in old] == [zmk.serials[n] for n in (1, 2, 5)]
    assert [e.serial for e in sealed] == [new.serials[n] for n in (1, 2, 3)]
    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    _assert_signed_and_recorded(cast, doc, ceremony.ceremony_id)
    _assert_steps_and_checkpoint(cast, doc.pdf, ceremony.ceremony_id)
    text = _text(doc.pdf)
    flat = _flat(text)
    for name in ("Alice", "Walter", "Cust1", "Cust2", "Cust5", "Cust6", "Cust7", "Cust8"):
        assert name in text
    for serial in (*zmk.serials.values(), *new.serials.values()):
        if serial in (zmk.serials[3], zmk.serials[4]):
            continue  # envelopes 3 and 4 stayed sealed and were not part of this ceremony
        assert _flat(serial) in flat
    assert zmk.kcv.hex in flat and "Completed" in text
    assert _flat(f"Split retired: replaced by split {new.split_id}") in flat
    assert flat.count("Issuedacknowledgement") == 3
    _assert_no_share_material(doc.pdf, {**zmk.texts, **{10 + n: t for n, t in new.texts.items()}})


def test_retirement_minutes_list_the_returned_envelopes(cast, people, zmk) -> None:
    ceremony = start_retirement(people, "end of cryptoperiod", location="Archive room")
    ceremony.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD, "2026 rotation")
    ceremony.return_envelope(zmk.serials[1], "Cust1 (E0003)", True)
    ceremony.return_envelope(zmk.serials[2], "Cust2 (E0004)", False)
    ceremony.close(paperwork.closing_checkpoint(cast.ledger))
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.title == "Key retirement ceremony" and data.outcome == "Completed"
    assert data.location == "Archive room" and data.preflight_result == "cleared: no insecure finding"
    assert [e.serial for e in data.envelopes] == [zmk.serials[1], zmk.serials[2]]
    assert data.envelopes[0].custodian == "Cust1 (E0003)"
    assert data.envelopes[1].status.endswith("seal BROKEN: incident recorded")
    assert [k.kcv for k in data.kcvs] == [zmk.kcv.hex] and "retired" in data.kcvs[0].subject
    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    _assert_signed_and_recorded(cast, doc, ceremony.ceremony_id)
    _assert_steps_and_checkpoint(cast, doc.pdf, ceremony.ceremony_id)
    text = _text(doc.pdf)
    flat = _flat(text)
    assert "end of cryptoperiod" in text and "Key retirement ceremony" in text and "Archive room" in text
    assert _flat("Result: cleared: no insecure finding") in flat
    assert _flat(zmk.serials[1]) in flat and _flat(zmk.serials[2]) in flat
    assert "INCIDENT" in text and zmk.kcv.hex in flat and "Completed" in text
    _assert_no_share_material(doc.pdf, zmk.texts)


def test_recovery_components_get_acknowledgements_naming_their_receipt(cast, people, zmk) -> None:
    """Each fresh component's custodian signs its receipt (envelope serial), then an acknowledgement form
    naming that receipt; the PDFs are read back: holder, key label, component number, split."""
    holders = ("cust6", "cust7", "cust8")  # three components: the key's quorum of 3 is kept
    ceremony = start_components(people, zmk, holders, location="HSM room")
    open_and_enter(ceremony, people, zmk, (1, 2, 3))
    ceremony.rebuild()
    ceremony.make_components()
    split_id = ceremony.component_split_id
    assert split_id is not None
    ceremony.reveal_component(1, people("cust6")).wipe()
    with pytest.raises(FlowError, match="receipt of share 2"):
        paperwork.issue_acknowledgement_for(
            cast.ledger, ceremony.ceremony_id, split_id, 2, people("cust7"), people.witness
        )
    for number, name in enumerate(holders, start=1):
        if number > 1:
            ceremony.reveal_component(number, people(name)).wipe()
        ceremony.confirm_component_receipt(number, people(name), f"TE-HSM-{number:03d}")
    with pytest.raises(FlowError, match="signed by its custodian"):
        paperwork.issue_acknowledgement_for(
            cast.ledger, ceremony.ceremony_id, split_id, 2, people("cust6"), people.witness
        )
    for number, name in enumerate(holders, start=1):
        ack = paperwork.issue_acknowledgement_for(
            cast.ledger, ceremony.ceremony_id, split_id, number, people(name), people.witness
        )
        status, witnessed = validate_document(ack.pdf, [_cert(cast, name), _cert(cast, "walter")])
        assert status.ok and status.field_name == "Custodian" and status.signer == name.title()
        assert witnessed.ok and witnessed.field_name == "Witness"
        received = [
            e
            for e in _events(cast, ceremony.ceremony_id)
            if e.type == "share.received" and e.payload.get("split_id") == split_id
        ][number - 1]
        assert received.payload["person_id"] == people.id(name)
        text = _text(ack.pdf)
        flat = _flat(text)
        assert name.title() in text and "ZMK" in text and zmk.kcv.hex in flat
        assert _flat(f"Share number {number} of 3") in flat and _flat("XOR 3 components") in flat
        assert split_id in flat and f"#{received.seq}" in flat  # the receipt it acknowledges
        assert ack.record.subject.startswith(f"component {number} of 3 - {name.title()}")
        assert ack.record.file_name.endswith(".pdf") and ack.record.kind == "acknowledgement"
    ceremony.finish(paperwork.closing_checkpoint(cast.ledger))
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    split = [e for e in _events(cast, ceremony.ceremony_id) if e.type == "split.created"][-1]
    component_kcvs = [k.kcv for k in data.kcvs if k.subject.startswith("component")]
    assert component_kcvs == [str(split.payload["share_kcvs"][n]).upper() for n in "123"]
    assert data.location == "HSM room"
    sealed = [e for e in data.envelopes if e.status == "sealed and handed to the custodian"]
    assert [(e.serial, e.custodian.split(" (")[0]) for e in sealed] == [
        (f"TE-HSM-{n:03d}", name.title()) for n, name in enumerate(holders, start=1)
    ]
    assert _flat("Issued acknowledgement") in _flat(
        _text(
            paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness).pdf
        )
    )


def test_minutes_are_refused_before_the_end_and_from_the_wrong_people(cast, people, zmk) -> None:
    ceremony = start_wrapped(people, zmk)
    with pytest.raises(FlowError, match="close or void the ceremony first"):
        paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    ceremony.void("drill")
    sophie = cast.present("sophie", "witness")
    with pytest.raises(FlowError, match="own witness"):
        paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, sophie)
    with pytest.raises(FlowError, match="own administrator"):
        paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.witness, people.witness)
    with pytest.raises(FlowError, match="the start"):
        paperwork.minutes_data_for(cast.ledger, "NOSUCHCEREMONY")


async def test_async_minutes_inside_an_event_loop(cast, people, zmk) -> None:
    """The TUI's finish screens run in Textual's loop: the async variant signs there."""
    ceremony = start_wrapped(people, zmk)
    ceremony.void("drill")
    doc = await paperwork.async_issue_minutes_for(
        cast.ledger, ceremony.ceremony_id, people.admin, people.witness
    )
    statuses = await async_validate_document(doc.pdf, [_cert(cast, "alice"), _cert(cast, "walter")])
    assert [(s.field_name, s.ok) for s in statuses] == [("Administrator", True), ("Witness", True)]
    assert doc.record.kind == "minutes" and doc.record.sha256 == hashlib.sha256(doc.pdf).hexdigest()


# --- the lifecycle rehearsal writes them too ----------------------------------------------------------------
def _fast(name: str) -> str:
    return example_script(name).replace('kdf = "production"', 'kdf = "fast"')


def test_lifecycle_rehearsals_write_signed_minutes_into_the_manifest(tmp_path) -> None:
    ledger_path = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(_fast("3of5")), ledger_path, tmp_path / "papers")

    def run(text: str, out: str):
        return run_lifecycle(parse_lifecycle_script(text), ledger_path, tmp_path / out, base=tmp_path)

    reshared = run(_fast("reshare"), "reshared")
    text = _fast("recover-3of5").replace('shares_from = "papers"', 'shares_from = "reshared"')
    head = text[: text.index("\n[[steps]]")].replace('expect = "completed"', 'expect = "voided"')
    voided = run(
        head + '\n[[steps]]\nshare = 1\n\n[[steps]]\nrebuild = true\nexpect = "refused: below threshold"\n',
        "voided",
    )
    retired = run(_fast("retire").replace('shares_from = "papers"', 'shares_from = "reshared"'), "retired")
    assert (reshared.outcome, voided.outcome, retired.outcome) == ("completed", "voided", "completed")
    with Ledger.open(ledger_path, read_only=True) as ledger:
        issued = {e.payload["sha256"]: e for e in ledger.events() if e.type == "document.issued"}
        for result in (reshared, voided, retired):
            manifest = json.loads((result.out_dir / "manifest.json").read_text())
            (minutes,) = [d for d in manifest["documents"] if d["kind"] == "minutes"]
            pdf = (result.out_dir / minutes["path"]).read_bytes()
            assert minutes["path"] == f"minutes-{result.ceremony_id}.pdf"
            assert minutes["sha256"] == hashlib.sha256(pdf).hexdigest()
            record = issued[minutes["sha256"]]
            assert record.payload["ceremony_id"] == result.ceremony_id and record.payload["kind"] == "minutes"
            statuses = validate_document(pdf, [p.certificate for p in enrolled.participants(ledger)])
            assert [s.field_name for s in statuses] == ["Administrator", "Witness"] and all(
                s.ok for s in statuses
            )
            outcome = "Voided" if result is voided else "Completed"
            assert outcome in _text(pdf)
            # The closing checkpoint in the manifest covers the minutes' own record.
            assert Checkpoint.parse(manifest["closing_checkpoint"]).size >= record.seq
        documents = json.loads((reshared.out_dir / "manifest.json").read_text())["documents"]
        acks = [d for d in documents if d["kind"] == "acknowledgement"]
        cards = [d for d in documents if d["kind"] == "share_card"]
        assert len(acks) == len(cards) >= 2  # one per new share
        assert [d["subject"] for d in acks] == [d["subject"] for d in cards]
        assert all(d["path"].startswith("acknowledgements/") for d in acks)
        for doc in acks:
            pdf = (reshared.out_dir / doc["path"]).read_bytes()
            assert issued[hashlib.sha256(pdf).hexdigest()].payload["kind"] == "acknowledgement"
            status, witnessed = validate_document(pdf, [p.certificate for p in enrolled.participants(ledger)])
            assert status.ok and status.field_name == "Custodian"
            assert witnessed.ok and witnessed.field_name == "Witness"
