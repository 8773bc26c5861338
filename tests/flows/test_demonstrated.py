"""Knowledge shown is knowledge recorded (issue 13 deliverable 3, DESIGN §3).

A person who types a valid share that was not theirs — in a verification round (generation, re-share) or
in a recovery (a share of the split being recovered held by someone else, or a share of another split of
the key) — has shown they know it. The flows record the exposure (kind "demonstrated", signed by the
administrator and the witness) and an incident, stop until a security officer decides, and cannot go on at
all when the custody rule no longer holds. Real ledgers and real flows."""

from __future__ import annotations

import pytest
from lifecycle_support import (
    Generated,
    People,
    distribute,
    generate,
    open_and_enter,
    start_reshare,
    start_wrapped,
    tampered,
    wrap_components,
)

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import (
    CustodyViolationError,
    DemonstratedKnowledgeError,
    DualControlError,
    RetiredShareError,
)
from ceremony.flows.common import SplitPlan
from ceremony.flows.generation import GenerationCeremony, KeySpec
from ceremony.ledger.verify import verify_ledger

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def _events(cast, event_type: str) -> list:
    return [e for e in cast.ledger.events() if e.type == event_type]


def _issued(ceremony, people: People, names) -> dict[int, bytearray]:
    """Reveal each share to its custodian (who writes it down) and sign the receipts."""
    typed: dict[int, bytearray] = {}
    for number, name in enumerate(names, start=1):
        shown = ceremony.reveal(number, people(name))
        typed[number] = bytearray(shown.view())
        shown.wipe()
        ceremony.confirm_receipt(number, people(name), f"ENV-{number:03d}", "recorded")
    return typed


def _assert_demonstrated(cast, people: People, person: str, split_id: str, number: int, error) -> None:
    exposure = _events(cast, "share.exposed")[-1]
    incident = _events(cast, "incident.recorded")[-1]
    assert exposure.payload["kind"] == "demonstrated"
    about = exposure.payload
    assert (about["person_id"], about["split_id"]) == (people.id(person), split_id)
    assert about["share_number"] == number
    assert set(exposure.actors) == {people.id("alice"), people.id("walter")}  # administrator + witness
    assert incident.payload["kind"] == "demonstrated_knowledge" and incident.seq == error.incident_seq
    assert incident.payload["share_number"] == number and people.id(person) in incident.payload["what"]
    assert set(incident.actors) == {people.id("alice"), people.id("walter")}


def test_verification_round_another_custodians_share_is_demonstrated_knowledge(cast, people):
    names = ("cust1", "cust2", "cust3", "cust4", "cust5")
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "generate ZMK")
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, "ZMK", "PIN zone master key", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 3, tuple(people.id(n) for n in names)))
    ceremony.generate()
    typed = _issued(ceremony, people, names)
    assert ceremony.verify_share(2, people("cust2"), bytearray(typed[2]))
    # cust1, asked for share 1, types share 2 (cust2's): today this was "differs from the issued share".
    with pytest.raises(DemonstratedKnowledgeError) as caught:
        ceremony.verify_share(1, people("cust1"), bytearray(typed[2]))
    error = caught.value
    # cust1 now knows shares 1 and 2 of a 3-of-5: with any holder of a third share, two people rebuild it.
    assert error.broken and len(error.coalition) == 2 and people.id("cust1") in error.coalition
    assert "not theirs" in str(error) and "void" in str(error) and error.exit_code == 5
    assert ceremony.split_id is not None
    _assert_demonstrated(cast, people, "cust1", ceremony.split_id, 2, error)
    broken = cast.ledger.custody().broken(ceremony.key_id)
    assert broken is not None and broken.size == 2 and people.id("cust1") in broken.members

    # Nothing goes on: no verification, no reveal, no card, no wipe.
    with pytest.raises(DemonstratedKnowledgeError, match=f"incident #{error.incident_seq}"):
        ceremony.verify_share(1, people("cust1"), bytearray(typed[1]))
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.verify_share(3, people("cust3"), bytearray(typed[3]))
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.share_for_card(3, people("cust3"))
    assert ceremony.blocking_incident is not None
    # The officer cannot let it continue (the rule broke), the typist cannot decide, the witness is not one.
    officer = people("sophie", "security_officer")
    with pytest.raises(DualControlError, match="security officer"):
        ceremony.decide_incident(people.witness, "void", "x")
    with pytest.raises(CustodyViolationError, match="cannot be decided 'continue'"):
        ceremony.decide_incident(officer, "continue", "looks fine")
    ceremony.decide_incident(officer, "void", "cust1 knows two shares: the key is replaced")
    decided = _events(cast, "incident.decided")[-1].payload
    assert decided["incident_seq"] == error.incident_seq and decided["decision"] == "void"
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.verify_share(3, people("cust3"), bytearray(typed[3]))
    ceremony.void("demonstrated knowledge: generation voided")
    assert _events(cast, "split.retired")[-1].payload["split_id"] == ceremony.split_id
    verify_ledger(cast.ledger.path)


def test_verification_round_a_wrong_share_is_still_a_typo(cast, people):
    """A share that is not the one issued under any number is a transcription error, recorded as before."""
    names = ("cust1", "cust2", "cust3")
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "generate PVK")
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, "PVK", "PIN verification", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in names)))
    ceremony.generate()
    typed = _issued(ceremony, people, names)
    assert not ceremony.verify_share(1, people("cust1"), tampered(typed[2]))
    assert _events(cast, "share.verified")[-1].payload["reason"] == "differs from the issued share"
    assert not _events(cast, "incident.recorded")
    for number, name in enumerate(names, start=1):
        assert ceremony.verify_share(number, people(name), bytearray(typed[number]))
    ceremony.wipe()
    ceremony.close()
    verify_ledger(cast.ledger.path)


def test_reshare_verification_demonstrated_but_rule_holds_the_officer_lets_it_continue(cast, people):
    """A key of quorum 2 re-shared 3-of-4: a new custodian who types another new share knows two shares of a
    3-of-4 split, so two people could rebuild it — still the key's quorum. The officer decides; it goes on."""
    pvk = generate(people, ("cust1", "cust2", "cust3"), 2, label="PVK")
    new_names = ("cust6", "cust7", "cust8", "cust9")
    plan = SplitPlan(Scheme.SHAMIR, 3, tuple(people.id(n) for n in new_names))
    reshare = start_reshare(people, pvk.key_id, plan)
    open_and_enter(reshare, people, pvk, (1, 2))
    reshare.rebuild()
    reshare.reshare()
    typed = _issued(reshare, people, new_names)
    with pytest.raises(DemonstratedKnowledgeError) as caught:
        reshare.verify_share(1, people("cust6"), bytearray(typed[3]))
    assert not caught.value.broken
    _assert_demonstrated(cast, people, "cust6", reshare.new_split_id, 3, caught.value)
    assert cast.ledger.custody().broken(pvk.key_id) is None
    with pytest.raises(DemonstratedKnowledgeError, match="until a security officer decides"):
        reshare.verify_share(2, people("cust7"), bytearray(typed[2]))
    assert reshare.distribution is not None
    reshare.distribution.decide_incident(
        people("sophie", "security_officer"), "continue", "quorum 2 still holds; cust6 briefed"
    )
    for number, name in enumerate(new_names, start=1):
        assert reshare.verify_share(number, people(name), bytearray(typed[number]))
    reshare.finish()
    assert cast.ledger.custody().smallest_coalition(pvk.key_id).size == 2
    verify_ledger(cast.ledger.path)


def test_recovery_a_share_held_by_someone_else_is_demonstrated_knowledge(cast, people):
    zmk = generate(people, FIVE, 3)
    ceremony = start_wrapped(people, zmk)
    open_and_enter(ceremony, people, zmk, (1,))
    me = people(zmk.holder_of(3))
    ceremony.inspect_envelope(3, me, zmk.serials[3], True, True)
    # The holder of share 3 types share 2 (cust2's card): today only a refusal (DualControlError).
    with pytest.raises(DemonstratedKnowledgeError) as caught:
        ceremony.enter_share(me, bytearray(zmk.texts[2]))
    error = caught.value
    _assert_demonstrated(cast, people, "cust3", zmk.split_id, 2, error)
    refused = _events(cast, "recovery.share_refused")[-1].payload
    assert refused["reason"] == "DemonstratedKnowledgeError" and refused["share_number"] == 2
    assert error.broken and "cannot continue on split" in str(error)
    assert ceremony.progress.text == "1 of 3"
    # Every further entry is refused, and recorded as refused; the rebuild too.
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.enter_share(me, bytearray(zmk.texts[3]))
    assert _events(cast, "recovery.share_refused")[-1].payload["reason"] == "DemonstratedKnowledgeError"
    officer = people("sophie", "security_officer")
    with pytest.raises(CustodyViolationError):
        ceremony.decide_demonstrated(officer, "continue", "no")
    ceremony.decide_demonstrated(officer, "void", "cust3 knows two shares of the split")
    with pytest.raises(DemonstratedKnowledgeError, match="void"):
        ceremony.enter_share(me, bytearray(zmk.texts[3]))
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.rebuild()
    ceremony.void("demonstrated knowledge")
    assert cast.ledger.custody().broken(zmk.key_id) is not None
    verify_ledger(cast.ledger.path)


def test_recovery_a_share_of_another_split_of_the_key_is_demonstrated_knowledge(cast, people):
    """A 2-of-3 key re-shared 2-of-3 to new custodians; in a recovery of the new split, a new custodian types
    a share of the old (retired) split that was never theirs: checked against that split's commitments,
    recorded as knowledge. The rule holds (two people, the quorum): the officer lets the recovery go on."""
    pvk = generate(people, ("cust1", "cust2", "cust3"), 2, label="PVK")
    new_names = ("cust4", "cust5", "cust6")
    plan = SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in new_names))
    reshare = start_reshare(people, pvk.key_id, plan)
    open_and_enter(reshare, people, pvk, (1, 2))
    reshare.rebuild()
    reshare.reshare()
    new = Generated(pvk.key_id, reshare.new_split_id, pvk.kcv, dict(enumerate(new_names, start=1)))
    distribute(reshare, people, new, "NEW")
    reshare.finish()

    ceremony = start_wrapped(people, new)
    me = people("cust4")
    with pytest.raises(DemonstratedKnowledgeError) as caught:
        ceremony.enter_share(me, bytearray(pvk.texts[1]))  # cust1's share of the old split
    assert not caught.value.broken
    _assert_demonstrated(cast, people, "cust4", pvk.split_id, 1, caught.value)
    # The old split's own holder typing their old card learns nothing new: only the usual refusal.
    incidents = len(_events(cast, "incident.recorded"))
    ceremony.decide_demonstrated(people("sophie", "security_officer"), "continue", "old card seen; briefed")
    with pytest.raises(RetiredShareError):
        ceremony.enter_share(people("cust2"), bytearray(pvk.texts[2]))
    assert len(_events(cast, "incident.recorded")) == incidents
    open_and_enter(ceremony, people, new, (1, 2))
    ceremony.rebuild()
    _wrapped, kek = wrap_components(ceremony, people)
    kek.wipe()
    ceremony.finish()
    assert cast.ledger.custody().smallest_coalition(pvk.key_id).size == 2
    verify_ledger(cast.ledger.path)
