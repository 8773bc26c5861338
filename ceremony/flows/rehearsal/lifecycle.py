"""The rest of a key's life rehearsed (issue 7): recovery, re-share and retirement, played from a lifecycle
script through the real :class:`~ceremony.flows.recovery.RecoveryCeremony`,
:class:`~ceremony.flows.reshare.ReshareCeremony` and :class:`~ceremony.flows.retirement.RetirementCeremony`.

The shares come from a rehearsal's output folder (``shares_from``): the share cards a generation (or
re-share) rehearsal wrote there are read back (:mod:`~ceremony.flows.rehearsal.cards`) exactly as a custodian
would read them off the card. Each ``[[steps]]`` entry presents one share (or asks for the rebuild);
deliberate mistakes (a card of another key's folder, a tampered card, a duplicate, too few shares, a wrong
envelope serial, a broken seal) are played through the real engines, and every refusal is reported next to
what the script said to expect (:mod:`~ceremony.flows.rehearsal.expect`). The ceremony ends with the one
close-out (:class:`ceremony.flows.closeout.CloseOut`), or, voided, with its minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.crypto.codec import ShareHeader, read_header, share_text
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.documents.render import render_share_card
from ceremony.documents.templates import FormSet
from ceremony.errors import (
    BadShareError,
    CeremonyError,
    InputError,
    KCVMismatchError,
    KeyBlockError,
    PolicyError,
    RetiredKeyError,
    ShareError,
)
from ceremony.flows import paperwork
from ceremony.flows.closeout import Closed, CloseOut
from ceremony.flows.common import read_register
from ceremony.flows.generation import SplitPlan
from ceremony.flows.keyblock_check import KeyBlockCheck
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import (
    ChosenOutput,
    ComponentsOutput,
    KeyBlockOutput,
    RecoveryCeremony,
    TokenOutput,
    WrappedOutput,
    header_summary,
)
from ceremony.flows.recovery import Stage as RecoveryStage
from ceremony.flows.rehearsal.cards import (
    ShareSource,
    card_share_text,
    lifecycle_card_data,
    read_share_source,
    tampered_share_text,
)
from ceremony.flows.rehearsal.expect import REFUSALS, outcome_matches, reason_of, step_matches
from ceremony.flows.rehearsal.report import (
    LIFECYCLE_README,
    ManifestEntry,
    Papers,
    lifecycle_report,
    papers_missing,
    prepare_out_dir,
    write_manifest,
)
from ceremony.flows.rehearsal.room import (
    air_gap_preflight,
    enroll,
    forms_for,
    open_rehearsal_ledger,
    resolve_key_ref,
)
from ceremony.flows.rehearsal.script import LifecycleScript, ScriptError, ScriptStep
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.reshare import Stage as ReshareStage
from ceremony.flows.retirement import RetirementCeremony, ReturnedEnvelope
from ceremony.ledger import participants as enrolment
from ceremony.ledger.store import Ledger


@dataclass(frozen=True)
class StepOutcome:
    index: int  # 1-based step number in the script (0: the rebuild done at the end, not scripted)
    action: str  # "present" | "rebuild"
    share: int | None
    presented_by: str  # employee id
    result: str  # "accepted" | "refused" | "rebuilt"
    reason: str  # one of REFUSAL_REASONS when refused
    error: str  # the error class when refused
    message: str  # what the custodians were told (never share material)
    progress: str  # "k of m" after the step
    bad_shares: tuple[int, ...]
    expected: str
    as_expected: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.index,
            "action": self.action,
            "share": self.share,
            "presented_by": self.presented_by,
            "result": self.result,
            "reason": self.reason,
            "error": self.error,
            "message": self.message,
            "progress": self.progress,
            "bad_shares": list(self.bad_shares),
            "expected": self.expected,
            "as_expected": self.as_expected,
        }


@dataclass(frozen=True)
class LifecycleResult:
    kind: str
    ceremony_id: str
    ledger_id: str
    key_id: str
    split_id: str  # the split in force after the ceremony (a re-share's new split)
    kcv: str
    outcome: str  # "completed" | "voided" | "refused: REASON" (refused at start)
    expected_outcome: str
    steps: tuple[StepOutcome, ...]
    closing_checkpoint: str
    out_dir: Path
    documents: tuple[ManifestEntry, ...]
    seconds: float

    @property
    def as_expected(self) -> bool:
        outcome_ok = outcome_matches(self.outcome, self.expected_outcome)
        return outcome_ok and all(s.as_expected for s in self.steps)


@dataclass
class _Life:
    ledger: Ledger
    script: LifecycleScript
    out_dir: Path
    base: Path
    forms: FormSet
    presence: Presence
    ids: dict[str, str]
    source: ShareSource
    outcomes: list[StepOutcome] = field(default_factory=list)
    present: dict[tuple[str, str], PresentPerson] = field(default_factory=dict)
    ceremony_id: str = ""  # once a ceremony started: it ends with minutes, also when voided (DESIGN §4.7)
    refs: Mapping[str, str] = field(default_factory=dict)  # a sequence's stage names -> key ids
    papers: Papers = field(init=False)

    def __post_init__(self) -> None:
        self.papers = Papers(self.out_dir)

    def write(self, relative: str, data: bytes | memoryview, kind: str, subject: str) -> ManifestEntry:
        return self.papers.write(relative, data, kind, subject)

    def papers_here(self) -> dict[str, Any]:
        """Where the close-out (:mod:`ceremony.flows.closeout`) puts its papers: this output folder."""
        return {
            "location": self.script.location,
            "folder": self.out_dir,
            "keep": self.papers.keep,
            "forms": self.forms,
        }

    def custodians(self, employee_ids: Sequence[str]) -> dict[int, PresentPerson]:
        """The new custodians, by share or component number, authenticated."""
        return {n: self.person(eid, "custodian") for n, eid in enumerate(employee_ids, start=1)}

    def person(self, eid: str, role: str) -> PresentPerson:
        """Authenticate once per person and role (their rehearsal passphrase)."""
        if (eid, role) not in self.present:
            passphrase = SecretBytes(self.script.person(eid).passphrase.encode("utf-8"))
            self.present[(eid, role)] = self.presence.authenticate(self.ids[eid], passphrase, role)
        return self.present[(eid, role)]

    def employee_id(self, person_id: str) -> str:
        for eid, pid in self.ids.items():
            if pid == person_id:
                return eid
        who = enrolment.participant(self.ledger, person_id)
        raise ScriptError(
            f"{who.name} ({who.employee_id}) holds a share presented here but is not listed under "
            "[[participants]] (their rehearsal passphrase is needed)"
        )

    def resolve(self, folder: str) -> Path:
        path = Path(folder)
        return path if path.is_absolute() else self.base / path

    def leave(self) -> None:
        for person in self.present.values():
            person.leave()


def run_lifecycle(
    script: LifecycleScript,
    ledger_path: Path,
    out_dir: Path,
    *,
    shares_from: Path | None = None,
    base: Path | None = None,
    refs: Mapping[str, str] | None = None,
) -> LifecycleResult:
    """Run a recovery, re-share or retirement script on the rehearsal ledger ``ledger_path`` (which holds
    the key of ``shares_from``), writing its outputs, ``report.txt`` and ``manifest.json`` into ``out_dir``.

    Relative folders in the script are taken from ``base`` (default: the current directory);
    ``shares_from`` overrides the script's. Refusals the script provoked are reported in
    :attr:`LifecycleResult.steps`, not raised; a script error or an unexpected failure voids the ceremony
    and is raised.
    """
    started = time.perf_counter()
    base = Path.cwd() if base is None else Path(base)
    source = read_share_source(Path(shares_from) if shares_from else base / script.shares_from)
    forms = forms_for(script)
    ledger_path = Path(ledger_path)
    if not ledger_path.exists():
        raise InputError(
            f"{ledger_path} does not exist: give the rehearsal ledger the share cards of {source.folder} "
            "were issued on"
        )
    ledger = open_rehearsal_ledger(ledger_path)
    try:
        prepare_out_dir(Path(out_dir))
        ids = enroll(ledger, script)
        presence = Presence(ledger)
        life = _Life(ledger, script, Path(out_dir), base, forms, presence, ids, source, refs=refs or {})
        try:
            if script.kind == "retirement":
                return _run_retirement(life, started)
            if script.kind == "key_block_check":
                return _run_key_block_check(life, started)
            return _run_rebuilding(life, started)  # recovery, or the recovery part of a re-share
        finally:
            life.leave()
    finally:
        ledger.close()


def _start_refused(life: _Life, exc: CeremonyError, started: float) -> LifecycleResult:
    reason = reason_of(exc, at_start=True)
    matched = outcome_matches(f"refused: {reason}", life.script.expect)
    step = StepOutcome(
        0,
        "start",
        None,
        life.script.administrator,
        "refused",
        reason,
        type(exc).__name__,
        str(exc),
        "",
        (),
        life.script.expect,
        matched,
    )
    life.outcomes.append(step)
    return _life_finish(life, "", f"refused: {reason}", started, kcv="")


def _open_recovery(life: _Life) -> tuple[RecoveryCeremony, ReshareCeremony | None]:
    script, ledger = life.script, life.ledger
    admin = life.person(script.administrator, "administrator")
    witness = life.person(script.witness, "witness")
    split_id, check = life.source.split_id, script.check_commitments
    if script.kind == "reshare":
        plan = SplitPlan(
            Scheme.SHAMIR, script.threshold, tuple(life.ids[s.custodian] for s in script.new_shares)
        )
        try:
            reason = ReshareReason(script.reshare_reason)
        except ValueError:
            raise ScriptError(
                f"[reshare]: reason is one of {', '.join(r.value for r in ReshareReason)}"
            ) from None
        reshare = ReshareCeremony.start(
            ledger,
            admin,
            witness,
            life.source.key_id,
            plan,
            reason,
            script.purpose,
            split_id=split_id,
            check_commitments=check,
            rehearsal=True,
            location=script.location or None,
        )
        return reshare.recovery, reshare
    assert script.output is not None
    output: ChosenOutput
    plan_out = script.output
    if plan_out.kind == "components":
        output = ComponentsOutput(tuple(life.ids[e] for e in plan_out.custodians))
    elif plan_out.kind == "key_block":
        output = KeyBlockOutput(
            plan_out.kek_label,
            tuple(life.ids[p.custodian] for p in plan_out.kek_parts),
            plan_out.kek_kcv,
            version=plan_out.version,
            key_usage=plan_out.key_usage,
            mode_of_use=plan_out.mode_of_use,
            key_version=plan_out.key_version,
            exportability=plan_out.exportability,
            key_set_id=plan_out.key_set_id,
        )
    elif plan_out.kind == "token":
        output = TokenOutput(
            plan_out.module,
            plan_out.token,
            plan_out.object_label,
            key_usage=plan_out.key_usage,
            mechanism=plan_out.mechanism,
        )
    else:
        output = WrappedOutput(
            script.output.kek_label,
            tuple(life.ids[p.custodian] for p in script.output.kek_parts),
            script.output.kek_kcv,
        )
    recovery = RecoveryCeremony.start(
        ledger,
        admin,
        witness,
        life.source.key_id,
        output,
        script.purpose,
        split_id=split_id,
        check_commitments=check,
        rehearsal=True,
        location=script.location or None,
    )
    return recovery, None


def _run_rebuilding(life: _Life, started: float) -> LifecycleResult:
    """Recovery or re-share: start (a refusal at start is reported), each step, the rebuild, the output."""
    try:
        rec, reshare = _open_recovery(life)
    except (RetiredKeyError, PolicyError, KeyBlockError) as exc:
        return _start_refused(life, exc, started)
    life.presence.ceremony_id = life.ceremony_id = rec.ceremony_id
    try:
        air_gap_preflight(reshare if reshare is not None else rec, life.script.preflight)
        for index, step in enumerate(life.script.steps, start=1):
            if rec.stage is not RecoveryStage.COLLECTING:
                # The key was rebuilt earlier than the script foresaw: the step is not taken (reported).
                life.outcomes.append(
                    StepOutcome(
                        index,
                        "rebuild" if step.share is None else "present",
                        step.share,
                        "",
                        "not taken",
                        "key already rebuilt",
                        "",
                        "",
                        "",
                        (),
                        step.expect.text,
                        False,
                    )
                )
                continue
            life.outcomes.append(
                _rebuild(life, rec, index, step) if step.share is None else _present(life, rec, index, step)
            )
        if rec.stage is RecoveryStage.COLLECTING and rec.progress.ready:
            life.outcomes.append(_rebuild(life, rec, 0, ScriptStep(None)))
        if rec.stage is not RecoveryStage.REBUILT:
            rec.void(f"the key was not rebuilt ({rec.progress.text} shares entered); nothing was output")
            if reshare is not None:
                reshare.stage = ReshareStage.VOIDED
            return _life_finish(life, rec.ceremony_id, "voided", started, kcv="")
        closing = _reshare_output(life, reshare) if reshare is not None else _recovery_output(life, rec)
        closed = closing.run()
    except BaseException as exc:
        why = "rehearsal stopped: " + (str(exc) if isinstance(exc, CeremonyError) else type(exc).__name__)
        (reshare.void if reshare is not None else rec.void)(why[:300])
        _life_finish(life, rec.ceremony_id, "voided", started, kcv="")
        raise
    split_id = reshare.new_split_id if reshare is not None else rec.split_id
    return _life_finish(
        life, rec.ceremony_id, "completed", started, kcv=rec.key.kcv.hex, split_id=split_id, closed=closed
    )


def _present(life: _Life, rec: RecoveryCeremony, index: int, step: ScriptStep) -> StepOutcome:
    assert step.share is not None
    source = life.source if step.source is None else read_share_source(life.resolve(step.source))
    card = source.cards.get(step.share)
    if card is None:
        raise ScriptError(f"[[steps]] #{index}: {source.folder} has no share card {step.share}")
    holder = rec.split.custodians.get(step.share)
    if step.custodian is None and holder is None:
        raise ScriptError(f"[[steps]] #{index}: the split has no share {step.share}; name the custodian")
    eid = step.custodian or life.employee_id(str(holder))
    who = life.person(eid, "custodian")
    text = card_share_text(card)
    header: ShareHeader | None = None
    try:
        if step.tamper:
            forged = tampered_share_text(text)
            text[:] = bytes(len(text))
            text = forged
        try:
            header = read_header(text)
            if (
                step.share in rec.split.envelopes
                and step.share not in rec.envelopes
                and step.share not in rec.progress.entered
            ):
                serial = step.envelope or rec.split.envelopes[step.share]
                rec.inspect_envelope(step.share, who, serial, step.seal_intact, step.seal_intact)
            progress = rec.enter_share(who, text)
        except REFUSALS as exc:
            return _outcome(index, "present", step, eid, rec, exc, header, ())
    finally:
        text[:] = bytes(len(text))
    ok = step_matches(step.expect, "accepted", "", "", ())
    return StepOutcome(
        index, "present", step.share, eid, "accepted", "", "", "", progress.text, (), step.expect.text, ok
    )


def _outcome(
    index: int,
    action: str,
    step: ScriptStep,
    eid: str,
    rec: RecoveryCeremony,
    exc: CeremonyError,
    header: ShareHeader | None,
    bad: tuple[int, ...],
) -> StepOutcome:
    reason = reason_of(exc, header=header, key_id=rec.key_id)
    error = type(exc).__name__
    ok = step_matches(step.expect, "refused", reason, error, bad)
    return StepOutcome(
        index,
        action,
        step.share,
        eid,
        "refused",
        reason,
        error,
        str(exc),
        rec.progress.text,
        bad,
        step.expect.text,
        ok,
    )


def _rebuild(life: _Life, rec: RecoveryCeremony, index: int, step: ScriptStep) -> StepOutcome:
    try:
        rec.rebuild()
    except (ShareError, KCVMismatchError) as exc:
        bad = tuple(sorted(getattr(exc, "share_numbers", ()) or ()))
        if isinstance(exc, BadShareError):  # named at rebuild: the combine failed the KCV check
            exc = KCVMismatchError(str(exc))
        return _outcome(index, "rebuild", step, life.script.administrator, rec, exc, None, bad)
    ok = step_matches(step.expect, "rebuilt", "", "", ())
    return StepOutcome(
        index,
        "rebuild",
        None,
        life.script.administrator,
        "rebuilt",
        "",
        "",
        "",
        rec.progress.text,
        (),
        step.expect.text,
        ok,
    )


def _write_card(
    life: _Life,
    rec: RecoveryCeremony,
    plan: SplitPlan,
    split_id: str,
    number: int,
    typed: SecretBytes,
    envelope: str,
    folder: str,
    noun: str,
) -> None:
    eid = life.employee_id(plan.custodians[number - 1])
    lines = share_text(typed)
    try:
        data = lifecycle_card_data(
            life.ledger, life.source.key_id, rec.ceremony_id, plan, split_id, number, typed, lines, envelope
        )
        pdf = render_share_card(data, forms=life.forms)
    finally:
        lines.wipe()
    with pdf:
        who = life.script.person(eid)
        subject = f"{noun} {number} of {plan.count} - {who.name} ({eid})"
        name = f"{noun}-{number:02d}-of-{plan.count:02d}-{eid}.pdf"
        entry = life.write(f"{folder}/{name}", pdf.view(), "share_card", subject)
        paperwork.record_document_for(
            life.ledger,
            rec.ceremony_id,
            "share_card",
            entry.sha256,
            subject,
            name,
            (rec.administrator, rec.witness),
        )


def _recovery_output(life: _Life, rec: RecoveryCeremony) -> CloseOut:
    """The output the script asks for — components, each on its card, sealed and signed for; or the key
    wrapped under a KEK — and the close-out that follows (the components' custodians acknowledge)."""
    plan_out = life.script.output
    assert plan_out is not None
    if plan_out.kind == "components":
        rec.make_components()
        assert rec.component_split_id is not None
        plan = SplitPlan(
            Scheme.XOR, len(plan_out.custodians), tuple(life.ids[e] for e in plan_out.custodians)
        )
        for number, eid in enumerate(plan_out.custodians, start=1):
            who = life.person(eid, "custodian")
            reveal = rec.reveal_component(number, who)
            try:
                _write_card(
                    life,
                    rec,
                    plan,
                    rec.component_split_id,
                    number,
                    reveal.typed,
                    "for HSM entry",
                    "components",
                    "component",
                )
            finally:
                reveal.wipe()
            # The custodian seals their component card and signs its receipt with the envelope serial.
            serials = plan_out.envelopes
            serial = serials[number - 1] if serials else f"TE-C-{rec.component_split_id[:6]}-{number:02d}"
            rec.confirm_component_receipt(number, who, serial, "card")
    elif plan_out.kind == "token":
        pin = bytearray(plan_out.pin.encode("utf-8"))
        try:
            rec.load_into_token(pin, life.person(plan_out.pin_entered_by, "custodian"))
        finally:
            pin[:] = bytes(len(pin))
    else:
        for part in plan_out.kek_parts:
            hex_text = bytearray(part.hex.encode("ascii", "replace"))
            try:
                rec.enter_kek_component(life.person(part.custodian, "custodian"), hex_text, part.kcv)
            finally:
                hex_text[:] = bytes(len(hex_text))
    if plan_out.kind == "key_block":
        made = rec.make_key_block(expected_kbpk_kcv_hex=plan_out.kek_kcv)
        label = re.sub(r"[^A-Za-z0-9]+", "-", plan_out.kek_label).strip("-")[:40] or "KBPK"
        life.write(
            f"key-block/{rec.key_id}-under-{label}.tr31",
            made.block.encode("ascii"),  # no newline added: the file's SHA-256 is the recorded one
            "key_block",
            f"key {rec.key.label} as a TR-31 key block under {plan_out.kek_label} (KBPK KCV "
            f"{made.kbpk_kcv.hex}, key KCV {made.key_kcv.hex}, {header_summary(made.header)})",
        )
    elif plan_out.kind == "wrapped":
        wrapped = rec.wrap(expected_kek_kcv_hex=plan_out.kek_kcv)
        label = re.sub(r"[^A-Za-z0-9]+", "-", plan_out.kek_label).strip("-")[:40] or "KEK"
        life.write(
            f"wrapped/{rec.key_id}-under-{label}.rfc5649",
            wrapped.blob,
            "wrapped_key",
            f"key {rec.key.label} wrapped under {plan_out.kek_label} (KEK KCV {wrapped.kek_kcv.hex}, "
            f"key KCV {wrapped.key_kcv.hex}, RFC 5649)",
        )
    custodians = life.custodians(plan_out.custodians) if plan_out.kind == "components" else {}
    return CloseOut.recovery(life.ledger, rec, custodians, **life.papers_here())


def _reshare_output(life: _Life, reshare: ReshareCeremony) -> CloseOut:
    """The new shares, each on its card, signed for and re-entered; then the close-out that follows (the
    new custodians acknowledge before the old split is retired, PCI DSS 3.7.8)."""
    rec = reshare.recovery
    reshare.reshare()
    recorded: dict[int, bytearray] = {}
    try:
        for number, new in enumerate(life.script.new_shares, start=1):
            who = life.person(new.custodian, "custodian")
            typed = reshare.reveal(number, who)
            try:
                _write_card(
                    life,
                    rec,
                    reshare.plan,
                    reshare.new_split_id,
                    number,
                    typed,
                    new.envelope,
                    "share-cards",
                    "share",
                )
                if new.receipt == "card":
                    with share_text(typed) as lines:
                        recorded[number] = bytearray(lines.view())
                else:
                    recorded[number] = bytearray(typed.view())
            finally:
                typed.wipe()
            reshare.confirm_receipt(number, who, new.envelope, new.receipt)
        for number, new in enumerate(life.script.new_shares, start=1):
            if not reshare.verify_share(number, life.person(new.custodian, "custodian"), recorded[number]):
                raise InputError(f"new share {number} as re-entered differs from the issued share")
    finally:
        for text in recorded.values():
            text[:] = bytes(len(text))
    custodians = life.custodians([s.custodian for s in life.script.new_shares])
    return CloseOut.reshare(life.ledger, reshare, custodians, **life.papers_here())


def _run_key_block_check(life: _Life, started: float) -> LifecycleResult:
    """A key block received, checked under the KBPK its custodians form in the room (issue 16): the verdict
    is the step's outcome, compared with the script's ``verdict``."""
    script = life.script
    plan = script.check
    assert plan is not None
    path = life.resolve(plan.block)
    try:
        block = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"[check]: cannot read the key block {path}: {exc}") from None
    if plan.tamper:  # one MAC digit changed: the block still parses, the MAC no longer verifies
        block = block[:-1] + ("0" if block[-1] != "0" else "1")
    admin = life.person(script.administrator, "administrator")
    witness = life.person(script.witness, "witness")
    try:
        check = KeyBlockCheck.start(
            life.ledger,
            admin,
            witness,
            life.source.key_id,
            block,
            plan.kbpk_label,
            tuple(life.ids[p.custodian] for p in plan.kbpk_parts),
            script.purpose,
            kbpk_kcv_hex=plan.kbpk_kcv,
            rehearsal=True,
            location=script.location or None,
        )
    except (RetiredKeyError, PolicyError, KeyBlockError) as exc:
        return _start_refused(life, exc, started)
    life.presence.ceremony_id = life.ceremony_id = check.ceremony_id
    try:
        air_gap_preflight(check, script.preflight)
        for part in plan.kbpk_parts:
            hex_text = bytearray(part.hex.encode("ascii", "replace"))
            try:
                check.enter_kbpk_component(life.person(part.custodian, "custodian"), hex_text, part.kcv)
            finally:
                hex_text[:] = bytes(len(hex_text))
        result = check.check()
        ok = result.verdict.value == plan.verdict
        found = result.found_kcv.hex if result.found_kcv else ""
        what = {
            "verified": "the MAC verifies and the key inside has the registered KCV",
            "mac_failed": "the MAC does not verify: altered, or made under another KBPK",
            "kcv_mismatch": f"the block opens to another key (KCV {found}): a substitution",
        }[result.verdict.value]
        life.outcomes.append(
            StepOutcome(
                1,
                "check",
                None,
                script.administrator,
                result.verdict.value,
                "",
                "",
                what,
                "",
                (),
                plan.verdict,
                ok,
            )
        )
        closed = CloseOut(
            life.ledger, check.ceremony_id, admin, witness, close=check.close, **life.papers_here()
        ).run()
    except BaseException as exc:
        why = "rehearsal stopped: " + (str(exc) if isinstance(exc, CeremonyError) else type(exc).__name__)
        check.void(why[:300])
        _life_finish(life, check.ceremony_id, "voided", started, kcv="")
        raise
    return _life_finish(
        life, check.ceremony_id, "completed", started, kcv=result.registered_kcv.hex, closed=closed
    )


def _run_retirement(life: _Life, started: float) -> LifecycleResult:
    script = life.script
    admin = life.person(script.administrator, "administrator")
    witness = life.person(script.witness, "witness")
    ceremony = RetirementCeremony.start(
        life.ledger, admin, witness, script.purpose, rehearsal=True, location=script.location or None
    )
    life.presence.ceremony_id = life.ceremony_id = ceremony.ceremony_id
    try:
        air_gap_preflight(ceremony, script.preflight)
        try:
            if script.retire == "key":
                replaced_by = (
                    resolve_key_ref(script.replaced_by, life.base, life.refs) if script.replaced_by else None
                )
                splits = ceremony.retire_key(
                    life.source.key_id, script.retire_reason, script.retire_note, replaced_by=replaced_by
                )
                what = f"key {life.source.key_id} and split(s) {', '.join(splits) or '-'} retired"
                linked = read_register(life.ledger.events()).key(life.source.key_id).replaced_by_key_id
                if linked:
                    what += f", replaced by key {linked}"
            else:
                ceremony.retire_split(life.source.split_id, script.retire_reason, script.retire_note)
                what = f"split {life.source.split_id} retired"
        except RetiredKeyError as exc:
            ceremony.void(f"nothing to retire: {exc}"[:300])
            return _start_refused(life, exc, started)
        life.outcomes.append(
            StepOutcome(
                1, "retire", None, script.administrator, "recorded", "", "", what, "", (), "accepted", True
            )
        )
        for index, entry in enumerate(script.returned, start=2):
            who = script.person(entry.returned_by)
            if not entry.returned:
                from ceremony.flows.envelopes import Outcome, find

                missing = find(read_register(life.ledger.events()), entry.envelope)
                ceremony.account_envelope(missing, Outcome.NOT_RETURNED, note=f"{who.name} did not return it")
                returned = ReturnedEnvelope(
                    missing.serial, missing.key_id, missing.split_id, missing.share_number, 0
                )
            else:
                returned = ceremony.return_envelope(
                    entry.envelope, f"{who.name} ({who.employee_id})", entry.seal_intact
                )
            note = f"envelope {returned.serial}: share {returned.share_number} of split {returned.split_id}"
            if not entry.returned:
                note += ", NOT RETURNED: incident recorded, the share stays held"
            else:
                note += (
                    ": serial checked, destroyed" if entry.seal_intact else ": seal broken, incident recorded"
                )
            outcome = StepOutcome(
                index,
                "return envelope",
                returned.share_number,
                entry.returned_by,
                "recorded",
                "",
                "",
                note,
                "",
                (),
                "accepted",
                True,
            )
            life.outcomes.append(outcome)
        closed = CloseOut.retirement(life.ledger, ceremony, **life.papers_here()).run()
    except BaseException as exc:
        # Whatever was retired stays retired; the ceremony is recorded as stopped, never left open.
        why = "rehearsal stopped: " + (str(exc) if isinstance(exc, CeremonyError) else type(exc).__name__)
        ceremony.void(why[:300])
        _life_finish(life, ceremony.ceremony_id, "voided", started, kcv="")
        raise
    kcv = read_register(life.ledger.events()).key(life.source.key_id).kcv_hex.upper()
    return _life_finish(life, ceremony.ceremony_id, "completed", started, kcv=kcv, closed=closed)


def _life_finish(
    life: _Life,
    ceremony_id: str,
    outcome: str,
    started: float,
    *,
    kcv: str,
    split_id: str | None = None,
    closed: Closed | None = None,
) -> LifecycleResult:
    """The report, manifest and README. A ceremony that started and was voided gets its minutes here (DESIGN
    §4.7); a closed one had them from its close-out, and ends the run with the papers it could not make
    (:class:`~ceremony.errors.DocumentError`), once everything else is written."""
    if life.ceremony_id and closed is None:
        # Every ceremony that started ends with signed minutes, a voided one too (DESIGN §4.7).
        minutes = paperwork.issue_minutes_for(
            life.ledger,
            life.ceremony_id,
            life.person(life.script.administrator, "administrator"),
            life.person(life.script.witness, "witness"),
            location=life.script.location,
            forms=life.forms,
        )
        life.papers.keep(minutes)
    closing = paperwork.closing_checkpoint(life.ledger)
    result = LifecycleResult(
        kind=life.script.kind,
        ceremony_id=ceremony_id,
        ledger_id=life.ledger.ledger_id,
        key_id=life.source.key_id,
        split_id=split_id or life.source.split_id,
        kcv=kcv,
        outcome=outcome,
        expected_outcome=life.script.expect,
        steps=tuple(life.outcomes),
        closing_checkpoint=closing,
        out_dir=life.out_dir,
        documents=tuple(life.papers.entries),
        seconds=time.perf_counter() - started,
    )
    report = lifecycle_report(result)
    (life.out_dir / "report.txt").write_text(report, encoding="utf-8")
    manifest = {
        "rehearsal": True,
        "test_key": True,
        "kind": result.kind,
        "ceremony_id": ceremony_id,
        "ledger_id": result.ledger_id,
        "key_id": result.key_id,
        "split_id": result.split_id,
        "shares_from": str(life.source.folder),
        "kcv": kcv,
        "outcome": outcome,
        "expected_outcome": result.expected_outcome,
        "as_expected": result.as_expected,
        "steps": [s.as_dict() for s in result.steps],
        "closing_checkpoint": closing,
        "documents": [e.as_dict() for e in life.papers.entries],
        **({"problems": list(closed.problems)} if closed is not None and closed.problems else {}),
    }
    write_manifest(life.out_dir, manifest)
    (life.out_dir / "README.txt").write_text(
        LIFECYCLE_README.format(kind=result.kind, ledger_id=result.ledger_id, key_id=result.key_id),
        encoding="utf-8",
    )
    if closed is not None and closed.problems:
        raise papers_missing(closed)
    return result
