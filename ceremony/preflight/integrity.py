"""Which code ran: SHA-256 of every file of the installed ``ceremony`` package, and one aggregate.

The aggregate is the SHA-256 of the manifest text: one line ``<hex sha256>  <path>\\n`` per file, paths
relative to the directory holding the package (``ceremony/cli.py``), sorted by their UTF-8 bytes, with
``__pycache__`` left out (bytecode is derived and differs per Python). That is exactly what ``sha256sum``
prints, so an auditor can recompute it on another machine:

    cd <site-packages or checkout> && find ceremony -type f -not -path '*/__pycache__/*' | LC_ALL=C sort \\
        | xargs sha256sum | sha256sum

When the package was installed from a wheel, the installer's RECORD holds a SHA-256 per file: any file
that differs from it, or is missing, is insecure (code changed after installation). A file on disk the
RECORD does not list is insecure too (code added). A source or editable install has no RECORD hashes to
compare; the manifest alone is then the evidence.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import ceremony
from ceremony.preflight.findings import CheckInfo, Finding, Unreadable, guarded, insecure, passed

INTEGRITY = CheckInfo(
    "code.integrity",
    "Ceremony code integrity",
    "Reinstall ceremony from the approved, hash-checked wheelhouse and run the preflight again.",
)


@dataclass(frozen=True)
class CodeManifest:
    """SHA-256 per package file (path relative to the package's parent) and the aggregate over them."""

    files: tuple[tuple[str, str], ...]
    aggregate: str

    def lines(self) -> tuple[str, ...]:
        return tuple(f"{digest}  {path}" for path, digest in self.files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def package_manifest(package_dir: Path | None = None) -> CodeManifest:
    base = Path(ceremony.__file__).resolve().parent if package_dir is None else package_dir.resolve()
    files: list[tuple[str, str]] = []
    try:
        for folder, dirs, names in os.walk(base):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in names:
                path = Path(folder) / name
                rel = path.relative_to(base.parent).as_posix()
                files.append((rel, _sha256(path)))
    except OSError as exc:
        raise Unreadable(f"package file cannot be read: {exc}") from None
    files.sort(key=lambda item: item[0].encode("utf-8"))
    text = "".join(f"{digest}  {path}\n" for path, digest in files)
    return CodeManifest(tuple(files), hashlib.sha256(text.encode("utf-8")).hexdigest())


def recorded_hashes(dist: metadata.Distribution | None = None) -> dict[str, str]:
    """SHA-256 (hex) per package file from the installer's RECORD; empty for source/editable installs."""
    try:
        files = (metadata.distribution("ceremony") if dist is None else dist).files or []
    except metadata.PackageNotFoundError:
        return {}
    recorded = {}
    for entry in files:
        path = entry.as_posix()
        if entry.hash is None or entry.hash.mode != "sha256" or "__pycache__" in path:
            continue
        if not path.startswith("ceremony/"):
            continue
        raw = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
        recorded[path] = raw.hex()
    return recorded


@guarded(INTEGRITY)
def check_integrity(
    manifest: CodeManifest | None = None, recorded: dict[str, str] | None = None
) -> tuple[Finding, ...]:
    manifest = package_manifest() if manifest is None else manifest
    recorded = recorded_hashes() if recorded is None else recorded
    evidence = (f"aggregate sha256 {manifest.aggregate}", *manifest.lines())
    head = f"{len(manifest.files)} files, sha256 {manifest.aggregate[:12]}…"
    if not recorded:
        return (passed(INTEGRITY, f"{head}; no wheel RECORD to compare", evidence),)
    on_disk = dict(manifest.files)
    findings = []
    for path in sorted(set(recorded) | set(on_disk)):
        if path not in on_disk:
            findings.append(insecure(INTEGRITY, f"file {path}", f"{path} missing since installation"))
        elif path not in recorded:
            findings.append(insecure(INTEGRITY, f"file {path}", f"{path} not part of the installed release"))
        elif recorded[path] != on_disk[path]:
            findings.append(insecure(INTEGRITY, f"file {path}", f"{path} changed since installation"))
    if findings:
        return tuple(findings)
    return (passed(INTEGRITY, f"{head}; all match the wheel RECORD", evidence),)
