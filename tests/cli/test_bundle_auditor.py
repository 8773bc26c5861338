"""Issue 15: a bundle that proves the paper, and a signer the auditor pins.

A rehearsal (``ceremony rehearse``) writes signed acknowledgements and minutes next to its ledger; ``ceremony
export --officer EMPLOYEE_ID`` bundles them with the ledger and prints the officer's certificate fingerprint;
the auditor copies only the bundle elsewhere, pins the signer by that fingerprint (as printed) or by the
ledger anchor, checks every bundled PDF and a report, and an altered byte is named.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFICER_PASSPHRASE = "rehearsal: sara's training passphrase"  # Sara Lindqvist, R0000, in the 2of3 example


def _ceremony(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=180,
    )


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rehearsal ledger whose signed papers were written beside it, in ceremony-documents/."""
    work = tmp_path_factory.mktemp("rehearsal")
    script = work / "2of3.toml"
    example = _ceremony("rehearse", "--example", "2of3")
    assert example.returncode == 0, example.stderr
    script.write_text(example.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    ledger = work / "office" / "ledger.sqlite3"
    done = _ceremony(
        "rehearse",
        str(script),
        "--ledger",
        str(ledger),
        "--out",
        str(ledger.parent / "ceremony-documents" / "r1"),
    )
    assert done.returncode == 0, done.stderr
    return ledger


def _export(ledger: Path, out: Path, officer: str = "R0000") -> subprocess.CompletedProcess[str]:
    return _ceremony(
        "export",
        "--ledger",
        str(ledger),
        "--out",
        str(out),
        "--officer",
        officer,
        stdin=OFFICER_PASSPHRASE + "\n",
    )


def _printed_fingerprint(stdout: str) -> str:
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "certificate fingerprint (SHA-256)" in line:
            printed = lines[i + 1].strip()
            assert re.fullmatch(r"([0-9A-F]{4} ){15}[0-9A-F]{4}", printed), printed
            return printed
    raise AssertionError(f"export printed no fingerprint:\n{stdout}")


def test_auditor_end_to_end(rehearsal: Path, tmp_path: Path) -> None:
    made = _export(rehearsal, tmp_path / "made")
    assert made.returncode == 0, made.stderr
    fingerprint = _printed_fingerprint(made.stdout)
    # The auditor gets only the bundle, in another place (the papers beside the ledger stay behind).
    bundle = tmp_path / "auditor" / "bundle"
    shutil.copytree(tmp_path / "made", bundle)
    pdfs = sorted(p.relative_to(bundle).as_posix() for p in (bundle / "documents").rglob("*.pdf"))
    assert len(pdfs) == 4  # three acknowledgements and the minutes; never a share card
    assert not any("share" in name for name in pdfs)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert sorted(d["path"] for d in manifest["documents"]) == pdfs
    assert manifest["share_cards_not_bundled"] == 3

    transcript: list[str] = []

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        done = _ceremony("verify", "--bundle", "bundle", *extra, cwd=bundle.parent)
        transcript.append(f"$ ceremony verify --bundle bundle {' '.join(extra)}  -> exit {done.returncode}")
        transcript.append((done.stdout + done.stderr).rstrip())
        return done

    alone = verify()
    assert alone.returncode == 0, alone.stderr
    assert "NOT PINNED: the bundle vouches for itself; give --anchor or --officer-cert-sha256" in alone.stdout
    assert "REHEARSAL" in alone.stdout.splitlines()[0]
    pinned = verify("--officer-cert-sha256", fingerprint)  # as printed, with its spaces
    assert pinned.returncode == 0, pinned.stderr
    assert "PINNED: signed by Sara Lindqvist whose certificate fingerprint you gave" in pinned.stdout
    assert "NOT PINNED" not in pinned.stdout
    assert "4 of 4 signed documents" in pinned.stdout
    anchor = (bundle / "anchor.txt").read_text().split("\n\n")[1]  # the grouped form, as on the anchor page
    by_anchor = verify("--anchor", anchor)
    assert by_anchor.returncode == 0, by_anchor.stderr
    assert "PINNED: signed by Sara Lindqvist, security officer of ledger" in by_anchor.stdout
    assert "whose anchor you gave" in by_anchor.stdout

    for name in pdfs:
        done = verify("--officer-cert-sha256", fingerprint, "--document", f"bundle/{name}")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "recorded: event #" in done.stdout
    report = verify("--officer-cert-sha256", fingerprint, "--document", "bundle/reports/custody.pdf")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "reports/custody.pdf" in report.stdout and "NOT RECORDED" not in report.stdout
    as_json = _ceremony(
        "verify",
        "--bundle",
        "bundle",
        "--document",
        "bundle/reports/keys.pdf",
        "--format",
        "json",
        cwd=bundle.parent,
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["document"]["kind"] == "report"

    # One altered byte in one signed document: exit 4, naming it.
    target = bundle / pdfs[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    altered = verify("--officer-cert-sha256", fingerprint)
    assert altered.returncode == 4
    assert pdfs[0] in altered.stderr
    print("\n".join(transcript))


def test_a_document_not_found_beside_the_ledger_is_listed_by_sha256(rehearsal: Path, tmp_path: Path) -> None:
    office = tmp_path / "office"
    shutil.copytree(rehearsal.parent, office)
    papers = office / "ceremony-documents" / "r1"
    gone = next((papers / "acknowledgements").glob("*.pdf"))
    gone.unlink()
    made = _export(office / rehearsal.name, tmp_path / "bundle")
    assert made.returncode == 0, made.stderr
    assert "3 of 4 signed documents" in made.stdout and "not found: acknowledgement" in made.stdout
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    missing = [d for d in manifest["documents"] if d["status"] == "not found"]
    assert len(missing) == 1 and missing[0]["path"] is None and len(missing[0]["sha256"]) == 64
    done = _ceremony("verify", "--bundle", str(tmp_path / "bundle"), "--format", "json")
    assert done.returncode == 0, done.stderr
    bundle = json.loads(done.stdout)["bundle"]
    assert bundle["documents_checked"] == 3 and bundle["documents_not_found"] == 1
    assert bundle["pinned"] is False
    assert json.loads(done.stdout)["rehearsal"] is True


def test_a_fingerprint_prefix_is_refused_and_any_grouping_accepted(rehearsal: Path, tmp_path: Path) -> None:
    made = _export(rehearsal, tmp_path / "bundle")
    assert made.returncode == 0, made.stderr
    fingerprint = _printed_fingerprint(made.stdout)
    prefix = _ceremony(
        "verify", "--bundle", str(tmp_path / "bundle"), "--officer-cert-sha256", fingerprint[:19]
    )
    assert prefix.returncode == 2
    assert "all 64 hex digits" in prefix.stderr
    compact = fingerprint.replace(" ", "").lower()
    regrouped = "\n".join(compact[i : i + 8] for i in range(0, 64, 8))
    done = _ceremony(
        "verify", "--bundle", str(tmp_path / "bundle"), "--officer-cert-sha256", regrouped, "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["bundle"]
    assert result["pinned"] is True and result["pinned_by"] == "fingerprint"
    assert result["cert_sha256"] == compact
    wrong = _ceremony("verify", "--bundle", str(tmp_path / "bundle"), "--officer-cert-sha256", "0" * 64)
    assert wrong.returncode == 4
    assert fingerprint in wrong.stderr  # says whose fingerprint the manifest really carries


def test_an_altered_copy_of_a_report_is_named_altered(rehearsal: Path, tmp_path: Path) -> None:
    """A report copied out of the bundle and changed is told apart from the one the manifest lists."""
    made = _export(rehearsal, tmp_path / "bundle")
    assert made.returncode == 0, made.stderr
    bundle = tmp_path / "bundle"
    report = bundle / "reports" / "custody.pdf"
    copy = tmp_path / "elsewhere" / "custody.pdf"  # a report copied out of the bundle, then altered
    copy.parent.mkdir()
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    done = _ceremony("verify", "--bundle", str(bundle), "--document", str(copy))
    assert done.returncode == 4
    assert "ALTERED" in done.stdout and "reports/custody.pdf" in done.stdout
