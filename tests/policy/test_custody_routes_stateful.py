"""Every route to the clear key counts (issue 13): random histories against a brute-force coalition oracle.

A history mixes what ceremonies do to a key's knowledge:

* generations (a new key, its first split, which fixes the key's quorum), some naming a key they replace;
* re-shares (a new split of the same key, any threshold: the engine refuses one below the quorum);
* recoveries with every output kind: fresh XOR components for an HSM (a new n-of-n split), or a wrap under
  a transport key (KEK/KBPK) whose components people enter — transport keys and their components are drawn
  from a small pool, so the same KEK wraps several keys and the same component is entered in several
  ceremonies, by several people;
* quorum decisions (``key.quorum_lowered``), share distribution and re-entry, demonstrated knowledge (a
  person typed a share that was not theirs: recorded as a fact, never refused), departures and retirements
  (with or without a replacement).

The oracle keeps its own plain record (who knows which share of which split, who entered which component
of which transport key, which keys were wrapped under which transport key) and, for each key, tries every
group of people, smallest first: a group rebuilds the key when it knows ``threshold`` shares of one split, or
every component of one componentisation of a transport key the key was wrapped under. After every step:

(a) ``smallest_coalition`` has the oracle's size, and its members rebuild the key by the oracle;
(b) a key whose oracle coalition is below its quorum (or 2) is reported by ``broken`` — and only then;
    without demonstrated knowledge no key is ever broken: the engine refused every step that would;
(c) a refused step really would have let a group below the quorum rebuild some key (no over-strict refusal);
(d) flags: a departure flags every key the person knew by any route; only a retirement naming a registered
    replacement clears a flag.

Figures: run with ``-s`` for "N histories, M steps" and what they exercised. Normal run: 200 histories of
up to 40 steps (fixed seed); ``CEREMONY_HYPOTHESIS_PROFILE=long``: 1500 of up to 70, a new seed each run.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

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

from ceremony.errors import CustodyRecordError, CustodyViolationError
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord

PEOPLE = ("P1", "P2", "P3", "P4", "P5")
TRANSPORTS = {"T1": ("T1a", "T1b", "T1c"), "T2": ("T2a", "T2b")}  # each KEK's possible components

LONG = os.environ.get("CEREMONY_HYPOTHESIS_PROFILE") == "long"
HISTORIES = 1500 if LONG else 200
STEPS = 70 if LONG else 40
COUNTS: Counter[str] = Counter()

GROUPS = sorted(
    (
        tuple(p for bit, p in enumerate(PEOPLE) if pattern >> bit & 1)
        for pattern in range(1, 1 << len(PEOPLE))
    ),
    key=len,
)


@dataclass
class Oracle:
    """A plain record of knowledge, independent of CustodyHistory's internals."""

    splits: dict[str, SplitRecord] = field(default_factory=dict)
    shares: set[tuple[str, str, int]] = field(default_factory=set)  # (person, split, number)
    components: set[tuple[str, str]] = field(default_factory=set)  # (person, component id)
    componentisations: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)  # transport -> parts
    wrapped: dict[str, set[str]] = field(default_factory=dict)  # key -> transports

    def copy(self) -> Oracle:
        return Oracle(
            dict(self.splits),
            set(self.shares),
            set(self.components),
            {t: set(c) for t, c in self.componentisations.items()},
            {k: set(t) for k, t in self.wrapped.items()},
        )

    def rebuilds(self, key_id: str, group: tuple[str, ...], transports_only: str | None = None) -> bool:
        if transports_only is None:
            for split in self.splits.values():
                if split.key_id != key_id:
                    continue
                known = {n for (p, s, n) in self.shares if s == split.split_id and p in group}
                if len(known) >= split.threshold:
                    return True
        for transport in self.wrapped.get(key_id, ()):
            if transports_only is not None and transport != transports_only:
                continue
            for parts in self.componentisations.get(transport, ()):
                if all(any((p, c) in self.components for p in group) for c in parts):
                    return True
        return False

    def smallest(self, key_id: str, transports_only: str | None = None) -> int | None:
        for group in GROUPS:
            if self.rebuilds(key_id, group, transports_only):
                return len(group)
        return None

    def keys_known_by(self, person: str) -> set[str]:
        keys = {self.splits[s].key_id for (p, s, _) in self.shares if p == person}
        for key_id, transports in self.wrapped.items():
            for transport in transports:
                if any((person, c) in self.components for c in TRANSPORTS[transport]):
                    keys.add(key_id)
        return keys


class CustodyRoutes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.history = CustodyHistory()
        self.oracle = Oracle()
        self.seq = 0
        self.keys: list[str] = []
        self.quorum: dict[str, int] = {}
        self.retired_keys: set[str] = set()
        self.replaces: dict[str, str] = {}
        self.flags: dict[str, int] = {}
        self.departed: set[str] = set()
        self.facts = False  # demonstrated knowledge happened: keys may be broken
        COUNTS["histories"] += 1

    def next_seq(self) -> int:
        self.seq += 1
        COUNTS["events"] += 1
        return self.seq

    def live_keys(self) -> list[str]:
        return [k for k in self.keys if k not in self.retired_keys]

    def split_smallest(self, split: SplitRecord) -> int | None:
        for group in GROUPS:
            known = {n for (p, s, n) in self.oracle.shares if s == split.split_id and p in group}
            if len(known) >= split.threshold:
                return len(group)
        return None

    def floor(self, key_id: str) -> int:
        return max(self.quorum[key_id], 2)

    def would_break(self, trial: Oracle) -> bool:
        """Some key that was not already broken would be rebuilt by fewer people than its quorum."""
        for key_id in self.keys:
            before, after = self.oracle.smallest(key_id), trial.smallest(key_id)
            if after is not None and after < self.floor(key_id):
                if before is None or before >= self.floor(key_id) or after < before:
                    return True
        return False

    # --- splits -------------------------------------------------------------------------------------------
    def add_split(self, key_id: str, scheme: str, threshold: int, shares: int) -> SplitRecord | None:
        split = SplitRecord(key_id, f"S{self.next_seq()}", scheme, threshold, shares, self.seq)  # type: ignore[arg-type]
        try:
            self.history.add_split(split)
        except CustodyViolationError:
            COUNTS["refused"] += 1
            COUNTS["refused split"] += 1
            assert threshold < self.quorum[key_id], "over-strict refusal of a split"
            return None
        assert key_id not in self.quorum or threshold >= self.quorum[key_id], "split below quorum accepted"
        self.quorum.setdefault(key_id, threshold)
        self.oracle.splits[split.split_id] = split
        return split

    def distribute(self, split: SplitRecord, holders: list[str]) -> None:
        for number, person in enumerate(holders, start=1):
            self.expose(Exposure(self.next_seq(), person, split.split_id, number, "assigned"))

    def expose(self, exposure: Exposure) -> bool:
        try:
            self.history.check(exposure)
        except CustodyViolationError:
            COUNTS["refused"] += 1
            trial = self.oracle.copy()
            trial.shares.add((exposure.person_id, exposure.split_id, exposure.share_number))
            second = any(
                p == exposure.person_id and s == exposure.split_id and n != exposure.share_number
                for (p, s, n) in self.oracle.shares
            )
            split = self.oracle.splits[exposure.split_id]
            already = self.split_smallest(split)  # a split broken by demonstrated knowledge stays closed
            broken = already is not None and already < max(split.threshold, 2)
            assert second or broken or self.would_break(trial), "over-strict refusal of an exposure"
            return False
        self.history.record(exposure)
        self.oracle.shares.add((exposure.person_id, exposure.split_id, exposure.share_number))
        COUNTS["accepted"] += 1
        return True

    @initialize(data=st.data())
    def first_generation(self, data: st.DataObject) -> None:
        self.generation(data)

    @rule(data=st.data())
    def generation(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        COUNTS["generation"] += 1
        key_id = f"K{len(self.keys) + 1}"
        flagged = [k for k in self.live_keys() if k in self.flags]
        replaces = data.draw(st.sampled_from([None, *flagged, *flagged, *self.live_keys()]))
        if replaces is not None:
            self.history.register_replacement(key_id, replaces, self.next_seq())
            self.replaces[key_id] = replaces
        shares = data.draw(st.integers(2, 4))
        threshold = data.draw(st.integers(2, shares))
        split = self.add_split(key_id, "shamir", threshold, shares)
        assert split is not None  # a first split fixes the quorum: never refused
        self.keys.append(key_id)
        holders = data.draw(st.lists(st.sampled_from(PEOPLE), min_size=shares, max_size=shares, unique=True))
        self.distribute(split, holders)

    @rule(data=st.data())
    def reshare(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        key_id = data.draw(st.sampled_from(self.keys))
        shares = data.draw(st.integers(2, 4))
        threshold = data.draw(st.integers(2, shares))
        split = self.add_split(key_id, "shamir", threshold, shares)
        if split is not None:
            COUNTS["reshare"] += 1
            holders = data.draw(
                st.lists(st.sampled_from(PEOPLE), min_size=shares, max_size=shares, unique=True)
            )
            self.distribute(split, holders)

    @rule(data=st.data())
    def recovery_into_components(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        key_id = data.draw(st.sampled_from(self.keys))
        count = data.draw(st.integers(2, 4))
        split = self.add_split(key_id, "xor", count, count)
        if split is not None:
            COUNTS["components output"] += 1
            holders = data.draw(
                st.lists(st.sampled_from(PEOPLE), min_size=count, max_size=count, unique=True)
            )
            self.distribute(split, holders)

    @rule(data=st.data())
    def recovery_into_wrap(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        key_id = data.draw(st.sampled_from(self.keys))
        transport = data.draw(st.sampled_from(sorted(TRANSPORTS)))
        parts = TRANSPORTS[transport]
        # A componentisation: 2+ of the KEK's components (the same ids as in earlier ceremonies, or a subset),
        # each entered by someone (possibly one person twice: the engine must refuse it).
        chosen = tuple(
            data.draw(st.lists(st.sampled_from(parts), min_size=2, max_size=len(parts), unique=True))
        )
        people = data.draw(st.lists(st.sampled_from(PEOPLE), min_size=len(chosen), max_size=len(chosen)))
        entered = tuple(zip(people, chosen, strict=True))
        seq = self.next_seq()
        trial = self.oracle.copy()
        trial.components.update(entered)
        trial.componentisations.setdefault(transport, set()).add(chosen)
        trial.wrapped.setdefault(key_id, set()).add(transport)
        # The route through this transport key, alone: below the quorum of a key wrapped under it?
        route_too_small = any(
            (size := trial.smallest(k, transport)) is not None and size < self.floor(k)
            for k in trial.wrapped
            if transport in trial.wrapped[k]
        )
        try:
            self.history.add_wrap(key_id, transport, entered, seq)
        except CustodyViolationError:
            COUNTS["refused"] += 1
            COUNTS["refused wrap"] += 1
            assert route_too_small, f"over-strict refusal of a wrap {entered}"
            return
        assert not route_too_small, f"accepted a wrap that lets a small group rebuild: {entered}"
        assert not self.would_break(trial)
        COUNTS["wrap output"] += 1
        self.oracle = trial
        # Someone who left knows a component of this KEK (from this or any earlier ceremony): the key
        # now wrapped under it is known in part to them, so it is flagged too (PCI DSS 3.7.5).
        knowers = {p for (p, c) in trial.components if c in parts}
        if knowers & self.departed and key_id not in self.retired_keys:
            self.flags.setdefault(key_id, seq)

    @rule(data=st.data())
    def lower_quorum(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        key_id = data.draw(st.sampled_from(self.keys))
        quorum = data.draw(st.one_of(st.integers(2, max(2, self.quorum[key_id] - 1)), st.integers(1, 4)))
        try:
            self.history.lower_quorum(key_id, quorum, self.next_seq())
        except (CustodyViolationError, CustodyRecordError):
            assert quorum < 2 or quorum >= self.quorum[key_id]
            return
        assert 2 <= quorum < self.quorum[key_id]
        COUNTS["quorum lowered"] += 1
        self.quorum[key_id] = quorum

    @rule(person=st.sampled_from(PEOPLE), data=st.data())
    def share_exposure(self, person: str, data: st.DataObject) -> None:
        """Any exposure of any share (distribution, verification, hand-over): the one-share rule applies."""
        COUNTS["steps"] += 1
        split = data.draw(st.sampled_from(sorted(self.oracle.splits.values(), key=lambda s: s.seq)))
        number = data.draw(st.integers(1, split.shares))
        kind = data.draw(st.sampled_from(["shown", "entered", "handed"]))
        self.expose(Exposure(self.next_seq(), person, split.split_id, number, kind))  # type: ignore[arg-type]

    @rule(person=st.sampled_from(PEOPLE), data=st.data())
    def demonstrated(self, person: str, data: st.DataObject) -> None:
        """Someone typed a share that was not theirs: a fact, recorded whatever it does."""
        COUNTS["steps"] += 1
        COUNTS["demonstrated"] += 1
        split = data.draw(st.sampled_from(sorted(self.oracle.splits.values(), key=lambda s: s.seq)))
        number = data.draw(st.integers(1, split.shares))
        self.history.record(Exposure(self.next_seq(), person, split.split_id, number, "demonstrated"))
        self.oracle.shares.add((person, split.split_id, number))
        self.facts = True

    @rule(person=st.sampled_from(PEOPLE))
    def departure(self, person: str) -> None:
        COUNTS["steps"] += 1
        seq = self.next_seq()
        expected = sorted(self.oracle.keys_known_by(person))
        assert self.history.deactivate(person, seq) == expected
        self.departed.add(person)
        for key_id in expected:
            if key_id not in self.retired_keys:
                self.flags.setdefault(key_id, seq)

    @precondition(lambda self: self.live_keys())
    @rule(data=st.data())
    def retirement(self, data: st.DataObject) -> None:
        COUNTS["steps"] += 1
        replaced = [k for k in self.live_keys() if k in self.replaces.values()]
        key_id = data.draw(st.sampled_from([*replaced, *replaced, *self.live_keys()]))
        replacements = [new for new, old in self.replaces.items() if old == key_id]
        replaced_by = data.draw(st.sampled_from([*replacements, *replacements, None, "K999"]))
        seq = self.next_seq()
        if replaced_by == "K999":
            try:
                self.history.retire_key(key_id, seq, replaced_by)
            except CustodyRecordError:
                return
            raise AssertionError("retirement named a key that is not its replacement")
        self.history.retire_key(key_id, seq, replaced_by)
        self.retired_keys.add(key_id)
        if replaced_by is not None and key_id in self.flags:
            COUNTS["flag cleared"] += 1
            del self.flags[key_id]

    # --- invariants ---------------------------------------------------------------------------------------
    @invariant()
    def coalition_is_the_oracles(self) -> None:
        for key_id in self.keys:
            expected = self.oracle.smallest(key_id)
            coalition = self.history.smallest_coalition(key_id)
            assert coalition.size == expected, (key_id, coalition, expected)
            if expected is not None:
                COUNTS["coalitions checked"] += 1
                assert len(coalition.members) == expected
                assert self.oracle.rebuilds(key_id, coalition.members)

    @invariant()
    def broken_only_when_the_oracle_says_so(self) -> None:
        for key_id in self.keys:
            size = self.oracle.smallest(key_id)
            below = size is not None and size < self.floor(key_id)
            assert (self.history.broken(key_id) is not None) == below
            if below:
                COUNTS["broken by demonstrated knowledge"] += 1
                assert self.facts, (
                    f"key {key_id} rebuildable by {size} < quorum without demonstrated knowledge"
                )
            assert self.history.quorum(key_id) == self.quorum[key_id]

    @invariant()
    def flags_match(self) -> None:
        assert self.history.flagged_keys() == self.flags


def test_every_route_counts_and_no_small_group_rebuilds_a_key():
    COUNTS.clear()
    run_state_machine_as_test(
        CustodyRoutes,
        settings=settings(
            max_examples=HISTORIES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            # The normal run is the same every time (so the coverage checks below cannot flake); the long
            # profile explores new histories on every run.
            derandomize=not LONG,
            database=None,
        ),
    )
    print(f"\ncustody routes property test: {dict(COUNTS)}")
    assert COUNTS["histories"] >= HISTORIES // 2
    for what in ("wrap output", "components output", "refused wrap", "refused split", "quorum lowered"):
        assert COUNTS[what] > 0, f"the run never exercised: {what}"
    assert COUNTS["flag cleared"] > 0 and COUNTS["broken by demonstrated knowledge"] > 0
