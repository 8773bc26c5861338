"""A realistic sample ledger, built through the real flows, for newcomers and auditors (DESIGN §6).

``build_demo(path)`` writes a **rehearsal** ledger (``Ledger.open(..., rehearsal=True)``; every key is
registered as a TEST key) covering a year of an organisation's key management, on an injected clock:

* a dozen people: two administrators, a witness, a security officer, eight custodians;
* four keys of different types and schemes: AES-256 Shamir 2-of-3, TDES triple-length Shamir 3-of-5,
  an HMAC secret in 3 XOR components, AES-128 Shamir 2-of-4; each generated in a full ceremony
  (preflight, plan, generate, private distribution with envelope serials, verification round, wipe,
  acknowledgement forms signed by each custodian, close) and one ceremony voided before generation;
* insecure-service exceptions (PCI DSS 1.2.6): one relied on in a ceremony and expired since, one active;
* a recovery of the TDES key, wrapped under a key-encryption key (if :mod:`ceremony.flows.recovery` is
  present);
* a departure (:mod:`ceremony.flows.departure`): a custodian of two keys leaves, both keys are flagged
  for replacement (3.7.5); what became of each envelope he held is recorded as an officer would: the ZMK
  share handed back sealed and destroyed by the security officer under a witness's eyes (a destruction
  certificate signed by both), the MAC component not handed back (an incident: still counted, still held
  by him);
* a reaffirmation round eleven months in (3.7.8), leaving one custodian overdue and one due soon
  (day 370, the demo's last day: Maria Costa overdue, Elena Petrova due within 30 days).

* a re-share of the AES key after the departure, to a new custodian set (its flag stays: only a new key
  clears it); the XOR key cannot be rebuilt without the departed custodian's component and stays flagged
  "must be replaced"; the next day a retirement ceremony takes up the old split the re-share retired and
  destroys its two remaining envelopes under dual control (a second destruction certificate), so the
  custody report shows the old split destroyed and the new one held;

Every signed paper is written where the TUI writes it, under ``ceremony-documents/`` beside the ledger
(:mod:`ceremony.documents.archive`): the ledger anchor page, each ceremony's acknowledgements and minutes in
``<ceremony id>/`` (:class:`~ceremony.flows.closeout.CloseOut`, as the TUI closes a ceremony), the minutes of
the voided ceremony, and the reaffirmation forms in ``reaffirmations/``. Each file's SHA-256 is the one its
``document.issued`` event records, so ``ceremony export`` bundles them and ``ceremony verify --document``
can be practised on every one.

Rehearsal only: identities use the light scrypt cost (N = 2**10) so the demo builds in seconds, and the
passphrases are published (``demo passphrase <employee id>``) so anyone can open the TUI as anyone. A
production ledger is never built this way: ``build_demo`` refuses an existing file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.documents import archive
from ceremony.errors import FlowError, InputError
from ceremony.flows import paperwork
from ceremony.flows.closeout import CloseOut
from ceremony.flows.enrolment import Newcomer, enroll_roster
from ceremony.flows.envelopes import Outcome
from ceremony.flows.exceptions import record_exception
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.reaffirmation import Reaffirmation, write_form
from ceremony.ledger.store import Ledger
from ceremony.preflight.exceptions import ExceptionRecord

# Rehearsal-only KDF cost (RFC 7914 scrypt, N = 2**10): unlocking takes milliseconds, not a second.
DEMO_KDF = ScryptParams(log2_n=10, r=8, p=1)

ROSTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Alice Morgan", "E1001", ("administrator",)),
    ("Omar Haddad", "E1002", ("administrator", "witness")),
    ("Walter Chen", "E1003", ("witness",)),
    ("Sophie Laurent", "E1004", ("security_officer", "witness")),
    ("Priya Raman", "E2001", ("custodian",)),
    ("Jonas Berg", "E2002", ("custodian",)),
    ("Maria Costa", "E2003", ("custodian",)),
    ("Kenji Sato", "E2004", ("custodian",)),
    ("Fatima Nouri", "E2005", ("custodian",)),
    ("Lucas Meyer", "E2006", ("custodian",)),
    ("Elena Petrova", "E2007", ("custodian",)),
    ("Tom O'Brien", "E2008", ("custodian",)),
)


ORGANISATION = "Example Payments Ltd (demo)"


def demo_passphrase(employee_id: str) -> SecretBytes:
    """The published passphrase of a demo participant (rehearsal ledgers only)."""
    return SecretBytes(f"demo passphrase {employee_id}".encode())


@dataclass
class DemoClock:
    """The injected clock: ``now`` moves only when the script says, plus a few seconds per event read."""

    now: datetime
    tick: timedelta = timedelta(seconds=15)

    def __call__(self) -> datetime:
        moment = self.now
        self.now += self.tick
        return moment

    def day(self, start: datetime, days: int, hour: int = 9) -> None:
        target = (start + timedelta(days=days)).replace(hour=hour, minute=0, second=0)
        self.now = max(self.now, target)


@dataclass(frozen=True)
class DemoSummary:
    path: Path
    events: int
    people: dict[str, str]  # employee id -> person id
    keys: dict[str, str]  # label -> key id
    start: datetime
    end: datetime
    overdue: tuple[str, ...]  # employee ids
    due_soon: tuple[str, ...]
    departed: tuple[str, ...]
    recovery: bool
    reshare: bool
    documents: Path = Path()  # the ledger's ceremony-documents/ folder
    papers: tuple[Path, ...] = ()  # every signed PDF the demo wrote there (the anchor page included)


@dataclass
class _Demo:
    ledger: Ledger
    clock: DemoClock
    start: datetime
    ids: dict[str, str] = field(default_factory=dict)  # employee id -> person id
    keys: dict[str, str] = field(default_factory=dict)
    # What each custodian wrote down at distribution (typed share text), kept for the recovery rehearsal.
    records: dict[tuple[str, int], tuple[str, bytearray]] = field(default_factory=dict)
    envelopes: dict[tuple[str, int], str] = field(default_factory=dict)
    papers: list[Path] = field(default_factory=list)  # every signed PDF written, in order
    retired_splits: list[str] = field(default_factory=list)  # splits a re-share retired

    def present(self, employee_id: str, role: str) -> PresentPerson:
        return Presence(self.ledger).authenticate(self.ids[employee_id], demo_passphrase(employee_id), role)

    @contextmanager
    def people(self, *who: tuple[str, str]) -> Iterator[list[PresentPerson]]:
        present = [self.present(e, r) for e, r in who]
        try:
            yield present
        finally:
            for person in present:
                person.leave()

    def on(self, days: int, hour: int = 9) -> None:
        self.clock.day(self.start, days, hour)

    def close_out(self, closing: CloseOut) -> None:
        """Run a ceremony's close-out as the TUI does; the demo stops if a paper failed."""
        closed = closing.run()
        self.papers.extend(closed.written)
        if closed.problems:
            raise FlowError("the demo's papers: " + "; ".join(closed.problems))

    def keep(self, document: paperwork.SignedDocument, ceremony_id: str) -> None:
        """Write a signed paper where the TUI writes it: ``ceremony-documents/<ceremony id>/``."""
        folder = archive.documents_folder(self.ledger.path, ceremony_id)
        self.papers.append(archive.write_new_file(folder / document.record.file_name, document.pdf))


def _preflight(relied_on: ExceptionRecord | None) -> dict[str, object]:
    """A preflight summary as the ledger records it; the demo never reads the machine it runs on."""
    counts = {"pass": 8, "insecure": 1 if relied_on else 0, "unknown": 0}
    coverage: dict[str, object] = {
        "blocked": False,
        "exceptions_relied_on": [relied_on.to_dict()] if relied_on else [],
        "uncovered": [],
    }
    return {"simulated": True, "report": {"counts": counts}, "coverage": coverage, "cleared": True}


def _generate(
    demo: _Demo,
    *,
    admin: str,
    witness: str,
    purpose: str,
    spec: KeySpec,
    scheme: Scheme,
    threshold: int,
    custodians: tuple[str, ...],
    exception: ExceptionRecord | None = None,
) -> str:
    ledger = demo.ledger
    with demo.people((admin, "administrator"), (witness, "witness")) as (a, w):
        ceremony = GenerationCeremony.start(ledger, a, w, purpose, rehearsal=True)
        ceremony.record_preflight(_preflight(exception), uncovered=[])
        plan = SplitPlan(scheme, threshold, tuple(demo.ids[c] for c in custodians))
        ceremony.plan_key(spec, plan)
        ceremony.generate()
        assert ceremony.key_id is not None
        for number, employee in enumerate(custodians, start=1):
            with demo.people((employee, "custodian")) as (me,):
                typed = ceremony.reveal(number, me)
                written = bytearray(typed.view())  # what the custodian writes on their card
                typed.wipe()
                serial = f"TE-{spec.label[:3].upper()}-{number:02d}{len(demo.envelopes) + 4100:05d}"
                ceremony.confirm_receipt(number, me, serial, "recorded")
                ceremony.verify_share(number, me, bytearray(written))
                demo.records[(ceremony.key_id, number)] = (employee, written)
                demo.envelopes[(ceremony.key_id, number)] = serial
        # The close-out the TUI runs: wipe, each custodian's acknowledgement, close, the minutes — every
        # signed PDF written under the ledger's ceremony-documents/<ceremony id>/ as it is signed.
        with demo.people(*((e, "custodian") for e in custodians)) as present:
            demo.close_out(CloseOut.generation(ledger, ceremony, dict(enumerate(present, start=1))))
        demo.keys[spec.label] = ceremony.key_id
        return ceremony.key_id


HEX_DIGITS = b"0123456789abcdef"


def _recover(demo: _Demo, key_label: str, holders: tuple[int, ...], kek_custodians: tuple[str, ...]) -> bool:
    """Rebuild a key from ``holders``' shares and wrap it under a test KEK (RFC 5649) formed from components
    typed by ``kek_custodians`` — as many as the key's threshold, so the wrapped file plus the KEK's
    components need as many people as the shares did (DESIGN §3)."""
    try:
        from ceremony.flows.recovery import RecoveryCeremony, WrappedOutput
    except ImportError:  # pragma: no cover - recovery is built in parallel
        return False
    key_id = demo.keys[key_label]
    with demo.people(("E1002", "administrator"), ("E1004", "witness")) as (a, w):
        ceremony = RecoveryCeremony.start(
            demo.ledger,
            a,
            w,
            key_id,
            WrappedOutput("HSM-2 key transport KEK (test)", tuple(demo.ids[e] for e in kek_custodians)),
            "Load the PIN encryption key into the replacement HSM",
            rehearsal=True,
        )
        ceremony.record_preflight(_preflight(None), uncovered=[])
        for number in holders:
            employee, written = demo.records[(key_id, number)]
            with demo.people((employee, "custodian")) as (me,):
                ceremony.inspect_envelope(number, me, demo.envelopes[(key_id, number)], True, True)
                ceremony.enter_share(me, bytearray(written))
        ceremony.rebuild()
        for employee in kek_custodians:
            component = Key.generate(KeyType.AES_256)  # what the KEK custodian brings, on paper
            typed = bytearray(2 * len(component))
            for i, byte in enumerate(
                component.material.view()
            ):  # hex digits, straight into a wipeable buffer
                typed[2 * i] = HEX_DIGITS[byte >> 4]
                typed[2 * i + 1] = HEX_DIGITS[byte & 15]
            try:
                with demo.people((employee, "custodian")) as (me,):
                    ceremony.enter_kek_component(me, typed)
            finally:
                typed[:] = bytes(len(typed))
                component.wipe()
        ceremony.wrap()
        demo.close_out(CloseOut.recovery(demo.ledger, ceremony))
    return True


def _depart(demo: _Demo, employee: str, reason: str, officer: PresentPerson, witness: PresentPerson) -> None:
    """Record the departure, then what became of each envelope the person held, as an officer would: the
    ZMK envelope handed back sealed and destroyed by the officer under the witness's eyes (serial read and
    checked); the MAC component's envelope not handed back (an incident: the component stays counted and
    held by the person who left). The destruction certificate, signed by both, is written beside the
    ledger under ``ceremony-documents/departure-<event>/``."""
    from ceremony.flows.departure import account_envelope, record_departure

    departure = record_departure(demo.ledger, demo.ids[employee], reason, officer, witness)
    outcomes = []
    for envelope in departure.envelopes:
        if envelope.key_label.startswith("MAC"):
            outcomes.append(
                account_envelope(
                    demo.ledger,
                    envelope,
                    Outcome.NOT_RETURNED,
                    officer,
                    witness,
                    note="not handed back on his last day: he says it is in his home safe; asked for it by "
                    "registered letter. The MAC key must be replaced",
                )
            )
        else:
            outcomes.append(
                account_envelope(
                    demo.ledger,
                    envelope,
                    Outcome.DESTROYED,
                    officer,
                    witness,
                    serial_read=envelope.serial,
                    returned_by=departure.name,
                )
            )
    if any(o.outcome is Outcome.DESTROYED for o in outcomes):
        _, written = paperwork.issue_destruction_certificate(
            demo.ledger, outcomes, officer, witness, occasion=f"Departure of {departure.name}"
        )
        demo.papers.append(written)


def _reshare(demo: _Demo, key_id: str, holders: tuple[int, ...], new_custodians: tuple[str, ...]) -> bool:
    """Rebuild ``key_id`` from ``holders``' shares and re-split it 2-of-3 to ``new_custodians``."""
    try:
        from ceremony.flows.common import SplitPlan as NewPlan
        from ceremony.flows.reshare import ReshareCeremony, ReshareReason
    except ImportError:  # pragma: no cover - re-share is built in parallel
        return False
    plan = NewPlan(Scheme.SHAMIR, 2, tuple(demo.ids[e] for e in new_custodians))
    with demo.people(("E1002", "administrator"), ("E1003", "witness")) as (a, w):
        ceremony = ReshareCeremony.start(
            demo.ledger,
            a,
            w,
            key_id,
            plan,
            ReshareReason.DEPARTURE,
            "Replace departed custodian Jonas Berg on the ZMK",
            rehearsal=True,
        )
        ceremony.record_preflight(_preflight(None), uncovered=[])
        for number in holders:
            employee, written = demo.records[(key_id, number)]
            with demo.people((employee, "custodian")) as (me,):
                ceremony.inspect_envelope(number, me, demo.envelopes[(key_id, number)], True, True)
                ceremony.enter_share(me, bytearray(written))
        ceremony.rebuild()
        ceremony.reshare()
        for number, employee in enumerate(new_custodians, start=1):
            with demo.people((employee, "custodian")) as (me,):
                typed = ceremony.reveal(number, me)
                written = bytearray(typed.view())
                typed.wipe()
                serial = f"TE-ZMK-R{number:02d}{len(demo.envelopes) + 4100:05d}"
                ceremony.confirm_receipt(number, me, serial, "recorded")
                ceremony.verify_share(number, me, bytearray(written))
                demo.envelopes[(key_id, 100 + number)] = serial
                written[:] = bytes(len(written))
        # No acknowledgements here: the demo's story keeps Maria Costa's last one on day 2 (overdue at the
        # end); the old split retires and the minutes are signed and written as in the TUI.
        demo.close_out(CloseOut.reshare(demo.ledger, ceremony, {}))
        demo.retired_splits.append(ceremony.old_split_id)
    return True


def _destroy_old_envelopes(demo: _Demo, split_id: str) -> None:
    """The envelopes of a split a re-share retired, accounted for as the re-share's close screen says: in a
    retirement ceremony (administrator and witness, preflight first) that takes the split up, each envelope
    handed back sealed, its serial read and checked, destroyed by the administrator under the witness's
    eyes; the destruction certificate (signed by both) and the minutes are written as the TUI writes them."""
    from ceremony.flows.retirement import RetirementCeremony

    with demo.people(("E1001", "administrator"), ("E1003", "witness")) as (a, w):
        ceremony = RetirementCeremony.start(
            demo.ledger,
            a,
            w,
            "Destroy the envelopes of the ZMK's old split, retired by its re-share",
            rehearsal=True,
            location="Vault room 2, HQ",
        )
        ceremony.record_preflight(_preflight(None), uncovered=[])
        for envelope in ceremony.account_for_split(split_id):
            ceremony.account_envelope(
                envelope, Outcome.DESTROYED, serial_read=envelope.serial, returned_by=envelope.holder_name
            )
        _, written = paperwork.issue_destruction_certificate(
            demo.ledger,
            ceremony.outcomes,
            a,
            w,
            occasion=f"Retirement ceremony {ceremony.ceremony_id}",
            ceremony_id=ceremony.ceremony_id,
            location=ceremony.location,
        )
        demo.papers.append(written)
        demo.close_out(CloseOut.retirement(demo.ledger, ceremony))


def build_demo(path: Path, *, start: datetime | None = None) -> DemoSummary:
    """Build the demo ledger at ``path`` (a new file). ``start`` is day 0 (default: a year and a few days
    ago, so that today the round of reaffirmations shows one custodian overdue)."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; the demo builds a new ledger file")
    begin = (start or datetime.now(UTC) - timedelta(days=370)).astimezone(UTC)
    begin = begin.replace(hour=8, minute=0, second=0, microsecond=0)
    clock = DemoClock(begin)
    ledger = Ledger.open(path, create=True, rehearsal=True, clock=clock)
    demo = _Demo(ledger, clock, begin)
    try:
        return _script(demo)
    finally:
        ledger.close()
        for _, written in demo.records.values():
            written[:] = bytes(len(written))


def _script(demo: _Demo) -> DemoSummary:
    ledger = demo.ledger
    # Day 0: the security officer founds the ledger, then enrols everyone else with a second person present.
    roster = [
        Newcomer(name, employee, roles, lambda e=employee: demo_passphrase(e))  # type: ignore[misc]
        for name, employee, roles in sorted(ROSTER, key=lambda r: "security_officer" not in r[2])
    ]
    demo.ids.update(enroll_roster(ledger, roster, organisation=ORGANISATION, kdf=DEMO_KDF, anchor_page=True))
    anchors = archive.documents_folder(ledger.path).glob(f"ledger-anchor-{ledger.info.ledger_id}*.pdf")
    demo.papers.extend(sorted(anchors))

    demo.on(2)
    zmk = _generate(
        demo,
        admin="E1001",
        witness="E1003",
        purpose="Generate the 2026 PIN zone master key (ZMK) for the acquirer link",
        spec=KeySpec(KeyType.AES_256, "ZMK-2026 acquirer zone master key", "PIN zone master key (ZMK)", 365),
        scheme=Scheme.SHAMIR,
        threshold=2,
        custodians=("E2001", "E2002", "E2003"),
    )

    demo.on(9)
    _generate(
        demo,
        admin="E1001",
        witness="E1003",
        purpose="Generate the TDES PIN encryption key for the legacy terminal estate",
        spec=KeySpec(
            KeyType.TDES_3KEY, "PEK-2026 terminal PIN encryption key", "PIN encryption key (PEK)", 730
        ),
        scheme=Scheme.SHAMIR,
        threshold=3,
        custodians=("E2004", "E2005", "E2006", "E2007", "E2008"),
    )

    # Day 12: the laptop's Bluetooth controller cannot be switched off in firmware; a 30-day exception.
    demo.on(12)
    with demo.people(("E1004", "security_officer"), ("E1003", "witness")) as (officer, witness):
        bluetooth = ExceptionRecord.new(
            check="radio.rfkill",
            subject="*",
            justification="The replacement ceremony laptop's Bluetooth controller has no firmware switch; "
            "the MAC key must be generated before the quarterly settlement run.",
            compensating_controls="Controller removed from the kernel (module blacklisted), room is "
            "RF-shielded, "
            "two witnesses check no device pairs during the ceremony.",
            approved_by=officer.person_id,
            witness=witness.person_id,
            created=demo.clock.now,
            expires=demo.clock.now + timedelta(days=30),
        )
        record_exception(ledger, bluetooth, officer, witness)

    demo.on(16)
    mac = _generate(
        demo,
        admin="E1002",
        witness="E1003",
        purpose="Generate the settlement file HMAC key",
        spec=KeySpec(
            KeyType.GENERIC, "MAC-2026 settlement file HMAC key", "HMAC-SHA-256 of settlement files", 365, 32
        ),
        scheme=Scheme.XOR,
        threshold=3,
        custodians=("E2002", "E2004", "E2007"),
        exception=bluetooth,
    )
    del mac

    # Day 33: a ceremony voided before any key existed (a custodian was ill).
    demo.on(33)
    with demo.people(("E1001", "administrator"), ("E1003", "witness")) as (a, w):
        voided = GenerationCeremony.start(
            ledger, a, w, "Generate the BDK for the new DUKPT estate", rehearsal=True
        )
        voided.record_preflight(_preflight(None), uncovered=[])
        voided.void("custodian Lucas Meyer is ill; ceremony rescheduled")
        demo.keep(paperwork.issue_minutes_for(ledger, voided.ceremony_id, a, w), voided.ceremony_id)

    demo.on(40)
    _generate(
        demo,
        admin="E1001",
        witness="E1003",
        purpose="Generate the BDK for the new DUKPT estate (rescheduled)",
        spec=KeySpec(
            KeyType.AES_128, "BDK-2026 DUKPT base derivation key", "AES DUKPT base derivation key", 1095
        ),
        scheme=Scheme.SHAMIR,
        threshold=2,
        custodians=("E2001", "E2005", "E2006", "E2008"),
    )

    # Day 150: recovery of the TDES key into a replacement HSM, wrapped under a test KEK.
    demo.on(150)
    recovery = _recover(
        demo, "PEK-2026 terminal PIN encryption key", (1, 2, 4), kek_custodians=("E2001", "E2002", "E2003")
    )

    # Day 200: Jonas Berg leaves; the ZMK and the MAC key he held a share of must be replaced (3.7.5).
    demo.on(200)
    with demo.people(("E1004", "security_officer"), ("E1003", "witness")) as (officer, witness):
        _depart(demo, "E2002", "left the organisation", officer, witness)

    # Day 210: the ZMK is re-shared to Priya Raman, Maria Costa and Tom O'Brien. Its flag stays: Jonas's old
    # card plus another old card still rebuild the same key, so only a new key clears it (3.7.5). The MAC key
    # and the PEK (Jonas typed a component of the KEK it was wrapped under) stay flagged too.
    demo.on(210)
    reshare = _reshare(demo, zmk, holders=(1, 3), new_custodians=("E2001", "E2003", "E2008"))

    # Day 211: the re-share retired the ZMK's old split without asking about its envelopes; Priya Raman and
    # Maria Costa hand back their old cards (in the envelopes whose serials were read at the re-share) and
    # Alice Morgan destroys them under Walter Chen's eyes, in a retirement ceremony that takes the old split
    # up. Jonas Berg's share of that split was destroyed on his last day.
    demo.on(211)
    for old_split in demo.retired_splits:
        _destroy_old_envelopes(demo, old_split)

    # Day 335-343: the annual reaffirmation round. Maria Costa (last acknowledged on day 2) does not come:
    # overdue from day 367. Elena Petrova (last acknowledged on day 16) is away: due within 30 days.
    flow = Reaffirmation(ledger, clock=lambda: demo.clock.now)
    wording = flow.wording()
    for offset, employee in enumerate(("E2001", "E2004", "E2005", "E2006", "E2008")):
        demo.on(335 + 2 * offset, hour=10)
        with demo.people((employee, "custodian"), ("E1004", "security_officer")) as (custodian, officer):
            record = flow.record(custodian, officer, wording)
        demo.papers.append(write_form(record, flow.default_form_path(employee)))

    # Day 350: a new exception for the next quarter's ceremonies (still active at the end).
    demo.on(350)
    with demo.people(("E1004", "security_officer"), ("E1002", "witness")) as (officer, witness):
        swap = ExceptionRecord.new(
            check="mem.swap",
            subject="*",
            justification="The ceremony laptop image keeps an encrypted swap partition required by "
            "its vendor.",
            compensating_controls="Swap is encrypted with a random key per boot; the laptop is powered off "
            "for two minutes after every ceremony.",
            approved_by=officer.person_id,
            witness=witness.person_id,
            created=demo.clock.now,
            expires=demo.clock.now + timedelta(days=60),
        )
        record_exception(ledger, swap, officer, witness)

    demo.on(370)
    return DemoSummary(
        path=ledger.path,
        events=ledger.size(),
        people=dict(demo.ids),
        keys=dict(demo.keys),
        start=demo.start,
        end=demo.clock.now,
        overdue=("E2003",),
        due_soon=("E2007",),
        departed=("E2002",),
        recovery=recovery,
        reshare=reshare,
        documents=archive.documents_folder(ledger.path),
        papers=tuple(demo.papers),
    )
