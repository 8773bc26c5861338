"""Random custody histories (hypothesis stateful testing) against a brute-force oracle (issue 3 item 4).

Each history mixes new keys, re-shares (new split of the same key, old split retired), assignments,
showings, hand-overs of a held share to someone else, verification-round re-entries and deactivations
(replacements, transport-key routes, quorum decisions, demonstrated knowledge:
test_custody_routes_stateful).
After every step:

(a) no group of people smaller than a split's threshold can rebuild its key, over every split ever made;
(b) a refused exposure really breaks the rule as documented (a second share of one split for one person, or
    a coalition below threshold) and names an earlier event by that person on that split;
    an accepted one breaks nothing;
(c) ``smallest_coalition`` has the size the oracle finds, and its members really rebuild the key.

The oracle never looks at CustodyHistory's internals: it keeps its own list of accepted exposures and tries
every subset of people.

Figures: the test prints "N histories, M steps" (run with ``-s``). Normal run: 150 histories of up to 50
steps. ``CEREMONY_HYPOTHESIS_PROFILE=long`` runs 2000 histories of up to 80 steps.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ceremony.errors import CustodyViolationError
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord

PEOPLE = ("P1", "P2", "P3", "P4", "P5", "P6")
KEYS = ("K1", "K2")
KINDS = ("assigned", "shown", "entered", "handed", "printed", "returned")

LONG = os.environ.get("CEREMONY_HYPOTHESIS_PROFILE") == "long"
HISTORIES = 2000 if LONG else 150
STEPS = 80 if LONG else 50

COUNTS: Counter[str] = Counter()


def groups_of(people: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset, from a bit pattern (not itertools, unlike the unit-test oracle)."""
    return [
        tuple(p for bit, p in enumerate(people) if pattern >> bit & 1)
        for pattern in range(1, 1 << len(people))
    ]


GROUPS = sorted(groups_of(PEOPLE), key=len)


class CustodyHistories(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.history = CustodyHistory()
        self.seq = 0
        self.splits: list[SplitRecord] = []
        self.retired: set[str] = set()
        self.accepted: list[Exposure] = []
        self.flags: dict[str, int] = {}
        COUNTS["histories"] += 1

    # --- oracle -------------------------------------------------------------------------------------------
    def known(self, exposures: list[Exposure], split_id: str, group: tuple[str, ...]) -> set[int]:
        return {e.share_number for e in exposures if e.split_id == split_id and e.person_id in group}

    def smallest_group(self, exposures: list[Exposure], split: SplitRecord) -> int | None:
        for group in GROUPS:
            if len(self.known(exposures, split.split_id, group)) >= split.threshold:
                return len(group)
        return None

    def second_share(self, proposed: Exposure) -> bool:
        return any(
            e.person_id == proposed.person_id
            and e.split_id == proposed.split_id
            and e.share_number != proposed.share_number
            for e in self.accepted
        )

    def breaks_rule(self, proposed: Exposure) -> bool:
        second_share = self.second_share(proposed)
        split = next(s for s in self.splits if s.split_id == proposed.split_id)
        size = self.smallest_group([*self.accepted, proposed], split)
        return second_share or (size is not None and size < max(split.threshold, 2))

    # --- steps --------------------------------------------------------------------------------------------
    def next_seq(self) -> int:
        self.seq += 1
        COUNTS["events"] += 1
        return self.seq

    def new_split(self, key_id: str, data: st.DataObject) -> None:
        scheme = data.draw(st.sampled_from(["shamir", "xor"]))
        quorum = self.history.quorum(key_id) or 2  # a later split never goes below the key's quorum
        shares = data.draw(st.integers(quorum, 5))
        threshold = shares if scheme == "xor" else data.draw(st.integers(quorum, shares))
        split = SplitRecord(key_id, f"S{len(self.splits) + 1}", scheme, threshold, shares, self.next_seq())
        self.history.add_split(split)
        self.splits.append(split)

    @initialize(data=st.data())
    def first_key(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        self.new_split(KEYS[0], data)

    @rule(key_id=st.sampled_from(KEYS), data=st.data())
    def split_or_reshare(self, key_id: str, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        old = [s.split_id for s in self.splits if s.key_id == key_id and s.split_id not in self.retired]
        self.new_split(key_id, data)
        for split_id in old:  # re-share: the new split replaces the old one, whose knowledge still counts
            self.history.retire_split(split_id, self.next_seq())
            self.retired.add(split_id)

    def attempt(self, proposed: Exposure) -> None:
        before = {k: self.history.knowledge(k) for k in self.history.keys()}
        try:
            self.history.check(proposed)
        except CustodyViolationError as refusal:
            COUNTS["refused"] += 1
            assert self.breaks_rule(proposed), f"over-strict refusal: {refusal}"
            # The named event is earlier knowledge of that split: the person's own other share when the
            # one-share rule forbids it (always, while that rule holds), else a coalition member's.
            earlier = [
                e
                for e in self.accepted
                if e.seq == refusal.forbidding_seq and e.split_id == proposed.split_id
            ]
            assert earlier, f"refusal names no earlier event on that split: {refusal}"
            if self.second_share(proposed):
                assert all(
                    e.person_id == proposed.person_id and e.share_number != proposed.share_number
                    for e in earlier
                ), f"refusal names another person's event: {refusal}"
            assert f"event #{refusal.forbidding_seq}" in str(refusal)
            assert proposed.person_id in str(refusal)
            assert {k: self.history.knowledge(k) for k in self.history.keys()} == before
            return
        assert not self.breaks_rule(proposed), f"accepted an exposure that breaks the rule: {proposed}"
        self.history.record(proposed)
        self.accepted.append(proposed)
        COUNTS["accepted"] += 1

    @rule(person=st.sampled_from(PEOPLE), kind=st.sampled_from(KINDS), data=st.data())
    def expose(self, person: str, kind: str, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        split = data.draw(st.sampled_from(self.splits))
        number = data.draw(st.integers(1, split.shares))
        self.attempt(Exposure(self.next_seq(), person, split.split_id, number, kind))  # type: ignore[arg-type]

    @rule(person=st.sampled_from(PEOPLE), data=st.data())
    def assign_unissued_share(self, person: str, data: st.DataObject) -> None:
        """Distribution as a ceremony does it: a share of an active split that nobody holds yet."""
        COUNTS["steps"] += 1
        open_shares = [
            (split.split_id, number)
            for split in self.splits
            if split.split_id not in self.retired
            for number in range(1, split.shares + 1)
            if number not in self.history.holders(split.split_id)
        ]
        if open_shares:
            split_id, number = data.draw(st.sampled_from(open_shares))
            self.attempt(Exposure(self.next_seq(), person, split_id, number, "assigned"))

    @precondition(lambda self: any(e.kind in ("assigned", "handed") for e in self.accepted))
    @rule(to=st.sampled_from(PEOPLE), data=st.data())
    def hand_over(self, to: str, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        held = [e for e in self.accepted if e.kind in ("assigned", "handed")]
        share = data.draw(st.sampled_from(held))
        self.attempt(Exposure(self.next_seq(), to, share.split_id, share.share_number, "handed"))

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def verification_round(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        seen = data.draw(st.sampled_from(self.accepted))
        again = Exposure(self.next_seq(), seen.person_id, seen.split_id, seen.share_number, "entered")
        self.history.check(again)  # re-entering one's own share is always allowed
        self.attempt(again)

    @rule(person=st.sampled_from(PEOPLE))
    def deactivate(self, person: str) -> None:
        COUNTS["steps"] += 1
        seq = self.next_seq()
        ever = sorted(
            {
                s.key_id
                for e in self.accepted
                if e.person_id == person
                for s in self.splits
                if s.split_id == e.split_id
            }
        )
        assert self.history.deactivate(person, seq) == ever
        for key_id in ever:
            self.flags.setdefault(key_id, seq)

    # --- invariants ---------------------------------------------------------------------------------------
    @invariant()
    def nobody_below_threshold_rebuilds(self) -> None:
        for split in self.splits:
            size = self.smallest_group(self.accepted, split)
            assert size is None or size >= max(split.threshold, 2), (split, size)

    @invariant()
    def smallest_coalition_matches_oracle(self) -> None:
        for key_id in self.history.keys():
            sizes = [self.smallest_group(self.accepted, s) for s in self.splits if s.key_id == key_id]
            expected = min((s for s in sizes if s is not None), default=None)
            coalition = self.history.smallest_coalition(key_id)
            assert coalition.size == expected
            if expected is not None:
                COUNTS["rebuildable"] += 1
                split = next(s for s in self.splits if s.split_id == coalition.split_id)
                assert split.key_id == key_id
                assert len(coalition.members) == expected
                assert len(self.known(self.accepted, split.split_id, coalition.members)) >= split.threshold

    @invariant()
    def records_match_oracle(self) -> None:
        for key_id in self.history.keys():
            expected: dict[str, dict[str, frozenset[int]]] = {}
            for split in (s for s in self.splits if s.key_id == key_id):
                for person in PEOPLE:
                    numbers = self.known(self.accepted, split.split_id, (person,))
                    if numbers:
                        expected.setdefault(person, {})[split.split_id] = frozenset(numbers)
            assert self.history.knowledge(key_id) == expected
        for split in self.splits:
            holders: dict[int, str] = {}
            for e in self.accepted:
                if e.split_id == split.split_id and e.kind in ("assigned", "handed"):
                    holders[e.share_number] = e.person_id
            assert self.history.holders(split.split_id) == holders
        assert self.history.flagged_keys() == self.flags


def test_random_custody_histories_never_let_a_small_coalition_rebuild():
    COUNTS.clear()
    run_state_machine_as_test(
        CustodyHistories,
        settings=settings(
            max_examples=HISTORIES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        f"\ncustody property test: {COUNTS['histories']} histories, {COUNTS['steps']} steps, "
        f"{COUNTS['events']} ledger events "
        f"({COUNTS['accepted']} exposures accepted, {COUNTS['refused']} refused; "
        f"{COUNTS['rebuildable']} checks of a key some coalition could rebuild)"
    )
    # The run must have exercised both outcomes, or it proves nothing.
    assert COUNTS["histories"] >= HISTORIES // 2
    assert COUNTS["accepted"] > 0
    assert COUNTS["refused"] > 0
    assert COUNTS["rebuildable"] > 0
