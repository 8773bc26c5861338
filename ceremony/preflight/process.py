"""Core dumps and the tool's own process hardening (DESIGN §2: "Core dumps off").

``proc.coredump`` is about the session the ceremony runs in: the soft core-size limit of the process that
started ``ceremony`` (the operator's shell) is what every other program started there inherits. A non-zero
limit lets a crashing helper write its memory to disk: insecure. core_pattern and fs.suid_dumpable are
kept as evidence (a ``|`` pattern pipes dumps to a collector such as systemd-coredump, which honours the
limit it is passed).

``proc.hardening`` is about this process: RLIMIT_CORE 0/0 and PR_GET_DUMPABLE 0. Non-dumpable means the
kernel writes no core for us whatever core_pattern says, and other processes of the same user cannot ptrace
or read our memory. Both are set by ``ceremony.hardening.harden_process`` when the CLI starts; a failure is
a defect of the tool, reported so the minutes never claim a protection that was not there.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

from ceremony.hardening import PR_GET_DUMPABLE
from ceremony.preflight.findings import (
    LIVE,
    CheckInfo,
    Finding,
    SystemRoot,
    Unreadable,
    guarded,
    insecure,
    passed,
    read_lines,
    read_text,
)

COREDUMP = CheckInfo(
    "proc.coredump",
    "Core dumps",
    "Start the ceremony from a shell with core dumps off (`ulimit -c 0`; system-wide `* hard core 0` in "
    "/etc/security/limits.conf and `kernel.core_pattern=|/bin/false`).",
)
HARDENING = CheckInfo(
    "proc.hardening",
    "Ceremony process hardening",
    "Run ceremony through its own entry point (`ceremony ...`), which hardens the process before anything "
    "else; if this persists, the tool is defective: stop and report it.",
)


def core_limit(root: SystemRoot, pid: int) -> tuple[str, str]:
    """Soft and hard "Max core file size" of a process, from /proc/PID/limits ("unlimited" or bytes)."""
    path = root.proc / str(pid) / "limits"
    for line in read_lines(path):
        if line.startswith("Max core file size"):
            words = line[len("Max core file size") :].split()
            return words[0], words[1]
    raise Unreadable(f"{path} has no 'Max core file size' line")


@guarded(COREDUMP)
def check_coredump(root: SystemRoot = LIVE, *, session_pid: int | None = None) -> tuple[Finding, ...]:
    pid = os.getppid() if session_pid is None else session_pid
    pattern = read_text(root.proc / "sys" / "kernel" / "core_pattern").strip()
    suid = read_text(root.proc / "sys" / "fs" / "suid_dumpable").strip()
    soft, hard = core_limit(root, pid)
    evidence = (
        f"core_pattern: {pattern}",
        f"fs.suid_dumpable: {suid}",
        f"session pid {pid} Max core file size: soft {soft} hard {hard}",
    )
    if soft == "0":
        return (passed(COREDUMP, "core dumps off in this session (limit 0)", evidence),)
    summary = f"session allows core dumps of {soft} bytes to {pattern!r}"
    return (insecure(COREDUMP, "session core limit", summary, evidence),)


def dumpable_flag() -> int | None:
    """PR_GET_DUMPABLE of this process; None where prctl is not available (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    except (OSError, AttributeError):
        return None


@guarded(HARDENING)
def check_hardening(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    shown = {limit: "unlimited" if limit == resource.RLIM_INFINITY else str(limit) for limit in (soft, hard)}
    dumpable = dumpable_flag()
    textual = sorted(name for name in os.environ if name.upper().startswith("TEXTUAL"))
    evidence = (
        f"RLIMIT_CORE soft={shown[soft]} hard={shown[hard]}",
        f"PR_GET_DUMPABLE={dumpable}",
        f"TEXTUAL* variables: {', '.join(textual) or 'none'}",
    )
    findings = []
    if (soft, hard) != (0, 0):
        summary = f"this process may dump core (RLIMIT_CORE soft {shown[soft]}, hard {shown[hard]})"
        findings.append(insecure(HARDENING, "hardening core limit", summary, evidence))
    if dumpable != 0:
        summary = f"this process is dumpable (PR_GET_DUMPABLE={dumpable})"
        findings.append(insecure(HARDENING, "hardening dumpable", summary, evidence))
    if textual:
        summary = f"Textual debug variables set: {', '.join(textual)}"
        findings.append(insecure(HARDENING, "hardening textual environment", summary, evidence))
    if findings:
        return tuple(findings)
    return (passed(HARDENING, "core limit 0, non-dumpable, no TEXTUAL* variables", evidence),)
