"""Keep pytest-textual-snapshot working next to ceremony's TEXTUAL* scrub.

Importing ``ceremony.tui`` (and running the ``ceremony`` entry point) removes every ``TEXTUAL*``
variable from the environment, on purpose (DESIGN §2). pytest-textual-snapshot keeps its report
directory in one of them, TEXTUAL_SNAPSHOT_TEMPDIR, set when the session starts; put it back for
every test and before the plugin writes its report at session end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

_SNAPSHOT_VAR = "TEXTUAL_SNAPSHOT_TEMPDIR"
_saved: dict[str, str] = {}
if _SNAPSHOT_VAR in os.environ:  # conftest loaded after sessionstart (whole-suite run)
    _saved[_SNAPSHOT_VAR] = os.environ[_SNAPSHOT_VAR]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # After the plugin's own sessionstart, which sets the variable.
    value = os.environ.get(_SNAPSHOT_VAR)
    if value is not None:
        _saved[_SNAPSHOT_VAR] = value


def _restore() -> None:
    os.environ.update(_saved)


@pytest.fixture(autouse=True)
def _keep_snapshot_tempdir() -> Iterator[None]:
    _restore()
    yield
    _restore()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _restore()
    if _SNAPSHOT_VAR not in os.environ:
        # Scrubbed before we could save it (another test module imported ceremony.cli first): give the
        # plugin an empty report directory rather than let it crash the session.
        os.environ[_SNAPSHOT_VAR] = tempfile.mkdtemp(prefix="snapshot-report-")
