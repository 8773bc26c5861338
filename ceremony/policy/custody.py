"""The custody rule (PCI DSS 3.7.6, DESIGN §3): nobody may ever know enough of a key to rebuild it.

INTERFACE FIXED HERE; implementation in progress. Pure: no I/O, no clock. Fed from ledger events in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExposureKind = Literal["assigned", "shown", "entered", "handed", "printed", "returned"]


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
    split_id: str | None
