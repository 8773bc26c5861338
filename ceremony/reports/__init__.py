"""Reports for security officers and auditors (DESIGN §6): read-only views computed from the ledger.

* ``model``       the facts, from one replay of the ledger; filters; what a report is
* ``custody``     per key and split: holders now, who ever knew which share, envelopes, smallest coalition
* ``custodians``  per person: roles, components ever held, acknowledgements and reaffirmations, status
* ``keys``        the key inventory (PCI DSS 3.6.1.1)
* ``ceremonies``  each ceremony's minutes from its events
* ``exceptions``  insecure-service exceptions, active and expired (PCI DSS 1.2.6)
* ``render``      text, JSON, CSV and PDF
* ``bundle``      reports and the signed manifest of an evidence bundle
* ``export``      one report read off a ledger file (read-only), and written to a PDF or CSV file
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from ceremony.errors import ReportError
from ceremony.reports import ceremonies, custodians, custody, exceptions, keys
from ceremony.reports.model import Filters, LedgerFacts, Report

Builder = Callable[[LedgerFacts, Filters, datetime], Report]

KINDS: Final[dict[str, Builder]] = {
    "custody": custody.build,
    "custodians": custodians.build,
    "keys": keys.build,
    "ceremonies": ceremonies.build,
    "exceptions": exceptions.build,
}


def build_report(kind: str, facts: LedgerFacts, filters: Filters, as_of: datetime) -> Report:
    """The report ``kind`` over ``facts`` (see :func:`ceremony.reports.model.read_facts`)."""
    builder = KINDS.get(kind)
    if builder is None:
        raise ReportError(f"there is no report {kind[:30]!r}; the reports are {', '.join(KINDS)}")
    return builder(facts, filters, as_of)
