"""Fixtures for the flow tests; the helpers live in flow_support.py (a unique module name)."""

from __future__ import annotations

import pytest
from flow_support import Cast, make_cast


@pytest.fixture
def cast(tmp_path) -> Cast:
    made = make_cast(tmp_path)
    yield made
    made.ledger.close()
