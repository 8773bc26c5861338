"""Listening sockets against the real kernel: sockets this test opens must be found, with our pid."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from ceremony.preflight.findings import Verdict
from ceremony.preflight.sockets import check_listening, parse_table


def _ours(subject: str):
    matches = [f for f in check_listening() if f.subject == subject]
    assert len(matches) == 1, f"{subject} not found exactly once"
    return matches[0]


def test_tcp_listener_on_loopback_is_found_with_our_pid():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        finding = _ours(f"tcp 127.0.0.1:{port}")
    comm = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert finding.verdict is Verdict.INSECURE
    assert finding.check == "net.listening"
    assert f"pid {os.getpid()} ({comm})" in finding.summary
    assert "loopback only" in finding.summary
    assert "1.2.6" in finding.remedy  # loopback listeners are exceptable, and the remedy says how
    # The raw /proc/net/tcp line is kept: local address 0100007F:<port hex>, state 0A (LISTEN).
    assert any(f"0100007F:{port:04X}" in line and " 0A " in line for line in finding.evidence)
    # Closed, it is gone.
    assert not [f for f in check_listening() if f.subject == f"tcp 127.0.0.1:{port}"]


def test_bound_udp_socket_on_loopback_is_found_with_our_pid():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        finding = _ours(f"udp 127.0.0.1:{port}")
    assert finding.verdict is Verdict.INSECURE
    assert f"pid {os.getpid()} (" in finding.summary


def test_connected_tcp_client_is_not_a_listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            client_port = client.getsockname()[1]
            subjects = {f.subject for f in check_listening()}
    assert f"tcp 127.0.0.1:{port}" in subjects
    assert f"tcp 127.0.0.1:{client_port}" not in subjects


def test_ipv6_loopback_listener_is_found():
    if not socket.has_ipv6 or not Path("/proc/net/tcp6").exists():
        pytest.skip("IPv6 is not available in this kernel")
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
        try:
            server.bind(("::1", 0))
        except OSError as exc:
            pytest.skip(f"no IPv6 loopback address: {exc}")
        server.listen()
        port = server.getsockname()[1]
        finding = _ours(f"tcp [::1]:{port}")
    assert "loopback only" in finding.summary


def test_ipv4_mapped_loopback_counts_as_loopback():
    if not socket.has_ipv6 or not Path("/proc/net/tcp6").exists():
        pytest.skip("IPv6 is not available in this kernel")
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        server.bind(("::ffff:127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        finding = _ours(f"tcp [::ffff:127.0.0.1]:{port}")
    assert "loopback only" in finding.summary


def test_parse_table_reads_kernel_byte_order():
    # A tcp line as x86 prints it: address 0100007F is 127.0.0.1 (host-order u32), port 1F90 is 8080.
    if sys.byteorder != "little":
        pytest.skip("the sample line is little-endian")
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1\n"
        "   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1\n"
    )
    [sock] = parse_table(text, "tcp")  # the second line is an established connection, not a listener
    assert (sock.subject, sock.uid, sock.inode, sock.is_loopback) == ("tcp 127.0.0.1:8080", 1000, 4242, True)
