"""Recovery, re-share and retirement run the air-gap preflight like generation (DESIGN §4, issue 13): on a
production ledger an insecure finding no active exception covers blocks the ceremony (recorded, nothing of a
key touched); a security officer's exception lets it go on; a rehearsal ledger may record the findings
without blocking. The place is asked at the start and printed in the minutes with the preflight result. A
recovery's fresh components are signed for like shares, so the custody report names who holds each.

Real ledgers (light KDF), real preflight reports and exception records, the real ``ceremony`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from flow_support import make_cast
from lifecycle_support import (
    CLEAR,
    People,
    generate,
    open_and_enter,
    receive_components,
    start_components,
)

from ceremony.crypto.share import Scheme
from ceremony.errors import FlowError, RehearsalMixError
from ceremony.flows import paperwork
from ceremony.flows.common import SplitPlan, read_register
from ceremony.flows.recovery import ComponentsOutput, RecoveryCeremony
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.ledger.verify import verify_ledger
from ceremony.preflight import (
    ExceptionRecord,
    Finding,
    PreflightReport,
    Verdict,
    covering,
    evidence_payload,
)

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")
HSM = ("cust6", "cust7", "cust8")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ETH0 = "net.interfaces: interface eth0"


def _report(*findings: Finding) -> PreflightReport:
    return PreflightReport(NOW, "ceremony-laptop", "Linux test", "", findings)


def networked() -> PreflightReport:
    """The laptop's wired interface is up: one insecure finding."""
    return _report(
        Finding(
            "net.interfaces",
            "Network interfaces",
            Verdict.INSECURE,
            "interface eth0 is up",
            subject="interface eth0",
            remedy="unplug the cable and bring eth0 down",
        ),
        Finding("mem.swap", "Swap", Verdict.PASS, "no swap in use"),
    )


def evidence(report: PreflightReport, exceptions: tuple[ExceptionRecord, ...] = ()):
    """What a screen hands the flow: the evidence payload and the uncovered findings' labels."""
    coverage = covering(report.findings, exceptions, report.taken_at)
    return evidence_payload(report, coverage), [
        f"{f.check}: {f.subject or f.summary}" for f in coverage.uncovered
    ]


def _events(cast, ceremony_id: str, event_type: str) -> list:
    return [
        e
        for e in cast.ledger.events()
        if e.type == event_type and e.payload.get("ceremony_id") == ceremony_id
    ]


@pytest.fixture
def people(cast) -> People:
    return People(cast)


@pytest.fixture
def zmk(people):
    return generate(people, FIVE, 3)


def test_a_production_recovery_is_blocked_until_the_finding_is_excepted(cast, people, zmk) -> None:
    output = ComponentsOutput(tuple(people.id(n) for n in HSM))
    ceremony = RecoveryCeremony.start(
        cast.ledger, people.admin, people.witness, zmk.key_id, output, "load HSM-3", location="Vault room"
    )
    me = people(zmk.holder_of(1))
    # Nothing before the preflight: no envelope inspected, no share entered, nothing rebuilt.
    with pytest.raises(FlowError, match="preflight first"):
        ceremony.inspect_envelope(1, me, zmk.serials[1], True, True)
    with pytest.raises(FlowError, match="preflight first"):
        ceremony.enter_share(me, bytearray(zmk.texts[1]))
    with pytest.raises(FlowError, match="preflight first"):
        ceremony.rebuild()

    summary, uncovered = evidence(networked())
    assert uncovered == [ETH0]
    with pytest.raises(RehearsalMixError, match="only in a rehearsal"):
        ceremony.record_preflight(summary, uncovered, record_only=True)
    with pytest.raises(FlowError, match=f"{ETH0}.*PCI DSS 1.2.6"):
        ceremony.record_preflight(summary, uncovered)
    (blocked,) = _events(cast, ceremony.ceremony_id, "preflight.run")
    assert blocked.payload["blocked"] is True and blocked.payload["uncovered"] == [ETH0]
    assert blocked.payload["cleared"] is False and "record_only" not in blocked.payload
    assert set(blocked.attested_by) == {people.id("alice"), people.id("walter")}
    with pytest.raises(FlowError, match="preflight first"):
        ceremony.inspect_envelope(1, me, zmk.serials[1], True, True)
    assert not _events(cast, ceremony.ceremony_id, "envelope.inspected")
    assert not _events(cast, ceremony.ceremony_id, "share.exposed")

    # A security officer's time-bound exception (PCI DSS 1.2.6) covers the finding: the ceremony goes on.
    exception = ExceptionRecord(
        "EXC-1",
        "net.interfaces",
        "interface eth0",
        "the ceremony room's only laptop; the switch port is disabled",
        "switch port shut, cable sealed, witness checks the link light",
        people.id("sophie"),
        people.id("walter"),
        NOW - timedelta(days=1),
        NOW + timedelta(days=30),
    )
    summary, uncovered = evidence(networked(), (exception,))
    assert uncovered == []
    ceremony.record_preflight(summary, uncovered)
    open_and_enter(ceremony, people, zmk, (1, 2, 3))
    with pytest.raises(FlowError, match="before the first envelope"):
        ceremony.record_preflight(CLEAR, [])
    ceremony.void("drill")

    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.location == "Vault room"
    assert data.preflight_result == "cleared, relying on 1 exception(s) (PCI DSS 1.2.6)"
    assert [e.exception_id for e in data.exceptions] == ["EXC-1"]
    steps = [s.description for s in data.steps]
    assert steps[1] == "Air-gap preflight recorded: BLOCKED: 1 finding(s) without an active exception"
    assert steps[2].startswith("Air-gap preflight recorded: cleared, relying on 1 exception")
    verify_ledger(cast.ledger.path)


def test_a_production_reshare_is_blocked_by_an_uncovered_finding(cast, people, zmk) -> None:
    plan = SplitPlan(Scheme.SHAMIR, 3, tuple(people.id(n) for n in HSM))
    ceremony = ReshareCeremony.start(
        cast.ledger,
        people.admin,
        people.witness,
        zmk.key_id,
        plan,
        ReshareReason.ROUTINE,
        "rotate custodians",
        location="Vault room",
    )
    with pytest.raises(FlowError, match="preflight first"):
        open_and_enter(ceremony, people, zmk, (1,))
    summary, uncovered = evidence(networked())
    with pytest.raises(FlowError, match=ETH0):
        ceremony.record_preflight(summary, uncovered)
    with pytest.raises(FlowError, match="preflight first"):
        open_and_enter(ceremony, people, zmk, (1,))
    ceremony.void("blocked by the air-gap preflight")
    assert read_register(cast.ledger.events()).active_splits(zmk.key_id)[0].split_id == zmk.split_id
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.preflight_result == "BLOCKED: 1 finding(s) without an active exception"
    assert data.location == "Vault room" and data.outcome == "Voided: blocked by the air-gap preflight"
    assert any("eth0" in finding for finding in data.preflight_findings)
    verify_ledger(cast.ledger.path)


def test_a_production_retirement_is_blocked_and_retires_nothing(cast, people, zmk) -> None:
    ceremony = RetirementCeremony.start(
        cast.ledger, people.admin, people.witness, "end of life", location="Archive room"
    )
    with pytest.raises(FlowError, match="preflight first"):
        ceremony.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    summary, uncovered = evidence(networked())
    with pytest.raises(RehearsalMixError):
        ceremony.record_preflight(summary, uncovered, record_only=True)
    with pytest.raises(FlowError, match=ETH0):
        ceremony.record_preflight(summary, uncovered)
    for attempt in (
        lambda: ceremony.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD),
        lambda: ceremony.retire_split(zmk.split_id, RetirementReason.COMPROMISE_SUSPECTED),
        lambda: ceremony.return_envelope(zmk.serials[1], "Cust1", True),
        ceremony.close,
    ):
        with pytest.raises(FlowError, match="preflight first"):
            attempt()
    assert not read_register(cast.ledger.events()).key(zmk.key_id).retired
    ceremony.void("blocked by the air-gap preflight")
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    assert data.preflight_result.startswith("BLOCKED") and data.location == "Archive room"

    # Fixed and run again: the retirement goes on.
    again = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "end of life")
    fixed = _report(Finding("net.interfaces", "Network interfaces", Verdict.PASS, "only loopback is up"))
    again.record_preflight(*evidence(fixed))
    again.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    again.close()
    assert read_register(cast.ledger.events()).key(zmk.key_id).retired
    verify_ledger(cast.ledger.path)


def test_a_rehearsal_records_findings_without_blocking(tmp_path) -> None:
    (tmp_path / "rehearsal").mkdir()
    cast = make_cast(tmp_path / "rehearsal", rehearsal=True)
    try:
        people = People(cast)
        key = generate(people, FIVE, 3, label="TEST-ZMK", rehearsal=True)
        output = ComponentsOutput(tuple(people.id(n) for n in HSM))
        ceremony = RecoveryCeremony.start(
            cast.ledger, people.admin, people.witness, key.key_id, output, "drill", rehearsal=True
        )
        summary, uncovered = evidence(networked())
        ceremony.record_preflight(summary, uncovered, record_only=True)
        (run,) = _events(cast, ceremony.ceremony_id, "preflight.run")
        assert run.payload["record_only"] is True and run.payload["blocked"] is False
        assert run.payload["air_gap"] == "rehearsal-not-air-gapped" and run.payload["uncovered"] == [ETH0]
        assert open_and_enter(ceremony, people, key, (1, 2, 3)).ready
        ceremony.void("drill over")
        data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
        assert data.preflight_result.startswith("REHEARSAL, NOT AIR-GAPPED: 1 finding(s)")
        assert data.location == "-"  # none given
        verify_ledger(cast.ledger.path)
    finally:
        cast.ledger.close()


def _custody(cast, fmt: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ceremony",
            "report",
            "custody",
            "--ledger",
            str(cast.ledger.path),
            "--format",
            fmt,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_fresh_components_are_held_by_their_custodians_in_the_custody_report(cast, people, zmk) -> None:
    ceremony = start_components(people, zmk, HSM)
    open_and_enter(ceremony, people, zmk, (2, 3, 4))
    ceremony.rebuild()
    ceremony.make_components()
    split_id = ceremony.component_split_id
    assert split_id is not None
    receive_components(ceremony, people, HSM, "HSM3")
    ceremony.finish()

    split = read_register(cast.ledger.events()).split(split_id)
    assert {n: who for n, (who, _) in split.holders.items()} == {
        n: people.id(name) for n, name in enumerate(HSM, start=1)
    }
    assert split.envelopes == {1: "HSM3-C01", 2: "HSM3-C02", 3: "HSM3-C03"}

    records = json.loads(_custody(cast, "json"))["records"]
    (record,) = [r for r in records if r.get("split_id") == split_id]
    assert [(s["share_number"], s["held_by"], s["envelope_serial"]) for s in record["share_records"]] == [
        (n, people.id(name), f"HSM3-C{n:02d}") for n, name in enumerate(HSM, start=1)
    ]
    text = _custody(cast, "text")
    section = text[text.index(f"- split {split_id}") :]  # the split's own section, not the coalition line
    assert "Held now by" in section
    cells = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()[:40]
        if "|" in line
    ]
    for number, name in enumerate(HSM, start=1):
        assert [str(number), name.title(), f"HSM3-C{number:02d}"] in [row[:3] for row in cells], section[
            :1500
        ]
    verify_ledger(cast.ledger.path)
