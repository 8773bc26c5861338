"""The list of preflight checks, in the order the table and the minutes show them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ceremony.preflight.findings import Finding, SystemRoot
from ceremony.preflight.integrity import INTEGRITY, check_integrity
from ceremony.preflight.memory import SWAP, check_swap
from ceremony.preflight.network import DNS, INTERFACES, ROUTES, check_dns, check_interfaces, check_routes
from ceremony.preflight.process import COREDUMP, HARDENING, check_coredump, check_hardening
from ceremony.preflight.radios import RADIOS, check_radios
from ceremony.preflight.sockets import LISTENING, check_listening


@dataclass(frozen=True)
class Check:
    check: str
    title: str
    run: Callable[[SystemRoot], tuple[Finding, ...]]


CHECKS: tuple[Check, ...] = (
    Check(INTERFACES.check, INTERFACES.title, check_interfaces),
    Check(LISTENING.check, LISTENING.title, check_listening),
    Check(ROUTES.check, ROUTES.title, check_routes),
    Check(DNS.check, DNS.title, check_dns),
    Check(RADIOS.check, RADIOS.title, check_radios),
    Check(SWAP.check, SWAP.title, check_swap),
    Check(COREDUMP.check, COREDUMP.title, check_coredump),
    Check(HARDENING.check, HARDENING.title, check_hardening),
    # integrity is run by run_preflight itself, which needs the manifest's aggregate for the report
    Check(INTEGRITY.check, INTEGRITY.title, lambda _root: check_integrity()),
)

CHECK_IDS: tuple[str, ...] = tuple(c.check for c in CHECKS)
