"""Issue 15, Tests: the end-to-end auditor test on the demo, through the real CLI.

``ceremony demo`` builds the sample year (its signed PDFs beside the ledger); the security officer exports a
bundle naming herself by her *employee id* (``--officer E1004``, passphrase by the demo's published rule on
standard input); only the bundle folder goes to the auditor, in another place, and the ledger folder is
removed. The auditor pins the signer by the fingerprint exactly as ``export`` printed it (with its spaces)
and by the anchor text as printed; checks every bundled PDF (exit 0) and a report PDF (never a tamper
alarm); one altered byte in one bundled document exits 4 and names it.

Run with ``-s`` to see the transcript; it is also saved to /tmp/auditor_transcript.txt, with the bundle's
contents (counts by kind, total size) for the closing note.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
OFFICER = "E1004"  # Sophie Laurent, the demo's security officer, by her employee id
TRANSCRIPT = Path("/tmp/auditor_transcript.txt")


def _ceremony(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    env.pop("CEREMONY_PASSPHRASE_FD", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=300,
    )


def _printed_fingerprint(stdout: str) -> str:
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "certificate fingerprint (SHA-256)" in line:
            printed = lines[i + 1].strip()
            assert re.fullmatch(r"([0-9A-F]{4} ){15}[0-9A-F]{4}", printed), printed
            return printed
    raise AssertionError(f"export printed no fingerprint:\n{stdout}")


def _contents(bundle: Path) -> str:
    """The bundle's contents for the closing note: documents by kind, other files, total size."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    kinds = Counter(d["kind"] for d in manifest["documents"] if d["status"] == "bundled")
    files = [p for p in bundle.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    pdf_size = sum(p.stat().st_size for p in (bundle / "documents").rglob("*.pdf"))
    reports = sorted(p.name for p in (bundle / "reports").iterdir())
    top = sorted(p.name for p in bundle.iterdir() if p.is_file())
    lines = [
        f"bundle: {len(files)} files, {size} bytes ({size / 1024:.0f} KiB)",
        f"  signed documents: {sum(kinds.values())} ({pdf_size / 1024:.0f} KiB): "
        + ", ".join(f"{kinds[k]} {k}" for k in sorted(kinds)),
        f"  reports: {len(reports)} ({', '.join(reports)})",
        f"  top level: {', '.join(top)}",
        f"  share cards not bundled: {manifest['share_cards_not_bundled']}",
    ]
    return "\n".join(lines)


def test_auditor_end_to_end_on_the_demo(tmp_path: Path) -> None:
    office = tmp_path / "office"
    ledger = office / "demo.sqlite3"
    built = _ceremony("demo", "--ledger", str(ledger))
    assert built.returncode == 0, built.stderr
    made = _ceremony(
        "export",
        "--ledger",
        str(ledger),
        "--out",
        str(tmp_path / "made"),
        "--officer",
        OFFICER,
        stdin=f"demo passphrase {OFFICER}\n",
    )
    assert made.returncode == 0, made.stderr
    assert "Sophie Laurent" in made.stdout
    fingerprint = _printed_fingerprint(made.stdout)

    # The auditor gets only the bundle, elsewhere; the ledger folder and its papers are gone.
    bundle = tmp_path / "auditor" / "B2"
    shutil.copytree(tmp_path / "made", bundle)
    shutil.rmtree(office)
    shutil.rmtree(tmp_path / "made")
    assert not ledger.exists()

    manifest = json.loads((bundle / "manifest.json").read_text())
    pdfs = sorted(p.relative_to(bundle).as_posix() for p in (bundle / "documents").rglob("*.pdf"))
    assert sorted(d["path"] for d in manifest["documents"]) == pdfs
    assert all(d["status"] == "bundled" for d in manifest["documents"])
    kinds = Counter(d["kind"] for d in manifest["documents"])
    # The demo's year: the anchor page, acknowledgements, minutes, reaffirmations, and (item 5) the two
    # destruction certificates — the departure's and the retirement that destroyed the re-shared split's.
    assert kinds["anchor"] == 1 and kinds["destruction"] == 2
    assert kinds["acknowledgement"] >= 10 and kinds["minutes"] >= 5 and kinds["reaffirmation"] == 5
    contents = _contents(bundle)

    transcript: list[str] = [
        "$ ceremony demo --ledger office/demo.sqlite3",
        built.stdout.rstrip(),
        f"$ ceremony export --ledger office/demo.sqlite3 --out made --officer {OFFICER}"
        f"   (passphrase 'demo passphrase {OFFICER}' on stdin)  -> exit {made.returncode}",
        made.stdout.rstrip().replace(str(tmp_path) + "/", ""),
        "$ cp -r made auditor/B2; rm -r office made   (the auditor has only the bundle)",
    ]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return _ceremony("verify", "--bundle", "B2", *extra, cwd=bundle.parent)

    def log(done: subprocess.CompletedProcess[str], *extra: str) -> None:
        shown = " ".join(f'"{a}"' if " " in a or "\n" in a else a for a in extra)
        transcript.append(f"$ ceremony verify --bundle B2 {shown}  -> exit {done.returncode}")
        transcript.append((done.stdout + done.stderr).rstrip())

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        done = run(*extra)
        log(done, *extra)
        return done

    alone = verify()
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "NOT PINNED" in alone.stdout and "REHEARSAL" in alone.stdout.splitlines()[0]

    pinned = verify("--officer-cert-sha256", fingerprint)  # exactly as export printed it, with its spaces
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert "PINNED: signed by Sophie Laurent whose certificate fingerprint you gave" in pinned.stdout
    assert "NOT PINNED" not in pinned.stdout
    assert f"{len(pdfs)} of {len(pdfs)} signed documents" in pinned.stdout

    # The anchor as printed: the grouped block of anchor.txt, which is the text of the anchor page.
    anchor = (bundle / "anchor.txt").read_text().split("\n\n")[1]
    page = "".join(p.extract_text() for p in PdfReader(bundle / "documents/anchor" / _anchor_pdf(pdfs)).pages)
    flat = re.sub(r"\s+", "", page)
    for group_line in anchor.splitlines()[1:]:
        assert re.sub(r"\s+", "", group_line.split(maxsplit=1)[1]) in flat  # the page shows the same hex
    by_anchor = verify("--anchor", anchor)
    assert by_anchor.returncode == 0, by_anchor.stdout + by_anchor.stderr
    assert "PINNED: signed by Sophie Laurent, security officer of ledger" in by_anchor.stdout
    assert "whose anchor you gave" in by_anchor.stdout

    # Every bundled PDF, one by one (in parallel: each run replays the ledger), logged in order.
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda name: run("--anchor", anchor, "--document", f"B2/{name}"), pdfs))
    for name, done in zip(pdfs, runs, strict=True):
        log(done, "--anchor", "<anchor as above>", "--document", f"B2/{name}")
        assert done.returncode == 0, (name, done.stdout + done.stderr)
        assert "recorded: event #" in done.stdout, name
    destruction = [n for n in pdfs if "destruction" in n]
    for name, done in zip(pdfs, runs, strict=True):
        if name in destruction:
            assert "DestroyedBy: valid signature" in done.stdout and "Witness: valid signature" in done.stdout

    for report in ("custody.pdf", "custodians.pdf"):
        done = verify("--officer-cert-sha256", fingerprint, "--document", f"B2/reports/{report}")
        assert done.returncode != 4, done.stdout + done.stderr
        assert done.returncode == 0 and "NOT RECORDED" not in done.stdout

    # One altered byte in one bundled document: exit 4, naming it.
    target = bundle / destruction[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    altered = verify("--officer-cert-sha256", fingerprint)
    assert altered.returncode == 4
    assert destruction[0] in altered.stdout + altered.stderr
    one = verify("--officer-cert-sha256", fingerprint, "--document", f"B2/{destruction[0]}")
    assert one.returncode == 4

    text = "\n".join([*transcript, "", "# bundle contents (the demo)", contents]) + "\n"
    TRANSCRIPT.write_text(text)
    print("\n" + text)


def _anchor_pdf(pdfs: list[str]) -> str:
    return next(Path(n).name for n in pdfs if n.startswith("documents/anchor/"))
