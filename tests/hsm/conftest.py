"""Fixtures for the PKCS#11 tests: a fresh SoftHSM2 token per test (see tests/hsm/softhsm.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hsm.softhsm import SoftToken, softhsm_token


@pytest.fixture
def soft_token(tmp_path: Path) -> Iterator[SoftToken]:
    with softhsm_token(tmp_path) as token:
        yield token
