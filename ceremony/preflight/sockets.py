"""Listening sockets: TCP in LISTEN and bound UDP, IPv4 and IPv6, with the owning process where visible.

Verdicts (PCI DSS 1.2.6: every service, protocol and port in use is identified and justified):

- a socket bound to any non-loopback address (including the wildcards 0.0.0.0 and ::) is a service the
  network could reach: insecure, and it should be stopped rather than excepted;
- a socket bound to loopback only cannot be reached from outside, but any local process can talk to it
  (a debug server, a print spooler, a desktop agent). On a ceremony laptop nothing should be listening at
  all, so it is insecure too; an exception with a justification is the expected way to accept one.

Each socket is its own finding; its subject ("tcp 127.0.0.1:631", "udp [::]:5353") is what an exception
covers. The owner comes from matching the socket inode against /proc/PID/fd links; processes in another
PID namespace or of another user (when not root) stay unnamed.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass

from ceremony.preflight.findings import (
    LIVE,
    CheckInfo,
    Finding,
    SystemRoot,
    Unreadable,
    clip,
    guarded,
    insecure,
    passed,
    read_text,
    unknown,
)

LISTENING = CheckInfo(
    "net.listening",
    "Listening sockets",
    "Stop and disable the service that owns the socket (`systemctl disable --now UNIT`) or uninstall it.",
)
LOOPBACK_REMEDY = (
    "Stop the service that owns the socket; if the ceremony needs it, a security officer records an "
    "exception with its business justification and compensating controls (PCI DSS 1.2.6)."
)

TCP_LISTEN = "0A"
TABLES = (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp"))


@dataclass(frozen=True)
class ListeningSocket:
    protocol: str  # "tcp" or "udp"
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    inode: int
    uid: int
    line: str

    @property
    def is_loopback(self) -> bool:
        if isinstance(self.address, ipaddress.IPv6Address) and self.address.ipv4_mapped is not None:
            return self.address.ipv4_mapped.is_loopback
        return self.address.is_loopback

    @property
    def endpoint(self) -> str:
        if isinstance(self.address, ipaddress.IPv6Address):
            mapped = self.address.ipv4_mapped
            # Spelled out here: Python versions differ in how str() shows a mapped address, and an
            # exception's subject must keep matching after an upgrade.
            shown = f"::ffff:{mapped}" if mapped is not None else str(self.address)
            return f"[{shown}]:{self.port}"
        return f"{self.address}:{self.port}"

    @property
    def subject(self) -> str:
        return f"{self.protocol} {self.endpoint}"


def _address(word: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/{tcp,udp}[6] print addresses as 32-bit words, each in host byte order."""
    raw = bytes.fromhex(word)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.IPv4Address(raw) if len(raw) == 4 else ipaddress.IPv6Address(raw)


def parse_table(text: str, protocol: str) -> list[ListeningSocket]:
    """The listening (TCP) or bound (UDP) sockets of one /proc/net table."""
    found = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        host, port_hex = parts[1].split(":")
        state, uid, inode = parts[3], int(parts[7]), int(parts[9])
        port = int(port_hex, 16)
        if protocol == "tcp" and state != TCP_LISTEN:
            continue
        if protocol == "udp" and port == 0:
            continue
        found.append(ListeningSocket(protocol, _address(host), port, inode, uid, line.strip()))
    return found


def socket_owners(root: SystemRoot, inodes: set[int]) -> dict[int, list[str]]:
    """Map socket inode -> ["pid 123 (comm)", ...] by reading /proc/*/fd links that can be read."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, list[str]] = {}
    if not wanted:
        return owners
    try:
        pids = [name for name in os.listdir(root.proc) if name.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = root.proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to read
        hits: set[int] = set()
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target in wanted:
                hits.add(wanted[target])
        if not hits:
            continue
        try:
            comm = read_text(root.proc / pid / "comm").strip()
        except Unreadable:
            comm = "?"
        for inode in hits:
            owners.setdefault(inode, []).append(f"pid {pid} ({comm})")
    return owners


def read_listening(root: SystemRoot = LIVE) -> tuple[list[ListeningSocket], list[str]]:
    """Every listening socket from the readable tables, and a reason for each table that could not be read.

    tcp6/udp6 are absent when IPv6 is disabled; that is not a failure.
    """
    sockets: list[ListeningSocket] = []
    problems: list[str] = []
    for table, protocol in TABLES:
        path = root.proc / "net" / table
        if table.endswith("6") and not path.exists():
            continue
        try:
            sockets += parse_table(read_text(path), protocol)
        except Unreadable as exc:
            problems.append(str(exc))
        except ValueError as exc:
            problems.append(f"{path} has unexpected content ({exc})")
    return sockets, problems


@guarded(LISTENING)
def check_listening(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    sockets, problems = read_listening(root)
    owners = socket_owners(root, {s.inode for s in sockets})
    by_subject: dict[str, list[ListeningSocket]] = {}
    for s in sockets:
        by_subject.setdefault(s.subject, []).append(s)  # SO_REUSEPORT: several sockets, one endpoint
    findings: list[Finding] = []
    for subject, group in sorted(by_subject.items()):
        first = group[0]
        names = sorted({o for s in group for o in owners.get(s.inode, [])})
        who = ", ".join(names) if names else "owner not visible (other PID namespace or user)"
        evidence = tuple(s.line for s in group) + tuple(f"inode {s.inode} uid {s.uid}: {who}" for s in group)
        if first.is_loopback:
            summary = f"{subject} on loopback only; {who}"
            findings.append(insecure(LISTENING, subject, summary, evidence, LOOPBACK_REMEDY))
        else:
            summary = f"{subject} open to the network; {who}"
            findings.append(insecure(LISTENING, subject, summary, evidence))
    findings += [unknown(LISTENING, problem) for problem in problems]
    if not findings:
        return (passed(LISTENING, "no listening TCP or bound UDP socket", clip([])),)
    return tuple(findings)
