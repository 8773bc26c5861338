"""A small ledger with known answers, built once per module through the real flows on a frozen clock.

The story (day 0 = 2025-03-01, a non-leap year span so "12 months" is 365 days):

* day 0   enroll admin, witness, officer, custodians c1..c5 (light scrypt cost: rehearsal-only)
* day 0   generate K1, AES-128, Shamir 2-of-3 to c1, c2, c3 (envelopes ENV-K1-1..3), acknowledgements
* day 5   generate K2, TDES double length, XOR 2 components to c4, c5 (ENV-K2-1..2), acknowledgements
* day 6   a generation voided before any key was made
* day 10  an exception (radio.rfkill, 30 days) approved by the officer, witnessed by the witness
* day 100 c2 leaves (deactivated): K1 must be replaced (PCI DSS 3.7.5)
* day 200 an exception (mem.swap, 90 days) — expired at day 300
* day 330 c1 reaffirms (the reaffirmation flow)
* day 355 an exception (net.dns, 60 days) — active at day 368

Reports are read "as of" day 368: c1 current, c3 overdue (acknowledged day 0, due day 365), c4 and c5
due within 30 days (acknowledged day 5, due day 370).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.flows import paperwork
from ceremony.flows.enrolment import Newcomer, enroll_roster
from ceremony.flows.exceptions import record_exception
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.reaffirmation import Reaffirmation
from ceremony.ledger import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight.exceptions import ExceptionRecord

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)  # rehearsal-only cost, keeps tests quick
DAY0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
AS_OF = DAY0 + timedelta(days=368)


def on_day(days: int, hour: int = 9) -> datetime:
    return (DAY0 + timedelta(days=days)).replace(hour=hour)


class FrozenClock:
    """The ledger's clock: stands still unless moved; each reading adds one second (events stay ordered)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        moment = self.now
        self.now += timedelta(seconds=1)
        return moment

    def set(self, moment: datetime) -> None:
        self.now = moment


def passphrase(name: str) -> SecretBytes:
    return SecretBytes(f"test passphrase of {name}".encode())


@dataclass
class Scenario:
    path: Path
    ids: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)  # "K1"/"K2" -> key id
    splits: dict[str, str] = field(default_factory=dict)
    custodians: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "K1" -> custodian names by share
    envelopes: dict[tuple[str, int], str] = field(default_factory=dict)
    exceptions: dict[str, ExceptionRecord] = field(default_factory=dict)
    ceremonies: dict[str, str] = field(default_factory=dict)  # name -> ceremony id
    acknowledged: dict[str, list[datetime]] = field(default_factory=dict)  # name -> ack event times
    reaffirmed: dict[str, datetime] = field(default_factory=dict)
    wording_sha256: str = ""

    def name_of(self, person_id: str) -> str:
        return next(n for n, p in self.ids.items() if p == person_id)


ROSTER = (
    ("admin", ("administrator",)),
    ("witness", ("witness",)),
    ("officer", ("security_officer", "witness")),
    *((f"c{i}", ("custodian",)) for i in range(1, 6)),
)


def _present(ledger: Ledger, ids: dict[str, str], name: str, role: str) -> PresentPerson:
    return Presence(ledger).authenticate(ids[name], passphrase(name), role)


def _generate(
    ledger: Ledger,
    clock: FrozenClock,
    sc: Scenario,
    tag: str,
    spec: KeySpec,
    scheme: Scheme,
    m: int,
    names: tuple[str, ...],
) -> None:
    admin = _present(ledger, sc.ids, "admin", "administrator")
    witness = _present(ledger, sc.ids, "witness", "witness")
    ceremony = GenerationCeremony.start(ledger, admin, witness, f"generate {tag}", rehearsal=True)
    ceremony.record_preflight({"report": {"counts": {"pass": 9}}, "cleared": True}, uncovered=[])
    ceremony.plan_key(spec, SplitPlan(scheme, m, tuple(sc.ids[n] for n in names)))
    ceremony.generate()
    for number, name in enumerate(names, start=1):
        me = _present(ledger, sc.ids, name, "custodian")
        typed = ceremony.reveal(number, me)
        written = bytearray(typed.view())
        serial = f"ENV-{tag}-{number}"
        ceremony.confirm_receipt(number, me, serial, "recorded")
        assert ceremony.verify_share(number, me, written)
        written[:] = bytes(len(written))
        sc.envelopes[(tag, number)] = serial
    ceremony.wipe()
    for number, name in enumerate(names, start=1):
        me = _present(ledger, sc.ids, name, "custodian")
        at = clock.now
        paperwork.issue_acknowledgement(ledger, ceremony, number, me)
        sc.acknowledged.setdefault(name, []).append(at)
    ceremony.close(paperwork.closing_checkpoint(ledger))
    assert ceremony.key_id and ceremony.split_id
    sc.keys[tag], sc.splits[tag], sc.custodians[tag] = ceremony.key_id, ceremony.split_id, names
    sc.ceremonies[tag] = ceremony.ceremony_id


def _exception(ledger: Ledger, clock: FrozenClock, sc: Scenario, tag: str, check: str, days: int) -> None:
    officer = _present(ledger, sc.ids, "officer", "security_officer")
    witness = _present(ledger, sc.ids, "witness", "witness")
    record = ExceptionRecord.new(
        check=check,
        subject="*",
        justification=f"justification for {tag}",
        compensating_controls=f"controls for {tag}",
        approved_by=officer.person_id,
        witness=witness.person_id,
        created=clock.now,
        expires=clock.now + timedelta(days=days),
    )
    record_exception(ledger, record, officer, witness)
    sc.exceptions[tag] = record


def build_scenario(path: Path) -> Scenario:
    clock = FrozenClock(DAY0)
    ledger = Ledger.open(path, create=True, rehearsal=True, clock=clock)
    try:
        roster = [
            Newcomer(name.title(), f"T{index:03d}", tuple(roles), lambda n=name: passphrase(n))
            for index, (name, roles) in enumerate(ROSTER)
        ]
        roster.sort(key=lambda n: "security_officer" not in n.roles)  # the officer founds the ledger
        by_employee = enroll_roster(ledger, roster, organisation="Report Test Payments Ltd", kdf=FAST_KDF)
        ids: dict[str, str] = {
            name: by_employee[f"T{index:03d}"] for index, (name, _) in enumerate(ROSTER)
        }
        sc = Scenario(path, ids)
        k1 = KeySpec(KeyType.AES_128, "K1 zone key", "PIN zone", 365)
        _generate(ledger, clock, sc, "K1", k1, Scheme.SHAMIR, 2, ("c1", "c2", "c3"))
        clock.set(on_day(5))
        k2 = KeySpec(KeyType.TDES_2KEY, "K2 legacy key", "MAC", 730)
        _generate(ledger, clock, sc, "K2", k2, Scheme.XOR, 2, ("c4", "c5"))
        clock.set(on_day(6))
        admin = _present(ledger, ids, "admin", "administrator")
        witness = _present(ledger, ids, "witness", "witness")
        voided = GenerationCeremony.start(ledger, admin, witness, "generate K3", rehearsal=True)
        voided.void("custodian absent")
        sc.ceremonies["voided"] = voided.ceremony_id
        clock.set(on_day(10))
        _exception(ledger, clock, sc, "E1", "radio.rfkill", 30)
        clock.set(on_day(100))
        officer = _present(ledger, ids, "officer", "security_officer")
        witness = _present(ledger, ids, "witness", "witness")
        participants.deactivate(
            ledger, ids["c2"], "left the company", [officer.person_id, witness.person_id], [officer, witness]
        )
        clock.set(on_day(200))
        _exception(ledger, clock, sc, "E2", "mem.swap", 90)
        clock.set(on_day(330))
        flow = Reaffirmation(ledger, clock=lambda: clock.now)
        wording = flow.wording()
        c1 = _present(ledger, ids, "c1", "custodian")
        officer = _present(ledger, ids, "officer", "security_officer")
        sc.reaffirmed["c1"] = clock.now
        flow.record(c1, officer, wording)
        sc.wording_sha256 = wording.sha256
        clock.set(on_day(355))
        _exception(ledger, clock, sc, "E3", "net.dns", 60)
        return sc
    finally:
        ledger.close()
