"""Exception records: PCI DSS 1.2.6's "controlled exception" for preflight findings.

Pure: no I/O, no clock.

A security officer, with a witness who is another person (dual control, DESIGN §1), records for one or
more findings the business justification, the compensating controls, and an expiry. While active
(``created <= now < expires``) the record covers the findings it names; expired, it covers nothing.

Subjects: an exception names the check and the subject it covers (``check``, ``subject``), and, when it
was recorded for several findings at once (the findings ticked on the preflight screen), the further
(check, subject) pairs in ``also_covers``: one justification, one pair of signatures, one expiry. Each
subject is matched exactly, except that ``*`` matches any run of characters (nothing else is special, so
IPv6 brackets are literal):
``tcp 127.0.0.1:*`` covers every loopback TCP listener, ``*`` every finding of that check (including an
``unknown`` one, whose subject is empty).

Longest life: 90 days. An exception accepts a risk because of the ceremony's circumstances (this laptop,
this hardware, this quarter's ceremonies); PCI DSS reviews such things quarterly elsewhere (11.3.1 internal
vulnerability scans, 11.3.2 external scans) and 1.2.7 reviews network security controls at least every six
months. Ninety days makes every accepted risk come back to a security officer at least once a quarter,
well inside the six-month review, while a ceremony cycle (generation, verification round, first recovery)
fits in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ceremony.crypto.ids import new_id
from ceremony.errors import DualControlError, ExceptionRecordError
from ceremony.preflight.checks import CHECK_IDS
from ceremony.preflight.findings import Finding, Verdict

MAX_EXCEPTION_LIFETIME = timedelta(days=90)
FIELDS = (
    "id",
    "check",
    "subject",
    "justification",
    "compensating_controls",
    "approved_by",
    "witness",
    "created",
    "expires",
)


def needs_cover(finding: Finding) -> bool:
    """Insecure and unknown findings block a ceremony unless an active exception covers them.

    Unknown blocks because evidence that could not be read is no evidence of an air gap.
    """
    return finding.verdict is not Verdict.PASS


def subject_matches(pattern: str, subject: str) -> bool:
    """Exact match, where ``*`` in the pattern stands for any run of characters (also none)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, subject, flags=re.DOTALL) is not None


def subject_of(finding: Finding) -> str:
    """The subject an exception records to cover ``finding``: its own, or ``*`` for a finding about the
    check as a whole (an unknown one has the empty subject, which only ``*`` matches)."""
    return finding.subject or "*"


def subject_findings(check: str, subject: str, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The current findings of ``check`` that need cover and that ``subject`` matches.

    A subject that matches none of them would be recorded and cover nothing (``eth0`` for a DNS finding),
    so it is refused with :class:`ExceptionRecordError`, listing the subjects the check shows now. Only
    ``*`` itself, given on purpose, is taken without a current finding: every finding of the check, now or
    later.
    """
    current = tuple(f for f in findings if f.check == check and needs_cover(f))
    matched = tuple(f for f in current if subject_matches(subject, f.subject))
    if matched or subject == "*":
        return matched
    if not current:
        raise ExceptionRecordError(
            f"subject {subject[:64]!r} matches no current finding of {check}: the check shows no insecure "
            f"or unknown finding on this machine now, so the exception would cover nothing; give the "
            f"subject '*' to cover every finding of {check} on purpose"
        )
    listed = ", ".join(repr(f.subject) if f.subject else "'' (the whole check: use '*')" for f in current)
    raise ExceptionRecordError(
        f"subject {subject[:64]!r} matches no current finding of {check}, so the exception would cover "
        f"nothing; the findings of {check} now: {listed}. Give one of these subjects (or a pattern with * "
        f"that matches one), or '*' to cover every finding of {check} on purpose"
    )


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ExceptionRecordError(f"the {what} time must say its time zone (UTC), got {value.isoformat()}")
    return value.astimezone(UTC)


def _parse_time(text: object, what: str) -> datetime:
    if not isinstance(text, str):
        raise ExceptionRecordError(f"the {what} time must be an ISO 8601 text such as 2026-11-23T14:00:00Z")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExceptionRecordError(
            f"the {what} time {text[:40]!r} is not an ISO 8601 date and time"
        ) from None
    return _utc(value, what)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Covered = tuple[str, str]  # (check, subject pattern): one finding an exception covers


@dataclass(frozen=True)
class ExceptionRecord:
    """One approved, time-bound exception for one or more preflight findings (PCI DSS 1.2.6).

    ``check`` and ``subject`` name the first finding covered; ``also_covers`` the others recorded with it
    (empty for a record of one finding, as every record was before several could be covered at once).
    """

    exception_id: str
    check: str
    subject: str
    justification: str
    compensating_controls: str
    approved_by: str  # the security officer's person id
    witness: str  # another person's id (dual control)
    created: datetime
    expires: datetime
    also_covers: tuple[Covered, ...] = ()

    def __post_init__(self) -> None:
        # Normalise to UTC so comparisons and JSON are unambiguous; frozen, hence object.__setattr__.
        object.__setattr__(self, "created", _utc(self.created, "created"))
        object.__setattr__(self, "expires", _utc(self.expires, "expiry"))
        object.__setattr__(self, "also_covers", tuple((str(c), str(s)) for c, s in self.also_covers))
        self._validate()

    @property
    def covered(self) -> tuple[Covered, ...]:
        """Every (check, subject) this exception covers, the first one first."""
        return ((self.check, self.subject), *self.also_covers)

    def describe_covered(self) -> str:
        """What it covers, for people: ``net.listening 'tcp 0.0.0.0:22'; mem.swap '*'``."""
        return "; ".join(f"{check} {subject!r}" for check, subject in self.covered)

    def _validate(self) -> None:
        label = f"exception {self.exception_id or '(no id)'}"
        if not self.exception_id.strip():
            raise ExceptionRecordError("an exception record needs an id")
        for check, subject in self.covered:
            if check not in CHECK_IDS:
                raise ExceptionRecordError(
                    f"{label}: unknown check {check[:40]!r}; known checks: {', '.join(CHECK_IDS)}"
                )
            if not subject.strip():
                raise ExceptionRecordError(
                    f"{label}: say which finding it covers (subject, or * for all of the check)"
                )
        if len(set(self.covered)) != len(self.covered):
            raise ExceptionRecordError(f"{label}: it names the same finding twice")
        if not self.justification.strip():
            raise ExceptionRecordError(f"{label}: the business justification is empty (PCI DSS 1.2.6)")
        if not self.compensating_controls.strip():
            raise ExceptionRecordError(f"{label}: the compensating controls are empty (PCI DSS 1.2.6)")
        if not self.approved_by.strip():
            raise ExceptionRecordError(f"{label}: no security officer approved it")
        if not self.witness.strip():
            raise ExceptionRecordError(f"{label}: no witness is named")
        if self.approved_by.strip().casefold() == self.witness.strip().casefold():
            raise DualControlError(
                f"{label}: the approving security officer {self.approved_by.strip()[:40]} cannot also be the "
                "witness; a second person must witness the exception"
            )
        if self.expires <= self.created:
            raise ExceptionRecordError(
                f"{label}: it expires ({_format_time(self.expires)}) "
                f"before it is created ({_format_time(self.created)})"
            )
        if self.expires - self.created > MAX_EXCEPTION_LIFETIME:
            raise ExceptionRecordError(
                f"{label}: an exception may last at most {MAX_EXCEPTION_LIFETIME.days} days, this one lasts "
                f"{(self.expires - self.created).days} days; record a new one when it expires"
            )

    @classmethod
    def new(
        cls,
        *,
        check: str,
        subject: str,
        justification: str,
        compensating_controls: str,
        approved_by: str,
        witness: str,
        created: datetime,
        expires: datetime,
        also_covers: Iterable[Covered] = (),
    ) -> ExceptionRecord:
        """A new record with a fresh id; ``created`` is the caller's clock (this module reads none)."""
        return cls(
            new_id(),
            check,
            subject,
            justification,
            compensating_controls,
            approved_by,
            witness,
            created,
            expires,
            tuple(also_covers),
        )

    @classmethod
    def for_findings(
        cls,
        findings: Sequence[Finding],
        *,
        justification: str,
        compensating_controls: str,
        approved_by: str,
        witness: str,
        created: datetime,
        expires: datetime,
    ) -> ExceptionRecord:
        """A new record covering exactly ``findings`` (each by its check and its own subject; a finding
        about a whole check, which has no subject, by ``*``), in the order given, each once."""
        covered = list(dict.fromkeys((f.check, subject_of(f)) for f in findings))
        if not covered:
            raise ExceptionRecordError("tick at least one finding for the exception to cover")
        (check, subject), *rest = covered
        return cls.new(
            check=check,
            subject=subject,
            justification=justification,
            compensating_controls=compensating_controls,
            approved_by=approved_by,
            witness=witness,
            created=created,
            expires=expires,
            also_covers=rest,
        )

    def is_active(self, now: datetime) -> bool:
        moment = _utc(now, "current")
        return self.created <= moment < self.expires

    def names(self, finding: Finding) -> bool:
        """Whether one of the (check, subject) pairs matches ``finding``, active or not."""
        return any(
            check == finding.check and subject_matches(subject, finding.subject)
            for check, subject in self.covered
        )

    def covers(self, finding: Finding, now: datetime) -> bool:
        return self.is_active(now) and self.names(finding)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.exception_id,
            "check": self.check,
            "subject": self.subject,
            "justification": self.justification,
            "compensating_controls": self.compensating_controls,
            "approved_by": self.approved_by,
            "witness": self.witness,
            "created": _format_time(self.created),
            "expires": _format_time(self.expires),
        }
        if self.also_covers:
            out["also_covers"] = [{"check": c, "subject": s} for c, s in self.also_covers]
        return out

    @classmethod
    def from_dict(cls, data: object) -> ExceptionRecord:
        if not isinstance(data, dict):
            raise ExceptionRecordError("an exception record must be a JSON object")
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise ExceptionRecordError(f"exception record lacks {', '.join(missing)}")
        text = {}
        for name in FIELDS[:7]:
            if not isinstance(data[name], str):
                raise ExceptionRecordError(f"exception record field {name} must be text")
            text[name] = data[name]
        also = data.get("also_covers", [])
        if not isinstance(also, list) or not all(
            isinstance(item, dict)
            and set(item) == {"check", "subject"}
            and all(isinstance(v, str) for v in item.values())
            for item in also
        ):
            raise ExceptionRecordError("exception record field also_covers must list check and subject texts")
        return cls.from_text(
            exception_id=text["id"],
            check=text["check"],
            subject=text["subject"],
            justification=text["justification"],
            compensating_controls=text["compensating_controls"],
            approved_by=text["approved_by"],
            witness=text["witness"],
            created=data["created"],
            expires=data["expires"],
            also_covers=tuple((item["check"], item["subject"]) for item in also),
        )

    @classmethod
    def from_text(
        cls,
        *,
        exception_id: str,
        check: str,
        subject: str,
        justification: str,
        compensating_controls: str,
        approved_by: str,
        witness: str,
        created: object,
        expires: object,
        also_covers: Iterable[Covered] = (),
    ) -> ExceptionRecord:
        """A record from its fields as written (times as ISO 8601 text), e.g. the ledger's typed record;
        raises :class:`ExceptionRecordError` (or :class:`DualControlError`) as the constructor does."""
        return cls(
            exception_id=exception_id,
            check=check,
            subject=subject,
            justification=justification,
            compensating_controls=compensating_controls,
            approved_by=approved_by,
            witness=witness,
            created=_parse_time(created, "created"),
            expires=_parse_time(expires, "expiry"),
            also_covers=tuple(also_covers),
        )


def load_exceptions(text: str) -> tuple[ExceptionRecord, ...]:
    """Parse a JSON list of exception records; the first bad one raises, naming its position."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExceptionRecordError(f"the exceptions file is not JSON (line {exc.lineno})") from None
    if not isinstance(data, list):
        raise ExceptionRecordError("the exceptions file must hold a JSON list of exception records")
    records = []
    for position, item in enumerate(data, start=1):
        try:
            records.append(ExceptionRecord.from_dict(item))
        except ExceptionRecordError as exc:
            raise ExceptionRecordError(f"exception record {position}: {exc}") from None
        except DualControlError as exc:
            raise DualControlError(f"exception record {position}: {exc}") from None
    ids = [r.exception_id for r in records]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ExceptionRecordError(f"exception id used twice: {', '.join(duplicates)}")
    return tuple(records)


def active_exceptions(exceptions: Iterable[ExceptionRecord], now: datetime) -> tuple[ExceptionRecord, ...]:
    """The exceptions in force at ``now``, soonest to expire first (the list a security officer reviews)."""
    return tuple(
        sorted((e for e in exceptions if e.is_active(now)), key=lambda e: (e.expires, e.exception_id))
    )


@dataclass(frozen=True)
class Cover:
    finding: Finding
    exception: ExceptionRecord


@dataclass(frozen=True)
class Coverage:
    """Which findings that need cover are covered, by which active exception, and which are not."""

    covered: tuple[Cover, ...]
    uncovered: tuple[Finding, ...]
    expired: tuple[ExceptionRecord, ...]  # would have matched a finding but are not active at ``now``

    @property
    def blocked(self) -> bool:
        return bool(self.uncovered)

    @property
    def relied_on(self) -> tuple[ExceptionRecord, ...]:
        seen: dict[str, ExceptionRecord] = {}
        for cover in self.covered:
            seen.setdefault(cover.exception.exception_id, cover.exception)
        return tuple(seen.values())

    def exception_for(self, finding: Finding) -> ExceptionRecord | None:
        for cover in self.covered:
            if cover.finding == finding:
                return cover.exception
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "covered": [
                {
                    "check": c.finding.check,
                    "subject": c.finding.subject,
                    "exception": c.exception.exception_id,
                }
                for c in self.covered
            ],
            "uncovered": [
                {"check": f.check, "subject": f.subject, "verdict": f.verdict.value} for f in self.uncovered
            ],
            "exceptions_relied_on": [e.to_dict() for e in self.relied_on],
            "exceptions_expired": [e.exception_id for e in self.expired],
        }


def covering(findings: Iterable[Finding], exceptions: Iterable[ExceptionRecord], now: datetime) -> Coverage:
    """Match every finding that needs cover with an active exception; expired ones cover nothing.

    Where several active exceptions cover one finding, the one that stays valid longest is named (ties: id).
    """
    records = sorted(exceptions, key=lambda e: (-e.expires.timestamp(), e.exception_id))
    covered: list[Cover] = []
    uncovered: list[Finding] = []
    expired: dict[str, ExceptionRecord] = {}
    for finding in findings:
        if not needs_cover(finding):
            continue
        match = next((e for e in records if e.covers(finding, now)), None)
        if match is not None:
            covered.append(Cover(finding, match))
            continue
        uncovered.append(finding)
        for e in records:
            if e.names(finding) and not e.is_active(now):
                expired.setdefault(e.exception_id, e)
    return Coverage(tuple(covered), tuple(uncovered), tuple(expired.values()))
