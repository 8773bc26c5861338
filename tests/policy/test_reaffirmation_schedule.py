"""The reaffirmation schedule (PCI DSS 3.7.8) as a pure policy: due dates and standings at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.errors import InputError
from ceremony.policy.reaffirmation import ReaffirmationPolicy, Standing, add_months, due_date, standing

LAST = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def test_annual_means_twelve_calendar_months_and_month_ends_clamp() -> None:
    assert due_date(LAST) == datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert add_months(LAST, 1) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)  # no 31 February
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)


def test_standings_at_the_edges_of_the_warning_window() -> None:
    due = due_date(LAST)
    assert standing(None, LAST) == (Standing.NONE, None)
    assert standing(LAST, due - timedelta(days=30, seconds=1)) == (Standing.CURRENT, due)
    assert standing(LAST, due - timedelta(days=30)) == (Standing.DUE, due)
    assert standing(LAST, due - timedelta(seconds=1)) == (Standing.DUE, due)
    assert standing(LAST, due) == (Standing.OVERDUE, due)


def test_another_period_counts_days() -> None:
    policy = ReaffirmationPolicy(period_days=180, warning_days=14)
    assert due_date(LAST, policy) == LAST + timedelta(days=180)
    assert standing(LAST, LAST + timedelta(days=170), policy)[0] is Standing.DUE
    with pytest.raises(InputError):
        ReaffirmationPolicy(period_days=30, warning_days=30)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(1, 240))
def test_add_months_lands_in_the_right_month_never_later_day(moment: datetime, months: int) -> None:
    later = add_months(moment.replace(tzinfo=UTC), months)
    index = moment.year * 12 + moment.month - 1 + months
    assert (later.year * 12 + later.month - 1) == index
    assert later.day <= moment.day and later.time() == moment.time()
