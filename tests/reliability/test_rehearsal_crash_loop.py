"""Crash loop over a whole ceremony (issue 9, reliability; DESIGN §4 "a crash or power cut in the middle of
any flow leaves the ledger consistent; on restart an unfinished ceremony is shown and must be resumed or
voided").

``ceremony rehearse`` (the shipped 2-of-3 example, fast KDF) runs in a child process, which is SIGKILLed at
a moment drawn uniformly over the duration of one uninterrupted run (measured first): during start-up,
enrollment, authentication, generation, share distribution, the verification round, the paperwork. The
child is this file run as a script: it wraps ``Ledger._append`` (the one writer every event goes through)
to print ``seq hash`` after it returns — i.e. after COMMIT, when the event counts as done — and then runs
the real ``ceremony`` entry point (``ceremony.cli.entry``), exactly as ``python -m ceremony rehearse``.

After each kill, what the operator's restart does: the ledger opens for writing (SQLite rolls back an
interrupted write), ``ceremony verify`` passes, and then

* no acknowledged event is lost or changed;
* the interrupted ceremony is visible: the engine's ``unfinished_ceremonies`` (what the TUI shows on start)
  lists exactly the ceremonies with ``ceremony.started`` and neither ``closed`` nor ``voided`` (counted here
  independently);
* no share released without its ledger record: every share card in the output folder has a committed
  ``share.exposed`` of that share number in that ceremony (the card is written only after ``reveal()``
  committed the exposure), and every acknowledgement or minutes PDF its ``document.issued``;
* it is voided through the engine (``ceremony.flows.unfinished.void_unfinished``, administrator and witness
  authenticated with the script's passphrases; every split it created is retired), as the TUI's
  unfinished-ceremony screen does — ``ceremony rehearse`` itself neither shows nor voids it;
* a secrets scan (the script's passphrases; the shares read back from the run's newest card — every card
  with CEREMONY_RELIABILITY_FULL=1 — raw, hex, base64, typed lines and QR payload) over the ledger and its
  journal, the output folder except the share cards, and the temp folder finds nothing.

Every fourth kill runs on a new ledger file, so kills also land while the ledger is being created and the
participants enrolled; the others reuse one growing rehearsal ledger (participants enrolled once).

10 kills by default (~20 s); CEREMONY_RELIABILITY_FULL=1 for 100.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

FULL = os.environ.get("CEREMONY_RELIABILITY_FULL") == "1"
KILLS = 100 if FULL else 10
FRESH_EVERY = 4
HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
ACK = "ACKNOWLEDGED"
CARD_NAME = re.compile(r"share-(\d+)-of-(\d+)-.*\.pdf$")


# --- the child: the real CLI, reporting each committed event ---------------------------------------------
def child(script: str, ledger: str, out: str) -> None:
    from ceremony.ledger.store import Ledger

    original = Ledger._append

    def reporting_append(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        event = original(self, *args, **kwargs)
        print(ACK, event.seq, event.hash.hex(), flush=True)  # returned = committed = acknowledged
        return event

    Ledger._append = reporting_append  # type: ignore[method-assign]
    from ceremony.cli import entry

    sys.argv = ["ceremony", "rehearse", script, "--ledger", ledger, "--out", out]
    entry()


# --- helpers shared with the other reliability tests ------------------------------------------------------
def fast_script_text(name: str = "2of3") -> str:
    from ceremony.flows.rehearsal import example_script

    text = example_script(name)
    assert 'kdf = "production"' in text
    return text.replace('kdf = "production"', 'kdf = "fast"')


def secret_forms(secret: bytes) -> set[bytes]:
    return {
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    }


def passphrase_needles(script_text: str) -> set[bytes]:
    from ceremony.flows.rehearsal import parse_script

    return {p.passphrase.encode("utf-8") for p in parse_script(script_text).people}


def card_needles(card: Path, work: Path) -> set[bytes]:
    """Every form of the share on a share card PDF, read back from its QR code (pdftoppm + zxing-cpp).
    Empty when the card cannot be read (e.g. the writer was killed half-way through the file)."""
    import zxingcpp
    from PIL import Image

    from ceremony.crypto.codec import HEADER_GROUPS, decode_share, encode_share, share_lines, vault_base64
    from ceremony.errors import CeremonyError

    png = work / "card-scan"
    done = subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(card), str(png)],
        capture_output=True,
        check=False,
    )
    image_path = png.with_suffix(".png")
    if done.returncode != 0 or not image_path.exists():
        return set()
    with Image.open(image_path) as image:
        codes = [r.bytes for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    image_path.unlink()
    needles: set[bytes] = set()
    for code in codes:
        try:
            share = decode_share(bytearray(code))
        except CeremonyError:
            continue
        needles.add(bytes(code))
        needles |= secret_forms(bytes(share.data.view()))
        with encode_share(share) as typed, vault_base64(share) as b64:
            needles |= {bytes(typed.view()), bytes(b64.view())}
            for first, line in share_lines(typed):
                with line:
                    if first > HEADER_GROUPS and len(line) >= 11:  # body lines; the header is public
                        needles.add(bytes(line.view()))
        share.wipe()
    return needles


def ledger_files(path: Path) -> list[Path]:
    return [Path(str(path) + sfx) for sfx in ("", "-journal", "-wal", "-shm")]


def temp_files(since: float) -> list[Path]:
    """Readable regular files directly in the temp folder, changed since ``since``."""
    found = []
    for p in Path(tempfile.gettempdir()).glob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() and os.access(p, os.R_OK) and p.stat().st_mtime >= since - 1:
                found.append(p)
    return found


def scan_for_secrets(paths: Iterable[Path], needles: set[bytes]) -> tuple[int, list[str]]:
    """(files scanned, findings). PDFs are also searched in their extracted text."""
    from pypdf import PdfReader

    scanned, findings = 0, []
    for path in paths:
        try:
            if not path.is_file() or path.stat().st_size > 50_000_000:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if path.suffix == ".pdf":
            with contextlib.suppress(Exception):  # a truncated PDF (killed writer) has no text to add
                data += "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages).encode()
        scanned += 1
        findings += [f"{path.name}: secret #{i}" for i, n in enumerate(sorted(needles)) if n in data]
    return scanned, findings


def unfinished_by_scan(events: list) -> set[str]:
    """Independent of the product: ceremonies started and neither closed nor voided."""
    open_ids: set[str] = set()
    for e in events:
        cid = e.payload.get("ceremony_id")
        if e.type == "ceremony.started":
            open_ids.add(cid)
        elif e.type in ("ceremony.closed", "ceremony.voided"):
            open_ids.discard(cid)
    return open_ids


def void_with_script_people(ledger, script_text: str, item) -> None:  # type: ignore[no-untyped-def]
    """Void an interrupted ceremony through the engine (``ceremony.flows.unfinished.void_unfinished``),
    the script's administrator and witness authenticated with their passphrases."""
    from ceremony.crypto.secret import SecretBytes
    from ceremony.flows.presence import Presence
    from ceremony.flows.rehearsal import parse_script
    from ceremony.flows.unfinished import void_unfinished
    from ceremony.ledger.participants import participants

    script = parse_script(script_text)
    ids = {p.employee_id: p.person_id for p in participants(ledger) if p.active}
    presence = Presence(ledger, item.ceremony_id)
    present = []
    for eid, role in ((script.administrator, "administrator"), (script.witness, "witness")):
        passphrase = SecretBytes(script.person(eid).passphrase.encode("utf-8"))
        present.append(presence.authenticate(ids[eid], passphrase, role))
    try:
        void_unfinished(ledger, item, present[0], present[1], "interrupted (reliability crash loop)")
    finally:
        for person in present:
            person.leave()


def cli_verify(path: Path) -> tuple[int, str]:
    """``ceremony verify --ledger PATH`` through the real CLI code (in this process: no start-up cost)."""
    from ceremony.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["verify", "--ledger", str(path)])
    return code, out.getvalue() + err.getvalue()


# --- the test ---------------------------------------------------------------------------------------------
def _run_child(script: Path, ledger: Path, out: Path, kill_after: float | None) -> tuple[int, list[str], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(HERE), str(script), str(ledger), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    lines = [
        line
        for line in stdout.decode().splitlines(keepends=True)
        if line.endswith("\n") and line.startswith(ACK)
    ]
    return proc.returncode, lines, stderr.decode(errors="replace")


def test_sigkill_anywhere_in_a_rehearsal_then_restart_verify_and_void(tmp_path: Path) -> None:
    from ceremony.errors import LedgerFormatError
    from ceremony.flows.unfinished import unfinished_ceremonies
    from ceremony.ledger.store import Ledger

    started_at = time.time()
    text = fast_script_text()
    script = tmp_path / "2of3-fast.toml"
    script.write_text(text)
    passphrases = passphrase_needles(text)
    scan_work = tmp_path / "scan"
    scan_work.mkdir()

    # One uninterrupted run on a new ledger: how long a whole rehearsal takes here (kill times are drawn
    # uniformly over it) and the shared ledger the later kills continue on.
    shared = tmp_path / "shared.sqlite3"
    t0 = time.perf_counter()
    code, lines, err = _run_child(script, shared, tmp_path / "out-calibration", None)
    duration = time.perf_counter() - t0
    assert code == 0, err[-3000:]
    acknowledged: dict[Path, dict[int, str]] = {shared: {}}
    for line in lines:
        _, seq, digest = line.split()
        acknowledged[shared][int(seq)] = digest

    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    tally = {"kills": 0, "completed": 0, "voided": 0, "retired": 0, "cards": 0, "no_ledger": 0, "empty": 0}
    tally["unfounded"] = 0
    tally["shares_read"] = 0
    findings: list[str] = []
    for i in range(KILLS):
        ledger = tmp_path / f"fresh-{i}.sqlite3" if i % FRESH_EVERY == 0 else shared
        acks = acknowledged.setdefault(ledger, {})
        out = tmp_path / f"out-{i}"
        before = 0
        if ledger.exists():  # everything in it now is acknowledged, the void steps below included
            with Ledger.open(ledger, read_only=True) as opened:
                acks.update({e.seq: e.hash.hex() for e in opened.events()})
            before = max(acks, default=0)
        kill_after = rng.uniform(0, duration)
        code, lines, err = _run_child(script, ledger, out, kill_after)
        assert "Traceback" not in err, err[-3000:]
        if code == 0:
            tally["completed"] += 1
        else:
            assert code == -signal.SIGKILL, f"rehearsal failed by itself (exit {code}): {err[-3000:]}"
            tally["kills"] += 1
        for line in lines:
            _, seq, digest = line.split()
            acks[int(seq)] = digest

        if not ledger.exists():
            tally["no_ledger"] += 1  # killed before the file was created
            assert not acks and not (out / "share-cards").exists()
            continue
        if ledger.stat().st_size == 0 and not acks:
            # Killed between SQLite creating the file and the schema's COMMIT: nothing was ever written;
            # the file is refused as "empty" (it must be deleted by hand before that path is used again).
            tally["empty"] += 1
            try:
                Ledger.open(ledger).close()
            except LedgerFormatError as exc:
                assert "empty" in str(exc)
            ledger.unlink()
            continue

        # The operator's restart: the ledger opens for writing (an interrupted write is rolled back).
        with Ledger.open(ledger) as opened:
            events = list(opened.events())
            listed = {u.ceremony_id: u for u in unfinished_ceremonies(events)}
        if not events:
            # Killed after the ledger file was made, before its genesis committed: nothing acknowledged, no
            # paper; verify says the ledger was never founded (the next rehearsal on it founds it).
            tally["unfounded"] += 1
            assert not acks and not (out / "share-cards").exists()
            verified, report = cli_verify(ledger)
            assert verified == 4 and "not even its genesis" in report, report
            continue
        verified, report = cli_verify(ledger)
        assert verified == 0, report
        stored = {e.seq: e.hash.hex() for e in events}
        lost = {s for s, h in acks.items() if stored.get(s) != h}
        assert not lost, f"acknowledged events lost or changed: {sorted(lost)[:10]}"
        assert set(listed) == unfinished_by_scan(events), "an unfinished ceremony is not shown on restart"
        assert len(listed) <= 1  # earlier interrupted ones were voided below
        if code == 0:
            assert not listed and (out / "manifest.json").exists()

        # No share released without its ledger record; no paper without its document.issued.
        this_run = [e for e in events if e.seq > before]
        exposed = {
            (e.payload["ceremony_id"], e.payload["share_number"])
            for e in this_run
            if e.type == "share.exposed"
        }
        ceremony_ids = [e.payload["ceremony_id"] for e in this_run if e.type == "ceremony.started"]
        issued = {e.payload["file_name"] for e in this_run if e.type == "document.issued"}
        cards = sorted((out / "share-cards").glob("*.pdf")) if (out / "share-cards").exists() else []
        needles = set(passphrases)
        for card in cards:
            number = int(CARD_NAME.search(card.name).group(1))  # type: ignore[union-attr]
            assert len(ceremony_ids) == 1 and (ceremony_ids[0], number) in exposed, (
                f"{card.name} was written without a committed share.exposed for share {number}"
            )
            tally["cards"] += 1
            if FULL or card == cards[-1]:  # reading a card back costs ~0.5 s: the newest one by default
                read_back = card_needles(card, scan_work)
                tally["shares_read"] += bool(read_back)
                needles |= read_back
        for pdf in [*out.glob("*.pdf"), *out.glob("acknowledgements/*.pdf")] if out.exists() else []:
            assert pdf.name in issued, f"{pdf.name} was written without its document.issued event"

        # Void what the crash left unfinished, as the TUI's unfinished-ceremony screen does.
        for item in listed.values():
            tally["retired"] += void_and_check(ledger, text, item)
            tally["voided"] += 1

        # Secrets scan after the scenario.
        files = ledger_files(ledger)
        files += [p for p in out.rglob("*") if p.is_file() and p.parent.name != "share-cards"]
        files += temp_files(started_at)
        scanned, found = scan_for_secrets(files, needles)
        findings += [f"kill {i}: {f}" for f in found]
        assert scanned >= 1

    assert findings == []
    # The scan had shares to look for (a card killed mid-write may not read back).
    assert tally["shares_read"] >= 1 or tally["cards"] <= 1
    assert tally["kills"] + tally["completed"] == KILLS
    with Ledger.open(shared, read_only=True) as opened:
        assert not unfinished_ceremonies(opened.events())
    print(
        f"\nrehearsal crash loop: one run {duration:.1f} s; {KILLS} runs: {tally['kills']} SIGKILLed, "
        f"{tally['completed']} finished first; {tally['voided']} unfinished ceremonies voided "
        f"({tally['retired']} with a split retired); {tally['cards']} share cards checked against "
        f"share.exposed; {tally['no_ledger']} killed before the ledger existed, {tally['empty']} left an "
        f"empty ledger file, {tally['unfounded']} a ledger not yet founded; "
        f"{sum(len(a) for a in acknowledged.values())} acknowledged events all kept"
    )


def void_and_check(ledger: Path, script_text: str, item) -> int:  # type: ignore[no-untyped-def]
    """Void ``item``, check the result; returns how many splits were retired."""
    from ceremony.flows.unfinished import unfinished_ceremonies
    from ceremony.ledger.store import Ledger

    with Ledger.open(ledger) as opened:
        void_with_script_people(opened, script_text, item)
        events = list(opened.events())
    assert item.ceremony_id not in {u.ceremony_id for u in unfinished_ceremonies(events)}
    mine = [e for e in events if e.payload.get("ceremony_id") == item.ceremony_id]
    assert mine[-1].type == "ceremony.voided"
    retired = {e.payload["split_id"] for e in events if e.type == "split.retired"}
    assert set(item.splits_created) <= retired, "a voided ceremony's split was not retired"
    verified, report = cli_verify(ledger)
    assert verified == 0, report
    return len(item.splits_created)


if __name__ == "__main__":
    child(*sys.argv[1:4])
