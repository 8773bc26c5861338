"""Fixtures for the documents tests (sample data and helpers live in samples.py)."""

from __future__ import annotations

import pytest

from .samples import ALICE, CAROL, DAN, ERIN, Identity, make_identity


@pytest.fixture(scope="session")
def identities() -> dict[str, Identity]:
    """Enrolled signing identities (P-256 key + self-signed certificate) by person name."""
    return {p.name: make_identity(p) for p in (ALICE, CAROL, DAN, ERIN)}
