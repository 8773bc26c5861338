"""Disk full and I/O errors under the ledger (issue 9, reliability): a clear error, no share shown, nothing
half-written.

The ledger lives on a small tmpfs mounted for the test (root only; skipped with the reason otherwise), so
the disk really fills up under SQLite — no fault is simulated in our code:

* the ledger itself fills the disk: the failing append raises a ``LedgerError`` naming the ledger (not an
  SQLite or OS exception), a second one fails the same way, nothing half-written is left (verify passes,
  the event count equals the appends that returned), ``ceremony verify`` still works on the full disk, and
  after the disk grows the chain simply continues;
* the generation engine on a full disk: ``reveal()`` of the next share cannot commit its exposure, so it
  raises and hands out no share (DESIGN §4.2: no share released without its record); once space is freed
  the ceremony is voided and its split retired;
* ``ceremony rehearse`` (the real CLI, in a child) with the ledger on a disk that runs out at every point
  it can, the room left growing page by page (creation, genesis, enrollment, start, distribution,
  verification round among them): exit code 2 with a one-line ``ceremony: ...`` message and no traceback;
  every share card written has its committed ``share.exposed``; the event count equals the acknowledged
  appends; verify passes; the interrupted ceremony shows as unfinished and is voided once space is back;
* the medium turned read-only between sessions (``mount -o remount,ro``; Linux refuses it while the ledger
  is open for writing): ``LedgerReadOnlyError``, verify still passes, nothing lost, writing resumes after
  ``remount,rw``.

A secrets scan (passphrases, shares) of the tmpfs, the output folder (share cards excepted) and the temp
folder follows every scenario. Mounts are always undone in ``finally``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT / "tests" / "ledger"))
sys.path.insert(0, str(ROOT / "tests" / "flows"))

from test_rehearsal_crash_loop import (  # noqa: E402
    ACK,
    CARD_NAME,
    card_needles,
    cli_verify,
    fast_script_text,
    ledger_files,
    passphrase_needles,
    scan_for_secrets,
    secret_forms,
    temp_files,
    void_with_script_people,
)

from ceremony.errors import LedgerError, LedgerFullError, LedgerIntegrityError, LedgerReadOnlyError  # noqa: E402
from ceremony.flows.unfinished import unfinished_ceremonies  # noqa: E402
from ceremony.ledger.store import Ledger  # noqa: E402
from ceremony.ledger.verify import verify_ledger  # noqa: E402

PAYLOAD_TEXT = "disk-full test event " + "z" * 1500  # ~1.5 KB per event: 2 MiB fills in about a thousand


def _mount(directory: Path, options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)], capture_output=True, text=True
    )


@contextlib.contextmanager
def small_disk(size: str = "2M") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on a new folder; unmounted and removed afterwards, whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (disk-full injection); not root here")
    folder = Path(tempfile.mkdtemp(prefix="ceremony-small-disk-"))
    done = _mount(folder, f"size={size},mode=0700")
    if done.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()[:200]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        if os.path.ismount(folder):
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True, capture_output=True)


def fill_up(folder: Path, leave: int = 0) -> Path:
    """Fill ``folder``'s file system with a filler file until a write fails with ENOSPC (to the byte), then
    free ``leave`` bytes again (tmpfs hands out whole pages)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 4096, 1):
            block = bytes(size)
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


CEREMONY_ID = "CDISKFULL1"


def _signer_ledger(path: Path):  # type: ignore[no-untyped-def]
    """A founded ledger (the officer, also a witness), an administrator, and a ceremony started by the two:
    the pair that signs every event these tests append."""
    from ledger_support import enroll_signer, found, person, start_ceremony

    ledger = Ledger.open(path, create=True)
    officer, admin = person(7, "Olga Officer"), person(8, "Ada Admin")
    found(ledger, officer, "DISKFULL-1")
    enroll_signer(ledger, admin, "DISKFULL-2", ("administrator",))
    start_ceremony(ledger, admin, officer, CEREMONY_ID)
    return ledger, [admin, officer]


def _append(ledger: Ledger, signers, report: dict):  # type: ignore[no-untyped-def]
    """A preflight report (evidence kept as recorded), signed by the administrator and the witness."""
    payload = {"ceremony_id": CEREMONY_ID, "blocked": False, "uncovered": [], "report": report}
    return ledger.append("preflight.run", payload, [s.person_id for s in signers], signers)


def _key_needles(signers) -> set[bytes]:  # type: ignore[no-untyped-def]
    """The signers' private keys (their P-256 scalars): they sign events and must never be written."""
    needles: set[bytes] = set()
    for signer in signers:
        needles |= secret_forms(signer.key.private_numbers().private_value.to_bytes(32, "big"))
    return needles


def test_the_ledger_filling_its_disk_fails_cleanly_and_continues_when_space_returns() -> None:
    started = time.time()
    with small_disk("2M") as disk:
        path = disk / "ledger.sqlite3"
        ledger, signers = _signer_ledger(path)
        acknowledged = {e.seq: e.hash for e in ledger.events()}
        failure: LedgerError | None = None
        with ledger:
            for n in range(10_000):
                try:
                    event = _append(ledger, signers, {"n": n, "note": PAYLOAD_TEXT})
                except LedgerError as exc:  # anything else (sqlite3.Error, OSError) fails the test
                    failure = exc
                    break
                acknowledged[event.seq] = event.hash
            assert failure is not None, "2 MiB never filled up"
            message = str(failure)
            assert "ledger.sqlite3" in message and "could not be written" in message, message
            assert "Traceback" not in message and "INSERT" not in message  # no SQL, no internals
            with pytest.raises(LedgerError):  # the same clean refusal again, not a damaged file
                _append(ledger, signers, {"n": n, "note": PAYLOAD_TEXT})
        assert len(acknowledged) > 500

        # Nothing half-written: exactly the acknowledged events, verified, readable on the full disk.
        assert verify_ledger(path).events == len(acknowledged)
        with Ledger.open(path, read_only=True) as reader:
            assert {e.seq: e.hash for e in reader.events()} == acknowledged
        code, report = cli_verify(path)
        assert code == 0, report
        verify_cli = subprocess.run(
            [sys.executable, "-m", "ceremony", "verify", "--ledger", str(path)],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=120,
        )
        assert verify_cli.returncode == 0, verify_cli.stderr

        # More room: the chain continues where it stopped.
        remount(disk, "size=4M")
        with Ledger.open(path) as ledger:
            event = _append(ledger, signers, {"n": "after"})
        assert event.seq == len(acknowledged) + 1
        assert verify_ledger(path).events == len(acknowledged) + 1

        scanned, found = scan_for_secrets([*ledger_files(path), *temp_files(started)], _key_needles(signers))
        assert scanned >= 1 and found == []


def test_no_share_is_revealed_when_its_exposure_cannot_be_committed(tmp_path: Path) -> None:
    from flow_support import make_cast, passphrase_of

    from ceremony.crypto.codec import decode_share
    from ceremony.crypto.keys import KeyType
    from ceremony.crypto.share import Scheme
    from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan, Stage

    started = time.time()
    with small_disk("4M") as disk:
        cast = make_cast(disk)
        ledger = cast.ledger
        try:
            admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
            ceremony = GenerationCeremony.start(ledger, admin, witness, "disk-full test generation")
            ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
            names = ("cust1", "cust2", "cust3")
            ceremony.plan_key(
                KeySpec(KeyType.AES_256, "ZMK disk", "PIN zone master key", 365),
                SplitPlan(Scheme.SHAMIR, 2, tuple(cast.ids[n] for n in names)),
            )
            ceremony.generate()
            first = cast.present("cust1", "custodian")
            typed = ceremony.reveal(1, first)  # committed, so shown
            needles = {bytes(typed.view())}
            share = decode_share(bytearray(typed.view()))
            needles |= secret_forms(bytes(share.data.view()))
            share.wipe()
            typed.wipe()
            second = cast.present("cust2", "custodian")
            before = ledger.size()

            filler = fill_up(disk)
            with pytest.raises(LedgerError) as refused:
                ceremony.reveal(2, second)
            assert "could not be written" in str(refused.value)
            assert isinstance(refused.value, LedgerFullError), refused.value  # says the disk is full
            assert not ceremony.distribution[2].shown  # the flow did not mark it handed out either
            assert ledger.size() == before  # nothing half-written
            assert verify_ledger(ledger.path).events == before
            exposed = [e.payload["share_number"] for e in ledger.events() if e.type == "share.exposed"]
            assert exposed == [1]

            # Space back: the ceremony is voided (shares went out, so its split is retired).
            filler.unlink()
            ceremony.void("disk full during distribution (reliability test)")
            assert ceremony.stage is Stage.VOIDED
            types = [e.type for e in ledger.events()][before:]
            assert types == ["split.retired", "ceremony.voided"]
            assert not unfinished_ceremonies(ledger.events())
            assert verify_ledger(ledger.path).events == before + 2
            for person in (admin, witness, first, second):
                person.leave()
        finally:
            ledger.close()
        with contextlib.ExitStack() as stack:
            passphrases = {bytes(stack.enter_context(passphrase_of(n)).view()) for n in cast.ids}
        files = [*disk.rglob("*"), *temp_files(started)]
        scanned, found = scan_for_secrets(files, needles | passphrases)
        assert scanned >= 1 and found == []


def _rehearse(script: Path, path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``ceremony rehearse`` in a child that reports each committed event (test_rehearsal_crash_loop.py)."""
    return subprocess.run(
        [sys.executable, str(HERE.parent / "test_rehearsal_crash_loop.py"), str(script), str(path), str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=180,
    )


def _rehearse_with_room(work: Path, room: int, text: str) -> tuple[int | None, list[str]]:
    """One ``ceremony rehearse`` (2-of-3, fast KDF) with ``room`` bytes free on the ledger's disk, every
    outcome checked. Returns (the seq of the event it could not write — 0 when not even the ledger file was
    made — or None when the whole rehearsal fitted, the types of the events in the ledger)."""
    started = time.time()
    script = work / "2of3-fast.toml"
    work.mkdir()
    script.write_text(text)
    out = work / "papers"  # on the ordinary disk: a share card could be written, if one were released
    with small_disk("2M") as disk:
        path = disk / "rehearsal.sqlite3"
        filler = fill_up(disk, leave=room)
        child = _rehearse(script, path, out)
        acks = {
            int(seq): digest
            for line in child.stdout.splitlines()
            if line.startswith(ACK)
            for _, seq, digest in [line.split()]
        }
        events = []
        if path.exists() and path.stat().st_size > 0:
            with Ledger.open(path, read_only=True) as reader:
                events = list(reader.events())
        types = [e.type for e in events]
        if child.returncode == 0:  # the disk had room enough for everything
            assert {e.seq: e.hash.hex() for e in events} == acks
            assert not unfinished_ceremonies(events) and (out / "manifest.json").exists()
            code, report = cli_verify(path)
            assert code == 0, report
            return None, types
        assert child.returncode == 2, (room, child.returncode, child.stderr[-2000:])
        assert "Traceback" not in child.stderr
        error_lines = [line for line in child.stderr.splitlines() if line.strip()]
        assert error_lines and error_lines[-1].startswith("ceremony: "), child.stderr[-2000:]
        assert "could not be written" in child.stderr or "cannot be written" in child.stderr, child.stderr

        needles = passphrase_needles(text)
        if events:
            assert {e.seq: e.hash.hex() for e in events} == acks  # exactly what was acknowledged
            assert verify_ledger(path).events == len(acks)
            exposed = {e.payload["share_number"] for e in events if e.type == "share.exposed"}
            cards = sorted((out / "share-cards").glob("*.pdf")) if (out / "share-cards").exists() else []
            for card in cards:
                number = int(CARD_NAME.search(card.name).group(1))  # type: ignore[union-attr]
                assert number in exposed, f"{card.name} exists without a committed share.exposed"
                needles |= card_needles(card, work)
            # Space back: the interrupted ceremony is shown and voided.
            filler.unlink()
            listed = unfinished_ceremonies(events)
            with Ledger.open(path) as ledger:
                for item in listed:
                    void_with_script_people(ledger, text, item)
                assert not unfinished_ceremonies(ledger.events())
            code, report = cli_verify(path)
            assert code == 0, report
        else:  # not even the genesis was committed: nothing acknowledged, no card, a ledger never founded
            assert not acks and not (out / "share-cards").exists()
            if path.exists() and path.stat().st_size > 0:
                with pytest.raises(LedgerIntegrityError, match="not even its genesis"):
                    verify_ledger(path)
        stop = len(acks) + 1 if path.exists() and path.stat().st_size > 0 else 0
        files = [*disk.rglob("*"), *temp_files(started)]
        files += [p for p in out.rglob("*") if p.is_file() and p.parent.name != "share-cards"]
        _, found = scan_for_secrets(files, needles)
        assert found == []
    return stop, types


def test_rehearsal_cli_on_a_disk_that_runs_out(tmp_path: Path) -> None:
    """``ceremony rehearse`` with the ledger on a disk that runs out, at every point it can: the room left
    goes from none, through what a new ledger takes, up one page (4 KiB, the unit the disk fills by) at a
    time until a whole 2-of-3 rehearsal fits (about 100 KiB with its journal). Wherever it happens, the CLI
    fails cleanly (exit 2, one ``ceremony: ...`` line, no traceback), the ledger holds exactly what it
    acknowledged and verifies, every share card written has its committed ``share.exposed``, the interrupted
    ceremony is voided once space is back, and nothing secret is left anywhere. Among the runs, the disk ran
    out at the ledger's creation, at its genesis (the file made, never founded), during enrollment, at the
    ceremony's start, during share distribution with a card out, and at the verification round.

    Which event meets a page boundary depends on the events' sizes, and the ten events of the distribution
    take about one page: when a sweep misses a phase it is repeated (at most four times) with one more
    spare custodian enrolled and a shorter purpose, which moves every later event along the pages by a
    whole enrolment; each sweep's stops are read against its own events, and every run is checked alike."""
    text = fast_script_text()
    with small_disk("2M") as disk:
        before = shutil.disk_usage(disk).used
        Ledger.open(disk / "new.sqlite3", create=True).close()
        created = shutil.disk_usage(disk).used - before  # a new, empty ledger
    purpose = 'purpose = "Rehearsal: PIN zone master key, 2-of-3 Shamir split'
    assert purpose in text
    reached: set[str] = set()
    wanted: set[str] = set()
    sweeps: list[tuple[int, list[int]]] = []
    for sweep in range(4):
        script = _with_spares(text.replace(purpose, purpose[: len(purpose) - 24 * sweep]), sweep)
        stops: list[int] = []
        for run, room in enumerate([0, *range(created, 2 * 1024 * 1024, 4096)]):
            stop, types = _rehearse_with_room(tmp_path / f"sweep-{sweep}-run-{run}", room, script)
            if stop is None:
                break
            stops.append(stop)
        else:
            raise AssertionError("the rehearsal never fitted on the disk")
        wanted = set(_phases(types))  # the events of this sweep's whole run
        reached |= _phases_reached(stops, types)
        sweeps.append((sweep, sorted(set(stops))))
        if reached == wanted:
            break
    print(f"\ndisk full under a rehearsal: stops per sweep {sweeps}")
    assert reached == wanted, repr((sweeps, sorted(wanted - reached)))


def _with_spares(text: str, count: int) -> str:
    """The script with ``count`` spare custodians enrolled (and never given a share)."""
    spares = "".join(
        f"""
[[participants]]
name = "Spare Custodian {n}"
employee_id = "R09{n:02d}"
roles = ["custodian"]
passphrase = "rehearsal: spare custodian {n}'s training passphrase"
"""
        for n in range(1, count + 1)
    )
    marker = "\n[[participants]]"
    at = text.index(marker)
    return text[:at] + spares + text[at:]


def _phases(types: list[str]) -> dict[str, range]:
    """The stretches of a 2-of-3 rehearsal's events where the disk running out means something different."""

    def seqs(event_type: str) -> list[int]:
        return [i for i, t in enumerate(types, start=1) if t == event_type]

    return {
        "creation": range(0, 1),
        "genesis": range(1, 2),
        "enrollment": range(seqs("participant.enrolled")[0], seqs("participant.enrolled")[-1] + 1),
        "start": range(seqs("ceremony.started")[0], seqs("share.exposed")[0]),
        # A card is out: the first share.exposed is committed, the next write fails.
        "distribution": range(seqs("share.exposed")[0] + 1, seqs("share.received")[-1] + 1),
        "verification": range(seqs("share.verified")[0], len(types) + 1),
    }


def _phases_reached(stops: list[int], types: list[str]) -> set[str]:
    return {phase for phase, span in _phases(types).items() if any(stop in span for stop in stops)}


def test_ledger_on_a_medium_that_turned_read_only() -> None:
    """A ledger on a medium that became read-only between two sessions (a write-protect switch, a file
    system remounted read-only after an I/O error). Linux refuses ``remount,ro`` while the ledger is open
    for writing (EBUSY), so the switch happens between sessions: the next append is refused with a
    LedgerError, reading and verifying still work, nothing is lost, and writing resumes on ``remount,rw``."""
    started = time.time()
    with small_disk("2M") as disk:
        path = disk / "ledger.sqlite3"
        ledger, signers = _signer_ledger(path)
        with ledger:
            acknowledged = {e.seq: e.hash for e in ledger.events()}
            for n in range(20):
                event = _append(ledger, signers, {"n": n})
                acknowledged[event.seq] = event.hash
        remount(disk, "ro")
        try:
            with pytest.raises(LedgerError) as refused:
                with Ledger.open(path) as ledger:
                    _append(ledger, signers, {"n": "refused"})
            assert isinstance(refused.value, LedgerReadOnlyError), refused.value
            assert "ledger.sqlite3" in str(refused.value)
            assert verify_ledger(path).events == len(acknowledged)  # reading still works
            code, report = cli_verify(path)
            assert code == 0, report
        finally:
            remount(disk, "rw")
        with Ledger.open(path) as ledger:
            event = _append(ledger, signers, {"n": "after"})
            acknowledged[event.seq] = event.hash
        with Ledger.open(path, read_only=True) as reader:
            assert {e.seq: e.hash for e in reader.events()} == acknowledged
        assert verify_ledger(path).events == len(acknowledged)
        scanned, found = scan_for_secrets([*ledger_files(path), *temp_files(started)], _key_needles(signers))
        assert scanned >= 1 and found == []
