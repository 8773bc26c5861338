"""Swap: memory pages written to disk can carry key material past the ceremony (DESIGN §2, PCI DSS 3.6.1).

Each active swap area is classified:
- on dm-crypt (its block device, or one it is stacked on, has a device-mapper uuid starting ``CRYPT-``,
  as LUKS and plain dm-crypt set it; LVM on LUKS is found through ``slaves/``): pass;
- zram (compressed RAM, never written to a disk): pass;
- anything else: insecure, one finding per swap area;
- a swap area whose device cannot be traced (e.g. a swap file on btrfs, whose st_dev is anonymous): unknown.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    unknown,
)

SWAP = CheckInfo(
    "mem.swap",
    "Swap",
    "Turn swap off for the ceremony (`swapoff -a`), or put swap on dm-crypt with a random key "
    "(crypttab `swap` option) so nothing written survives a reboot.",
)


def _unescape(field: str) -> str:
    # /proc/swaps escapes space, tab, newline and backslash in paths as octal (\040 ...).
    return field.encode("latin-1").decode("unicode_escape")


def is_dm_crypt(device_dir: Path, depth: int = 0) -> bool:
    """Is this sysfs block device dm-crypt, or stacked (LVM, RAID) on top of one?"""
    if depth > 8:
        return False
    uuid_file = device_dir / "dm" / "uuid"
    if uuid_file.exists() and read_text(uuid_file).strip().startswith("CRYPT-"):
        return True
    slaves = device_dir / "slaves"
    try:
        lower = sorted(os.listdir(slaves))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise Unreadable(f"{slaves} cannot be listed ({exc.strerror})") from None
    return bool(lower) and all(is_dm_crypt((slaves / name).resolve(), depth + 1) for name in lower)


def _device_dir(root: SystemRoot, path: str, kind: str) -> Path:
    info = os.stat(path)
    dev = info.st_rdev if kind == "partition" else info.st_dev
    major, minor = os.major(dev), os.minor(dev)
    if major == 0:
        raise Unreadable(f"{path} lives on an anonymous device {major}:{minor} (btrfs, overlay...)")
    device_dir = root.sys / "dev" / "block" / f"{major}:{minor}"
    if not device_dir.exists():
        raise Unreadable(f"{device_dir} does not exist for swap {path}")
    return device_dir.resolve()


@guarded(SWAP)
def check_swap(root: SystemRoot = LIVE) -> tuple[Finding, ...]:
    lines = read_lines(root.proc / "swaps")
    if not lines or not lines[0].startswith("Filename"):
        raise Unreadable(f"{root.proc / 'swaps'} has no header line")
    findings: list[Finding] = []
    safe: list[str] = []
    for line in lines[1:]:
        parts = line.split()
        if len(parts) < 2:
            continue
        path, kind = _unescape(parts[0]), parts[1]
        if Path(path).name.startswith("zram"):
            safe.append(f"{line}  [zram: compressed RAM, not disk]")
            continue
        try:
            encrypted = is_dm_crypt(_device_dir(root, path, kind))
        except (Unreadable, OSError) as exc:
            findings.append(unknown(SWAP, f"swap {path}: {exc}", (line,)))
            continue
        if encrypted:
            safe.append(f"{line}  [dm-crypt]")
        else:
            summary = f"swap {kind} {path} is not encrypted"
            findings.append(insecure(SWAP, f"swap {path}", summary, (line,)))
    if findings:
        return tuple(findings)
    if not safe:
        return (passed(SWAP, "no swap in use", tuple(lines)),)
    return (passed(SWAP, f"{len(safe)} swap area(s), all encrypted or in RAM", (lines[0], *safe)),)
