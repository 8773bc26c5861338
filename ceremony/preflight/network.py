"""Network checks: interfaces up, default routes, DNS resolvers (DESIGN §4.1, PCI DSS 1.2.6 / 2.2.3).

What counts as insecure on an air-gapped ceremony laptop, and why:

- ``net.interfaces``: any interface other than loopback that is administratively up (IFF_UP), whatever its
  carrier: an up interface is one cable, dongle or radio association away from traffic. Its addresses are
  listed as evidence. Loopback (IFF_LOOPBACK) never leaves the machine and passes.
- ``net.routes``: any default route (IPv4 or IPv6), since it names a way off the machine. Reject/unreachable
  routes (RTF_REJECT, e.g. `ip route add unreachable default`) route nothing and are ignored. Only the
  main routing table is read (/proc/net/route, /proc/net/ipv6_route); policy-routing tables are not.
- ``net.dns``: a configured resolver is insecure only while some non-loopback interface is up. A
  ``nameserver`` line by itself sends nothing; with every interface down no lookup can leave the laptop,
  and that is what ``net.interfaces`` already proves. With an interface up, every resolver is a path on which
  names (and timing) leak, so each one is its own finding and needs its own exception.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
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
    read_lines,
    read_text,
    unknown,
)

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
RTF_UP = 0x0001
RTF_REJECT = 0x0200

INTERFACES = CheckInfo(
    "net.interfaces",
    "Network interfaces up",
    "Bring the interface down (`ip link set dev NAME down`), unplug the cable or remove the adapter; "
    "better, use a laptop whose network hardware is removed or disabled in firmware.",
)
ROUTES = CheckInfo(
    "net.routes",
    "Default routes",
    "Remove the default route (`ip route del default`) and stop whatever configures it (NetworkManager, "
    "dhclient, systemd-networkd).",
)
DNS = CheckInfo(
    "net.dns",
    "DNS resolvers",
    "Bring every non-loopback interface down; on the ceremony laptop also empty /etc/resolv.conf.",
)


@dataclass(frozen=True)
class Interface:
    name: str
    index: int
    flags: int
    operstate: str
    addresses: tuple[str, ...]

    @property
    def is_up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def is_loopback(self) -> bool:
        return bool(self.flags & IFF_LOOPBACK)


# --- IPv4 addresses over rtnetlink ----------------------------------------------------------------------
# /proc has no per-interface IPv4 address list (only IPv6, in /proc/net/if_inet6), so IPv4 addresses are
# asked of the kernel over an rtnetlink socket, as `ip addr` does. This sends nothing on any network.
_NLMSG_HDR = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")
_RTM_NEWADDR, _RTM_GETADDR = 20, 22
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_IFA_ADDRESS, _IFA_LOCAL = 1, 2


def _align4(n: int) -> int:
    return (n + 3) & ~3


def ipv4_addresses_by_index() -> dict[int, list[str]]:
    """Every IPv4 address of the current network namespace, as "a.b.c.d/len", keyed by interface index."""
    found: dict[int, list[str]] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as nl:
        nl.settimeout(2.0)
        nl.bind((0, 0))
        body = _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)
        header = _NLMSG_HDR.pack(
            _NLMSG_HDR.size + len(body), _RTM_GETADDR, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0
        )
        nl.sendto(header + body, (0, 0))
        while True:
            data = nl.recv(65536)
            offset = 0
            while offset + _NLMSG_HDR.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSG_HDR.unpack_from(data, offset)
                if length < _NLMSG_HDR.size:
                    raise OSError("malformed netlink reply")
                if kind == _NLMSG_DONE:
                    return found
                if kind == _NLMSG_ERROR:
                    raise OSError("netlink refused the address dump")
                if kind == _RTM_NEWADDR:
                    family, prefix, _f, _scope, index = _IFADDRMSG.unpack_from(data, offset + _NLMSG_HDR.size)
                    attrs: dict[int, bytes] = {}
                    pos = offset + _NLMSG_HDR.size + _IFADDRMSG.size
                    end = offset + length
                    while pos + _RTATTR.size <= end:
                        rta_len, rta_type = _RTATTR.unpack_from(data, pos)
                        if rta_len < _RTATTR.size:
                            break
                        attrs[rta_type] = data[pos + _RTATTR.size : pos + rta_len]
                        pos += _align4(rta_len)
                    raw = attrs.get(_IFA_LOCAL, attrs.get(_IFA_ADDRESS))
                    if family == socket.AF_INET and raw is not None and len(raw) == 4:
                        found.setdefault(index, []).append(f"{ipaddress.IPv4Address(raw)}/{prefix}")
                offset += _align4(length)


def _ipv6_addresses(root: SystemRoot) -> tuple[dict[str, list[str]], list[str]]:
    """IPv6 addresses from /proc/net/if_inet6 (absent when IPv6 is disabled: no addresses, not an error)."""
    path = root.proc / "net" / "if_inet6"
    if not path.exists():
        return {}, [f"{path}: absent (IPv6 disabled)"]
    lines = read_lines(path)
    found: dict[str, list[str]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 6:
            continue
        address = ipaddress.IPv6Address(bytes.fromhex(parts[0]))
        found.setdefault(parts[5], []).append(f"{address}/{int(parts[2], 16)}")
    return found, [f"if_inet6: {line.strip()}" for line in lines]


def read_interfaces(
    root: SystemRoot = LIVE, *, netlink: bool | None = None
) -> tuple[list[Interface], list[str]]:
    """Every interface of the current network namespace with flags, state and addresses, plus evidence.

    ``netlink`` (IPv4 addresses from the kernel) defaults to on only for the live system: a test root
    describes another machine, whose IPv4 addresses netlink cannot know.
    """
    use_netlink = (root == LIVE) if netlink is None else netlink
    net_dir = root.sys / "class" / "net"
    try:
        names = sorted(os.listdir(net_dir))
    except OSError as exc:
        raise Unreadable(f"{net_dir} cannot be listed ({exc.strerror or type(exc).__name__})") from None
    evidence: list[str] = []
    v6, v6_evidence = _ipv6_addresses(root)
    v4: dict[int, list[str]] = {}
    if use_netlink:
        try:
            v4 = ipv4_addresses_by_index()
        except OSError as exc:
            evidence.append(f"IPv4 addresses not available over netlink: {exc}")
    interfaces: list[Interface] = []
    for name in names:
        base = net_dir / name
        try:
            flags = int(read_text(base / "flags").strip(), 16)
            operstate = read_text(base / "operstate").strip()
            index = int(read_text(base / "ifindex").strip())
        except Unreadable:
            if not os.path.lexists(base):
                continue  # removed while we looked (a hot-unplugged adapter): not there any more
            raise
        addresses = tuple(v4.get(index, [])) + tuple(v6.get(name, []))
        interfaces.append(Interface(name, index, flags, operstate, addresses))
        shown = " ".join(addresses) if addresses else "no address"
        evidence.append(f"{index}: {name} flags={flags:#x} operstate={operstate} {shown}")
    return interfaces, evidence + v6_evidence


def _mentions(line: str, name: str) -> bool:
    """Is this evidence line about interface ``name`` (its sysfs line or one of its if_inet6 lines)?"""
    words = line.split()
    if line.startswith("if_inet6:"):
        return words[-1] == name
    return len(words) > 1 and words[1] == name


@guarded(INTERFACES)
def check_interfaces(root: SystemRoot = LIVE, *, netlink: bool | None = None) -> tuple[Finding, ...]:
    interfaces, evidence = read_interfaces(root, netlink=netlink)
    up = [i for i in interfaces if i.is_up and not i.is_loopback]
    if not up:
        return (passed(INTERFACES, "no interface other than loopback is up", clip(evidence)),)
    return tuple(
        insecure(
            INTERFACES,
            f"interface {i.name}",
            f"{i.name} up, link {i.operstate}: {', '.join(i.addresses) or 'no address'}",
            clip([line for line in evidence if _mentions(line, i.name)]),
        )
        for i in up
    )


def _hex_ipv4(word: str) -> ipaddress.IPv4Address:
    """/proc/net/route prints addresses as a u32 in host byte order."""
    raw = bytes.fromhex(word)
    return ipaddress.IPv4Address(raw[::-1] if sys.byteorder == "little" else raw)


@guarded(ROUTES)
def check_routes(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    evidence: list[str] = []
    v4_lines = read_lines(root.proc / "net" / "route")
    evidence += [f"route: {line.rstrip()}" for line in v4_lines]
    for line in v4_lines[1:]:
        parts = line.split()
        if len(parts) < 8:
            continue
        iface, dest, gateway, flags, mask = parts[0], parts[1], parts[2], int(parts[3], 16), parts[7]
        if dest == "00000000" and mask == "00000000" and flags & RTF_UP and not flags & RTF_REJECT:
            via = _hex_ipv4(gateway)
            path = f"via {via} dev {iface}" if int(via) else f"dev {iface}"  # no gateway: point-to-point
            subject = f"route default {path}"
            summary = f"IPv4 default route {path}"
            findings.append(insecure(ROUTES, subject, summary, (line.rstrip(),)))
    v6_path = root.proc / "net" / "ipv6_route"
    if v6_path.exists():
        v6_lines = read_lines(v6_path)
        evidence += [f"ipv6_route: {line.rstrip()}" for line in v6_lines]
        for line in v6_lines:
            parts = line.split()
            if len(parts) < 10:
                continue
            dest, plen, hop, flags, iface = parts[0], int(parts[1], 16), parts[4], int(parts[8], 16), parts[9]
            if int(dest, 16) == 0 and plen == 0 and flags & RTF_UP and not flags & RTF_REJECT:
                via6 = ipaddress.IPv6Address(bytes.fromhex(hop))
                path = f"via {via6} dev {iface}" if int(via6) else f"dev {iface}"
                findings.append(
                    insecure(ROUTES, f"route6 default {path}", f"IPv6 default route {path}", (line,))
                )
    else:
        evidence.append(f"{v6_path}: absent (IPv6 disabled)")
    if findings:
        return tuple(findings)
    return (passed(ROUTES, "no default route", clip(evidence)),)


def read_resolvers(root: SystemRoot = LIVE) -> tuple[list[str], list[str]]:
    """Nameservers from resolv.conf, and the lines read. No resolv.conf means no resolver."""
    path = root.etc / "resolv.conf"
    if not path.exists():
        if path.is_symlink():  # e.g. to systemd-resolved's stub file while resolved is stopped
            return [], [f"{path}: symlink to {os.readlink(path)}, which does not exist"]
        return [], [f"{path}: absent"]
    lines = read_lines(path)
    servers = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
    return servers, [
        f"resolv.conf: {line}" for line in lines if line.strip() and not line.startswith(("#", ";"))
    ]


@guarded(DNS)
def check_dns(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    try:
        servers, evidence = read_resolvers(root)
    except Unreadable as exc:
        return (unknown(DNS, str(exc)),)
    if not servers:
        return (passed(DNS, "no resolver configured", tuple(evidence)),)
    try:
        interfaces, _ = read_interfaces(root, netlink=False)
    except (Unreadable, OSError, ValueError) as exc:
        return (unknown(DNS, f"{len(servers)} resolver(s) configured; interface state unknown: {exc}"),)
    up = [i.name for i in interfaces if i.is_up and not i.is_loopback]
    if not up:
        return (
            passed(
                DNS,
                f"{len(servers)} resolver(s) configured, unreachable: no interface up",
                tuple(evidence),
            ),
        )
    reach = f"reachable while {', '.join(up)} is up"
    return tuple(
        insecure(DNS, f"dns {server}", f"resolver {server} configured, {reach}", tuple(evidence))
        for server in servers
    )
