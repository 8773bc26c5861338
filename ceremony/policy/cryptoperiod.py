"""Cryptoperiods (PCI DSS 3.6.1.4, 3.7.4): when each key must stop being used, and which keys need attention.

Pure: no I/O and no clock of its own. A key's cryptoperiod starts when it was registered (the time of its
``key.registered`` ledger event) and lasts the ``cryptoperiod_days`` it records, as the register
(:mod:`ceremony.ledger.register`) holds them. ``now`` is always passed in, so the start screen, the reports
and the tests agree on "today".

* **expired**: ``now`` is at or past the expiry; the key must be replaced (re-keyed) and retired.
* **due**: the expiry falls within :data:`DUE_WINDOW` (90 days) — time to plan the replacement ceremony.
* Retired keys are not in use any more and are never listed as due or expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from ceremony.ledger.events import Event
from ceremony.ledger.register import Register

DUE_WINDOW = timedelta(days=90)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class PeriodStatus(StrEnum):
    CURRENT = "current"
    DUE = "due"  # expires within DUE_WINDOW
    EXPIRED = "expired"
    RETIRED = "retired"


class RegisteredKey(Protocol):
    """What this module reads of a registered key (the register's ``KeyInfo`` fits)."""

    @property
    def key_id(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def registered_time(self) -> str: ...

    @property
    def cryptoperiod_days(self) -> int: ...

    @property
    def test_key(self) -> bool: ...

    @property
    def retired_time(self) -> str | None: ...


def parse_time(text: str) -> datetime:
    """A ledger time (``YYYY-MM-DDTHH:MM:SSZ``, UTC) as an aware datetime."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Cryptoperiod:
    """One key's cryptoperiod: registered ``start``, lasting ``days``."""

    key_id: str
    label: str
    start: datetime
    days: int
    test_key: bool = False
    retired_at: datetime | None = None

    @property
    def expires(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def days_left(self, now: datetime) -> int:
        """Whole days until expiry (negative once expired); partial days count as not yet elapsed."""
        return (self.expires - now) // timedelta(days=1)

    def status(self, now: datetime, window: timedelta = DUE_WINDOW) -> PeriodStatus:
        if self.retired_at is not None and self.retired_at <= now:
            return PeriodStatus.RETIRED
        if now >= self.expires:
            return PeriodStatus.EXPIRED
        if self.expires - now <= window:
            return PeriodStatus.DUE
        return PeriodStatus.CURRENT


@dataclass(frozen=True)
class CryptoperiodReport:
    """Keys whose cryptoperiod needs attention as of ``now``, soonest expiry first."""

    now: datetime
    due: tuple[Cryptoperiod, ...]
    expired: tuple[Cryptoperiod, ...]

    @property
    def attention(self) -> tuple[Cryptoperiod, ...]:
        """Expired first, then due — the list shown at start (3.7.4)."""
        return self.expired + self.due


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime (UTC) as now; ledger times are UTC")


def periods_of(keys: Iterable[RegisteredKey]) -> list[Cryptoperiod]:
    """The cryptoperiod of each key (e.g. ``register.keys.values()``), with its first retirement if any."""
    return [
        Cryptoperiod(
            key_id=key.key_id,
            label=key.label,
            start=parse_time(key.registered_time),
            days=key.cryptoperiod_days,
            test_key=key.test_key,
            retired_at=None if key.retired_time is None else parse_time(key.retired_time),
        )
        for key in keys
    ]


def cryptoperiods(events: Iterable[Event]) -> list[Cryptoperiod]:
    """Every registered key's cryptoperiod, in registration order, with its retirement if any (``events``:
    e.g. ``ledger.events()``, folded into the register)."""
    return periods_of(Register.from_events(events).keys.values())


def classify(
    periods: Iterable[Cryptoperiod], now: datetime, window: timedelta = DUE_WINDOW
) -> CryptoperiodReport:
    """Split ``periods`` into due and expired as of ``now`` (retired and current keys are left out)."""
    _require_aware(now)
    due: list[Cryptoperiod] = []
    expired: list[Cryptoperiod] = []
    for period in periods:
        status = period.status(now, window)
        if status is PeriodStatus.DUE:
            due.append(period)
        elif status is PeriodStatus.EXPIRED:
            expired.append(period)
    due.sort(key=lambda p: (p.expires, p.key_id))
    expired.sort(key=lambda p: (p.expires, p.key_id))
    return CryptoperiodReport(now, tuple(due), tuple(expired))


def keys_needing_attention(
    events: Iterable[Event], now: datetime, window: timedelta = DUE_WINDOW
) -> CryptoperiodReport:
    """Over a ledger's events (e.g. ``ledger.events()``): keys due within 90 days and expired keys."""
    return classify(cryptoperiods(events), now, window)
