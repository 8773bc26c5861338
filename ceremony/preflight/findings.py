"""What one preflight check found: a ``Finding`` with its verdict, the raw evidence and a remedy.

A check never crashes the preflight: a file it cannot read (missing, a directory where a file should be,
permission denied, garbage) gives verdict UNKNOWN with the reason in the summary. Evidence we could not
read is no evidence of an air gap, so UNKNOWN blocks the ceremony like INSECURE does (see
``exceptions.needs_cover``); a security officer can cover it with an exception like any other finding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

# The longest evidence tuple kept per finding: /proc/net/tcp on a busy host can have thousands of lines;
# the minutes need the relevant ones, not a dump.
MAX_EVIDENCE_LINES = 200


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    INSECURE = "insecure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SystemRoot:
    """Where the checks read the running system; tests point these at a prepared directory."""

    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    etc: Path = Path("/etc")


LIVE = SystemRoot()


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    ``subject`` names exactly what is insecure ("tcp 127.0.0.1:8080", "interface eth0") so an exception
    record can cover that one thing; a finding about the check as a whole (a pass, or an unknown) has the
    empty subject.
    """

    check: str
    title: str
    verdict: Verdict
    summary: str
    evidence: tuple[str, ...] = ()
    remedy: str = ""
    subject: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.verdict is not Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "title": self.title,
            "verdict": self.verdict.value,
            "subject": self.subject,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "remedy": self.remedy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            check=str(data["check"]),
            title=str(data["title"]),
            verdict=Verdict(data["verdict"]),
            summary=str(data["summary"]),
            evidence=tuple(str(line) for line in data.get("evidence", ())),
            remedy=str(data.get("remedy", "")),
            subject=str(data.get("subject", "")),
        )


class Unreadable(Exception):
    """A check could not read what it needs; becomes an UNKNOWN finding, never a crash."""


@dataclass(frozen=True)
class CheckInfo:
    check: str
    title: str
    remedy: str = field(default="")


def read_text(path: Path) -> str:
    """Read a small kernel file; any failure becomes ``Unreadable`` naming the file and why."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise Unreadable(f"{path} does not exist") from None
    except IsADirectoryError:
        raise Unreadable(f"{path} is a directory, expected a file") from None
    except PermissionError:
        raise Unreadable(f"{path} cannot be read (permission denied)") from None
    except OSError as exc:
        raise Unreadable(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from None


def read_lines(path: Path) -> list[str]:
    return read_text(path).splitlines()


def clip(lines: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if len(lines) <= MAX_EVIDENCE_LINES:
        return tuple(lines)
    dropped = len(lines) - MAX_EVIDENCE_LINES
    return (*lines[:MAX_EVIDENCE_LINES], f"... {dropped} more lines not kept")


def unknown(info: CheckInfo, reason: str, evidence: tuple[str, ...] = ()) -> Finding:
    return Finding(
        check=info.check,
        title=info.title,
        verdict=Verdict.UNKNOWN,
        summary=f"could not check: {reason}",
        evidence=evidence,
        remedy="Find out why the system information cannot be read (run as root, mount /proc and /sys), "
        "then run the preflight again.",
    )


def passed(info: CheckInfo, summary: str, evidence: tuple[str, ...] = ()) -> Finding:
    return Finding(
        check=info.check, title=info.title, verdict=Verdict.PASS, summary=summary, evidence=evidence
    )


def insecure(
    info: CheckInfo, subject: str, summary: str, evidence: tuple[str, ...] = (), remedy: str | None = None
) -> Finding:
    return Finding(
        check=info.check,
        title=info.title,
        verdict=Verdict.INSECURE,
        summary=summary,
        evidence=evidence,
        remedy=info.remedy if remedy is None else remedy,
        subject=subject,
    )


def guarded(
    info: CheckInfo,
) -> Callable[[Callable[..., tuple[Finding, ...]]], Callable[..., tuple[Finding, ...]]]:
    """Turn anything a check cannot read or parse into one UNKNOWN finding with the reason."""

    def wrap(func: Callable[..., tuple[Finding, ...]]) -> Callable[..., tuple[Finding, ...]]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> tuple[Finding, ...]:
            try:
                return func(*args, **kwargs)
            except Unreadable as exc:
                return (unknown(info, str(exc)),)
            except (OSError, ValueError, IndexError, KeyError) as exc:
                return (unknown(info, f"unexpected content ({type(exc).__name__}: {exc})"),)

        return run

    return wrap
