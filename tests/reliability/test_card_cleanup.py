"""Share card files in the RAM folder never outlive the run that wrote them (issue 13 part 6).

A real child process (this file run as a script) generates a key on a real SQLite ledger, prints share 1's
card into a RAM folder (``share.card_delivered`` recorded) and then waits. The tests then:

* SIGKILL it (a power cut): the file stays, the ledger has no ``share.card_wiped``; starting the app
  (``LedgerApp``) overwrites and removes it at once and says so on screen, naming the ceremony and the file;
  voiding the unfinished ceremony records ``share.card_wiped`` with ``leftover: true``, signed by the
  administrator and the witness, and the ledger verifies;
* send SIGTERM or SIGINT to a child that installed the cleanup handlers: the file is overwritten and removed
  before it exits.

"Overwritten" is checked through a hard link taken to the card file: same inode, so after the wipe its
content must be all zeros (and the link is then removed by the test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child(ledger_path: str, ram: str, ids_json: str, mode: str) -> None:
    """Generate, print card 1 to ``ram``, report its path, then wait to be killed."""
    from ceremony.crypto.keys import KeyType
    from ceremony.crypto.secret import SecretBytes
    from ceremony.crypto.share import Scheme
    from ceremony.flows import card_files
    from ceremony.flows.cards import print_share_card
    from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
    from ceremony.flows.presence import Presence
    from ceremony.ledger.store import Ledger
    from tests.tui.gen_cast import passphrase

    ids = json.loads(ids_json)
    ledger = Ledger.open(Path(ledger_path))
    presence = Presence(ledger)

    def present(short: str, role: str):
        return presence.authenticate(ids[short], SecretBytes(passphrase(short).encode()), role)

    ceremony = GenerationCeremony.start(
        ledger, present("alice", "administrator"), present("walter", "witness"), "card left", rehearsal=True
    )
    ceremony.record_preflight({}, [])
    ceremony.plan_key(
        KeySpec(KeyType.AES_128, "ZMK-CARD", "test", 30),
        SplitPlan(Scheme.SHAMIR, 2, (ids["cust1"], ids["cust2"])),
    )
    ceremony.generate()
    me = present("cust1", "custodian")
    ceremony.reveal(1, me).wipe()
    if mode == "signals":
        card_files.install()
    delivery = print_share_card(ledger, ceremony, 1, me, "TE-00001", f"ram:{ram}")
    print(f"READY {ceremony.ceremony_id} {delivery.path}", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    child(*sys.argv[1:5])
    sys.exit(0)


from ceremony.documents import printing  # noqa: E402
from ceremony.flows import card_files  # noqa: E402
from ceremony.flows.unfinished import leftover_cards, unfinished_ceremonies, void_unfinished  # noqa: E402
from ceremony.ledger.store import Ledger  # noqa: E402
from ceremony.ledger.verify import verify_ledger  # noqa: E402
from tests.tui.gen_cast import make_ledger  # noqa: E402


@pytest.fixture
def ram() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ceremony-card-test-", dir="/dev/shm"))
    yield folder
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


def start_child(
    ledger: Path, ram: Path, ids: dict[str, str], mode: str
) -> tuple[subprocess.Popen[str], str, Path]:
    process = subprocess.Popen(
        [sys.executable, str(HERE), str(ledger), str(ram), json.dumps(ids), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.kill()
        raise AssertionError(f"child did not get to the card: {line!r} {process.stderr.read()}")  # type: ignore[union-attr]
    _, ceremony_id, card = line.split()
    return process, ceremony_id, Path(card)


def link_to(card: Path) -> Path:
    """A hard link to the card's inode, to see it overwritten after the card's name is gone."""
    link = card.with_name(".inode-" + card.name)
    os.link(card, link)
    return link


def assert_overwritten(link: Path, size: int) -> None:
    data = link.read_bytes()
    link.unlink()
    assert len(data) == size and data == bytes(size), "the card's content was not overwritten"


def events(path: Path) -> list[tuple[str, dict[str, object], tuple[str, ...]]]:
    with Ledger.open(path, read_only=True) as ledger:
        return [(e.type, e.payload, e.actors) for e in ledger.events()]


async def test_card_left_by_a_killed_run_is_wiped_at_start_and_recorded_when_voided(
    tmp_path: Path, ram: Path
) -> None:
    from textual.widgets import Static

    from ceremony.tui.screens.main_menu import MainMenuScreen
    from ceremony.tui.screens.unfinished import UnfinishedScreen
    from tests.tui.gen_cast import wait_for
    from tests.tui.test_generation_screens import app_for, authenticate_pair

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    process, ceremony_id, card = start_child(path, ram, ids, "kill")
    process.send_signal(signal.SIGKILL)  # the power cut: nothing of ours runs
    process.communicate(timeout=10)
    assert card.exists() and card.read_bytes().startswith(b"%PDF")
    size = card.stat().st_size
    link = link_to(card)
    recorded = events(path)
    assert [t for t, _, _ in recorded].count("share.card_delivered") == 1
    assert "share.card_wiped" not in [t for t, _, _ in recorded]
    with Ledger.open(path, read_only=True) as ledger:
        (open_card,) = leftover_cards(ledger.events(), ceremony_id)
    assert open_card.path == card and open_card.share_number == 1

    app = app_for(path)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        # Pushed right after the first frame (the start's checked read first): wait until it is composed.
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, UnfinishedScreen) and bool(app.screen.query("SelectCurrent #label"))
            ),
        )
        assert not card.exists()  # removed at start, before anyone authenticated
        assert_overwritten(link, size)
        notices = [n.message for n in app._notifications]
        assert any(ceremony_id in m and str(card) in m and "overwritten and removed" in m for m in notices)
        text = str(app.screen.query_one("#unfinished", Static).render())
        assert str(card) in text
        assert "share.card_wiped" not in [t for t, _, _ in events(path)]  # nobody could sign it yet
        await authenticate_pair(pilot, app)
        await pilot.press("enter")  # "Void (recorded)" has the focus
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))

    recorded = events(path)
    wiped = [(p, actors) for t, p, actors in recorded if t == "share.card_wiped"]
    assert len(wiped) == 1
    payload, actors = wiped[0]
    assert (
        payload["leftover"] is True and payload["file"] == str(card) and payload["ceremony_id"] == ceremony_id
    )
    assert set(actors) == {ids["alice"], ids["walter"]}  # administrator + witness (CONTROL)
    assert [t for t, _, _ in recorded][-1] == "ceremony.voided"
    verify_ledger(path)
    with Ledger.open(path, read_only=True) as ledger:
        assert card_files.open_card_files(ledger.events()) == []
        assert unfinished_ceremonies(ledger.events()) == []


def test_voiding_wipes_a_leftover_still_there_and_records_it(tmp_path: Path, ram: Path) -> None:
    from ceremony.crypto.secret import SecretBytes
    from ceremony.flows.presence import Presence
    from tests.tui.gen_cast import passphrase

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    process, _, card = start_child(path, ram, ids, "kill")
    process.kill()
    process.communicate(timeout=10)
    size = card.stat().st_size
    link = link_to(card)
    with Ledger.open(path) as ledger:
        (item,) = unfinished_ceremonies(ledger.events())
        presence = Presence(ledger)
        admin = presence.authenticate(
            ids["alice"], SecretBytes(passphrase("alice").encode()), "administrator"
        )
        witness = presence.authenticate(ids["walter"], SecretBytes(passphrase("walter").encode()), "witness")
        void_unfinished(ledger, item, admin, witness, "power cut while a card was in the RAM folder")
    assert not card.exists()
    assert_overwritten(link, size)
    recorded = events(path)
    types = [t for t, _, _ in recorded]
    assert types[-3:] == ["share.card_wiped", "split.retired", "ceremony.voided"]
    assert recorded[-3][1]["leftover"] is True
    verify_ledger(path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_wipes_the_card_file_before_exit(tmp_path: Path, ram: Path, signum: int) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    process, _, card = start_child(path, ram, ids, "signals")
    size = card.stat().st_size
    link = link_to(card)
    process.send_signal(signum)
    _, err = process.communicate(timeout=10)
    assert not card.exists(), err
    assert_overwritten(link, size)
    if signum == signal.SIGTERM:
        assert process.returncode == -signal.SIGTERM  # still ends as killed by SIGTERM
    else:
        assert "KeyboardInterrupt" in err  # Python's own SIGINT behaviour is kept


def test_cancel_path_wipes_and_records_with_custodian_and_witness(tmp_path: Path, ram: Path) -> None:
    """What Ctrl+C in the TUI does first (``wipe_all(record=True)``), in process."""
    from ceremony.crypto.keys import KeyType
    from ceremony.crypto.secret import SecretBytes
    from ceremony.crypto.share import Scheme
    from ceremony.flows.cards import print_share_card
    from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
    from ceremony.flows.presence import Presence
    from tests.tui.gen_cast import passphrase

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    with Ledger.open(path) as ledger:
        presence = Presence(ledger)

        def present(short: str, role: str):
            return presence.authenticate(ids[short], SecretBytes(passphrase(short).encode()), role)

        witness = present("walter", "witness")
        ceremony = GenerationCeremony.start(
            ledger, present("alice", "administrator"), witness, "x", rehearsal=True
        )
        ceremony.record_preflight({}, [])
        ceremony.plan_key(
            KeySpec(KeyType.AES_128, "ZMK-CANCEL", "test", 30),
            SplitPlan(Scheme.SHAMIR, 2, (ids["cust1"], ids["cust2"])),
        )
        ceremony.generate()
        me = present("cust1", "custodian")
        ceremony.reveal(1, me).wipe()
        delivery = print_share_card(ledger, ceremony, 1, me, "TE-9", f"ram:{ram}")
        assert delivery.path is not None and delivery.path in card_files.live()
        assert card_files.wipe_all(record=True) == [delivery.path]
        assert not delivery.path.exists() and card_files.live() == []
        assert card_files.wipe_all(record=True) == []  # idempotent
        wiped = [e for e in ledger.events() if e.type == "share.card_wiped"]
        assert len(wiped) == 1 and not wiped[0].payload.get("leftover")
        assert set(wiped[0].actors) == {ids["cust1"], ids["walter"]}
        assert card_files.open_card_files(ledger.events()) == []
        ceremony.void("cancelled")
    verify_ledger(path)


def test_only_files_named_as_cards_are_ever_touched(tmp_path: Path) -> None:
    bystander = tmp_path / "notes.txt"
    bystander.write_text("keep me")
    card = card_files.CardFile("C000000001", "S000000001", 1, bystander)
    assert not card_files.is_card_file(card)
    relative = card_files.CardFile("C000000001", "S000000001", 1, Path("share-card-S000000001-1.pdf"))
    assert not card_files.is_card_file(relative)
    target = tmp_path / "share-card-S000000001-1.pdf"
    os.symlink(bystander, target)
    assert card_files.is_card_file(card_files.CardFile("C000000001", "S000000001", 1, target))
    with pytest.raises(OSError):  # O_NOFOLLOW: a symlink in the card's place is not followed
        printing.overwrite_and_remove(target)
    assert bystander.read_text() == "keep me"
