"""`ceremony export --officer` and `ceremony verify --bundle`: the auditor's evidence bundle end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flows"))

from flow_support import make_cast, passphrase_of


def _ceremony(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ceremony", *args], input=stdin, capture_output=True)


def _ledger(tmp_path: Path) -> tuple[Path, str, str]:
    cast = make_cast(tmp_path)
    cast.ledger.close()
    return cast.ledger.path, cast.ids["sophie"], cast.ids["walter"]


def _export(ledger: Path, out: Path, officer: str, who: str = "sophie") -> subprocess.CompletedProcess[bytes]:
    secret = passphrase_of(who)  # keep it alive while copying (SecretBytes wipes when collected)
    return _ceremony(
        "export",
        "--ledger",
        str(ledger),
        "--out",
        str(out),
        "--officer",
        officer,
        stdin=bytes(secret.view()) + b"\n",
    )


def test_signed_bundle_verifies_and_tampering_is_named(tmp_path):
    ledger, officer, _ = _ledger(tmp_path)
    out = tmp_path / "bundle"
    made = _export(ledger, out, officer)
    assert made.returncode == 0, made.stderr
    assert (out / "manifest.json").exists() and (out / "reports" / "custody.pdf").exists()
    ok = _ceremony("verify", "--bundle", str(out), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["bundle"]["files"] >= 12 and report["bundle"]["person_id"] == officer
    # a changed report is named, exit 4
    csv = out / "reports" / "keys.csv"
    csv.write_bytes(csv.read_bytes() + b"forged,row\n")
    bad = _ceremony("verify", "--bundle", str(out))
    assert bad.returncode == 4
    assert b"reports/keys.csv" in bad.stderr


def test_pinned_officer_fingerprint_must_match(tmp_path):
    ledger, officer, _ = _ledger(tmp_path)
    out = tmp_path / "bundle"
    assert _export(ledger, out, officer).returncode == 0
    wrong = _ceremony("verify", "--bundle", str(out), "--officer-cert-sha256", "00" * 32)
    assert wrong.returncode == 4 and b"fingerprint" in wrong.stderr


def test_wrong_passphrase_writes_nothing(tmp_path):
    ledger, officer, _ = _ledger(tmp_path)
    out = tmp_path / "bundle"
    made = _export(ledger, out, officer, who="walter")  # walter's passphrase does not unlock sophie's key
    assert made.returncode == 2
    assert not out.exists()
    assert made.stderr.count(b"\n") == 1 and b"Traceback" not in made.stderr


def test_only_a_security_officer_signs(tmp_path):
    ledger, _, witness = _ledger(tmp_path)
    made = _export(ledger, tmp_path / "bundle", witness, who="walter")
    assert (made.returncode == 2 and b"security_officer" in made.stderr) or b"security officer" in made.stderr
