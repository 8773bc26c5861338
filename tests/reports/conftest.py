"""The known-answer ledger for the report tests (built once per module; see report_scenario.py)."""

from __future__ import annotations

import pytest
from report_scenario import Scenario, build_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("reports") / "ledger.sqlite3")
