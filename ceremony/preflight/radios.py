"""Wireless and bluetooth radios (DESIGN §4.1).

A radio that rfkill does not block (neither soft nor hard) can associate or pair at any moment, with no cable
to pull: each such radio is insecure. A wireless interface or bluetooth adapter with no rfkill switch at all
cannot be shown to be off: unknown. No rfkill switch, no wireless interface and no bluetooth adapter: pass.
"""

from __future__ import annotations

import os

from ceremony.preflight.findings import (
    LIVE,
    CheckInfo,
    Finding,
    SystemRoot,
    guarded,
    insecure,
    passed,
    read_text,
    unknown,
)

RADIOS = CheckInfo(
    "radio.rfkill",
    "Wireless and bluetooth radios",
    "Block the radio (`rfkill block all`), or better switch it off in firmware or remove the card.",
)


def _listdir(path: os.PathLike[str]) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


@guarded(RADIOS)
def check_radios(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    evidence: list[str] = []
    findings: list[Finding] = []
    switches = _listdir(root.sys / "class" / "rfkill")
    for switch in switches:
        base = root.sys / "class" / "rfkill" / switch
        kind = read_text(base / "type").strip()
        name = read_text(base / "name").strip()
        soft = read_text(base / "soft").strip()
        hard = read_text(base / "hard").strip()
        line = f"{switch} type={kind} name={name} soft={soft} hard={hard}"
        evidence.append(line)
        if soft == "0" and hard == "0":
            findings.append(
                insecure(RADIOS, f"radio {kind} {name}", f"{kind} radio {name} is not blocked", (line,))
            )
    # Radios rfkill does not know about: wireless interfaces (wireless/ or phy80211/ in sysfs) and
    # bluetooth adapters, when no rfkill switch at all is present.
    wireless = [
        name
        for name in _listdir(root.sys / "class" / "net")
        if (root.sys / "class" / "net" / name / "wireless").exists()
        or (root.sys / "class" / "net" / name / "phy80211").exists()
    ]
    bluetooth = _listdir(root.sys / "class" / "bluetooth")
    evidence += [f"wireless interface {name}" for name in wireless]
    evidence += [f"bluetooth adapter {name}" for name in bluetooth]
    if not switches and (wireless or bluetooth):
        found = ", ".join(wireless + bluetooth)
        return (
            unknown(
                RADIOS, f"radios present ({found}) but no rfkill switch to show them blocked", tuple(evidence)
            ),
        )
    if findings:
        return tuple(findings)
    if not switches:
        return (passed(RADIOS, "no radio: no rfkill switch, wifi or bluetooth device"),)
    return (passed(RADIOS, f"all {len(switches)} radio(s) blocked", tuple(evidence)),)
