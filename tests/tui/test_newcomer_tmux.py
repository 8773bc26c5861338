"""A newcomer's whole path with the real ``ceremony`` binary in tmux at 80x24 (issue 14, "Tests").

Nothing is prepared behind the program's back: the first run founds the ledger (the organisation's name is
asked), six people are enrolled on the participants screen (security officer, administrator, witness, three
custodians), a 2-of-3 AES-256 key is generated, distributed, verified and closed out, then recovered from
two shares — a custodian first types a wrong passphrase — into two fresh components, and the auditor view
(``ceremony --read-only``) is opened on the ledger. A networked test machine's preflight blocks (a
production ledger): the security officer and the witness record an exception from the preflight screen;
a machine whose preflight is clear skips that part.

The screens and every PDF written (``pdftotext``) must never show "None" nor an event type's name
(``share.exposed``…), the forms carry the organisation's name (never the tests' "Example Payments Ltd"),
and the closing checkpoint shown at close-out is the one the minutes print, which ``ceremony verify
--checkpoint`` accepts typed back exactly as printed. Passphrases are dummy test ones; the key cost is the
production one (scrypt, about half a second per unlock), so the test takes a couple of minutes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.schema import EVENT_TYPES
from ceremony.ledger.store import Ledger
from tests.tui.test_generation_tmux import pick_option, press, share_on_screen
from tests.tui.test_preflight_exception_tmux import choose
from tests.tui.tmux_harness import CEREMONY_BIN, TmuxSession, tmux_available

pytestmark = [
    pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed"),
    pytest.mark.tmux,
]

ORGANISATION = "Northwind Card Services"
# (short name, full name, employee id, role's place in the enrolment form's list: 1 = security officer)
PEOPLE = (
    ("nadia", "Nadia Okafor", "NW-101", 1),
    ("tomas", "Tomas Berg", "NW-102", 2),
    ("wen", "Wen Li", "NW-103", 3),
    ("ana", "Ana Costa", "NW-201", 4),
    ("ben", "Ben Ito", "NW-202", 4),
    ("cleo", "Cleo Park", "NW-203", 4),
)
NAME = {short: name for short, name, _, _ in PEOPLE}
SERIALS = ("NW-ENV-0001", "NW-ENV-0002", "NW-ENV-0003")
EVENT_NAME = re.compile("|".join(re.escape(t) for t in sorted(EVENT_TYPES)))


def secret(short: str) -> str:
    """A dummy test passphrase, at least 12 characters."""
    return f"northwind test passphrase of {short}"


class Screens:
    """Every screen the test waited for, to check them all for words a person must never see."""

    def __init__(self, tmux: TmuxSession) -> None:
        self.tmux = tmux
        self.seen: list[str] = []

    def wait(self, text: str, timeout: float = 30.0) -> str:
        screen = self.tmux.wait_for_text(text, timeout)
        self.seen.append(screen)
        return screen

    def wait_any(self, *texts: str, timeout: float = 30.0) -> str:
        screen = self.tmux.wait_for(lambda s: any(t in s for t in texts), timeout)
        self.seen.append(screen)
        return screen


def type_enter(tmux: TmuxSession, text: str) -> None:
    """Type into the focused field, wait until the program has it, then Enter."""
    tmux.type_text(text)
    time.sleep(0.3)
    press(tmux, "Enter")


def authenticate(tmux: TmuxSession, screens: Screens, short: str, then: str | None = None) -> None:
    """The focused passphrase field (a form offering one person): type, Enter, wait until present (or,
    when that completes the screen, until the next one shows ``then``)."""
    time.sleep(0.3)
    type_enter(tmux, secret(short))
    screens.wait_any(f"{NAME[short]} is present", *([then] if then else []), timeout=20)


def body(screen: str) -> str:
    """The screen's body (right of the step list, when there is one), rows joined."""
    rows = [line.split("│", 1)[1] if "│" in line else line for line in screen.splitlines()]
    return "\n".join(rows)


def checkpoint_on_screen(screen: str) -> Checkpoint:
    """The closing checkpoint as shown at close-out: the magic line and the hash lines below it."""
    rows = [row.strip() for row in body(screen).splitlines()]
    start = next(i for i, row in enumerate(rows) if row.startswith("CEREMONY-CHECKPOINT"))
    taken = [rows[start]]
    for row in rows[start + 1 :]:
        if not re.fullmatch(r"[0-9A-F ]+", row):
            break
        taken.append(row)
    return Checkpoint.parse("\n".join(taken))


def checkpoint_in_minutes(text: str) -> str:
    """The closing checkpoint exactly as the minutes print it (the magic line and the hash lines)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "CEREMONY-CHECKPOINT" in line)
    taken = [lines[start][lines[start].index("CEREMONY-CHECKPOINT") :]]
    for line in lines[start + 1 :]:
        if not re.fullmatch(r"[0-9A-F ]+", line.strip()) or not line.strip():
            break
        taken.append(line.strip())
    return "\n".join(taken)


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout


def found_and_enrol(tmux: TmuxSession, screens: Screens, ledger: Path) -> None:
    tmux.run_ceremony("--ledger", str(ledger))
    screens.wait("This ledger is empty", timeout=20)
    press(tmux, "Enter")
    screens.wait("Organisation")
    officer = PEOPLE[0]
    for text in (ORGANISATION, officer[1], officer[2], secret(officer[0])):
        type_enter(tmux, text)
    type_enter(tmux, secret(officer[0]))  # again: Enter founds the ledger
    screens.wait("CEREMONY-ANCHOR", timeout=30)
    screens.wait("paper checkpoints")
    press(tmux, "Enter")  # Continue: the participants
    screens.wait("Security officer: authenticate")
    authenticate(tmux, screens, "nadia")  # the only officer: the passphrase field has the focus
    for index, (short, name, employee, role) in enumerate(PEOPLE[1:]):
        if index == 1:  # from the second enrolment on, a second person signs too: the first one enrolled
            screens.wait("Second person")
            authenticate(tmux, screens, "tomas")
        time.sleep(0.3)
        press(tmux, "Enter")  # "Enroll a participant" has the focus
        screens.wait("Full name")
        time.sleep(0.3)
        type_enter(tmux, name)
        type_enter(tmux, employee)
        pick_option(tmux, role)
        press(tmux, "Tab")  # on to the passphrase
        type_enter(tmux, secret(short))
        type_enter(tmux, secret(short))  # again: Enter enrols
        screens.wait_any(f"{name} is enrolled", "Enroll a participant", timeout=30)
        tmux.wait_for(lambda s, n=name: n in s and "Full name" not in s, timeout=30)
    screen = screens.wait("Enough people are enrolled")
    assert "2-of-3" in screen
    press(tmux, "Escape")  # done
    screens.wait("New key generation ceremony")


def through_preflight(tmux: TmuxSession, screens: Screens) -> bool:
    """The generation's or recovery's preflight: on a blocked machine the security officer and the
    witness record an exception for every finding it shows. True when one was recorded."""
    screen = screens.wait_any("Preflight clear", "Record an exception…")
    if "Preflight clear" in screen:
        press(tmux, "Enter")
        return False
    count = re.search(r"BLOCKED: (\d+) finding", screen)
    assert count is not None
    press(tmux, "BTab")  # Shift+Tab: from "Run again" back to "Record an exception…"
    press(tmux, "Enter")
    screens.wait("Tick what the exception covers")
    for _ in range(int(count.group(1))):
        press(tmux, "space", "Down")
    press(tmux, "Tab")
    tmux.type_text("Acceptance test on a networked machine; no live key")
    press(tmux, "Tab")
    tmux.type_text("Test keys only; the machine is watched by the witness")
    press(tmux, "Tab", "Tab")  # days (30) -> the security officer's choice
    # The officer's list offers everyone (someone not an officer is refused by name): officers first.
    choose(tmux, 1, (NAME["nadia"], NAME["tomas"]))  # the open list covers the footer: known by its names
    press(tmux, "Tab")  # on to her passphrase
    authenticate(tmux, screens, "nadia")
    authenticate(tmux, screens, "wen")  # the only witness: his passphrase field has the focus
    time.sleep(0.5)  # "Record the exception" has the focus once both are present
    press(tmux, "Enter")
    screen = screens.wait_any("Preflight clear", "BLOCKED", timeout=30)
    assert "Preflight clear" in screen, screen
    time.sleep(0.3)
    press(tmux, "Enter")  # Continue
    return True


def generation(tmux: TmuxSession, screens: Screens) -> tuple[list[str], Checkpoint]:
    time.sleep(0.5)  # the menu takes keys once its first choice has the focus
    press(tmux, "Enter")  # New key generation ceremony
    through_preflight(tmux, screens)
    screens.wait("Purpose of this ceremony")
    type_enter(tmux, "New zone master key for the acquirer link")
    authenticate(tmux, screens, "tomas")  # one administrator, one witness: no choice to make
    authenticate(tmux, screens, "wen", then="Cryptoperiod (days)")
    screen = screens.wait("Cryptoperiod (days)")
    assert "AES-256" in screen  # the key type offered first
    type_enter(tmux, "NW-ZMK-01")
    time.sleep(0.3)
    type_enter(tmux, "zone master key")
    press(tmux, "Enter")  # cryptoperiod 365
    screens.wait("Choose the custodian")
    press(tmux, "Tab", "Tab", "Tab")  # scheme -> m -> n -> custodian of share 1 (2 of 3 by default)
    for option in (1, 2, 3):
        pick_option(tmux, option)
        press(tmux, "Tab")
    press(tmux, "Enter")  # "Check and record the plan"
    screens.wait("Generate the key")
    press(tmux, "Enter")
    screens.wait("read it aloud")
    press(tmux, "Space")
    press(tmux, "Enter")
    shares: list[str] = []
    for number, short in enumerate(("ana", "ben", "cleo"), start=1):
        screens.wait(f"Share {number} of 3")
        time.sleep(0.3)
        type_enter(tmux, secret(short))
        screen = screens.wait("I have recorded it", timeout=20)
        shares.append(share_on_screen(screen))
        press(tmux, "Enter")
        screens.wait("Envelope serial number")
        type_enter(tmux, SERIALS[number - 1])
    for number, share in enumerate(shares, start=1):
        screens.wait(f"Verification: share {number} of 3")
        time.sleep(0.3)
        tmux.type_text(share)
        time.sleep(0.5)
        press(tmux, "Enter")
    screens.wait("Place of the ceremony")
    type_enter(tmux, "Northwind vault room, Leeds")
    press(tmux, "Enter")  # wipe the clear key and close
    screen = screens.wait("Back to the main menu", timeout=60)
    closing = checkpoint_on_screen(screen)
    press(tmux, "Enter")
    screens.wait("New key generation ceremony")
    return shares, closing


def recovery(tmux: TmuxSession, screens: Screens, shares: list[str]) -> None:
    time.sleep(0.5)
    press(tmux, "Down", "Enter")  # Recover a key
    screens.wait("Key to rebuild", timeout=20)
    pick_option(tmux, 1)  # the ZMK
    press(tmux, "Tab", "Tab")  # past its split (the only one, chosen already) to the purpose
    type_enter(tmux, "Reload the ZMK into the new HSM")  # -> place of the ceremony
    type_enter(tmux, "Northwind vault room, Leeds")  # -> output: fresh components, as offered first
    press(tmux, "Tab")  # into the component custodians, on the first name
    press(tmux, "Down", "space", "Down", "space")  # Ben and Cleo receive a component each
    press(tmux, "Tab")
    press(tmux, "Enter")  # Continue: air-gap preflight
    through_preflight(tmux, screens)
    screens.wait("Ceremony administrator")
    authenticate(tmux, screens, "tomas")
    authenticate(tmux, screens, "wen", then="Shares entered")
    for count, (number, short) in enumerate(((1, "ana"), (2, "ben"))):
        screens.wait(f"Shares entered: {count} of 2")
        pick_option(tmux, 1)  # the first holder still to bring a share
        press(tmux, "Tab")  # on to the passphrase
        if count == 0:  # Ana mistypes her passphrase first
            type_enter(tmux, "northwind test passphrase of anna")
            screen = screens.wait("tries left", timeout=20)
            assert "(2 tries left)" in " ".join(body(screen).split())
        type_enter(tmux, secret(short))
        screens.wait("do NOT open the envelope", timeout=20)
        type_enter(tmux, SERIALS[number - 1])  # -> the custodian's answer
        pick_option(tmux, 1)  # yes, intact
        press(tmux, "Tab")
        pick_option(tmux, 1)  # witness: yes, intact
        press(tmux, "Tab", "Enter")  # Record the inspection
        screens.wait("please look away")
        time.sleep(0.3)
        tmux.type_text(shares[number - 1])
        groups = shares[number - 1].split("-")
        tmux.wait_for(lambda s, g=groups: f"typing group {len(g)}" in s and g[-1] in s)
        press(tmux, "Enter")
    screens.wait("2 of 2")
    time.sleep(0.3)
    press(tmux, "Enter")  # Rebuild the key now
    screens.wait("KCV matches the register")
    press(tmux, "Enter")  # Continue: make the components
    for number, short in enumerate(("ben", "cleo"), start=1):
        screens.wait("please look away")
        time.sleep(0.3)
        type_enter(tmux, secret(short))  # the one custodian offered: the passphrase field has the focus
        screen = screens.wait("I have recorded it", timeout=20)
        assert f"{NAME[short]}: component {number}" in screen
        press(tmux, "Enter")
        screens.wait("Envelope serial number")
        type_enter(tmux, f"NW-ENV-HSM-{number}")
    screens.wait("Wipe the key and close the ceremony")
    time.sleep(0.3)
    press(tmux, "Enter")
    screens.wait("Ceremony closed", timeout=60)


def test_a_newcomer_founds_enrols_generates_recovers_and_audits_at_80x24(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with TmuxSession(cwd=tmp_path) as tmux:
        assert tmux.size() == (80, 24)
        screens = Screens(tmux)
        found_and_enrol(tmux, screens, ledger)
        shares, closing = generation(tmux, screens)
        recovery(tmux, screens, shares)
        press(tmux, "Enter")  # Done: back to the main menu
        screens.wait("New key generation ceremony")
        press(tmux, "q")
        code, _ = tmux.wait_for_exit()
        assert code == 0
        tmux.type_text("clear")
        press(tmux, "Enter")
        tmux.run_ceremony("--read-only", "--ledger", str(ledger))
        screen = screens.wait("LEDGER INTACT", timeout=60)
        assert "READ-ONLY" in screen
        assert all(line in screen for line in closing.grouped())  # the generation's, as at its close-out
        press(tmux, "q")
        code, _ = tmux.wait_for_exit()
        assert code == 0

    for screen in screens.seen:
        assert "None" not in screen, screen
        assert not EVENT_NAME.search(screen), screen
        assert "Example Payments" not in screen, screen

    with Ledger.open(ledger, read_only=True) as opened:
        recorded = [(e.type, dict(e.payload)) for e in opened.events()]
    types = [t for t, _ in recorded]
    assert types.count("ceremony.closed") == 2
    assert [p["ok"] for t, p in recorded if t == "share.verified"] == [True, True, True]
    assert len([t for t in types if t == "auth.failed"]) == 1  # Ana's wrong passphrase, on record

    papers = sorted((tmp_path / "ceremony-documents").rglob("*.pdf"))
    texts = {path: pdf_text(path) for path in papers}
    kinds = sorted(path.name.split("-")[0] for path in papers)
    # the anchor; each ceremony's minutes; an acknowledgement per share (3) and per component (2)
    assert kinds == ["acknowledgement"] * 5 + ["ledger"] + ["minutes"] * 2, [p.name for p in papers]
    for path, text in texts.items():
        assert "None" not in text, path.name
        assert not EVENT_NAME.search(text), (path.name, EVENT_NAME.search(text))
        assert "Example Payments" not in text, path.name
        assert ORGANISATION in " ".join(text.split()), path.name

    minutes = [text for path, text in texts.items() if "minutes" in path.name]
    assert len(minutes) == 2  # generation and recovery
    printed = [checkpoint_in_minutes(text) for text in minutes]
    assert closing in [Checkpoint.parse(text) for text in printed]  # the one shown at close-out
    as_printed = next(text for text in printed if Checkpoint.parse(text) == closing)
    verified = subprocess.run(
        [str(CEREMONY_BIN), "verify", "--ledger", str(ledger), "--checkpoint", as_printed],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
