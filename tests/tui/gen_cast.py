"""Shared set-up for the ledger screens' tests: a real rehearsal ledger in tmp_path, founded by the roster's
first security officer and the others enrolled under dual control (``flows.enrolment.enroll_roster``)
through the light KDF (as tests/flows/flow_support.py), dummy rehearsal passphrases, preflight runners that
stand for a laptop's state, and small Pilot helpers (typing, waiting for a screen)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Select

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.secret import SecretBytes
from ceremony.flows.enrolment import Newcomer, enroll_roster
from ceremony.ledger.store import Ledger
from ceremony.preflight import Finding, PreflightReport, Verdict
from ceremony.tui.widgets.share_groups import GroupedShareEntry

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)
ORGANISATION = "Example Payments Ltd"  # tests only: a real first run asks for it and has no default

ROSTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sophie", "Sophie Officer", ("security_officer",)),
    ("alice", "Alice Admin", ("administrator",)),
    ("walter", "Walter Witness", ("witness",)),
    ("dual", "Dana Both", ("administrator", "witness")),
    ("cust1", "Carla One", ("custodian",)),
    ("cust2", "Chris Two", ("custodian",)),
    ("cust3", "Cora Three", ("custodian",)),
)


def passphrase(name: str) -> str:
    """A dummy rehearsal passphrase (never a real one), at least 12 characters."""
    return f"rehearsal passphrase of {name}"


def make_ledger(
    path: Path, roster: tuple[tuple[str, str, tuple[str, ...]], ...] = ROSTER, *, rehearsal: bool = True
) -> dict[str, str]:
    """Found a new (rehearsal by default) ledger and enrol ``roster`` on it under dual control (the first
    security officer of the roster founds it); returns short name -> person id."""

    def secret_of(short: str) -> Callable[[], SecretBytes]:
        return lambda: SecretBytes(passphrase(short).encode())

    newcomers = [
        Newcomer(name, f"E{index:04d}", roles, secret_of(short))
        for index, (short, name, roles) in enumerate(roster)
    ]
    with Ledger.open(path, create=True, rehearsal=rehearsal) as ledger:
        by_employee = enroll_roster(ledger, newcomers, organisation=ORGANISATION, kdf=FAST_KDF)
    return {short: by_employee[f"E{index:04d}"] for index, (short, _, _) in enumerate(roster)}


def report_of(now: datetime, *findings: Finding) -> PreflightReport:
    return PreflightReport(now, "ceremony-laptop", "Linux test", "", findings)


def clear_laptop(now: datetime) -> PreflightReport:
    """An air-gapped laptop: every check passes."""
    return report_of(
        now,
        Finding("net.interfaces", "Network interfaces", Verdict.PASS, "only loopback is up"),
        Finding("mem.swap", "Swap", Verdict.PASS, "no swap in use"),
    )


def networked_laptop(now: datetime) -> PreflightReport:
    """A laptop with its wired interface up: one insecure finding, not excepted."""
    return report_of(
        now,
        Finding(
            "net.interfaces",
            "Network interfaces",
            Verdict.INSECURE,
            "interface eth0 is up",
            subject="interface eth0",
            remedy="unplug the cable and bring eth0 down",
        ),
        Finding("mem.swap", "Swap", Verdict.PASS, "no swap in use"),
    )


async def type_into(pilot: Pilot[object], widget: Input, text: str) -> None:
    """Focus ``widget`` and type ``text`` into it as keystrokes would (the widget's own insert)."""
    widget.focus()
    await pilot.pause()
    widget.insert_text_at_cursor(text)
    await pilot.pause()


async def type_share(pilot: Pilot[object], entry: GroupedShareEntry, text: str) -> None:
    """Focus a share entry and type ``text`` into it as keystrokes would (the widget's own typing path;
    dashes and spaces are skipped). Enter is left to the caller."""
    entry.focus()
    await pilot.pause()
    entry.type_text(text)
    await pilot.pause()


async def pick(pilot: Pilot[object], select: Select[object], value: object) -> None:
    select.focus()
    select.value = value
    await pilot.pause()


async def wait_for(pilot: Pilot[object], done: Callable[[], bool], timeout: float = 8.0) -> None:
    """Let the app run until ``done()`` holds (workers, refreshes)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not done():
        if loop.time() > end:
            raise AssertionError(f"timed out; screen is {type(pilot.app.screen).__name__}")
        await pilot.pause(0.05)


def unfinished_shown(app: object) -> bool:
    """The unfinished-ceremony screen is up and composed down to its name lists. It is pushed right after
    the menu's first frame (the start's checked read comes first), so being on the stack is not enough."""
    from ceremony.tui.screens.unfinished import UnfinishedScreen

    screen = app.screen  # type: ignore[attr-defined]
    return isinstance(screen, UnfinishedScreen) and bool(screen.query("SelectCurrent #label"))
