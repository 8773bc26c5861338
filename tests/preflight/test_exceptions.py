"""Exception records (PCI DSS 1.2.6): validation, dual control, activity window, and what they cover."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.errors import DualControlError, ExceptionRecordError
from ceremony.preflight.exceptions import (
    MAX_EXCEPTION_LIFETIME,
    ExceptionRecord,
    active_exceptions,
    covering,
    load_exceptions,
    subject_matches,
)
from ceremony.preflight.findings import Finding, Verdict

CREATED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def record(**changes) -> ExceptionRecord:
    fields = dict(
        check="net.listening",
        subject="tcp 127.0.0.1:631",
        justification="The ceremony prints share cards on the local CUPS queue.",
        compensating_controls="Printer cable only; CUPS bound to loopback; witness checks the queue.",
        approved_by="SO00000001",
        witness="WT00000002",
        created=CREATED,
        expires=EXPIRES,
    )
    fields.update(changes)
    return ExceptionRecord.new(**fields)


def finding(subject: str = "tcp 127.0.0.1:631", verdict: Verdict = Verdict.INSECURE, check="net.listening"):
    return Finding(check, "Listening sockets", verdict, f"{subject} on loopback only", (), "stop it", subject)


def test_active_exception_covers_its_finding_and_expires_on_time():
    exc = record()
    target = finding()
    inside = EXPIRES - timedelta(seconds=1)
    covered = covering([target], [exc], inside)
    assert [(c.finding, c.exception) for c in covered.covered] == [(target, exc)]
    assert not covered.blocked
    assert covered.relied_on == (exc,)
    # At the expiry instant it no longer covers anything (expires is exclusive).
    at_expiry = covering([target], [exc], EXPIRES)
    assert at_expiry.blocked
    assert at_expiry.uncovered == (target,)
    assert at_expiry.expired == (exc,)
    # Nor before it was created.
    assert covering([target], [exc], CREATED - timedelta(seconds=1)).blocked


def test_is_active_window():
    exc = record()
    assert not exc.is_active(CREATED - timedelta(microseconds=1))
    assert exc.is_active(CREATED)
    assert exc.is_active(EXPIRES - timedelta(microseconds=1))
    assert not exc.is_active(EXPIRES)


def test_exception_covers_only_its_check_and_subject():
    exc = record()
    now = CREATED + timedelta(days=1)
    other_port = finding("tcp 127.0.0.1:632")
    other_check = finding("tcp 127.0.0.1:631", check="net.routes")
    result = covering([other_port, other_check], [exc], now)
    assert result.uncovered == (other_port, other_check)
    assert result.covered == ()


def test_pass_findings_need_no_cover_and_unknown_ones_do():
    now = CREATED + timedelta(days=1)
    ok = finding("", Verdict.PASS)
    unread = finding("", Verdict.UNKNOWN)
    result = covering([ok, unread], [], now)
    assert result.uncovered == (unread,)
    star = record(subject="*")
    assert not covering([ok, unread], [star], now).blocked


def test_wildcard_subject():
    now = CREATED + timedelta(days=1)
    exc = record(subject="tcp 127.0.0.1:*")
    loop = finding("tcp 127.0.0.1:40000")
    wild = finding("tcp 0.0.0.0:40000")
    result = covering([loop, wild], [exc], now)
    assert [c.finding for c in result.covered] == [loop]
    assert result.uncovered == (wild,)


def test_ipv6_brackets_are_literal_in_subjects():
    assert subject_matches("tcp [::1]:8080", "tcp [::1]:8080")
    assert not subject_matches("tcp [::1]:8080", "tcp ::8080")  # no fnmatch character classes
    assert subject_matches("udp [*]:5353", "udp [fe80::1]:5353")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(max_size=10), st.text(max_size=10))
def test_pattern_matching_properties(subject, prefix, suffix):
    plain = subject.replace("*", "")
    assert subject_matches(plain, plain)
    assert subject_matches("*", plain)
    assert subject_matches(prefix.replace("*", "") + "*", prefix.replace("*", "") + plain)
    assert subject_matches("*" + suffix.replace("*", ""), plain + suffix.replace("*", ""))
    assert not subject_matches(plain, plain + "x")


def test_the_longest_valid_exception_is_named_when_several_cover():
    now = CREATED + timedelta(days=1)
    short = record(expires=CREATED + timedelta(days=10))
    long = record(expires=CREATED + timedelta(days=80))
    result = covering([finding()], [short, long], now)
    assert result.covered[0].exception == long


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"justification": "   "}, "business justification is empty"),
        ({"compensating_controls": ""}, "compensating controls are empty"),
        ({"approved_by": ""}, "no security officer"),
        ({"witness": " "}, "no witness"),
        ({"subject": ""}, "which finding"),
        ({"check": "net.interface"}, "unknown check 'net.interface'"),
        ({"expires": CREATED}, "before it is created"),
        ({"expires": CREATED + MAX_EXCEPTION_LIFETIME + timedelta(seconds=1)}, "at most 90 days"),
        ({"created": datetime(2026, 11, 1, 9, 0)}, "time zone"),
    ],
)
def test_invalid_records_are_refused_with_a_clear_message(changes, words):
    with pytest.raises(ExceptionRecordError, match=words):
        record(**changes)


def test_ninety_days_exactly_is_allowed():
    exc = record(expires=CREATED + MAX_EXCEPTION_LIFETIME)
    assert exc.expires - exc.created == timedelta(days=90)


def test_officer_cannot_witness_own_exception():
    with pytest.raises(DualControlError, match="cannot also be the witness"):
        record(approved_by="SO00000001", witness=" so00000001 ")


def test_times_are_normalised_to_utc():
    paris = timezone(timedelta(hours=1))
    exc = record(
        created=datetime(2026, 11, 1, 10, 0, tzinfo=paris), expires=datetime(2026, 11, 2, tzinfo=paris)
    )
    assert exc.created == CREATED
    assert exc.created.tzinfo == UTC
    assert exc.to_dict()["created"] == "2026-11-01T09:00:00Z"


def test_json_round_trip_and_loading():
    a, b = record(), record(subject="*", check="net.dns")
    text = json.dumps([a.to_dict(), b.to_dict()])
    assert load_exceptions(text) == (a, b)


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("{", ExceptionRecordError, "not JSON"),
        ("{}", ExceptionRecordError, "JSON list"),
        ("[1]", ExceptionRecordError, "record 1: an exception record must be a JSON object"),
        ('[{"id": "X"}]', ExceptionRecordError, "record 1: exception record lacks check"),
    ],
)
def test_bad_exception_files(text, error, words):
    with pytest.raises(error, match=words):
        load_exceptions(text)


def test_bad_record_is_named_by_position_and_duplicates_refused():
    good = record().to_dict()
    same_person = dict(good, id="OTHER", witness=good["approved_by"])
    with pytest.raises(DualControlError, match="record 2"):
        load_exceptions(json.dumps([good, same_person]))
    bad_time = dict(good, id="LATER", expires="next tuesday")
    with pytest.raises(ExceptionRecordError, match=r"record 2: .*not an ISO 8601"):
        load_exceptions(json.dumps([good, bad_time]))
    with pytest.raises(ExceptionRecordError, match="used twice"):
        load_exceptions(json.dumps([good, good]))


def test_records_are_frozen_and_validated_on_replace():
    exc = record()
    with pytest.raises(AttributeError):
        exc.subject = "*"  # type: ignore[misc]
    with pytest.raises(DualControlError):
        replace(exc, witness=exc.approved_by)


def test_active_exceptions_are_listed_soonest_expiry_first():
    early = record(expires=CREATED + timedelta(days=5))
    late = record(expires=CREATED + timedelta(days=50))
    future = record(created=CREATED + timedelta(days=20), expires=CREATED + timedelta(days=30))
    assert active_exceptions([late, future, early], CREATED + timedelta(days=1)) == (early, late)
    assert active_exceptions([late, future, early], CREATED + timedelta(days=25)) == (future, late)
    assert active_exceptions([late, future, early], CREATED + timedelta(days=50)) == ()


# --- one exception, several findings (issue 14 part 2.3: ticked on the preflight screen) -------------------
CHECKS_FOR_TICKS = ("net.listening", "net.interfaces", "mem.swap")


def findings_of(entries) -> tuple[Finding, ...]:
    """Findings from (check index, subject, verdict): an empty subject is a finding about the whole check."""
    out: dict[tuple[str, str], Finding] = {}
    for index, subject, insecure in entries:
        check = CHECKS_FOR_TICKS[index]
        verdict = (
            Verdict.INSECURE if insecure and subject else Verdict.UNKNOWN if not subject else Verdict.PASS
        )
        out.setdefault(
            (check, subject), Finding(check, check, verdict, f"{check} {subject}", subject=subject)
        )
    return tuple(out.values())


def ticked_record(findings) -> ExceptionRecord:
    return ExceptionRecord.for_findings(
        findings,
        justification="The laptop's ports cannot be closed before the HSM window.",
        compensating_controls="Room sealed; witness watches the ports; cable unplugged.",
        approved_by="SO00000001",
        witness="WT00000002",
        created=CREATED,
        expires=EXPIRES,
    )


# Subjects as checks write them ("tcp 0.0.0.0:22", "interface eth0"): no "*", which is the wildcard.
SUBJECTS = st.text(alphabet="abcdefghij0123456789.:[] ", min_size=0, max_size=12).map(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), SUBJECTS, st.booleans()), min_size=1, max_size=12),
    st.data(),
)
def test_an_exception_covers_exactly_the_ticked_findings(entries, data):
    findings = findings_of(entries)
    blocking = [f for f in findings if f.verdict is not Verdict.PASS]
    if not blocking:
        return
    ticked = data.draw(st.lists(st.sampled_from(blocking), min_size=1, unique=True))
    exc = ticked_record(ticked)
    coverage = covering(findings, [exc], CREATED + timedelta(days=1))
    covered = {c.finding for c in coverage.covered}
    # A finding about a whole check (no subject) is covered by '*': every finding of that check.
    whole = {f.check for f in ticked if not f.subject}
    expected = {f for f in blocking if f in ticked or f.check in whole}
    assert covered == expected
    assert set(coverage.uncovered) == set(blocking) - expected
    assert {c.exception for c in coverage.covered} <= {exc}
    assert len(exc.covered) == len(ticked)
    assert (
        ExceptionRecord.from_dict(exc.to_dict()) == exc
    )  # the record, as the ledger and the minutes keep it
    # Expired, it covers none of them and is named as the expired exception.
    later = covering(findings, [exc], EXPIRES)
    assert not later.covered and later.expired == (exc,)


def test_several_findings_make_one_record_first_in_check_and_subject():
    findings = (
        Finding("net.listening", "Listening", Verdict.INSECURE, "", subject="tcp 0.0.0.0:22"),
        Finding("mem.swap", "Swap", Verdict.UNKNOWN, "could not check"),
        Finding("net.listening", "Listening", Verdict.INSECURE, "", subject="tcp 0.0.0.0:22"),  # twice
    )
    exc = ticked_record(findings)
    assert (exc.check, exc.subject) == ("net.listening", "tcp 0.0.0.0:22")
    assert exc.also_covers == (("mem.swap", "*"),)
    assert exc.covered == (("net.listening", "tcp 0.0.0.0:22"), ("mem.swap", "*"))
    assert exc.to_dict()["also_covers"] == [{"check": "mem.swap", "subject": "*"}]
    assert exc.describe_covered() == "net.listening 'tcp 0.0.0.0:22'; mem.swap '*'"
    one = ticked_record(findings[:1])
    assert one.also_covers == () and "also_covers" not in one.to_dict()  # written as every record before


def test_a_record_of_several_findings_is_validated_for_each():
    with pytest.raises(ExceptionRecordError, match="tick at least one finding"):
        ticked_record(())
    with pytest.raises(ExceptionRecordError, match=r"unknown check 'net\.nonsense'"):
        record(also_covers=[("net.nonsense", "x")])
    with pytest.raises(ExceptionRecordError, match="say which finding"):
        record(also_covers=[("mem.swap", " ")])
    with pytest.raises(ExceptionRecordError, match="same finding twice"):
        record(also_covers=[("net.listening", "tcp 127.0.0.1:631")])
    good = record().to_dict()
    for bad in (
        {"check": "mem.swap"},
        [["mem.swap", "*"]],
        "mem.swap *",
        [{"check": "mem.swap", "subject": 1}],
    ):
        with pytest.raises(ExceptionRecordError, match="also_covers"):
            ExceptionRecord.from_dict(dict(good, also_covers=bad if isinstance(bad, list) else [bad]))
