"""Shared helpers for the preflight tests: a throw-away network namespace, and code run inside it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Namespace:
    name: str

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.name, "ip", *args], check=True, capture_output=True)

    def resolv_conf(self, text: str) -> None:
        """What `ip netns exec` will show inside as /etc/resolv.conf (removed with the namespace)."""
        folder = Path("/etc/netns") / self.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text(text)

    def python(self, code: str) -> object:
        """Run ``code`` in the namespace with the package importable; it prints JSON, which is returned."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.name, sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=30,
        )
        return json.loads(out.stdout)

    def findings(self, call: str) -> list[dict]:
        """Run ``call`` (e.g. "check_interfaces()") in the namespace; returns the finding dicts."""
        code = (
            "import json\n"
            "from ceremony.preflight.network import check_interfaces, check_routes, check_dns\n"
            "from ceremony.preflight.sockets import check_listening\n"
            f"print(json.dumps([f.to_dict() for f in {call}]))\n"
        )
        result = self.python(code)
        assert isinstance(result, list)
        return result


def _why_no_netns() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip tool (iproute2) is not installed"
    return None


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A fresh network namespace (only a down loopback), deleted afterwards with everything in it.

    /etc/netns/NAME/resolv.conf, when a test writes it, is what `ip netns exec` shows as /etc/resolv.conf.
    """
    reason = _why_no_netns()
    if reason:
        pytest.skip(reason)
    name = f"pft{secrets.token_hex(4)}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        yield Namespace(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)


@pytest.fixture
def veth(netns: Namespace) -> Iterator[tuple[Namespace, str]]:
    """``netns`` plus one end of a veth pair moved into it (down, no address); the other end stays here."""
    outer, inner = f"{netns.name}a", f"{netns.name}b"
    made = subprocess.run(
        ["ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", netns.name],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot create a veth pair: {made.stderr.strip()}")
    try:
        yield netns, inner
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True)
