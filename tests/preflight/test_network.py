"""Interfaces, routes and DNS against the real kernel: this host, and throw-away network namespaces."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ceremony.preflight.findings import Verdict
from ceremony.preflight.network import (
    check_interfaces,
    check_routes,
    ipv4_addresses_by_index,
    read_interfaces,
)

needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="the ip tool (iproute2) is not installed")


@needs_ip
def test_host_interfaces_agree_with_ip_link():
    # Oracle: iproute2's own view of which links are administratively up (flag UP), minus loopback.
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    expected = set()
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        flags = line.split("<")[1].split(">")[0].split(",")
        if "UP" in flags and "LOOPBACK" not in flags:
            expected.add(f"interface {name}")
    findings = check_interfaces()
    found = {f.subject for f in findings if f.verdict is Verdict.INSECURE}
    assert found == expected
    if not expected:
        assert [f.verdict for f in findings] == [Verdict.PASS]


@needs_ip
def test_host_ipv4_addresses_agree_with_ip_addr():
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    expected = {(line.split()[1], line.split()[3]) for line in out.splitlines()}
    interfaces, _ = read_interfaces()
    by_index = ipv4_addresses_by_index()
    names = {i.index: i.name for i in interfaces}
    got = {(names[index], address) for index, addresses in by_index.items() for address in addresses}
    assert got == expected


@needs_ip
def _ip_default_routes(family: str, prefix: str) -> set[str]:
    out = subprocess.run(["ip", family, "route", "show", "default"], capture_output=True, text=True).stdout
    subjects = set()
    for line in out.splitlines():
        words = line.split()
        if words[:1] != ["default"]:
            continue  # "unreachable default ...": a reject route, routes nothing
        dev = words[words.index("dev") + 1]
        via = f"via {words[words.index('via') + 1]} " if "via" in words else ""
        subjects.add(f"{prefix} default {via}dev {dev}")
    return subjects


@needs_ip
def test_host_default_routes_agree_with_ip_route():
    expected = _ip_default_routes("-4", "route") | _ip_default_routes("-6", "route6")
    findings = check_routes()
    assert {f.subject for f in findings if f.verdict is Verdict.INSECURE} == expected


def test_default_route_without_gateway_in_namespace(veth):
    netns, inner = veth
    netns.ip("link", "set", inner, "up")
    netns.ip("route", "add", "default", "dev", inner)
    subjects = [f["subject"] for f in netns.findings("check_routes()")]
    assert f"route default dev {inner}" in subjects


def test_clean_namespace_passes_interfaces_routes_and_dns(netns):
    netns.resolv_conf("nameserver 192.0.2.53\n")
    netns.ip("link", "set", "lo", "up")  # loopback up is fine
    interfaces = netns.findings("check_interfaces()")
    assert [f["verdict"] for f in interfaces] == ["pass"]
    assert "lo flags=" in "\n".join(interfaces[0]["evidence"])
    assert [f["verdict"] for f in netns.findings("check_routes()")] == ["pass"]
    dns = netns.findings("check_dns()")
    # A resolver with no interface up cannot be reached: recorded, but not insecure.
    assert [f["verdict"] for f in dns] == ["pass"]
    assert "unreachable" in dns[0]["summary"]
    assert "resolv.conf: nameserver 192.0.2.53" in dns[0]["evidence"]


def test_interface_up_in_namespace_is_insecure_with_its_addresses(veth):
    netns, inner = veth
    netns.ip("addr", "add", "10.213.7.2/24", "dev", inner)
    netns.ip("-6", "addr", "add", "fd00:db8:77::2/64", "dev", inner, "nodad")
    # The outer end stays down: no carrier. Administratively up is enough to be insecure.
    netns.ip("link", "set", inner, "up")
    findings = netns.findings("check_interfaces()")
    assert [(f["verdict"], f["subject"]) for f in findings] == [("insecure", f"interface {inner}")]
    assert "10.213.7.2/24" in findings[0]["summary"]
    assert "fd00:db8:77::2/64" in findings[0]["summary"]
    assert any(line.split()[1] == inner for line in findings[0]["evidence"])


def test_interface_down_in_namespace_passes(veth):
    netns, inner = veth
    netns.ip("addr", "add", "10.213.8.2/24", "dev", inner)
    findings = netns.findings("check_interfaces()")
    assert [f["verdict"] for f in findings] == ["pass"]
    assert any(inner in line and "10.213.8.2/24" in line for line in findings[0]["evidence"])


def test_default_routes_and_reachable_resolver_in_namespace(veth):
    netns, inner = veth
    netns.resolv_conf("# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n")
    netns.ip("addr", "add", "10.213.9.2/24", "dev", inner)
    netns.ip("-6", "addr", "add", "fd00:db8:99::2/64", "dev", inner, "nodad")
    netns.ip("link", "set", inner, "up")
    netns.ip("route", "add", "default", "via", "10.213.9.1", "dev", inner, "onlink")
    netns.ip("-6", "route", "add", "default", "via", "fd00:db8:99::1", "dev", inner, "onlink")
    routes = netns.findings("check_routes()")
    assert sorted(f["subject"] for f in routes) == [
        f"route default via 10.213.9.1 dev {inner}",
        f"route6 default via fd00:db8:99::1 dev {inner}",
    ]
    assert {f["verdict"] for f in routes} == {"insecure"}
    dns = netns.findings("check_dns()")
    assert [(f["verdict"], f["subject"]) for f in dns] == [
        ("insecure", "dns 192.0.2.53"),
        ("insecure", "dns 2001:db8::53"),
    ]
    assert inner in dns[0]["summary"]


def test_wildcard_listener_in_namespace_is_open_to_the_network(netns):
    code = (
        "import json, socket, os\n"
        "from ceremony.preflight.sockets import check_listening\n"
        "s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen()\n"
        "port = s.getsockname()[1]\n"
        "print(json.dumps({'port': port, 'pid': os.getpid(),"
        " 'findings': [f.to_dict() for f in check_listening()]}))\n"
    )
    result = netns.python(code)
    assert isinstance(result, dict)
    [finding] = result["findings"]  # a new namespace has no other listener
    assert finding["subject"] == f"tcp 0.0.0.0:{result['port']}"
    assert finding["verdict"] == "insecure"
    assert "open to the network" in finding["summary"]
    assert f"pid {result['pid']} (" in finding["summary"]


def test_empty_namespace_has_no_listener(netns):
    assert [f["verdict"] for f in netns.findings("check_listening()")] == ["pass"]


def test_unreachable_default_routes_lead_nowhere_and_pass(netns):
    # `ip route add unreachable default` is a reject route (RTF_UP|RTF_REJECT): it routes nothing.
    netns.ip("link", "set", "lo", "up")
    netns.ip("route", "add", "unreachable", "default")
    findings = netns.findings("check_routes()")
    assert [f["verdict"] for f in findings] == ["pass"]
    assert any("\t0201\t" in line for line in findings[0]["evidence"])
