"""Destroyed envelopes and the smallest coalition (issue 15, item 5): random histories of splits, exposures,
retirements and destructions against a brute-force oracle.

The rule: every share counts towards a key's smallest coalition except a destroyed one — whether its split
is retired or not (a retired split whose envelopes are still held still lets its holders rebuild the key).
After every step:

(a) ``smallest_coalition`` has the oracle's size (every group of people, smallest first, that knows
    ``threshold`` not-destroyed shares of one split), and its members really rebuild the key by the oracle;
(b) retiring a split never changes the coalition; destroying a share never makes it smaller;
(c) nobody holds a destroyed share (``holders``); a share is destroyed once (a second time is refused).

The same style as ``test_custody_routes_stateful.py``; 200 histories of up to 40 steps (``long``: 1000/60).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ceremony.errors import CustodyRecordError, CustodyViolationError
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord

PEOPLE = ("P1", "P2", "P3", "P4", "P5", "P6")
KEYS = ("K1", "K2")
LONG = os.environ.get("CEREMONY_HYPOTHESIS_PROFILE") == "long"
HISTORIES = 1000 if LONG else 200
STEPS = 60 if LONG else 40

GROUPS = sorted(
    (
        tuple(p for bit, p in enumerate(PEOPLE) if pattern >> bit & 1)
        for pattern in range(1, 1 << len(PEOPLE))
    ),
    key=len,
)


@dataclass
class Oracle:
    splits: dict[str, SplitRecord] = field(default_factory=dict)
    known: set[tuple[str, str, int]] = field(default_factory=set)  # (person, split, number)
    destroyed: set[tuple[str, int]] = field(default_factory=set)  # (split, number)
    retired: set[str] = field(default_factory=set)

    def rebuilds(self, key_id: str, group: tuple[str, ...]) -> bool:
        for split in self.splits.values():
            if split.key_id != key_id:
                continue
            numbers = {
                n
                for person, s, n in self.known
                if s == split.split_id and person in group and (s, n) not in self.destroyed
            }
            if len(numbers) >= split.threshold:
                return True
        return False

    def smallest(self, key_id: str) -> int | None:
        for group in GROUPS:
            if self.rebuilds(key_id, group):
                return len(group)
        return None


class DestructionHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.history = CustodyHistory()
        self.oracle = Oracle()
        self.seq = 0
        self.before: dict[str, int | None] = {}

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _sizes(self) -> dict[str, int | None]:
        return {k: self.history.smallest_coalition(k).size for k in KEYS if self.history.splits(k)}

    @rule(key=st.sampled_from(KEYS), threshold=st.integers(2, 4), extra=st.integers(0, 2))
    def new_split(self, key: str, threshold: int, extra: int) -> None:
        split_id = f"S{len(self.oracle.splits) + 1}"
        record = SplitRecord(key, split_id, "shamir", threshold, threshold + extra, self._next())
        try:
            self.history.add_split(record)
        except CustodyViolationError:
            return  # below the key's quorum: refused, nothing changes
        self.oracle.splits[split_id] = record

    @precondition(lambda self: self.oracle.splits)
    @rule(
        data=st.data(), person=st.sampled_from(PEOPLE), kind=st.sampled_from(("assigned", "shown", "entered"))
    )
    def expose(self, data: st.DataObject, person: str, kind: str) -> None:
        split = data.draw(st.sampled_from(sorted(self.oracle.splits.values(), key=lambda s: s.split_id)))
        number = data.draw(st.integers(1, split.shares))
        exposure = Exposure(self._next(), person, split.split_id, number, kind)  # type: ignore[arg-type]
        try:
            self.history.record(exposure)
        except CustodyViolationError:
            return
        self.oracle.known.add((person, split.split_id, number))

    @precondition(lambda self: set(self.oracle.splits) - self.oracle.retired)
    @rule(data=st.data())
    def retire(self, data: st.DataObject) -> None:
        split_id = data.draw(st.sampled_from(sorted(set(self.oracle.splits) - self.oracle.retired)))
        before = self._sizes()
        self.history.retire_split(split_id, self._next())
        self.oracle.retired.add(split_id)
        assert self._sizes() == before, "retiring a split alone never changes who can rebuild the key"

    @precondition(lambda self: self.oracle.splits)
    @rule(data=st.data())
    def destroy(self, data: st.DataObject) -> None:
        split = data.draw(st.sampled_from(sorted(self.oracle.splits.values(), key=lambda s: s.split_id)))
        number = data.draw(st.integers(1, split.shares))
        before = self._sizes()
        seq = self._next()
        if (split.split_id, number) in self.oracle.destroyed:
            with pytest.raises(CustodyRecordError, match="already destroyed"):
                self.history.destroy_share(split.split_id, number, seq, split.key_id)
            return
        self.history.destroy_share(split.split_id, number, seq, split.key_id)
        self.oracle.destroyed.add((split.split_id, number))
        after = self._sizes()
        for key_id, size in before.items():
            if size is not None and after[key_id] is not None:
                assert after[key_id] >= size, "destroying a share never makes a coalition smaller"
            if size is None:
                assert after[key_id] is None

    @invariant()
    def coalition_matches_the_oracle(self) -> None:
        for key_id in KEYS:
            if not self.history.splits(key_id):
                continue
            coalition = self.history.smallest_coalition(key_id)
            assert coalition.size == self.oracle.smallest(key_id)
            if coalition.size is not None:
                assert self.oracle.rebuilds(key_id, coalition.members)

    @invariant()
    def nobody_holds_a_destroyed_share(self) -> None:
        for split_id in self.oracle.splits:
            held = self.history.holders(split_id)
            destroyed = self.history.destroyed(split_id)
            assert not set(held) & set(destroyed)
            assert set(destroyed) == {n for s, n in self.oracle.destroyed if s == split_id}


def test_smallest_coalition_counts_every_share_not_destroyed() -> None:
    run_state_machine_as_test(
        DestructionHistory,
        settings=settings(
            max_examples=HISTORIES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not LONG,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_a_retired_split_with_envelopes_still_held_still_rebuilds_the_key() -> None:
    history = CustodyHistory()
    history.add_split(SplitRecord("K", "S1", "shamir", 2, 3, 1))
    for seq, (person, number) in enumerate((("A", 1), ("B", 2), ("C", 3)), start=2):
        history.record(Exposure(seq, person, "S1", number, "assigned"))
    history.retire_split("S1", 10)
    assert history.smallest_coalition("K").size == 2
    history.destroy_share("S1", 1, 11, "K")
    assert history.smallest_coalition("K").members == ("B", "C")
    assert history.holders("S1") == {2: "B", 3: "C"}
    history.destroy_share("S1", 2, 12, "K")
    assert history.smallest_coalition("K").size is None
    with pytest.raises(CustodyRecordError, match="belongs to key K"):
        history.destroy_share("S1", 3, 13, "OTHER")
    with pytest.raises(CustodyRecordError, match="not share 4"):
        history.destroy_share("S1", 4, 14, "K")
