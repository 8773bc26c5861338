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
* ``ceremony rehearse`` (the real CLI, in a child) with the ledger on a disk that runs out at different
  points of the ceremony: exit code 2 with a one-line ``ceremony: ...`` message and no traceback; every
  share card written has its committed ``share.exposed``; the event count equals the acknowledged appends;
  verify passes; the interrupted ceremony shows as unfinished and is voided once space is back;
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

from ceremony.errors import LedgerError, LedgerFullError, LedgerReadOnlyError  # noqa: E402
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


def _signer_ledger(path: Path):  # type: ignore[no-untyped-def]
    from ledger_support import enroll_signer, person

    ledger = Ledger.open(path, create=True)
    signer = person(7)
    enroll_signer(ledger, signer, "DISKFULL-1")
    return ledger, signer


def _key_needles(signer) -> set[bytes]:  # type: ignore[no-untyped-def]
    """The signer's private key (its P-256 scalar): it signs events and must never be written."""
    return secret_forms(signer.key.private_numbers().private_value.to_bytes(32, "big"))


def test_the_ledger_filling_its_disk_fails_cleanly_and_continues_when_space_returns() -> None:
    started = time.time()
    with small_disk("2M") as disk:
        path = disk / "ledger.sqlite3"
        ledger, signer = _signer_ledger(path)
        acknowledged = {e.seq: e.hash for e in ledger.events()}
        failure: LedgerError | None = None
        with ledger:
            for n in range(10_000):
                try:
                    event = ledger.append(
                        "disk.test",
                        {"n": n, "note": PAYLOAD_TEXT},
                        [signer.person_id],
                        [signer] if n % 3 else [],
                    )
                except LedgerError as exc:  # anything else (sqlite3.Error, OSError) fails the test
                    failure = exc
                    break
                acknowledged[event.seq] = event.hash
            assert failure is not None, "2 MiB never filled up"
            message = str(failure)
            assert "ledger.sqlite3" in message and "could not be written" in message, message
            assert "Traceback" not in message and "INSERT" not in message  # no SQL, no internals
            with pytest.raises(LedgerError):  # the same clean refusal again, not a damaged file
                ledger.append("disk.test", {"n": -1}, [signer.person_id], [signer])
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
            event = ledger.append("disk.test", {"n": "after"}, [signer.person_id], [signer])
        assert event.seq == len(acknowledged) + 1
        assert verify_ledger(path).events == len(acknowledged) + 1

        scanned, found = scan_for_secrets([*ledger_files(path), *temp_files(started)], _key_needles(signer))
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


@pytest.mark.parametrize("room_kib", [0, 48, 64, 72, 80])
def test_rehearsal_cli_on_a_disk_that_runs_out(tmp_path: Path, room_kib: int) -> None:
    """The disk runs out with ``room_kib`` KiB left (a whole 2-of-3 rehearsal needs about 90 KiB with its
    journal): at the ledger's creation (0), during enrollment (48), after the start (64), during the
    verification round with the cards out (72), at the paperwork (80). Wherever it happens, the CLI fails
    cleanly and the ledger holds exactly what it acknowledged."""
    started = time.time()
    text = fast_script_text()
    script = tmp_path / "2of3-fast.toml"
    script.write_text(text)
    out = tmp_path / "papers"  # on the ordinary disk: a share card could be written, if one were released
    with small_disk("2M") as disk:
        path = disk / "rehearsal.sqlite3"
        filler = fill_up(disk, leave=room_kib * 1024)
        child = subprocess.run(
            [
                sys.executable,
                str(HERE.parent / "test_rehearsal_crash_loop.py"),
                str(script),
                str(path),
                str(out),
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=180,
        )
        acks = {
            int(seq): digest
            for line in child.stdout.splitlines()
            if line.startswith(ACK)
            for _, seq, digest in [line.split()]
        }
        assert child.returncode == 2, (child.returncode, child.stderr[-2000:])
        assert "Traceback" not in child.stderr
        error_lines = [line for line in child.stderr.splitlines() if line.strip()]
        assert error_lines and error_lines[-1].startswith("ceremony: "), child.stderr[-2000:]
        assert "could not be written" in child.stderr or "cannot be written" in child.stderr, child.stderr

        needles = passphrase_needles(text)
        if path.exists() and path.stat().st_size > 0:
            with Ledger.open(path, read_only=True) as reader:
                events = list(reader.events())
            assert {e.seq: e.hash.hex() for e in events} == acks  # exactly what was acknowledged
            assert verify_ledger(path).events == len(acks)
            exposed = {e.payload["share_number"] for e in events if e.type == "share.exposed"}
            cards = sorted((out / "share-cards").glob("*.pdf")) if (out / "share-cards").exists() else []
            for card in cards:
                number = int(CARD_NAME.search(card.name).group(1))  # type: ignore[union-attr]
                assert number in exposed, f"{card.name} exists without a committed share.exposed"
                needles |= card_needles(card, tmp_path)
            # Space back: the interrupted ceremony is shown and voided.
            filler.unlink()
            listed = unfinished_ceremonies(events)
            with Ledger.open(path) as ledger:
                for item in listed:
                    void_with_script_people(ledger, text, item)
                assert not unfinished_ceremonies(ledger.events())
            code, report = cli_verify(path)
            assert code == 0, report
        else:
            assert not acks and not (out / "share-cards").exists()
        files = [*disk.rglob("*"), *temp_files(started)]
        files += [p for p in out.rglob("*") if p.is_file() and p.parent.name != "share-cards"]
        _, found = scan_for_secrets(files, needles)
        assert found == []


def test_ledger_on_a_medium_that_turned_read_only() -> None:
    """A ledger on a medium that became read-only between two sessions (a write-protect switch, a file
    system remounted read-only after an I/O error). Linux refuses ``remount,ro`` while the ledger is open
    for writing (EBUSY), so the switch happens between sessions: the next append is refused with a
    LedgerError, reading and verifying still work, nothing is lost, and writing resumes on ``remount,rw``."""
    started = time.time()
    with small_disk("2M") as disk:
        path = disk / "ledger.sqlite3"
        ledger, signer = _signer_ledger(path)
        with ledger:
            acknowledged = {e.seq: e.hash for e in ledger.events()}
            for n in range(20):
                event = ledger.append("ro.test", {"n": n}, [signer.person_id], [signer])
                acknowledged[event.seq] = event.hash
        remount(disk, "ro")
        try:
            with pytest.raises(LedgerError) as refused:
                with Ledger.open(path) as ledger:
                    ledger.append("ro.test", {"n": "refused"}, [signer.person_id], [signer])
            assert isinstance(refused.value, LedgerReadOnlyError), refused.value
            assert "ledger.sqlite3" in str(refused.value)
            assert verify_ledger(path).events == len(acknowledged)  # reading still works
            code, report = cli_verify(path)
            assert code == 0, report
        finally:
            remount(disk, "rw")
        with Ledger.open(path) as ledger:
            event = ledger.append("ro.test", {"n": "after"}, [signer.person_id], [signer])
            acknowledged[event.seq] = event.hash
        with Ledger.open(path, read_only=True) as reader:
            assert {e.seq: e.hash for e in reader.events()} == acknowledged
        assert verify_ledger(path).events == len(acknowledged)
        scanned, found = scan_for_secrets([*ledger_files(path), *temp_files(started)], _key_needles(signer))
        assert scanned >= 1 and found == []
