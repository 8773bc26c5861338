"""A generation rehearsal: the real :class:`~ceremony.flows.generation.GenerationCeremony`, played from a
script — preflight, authentication, plan and custody rule, generation, private distribution, the
verification round (each share re-entered from the text the custodian recorded or the card), then the one
close-out every ceremony ends with (:class:`ceremony.flows.closeout.CloseOut`: wipe, acknowledgement forms,
close with the ledger checkpoint, minutes).

**Paper.** Share cards are written to the output folder *on disk*: they are TEST shares of a TEST key, and
the card's key label says "TEST KEY (rehearsal)". In a production ceremony a card only ever goes to the
printer or a RAM-backed folder (DESIGN §4.2).

A failure before the close-out voids the ceremony (recorded, key wiped) and writes voided minutes. A paper
the close-out could not make leaves the ceremony closed — its split verified and in force — and ends the
run with a :class:`~ceremony.errors.DocumentError` naming it, after the manifest (which lists only the files
written) and the README.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ceremony.crypto.codec import share_text
from ceremony.documents.templates import FormSet
from ceremony.errors import CeremonyError, InputError, ShareFormatError
from ceremony.flows import paperwork
from ceremony.flows.closeout import Closed, CloseOut
from ceremony.flows.generation import GenerationCeremony, SplitPlan, TokenSource
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import KeyBlockOutput, header_summary
from ceremony.flows.rehearsal.report import (
    README_TEXT,
    ManifestEntry,
    Papers,
    papers_missing,
    prepare_out_dir,
    write_manifest,
)
from ceremony.flows.rehearsal.room import (
    air_gap_preflight,
    authenticate,
    enroll,
    forms_for,
    open_rehearsal_ledger,
    resolve_key_ref,
)
from ceremony.flows.rehearsal.script import RehearsalScript
from ceremony.ledger.store import Ledger


@dataclass(frozen=True)
class RehearsalResult:
    ceremony_id: str
    ledger_id: str
    key_id: str
    split_id: str
    kcv: str
    kcv_method: str
    closing_checkpoint: str
    out_dir: Path
    documents: tuple[ManifestEntry, ...]
    seconds: float


@dataclass
class _Run:
    ledger: Ledger
    script: RehearsalScript
    out_dir: Path
    forms: FormSet
    papers: Papers = field(init=False)

    def __post_init__(self) -> None:
        self.papers = Papers(self.out_dir)


def run_rehearsal(
    script: RehearsalScript,
    ledger_path: Path,
    out_dir: Path,
    *,
    base: Path | None = None,
    refs: Mapping[str, str] | None = None,
) -> RehearsalResult:
    """Run ``script`` as a complete generation ceremony on the rehearsal ledger ``ledger_path`` (created as
    one if absent) and write its papers and ``manifest.json`` into ``out_dir`` (new or empty).

    :raises RehearsalMixError: ``ledger_path`` is a production ledger.
    :raises DocumentError: the ceremony was closed but a paper could not be made (named in the message).
    Any failure before the close-out voids the ceremony (recorded, key wiped) and writes voided minutes.
    """
    started = time.perf_counter()
    forms = forms_for(script)
    if script.replaces:
        key_id = resolve_key_ref(script.replaces, Path.cwd() if base is None else Path(base), refs)
        script = replace(script, key=replace(script.key, replaces=key_id))
    ledger = open_rehearsal_ledger(Path(ledger_path))
    try:
        prepare_out_dir(Path(out_dir))
        return _run(_Run(ledger, script, Path(out_dir), forms), started)
    finally:
        ledger.close()


def _key_block_output(script: RehearsalScript, ids: dict[str, str]) -> KeyBlockOutput | None:
    plan = script.key_block
    if plan is None:
        return None
    return KeyBlockOutput(
        plan.kek_label,
        tuple(ids[p.custodian] for p in plan.kek_parts),
        plan.kek_kcv,
        version=plan.version,
        key_usage=plan.key_usage,
        mode_of_use=plan.mode_of_use,
        key_version=plan.key_version,
        exportability=plan.exportability,
        key_set_id=plan.key_set_id,
    )


def _make_key_block(
    run: _Run,
    ceremony: GenerationCeremony,
    presence: Presence,
    ids: dict[str, str],
    present: Mapping[str, PresentPerson],
) -> list[PresentPerson]:
    """The KBPK's custodians type their components (each authenticated once), the block is made and
    written to ``key-block/`` (manifest kind ``key_block``); returns the people who joined for it."""
    plan = run.script.key_block
    assert plan is not None
    joined: list[PresentPerson] = []
    for part in plan.kek_parts:
        who = present.get(part.custodian)
        if who is None:
            who = authenticate(presence, run.script, ids, part.custodian, "custodian")
            joined.append(who)
        hex_text = bytearray(part.hex.encode("ascii", "replace"))
        try:
            ceremony.enter_kbpk_component(who, hex_text, part.kcv)
        finally:
            hex_text[:] = bytes(len(hex_text))
    made = ceremony.make_key_block(expected_kbpk_kcv_hex=plan.kek_kcv)
    label = re.sub(r"[^A-Za-z0-9]+", "-", plan.kek_label).strip("-")[:40] or "KBPK"
    run.papers.write(
        f"key-block/{ceremony.key_id}-under-{label}.tr31",
        made.block.encode("ascii"),  # no newline added: the file's SHA-256 is the recorded one
        "key_block",
        f"key {run.script.key.label} as a TR-31 key block under {plan.kek_label} (KBPK KCV "
        f"{made.kbpk_kcv.hex}, key KCV {made.key_kcv.hex}, {header_summary(made.header)})",
    )
    return joined


def _token_source(script: RehearsalScript, presence: Presence, ids: dict[str, str]) -> TokenSource:
    """The script's ``[key.token]``: its PIN typer authenticates as a custodian would (PCI PIN 5-1)."""
    plan = script.token
    assert plan is not None
    who = authenticate(presence, script, ids, plan.pin_entered_by, "custodian")
    return TokenSource(plan.module, plan.token, plan.pin, who)


def _run(run: _Run, started: float) -> RehearsalResult:
    ledger, script = run.ledger, run.script
    ids = enroll(ledger, script)
    presence = Presence(ledger)
    admin = authenticate(presence, script, ids, script.administrator, "administrator")
    witness = authenticate(presence, script, ids, script.witness, "witness")
    present = [admin, witness]
    ceremony = GenerationCeremony.start(ledger, admin, witness, script.purpose, rehearsal=True)
    presence.ceremony_id = ceremony.ceremony_id
    try:
        air_gap_preflight(ceremony, script.preflight)
        custodians: dict[int, PresentPerson] = {}
        for number, share in enumerate(script.shares, start=1):
            custodians[number] = authenticate(presence, script, ids, share.custodian, "custodian")
            present.append(custodians[number])
        plan = SplitPlan(script.scheme, script.threshold, tuple(ids[s.custodian] for s in script.shares))
        ceremony.plan_key(script.key, plan, _key_block_output(script, ids))
        kcv = ceremony.generate(_token_source(script, presence, ids) if script.token else None)
        recorded = _distribute(run, ceremony, custodians)
        try:
            for number, person in custodians.items():
                if script.shares[number - 1].mistype:
                    _mistyped_entry(ceremony, number, person, recorded[number])
                if not ceremony.verify_share(number, person, recorded[number]):
                    raise InputError(
                        f"share {number} as re-entered differs from the issued share; the ceremony is voided"
                    )
        finally:
            for text in recorded.values():
                text[:] = bytes(len(text))
        if script.key_block is not None:
            by_eid = {script.shares[n - 1].custodian: person for n, person in custodians.items()}
            present += _make_key_block(run, ceremony, presence, ids, by_eid)
        closed = CloseOut.generation(
            ledger,
            ceremony,
            custodians,
            location=script.location,
            folder=run.out_dir,
            keep=run.papers.keep,
            forms=run.forms,
        ).run()
    except BaseException as exc:
        reason = "rehearsal stopped: " + (
            type(exc).__name__ if not isinstance(exc, CeremonyError) else str(exc)
        )
        ceremony.void(reason[:300])
        try:
            _finish(run, ceremony)
        finally:
            for person in present:
                person.leave()
        raise
    try:
        result = _finish(run, ceremony, started, kcv_method=str(kcv.method), kcv=kcv.hex, closed=closed)
    finally:
        for person in present:
            person.leave()
    if closed.problems:
        raise papers_missing(closed)
    return result


def _mistyped_entry(
    ceremony: GenerationCeremony, number: int, person: PresentPerson, text: bytearray
) -> None:
    """Re-enter the share once with one character of its last group changed: the codec must catch it
    (recorded as a failed verification), then the custodian enters it again correctly."""
    wrong = bytearray(text)
    try:
        at = len(wrong.rstrip()) - 1
        wrong[at] = ord("2") if wrong[at] != ord("2") else ord("3")
        try:
            ok = ceremony.verify_share(number, person, wrong)
        except ShareFormatError:
            return
        if ok:
            raise InputError(f"share {number}: a mistyped entry was accepted")  # never expected
    finally:
        wrong[:] = bytes(len(wrong))


def _distribute(
    run: _Run, ceremony: GenerationCeremony, custodians: dict[int, PresentPerson]
) -> dict[int, bytearray]:
    """One custodian at a time: reveal, share card, receipt with envelope serial. Returns what each custodian
    took away to re-enter in the verification round: the card's printed lines, or their own copy of the
    typed form (receipt "recorded"). The caller wipes them."""
    recorded: dict[int, bytearray] = {}
    try:
        for number, person in custodians.items():
            share = run.script.shares[number - 1]
            typed = ceremony.reveal(number, person)
            try:
                card = paperwork.render_card(
                    run.ledger, ceremony, number, typed, share.envelope, forms=run.forms
                )
                with card:
                    subject = paperwork.card_subject(run.ledger, ceremony, number)
                    who = run.script.person(share.custodian).employee_id
                    name = f"share-{number:02d}-of-{len(custodians):02d}-{who}.pdf"
                    entry = run.papers.write(f"share-cards/{name}", card.view(), "share_card", subject)
                    paperwork.record_document(run.ledger, ceremony, "share_card", entry.sha256, subject, name)
                if share.receipt == "card":
                    with share_text(typed) as lines:
                        recorded[number] = bytearray(lines.view())
                else:
                    recorded[number] = bytearray(typed.view())
            finally:
                typed.wipe()
            ceremony.confirm_receipt(number, person, share.envelope, share.receipt)
    except BaseException:
        for text in recorded.values():
            text[:] = bytes(len(text))
        raise
    return recorded


def _finish(
    run: _Run,
    ceremony: GenerationCeremony,
    started: float | None = None,
    *,
    kcv: str = "",
    kcv_method: str = "",
    closed: Closed | None = None,
) -> RehearsalResult:
    """The manifest and README; a voided ceremony (``closed`` None) gets its minutes here (DESIGN §4.7),
    a closed one had them from its close-out."""
    if closed is None:
        minutes = paperwork.issue_minutes(run.ledger, ceremony, location=run.script.location, forms=run.forms)
        run.papers.keep(minutes)
    closing = paperwork.closing_checkpoint(run.ledger)
    manifest = {
        "rehearsal": True,
        "test_key": True,
        "ceremony_id": ceremony.ceremony_id,
        "ledger_id": run.ledger.ledger_id,
        "key_id": ceremony.key_id,
        "split_id": ceremony.split_id,
        "kcv": kcv,
        "kcv_method": kcv_method,
        "outcome": ceremony.stage.value,
        "closing_checkpoint": closing,
        "documents": [e.as_dict() for e in run.papers.entries],
        **({"problems": list(closed.problems)} if closed is not None and closed.problems else {}),
    }
    write_manifest(run.out_dir, manifest)
    (run.out_dir / "README.txt").write_text(
        README_TEXT.format(ledger_id=run.ledger.ledger_id, key_id=ceremony.key_id), encoding="utf-8"
    )
    return RehearsalResult(
        ceremony_id=ceremony.ceremony_id,
        ledger_id=run.ledger.ledger_id,
        key_id=ceremony.key_id or "",
        split_id=ceremony.split_id or "",
        kcv=kcv,
        kcv_method=kcv_method,
        closing_checkpoint=closing,
        out_dir=run.out_dir,
        documents=tuple(run.papers.entries),
        seconds=time.perf_counter() - (started or time.perf_counter()),
    )
