"""What the ceremonies share: who is present, the key register read back from the ledger, split planning
with its custody dry run, and private distribution of new shares (DESIGN §4.2–4.6).

Generation, recovery, re-share and retirement all need the same few things, kept here once:

* :class:`Present` / :class:`LedgerWriter` — what a flow needs of a person and of the ledger;
* :class:`Recorder` — writes one ceremony's events (ceremony id in every payload, signers as actors);
* :func:`record_preflight_run` / :func:`ceremony_location` — the air-gap preflight as every ceremony
  records it (blocking on uncovered findings; record-only in rehearsals), and where it takes place;
* :func:`read_register` — the register (:mod:`ceremony.ledger.register`): keys, splits, envelopes and
  retirements as the ledger recorded them;
* :func:`check_split_plan` / :func:`dry_run_split` — dual control and the custody rule (PCI DSS 3.7.6)
  checked over the whole history before anything is generated;
* :func:`split_for_plan` / :func:`split_created_payload` — the split and what ``split.created`` records;
* :class:`ShareDistribution` — reveal each share to its own custodian (exposure recorded first), receipt
  with the envelope serial, and the verification round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ceremony.crypto import recipes
from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.keys import Key
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import (
    CustodyViolationError,
    DemonstratedKnowledgeError,
    DualControlError,
    FlowError,
    InputError,
    RehearsalMixError,
    ShareError,
)
from ceremony.ledger.events import Event
from ceremony.ledger.participants import people_from
from ceremony.ledger.register import Register
from ceremony.policy.custody import Coalition, CustodyHistory, Exposure, SplitRecord

# --- what a flow needs from a present person and from the ledger -----------------------------------------


class Present(Protocol):
    """An authenticated participant: their passphrase unlocked their key (DESIGN §1)."""

    @property
    def person_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class LedgerWriter(Protocol):
    def append(
        self,
        event_type: str,
        payload: Mapping[str, Any],
        actors: Sequence[str],
        signers: Sequence[Any] = (),
    ) -> Any: ...

    def custody(self) -> CustodyHistory: ...

    def events(self) -> Iterable[Any]: ...


@dataclass
class Recorder:
    """Writes one ceremony's events: the ceremony id goes into every payload, the signers are the actors."""

    ledger: LedgerWriter
    ceremony_id: str

    def __call__(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        body = {"ceremony_id": self.ceremony_id, **payload}
        actors = list(dict.fromkeys(s.person_id for s in signers))
        return self.ledger.append(event_type, body, actors, signers)


def check_ledger_kind(ledger: object, rehearsal: bool) -> None:
    """Refuse a rehearsal on a production ledger and a production ceremony on a rehearsal ledger: test and
    production keys never share a ledger (PCI DSS 3.6.1.1). A ledger without ``info`` is not checked."""
    info = getattr(ledger, "info", None)
    marked = getattr(info, "rehearsal", None)
    if marked is None or bool(marked) == rehearsal:
        return
    if rehearsal:
        raise RehearsalMixError(
            "this is a production ledger: a rehearsal (TEST key) cannot run on it — use a separate "
            "rehearsal ledger (PCI DSS 3.6.1.1: test and production keys never mix)"
        )
    raise RehearsalMixError(
        "this is a rehearsal ledger: it holds TEST keys only, a production key cannot be generated on it — "
        "use the production ledger (PCI DSS 3.6.1.1: test and production keys never mix)"
    )


def require_security_officer(ledger: LedgerWriter, person: Present) -> None:
    """Refuse, before anything is written, a decision by someone not enrolled as a security officer (the
    ledger's signing rule would refuse the event too, but only after the people typed their passphrases)."""
    roles = {p.person_id: p.roles for p in people_from(ledger.events())}
    if "security_officer" not in roles.get(person.person_id, ()):
        raise DualControlError(f"{person.person_id} is not enrolled as a security officer")


def check_control_never_knew(
    history: CustodyHistory, key_id: str, administrator: Present, witness: Present
) -> None:
    """The administrator and the witness of a ceremony that touches ``key_id`` never knew any part of it (a
    share, a component, a transport key's component): control roles and custody stay apart (DESIGN §1)."""
    knew = history.people_who_knew(key_id)
    for role, person in (("administrator", administrator), ("witness", witness)):
        if person.person_id in knew:
            raise DualControlError(
                f"the {role} ({person.person_id}) has had knowledge of a part of key {key_id}; "
                "control roles go to people who never held any part of it (DESIGN §1)"
            )


def distinct(*people: Present) -> None:
    """Dual control (DESIGN §1): one person never fills two control roles in one step."""
    ids = [p.person_id for p in people]
    if len(set(ids)) != len(ids):
        raise DualControlError("one person cannot fill two control roles in the same step")


# --- the air-gap preflight, recorded the same way by every ceremony (DESIGN §4.1) -------------------------


def record_preflight_run(
    record: Recorder,
    signers: Sequence[Present],
    summary: Mapping[str, Any],
    uncovered: Sequence[str],
    *,
    rehearsal: bool,
    record_only: bool = False,
) -> None:
    """Record one ``preflight.run`` for a ceremony; an insecure finding that no active exception covers
    blocks it (PCI DSS 1.2.6): the run is recorded as blocked, then :class:`FlowError` is raised.

    ``record_only`` (rehearsals only): a training laptop is not air-gapped, so the findings are recorded
    and the ceremony is marked ``rehearsal-not-air-gapped`` instead of blocked; refused on a production
    ceremony with :class:`RehearsalMixError`. Recovery, re-share and retirement record their preflight
    through here, with the payload and refusals of generation's ``record_preflight``."""
    if record_only and not rehearsal:
        raise RehearsalMixError(
            "preflight findings can be recorded without blocking only in a rehearsal; "
            "a production ceremony is blocked until each finding is fixed or excepted (PCI DSS 1.2.6)"
        )
    if record_only:
        record(
            "preflight.run",
            {
                **summary,
                "uncovered": list(uncovered),
                "blocked": False,
                "record_only": True,
                "air_gap": "rehearsal-not-air-gapped" if uncovered else "clear",
            },
            signers,
        )
        return
    record("preflight.run", {**summary, "uncovered": list(uncovered), "blocked": bool(uncovered)}, signers)
    if uncovered:
        raise FlowError(
            "preflight found insecure conditions without an active exception: "
            + ", ".join(uncovered)
            + " — fix them, or a security officer records a justified exception (PCI DSS 1.2.6)"
        )


def ceremony_location(location: str | None) -> dict[str, str]:
    """The ``location`` field of ``ceremony.started`` (where the ceremony takes place, printed in the
    minutes), or nothing when none was given."""
    text = (location or "").strip()
    if len(text) > 200:
        raise InputError("the ceremony's location is at most 200 characters")
    return {"location": text} if text else {}


# --- the key register, read back from the ledger --------------------------------------------------------


def read_register(events: Iterable[Event]) -> Register:
    """Keys, splits, people, ceremonies... as the ledger recorded them (pass ``ledger.events()``); the
    register of :mod:`ceremony.ledger.register`, kept under this name for its callers."""
    return Register.from_events(events)


# --- planning a split -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitPlan:
    scheme: Scheme
    threshold: int
    custodians: tuple[str, ...]  # person id per share number (index 0 = share 1)

    @property
    def count(self) -> int:
        return len(self.custodians)


def check_split_plan(plan: SplitPlan, control: Mapping[str, str]) -> None:
    """Scheme limits, control roles not custodians, one share per custodian (PCI DSS 3.7.6).

    ``control`` maps the person id of each control role present (administrator, witness) to its name.
    """
    if plan.scheme is Scheme.XOR and plan.threshold != plan.count:
        raise InputError("XOR components are n-of-n: the threshold equals the number of components")
    if plan.scheme is Scheme.XOR and not 2 <= plan.count <= 9:
        raise InputError(f"XOR splits have 2 to 9 components, not {plan.count}")
    if plan.scheme is Scheme.SHAMIR and not 2 <= plan.threshold <= plan.count <= 255:
        raise InputError(f"a Shamir split needs 2 ≤ m ≤ n ≤ 255; got m={plan.threshold}, n={plan.count}")
    for number, person in enumerate(plan.custodians, start=1):
        if person in control:
            raise DualControlError(
                f"the {control[person]} cannot also be the custodian of share {number} "
                "(DESIGN §1: control roles and custody are held by different people)"
            )
    seen: dict[str, int] = {}
    for number, person in enumerate(plan.custodians, start=1):
        if person in seen:
            raise DualControlError(
                f"{person} would hold share {seen[person]} and share {number} of the same split "
                "(PCI DSS 3.7.6: no one may hold two components of one key)"
            )
        seen[person] = number


def dry_run_split(history: CustodyHistory, key_id: str, split_id: str, plan: SplitPlan) -> None:
    """The custody rule over the whole history (old splits of the key included) with the planned split
    added and each share assigned; raises :class:`CustodyViolationError` naming the forbidding event.

    A later split of an existing key below the key's quorum (its first split's threshold, or the value a
    ``key.quorum_lowered`` set) is refused too, naming the people who could then rebuild it: a 3-of-5 key
    recovered into two XOR components would be rebuilt by those two (DESIGN §3)."""
    quorum = history.quorum(key_id)
    if quorum is not None and plan.threshold < quorum:
        everyone = ", ".join(plan.custodians)
        who = (
            f"the {plan.count} planned component custodians ({everyone})"
            if plan.threshold == plan.count
            else f"any {plan.threshold} of the planned custodians ({everyone})"
        )
        try:
            history.check_split(
                SplitRecord(key_id, split_id, plan.scheme.value, plan.threshold, plan.count, 0)
            )
        except CustodyViolationError as exc:
            raise CustodyViolationError(
                f"{plan.threshold} people, {who}, could together rebuild key {key_id}: {exc}",
                forbidding_seq=exc.forbidding_seq,
            ) from None
    history.add_split(SplitRecord(key_id, split_id, plan.scheme.value, plan.threshold, plan.count, 0))
    for number, person in enumerate(plan.custodians, start=1):
        history.record(Exposure(0, person, split_id, number, "assigned"))


def split_for_plan(key: Key, key_id: str, split_id: str, plan: SplitPlan) -> recipes.SplitResult:
    if plan.scheme is Scheme.SHAMIR:
        return recipes.split_key(key, key_id, split_id, plan.threshold, plan.count)
    return recipes.split_key_into_components(key, key_id, split_id, plan.count)


def split_created_payload(
    key_id: str, split_id: str, plan: SplitPlan, split: recipes.SplitResult
) -> dict[str, Any]:
    """What ``split.created`` records: parameters, custodians, commitments, component KCVs (never shares)."""
    return {
        "key_id": key_id,
        "split_id": split_id,
        "scheme": plan.scheme.value,
        "threshold": plan.threshold,
        "shares": plan.count,
        "custodians": list(plan.custodians),
        "commitments": {str(n): c.hex() for n, c in split.commitments.items()},
        **(
            {
                "share_kcvs": {str(n): k.value.hex() for n, k in split.component_kcvs.items()},
                "share_kcv_method": split.key_check_value.method,
            }
            if split.component_kcvs
            else {}
        ),
    }


# --- private distribution of a new split ----------------------------------------------------------------


@dataclass
class Distribution:
    """Per share number: what has happened to it in this ceremony."""

    shown: bool = False
    envelope_serial: str | None = None
    verified: bool = False
    verify_failures: int = 0


def normalise_serial(text: str) -> str:
    serial = text.strip().upper()
    if not serial or len(serial) > 40 or not all(c.isalnum() or c in "-/" for c in serial):
        raise InputError("enter the envelope's serial number as printed (letters, digits, '-' or '/')")
    return serial


# --- demonstrated knowledge: a person typed a share that was not theirs (DESIGN §3) ------------------------

DEMONSTRATED_KIND = "demonstrated_knowledge"  # incident.recorded kind
DEMONSTRATED_DECISIONS = ("continue", "void")  # what a security officer may decide


@dataclass
class DemonstratedIncident:
    """A valid share typed by someone who did not hold it: the exposure (kind "demonstrated") and the
    incident are recorded; ``broken`` is the key's coalition when the custody rule no longer holds."""

    seq: int  # the incident.recorded event
    exposure_seq: int  # the share.exposed (demonstrated) event
    person_id: str
    key_id: str
    split_id: str
    share_number: int
    broken: Coalition | None
    decision: str | None = None

    @property
    def blocks(self) -> bool:
        """The ceremony may not go on: undecided, decided "void", or the rule broke."""
        return self.decision != "continue" or self.broken is not None

    def broken_text(self) -> str:
        if self.broken is None:
            return ""
        return (
            f" The custody rule no longer holds for key {self.key_id}: "
            f"{self.broken.size} {'person' if self.broken.size == 1 else 'people'} "
            f"({', '.join(self.broken.members)}) could now rebuild it from {self.broken.route()} (PCI DSS "
            f"3.7.6). The ceremony cannot continue on split {self.split_id}: void it; the key must be "
            "replaced by a new key."
        )

    def refusal(self) -> DemonstratedKnowledgeError:
        """Why the next step is refused while this incident stands."""
        if self.broken is not None:
            state = f"decided {self.decision!r}" if self.decision else "awaiting a security officer"
            message = f"demonstrated knowledge (incident #{self.seq}, {state})." + self.broken_text()
        elif self.decision == "void":
            message = (
                f"a security officer decided to stop after the demonstrated knowledge of incident "
                f"#{self.seq}: void the ceremony"
            )
        else:
            message = (
                f"{self.person_id} typed share {self.share_number} of split {self.split_id}, which was not "
                f"theirs (incident #{self.seq}): nothing goes on until a security officer decides "
                "(continue or void)"
            )
        return DemonstratedKnowledgeError(
            message,
            self.seq,
            broken=self.broken is not None,
            coalition=self.broken.members if self.broken else (),
        )


def record_demonstrated(
    record: Recorder,
    administrator: Present,
    witness: Present,
    person_id: str,
    key_id: str,
    split_id: str,
    share_number: int,
    where: str,
) -> DemonstratedIncident:
    """Record that ``person_id`` typed share ``share_number`` of ``split_id`` (not theirs): the exposure
    (kind "demonstrated", never refused: it happened) and an incident, both signed by the administrator and
    the witness; then whether the key's custody rule still holds."""
    exposure = record(
        "share.exposed",
        {
            "person_id": person_id,
            "split_id": split_id,
            "share_number": share_number,
            "kind": "demonstrated",
        },
        (administrator, witness),
    )
    incident = record(
        "incident.recorded",
        {
            "key_id": key_id,
            "split_id": split_id,
            "share_number": share_number,
            "kind": DEMONSTRATED_KIND,
            "what": f"{person_id} typed share {share_number} of split {split_id}, which was not theirs, "
            f"{where}: demonstrated knowledge of that share (exposure event #{exposure.seq})",
        },
        (administrator, witness),
    )
    broken = record.ledger.custody().broken(key_id)
    return DemonstratedIncident(incident.seq, exposure.seq, person_id, key_id, split_id, share_number, broken)


def demonstrated_error(incident: DemonstratedIncident) -> DemonstratedKnowledgeError:
    """The error raised right after recording: what happened, and what follows."""
    message = (
        f"{incident.person_id} typed share {incident.share_number} of split {incident.split_id}, which is "
        f"not theirs: demonstrated knowledge, recorded (event #{incident.exposure_seq}) with incident "
        f"#{incident.seq}. The ceremony waits for a security officer's decision."
    )
    return DemonstratedKnowledgeError(
        message + incident.broken_text(),
        incident.seq,
        broken=incident.broken is not None,
        coalition=incident.broken.members if incident.broken else (),
    )


def decide_demonstrated(
    record: Recorder,
    incident: DemonstratedIncident,
    security_officer: Present,
    witness: Present,
    decision: str,
    reason: str,
) -> None:
    """A security officer (enrolled as such, not the person who typed) and the witness decide the incident:
    "continue" (only while the key's custody rule holds) or "void" (the ceremony is voided)."""
    if incident.decision is not None:
        raise FlowError(f"incident #{incident.seq} was already decided ({incident.decision})")
    if decision not in DEMONSTRATED_DECISIONS:
        raise InputError("the decision is 'continue' (the ceremony goes on) or 'void' (it is voided)")
    if not reason.strip():
        raise InputError("record the reason for the decision; it goes into the minutes")
    require_security_officer(record.ledger, security_officer)
    distinct(security_officer, witness)
    if security_officer.person_id == incident.person_id:
        raise DualControlError("the person who typed the share cannot decide about their own incident")
    incident.broken = record.ledger.custody().broken(incident.key_id)  # a quorum may have been lowered
    if decision == "continue" and incident.broken is not None:
        raise CustodyViolationError(
            f"incident #{incident.seq} cannot be decided 'continue'." + incident.broken_text(),
            forbidding_seq=incident.exposure_seq,
        )
    record(
        "incident.decided",
        {
            "key_id": incident.key_id,
            "split_id": incident.split_id,
            "share_number": incident.share_number,
            "incident_seq": incident.seq,
            "decision": decision,
            "reason": reason.strip(),
        },
        (security_officer, witness),
    )
    incident.decision = decision


@dataclass
class ShareDistribution:
    """Distributes the shares of one new split, one custodian at a time, under the witness (DESIGN §4.2).

    A share is returned to the view only after the exposure that records it is committed; the ledger
    refuses an exposure that breaks the custody rule (PCI DSS 3.7.6).
    """

    record: Recorder
    witness: Present
    split_id: str
    custodians: tuple[str, ...]
    split: recipes.SplitResult
    # Signs, with the witness, the demonstrated knowledge a verification round may reveal (DESIGN §3).
    administrator: Present | None = None
    state: dict[int, Distribution] = field(default_factory=dict)
    incidents: list[DemonstratedIncident] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = {n: Distribution() for n in range(1, len(self.custodians) + 1)}

    @property
    def key_id(self) -> str:
        return self.split.shares[0].key_id

    @property
    def blocking_incident(self) -> DemonstratedIncident | None:
        """The demonstrated-knowledge incident that stops the distribution (undecided, decided "void", or
        the custody rule broke), if any."""
        return next((i for i in self.incidents if i.blocks), None)

    def _not_blocked(self) -> None:
        incident = self.blocking_incident
        if incident is not None:
            raise incident.refusal()

    def decide_incident(self, security_officer: Present, decision: str, reason: str) -> None:
        """A security officer and the witness decide the open demonstrated-knowledge incident."""
        incident = next((i for i in self.incidents if i.decision is None), None)
        if incident is None:
            raise FlowError("there is no open demonstrated-knowledge incident to decide")
        decide_demonstrated(self.record, incident, security_officer, self.witness, decision, reason)

    def custodian_of(self, number: int) -> str:
        if number not in self.state:
            raise InputError(f"there is no share {number} in this split")
        return self.custodians[number - 1]

    def _share(self, number: int) -> Share:
        return self.split.shares[number - 1]

    def _check(self, number: int, custodian: Present) -> None:
        expected = self.custodian_of(number)
        if custodian.person_id != expected:
            raise DualControlError(f"share {number} is assigned to {expected}, not {custodian.person_id}")
        distinct(custodian, self.witness)

    def reveal(self, number: int, custodian: Present) -> SecretBytes:
        """Record the exposure (``shown``), then return the typed form for that custodian alone."""
        self._check(number, custodian)
        self._not_blocked()
        self.record(
            "share.exposed",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "kind": "shown",
            },
            (custodian, self.witness),
        )
        self.state[number].shown = True
        return encode_share(self._share(number))

    def share_for_card(self, number: int, custodian: Present) -> SecretBytes:
        """The typed form again, for that custodian's share card — only after it was shown to them (its
        exposure is already recorded); the card's own printing is recorded by the caller."""
        self._check(number, custodian)
        self._not_blocked()
        if not self.state[number].shown:
            raise FlowError(f"share {number} has not been shown to its custodian yet")
        return encode_share(self._share(number))

    def confirm_receipt(self, number: int, custodian: Present, envelope_serial: str, method: str) -> None:
        """The custodian signs receipt; the tamper-evident envelope's serial is recorded."""
        self._check(number, custodian)
        self._not_blocked()
        if not self.state[number].shown:
            raise FlowError(f"share {number} has not been shown to its custodian yet")
        serial = normalise_serial(envelope_serial)
        used = {d.envelope_serial: n for n, d in self.state.items() if d.envelope_serial}
        if serial in used and used[serial] != number:
            raise InputError(f"envelope {serial} already holds share {used[serial]}")
        if method not in ("recorded", "card"):
            raise InputError("receipt method is 'recorded' (custodian wrote it down) or 'card' (printed)")
        self.record(
            "share.received",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "envelope_serial": serial,
                "method": method,
            },
            (custodian, self.witness),
        )
        self.state[number].envelope_serial = serial

    def verify_share(self, number: int, custodian: Present, typed: bytes | bytearray | str) -> bool:
        """Verification round: the re-entered share must equal the one issued; each try is recorded.

        A valid share of this split that is not the custodian's (it equals the share issued under another
        number) is demonstrated knowledge (DESIGN §3): the exposure (kind "demonstrated") and an incident
        are recorded, signed by the administrator and the witness, and
        :class:`DemonstratedKnowledgeError` is raised; nothing goes on until a security officer decides
        (:meth:`decide_incident`), and never if the custody rule broke."""
        self._check(number, custodian)
        self._not_blocked()
        if self.state[number].envelope_serial is None:
            raise FlowError(f"share {number}'s receipt has not been signed yet")
        try:
            entered = decode_share(typed, expected_split_id=self.split_id)
        except (ShareError, InputError) as exc:
            self.state[number].verify_failures += 1
            self._record_verification(number, custodian, False, type(exc).__name__)
            raise
        other: int | None = None
        try:
            ok = entered.number == number and entered.data == self._share(number).data
            if not ok and entered.number != number and self._issued(entered):
                known = self.record.ledger.custody().first_exposures(self.split_id)
                if entered.number not in known.get(custodian.person_id, {}):
                    other = entered.number
        finally:
            entered.wipe()
        if other is not None:
            self._demonstrated(number, custodian, other)
        if not ok:
            self.state[number].verify_failures += 1
        self._record_verification(number, custodian, ok, None if ok else "differs from the issued share")
        self.state[number].verified = self.state[number].verified or ok
        return ok

    def _issued(self, entered: Share) -> bool:
        """``entered`` is exactly the share issued under its number (same parameters, same bytes)."""
        if entered.number not in self.state:
            return False
        issued = self._share(entered.number)
        same = (entered.scheme, entered.threshold, entered.count) == (
            issued.scheme,
            issued.threshold,
            issued.count,
        )
        return same and entered.data == issued.data

    def _demonstrated(self, number: int, custodian: Present, other: int) -> None:
        if self.administrator is None:
            raise FlowError("demonstrated knowledge is recorded by the administrator and the witness")
        self.state[number].verify_failures += 1
        incident = record_demonstrated(
            self.record,
            self.administrator,
            self.witness,
            custodian.person_id,
            self.key_id,
            self.split_id,
            other,
            f"in the verification round of share {number} (held by {self.custodian_of(other)})",
        )
        self.incidents.append(incident)
        raise demonstrated_error(incident)

    def _record_verification(self, number: int, custodian: Present, ok: bool, reason: str | None) -> None:
        self.record(
            "share.verified",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "ok": ok,
                **({"reason": reason} if reason else {}),
            },
            (custodian, self.witness),
        )

    def unverified(self) -> list[int]:
        return [n for n, d in self.state.items() if not d.verified]

    def wipe(self) -> None:
        self.split.wipe()
