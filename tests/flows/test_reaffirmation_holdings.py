"""The reaffirmation and acknowledgement say what is true (issue 15, item 6): a custodian who holds shares
of an old and a new split of one key is not made to sign "I have never held two shares of the same key";
the reaffirmation lists, from the ledger, everything they ever held or saw, split by split, and what
rebuilding each key takes; an envelope of a retired split that was never returned is still listed as held;
and a custodian who alone knows enough to rebuild a key in use cannot sign a reaffirmation that says
otherwise. Real ledgers, real signed PDFs read back with pypdf."""

from __future__ import annotations

import io
import re

import pytest
from lifecycle_support import (
    Generated,
    People,
    distribute,
    generate,
    open_and_enter,
    start_reshare,
    start_wrapped,
)
from pypdf import PdfReader

from ceremony.crypto.share import Scheme
from ceremony.errors import CustodyViolationError, DemonstratedKnowledgeError
from ceremony.flows.common import SplitPlan
from ceremony.flows.paperwork import issue_acknowledgement_for
from ceremony.flows.reaffirmation import Reaffirmation, knowledge_of
from ceremony.flows.reshare import ReshareReason
from ceremony.ledger.verify import verify_ledger
from ceremony.reports.model import read_facts

FALSE_CLAIM = "never held, seen or accepted two components or shares of the same key"


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def _text(pdf: bytes) -> str:
    """The PDF's text with its line breaks (and the hyphen-free wrapping of reportlab) folded to spaces."""
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", raw)


def _reshare_keeping_cust1(people: People) -> tuple[Generated, Generated]:
    """A 2-of-3 ZMK (cust1..3) re-shared 2-of-3 to cust4, cust1, cust5: cust1 holds share 1 of the old split
    (its envelope never returned) and share 2 of the new one."""
    old = generate(people, ("cust1", "cust2", "cust3"), 2, label="ZMK")
    names = ("cust4", "cust1", "cust5")
    plan = SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in names))
    ceremony = start_reshare(people, old.key_id, plan, ReshareReason.CUSTODIAN_CHANGE)
    open_and_enter(ceremony, people, old, (2, 3))
    ceremony.rebuild()
    kcv = ceremony.reshare()
    new = Generated(old.key_id, ceremony.new_split_id, kcv, dict(enumerate(names, start=1)))
    distribute(ceremony, people, new, "NEW")
    ceremony.finish()
    return old, new


def _reaffirm(cast, people: People, name: str) -> bytes:
    flow = Reaffirmation(cast.ledger)
    record = flow.record(people(name), people("sophie", "security_officer"), flow.wording())
    return record.pdf


def test_shares_of_an_old_and_a_new_split_are_stated_as_they_are(cast, people):
    old, new = _reshare_keeping_cust1(people)
    text = _text(_reaffirm(cast, people, "cust1"))

    assert FALSE_CLAIM not in text
    # Everything cust1 ever held or saw of the ZMK, split by split, with what rebuilding it takes.
    assert "Everything I have held or seen" in text
    assert f"split {old.split_id} (Shamir 2-of-3, retired" in text
    assert f"split {new.split_id} (Shamir 2-of-3)" in text
    assert text.count("2 different shares of this split") == 2
    # What PCI DSS 3.7.6 asks: never enough to rebuild a key alone, never a second share of one split.
    assert "Nothing I hold or have seen is enough for me to rebuild any key in use alone" in text
    assert "any second share of a split I already hold a share of" in text
    # The old split's envelope was never returned: cust1 still holds it, and the form says so.
    assert f"{old.serials[1]}" in text and "split retired" in text
    assert f"{new.serials[2]}" in text
    assert "Components currently held (2)" in text
    verify_ledger(cast.ledger.path)


def test_knowledge_rows_name_a_typed_share_and_a_kek_component(cast, people):
    """3-of-5: cust3 types cust2's share in a recovery (demonstrated knowledge; the rule still holds: two
    shares of five, quorum three); the officer lets the recovery go on and cust7 types a KEK component. The
    rows say so: "shares 2 and 3", the typed one named, and the KEK component."""
    zmk = generate(people, ("cust1", "cust2", "cust3", "cust4", "cust5"), 3)
    recovery = start_wrapped(people, zmk)
    open_and_enter(recovery, people, zmk, (1,))
    me = people("cust3")
    recovery.inspect_envelope(3, me, zmk.serials[3], True, True)
    with pytest.raises(DemonstratedKnowledgeError):
        recovery.enter_share(me, bytearray(zmk.texts[2]))
    recovery.void("demonstrated knowledge")
    facts = read_facts(cast.ledger)
    rows = knowledge_of(facts, people.id("cust3"))
    assert len(rows) == 1
    assert rows[0].mine.startswith("shares 2 and 3; share 2 typed though not issued to me (event #")
    assert rows[0].needed == "3 different shares of this split"
    # Two shares of a 3-of-5 split: not enough alone, so cust3 may still reaffirm, and the form is true.
    text = _text(_reaffirm(cast, people, "cust3"))
    assert "shares 2 and 3" in text and "typed though not issued to me" in text
    verify_ledger(cast.ledger.path)


def test_a_custodian_who_alone_can_rebuild_a_key_cannot_sign_that_they_cannot(cast, people):
    """2-of-3: cust3 types cust2's share (demonstrated): cust3 alone knows two shares, the quorum. The
    reaffirmation's custody statement would be untrue, so it is refused, naming the key and the split, and
    nothing is recorded."""
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    recovery = start_wrapped(people, zmk)
    me = people("cust3")
    recovery.inspect_envelope(3, me, zmk.serials[3], True, True)
    with pytest.raises(DemonstratedKnowledgeError):
        recovery.enter_share(me, bytearray(zmk.texts[2]))
    recovery.void("demonstrated knowledge")
    before = cast.ledger.size()
    flow = Reaffirmation(cast.ledger)
    with pytest.raises(
        CustodyViolationError, match=rf"alone knows enough to rebuild key ZMK .*{zmk.split_id}"
    ):
        flow.record(me, people("sophie", "security_officer"), flow.wording())
    assert cast.ledger.size() == before
    # Others are not affected: cust1 reaffirms.
    assert FALSE_CLAIM not in _text(_reaffirm(cast, people, "cust1"))


def test_acknowledgement_names_the_split_and_the_rule_as_it_is(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    ceremony_id = read_facts(cast.ledger).splits[zmk.split_id].ceremony_id
    signed = issue_acknowledgement_for(
        cast.ledger, ceremony_id, zmk.split_id, 1, people("cust1"), people.witness
    )
    text = _text(signed.pdf)
    assert "more than one component or share of the same key" not in text
    assert f"I will never accept a second share or component of split {zmk.split_id}" in text
    assert "nor enough shares or components of any key, by any split or route, to rebuild it alone" in text
