"""The words of the signed minutes (issue 14 part 2, item 1): real ceremonies on a real ledger, their minutes
rendered, signed and read back from the PDF. No "None", no raw ledger event type, no step said twice."""

from __future__ import annotations

import io
import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from flow_support import passphrase_of
from lifecycle_support import CLEAR, People, generate, open_and_enter, start_wrapped, wrap_components
from pypdf import PdfReader

from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.errors import WrongPassphraseError
from ceremony.flows import paperwork
from ceremony.flows.cards import card_printed, print_share_card
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence
from ceremony.ledger.schema import REGISTRY

SPEC = KeySpec(KeyType.AES_256, "ZMK minutes", "PIN zone master key", 365)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _steps(cast, ceremony_id: str) -> list[str]:
    """The step descriptions the minutes were built with (one per ledger event of the ceremony)."""
    return [s.description for s in paperwork.minutes_data_for(cast.ledger, ceremony_id).steps]


def _assert_plain_words(text: str, steps: list[str]) -> None:
    flat = re.sub(r"\s+", " ", text)
    # Paperwork never prints "None" (an empty table says "Nothing recorded."): it is always a missing value.
    assert not re.search(r"\bNone\b", flat), flat
    assert "share.card_" not in flat and "card_delivered" not in flat and "card_wiped" not in flat
    dotted = {m for m in re.findall(r"\b[a-z]+\.[a-z_]+\b", flat) if m in REGISTRY}
    assert not dotted, dotted
    for step in steps:
        assert not re.search(r"\bNone\b", step) and step not in REGISTRY, step
        assert not any(name in step for name in REGISTRY), step
    twice = [s for s, n in Counter(steps).items() if n > 1]
    assert not twice, twice


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def test_generation_minutes_with_a_printed_card_say_each_step_once(cast, people) -> None:
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "card minutes")
    ceremony.record_preflight(CLEAR, uncovered=[])
    custodians = ("cust1", "cust2", "cust3")
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in custodians)))
    ceremony.generate()
    ram = Path(tempfile.mkdtemp(dir="/dev/shm"))
    texts: dict[int, bytearray] = {}
    for number, name in enumerate(custodians, start=1):
        me = people(name)
        typed = ceremony.reveal(number, me)
        texts[number] = bytearray(typed.view())
        typed.wipe()
        serial = f"MIN-{number:05d}"
        if number == 3:  # share 3 is printed on a card, the card file wiped after printing
            delivery = print_share_card(cast.ledger, ceremony, number, me, serial, f"ram:{ram}")
            card_printed(ceremony, delivery, me)
            ceremony.confirm_receipt(number, me, serial, "card")
        else:
            ceremony.confirm_receipt(number, me, serial, "recorded")
        assert ceremony.verify_share(number, me, bytearray(texts[number]))
    ceremony.wipe()
    ceremony.close(paperwork.closing_checkpoint(cast.ledger))
    doc = paperwork.issue_minutes(cast.ledger, ceremony)
    text = _text(doc.pdf)
    steps = _steps(cast, ceremony.ceremony_id)
    _assert_plain_words(text, steps)
    flat = re.sub(r"\s+", " ", text)
    assert "Share 3 shown privately" in flat and flat.count("Share 3 shown privately") == 1
    card_steps = [s for s in steps if "card" in s.lower() and "Share 3" in s]
    assert any("printed" in s for s in card_steps), steps
    assert any("delivered" in s for s in card_steps), steps
    assert any("wiped" in s for s in card_steps), steps


def test_recovery_minutes_after_a_wrong_passphrase_name_no_share_none(cast, people) -> None:
    zmk = generate(people, ("cust1", "cust2", "cust3", "cust4", "cust5"), 3)
    ceremony = start_wrapped(people, zmk, location="Vault room")
    presence = Presence(cast.ledger, ceremony.ceremony_id, present=[people.admin, people.witness])
    with pytest.raises(WrongPassphraseError):  # cust2 mistypes once before presenting anything
        presence.authenticate(people.id("cust2"), SecretBytes(b"not the passphrase"), "custodian")
    cust2 = presence.authenticate(people.id("cust2"), passphrase_of("cust2"), "custodian")
    failed = [e for e in cast.ledger.events() if e.type == "auth.failed"]
    assert failed and failed[-1].payload.get("ceremony_id") == ceremony.ceremony_id
    for number in (1, 2, 4):
        me = cust2 if number == 2 else people(zmk.holder_of(number))
        ceremony.inspect_envelope(number, me, zmk.serials[number], True, True)
        ceremony.enter_share(me, bytearray(zmk.texts[number]))
    ceremony.rebuild()
    wrap_components(ceremony, people)[1].wipe()
    ceremony.finish(paperwork.closing_checkpoint(cast.ledger))
    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    text = _text(doc.pdf)
    _assert_plain_words(text, _steps(cast, ceremony.ceremony_id))
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    roles = {p.person.name: p.person.role for p in data.participants}
    assert roles["Cust2"] == "Key custodian (presented share 2)"
    assert "Wrong passphrase" in text


def test_a_custodian_who_presented_no_share_is_named_so_never_none(cast, people) -> None:
    """cust4 authenticates and offers something from which no share was read (a refusal recorded with share
    number 0): the minutes call them a custodian who "presented no share" and the step "an entry that could
    not be read as a share", never "presented share None" / "Refused share None" / "share 0"."""
    zmk = generate(people, ("cust1", "cust2", "cust3", "cust4", "cust5"), 3)
    ceremony = start_wrapped(people, zmk, location="Vault room")
    cust4 = people("cust4")
    cast.ledger.append(
        "recovery.share_refused",
        {
            "ceremony_id": ceremony.ceremony_id,
            "person_id": cust4.person_id,
            "split_id": ceremony.split_id,
            "share_number": 0,
            "reason": "ShareFormatError",
            "entered_key_id": "",
            "entered_split_id": "",
        },
        [cust4.person_id],
        [cust4, people.witness],
    )
    open_and_enter(ceremony, people, zmk, (1, 2, 3))
    ceremony.rebuild()
    wrap_components(ceremony, people)[1].wipe()
    ceremony.finish(paperwork.closing_checkpoint(cast.ledger))
    doc = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    text = _text(doc.pdf)
    steps = _steps(cast, ceremony.ceremony_id)
    _assert_plain_words(text, steps)
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    roles = {p.person.name: p.person.role for p in data.participants}
    assert roles["Cust4"] == "Key custodian (presented no share)"
    assert roles["Cust1"] == "Key custodian (presented share 1)"  # no "no share" beside a real one
    assert any(s.startswith("Refused an entry that could not be read as a share") for s in steps), steps
    flat = re.sub(r"\s+", " ", text)
    assert "presented no share" in flat and "share 0" not in flat
