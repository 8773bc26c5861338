"""Recovery outputs are custody splits (issue 13, DESIGN §3): fresh XOR components, or a wrapped file plus the
KEK's components, hand the key to people in a new form, so the planned output is checked in a dry run of the
custody rule at the start — before any envelope is opened — and refused when fewer people than the key's
quorum could rebuild it, unless a security officer and a witness first record ``key.quorum_lowered``.

Real ledgers, real flows; the refusal exits 5 (a policy error) and names the coalition."""

from __future__ import annotations

import pytest
from lifecycle_support import (
    People,
    generate,
    open_and_enter,
    receive_components,
    start_components,
    start_wrapped,
    wrap_components,
)

from ceremony.crypto.kcv import aes_kcv
from ceremony.errors import CustodyViolationError, DualControlError, InputError, PolicyError
from ceremony.flows.quorum import lower_quorum
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


@pytest.fixture
def zmk(people):
    return generate(people, FIVE, 3)


def _types(cast) -> list[str]:
    return [e.type for e in cast.ledger.events()]


def _custody_report(cast, key_id: str) -> dict:
    """The custody report's record of the key (one per split of it, each with the key's coalition)."""
    with Ledger.open_for_reading(cast.ledger.path) as ledger:
        facts = read_facts(ledger)
    assert facts.last_time is not None
    records = build_report("custody", facts, Filters(key_id=key_id), facts.last_time).records
    assert records and len({str(r["smallest_coalition"]) for r in records}) == 1
    return records[0]


def _lower(cast, people: People, key_id: str, quorum: int, reason: str, coalition=()):
    return lower_quorum(
        cast.ledger,
        key_id,
        quorum,
        reason,
        people("sophie", "security_officer"),
        people.witness,
        coalition=coalition,
    )


def test_wrap_under_two_kek_components_of_a_3_of_5_key_is_refused_until_the_quorum_is_lowered(
    cast, people, zmk
):
    """The issue's scenario: the holders of shares 1 and 3 would bring the two KEK components."""
    kek_holders = ("cust1", "cust3")
    size = cast.ledger.size()
    with pytest.raises(CustodyViolationError) as refused:
        start_wrapped(people, zmk, kek_custodians=kek_holders)
    message = str(refused.value)
    assert "2 people" in message and "quorum of 3" in message and "key.quorum_lowered" in message
    assert people.id("cust1") in message and people.id("cust3") in message
    assert refused.value.exit_code == 5 and isinstance(refused.value, PolicyError)
    assert cast.ledger.size() == size  # refused before anything is recorded: no envelope opened

    decision = _lower(
        cast,
        people,
        zmk.key_id,
        2,
        "HSM-2 takes a KEK of two components only; ticket SEC-200",
        [people.id(n) for n in kek_holders],
    )
    assert decision.type == "key.quorum_lowered"
    assert cast.ledger.custody().quorum(zmk.key_id) == 2

    ceremony = start_wrapped(people, zmk, kek_custodians=kek_holders)
    started = [e for e in cast.ledger.events() if e.type == "ceremony.started"][-1].payload
    assert started["kek_custodians"] == [people.id(n) for n in kek_holders]
    open_and_enter(ceremony, people, zmk, (1, 2, 3))
    ceremony.rebuild()
    wrapped, kek = wrap_components(ceremony, people)
    assert wrapped.kek_kcv.matches(aes_kcv(kek.material))
    kek.wipe()
    ceremony.finish()

    coalition = cast.ledger.custody().smallest_coalition(zmk.key_id)
    assert coalition.size == 2 and coalition.transport_id is not None
    assert set(coalition.members) == {people.id("cust1"), people.id("cust3")}
    record = _custody_report(cast, zmk.key_id)
    assert record["smallest_coalition"]["size"] == 2 and record["quorum"] == 2
    assert record["rule_broken"] is False
    verify_ledger(cast.ledger.path)


def test_a_known_kek_counts_what_was_known_of_it_before(cast, people, zmk):
    """With the KEK's KCV given at the start, earlier knowledge of that KEK counts in the dry run: its
    components were entered before by two people, so wrapping a quorum-3 key under it is refused."""
    other = generate(people, ("cust1", "cust2", "cust3"), 2, label="BDK")
    first = start_wrapped(people, other, kek_custodians=("cust8", "cust9"))
    open_and_enter(first, people, other, (1, 2))
    first.rebuild()
    wrapped, kek = wrap_components(first, people)
    kek.wipe()
    first.finish()
    # The same KEK again, now planned with three custodians — but cust8 and cust9 know all of it already.
    with pytest.raises(CustodyViolationError, match=r"2 people .*quorum of 3") as refused:
        start_wrapped(
            people, zmk, kek_custodians=("cust7", "cust8", "cust9"), kek_kcv_hex=wrapped.kek_kcv.hex
        )
    assert wrapped.kek_kcv.hex in str(refused.value)
    # Unknown KEK: the placeholder plan of three custodians passes.
    start_wrapped(people, zmk, kek_custodians=("cust7", "cust8", "cust9")).void("test")
    verify_ledger(cast.ledger.path)


def test_kek_custodians_are_planned_distinct_and_outside_the_control_roles(cast, people, zmk):
    with pytest.raises(InputError, match="at least two"):
        start_wrapped(people, zmk, kek_custodians=("cust7",))
    with pytest.raises(DualControlError, match="named twice"):
        start_wrapped(people, zmk, kek_custodians=("cust7", "cust7", "cust8"))
    with pytest.raises(DualControlError, match="administrator"):
        start_wrapped(people, zmk, kek_custodians=("cust7", "alice", "cust8"))
    with pytest.raises(DualControlError, match="witness"):
        start_wrapped(people, zmk, kek_custodians=("walter", "cust7", "cust8"))


def test_a_3_of_5_key_recovered_into_two_components_is_refused_until_the_quorum_is_lowered(cast, people, zmk):
    size = cast.ledger.size()
    with pytest.raises(CustodyViolationError) as refused:
        start_components(people, zmk, ("cust6", "cust7"))
    message = str(refused.value)
    assert "2 people" in message and "quorum of 3" in message
    assert people.id("cust6") in message and people.id("cust7") in message
    assert refused.value.exit_code == 5 and cast.ledger.size() == size

    _lower(cast, people, zmk.key_id, 2, "HSM-3 takes two XOR components; ticket SEC-201")
    ceremony = start_components(people, zmk, ("cust6", "cust7"))
    open_and_enter(ceremony, people, zmk, (2, 4, 5))
    ceremony.rebuild()
    assert ceremony.make_components().matches(zmk.kcv)
    receive_components(ceremony, people, ("cust6", "cust7"), "HSM3")
    ceremony.finish()
    coalition = cast.ledger.custody().smallest_coalition(zmk.key_id)
    assert coalition.size == 2 and set(coalition.members) == {people.id("cust6"), people.id("cust7")}
    assert _custody_report(cast, zmk.key_id)["smallest_coalition"]["size"] == 2
    verify_ledger(cast.ledger.path)


def test_a_3_of_5_key_recovered_into_three_components_keeps_a_coalition_of_three(cast, people, zmk):
    ceremony = start_components(people, zmk, ("cust6", "cust7", "cust8"))
    open_and_enter(ceremony, people, zmk, (1, 3, 5))
    ceremony.rebuild()
    ceremony.make_components()
    receive_components(ceremony, people, ("cust6", "cust7", "cust8"), "HSM3")
    ceremony.finish()
    custody = cast.ledger.custody()
    assert custody.smallest_coalition(zmk.key_id).size == 3 and custody.quorum(zmk.key_id) == 3
    assert "key.quorum_lowered" not in _types(cast)
    assert _custody_report(cast, zmk.key_id)["smallest_coalition"]["size"] == 3
    verify_ledger(cast.ledger.path)


def test_lower_quorum_checks_who_decides_and_what(cast, people, zmk):
    officer, witness = people("sophie", "security_officer"), people.witness
    with pytest.raises(InputError, match="reason"):
        lower_quorum(cast.ledger, zmk.key_id, 2, "  ", officer, witness)
    with pytest.raises(CustodyViolationError, match="never below 2"):
        lower_quorum(cast.ledger, zmk.key_id, 1, "x", officer, witness)
    with pytest.raises(InputError, match="must be lower"):
        lower_quorum(cast.ledger, zmk.key_id, 3, "x", officer, witness)
    with pytest.raises(DualControlError, match="security officer"):
        lower_quorum(cast.ledger, zmk.key_id, 2, "x", people.admin, witness)
    with pytest.raises(DualControlError):
        lower_quorum(cast.ledger, zmk.key_id, 2, "x", officer, people("sophie", "witness"))
    with pytest.raises(InputError, match="no key"):
        lower_quorum(cast.ledger, "NOSUCHKEY1", 2, "x", officer, witness)
    assert "key.quorum_lowered" not in _types(cast)
    event = lower_quorum(cast.ledger, zmk.key_id, 2, "approved", officer, witness)
    assert event.payload["quorum"] == 2 and cast.ledger.custody().quorum(zmk.key_id) == 2
    with pytest.raises(InputError, match="must be lower"):
        lower_quorum(cast.ledger, zmk.key_id, 2, "again", officer, witness)
    verify_ledger(cast.ledger.path)


def test_the_ledger_refuses_a_key_wrapped_below_the_quorum(cast, people, zmk):
    """A key.wrapped written straight through the ledger API, with real signatures of the administrator and
    the witness, naming two KEK custodians for a key of quorum 3: the ledger refuses it at write."""
    ceremony_id = "FORGEDWRAP1"
    admin, witness = people.admin, people.witness
    cast.ledger.append(
        "ceremony.started",
        {
            "ceremony_id": ceremony_id,
            "kind": "recovery",
            "purpose": "forged wrap",
            "rehearsal": False,
            "key_id": zmk.key_id,
        },
        [admin.person_id, witness.person_id],
        [admin, witness],
    )
    size = cast.ledger.size()
    payload = {
        "ceremony_id": ceremony_id,
        "key_id": zmk.key_id,
        "algorithm": "AES-KWP (RFC 5649)",
        "key_kcv_hex": zmk.kcv.value.hex(),
        "kek_label": "forged KEK",
        "kek_source": "components",
        "kek_kcv_hex": "0102030405",
        "kek_kcv_method": "AES-CMAC-X9.24",
        "kek_custodians": [people.id("cust7"), people.id("cust8")],
        "kek_component_kcvs": ["1111111111", "2222222222"],
        "kek_component_method": "AES-CMAC-X9.24",
        "wrapped_length": 40,
        "wrapped_sha256": "ab" * 32,
    }
    with pytest.raises(CustodyViolationError, match="quorum of 3"):
        cast.ledger.append("key.wrapped", payload, [admin.person_id, witness.person_id], [admin, witness])
    assert cast.ledger.size() == size
    # Three custodians: the same forged-shape event is accepted (the ledger checks custody, not crypto).
    payload["kek_custodians"].append(people.id("cust9"))
    payload["kek_component_kcvs"].append("3333333333")
    cast.ledger.append("key.wrapped", payload, [admin.person_id, witness.person_id], [admin, witness])
    verify_ledger(cast.ledger.path)
