"""The custody rule (PCI DSS 3.7.6, DESIGN §3): unit tests of every refusal and its message, and the exact
smallest-coalition search against a brute-force oracle."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.errors import CustodyRecordError, CustodyViolationError, PolicyError
from ceremony.policy.custody import (
    Coalition,
    CustodyHistory,
    Exposure,
    SplitRecord,
    smallest_coalition_of_split,
)


def shamir(split_id: str, m: int, n: int, seq: int, key_id: str = "KEY1") -> SplitRecord:
    return SplitRecord(key_id=key_id, split_id=split_id, scheme="shamir", threshold=m, shares=n, seq=seq)


def exposure(seq: int, person: str, split_id: str, number: int, kind: str = "assigned") -> Exposure:
    return Exposure(seq=seq, person_id=person, split_id=split_id, share_number=number, kind=kind)  # type: ignore[arg-type]


@pytest.fixture
def two_of_three() -> CustodyHistory:
    """Key KEY1 split 2-of-3 as SPLITA at event #1; alice has share 1 from event #10."""
    history = CustodyHistory()
    history.add_split(shamir("SPLITA", 2, 3, seq=1))
    history.record(exposure(10, "alice", "SPLITA", 1))
    return history


# --- split records ------------------------------------------------------------------------------------------
def test_duplicate_split_id_is_refused_naming_the_first():
    history = CustodyHistory()
    history.add_split(shamir("SPLITA", 2, 3, seq=3))
    with pytest.raises(CustodyRecordError, match=r"SPLITA was already created at event #3"):
        history.add_split(shamir("SPLITA", 2, 3, seq=4, key_id="KEY2"))
    assert history.keys() == ["KEY1"]


@pytest.mark.parametrize("threshold", [1, 0, -1])
def test_threshold_below_two_is_clear_key_knowledge(threshold):
    with pytest.raises(CustodyRecordError, match="one person could rebuild the key alone"):
        CustodyHistory().add_split(shamir("SPLITA", threshold, 3, seq=1))


@pytest.mark.parametrize(
    ("scheme", "m", "n", "text"),
    [
        ("shamir", 4, 3, "threshold <= shares"),
        ("shamir", 2, 256, "<= 255"),
        ("xor", 2, 3, "XOR components are always all needed"),
        ("rot13", 2, 3, "unknown scheme"),
    ],
)
def test_malformed_splits_are_refused(scheme, m, n, text):
    split = SplitRecord(key_id="KEY1", split_id="SPLITA", scheme=scheme, threshold=m, shares=n, seq=1)
    with pytest.raises(CustodyRecordError, match=text):
        CustodyHistory().add_split(split)


def test_record_errors_are_policy_errors_with_policy_exit_code():
    with pytest.raises(PolicyError) as caught:
        CustodyHistory().add_split(shamir("SPLITA", 1, 3, seq=1))
    assert caught.value.exit_code == 5


def test_largest_shamir_split_is_accepted():
    history = CustodyHistory()
    history.add_split(shamir("SPLITA", 255, 255, seq=1))
    history.record(exposure(2, "alice", "SPLITA", 255))
    assert history.knowledge("KEY1") == {"alice": {"SPLITA": frozenset({255})}}


def test_several_exposures_of_one_event_share_its_seq(two_of_three):
    two_of_three.record(exposure(10, "bob", "SPLITA", 2))
    assert two_of_three.first_exposures("SPLITA") == {"alice": {1: 10}, "bob": {2: 10}}


def test_unknown_split_and_out_of_range_share_are_refused(two_of_three):
    with pytest.raises(CustodyRecordError, match=r"Event #11: split NOSUCH is not in the custody record"):
        two_of_three.check(exposure(11, "bob", "NOSUCH", 1))
    for number in (0, 4):
        with pytest.raises(CustodyRecordError, match=rf"shares 1..3, not share {number}"):
            two_of_three.check(exposure(11, "bob", "SPLITA", number))
    with pytest.raises(CustodyRecordError, match="needs a person id"):
        two_of_three.check(exposure(11, "", "SPLITA", 2))
    with pytest.raises(CustodyRecordError, match="unknown kind"):
        two_of_three.check(exposure(11, "bob", "SPLITA", 2, kind="photographed"))
    with pytest.raises(CustodyRecordError, match="not in the custody record"):
        two_of_three.retire_split("NOSUCH", 11)
    with pytest.raises(CustodyRecordError, match="not in the custody record"):
        two_of_three.holders("NOSUCH")


# --- one share per person per split -------------------------------------------------------------------------
def test_second_share_of_same_split_is_refused_naming_the_earlier_event(two_of_three):
    with pytest.raises(CustodyViolationError) as caught:
        two_of_three.check(exposure(11, "alice", "SPLITA", 2))
    error = caught.value
    assert error.forbidding_seq == 10
    message = str(error)
    for part in ("alice already knew share 1", "may not be assigned share 2", "SPLITA", "KEY1", "event #10"):
        assert part in message
    for part in ("event #11", "3.7.6"):
        assert part in message
    assert error.exit_code == 5


@pytest.mark.parametrize("kind", ["assigned", "shown", "entered", "handed", "printed", "returned"])
def test_every_kind_of_exposure_is_knowledge(kind):
    history = CustodyHistory()
    history.add_split(shamir("SPLITA", 2, 3, seq=1))
    history.record(exposure(2, "alice", "SPLITA", 3, kind=kind))
    with pytest.raises(CustodyViolationError) as caught:
        history.check(exposure(3, "alice", "SPLITA", 1, kind="shown"))
    assert caught.value.forbidding_seq == 2
    assert "may not be shown share 1" in str(caught.value)
    assert history.knowledge("KEY1") == {"alice": {"SPLITA": frozenset({3})}}


def test_verification_round_re_entry_of_the_same_share_is_allowed(two_of_three):
    two_of_three.record(exposure(11, "alice", "SPLITA", 1, kind="shown"))
    two_of_three.record(exposure(12, "alice", "SPLITA", 1, kind="entered"))
    two_of_three.record(exposure(13, "alice", "SPLITA", 1, kind="returned"))
    assert two_of_three.first_exposures("SPLITA") == {"alice": {1: 10}}


def test_knowledge_survives_handing_the_share_on(two_of_three):
    two_of_three.record(exposure(11, "bob", "SPLITA", 1, kind="handed"))
    assert two_of_three.holders("SPLITA") == {1: "bob"}
    # alice no longer holds share 1, but she knew it: share 2 stays forbidden (reassignment)
    with pytest.raises(CustodyViolationError) as caught:
        two_of_three.check(exposure(12, "alice", "SPLITA", 2, kind="handed"))
    assert caught.value.forbidding_seq == 10
    # and bob, who now knows share 1, cannot be given share 3
    with pytest.raises(CustodyViolationError) as caught:
        two_of_three.check(exposure(12, "bob", "SPLITA", 3))
    assert caught.value.forbidding_seq == 11


def test_knowledge_survives_retirement_deactivation_and_re_enrollment(two_of_three):
    two_of_three.retire_split("SPLITA", 11)
    two_of_three.deactivate("alice", 12)
    # Re-enrollment of the same employee id maps to the same person id (module docstring assumption).
    with pytest.raises(CustodyViolationError) as caught:
        two_of_three.check(exposure(13, "alice", "SPLITA", 3, kind="returned"))
    assert caught.value.forbidding_seq == 10


def test_refused_check_and_record_change_nothing(two_of_three):
    before = (two_of_three.knowledge("KEY1"), two_of_three.holders("SPLITA"))
    with pytest.raises(CustodyViolationError):
        two_of_three.record(exposure(11, "alice", "SPLITA", 2))
    two_of_three.check(exposure(11, "bob", "SPLITA", 2))  # accepted check: still no change
    assert (two_of_three.knowledge("KEY1"), two_of_three.holders("SPLITA")) == before


def test_share_of_a_new_split_of_the_same_key_is_allowed(two_of_three):
    """alice knew share 1 of the old 2-of-3; share 2 of the new, independent 2-of-3 gives her one share of
    each polynomial, which rebuilds nothing: allowed, and the smallest coalition is still 2."""
    two_of_three.add_split(shamir("SPLITB", 2, 3, seq=20))
    two_of_three.retire_split("SPLITA", 21)
    two_of_three.record(exposure(22, "alice", "SPLITB", 2))
    assert two_of_three.smallest_coalition("KEY1") == Coalition("KEY1", None, (), None)
    two_of_three.record(exposure(23, "bob", "SPLITB", 1))
    coalition = two_of_three.smallest_coalition("KEY1")
    assert (coalition.size, coalition.members, coalition.split_id) == (2, ("alice", "bob"), "SPLITB")


def test_xor_components_need_all_holders():
    history = CustodyHistory()
    history.add_split(SplitRecord("KEY1", "XORS", "xor", 3, 3, seq=1))
    for seq, person in enumerate(("carol", "alice", "bob"), start=2):
        history.record(exposure(seq, person, "XORS", seq - 1))
    assert history.smallest_coalition("KEY1") == Coalition("KEY1", 3, ("alice", "bob", "carol"), "XORS")
    with pytest.raises(CustodyViolationError) as caught:
        history.check(exposure(9, "alice", "XORS", 1, kind="shown"))
    assert caught.value.forbidding_seq == 3


# --- smallest coalition ----------------------------------------------------------------------------------
def test_partly_issued_split_cannot_be_rebuilt(two_of_three):
    assert two_of_three.smallest_coalition("KEY1").size is None


def test_retired_split_with_lower_threshold_still_counts():
    history = CustodyHistory()
    history.add_split(shamir("OLD", 2, 3, seq=1))
    history.record(exposure(2, "alice", "OLD", 1))
    history.record(exposure(3, "bob", "OLD", 2))
    history.add_split(shamir("NEW", 3, 5, seq=4))
    history.retire_split("OLD", 5)
    for seq, person in enumerate(("carol", "dave", "erin", "frank", "gina"), start=6):
        history.record(exposure(seq, person, "NEW", seq - 5))
    assert history.retired_at("OLD") == 5
    assert history.smallest_coalition("KEY1") == Coalition("KEY1", 2, ("alice", "bob"), "OLD")
    assert history.knowledge("KEY1")["alice"] == {"OLD": frozenset({1})}
    assert history.people_who_knew("KEY1") == {"alice", "bob", "carol", "dave", "erin", "frank", "gina"}


def test_unknown_key_has_no_coalition():
    with pytest.raises(CustodyRecordError, match="Key KEY9 has no split"):
        CustodyHistory().smallest_coalition("KEY9")
    assert CustodyHistory().knowledge("KEY9") == {}


def test_greedy_is_not_enough():
    """Greedy takes the biggest set {1,2,3,4} first, then needs two more; {1,2,5} + {3,4,6} cover all six."""
    knowledge = {"big": {1, 2, 3, 4}, "left": {1, 2, 5}, "right": {3, 4, 6}}
    assert smallest_coalition_of_split(knowledge, 6) == ("left", "right")
    assert smallest_coalition_of_split(knowledge, 4) == ("big",)
    assert smallest_coalition_of_split(knowledge, 7) is None


def test_equal_knowledge_is_represented_by_the_smallest_id():
    knowledge = {"zoe": {1}, "amy": {1}, "bea": {2}, "cal": set()}
    assert smallest_coalition_of_split(knowledge, 2) == ("amy", "bea")
    with pytest.raises(CustodyRecordError):
        smallest_coalition_of_split(knowledge, 0)


def brute_force_size(knowledge: dict[str, frozenset[int]], threshold: int) -> int | None:
    """Independent oracle: try every subset of people, smallest first."""
    people = sorted(knowledge)
    for size in range(1, len(people) + 1):
        for group in itertools.combinations(people, size):
            if len(frozenset().union(*(knowledge[p] for p in group))) >= threshold:
                return size
    return None


@settings(max_examples=300, deadline=None)
@given(
    knowledge=st.dictionaries(
        st.sampled_from([f"P{i}" for i in range(8)]),
        st.frozensets(st.integers(1, 9), max_size=5),
        max_size=8,
    ),
    threshold=st.integers(1, 10),
)
def test_smallest_coalition_equals_brute_force(knowledge, threshold):
    members = smallest_coalition_of_split(knowledge, threshold)
    expected = brute_force_size(knowledge, threshold)
    if expected is None:
        assert members is None
        return
    assert members is not None
    assert len(members) == expected
    assert list(members) == sorted(set(members))
    assert len(frozenset().union(*(knowledge[p] for p in members))) >= threshold


# --- deactivation (3.7.5) ----------------------------------------------------------------------------------
def test_deactivation_flags_every_key_ever_known():
    history = CustodyHistory()
    history.add_split(shamir("A1", 2, 3, seq=1, key_id="KEY1"))
    history.add_split(shamir("B1", 2, 2, seq=2, key_id="KEY2"))
    history.add_split(shamir("C1", 2, 2, seq=3, key_id="KEY3"))
    history.record(exposure(4, "alice", "A1", 1))
    history.record(exposure(5, "alice", "B1", 2, kind="shown"))
    history.record(exposure(6, "bob", "C1", 1))
    history.retire_split("A1", 7)  # a retired split's key is still known to her
    assert history.deactivate("alice", 8) == ["KEY1", "KEY2"]
    assert history.flagged_keys() == {"KEY1": 8, "KEY2": 8}
    assert history.deactivated() == {"alice": 8}
    # Only new key material clears a flag: a key registered as KEY1's replacement, then KEY1 retired.
    history.register_replacement("KEY4", "KEY1", 9)
    history.retire_key("KEY3", 10)  # not flagged: nothing to clear
    history.retire_key("KEY1", 11, replaced_by="KEY4")
    assert history.flagged_keys() == {"KEY2": 8}
    assert history.cleared() == {"KEY1": (11, "KEY4")}
    # a second deactivation keeps KEY2's first flag; the retired KEY1 is not flagged again
    assert history.deactivate("alice", 12) == ["KEY1", "KEY2"]
    assert history.flagged_keys() == {"KEY2": 8}
    assert history.deactivate("nobody", 13) == []


def test_retirement_clears_only_with_a_registered_replacement():
    history = CustodyHistory()
    history.add_split(shamir("A1", 2, 3, seq=1, key_id="KEY1"))
    history.record(exposure(2, "alice", "A1", 1))
    history.deactivate("alice", 3)
    with pytest.raises(CustodyRecordError, match="not registered as the replacement"):
        history.retire_key("KEY1", 4, replaced_by="KEY9")
    with pytest.raises(CustodyRecordError, match="cannot replace itself"):
        history.register_replacement("KEY1", "KEY1", 4)
    history.retire_key("KEY1", 5)  # retired without a replacement: the flag is not "cleared"
    assert history.cleared() == {}
    with pytest.raises(CustodyRecordError, match="already retired"):
        history.retire_key("KEY1", 6)
    with pytest.raises(CustodyRecordError, match="still in use"):
        history.register_replacement("KEY2", "KEY1", 7)


def test_holders_follow_assignment_and_hand_over_only():
    history = CustodyHistory()
    history.add_split(shamir("A1", 2, 3, seq=1))
    history.record(exposure(2, "alice", "A1", 1, kind="printed"))
    history.record(exposure(3, "alice", "A1", 1, kind="assigned"))
    history.record(exposure(4, "bob", "A1", 2, kind="shown"))
    history.record(exposure(5, "carol", "A1", 1, kind="handed"))
    history.record(exposure(6, "alice", "A1", 1, kind="entered"))
    assert history.holders("A1") == {1: "carol"}
    assert history.first_exposures("A1") == {"alice": {1: 2}, "bob": {2: 4}, "carol": {1: 5}}


def test_retiring_twice_is_refused():
    history = CustodyHistory()
    history.add_split(shamir("A1", 2, 3, seq=1))
    history.retire_split("A1", 2)
    with pytest.raises(CustodyRecordError, match="already retired at event #2"):
        history.retire_split("A1", 3)
    assert history.split("A1").threshold == 2
