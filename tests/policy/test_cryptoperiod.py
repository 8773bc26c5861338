"""Cryptoperiods (PCI DSS 3.6.1.4, 3.7.4): expiry, due within 90 days, expired — with a frozen ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.ledger import schema as sc
from ceremony.policy.cryptoperiod import (
    DUE_WINDOW,
    Cryptoperiod,
    PeriodStatus,
    classify,
    cryptoperiods,
    keys_needing_attention,
    parse_time,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeEvent:
    """The shape of a checked ledger event the register folds (seq, type, time, typed record, signers)."""

    seq: int
    type: str
    time: str
    record: sc.Record
    actors: tuple[str, ...] = ()
    attested_by: tuple[str, ...] = ()
    hash: bytes = b""


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def registered(seq: int, key_id: str, when: datetime, days: int, label: str = "k") -> FakeEvent:
    record = sc.KeyRegistered(
        ceremony_id="C1",
        key_id=key_id,
        key_type="AES-256",
        label=label,
        usage="test",
        kcv_hex="d77f007724",
        kcv_method="AES-CMAC-X9.24",
        cryptoperiod_days=days,
        test_key=False,
    )
    return FakeEvent(seq, record.TYPE, _stamp(when), record)


def retired(seq: int, key_id: str, when: datetime) -> FakeEvent:
    record = sc.KeyRetired(ceremony_id="C2", key_id=key_id, label="k", kcv_hex="d77f007724", reason="r")
    return FakeEvent(seq, record.TYPE, _stamp(when), record)


def exposed(seq: int, when: datetime) -> FakeEvent:
    record = sc.ShareExposed(split_id="S1", share_number=1, person_id="x", kind="shown")
    return FakeEvent(seq, record.TYPE, _stamp(when), record)


def test_expiry_is_registration_plus_cryptoperiod():
    (period,) = cryptoperiods([registered(1, "K1", datetime(2026, 1, 1, tzinfo=UTC), 365)])
    assert period.expires == datetime(2027, 1, 1, tzinfo=UTC)
    assert period.days_left(NOW) == 38  # 39 days minus the 12 hours already gone
    assert period.status(NOW) is PeriodStatus.DUE


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(days=91), PeriodStatus.CURRENT),
        (DUE_WINDOW + timedelta(seconds=1), PeriodStatus.CURRENT),
        (DUE_WINDOW, PeriodStatus.DUE),  # exactly 90 days left: due
        (timedelta(seconds=1), PeriodStatus.DUE),
        (timedelta(0), PeriodStatus.EXPIRED),  # at the expiry instant the key may no longer be used
        (-timedelta(days=400), PeriodStatus.EXPIRED),
    ],
)
def test_status_boundaries(offset, status):
    days = 730
    start = NOW + offset - timedelta(days=days)
    assert Cryptoperiod("K", "k", start, days).status(NOW) is status


def test_report_orders_by_expiry_and_leaves_out_retired_and_current_keys():
    events = [
        registered(1, "CURRENT", NOW - timedelta(days=10), 365),
        registered(2, "DUE-LATER", NOW - timedelta(days=300), 365),
        registered(3, "DUE-SOON", NOW - timedelta(days=360), 365),
        registered(4, "EXPIRED", NOW - timedelta(days=400), 365),
        registered(5, "RETIRED", NOW - timedelta(days=400), 365),
        retired(6, "RETIRED", NOW - timedelta(days=1)),
        exposed(7, NOW),
    ]
    report = keys_needing_attention(events, NOW)
    assert [p.key_id for p in report.due] == ["DUE-SOON", "DUE-LATER"]
    assert [p.key_id for p in report.expired] == ["EXPIRED"]
    assert [p.key_id for p in report.attention] == ["EXPIRED", "DUE-SOON", "DUE-LATER"]
    # Before its retirement, the retired key was expired like any other.
    earlier = keys_needing_attention(events, NOW - timedelta(days=2))
    assert "RETIRED" in {p.key_id for p in earlier.expired}


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError, match="aware"):
        classify([], datetime(2026, 1, 1))


def test_ledger_time_format():
    assert parse_time("2026-11-23T12:00:00Z") == NOW
    with pytest.raises(ValueError):
        parse_time("23/11/2026")


@settings(max_examples=100, deadline=None)
@given(
    days=st.integers(min_value=1, max_value=3650),
    age=st.integers(min_value=-10, max_value=5000),
)
def test_every_key_is_in_exactly_one_state(days, age):
    period = Cryptoperiod("K", "k", NOW - timedelta(days=age), days)
    report = classify([period], NOW)
    left = days - age
    assert (period in report.expired) == (left <= 0)
    assert (period in report.due) == (0 < left <= 90)
    assert period.days_left(NOW) == left
