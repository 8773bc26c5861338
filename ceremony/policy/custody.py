"""The custody rule (PCI DSS 3.7.6, DESIGN §3): nobody may ever know enough of a key to rebuild it.

Pure: no I/O, no clock. :class:`CustodyHistory` is fed from ledger events in sequence order (``add_split``,
``retire_split``, ``record``, ``record_fact``, ``add_wrap``, ``lower_quorum``, ``deactivate``,
``register_replacement``, ``retire_key``) and answers, before any new exposure
is written, whether it is allowed (``check``).

The rule, as enforced here:

* Every exposure (assigned, shown, entered, handed, printed, returned) of share ``s`` of split ``S`` to a
  person is knowledge of ``S``/``s`` by that person, forever: retiring the split, reassigning the share,
  deactivating or re-enrolling the person never erases it.
* **One share per person per split.** A person who ever knew share ``a`` of ``S`` is refused any exposure
  of share ``b != a`` of ``S``. Re-seeing the same share (the verification round's ``entered`` after
  ``shown``, a returned envelope) is fine.
* **Smallest coalition.** For every key, over *all* its splits, retired or not (an old split still rebuilds
  the same key), the fewest people whose combined knowledge of one split reaches its threshold must be at
  least that split's threshold, and at least 2. Every share counts except a **destroyed** one: a sealed
  envelope returned and destroyed under dual control (``destroy_share``, from ``envelope.destroyed``) takes
  its share out of every coalition — retiring a split alone does not, since its envelopes still rebuild the
  key. Shares of different splits never combine: each split is an
  independent polynomial (or independent XOR components), so fewer than ``m`` shares of each of several
  splits reveal nothing about the key. A person who knew share 1 of an old 2-of-3 split and is given share 2
  of the new 2-of-3 split is therefore allowed.

  Because every person knows at most one share of each split, any coalition of ``k`` people knows at most
  ``k`` shares of that split, so the coalition bound follows from the one-share rule. ``check`` still computes
  the coalition of the touched split whenever an exposure adds knowledge, so the rule of DESIGN §3 is checked
  as written and not only through its consequence.

People are identified by a stable ``person_id`` given by the ledger. ASSUMPTION: the ledger maps a
re-enrollment of the same employee id to the same ``person_id``, so a returning employee keeps everything
they ever knew. Two different ids for one human cannot be detected here.

A key whose only way to be rebuilt is a single person (threshold 1, "clear key knowledge") can never enter
the history: ``add_split`` refuses a threshold below 2.

**Every route to the clear key counts** (DESIGN §3). Besides its splits, a key can be rebuilt from a file
wrapped under a transport key (a KEK, or a TR-31 KBPK) by whoever knows that transport key. A transport key is
identified by its KCV (method and value); its components are identified by their own KCVs, so a component
entered in two ceremonies is one piece of knowledge. Each time its components are entered is a
*componentisation* (an XOR n-of-n of the transport key); the transport key's smallest coalition is the
smallest over its componentisations, each counted with everything the people ever knew of it. The wrapped
file itself is assumed to be available to anyone (it is written to a file and travels): a transport key's
coalition is the coalition of every key ever wrapped under it.

**The key's quorum.** A key's first split fixes its quorum (its threshold). No later split — a re-share,
fresh XOR components for an HSM — and no wrap may give the key a smallest coalition below the quorum (and
never below 2), unless a security officer and a witness record ``key.quorum_lowered`` (``lower_quorum``).

**Demonstrated knowledge** (a person typed a share that was not theirs) is recorded as a fact
(``record_fact``): it is never refused, since it already happened; the coalition it leaves is what
``broken`` reports, and the flows stop that split.

**PCI DSS 3.7.5.** ``deactivate`` flags every key the person ever knew by any route. Only new key material
clears the flag: ``retire_key`` of a flagged key whose replacement (a later key registered as replacing it)
exists. A re-share never clears it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ceremony.errors import CustodyRecordError, CustodyViolationError

ExposureKind = Literal["assigned", "shown", "entered", "handed", "printed", "returned", "demonstrated"]

EXPOSURE_KINDS: frozenset[str] = frozenset(
    {"assigned", "shown", "entered", "handed", "printed", "returned", "demonstrated"}
)
# The kinds after which the person holds the share (card, envelope or component) until it moves again.
HOLDING_KINDS: frozenset[str] = frozenset({"assigned", "handed"})
MAX_SHARES = 255  # Shamir over GF(256): x-coordinates 1..255 (DESIGN §2)
# How a refusal names what the person may not do, per kind of exposure.
_ACTION: dict[str, str] = {
    "assigned": "be assigned",
    "shown": "be shown",
    "entered": "enter",
    "handed": "be handed",
    "printed": "have printed",
    "returned": "return",
    "demonstrated": "type",
}


@dataclass(frozen=True)
class SplitRecord:
    key_id: str
    split_id: str
    scheme: Literal["shamir", "xor"]
    threshold: int  # m (equals shares for XOR)
    shares: int  # n
    seq: int  # ledger event that created the split


@dataclass(frozen=True)
class Exposure:
    """A person was given, shown, or entered share ``share_number`` of ``split_id`` (ledger event ``seq``)."""

    seq: int
    person_id: str
    split_id: str
    share_number: int
    kind: ExposureKind


@dataclass(frozen=True)
class Coalition:
    """The smallest set of people whose combined past and present knowledge rebuilds a key."""

    key_id: str
    size: int | None  # None: nobody (not even all together) can rebuild it
    members: tuple[str, ...]
    split_id: str | None  # the split whose shares they know, or None for a transport route
    transport_id: str | None = None  # the transport key (KEK/KBPK) whose components they know

    def route(self) -> str:
        """How this coalition rebuilds the key, in words (for refusals and reports)."""
        if self.transport_id is not None:
            return f"{carrier(self.transport_id)} and the components of transport key {self.transport_id}"
        if self.split_id is not None:
            return f"shares of split {self.split_id}"
        return "no route"


@dataclass(frozen=True)
class QuorumLowered:
    key_id: str
    seq: int
    quorum: int  # the new smallest coalition allowed
    previous: int


def carrier(transport_id: str) -> str:
    """What a transport key opens, in words: a KBPK's key block, a KEK's wrapped file."""
    return "the key block" if transport_id.startswith("kbpk:") else "the wrapped file"


def transport_key_id(kind: str, kcv_method: str, kcv_hex: str) -> str:
    """The identity of a transport key (``kind`` "kek" or "kbpk") by its KCV."""
    return f"{kind}:{kcv_method}:{kcv_hex.lower()}"


@dataclass
class _Transport:
    """A transport key: who knows which of its components, and the componentisations used."""

    # component id (its KCV) -> person -> seq of the first event where they entered it
    knowers: dict[str, dict[str, int]] = field(default_factory=dict)
    componentisations: list[tuple[str, ...]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # keys wrapped under it, in order

    def coalition(self, extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, ...] | None:
        """Smallest set of people who together know every component of one componentisation; ``extra``:
        (person, component) pairs to count as known too (a dry run)."""
        knowers = {c: set(people) for c, people in self.knowers.items()}
        for person, component in extra:
            knowers.setdefault(component, set()).add(person)
        best: tuple[str, ...] | None = None
        for parts in self.componentisations:
            masks: dict[str, set[int]] = {}
            for index, component in enumerate(parts, start=1):
                for person in knowers.get(component, ()):
                    masks.setdefault(person, set()).add(index)
            members = smallest_coalition_of_split(masks, len(parts))
            if members is not None and (best is None or len(members) < len(best)):
                best = members
        return best


def smallest_coalition_of_split(
    knowledge: Mapping[str, Iterable[int]], threshold: int
) -> tuple[str, ...] | None:
    """One smallest set of people whose known share numbers of one split together number ``threshold`` or
    more, as a sorted tuple; ``None`` when even everybody together knows fewer than ``threshold`` shares.

    Exact (a small maximum-coverage search):

    1. each person's knowledge becomes a bit mask; people with the same mask are one candidate (the
       smallest id stands for them), and a candidate whose mask is a strict subset of another's is dropped —
       swapping it for the larger one never makes a coalition worse;
    2. a greedy pick gives a coalition of size ``g`` (an upper bound) and the sum of the largest masks gives
       a lower bound ``lb``;
    3. for ``k = lb .. g-1`` a depth-first search over ``k``-subsets (candidates in decreasing mask size)
       returns the first that covers ``threshold`` shares, pruning a branch when the covered count plus the
       ``k_left`` largest remaining marginal gains cannot reach it. If none, the greedy coalition is optimal.

    Complexity: with ``P`` remaining candidates, at most ``sum(C(P, k) for k in lb..g-1)`` search nodes, each
    costing ``O(P log P)``; ceremony splits have ``P <= 20`` people, so at worst about 10**6 nodes. Under the
    one-share-per-person rule every mask is a single share: no domination test, no search, ``O(P log P)``
    (this is the cost ``check`` pays per exposure when ``ceremony verify`` replays a ledger).
    """
    if threshold < 1:
        raise CustodyRecordError(f"A threshold must be at least 1 to compute a coalition, not {threshold}.")
    by_mask: dict[int, str] = {}
    for person, numbers in knowledge.items():
        mask = 0
        for number in numbers:
            mask |= 1 << number
        if mask and (mask not in by_mask or person < by_mask[mask]):
            by_mask[mask] = person
    # Largest first; a mask can only be dominated by a larger one, so singletons cost no comparisons.
    ordered = sorted(by_mask, key=lambda m: (-m.bit_count(), by_mask[m]))
    candidates: list[int] = []
    larger = 0  # candidates[:larger] hold more shares than the mask looked at
    for mask in ordered:
        while larger < len(candidates) and candidates[larger].bit_count() > mask.bit_count():
            larger += 1
        if not any(mask & ~bigger == 0 for bigger in candidates[:larger]):
            candidates.append(mask)
    everything = 0
    for mask in candidates:
        everything |= mask
    if everything.bit_count() < threshold:
        return None
    if candidates[0].bit_count() == 1:
        # Everyone knows one share (the one-share rule holds): any `threshold` of them, no search needed.
        return tuple(sorted(by_mask[m] for m in candidates[:threshold]))

    greedy: list[int] = []
    covered = 0
    while covered.bit_count() < threshold:
        best = max(candidates, key=lambda m: (m & ~covered).bit_count())  # first of equals: stable
        greedy.append(best)
        covered |= best
    lower = 0
    reach = 0
    for mask in candidates:
        if reach >= threshold:
            break
        reach += mask.bit_count()
        lower += 1

    def search(start: int, covered: int, left: int, chosen: list[int]) -> list[int] | None:
        have = covered.bit_count()
        if have >= threshold:
            return chosen
        if left == 0:
            return None
        gains = heapq.nlargest(left, ((m & ~covered).bit_count() for m in candidates[start:]))
        if have + sum(gains) < threshold:
            return None
        for i in range(start, len(candidates) - left + 1):
            found = search(i + 1, covered | candidates[i], left - 1, [*chosen, candidates[i]])
            if found is not None:
                return found
        return None

    best_masks = greedy
    for size in range(lower, len(greedy)):
        found = search(0, 0, size, [])
        if found is not None:
            best_masks = found
            break
    return tuple(sorted(by_mask[m] for m in best_masks))


@dataclass
class _SplitState:
    record: SplitRecord
    retired_seq: int | None = None
    # person -> share number -> seq of the first exposure of that share to that person
    known: dict[str, dict[int, int]] = field(default_factory=dict)
    # share number -> (current holder, seq of the exposure that made them the holder)
    holding: dict[int, tuple[str, int]] = field(default_factory=dict)
    # share number -> seq of the envelope.destroyed that destroyed it (it no longer counts anywhere)
    destroyed: dict[int, int] = field(default_factory=dict)

    def counted(self) -> dict[str, set[int]]:
        """Person -> share numbers they know that still count: every share known, except destroyed ones."""
        out: dict[str, set[int]] = {}
        for person, numbers in self.known.items():
            live = {n for n in numbers if n not in self.destroyed}
            if live:
                out[person] = live
        return out


class CustodyHistory:
    """Who ever knew which share of which split, and the checks of DESIGN §3 over it.

    Every call takes the ledger ``seq`` of its event, used to name events in refusals and flags. The ledger
    feeds events in seq order and enforces that order itself; a flow may dry-run a plan on its own copy
    (``CustodyHistory`` is replayed from the ledger) with placeholder seqs.
    """

    def __init__(self) -> None:
        self._splits: dict[str, _SplitState] = {}
        self._splits_of_key: dict[str, list[str]] = {}
        self._keys_of_person: dict[str, set[str]] = {}
        self._deactivated: dict[str, int] = {}
        self._flagged: dict[str, int] = {}
        self._quorum: dict[str, int] = {}
        self._lowered: dict[str, list[QuorumLowered]] = {}
        self._transports: dict[str, _Transport] = {}
        self._routes: dict[str, list[str]] = {}  # key id -> transport ids it was wrapped under
        self._replaces: dict[str, str] = {}  # new key id -> the key it replaces
        self._retired_keys: dict[str, int] = {}
        self._cleared: dict[str, tuple[int, str]] = {}  # key id -> (seq, replacement key id)

    # --- feeding from the ledger ---------------------------------------------------------------------------
    def add_split(self, split: SplitRecord) -> None:
        """A new split of a key (first split or re-share). Refuses malformed or duplicate records."""
        if not split.key_id or not split.split_id:
            raise CustodyRecordError(f"Event #{split.seq}: a split needs a key id and a split id.")
        if split.split_id in self._splits:
            earlier = self._splits[split.split_id].record
            raise CustodyRecordError(
                f"Event #{split.seq}: split {split.split_id} was already created at event #{earlier.seq}; "
                "a split id is used once."
            )
        if split.scheme not in ("shamir", "xor"):
            raise CustodyRecordError(f"Event #{split.seq}: split {split.split_id} has an unknown scheme.")
        if split.threshold < 2:
            # One person alone could rebuild the key: clear key knowledge (PCI DSS 3.7.6).
            raise CustodyRecordError(
                f"Event #{split.seq}: split {split.split_id} of key {split.key_id} has threshold "
                f"{split.threshold}; one person could rebuild the key alone, a split needs at least 2."
            )
        if split.shares > MAX_SHARES or split.threshold > split.shares:
            raise CustodyRecordError(
                f"Event #{split.seq}: split {split.split_id} is {split.threshold}-of-{split.shares}; "
                f"it needs threshold <= shares <= {MAX_SHARES}."
            )
        if split.scheme == "xor" and split.threshold != split.shares:
            raise CustodyRecordError(
                f"Event #{split.seq}: XOR split {split.split_id} is {split.threshold}-of-{split.shares}; "
                "XOR components are always all needed (threshold = shares)."
            )
        self.check_split(split)
        self._splits[split.split_id] = _SplitState(split)
        self._splits_of_key.setdefault(split.key_id, []).append(split.split_id)
        self._quorum.setdefault(split.key_id, split.threshold)

    def check_split(self, split: SplitRecord) -> None:
        """A later split of a key may not need fewer people than the key's quorum (DESIGN §3): a 3-of-5 key
        re-shared 2-of-3, or recovered into two XOR components, would be rebuilt by two people."""
        quorum = self._quorum.get(split.key_id)
        if quorum is not None and split.threshold < quorum:
            raise CustodyViolationError(
                f"Split {split.split_id} of key {split.key_id} would be rebuilt by {split.threshold} people, "
                f"fewer than the key's quorum of {quorum}{self._quorum_origin(split.key_id)} "
                "(PCI DSS 3.7.6); "
                "a security officer and a witness must first record key.quorum_lowered with a reason.",
                forbidding_seq=self._quorum_seq(split.key_id),
            )

    def _quorum_seq(self, key_id: str) -> int | None:
        lowered = self._lowered.get(key_id)
        if lowered:
            return lowered[-1].seq
        first = self._splits_of_key.get(key_id)
        return self._splits[first[0]].record.seq if first else None

    def _quorum_origin(self, key_id: str) -> str:
        seq = self._quorum_seq(key_id)
        if seq is None:
            return ""
        how = "lowered at" if self._lowered.get(key_id) else "set by its first split,"
        return f" ({how} event #{seq})"

    def quorum(self, key_id: str) -> int | None:
        """The fewest people who may be able to rebuild the key: its first split's threshold, or the value a
        recorded ``key.quorum_lowered`` set; None for a key with no split."""
        return self._quorum.get(key_id)

    def quorum_lowerings(self, key_id: str) -> list[QuorumLowered]:
        return list(self._lowered.get(key_id, ()))

    def lower_quorum(self, key_id: str, quorum: int, seq: int) -> None:
        """A security officer and a witness decided, on record, that the key may be rebuilt by ``quorum``
        people (at least 2)."""
        self.check_lower_quorum(key_id, quorum, seq)
        current = self._quorum[key_id]
        self._lowered.setdefault(key_id, []).append(QuorumLowered(key_id, seq, quorum, current))
        self._quorum[key_id] = quorum

    def check_lower_quorum(self, key_id: str, quorum: int, seq: int) -> None:
        current = self._quorum.get(key_id)
        if current is None:
            raise CustodyRecordError(f"Event #{seq}: key {key_id} has no split, so no quorum to lower.")
        if quorum < 2:
            raise CustodyViolationError(
                f"Event #{seq}: a quorum of {quorum} would let one person rebuild key {key_id}; "
                "the quorum is never below 2 (PCI DSS 3.7.6).",
                forbidding_seq=seq,
            )
        if quorum >= current:
            raise CustodyRecordError(
                f"Event #{seq}: key {key_id} already has a quorum of {current}; lowering it to {quorum} "
                "is not a lowering."
            )

    def retire_split(self, split_id: str, seq: int) -> None:
        """The split is retired (re-share or retirement). Knowledge of its shares still counts, forever."""
        state = self._split(split_id, seq)
        if state.retired_seq is not None:
            raise CustodyRecordError(
                f"Event #{seq}: split {split_id} was already retired at event #{state.retired_seq}."
            )
        state.retired_seq = seq

    def check_destroy(self, split_id: str, share_number: int, seq: int, key_id: str | None = None) -> None:
        """Raise unless share ``share_number`` of ``split_id`` (of ``key_id``, when given) can be destroyed:
        the split exists, the share is in range and was not destroyed before."""
        state = self._split(split_id, seq)
        if key_id is not None and state.record.key_id != key_id:
            raise CustodyRecordError(
                f"Event #{seq}: split {split_id} belongs to key {state.record.key_id}, not {key_id}."
            )
        if not 1 <= share_number <= state.record.shares:
            raise CustodyRecordError(
                f"Event #{seq}: split {split_id} has shares 1..{state.record.shares}, "
                f"not share {share_number}."
            )
        earlier = state.destroyed.get(share_number)
        if earlier is not None:
            raise CustodyRecordError(
                f"Event #{seq}: share {share_number} of split {split_id} was already destroyed at event "
                f"#{earlier}."
            )

    def destroy_share(self, split_id: str, share_number: int, seq: int, key_id: str | None = None) -> None:
        """The share's sealed envelope was returned and destroyed under dual control: from now on nobody
        holds it and it counts towards no coalition (whatever was known of it before stays recorded)."""
        self.check_destroy(split_id, share_number, seq, key_id)
        state = self._splits[split_id]
        state.destroyed[share_number] = seq
        state.holding.pop(share_number, None)

    def destroyed(self, split_id: str) -> dict[int, int]:
        """Share number -> seq of the event that destroyed it."""
        return dict(self._split(split_id, None).destroyed)

    def check(self, exposure: Exposure) -> None:
        """Raise if ``exposure`` would break the custody rule; never changes the history.

        :raises CustodyViolationError: with ``forbidding_seq`` set to the earlier event that forbids it.
        :raises CustodyRecordError: the exposure itself is malformed (unknown split, unknown kind, no person,
            share number out of range).
        """
        state = self._split(exposure.split_id, exposure.seq)
        split = state.record
        if exposure.kind not in EXPOSURE_KINDS:
            raise CustodyRecordError(f"Event #{exposure.seq}: unknown kind of exposure.")
        if not exposure.person_id:
            raise CustodyRecordError(f"Event #{exposure.seq}: an exposure needs a person id.")
        if not 1 <= exposure.share_number <= split.shares:
            raise CustodyRecordError(
                f"Event #{exposure.seq}: split {split.split_id} has shares 1..{split.shares}, "
                f"not share {exposure.share_number}."
            )
        known = state.known
        mine = known.get(exposure.person_id, {})
        others = {number: seq for number, seq in mine.items() if number != exposure.share_number}
        if others:
            # The earliest other share they knew is the event that forbids this one.
            number, first_seq = min(others.items(), key=lambda item: (item[1], item[0]))
            raise CustodyViolationError(
                f"{exposure.person_id} already knew share {number} of split {split.split_id} of key "
                f"{split.key_id} (event #{first_seq}); nobody may ever know two shares of one split "
                f"(PCI DSS 3.7.6), so they may not {_ACTION[exposure.kind]} share {exposure.share_number} "
                f"(event #{exposure.seq} refused).",
                forbidding_seq=first_seq,
            )
        if exposure.share_number in mine:
            return  # re-seeing one's own share adds no knowledge: the coalition bound cannot move
        # The coalition bound of DESIGN §3, on the only split this exposure changes.
        after = {person: set(numbers) for person, numbers in known.items()}
        after.setdefault(exposure.person_id, set()).add(exposure.share_number)
        members = smallest_coalition_of_split(after, split.threshold)
        if members is not None and len(members) < max(split.threshold, 2):
            # Earlier knowledge of the coalition, the exposed person's own included (the new share is not).
            involved = [seq for person in members for seq in known.get(person, {}).values()]
            forbidding = max(involved, default=None)
            raise CustodyViolationError(
                f"After event #{exposure.seq}, {len(members)} people ({', '.join(members)}) would together "
                f"know {split.threshold} shares of split {split.split_id} of key {split.key_id}, fewer "
                f"people than its threshold of {split.threshold} (PCI DSS 3.7.6); the last knowledge that "
                f"makes this possible is event #{forbidding}.",
                forbidding_seq=forbidding,
            )

    def record(self, exposure: Exposure) -> None:
        """Check ``exposure``, then remember it. Demonstrated knowledge is a fact: never refused."""
        if exposure.kind == "demonstrated":
            self.record_fact(exposure)
            return
        self.check(exposure)
        self._remember(exposure)

    def record_fact(self, exposure: Exposure) -> None:
        """Remember knowledge that already happened (a person typed a share that was not theirs), whatever
        it does to the coalition; ``broken`` then says whether the key's rule still holds."""
        state = self._split(exposure.split_id, exposure.seq)
        if not 1 <= exposure.share_number <= state.record.shares:
            raise CustodyRecordError(
                f"Event #{exposure.seq}: split {exposure.split_id} has shares 1..{state.record.shares}, "
                f"not share {exposure.share_number}."
            )
        if not exposure.person_id:
            raise CustodyRecordError(f"Event #{exposure.seq}: an exposure needs a person id.")
        self._remember(exposure)

    def _remember(self, exposure: Exposure) -> None:
        state = self._splits[exposure.split_id]
        mine = state.known.setdefault(exposure.person_id, {})
        mine.setdefault(exposure.share_number, exposure.seq)
        if exposure.kind in HOLDING_KINDS and exposure.share_number not in state.destroyed:
            state.holding[exposure.share_number] = (exposure.person_id, exposure.seq)
        self._keys_of_person.setdefault(exposure.person_id, set()).add(state.record.key_id)

    def deactivate(self, person_id: str, seq: int) -> list[str]:
        """The person left or changed role (PCI DSS 3.7.5): every key they ever had knowledge of by any
        route, sorted, is flagged "must be replaced" (a key already flagged keeps its earlier flag)."""
        keys = self.keys_known_by(person_id)
        self._deactivated.setdefault(person_id, seq)
        for key_id in keys:
            if key_id not in self._retired_keys:
                self._flagged.setdefault(key_id, seq)
        return keys

    def keys_known_by(self, person_id: str) -> list[str]:
        """Every key the person ever had knowledge of: a share of one of its splits, or a component of a
        transport key it was wrapped under."""
        keys = set(self._keys_of_person.get(person_id, ()))
        for transport in self._transports.values():
            if any(person_id in people for people in transport.knowers.values()):
                keys.update(transport.keys)
        return sorted(keys)

    def register_replacement(self, key_id: str, replaces: str, seq: int) -> None:
        """Key ``key_id`` is new key material registered to replace ``replaces`` (PCI DSS 3.7.5)."""
        self.check_replacement(key_id, replaces, seq)
        self._replaces[key_id] = replaces

    def check_replacement(self, key_id: str, replaces: str, seq: int) -> None:
        if replaces == key_id:
            raise CustodyRecordError(f"Event #{seq}: key {key_id} cannot replace itself.")
        if replaces in self._retired_keys:
            raise CustodyRecordError(
                f"Event #{seq}: key {replaces} was retired at event #{self._retired_keys[replaces]}; "
                "a replacement names a key still in use."
            )

    def replacements_of(self, key_id: str) -> list[str]:
        return [new for new, old in self._replaces.items() if old == key_id]

    def check_retire_key(self, key_id: str, replaced_by: str | None, seq: int) -> None:
        if key_id in self._retired_keys:
            raise CustodyRecordError(
                f"Event #{seq}: key {key_id} was already retired at event #{self._retired_keys[key_id]}."
            )
        if replaced_by is not None and self._replaces.get(replaced_by) != key_id:
            raise CustodyRecordError(
                f"Event #{seq}: key {replaced_by} was not registered as the replacement of key {key_id}."
            )

    def retire_key(self, key_id: str, seq: int, replaced_by: str | None = None) -> None:
        """The key is retired. With ``replaced_by`` (a key registered as its replacement) a departure's
        "must be replaced" flag is cleared (PCI DSS 3.7.5): only new key material clears it."""
        self.check_retire_key(key_id, replaced_by, seq)
        self._retired_keys[key_id] = seq
        if replaced_by is not None and key_id in self._flagged:
            self._flagged.pop(key_id)
            self._cleared[key_id] = (seq, replaced_by)

    def cleared(self) -> dict[str, tuple[int, str]]:
        """Key id -> (seq of the retirement that cleared its flag, the replacement key)."""
        return dict(self._cleared)

    # --- transport keys (KEK, KBPK): the wrapped-file routes ------------------------------------------------
    def check_wrap(
        self, key_id: str, transport_id: str, components: tuple[tuple[str, str], ...], seq: int
    ) -> None:
        """Raise if wrapping ``key_id`` under ``transport_id`` whose components (person, component id) were
        entered would let fewer people than a quorum rebuild any key wrapped under it."""
        self._checked_wrap(key_id, transport_id, components, seq)

    def _checked_wrap(
        self, key_id: str, transport_id: str, components: tuple[tuple[str, str], ...], seq: int
    ) -> _Transport:
        """The transport key as it would stand with this wrap (a copy), checked against every quorum."""
        if key_id not in self._splits_of_key:
            raise CustodyRecordError(f"Event #{seq}: key {key_id} has no split in the custody record.")
        if len(components) < 2:
            raise CustodyViolationError(
                f"Event #{seq}: a transport key from {len(components)} component would be known to one "
                "person; it needs at least two components from different people (PCI DSS 3.7.6).",
                forbidding_seq=None,
            )
        current = self._transports.get(transport_id, _Transport())
        trial = _Transport(
            {c: dict(people) for c, people in current.knowers.items()},
            list(current.componentisations),
            list(current.keys),
        )
        for person, component in components:
            trial.knowers.setdefault(component, {}).setdefault(person, seq)
        parts = tuple(component for _, component in components)
        if parts not in trial.componentisations:
            trial.componentisations.append(parts)
        if key_id not in trial.keys:
            trial.keys.append(key_id)
        members = trial.coalition()
        if members is None:
            return trial
        for affected in trial.keys:
            needed = max(self._quorum.get(affected, 2), 2)
            if len(members) < needed:
                raise CustodyViolationError(
                    f"After event #{seq}, {len(members)} people ({', '.join(members)}) would rebuild key "
                    f"{affected} from {carrier(transport_id)} and the components of transport key "
                    f"{transport_id}, "
                    f"fewer than the key's quorum of {needed}{self._quorum_origin(affected)} "
                    "(PCI DSS 3.7.6); a security officer and a witness must first record key.quorum_lowered.",
                    forbidding_seq=self._quorum_seq(affected),
                )
        return trial

    def add_wrap(
        self, key_id: str, transport_id: str, components: tuple[tuple[str, str], ...], seq: int
    ) -> None:
        """Check, then remember: the key was wrapped under the transport key, whose components the people
        named entered (each (person, component id))."""
        transport = self._transports[transport_id] = self._checked_wrap(key_id, transport_id, components, seq)
        routes = self._routes.setdefault(key_id, [])
        if transport_id not in routes:
            routes.append(transport_id)
        # Someone who has left already knows a component of this transport key (from an earlier ceremony):
        # the key wrapped under it is known in part to them, so it must be replaced too (PCI DSS 3.7.5).
        knowers = {person for people in transport.knowers.values() for person in people}
        if knowers & self._deactivated.keys() and key_id not in self._retired_keys:
            self._flagged.setdefault(key_id, seq)

    def broken(self, key_id: str) -> Coalition | None:
        """The key's smallest coalition when it is below the key's quorum (or 2): the rule no longer holds,
        e.g. after demonstrated knowledge. None while it holds."""
        coalition = self.smallest_coalition(key_id)
        quorum = max(self._quorum.get(key_id, 2), 2)
        if coalition.size is not None and coalition.size < quorum:
            return coalition
        return None

    # --- questions -----------------------------------------------------------------------------------------
    def flagged_keys(self) -> dict[str, int]:
        """Key id -> seq of the event that flagged it for replacement."""
        return dict(self._flagged)

    def deactivated(self) -> dict[str, int]:
        """Person id -> seq of the event that deactivated them (first one)."""
        return dict(self._deactivated)

    def keys(self) -> list[str]:
        """Every key id with at least one split, in order of first split."""
        return list(self._splits_of_key)

    def splits(self, key_id: str) -> list[SplitRecord]:
        """Every split of the key, retired or not, in ledger order."""
        return [self._splits[s].record for s in self._splits_of_key.get(key_id, [])]

    def split(self, split_id: str) -> SplitRecord:
        return self._split(split_id, None).record

    def has_split(self, split_id: str) -> bool:
        return split_id in self._splits

    def retired_at(self, split_id: str) -> int | None:
        """Seq of the retirement event, or None while the split is active."""
        return self._split(split_id, None).retired_seq

    def knowledge(self, key_id: str) -> dict[str, dict[str, frozenset[int]]]:
        """Person -> split id -> share numbers they ever knew, over every split of the key."""
        result: dict[str, dict[str, frozenset[int]]] = {}
        for split_id in self._splits_of_key.get(key_id, []):
            for person, numbers in self._splits[split_id].known.items():
                result.setdefault(person, {})[split_id] = frozenset(numbers)
        return result

    def first_exposures(self, split_id: str) -> dict[str, dict[int, int]]:
        """Person -> share number -> seq of the first event that exposed it to them (for reports)."""
        known = self._split(split_id, None).known
        return {person: dict(numbers) for person, numbers in known.items()}

    def people_who_knew(self, key_id: str) -> frozenset[str]:
        """Everyone who ever knew any share of any split of the key, or a component of a transport key it
        was wrapped under (for dual control, DESIGN §1, and PCI DSS 3.7.5)."""
        people = set(self.knowledge(key_id))
        for transport_id in self._routes.get(key_id, ()):
            for knowers in self._transports[transport_id].knowers.values():
                people.update(knowers)
        return frozenset(people)

    def holders(self, split_id: str) -> dict[int, str]:
        """Share number -> current holder (the last 'assigned' or 'handed' exposure of that share; nobody
        once it was destroyed)."""
        return {number: person for number, (person, _) in self._split(split_id, None).holding.items()}

    def smallest_coalition(self, key_id: str) -> Coalition:
        """The fewest people whose combined knowledge of some split of the key reaches its threshold.

        All splits count, retired or not; every share counts except a destroyed one. Among equally small
        coalitions, the earliest split wins.
        """
        if key_id not in self._splits_of_key:
            raise CustodyRecordError(f"Key {key_id} has no split in the custody record.")
        best = Coalition(key_id=key_id, size=None, members=(), split_id=None)
        for split_id in self._splits_of_key[key_id]:
            state = self._splits[split_id]
            members = smallest_coalition_of_split(state.counted(), state.record.threshold)
            if members is not None and (best.size is None or len(members) < best.size):
                best = Coalition(key_id=key_id, size=len(members), members=members, split_id=split_id)
        for transport_id in self._routes.get(key_id, ()):
            members = self._transports[transport_id].coalition()
            if members is not None and (best.size is None or len(members) < best.size):
                best = Coalition(key_id, len(members), members, None, transport_id)
        return best

    # --- internals -----------------------------------------------------------------------------------------
    def _split(self, split_id: str, seq: int | None) -> _SplitState:
        state = self._splits.get(split_id)
        if state is None:
            where = f"Event #{seq}: " if seq is not None else ""
            raise CustodyRecordError(
                f"{where}split {split_id} is not in the custody record (no split event)."
            )
        return state
