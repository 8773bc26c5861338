"""The code's own hashes: the aggregate an auditor recomputes with sha256sum, and RECORD comparison."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

import ceremony
from ceremony.preflight.findings import Verdict
from ceremony.preflight.integrity import check_integrity, package_manifest, recorded_hashes

PACKAGE = Path(ceremony.__file__).resolve().parent


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "site" / "ceremony"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_aggregate_is_what_sha256sum_gives(package_copy):
    # Oracle: the coreutils pipeline the integrity module's docstring promises to auditors.
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    pipeline = (
        "find ceremony -type f -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum | sha256sum"
    )
    out = subprocess.run(
        ["sh", "-c", pipeline], cwd=package_copy.parent, capture_output=True, text=True, check=True
    )
    manifest = package_manifest(package_copy)
    assert manifest.aggregate == out.stdout.split()[0]
    assert (
        "ceremony/preflight/integrity.py",
        hashlib.sha256((package_copy / "preflight" / "integrity.py").read_bytes()).hexdigest(),
    ) in manifest.files


def test_live_check_reports_the_aggregate_of_the_running_code():
    # Others edit the working tree while tests run, so compare the finding with its own evidence: the
    # aggregate it states must be the SHA-256 of the manifest lines it lists, which must name this file.
    [finding] = check_integrity()
    assert finding.verdict is Verdict.PASS
    manifest_text = "".join(f"{line}\n" for line in finding.evidence[1:])
    assert finding.evidence[0] == f"aggregate sha256 {hashlib.sha256(manifest_text.encode()).hexdigest()}"
    assert any(line.endswith("  ceremony/preflight/integrity.py") for line in finding.evidence)


def test_one_changed_byte_changes_the_aggregate(package_copy):
    before = package_manifest(package_copy).aggregate
    target = package_copy / "errors.py"
    target.write_bytes(target.read_bytes() + b"\n")
    assert package_manifest(package_copy).aggregate != before


def test_files_compared_with_the_install_record(package_copy):
    manifest = package_manifest(package_copy)
    recorded = dict(manifest.files)
    assert [f.verdict for f in check_integrity(manifest, recorded)] == [Verdict.PASS]
    # Tamper: change one file, add one, remove one.
    (package_copy / "errors.py").write_text("raise SystemExit\n")
    (package_copy / "backdoor.py").write_text("")
    (package_copy / "__main__.py").unlink()
    findings = check_integrity(package_manifest(package_copy), recorded)
    assert {(f.verdict, f.subject, f.summary.split(" ", 1)[1]) for f in findings} == {
        (Verdict.INSECURE, "file ceremony/errors.py", "changed since installation"),
        (Verdict.INSECURE, "file ceremony/backdoor.py", "not part of the installed release"),
        (Verdict.INSECURE, "file ceremony/__main__.py", "missing since installation"),
    }


def test_record_hashes_are_read_from_a_wheel_record(package_copy):
    # A dist-info as pip writes it: RECORD lines "path,sha256=<urlsafe b64, no padding>,size".
    site = package_copy.parent
    info = site / "ceremony-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ceremony\nVersion: 0.1.0\n")
    lines = []
    for path in sorted(package_copy.rglob("*.py")):
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
        lines.append(f"{path.relative_to(site).as_posix()},sha256={digest},{path.stat().st_size}")
    lines += ["ceremony/__pycache__/cli.cpython-311.pyc,,", "ceremony-0.1.0.dist-info/RECORD,,"]
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    recorded = recorded_hashes(metadata.PathDistribution(info))
    manifest = package_manifest(package_copy)
    on_disk = {p: d for p, d in manifest.files if p.endswith(".py")}
    assert recorded == on_disk
