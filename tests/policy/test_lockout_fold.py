"""The lockout fold (ceremony.policy.lockout): who is locked out after wrong passphrases, from the ledger.

Unit cases name the rules one by one; a hypothesis property test checks random histories of failures,
successes (events a person signs) and lifts against a reference written differently: it splits each
person's marks after their last lift into runs of failures separated by successes, and locks at the third
failure of the first run that has three.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.ledger import schema as sc
from ceremony.ledger.canonical import canonical_text
from ceremony.ledger.events import Event
from ceremony.policy.lockout import MAX_ATTEMPTS, Standing, advance, fold_records, lockouts

PEOPLE = ("P1", "P2", "P3", "O1", "W1")

Op = tuple  # ("fail", person, signer) | ("sign", signers) | ("lift", person, officer, witness)


def to_events(ops: Sequence[Op]) -> list[Event]:
    """Each operation as a ledger event (typed payload, signers as ``attested_by``), seq from 2."""
    events = []
    for index, op in enumerate(ops):
        seq = index + 2
        if op[0] == "fail":
            _, person, signer = op
            kind, signers = "auth.failed", (signer,)
            payload: dict[str, object] = {"person_id": person, "attempt": 1, "role": "custodian"}
        elif op[0] == "sign":
            kind, signers = "ceremony.started", tuple(sorted(set(op[1])))
            payload = {"ceremony_id": f"C{seq}", "kind": "generation", "purpose": "test", "rehearsal": True}
        else:
            _, person, officer, witness = op
            kind, signers = "auth.lockout_lifted", tuple(sorted((officer, witness)))
            payload = {"person_id": person, "failures": 3, "reason": "identity confirmed"}
        body = canonical_text(payload)
        events.append(Event(seq, "2026-01-01T00:00:00Z", kind, signers, signers, body, bytes(32), bytes(32)))
    return events


def fail(person: str, signer: str = "W1") -> Op:
    return ("fail", person, signer)


def sign(*signers: str) -> Op:
    return ("sign", signers)


def lift(person: str) -> Op:
    return ("lift", person, "O1", "W1")


def standing(ops: Sequence[Op], person: str) -> Standing:
    return lockouts(to_events(ops)).of(person)


# --- the rules, one by one --------------------------------------------------------------------------------


def test_three_recorded_failures_lock_out_from_the_third() -> None:
    ops = [fail("P1"), fail("P1"), sign("O1"), fail("P1")]
    s = standing(ops, "P1")
    assert s.locked and s.locked_seq == 5 and s.count == MAX_ATTEMPTS
    assert s.failures == (2, 3, 5)
    assert not standing(ops[:3], "P1").locked


def test_a_success_on_record_restarts_the_count() -> None:
    ops = [fail("P1"), fail("P1"), sign("P1", "W1"), fail("P1"), fail("P1")]
    s = standing(ops, "P1")
    assert not s.locked and s.failures == (5, 6)


def test_a_failure_the_person_signs_themselves_counts_then_restarts() -> None:
    """A failure kept waiting until the person succeeded: signed by them, so they succeeded after it."""
    ops = [fail("P1", signer="P1"), fail("P1", signer="P1"), fail("P1")]
    assert standing(ops, "P1").failures == (4,)


def test_failures_of_others_and_signatures_of_others_do_not_count() -> None:
    ops = [fail("P2"), fail("P2"), fail("P2"), fail("P1"), sign("P2")]
    assert standing(ops, "P1").failures == (5,)
    assert standing(ops, "P2").locked_seq == 4
    assert standing(ops, "P3") == Standing("P3")


def test_a_success_after_the_lockout_does_not_lift_it() -> None:
    ops = [fail("P1"), fail("P1"), fail("P1"), sign("P1", "W1"), fail("P1", signer="P1")]
    s = standing(ops, "P1")
    assert s.locked and s.locked_seq == 4
    assert s.count == 4  # failures after the lockout keep counting, for the lift to record


def test_a_lift_unlocks_and_the_count_starts_afresh() -> None:
    ops = [fail("P1"), fail("P1"), fail("P1"), lift("P1")]
    s = standing(ops, "P1")
    assert not s.locked and s.count == 0 and s.lifted_seq == 5
    ops += [fail("P1"), fail("P1")]
    assert not standing(ops, "P1").locked
    ops += [fail("P1")]
    assert standing(ops, "P1").locked_seq == 8


def test_a_lift_for_someone_else_is_a_success_for_its_signers() -> None:
    ops = [fail("O1"), fail("O1"), lift("P1"), fail("O1")]
    assert standing(ops, "O1").failures == (5,)


def test_locked_lists_people_in_the_order_they_were_locked_out() -> None:
    ops = [fail("P2")] * 3 + [fail("P1")] * 3 + [fail("P3")] * 2
    assert [s.person_id for s in lockouts(to_events(ops)).locked()] == ["P2", "P1"]


def test_advance_returns_a_new_value_and_leaves_its_input_alone() -> None:
    before = Standing("P1", failures=(2, 3))
    record = sc.parse("auth.failed", {"person_id": "P1", "attempt": 3, "role": "custodian"})
    after = advance(before, 4, record, ("W1",))
    assert before == Standing("P1", failures=(2, 3))
    assert after.failures == (2, 3, 4) and after.locked_seq == 4


# --- random histories against a reference -------------------------------------------------------------------


def reference(ops: Sequence[Op], person: str) -> tuple[int | None, tuple[int, ...], int | None]:
    """(locked since, failures counted, last lift) for ``person``, written as runs of failures."""
    lifts = [i for i, op in enumerate(ops) if op[0] == "lift" and op[1] == person]
    start = lifts[-1] + 1 if lifts else 0
    lifted = lifts[-1] + 2 if lifts else None
    marks: list[str | int] = []  # a failure's seq, or "S" for a success (in the order the event holds them)
    for i in range(start, len(ops)):
        op, seq = ops[i], i + 2
        if op[0] == "fail" and op[1] == person:
            marks.append(seq)
        signers = {op[2]} if op[0] == "fail" else set(op[1]) if op[0] == "sign" else {op[2], op[3]}
        if person in signers:
            marks.append("S")
    runs: list[list[int]] = [[]]
    for mark in marks:
        if mark == "S":
            runs.append([])
        else:
            assert isinstance(mark, int)
            runs[-1].append(mark)
    for index, run in enumerate(runs):
        if len(run) >= MAX_ATTEMPTS:
            counted = [seq for later in runs[index:] for seq in later]
            return run[MAX_ATTEMPTS - 1], tuple(counted), lifted
    return None, tuple(runs[-1]), lifted


people = st.sampled_from(PEOPLE)
operations = st.one_of(
    st.tuples(st.just("fail"), people, people),
    st.tuples(st.just("sign"), st.lists(people, min_size=1, max_size=3)),
    st.tuples(st.just("lift"), people, people, people).filter(lambda op: len(set(op[1:])) == 3),
    # failures come more often than anything else, so lockouts happen
    st.tuples(st.just("fail"), st.sampled_from(PEOPLE[:2]), st.just("W1")),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(operations, max_size=40))
def test_random_histories_agree_with_the_reference(ops: list[Op]) -> None:
    events = to_events(ops)
    kept = copy.deepcopy(events)
    book = lockouts(events)
    for person in PEOPLE:
        s = book.of(person)
        assert (s.locked_seq, s.failures, s.lifted_seq) == reference(ops, person), person
        assert s.locked == (s.locked_seq is not None)
    assert [s.person_id for s in book.locked()] == [
        p for _, p in sorted((reference(ops, p)[0], p) for p in PEOPLE if reference(ops, p)[0] is not None)
    ]
    # pure: the same events give the same answer, and the events are untouched
    assert lockouts(events) == book
    assert fold_records((e.seq, e.record, e.attested_by) for e in events) == book
    assert events == kept
