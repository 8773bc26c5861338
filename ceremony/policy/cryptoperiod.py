"""Cryptoperiods (PCI DSS 3.6.1.4, 3.7.4): when each key must stop being used, and which keys need attention.

Pure: no I/O and no clock of its own. A key's cryptoperiod starts when it was registered (the time of its
``key.registered`` ledger event) and lasts ``cryptoperiod_days`` from that event's payload. ``now`` is always
passed in, so the start screen, the reports and the tests agree on "today".

* **expired**: ``now`` is at or past the expiry; the key must be replaced (re-keyed) and retired.
* **due**: the expiry falls within :data:`DUE_WINDOW` (90 days) — time to plan the replacement ceremony.
* Retired keys are not in use any more and are never listed as due or expired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

DUE_WINDOW = timedelta(days=90)
KEY_REGISTERED = "key.registered"
KEY_RETIRED = "key.retired"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class PeriodStatus(StrEnum):
    CURRENT = "current"
    DUE = "due"  # expires within DUE_WINDOW
    EXPIRED = "expired"
    RETIRED = "retired"


class LedgerEvent(Protocol):
    """What this module reads of a ledger event (``ceremony.ledger.events.Event`` fits)."""

    @property
    def seq(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def time(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, object]: ...


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


def cryptoperiods(events: Iterable[LedgerEvent]) -> list[Cryptoperiod]:
    """Every registered key's cryptoperiod, in registration order, with its retirement if any."""
    periods: dict[str, Cryptoperiod] = {}
    for event in events:
        payload = event.payload
        if event.type == KEY_REGISTERED:
            days = payload.get("cryptoperiod_days")
            if not isinstance(days, int):
                continue  # the ledger's payload check refuses this; nothing to report
            key_id = str(payload["key_id"])
            periods[key_id] = Cryptoperiod(
                key_id=key_id,
                label=str(payload.get("label", "")),
                start=parse_time(event.time),
                days=days,
                test_key=payload.get("test_key") is True,
            )
        elif event.type == KEY_RETIRED:
            key_id = str(payload.get("key_id", ""))
            old = periods.get(key_id)
            if old is not None and old.retired_at is None:
                periods[key_id] = Cryptoperiod(
                    old.key_id, old.label, old.start, old.days, old.test_key, parse_time(event.time)
                )
    return list(periods.values())


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
    events: Iterable[LedgerEvent], now: datetime, window: timedelta = DUE_WINDOW
) -> CryptoperiodReport:
    """Over a ledger's events (e.g. ``ledger.events()``): keys due within 90 days and expired keys."""
    return classify(cryptoperiods(events), now, window)
