"""The reaffirmation schedule (PCI DSS 4.0.1 Requirement 3.7.8): when a custodian's acknowledgement falls due
again, and where they stand at a given moment. Pure: no I/O, no clock — the caller passes ``now``.

The default period is 12 calendar months after the last acknowledgement or reaffirmation (3.7.8 asks at least
annually), with a 30-day warning window; an organisation may set another period (1 to 3650 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ceremony.errors import InputError

__all__ = ["DEFAULT_POLICY", "ReaffirmationPolicy", "Standing", "add_months", "due_date", "standing"]


class Standing(StrEnum):
    CURRENT = "current"
    DUE = "due"  # due within the warning window
    OVERDUE = "overdue"
    NONE = "never acknowledged"


@dataclass(frozen=True)
class ReaffirmationPolicy:
    """How often custodians reaffirm (PCI DSS 3.7.8 asks at least annually) and how early to warn."""

    period_days: int = 365
    warning_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.period_days <= 3650 or not 0 <= self.warning_days < self.period_days:
            raise InputError(
                "a reaffirmation period is 1 to 3650 days and the warning window shorter than the period"
            )


DEFAULT_POLICY = ReaffirmationPolicy()


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, on the same day (the last day of a shorter month): 12 months = a year."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def due_date(last: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY) -> datetime:
    """When the next reaffirmation falls due: 12 calendar months after ``last`` for the default (annual)
    period, otherwise ``period_days`` later."""
    if policy.period_days == 365:
        return add_months(last, 12)
    return last + timedelta(days=policy.period_days)


def standing(
    last: datetime | None, now: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY
) -> tuple[Standing, datetime | None]:
    """The custodian's reaffirmation standing at ``now`` and the due date (None if never acknowledged)."""
    if last is None:
        return Standing.NONE, None
    due = due_date(last, policy)
    if now >= due:
        return Standing.OVERDUE, due
    if now >= due - timedelta(days=policy.warning_days):
        return Standing.DUE, due
    return Standing.CURRENT, due
