"""What a check cannot read becomes an UNKNOWN finding with the reason, never a crash.

We run as root, so chmod 000 would not stop us: the failures are provoked with missing files, a directory
where a file is expected, and garbage content. One test drops to an unprivileged user in a child process to
see a real "permission denied".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.preflight.findings import SystemRoot, Verdict
from ceremony.preflight.memory import check_swap
from ceremony.preflight.network import check_dns, check_interfaces, check_routes
from ceremony.preflight.process import check_coredump
from ceremony.preflight.radios import check_radios
from ceremony.preflight.report import run_preflight
from ceremony.preflight.sockets import check_listening

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> SystemRoot:
    for sub in ("proc/net", "proc/sys/kernel", "proc/sys/fs", "sys/class/net", "etc"):
        (tmp_path / sub).mkdir(parents=True)
    return SystemRoot(proc=tmp_path / "proc", sys=tmp_path / "sys", etc=tmp_path / "etc")


def _only_unknown(findings, *words):
    assert [f.verdict for f in findings] == [Verdict.UNKNOWN]
    for word in words:
        assert word in findings[0].summary
    assert findings[0].summary.startswith("could not check: ")
    return findings[0]


def test_missing_route_table_is_unknown(root):
    _only_unknown(check_routes(root), "route", "does not exist")


def test_directory_instead_of_tcp_table_is_unknown(root):
    (root.proc / "net" / "tcp").mkdir()
    for name in ("udp",):
        (root.proc / "net" / name).write_text("  sl  local_address rem_address   st\n")
    findings = check_listening(root)
    tcp = [f for f in findings if "tcp" in f.summary]
    assert [f.verdict for f in tcp] == [Verdict.UNKNOWN]
    assert "is a directory" in tcp[0].summary


def test_listening_keeps_readable_tables_when_one_is_broken(root):
    (root.proc / "net" / "tcp").mkdir()
    (root.proc / "net" / "udp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "  1: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 77 2\n"
    )
    findings = check_listening(root)
    assert {(f.verdict, f.subject) for f in findings} == {
        (Verdict.INSECURE, "udp 0.0.0.0:53"),
        (Verdict.UNKNOWN, ""),
    }


def test_missing_sysfs_net_is_unknown(root):
    (root.sys / "class" / "net").rmdir()
    _only_unknown(check_interfaces(root), "cannot be listed")


def test_interface_without_flags_file_is_unknown(root):
    (root.sys / "class" / "net" / "eth9").mkdir()
    _only_unknown(check_interfaces(root), "flags", "does not exist")


def test_garbage_flags_are_unknown_not_a_crash(root):
    iface = root.sys / "class" / "net" / "eth9"
    iface.mkdir()
    (iface / "flags").write_text("not-hex\n")
    (iface / "operstate").write_text("up\n")
    (iface / "ifindex").write_text("9\n")
    _only_unknown(check_interfaces(root), "unexpected content")


def test_fake_interface_up_and_down(root):
    for name, flags, index in (("lo", "0x9", 1), ("eth9", "0x1003", 2), ("wlan9", "0x1002", 3)):
        iface = root.sys / "class" / "net" / name
        iface.mkdir()
        (iface / "flags").write_text(f"{flags}\n")
        (iface / "operstate").write_text("up\n")
        (iface / "ifindex").write_text(f"{index}\n")
    (root.proc / "net" / "if_inet6").write_text("fd000000000000000000000000000009 02 40 00 80     eth9\n")
    findings = check_interfaces(root)
    assert [(f.verdict, f.subject) for f in findings] == [(Verdict.INSECURE, "interface eth9")]
    assert "fd00::9/64" in findings[0].summary


def test_resolv_conf_directory_is_unknown(root):
    (root.etc / "resolv.conf").mkdir()
    _only_unknown(check_dns(root), "is a directory")


def test_no_resolv_conf_passes(root):
    assert [f.verdict for f in check_dns(root)] == [Verdict.PASS]
    # A dangling symlink (systemd-resolved's stub while resolved is stopped) is no resolver either.
    (root.etc / "resolv.conf").symlink_to(root.etc / "missing" / "stub-resolv.conf")
    [finding] = check_dns(root)
    assert finding.verdict is Verdict.PASS
    assert "does not exist" in finding.evidence[0]


def test_missing_swaps_is_unknown(root):
    _only_unknown(check_swap(root), "swaps", "does not exist")


def test_missing_core_pattern_is_unknown(root):
    _only_unknown(check_coredump(root, session_pid=os.getpid()), "core_pattern")


def test_rfkill_switch_missing_state_is_unknown(root):
    switch = root.sys / "class" / "rfkill" / "rfkill0"
    switch.mkdir(parents=True)
    (switch / "type").write_text("wlan\n")
    (switch / "name").write_text("phy0\n")
    _only_unknown(check_radios(root), "soft", "does not exist")


def test_rfkill_states(root):
    for n, (kind, soft, hard) in enumerate((("wlan", "0", "0"), ("bluetooth", "1", "0"), ("wwan", "0", "1"))):
        switch = root.sys / "class" / "rfkill" / f"rfkill{n}"
        switch.mkdir(parents=True)
        for name, value in (("type", kind), ("name", f"phy{n}"), ("soft", soft), ("hard", hard)):
            (switch / name).write_text(f"{value}\n")
    findings = check_radios(root)
    assert [(f.verdict, f.subject) for f in findings] == [(Verdict.INSECURE, "radio wlan phy0")]


def test_wireless_interface_without_rfkill_is_unknown(root):
    (root.sys / "class" / "net" / "wlan0" / "phy80211").mkdir(parents=True)
    _only_unknown(check_radios(root), "wlan0", "no rfkill")


def test_whole_preflight_on_an_empty_root_does_not_crash(root):
    report = run_preflight(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), root)
    by_check = {}
    for f in report.findings:
        by_check.setdefault(f.check, set()).add(f.verdict)
    for check in ("net.routes", "net.listening", "mem.swap", "proc.coredump"):
        assert by_check[check] == {Verdict.UNKNOWN}, check
    json.loads(report.to_json())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_permission_denied_is_unknown(tmp_path):
    # A real EACCES: the child drops to uid 65534 (nobody) and reads a mode-000 swaps file.
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    (proc / "swaps").chmod(0)
    tmp_path.chmod(0o755)
    code = (
        "import os, json\n"
        "from pathlib import Path\n"
        "from ceremony.preflight.findings import SystemRoot\n"
        "from ceremony.preflight.memory import check_swap\n"
        "os.setgid(65534); os.setuid(65534)  # after the imports: the venv need not be readable by nobody\n"
        f"print(json.dumps([f.to_dict() for f in check_swap(SystemRoot(proc=Path({str(proc)!r})))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=30)
    if out.returncode != 0:
        pytest.skip(f"the unprivileged child could not run: {out.stderr.strip()[-200:]}")
    [finding] = json.loads(out.stdout)
    assert finding["verdict"] == "unknown"
    assert "permission denied" in finding["summary"]
