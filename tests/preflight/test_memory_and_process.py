"""Swap encryption, core dumps and the tool's own hardening, read from the real kernel where possible."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.preflight.findings import SystemRoot, Verdict
from ceremony.preflight.memory import check_swap
from ceremony.preflight.process import check_coredump

REPO = Path(__file__).resolve().parents[2]
HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def test_live_swap_matches_proc_swaps():
    entries = Path("/proc/swaps").read_text().splitlines()[1:]
    findings = check_swap()
    if not entries:
        assert [(f.verdict, f.summary) for f in findings] == [(Verdict.PASS, "no swap in use")]
    else:
        named = " ".join(f.summary + " ".join(f.evidence) for f in findings)
        for entry in entries:
            assert entry.split()[0] in named


@pytest.fixture
def swap_root(tmp_path: Path) -> tuple[SystemRoot, Path, dict[str, Path]]:
    """A /proc and /sys of our making; block devices are real device nodes (mknod) so os.stat works."""
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    (tmp_path / "proc").mkdir()
    devices = tmp_path / "sys" / "devices" / "virtual" / "block"
    by_number = tmp_path / "sys" / "dev" / "block"
    by_number.mkdir(parents=True)

    def block(
        name: str, major: int, minor: int, uuid: str | None = None, slaves: tuple[str, ...] = ()
    ) -> Path:
        folder = devices / name
        folder.mkdir(parents=True)
        if uuid is not None:
            (folder / "dm").mkdir()
            (folder / "dm" / "uuid").write_text(uuid + "\n")
        if slaves:
            (folder / "slaves").mkdir()
            for slave in slaves:
                (folder / "slaves" / slave).symlink_to(devices / slave)
        (by_number / f"{major}:{minor}").symlink_to(folder)
        node = tmp_path / f"node-{name}"
        try:
            os.mknod(node, 0o600 | 0o060000, os.makedev(major, minor))  # S_IFBLK
        except PermissionError as exc:
            pytest.skip(f"cannot create a block device node: {exc}")
        return node

    root = SystemRoot(proc=tmp_path / "proc", sys=tmp_path / "sys", etc=tmp_path)
    nodes = {
        "crypt": block("dm-101", 253, 101, "CRYPT-LUKS2-0123456789abcdef-swap"),
        "lvm-on-crypt": block("dm-102", 253, 102, "LVM-AbCdEf", slaves=("dm-101",)),
        "plain-lvm": block("dm-103", 253, 103, "LVM-GhIjKl", slaves=("sda99",)),
        "partition": block("sda99", 8, 99),
    }
    return root, tmp_path, nodes


def _swaps(root: SystemRoot, *lines: str) -> None:
    (root.proc / "swaps").write_text(HEADER + "".join(f"{line}\n" for line in lines))


def test_swap_on_dm_crypt_and_lvm_on_crypt_pass(swap_root):
    root, _, nodes = swap_root
    _swaps(
        root,
        f"{nodes['crypt']} partition\t8388604\t0\t-2",
        f"{nodes['lvm-on-crypt']} partition\t8388604\t0\t-3",
        "/dev/zram0 partition\t4194300\t0\t100",
    )
    [finding] = check_swap(root)
    assert finding.verdict is Verdict.PASS
    assert "3 swap area(s)" in finding.summary
    assert sum("[dm-crypt]" in line for line in finding.evidence) == 2
    assert sum("[zram" in line for line in finding.evidence) == 1


def test_unencrypted_swap_partition_and_lvm_are_insecure(swap_root):
    root, _, nodes = swap_root
    _swaps(
        root, f"{nodes['partition']} partition\t1000\t0\t-2", f"{nodes['plain-lvm']} partition\t1000\t0\t-3"
    )
    findings = check_swap(root)
    assert [(f.verdict, f.subject) for f in findings] == [
        (Verdict.INSECURE, f"swap {nodes['partition']}"),
        (Verdict.INSECURE, f"swap {nodes['plain-lvm']}"),
    ]
    assert "not encrypted" in findings[0].summary


def test_swap_file_is_traced_through_its_filesystem_device(swap_root):
    root, tmp_path, _ = swap_root
    swapfile = tmp_path / "swap file"  # a space: /proc/swaps writes it as \040
    swapfile.write_bytes(b"")
    escaped = str(swapfile).replace(" ", "\\040")
    _swaps(root, f"{escaped} file\t1000\t0\t-2")
    dev = os.stat(swapfile).st_dev
    if os.major(dev) == 0:  # tmp on overlay/btrfs: no block device to trace
        [finding] = check_swap(root)
        assert finding.verdict is Verdict.UNKNOWN
        assert "anonymous device" in finding.summary
        return
    link = root.sys / "dev" / "block" / f"{os.major(dev)}:{os.minor(dev)}"
    link.unlink(missing_ok=True)
    link.symlink_to(root.sys / "devices" / "virtual" / "block" / "sda99")
    [finding] = check_swap(root)
    assert (finding.verdict, finding.subject) == (Verdict.INSECURE, f"swap {swapfile}")


def test_swap_device_that_does_not_exist_is_unknown(swap_root):
    root, _, _ = swap_root
    _swaps(root, "/dev/does-not-exist-pf partition\t1000\t0\t-2")
    [finding] = check_swap(root)
    assert finding.verdict is Verdict.UNKNOWN
    assert "/dev/does-not-exist-pf" in finding.summary


def _child_with_core_limit(soft: int) -> subprocess.Popen[bytes]:
    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    if hard != resource.RLIM_INFINITY and soft > hard:
        pytest.skip(f"hard core limit {hard} is below {soft}")
    return subprocess.Popen(
        ["sleep", "30"], preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
    )


@pytest.mark.parametrize(("soft", "verdict"), [(0, Verdict.PASS), (1 << 20, Verdict.INSECURE)])
def test_session_core_limit_decides(soft, verdict):
    child = _child_with_core_limit(soft)
    try:
        [finding] = check_coredump(session_pid=child.pid)
    finally:
        child.kill()
        child.wait()
    assert finding.verdict is verdict
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    assert f"core_pattern: {pattern}" in finding.evidence
    if verdict is Verdict.INSECURE:
        assert str(1 << 20) in finding.summary
        assert finding.subject == "session core limit"


def _hardening_in_child(code_before: str, env: dict[str, str] | None = None) -> list[dict]:
    code = (
        "import json\n"
        f"{code_before}\n"
        "from ceremony.preflight.process import check_hardening\n"
        "print(json.dumps([f.to_dict() for f in check_hardening()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=30,
    )
    return json.loads(out.stdout)


def test_hardened_process_passes():
    env = dict(os.environ, TEXTUAL_LOG="/tmp/leak.log")
    findings = _hardening_in_child("import ceremony.hardening; ceremony.hardening.harden_process()", env)
    assert [f["verdict"] for f in findings] == ["pass"]
    assert "PR_GET_DUMPABLE=0" in findings[0]["evidence"]
    assert "RLIMIT_CORE soft=0 hard=0" in findings[0]["evidence"]


def test_unhardened_process_is_insecure():
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TEXTUAL")}
    env["TEXTUAL_SCREENSHOT"] = "1"
    code = (
        "import resource, ctypes\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (1 << 20, resource.RLIM_INFINITY))\n"
        "ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE 1"
    )
    findings = _hardening_in_child(code, env)
    assert {f["subject"] for f in findings} == {
        "hardening core limit",
        "hardening dumpable",
        "hardening textual environment",
    }
    assert {f["verdict"] for f in findings} == {"insecure"}
