"""Rehearsal mode: the real generation ceremony (:class:`GenerationCeremony`) driven by a TOML script.

Organisations train custodians with it; tests and benchmarks use it. Nothing is simulated except the people:
the script says who is present (with a *rehearsal* passphrase), what they type and which envelope each share
goes into, and this module plays every step of the same engine the TUI drives — preflight, authentication,
plan and custody rule, generation, private distribution, the verification round (each share re-entered
from the text the custodian recorded or the card), wipe, acknowledgement forms, minutes, close-out.

**Test and production keys never mix (PCI DSS 3.6.1.1).** A rehearsal runs only on a ledger created as a
rehearsal ledger (``meta.rehearsal = 1``; a new file given to ``run_rehearsal`` is created so) and marks its
key ``test_key: true``; a production ledger refuses a rehearsal and a rehearsal ledger refuses a production
ceremony (:class:`~ceremony.errors.RehearsalMixError`, exit code 2).

**Paper.** Share cards are written to the output folder *on disk*: they are TEST shares of a TEST key, and
the card's key label says "TEST KEY (rehearsal)". In a production ceremony a card only ever goes to the
printer or a RAM-backed folder (DESIGN §4.2). ``manifest.json`` lists every document with its SHA-256, the
same SHA-256 the ledger's ``document.issued`` events record.

**Preflight.** The real preflight runs and is recorded. ``preflight = "blocking"`` (the default, and the
only behaviour of a production ceremony) stops at any insecure finding not covered by an exception;
``preflight = "record-only"`` records the findings and marks the ceremony *rehearsal-not-air-gapped*
instead, for training on an ordinary, networked laptop.

**KDF.** Participants are enrolled with the production scrypt cost by default (honest timing);
``kdf = "fast"`` (2^10) is for tests and benchmarks on rehearsal ledgers only.

**The rest of a key's life** (issue 7): a script with ``[ceremony] kind = "recovery"``, ``"reshare"`` or
``"retirement"`` (:func:`parse_lifecycle_script`, :func:`run_lifecycle`; :func:`parse_any` /
:func:`run_any` take either kind) takes its shares from a rehearsal's output folder — the typed lines read
back from each share card PDF — presents them in the order the script gives, deliberate mistakes included,
through the real :class:`~ceremony.flows.recovery.RecoveryCeremony`,
:class:`~ceremony.flows.reshare.ReshareCeremony` and :class:`~ceremony.flows.retirement.RetirementCeremony`,
and reports every refusal against the script's ``expect``.

Rehearsal passphrases appear in the script in clear: they protect TEST identities on a TEST ledger. Never
put a real person's real passphrase in a script.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ceremony.crypto.codec import ShareHeader, decode_share, encode_share, read_header, share_text
from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.crypto.ids import is_id
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.documents import archive
from ceremony.documents.model import Person, ShareCardData
from ceremony.documents.render import render_share_card
from ceremony.documents.sign import sha256_of
from ceremony.documents.templates import FormSet, load_forms
from ceremony.errors import (
    BadShareError,
    BelowThresholdError,
    CeremonyError,
    CustodyViolationError,
    DualControlError,
    DuplicateShareError,
    EnvelopeIncidentError,
    FlowError,
    ForeignShareError,
    IdentityError,
    InputError,
    KCVMismatchError,
    MalformedShareError,
    PolicyError,
    PreflightBlockedError,
    RehearsalMixError,
    RetiredKeyError,
    RetiredShareError,
    ShareError,
    ShareFormatError,
)
from ceremony.flows import paperwork
from ceremony.flows.common import read_register
from ceremony.flows.enrolment import Newcomer, enroll_roster
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import ComponentsOutput, RecoveryCeremony, WrappedOutput
from ceremony.flows.recovery import Stage as RecoveryStage
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.reshare import Stage as ReshareStage
from ceremony.flows.retirement import RetirementCeremony
from ceremony.ledger import participants as enrolment
from ceremony.ledger.store import Ledger
from ceremony.preflight import covering, evidence_payload, run_preflight

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)
EXAMPLES = ("2of3", "3of5", "xor3", "5of9")  # generation scripts
LIFECYCLE_EXAMPLES = ("recover-3of5", "reshare", "retire")  # scripts that take shares from a rehearsal
SEQUENCE_EXAMPLES = ("departure",)  # a whole key path in one script, on one rehearsal ledger
ALL_EXAMPLES = EXAMPLES + LIFECYCLE_EXAMPLES + SEQUENCE_EXAMPLES
SCRIPT_KINDS = ("generation", "recovery", "reshare", "retirement", "departure", "sequence")
PREFLIGHT_MODES = ("blocking", "record-only")
KDF_CHOICES = ("production", "fast")
RECEIPT_METHODS = ("recorded", "card")


class ScriptError(InputError):
    """A rehearsal script is not valid; the message names the setting."""


# --- the script ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ScriptPerson:
    name: str
    employee_id: str
    roles: tuple[str, ...]
    passphrase: str  # a rehearsal passphrase (see module doc); turned into SecretBytes when used

    def __repr__(self) -> str:
        return f"ScriptPerson({self.name!r}, {self.employee_id!r}, roles={self.roles!r})"


@dataclass(frozen=True)
class ScriptShare:
    custodian: str  # employee id
    envelope: str
    receipt: str  # "recorded" | "card"
    mistype: bool = False  # the first re-entry has one wrong character (rehearses the checksum catching it)


@dataclass(frozen=True)
class RehearsalScript:
    purpose: str
    administrator: str  # employee id
    witness: str  # employee id
    people: tuple[ScriptPerson, ...]
    key: KeySpec
    scheme: Scheme
    threshold: int
    shares: tuple[ScriptShare, ...]
    organisation: str = ""
    location: str = ""
    preflight: str = "blocking"
    kdf: str = "production"
    # PCI DSS 3.7.5: the key this one replaces — a key id, a rehearsal output folder (its manifest names the
    # key) or, in a sequence, the name of an earlier stage; resolved when the script runs.
    replaces: str = ""

    def person(self, employee_id: str) -> ScriptPerson:
        for p in self.people:
            if p.employee_id == employee_id:
                return p
        raise ScriptError(f"employee id {employee_id[:30]!r} is not listed under [[participants]]")


def _get(table: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    if key not in table:
        if default is None:
            raise ScriptError(f"{where}: '{key}' is missing")
        return default
    value = table[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ScriptError(f"{where}: '{key}' must be {'a number' if kind is int else 'a ' + kind.__name__}")
    return value


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScriptError(
            f"{where}: unknown setting '{unknown[0][:30]}' (known: {', '.join(sorted(allowed))})"
        )


def _parse_people(raw: Mapping[str, Any]) -> tuple[ScriptPerson, ...]:
    people = []
    for i, p in enumerate(_get(raw, "participants", list, "script"), start=1):
        where = f"[[participants]] #{i}"
        if not isinstance(p, dict):
            raise ScriptError(f"{where}: must be a table")
        _only(p, {"name", "employee_id", "roles", "passphrase"}, where)
        roles = _get(p, "roles", list, where)
        if not roles or not all(isinstance(r, str) for r in roles):
            raise ScriptError(f'{where}: roles is a list such as ["custodian"]')
        people.append(
            ScriptPerson(
                _get(p, "name", str, where).strip(),
                _get(p, "employee_id", str, where).strip(),
                tuple(roles),
                _get(p, "passphrase", str, where),
            )
        )
    ids = [p.employee_id for p in people]
    if len(set(ids)) != len(ids):
        raise ScriptError("[[participants]]: the same employee id is listed twice")
    return tuple(people)


def _script_kind(raw: Mapping[str, Any]) -> str:
    cer = raw.get("ceremony")
    kind = cer.get("kind", "generation") if isinstance(cer, dict) else "generation"
    if kind not in SCRIPT_KINDS:
        raise ScriptError(f"[ceremony]: kind is {', '.join(repr(k) for k in SCRIPT_KINDS)}")
    return str(kind)


def _load_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"the script is not valid TOML: {exc}") from None


def _preflight_mode(cer: Mapping[str, Any]) -> str:
    preflight = _get(cer, "preflight", str, "[ceremony]", "blocking")
    if preflight not in PREFLIGHT_MODES:
        raise ScriptError(f"[ceremony]: preflight is {' or '.join(repr(m) for m in PREFLIGHT_MODES)}")
    return str(preflight)


def _kdf(cer: Mapping[str, Any]) -> str:
    kdf = _get(cer, "kdf", str, "[ceremony]", "production")
    if kdf not in KDF_CHOICES:
        raise ScriptError(f"[ceremony]: kdf is {' or '.join(repr(m) for m in KDF_CHOICES)}")
    return str(kdf)


def parse_script(text: str) -> RehearsalScript:
    """Parse and check a rehearsal script (format: ``ceremony/flows/examples/README.md``)."""
    raw = _load_toml(text)
    if _script_kind(raw) != "generation":
        raise ScriptError(
            f"this is a {_script_kind(raw)} script, not a generation script: run it with "
            "ceremony rehearse (parse_any / run_any)"
        )
    return _generation_script(raw)


def _generation_script(raw: Mapping[str, Any]) -> RehearsalScript:
    _only(raw, {"ceremony", "participants", "key", "split", "shares"}, "script")
    cer = _get(raw, "ceremony", dict, "script")
    _only(
        cer,
        {"kind", "organisation", "purpose", "location", "administrator", "witness", "preflight", "kdf"},
        "[ceremony]",
    )
    preflight = _preflight_mode(cer)
    kdf = _kdf(cer)
    people = _parse_people(raw)
    key = _get(raw, "key", dict, "script")
    _only(key, {"type", "label", "usage", "cryptoperiod_days", "length", "replaces"}, "[key]")
    replaces = _get(key, "replaces", str, "[key]", "").strip()
    type_text = _get(key, "type", str, "[key]", "AES-256")
    try:
        key_type = KeyType(type_text)
    except ValueError:
        raise ScriptError(
            f"[key]: type {type_text[:20]!r} is not one of {', '.join(t.value for t in KeyType)}"
        ) from None
    length = key.get("length")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
        raise ScriptError("[key]: length must be a number of bytes (GENERIC keys only)")
    spec = KeySpec(
        key_type,
        _get(key, "label", str, "[key]"),
        _get(key, "usage", str, "[key]"),
        _get(key, "cryptoperiod_days", int, "[key]", 365),
        length,
    )
    split = _get(raw, "split", dict, "script")
    _only(split, {"scheme", "threshold"}, "[split]")
    scheme_text = _get(split, "scheme", str, "[split]")
    try:
        scheme = Scheme(scheme_text)
    except ValueError:
        raise ScriptError("[split]: scheme is 'shamir' (m-of-n) or 'xor' (n components)") from None
    shares = []
    for i, s in enumerate(_get(raw, "shares", list, "script"), start=1):
        where = f"[[shares]] #{i}"
        if not isinstance(s, dict):
            raise ScriptError(f"{where}: must be a table")
        _only(s, {"custodian", "envelope", "receipt", "mistype"}, where)
        receipt = _get(s, "receipt", str, where, "card")
        if receipt not in RECEIPT_METHODS:
            raise ScriptError(f"{where}: receipt is 'recorded' or 'card'")
        mistype = s.get("mistype", False)
        if not isinstance(mistype, bool):
            raise ScriptError(f"{where}: mistype is true or false")
        shares.append(
            ScriptShare(_get(s, "custodian", str, where), _get(s, "envelope", str, where), receipt, mistype)
        )
    threshold = _get(split, "threshold", int, "[split]", len(shares) if scheme is Scheme.XOR else None)
    script = RehearsalScript(
        purpose=_get(cer, "purpose", str, "[ceremony]"),
        administrator=_get(cer, "administrator", str, "[ceremony]"),
        witness=_get(cer, "witness", str, "[ceremony]"),
        people=tuple(people),
        key=spec,
        scheme=scheme,
        threshold=threshold,
        shares=tuple(shares),
        organisation=_get(cer, "organisation", str, "[ceremony]", ""),
        location=_get(cer, "location", str, "[ceremony]", ""),
        preflight=preflight,
        kdf=kdf,
        replaces=replaces,
    )
    for s in script.shares:
        script.person(s.custodian)
    script.person(script.administrator)
    script.person(script.witness)
    return script


def load_script(path: Path) -> RehearsalScript:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read the script {path}: {exc.strerror}") from None
    return parse_script(text)


def example_script(name: str) -> str:
    """The text of a shipped example script (``EXAMPLES``)."""
    if name not in ALL_EXAMPLES:
        raise ScriptError(f"no example {name[:20]!r}; examples: {', '.join(ALL_EXAMPLES)}")
    return resources.files("ceremony.flows").joinpath("examples", f"{name}.toml").read_text(encoding="utf-8")


# --- the run ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestEntry:
    kind: str
    path: str  # relative to the output folder, '/'-separated
    sha256: str
    subject: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256, "subject": self.subject}


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


README_TEXT = """REHEARSAL OUTPUT - TEST KEY, TEST SHARES

Everything in this folder comes from a rehearsal on a rehearsal ledger (ledger {ledger_id}).
The key {key_id} is a TEST key (test_key: true in the ledger) and the share cards hold TEST shares:
they must never protect production data (PCI DSS 3.6.1.1: test and production keys never mix).
In a production ceremony share cards are never written to disk; here they are, for training.

Print and seal as in a real ceremony: manifest.json lists every document with its SHA-256, the same
SHA-256 the ledger recorded in its document.issued events. Destroy the share cards after training.
"""


@dataclass
class _Run:
    ledger: Ledger
    script: RehearsalScript
    out_dir: Path
    forms: FormSet
    entries: list[ManifestEntry] = field(default_factory=list)

    def write(self, relative: str, data: bytes | memoryview, kind: str, subject: str) -> None:
        archive.write_exclusive(self.out_dir / relative, data)  # the manifest names this exact file
        self.entries.append(ManifestEntry(kind, relative, sha256_of(data), subject))


def _open_rehearsal_ledger(path: Path) -> Ledger:
    if not path.exists():
        return Ledger.open(path, create=True, rehearsal=True)
    ledger = Ledger.open(path)
    if not ledger.info.rehearsal:
        ledger.close()
        raise RehearsalMixError(
            f"{path.name} is a production ledger: a rehearsal cannot run on it (its TEST key, fast KDF and "
            "on-disk share cards are for rehearsal ledgers only). Give a new file or a rehearsal ledger "
            "(PCI DSS 3.6.1.1: test and production keys never mix)."
        )
    return ledger


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"the output folder {out_dir} is not empty; give a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)


def _enroll(ledger: Ledger, script: RehearsalScript) -> dict[str, str]:
    """Enroll each script participant not yet enrolled (by employee id), under dual control (the script's
    security officer founds an empty ledger and enrols the rest); returns employee id -> person id."""
    kdf = FAST_KDF if script.kdf == "fast" else DEFAULT_KDF
    everyone = enrolment.participants(ledger)
    existing = {p.employee_id: p for p in everyone if p.active}
    # Someone who left (deactivated, PCI DSS 3.7.5) is never enrolled again by a script: they keep their
    # person id, and authenticating them is refused as it would be at a real ceremony.
    departed = {
        p.employee_id: p.person_id for p in everyone if not p.active and p.employee_id not in existing
    }
    for person in script.people:
        known = existing.get(person.employee_id)
        if known is not None:
            missing = [r for r in person.roles if r not in known.roles]
            if missing:
                raise IdentityError(
                    f"{known.name} ({known.employee_id}) is already enrolled on this ledger as "
                    f"{', '.join(known.roles)}, not as {', '.join(missing)}"
                )
    roster = [
        Newcomer(
            p.name,
            p.employee_id,
            tuple(p.roles),
            lambda text=p.passphrase: SecretBytes(text.encode("utf-8")),  # type: ignore[misc]
        )
        for p in sorted(script.people, key=lambda p: "security_officer" not in p.roles)
        if p.employee_id not in departed
    ]
    organisation = script.organisation.strip() or load_forms().organisation.name
    ids = enroll_roster(ledger, roster, organisation=organisation, kdf=kdf)
    ids.update({p.employee_id: departed[p.employee_id] for p in script.people if p.employee_id in departed})
    return ids


def _authenticate(
    presence: Presence, script: RehearsalScript, ids: dict[str, str], eid: str, role: str
) -> PresentPerson:
    passphrase = SecretBytes(script.person(eid).passphrase.encode("utf-8"))
    return presence.authenticate(ids[eid], passphrase, role)  # wipes the passphrase


class _Preflighted(Protocol):
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None: ...


def _preflight(ceremony: _Preflighted, mode: str) -> None:
    """The real air-gap preflight, recorded by the ceremony (generation, recovery, re-share, retirement
    alike); ``record-only`` on a rehearsal ledger records the findings without blocking."""
    now = datetime.now(UTC)
    report = run_preflight(now)
    coverage = covering(report.findings, (), now)
    uncovered = [f"{f.check}: {f.subject or f.summary}" for f in coverage.uncovered]
    try:
        ceremony.record_preflight(
            evidence_payload(report, coverage), uncovered, record_only=mode == "record-only"
        )
    except FlowError as exc:
        if not uncovered:
            raise
        raise PreflightBlockedError(
            f'{exc}. To rehearse on a laptop that is not air-gapped, set preflight = "record-only" '
            "in the script's [ceremony] table (rehearsal ledgers only)."
        ) from None


def _forms(script: RehearsalScript) -> FormSet:
    forms = load_forms()
    if script.organisation.strip():
        forms = replace(forms, organisation=replace(forms.organisation, name=script.organisation.strip()))
    return forms


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
    Any failure after the ceremony started voids it (recorded, key wiped) and writes voided minutes.
    """
    started = time.perf_counter()
    forms = _forms(script)
    if script.replaces:
        key_id = resolve_key_ref(script.replaces, Path.cwd() if base is None else Path(base), refs)
        script = replace(script, key=replace(script.key, replaces=key_id))
    ledger = _open_rehearsal_ledger(Path(ledger_path))
    try:
        _prepare_out_dir(Path(out_dir))
        return _run(_Run(ledger, script, Path(out_dir), forms), started)
    finally:
        ledger.close()


def resolve_key_ref(ref: str, base: Path, refs: Mapping[str, str] | None = None) -> str:
    """The key a script names (``replaces``, ``replaced_by``, a stage's ``key``): the name of an earlier
    stage of a sequence, a rehearsal output folder (its ``manifest.json`` names the key), or a key id."""
    if refs and ref in refs:
        return refs[ref]
    folder = Path(ref) if Path(ref).is_absolute() else base / ref
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            return str(json.loads(manifest.read_text(encoding="utf-8"))["key_id"])
        except (OSError, ValueError, KeyError):
            raise ScriptError(f"{folder} has no readable manifest.json naming a key") from None
    if is_id(ref):
        return ref
    known = f" (stages: {', '.join(refs)})" if refs else ""
    raise ScriptError(f"{ref[:40]!r} names no key: give a stage name, an output folder or a key id{known}")


def _run(run: _Run, started: float) -> RehearsalResult:
    ledger, script = run.ledger, run.script
    ids = _enroll(ledger, script)
    presence = Presence(ledger)
    admin = _authenticate(presence, script, ids, script.administrator, "administrator")
    witness = _authenticate(presence, script, ids, script.witness, "witness")
    present = [admin, witness]
    ceremony = GenerationCeremony.start(ledger, admin, witness, script.purpose, rehearsal=True)
    presence.ceremony_id = ceremony.ceremony_id
    try:
        _preflight(ceremony, script.preflight)
        custodians: dict[int, PresentPerson] = {}
        for number, share in enumerate(script.shares, start=1):
            custodians[number] = _authenticate(presence, script, ids, share.custodian, "custodian")
            present.append(custodians[number])
        plan = SplitPlan(script.scheme, script.threshold, tuple(ids[s.custodian] for s in script.shares))
        ceremony.plan_key(script.key, plan)
        kcv = ceremony.generate()
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
        ceremony.wipe()
        for number, person in custodians.items():
            ack = paperwork.issue_acknowledgement(ledger, ceremony, number, person, forms=run.forms)
            run.write(
                f"acknowledgements/{ack.record.file_name}", ack.pdf, "acknowledgement", ack.record.subject
            )
        ceremony.close(paperwork.closing_checkpoint(ledger))
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
    result = _finish(run, ceremony, started, kcv_method=str(kcv.method), kcv=kcv.hex)
    for person in present:
        person.leave()
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
                    run.write(f"share-cards/{name}", card.view(), "share_card", subject)
                    paperwork.record_document(
                        run.ledger, ceremony, "share_card", run.entries[-1].sha256, subject, name
                    )
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
) -> RehearsalResult:
    minutes = paperwork.issue_minutes(run.ledger, ceremony, location=run.script.location, forms=run.forms)
    run.write(minutes.record.file_name, minutes.pdf, "minutes", minutes.record.subject)
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
        "documents": [e.as_dict() for e in run.entries],
    }
    (run.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
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
        documents=tuple(run.entries),
        seconds=time.perf_counter() - (started or time.perf_counter()),
    )


# === the rest of a key's life: recovery, re-share, retirement (issue 7) =====================================
#
# A lifecycle script takes its shares from a rehearsal's output folder (``shares_from``): the share cards a
# generation (or re-share) rehearsal wrote there are read back — the typed lines extracted from each card's
# PDF — exactly as a custodian would read them off the card. Each ``[[steps]]`` entry presents one share (or
# asks for the rebuild); deliberate mistakes (a card of another key's folder, a tampered card, a duplicate,
# too few shares, a wrong envelope serial, a broken seal) are played through the real engines, and every
# refusal is reported next to what the script said to expect.

REFUSAL_REASONS = (
    "below threshold",  # fewer than m shares entered when the rebuild was asked for
    "duplicate",  # the same share number entered twice
    "another key",  # a share of a different key
    "another split",  # a share of the same key but another split
    "retired",  # a share (or key) of a retired split or key
    "commitment mismatch",  # the share does not match its ledger commitment (checked at entry)
    "kcv mismatch",  # the combined key does not have the registered KCV (checked at rebuild)
    "envelope incident",  # serial read back differs or the seal is broken: refused (PCI PIN 9-2/9-4)
    "not the holder",  # the person presenting is not the share's recorded holder
    "format",  # the text does not decode (group checksum, length)
    "custody rule",  # a new split plan the custody rule forbids (PCI DSS 3.7.6)
    "dual control",  # at start: a control role given to someone who held part of the key (DESIGN §1)
)


@dataclass(frozen=True)
class Expectation:
    """``"accepted"`` (the default) or ``"refused"`` / ``"refused: REASON"`` (one of REFUSAL_REASONS, or the
    error's class name). ``bad_shares`` (rebuild steps): the share numbers the KCV check must name."""

    refused: bool = False
    reason: str = ""
    bad_shares: tuple[int, ...] | None = None

    @property
    def text(self) -> str:
        if not self.refused:
            return "accepted"
        return "refused" + (f": {self.reason}" if self.reason else "")

    @classmethod
    def parse(cls, text: str, where: str, bad: Any = None) -> Expectation:
        words = " ".join(text.strip().lower().split())
        bad_shares = None
        if bad is not None:
            if not isinstance(bad, list) or not all(isinstance(n, int) for n in bad):
                raise ScriptError(f"{where}: bad_shares is a list of share numbers")
            bad_shares = tuple(sorted(bad))
        if words in ("accepted", "accept", "rebuilt"):
            return cls(False, "", bad_shares)
        if words == "refused" or words.startswith("refused:"):
            reason = words.partition(":")[2].strip()
            return cls(True, reason, bad_shares)
        raise ScriptError(
            f'{where}: expect is "accepted" or "refused: REASON" (reasons: {", ".join(REFUSAL_REASONS)})'
        )


@dataclass(frozen=True)
class ScriptStep:
    """One ``[[steps]]`` entry: present share ``share`` (from ``shares_from`` or ``source``), or rebuild."""

    share: int | None  # None: the rebuild step
    custodian: str | None = None  # employee id presenting it (default: the share's recorded holder)
    source: str | None = None  # another rehearsal's output folder to take the card from
    envelope: str | None = None  # serial read back (default: the one recorded at sealing)
    seal_intact: bool = True
    tamper: bool = False
    expect: Expectation = Expectation()


@dataclass(frozen=True, repr=False)
class KekPart:
    custodian: str  # employee id
    hex: str  # a rehearsal KEK component (TEST key material, like the rehearsal passphrases)
    kcv: str | None = None

    def __repr__(self) -> str:
        return f"KekPart({self.custodian!r}, kcv={self.kcv!r})"


@dataclass(frozen=True)
class OutputPlan:
    kind: str  # "components" | "wrapped"
    custodians: tuple[str, ...] = ()  # components: employee id per component
    envelopes: tuple[str, ...] = ()  # components: the envelope serial each component card is sealed in
    kek_label: str = ""
    kek_parts: tuple[KekPart, ...] = ()
    kek_kcv: str | None = None


@dataclass(frozen=True)
class ReturnedEnvelopeEntry:
    envelope: str
    returned_by: str  # employee id
    seal_intact: bool = True


@dataclass(frozen=True)
class LifecycleScript:
    kind: str  # "recovery" | "reshare" | "retirement"
    purpose: str
    administrator: str
    witness: str
    people: tuple[ScriptPerson, ...]
    shares_from: str
    organisation: str = ""
    location: str = ""
    kdf: str = "production"
    check_commitments: bool = True
    expect: str = "completed"  # "completed" | "voided" | "refused: REASON" (refused at start)
    steps: tuple[ScriptStep, ...] = ()
    output: OutputPlan | None = None  # recovery
    reshare_reason: str = "custodian change"  # reshare
    threshold: int = 0  # reshare: m of the new split
    new_shares: tuple[ScriptShare, ...] = ()  # reshare
    retire: str = "key"  # retirement: "key" | "split"
    retire_reason: str = "end of cryptoperiod"
    retire_note: str = ""
    returned: tuple[ReturnedEnvelopeEntry, ...] = ()
    replaced_by: str = ""  # retirement: the replacement key (a key reference, as ``replaces``)
    preflight: str = "blocking"  # as in a generation script

    def person(self, employee_id: str) -> ScriptPerson:
        for p in self.people:
            if p.employee_id == employee_id:
                return p
        raise ScriptError(f"employee id {employee_id[:30]!r} is not listed under [[participants]]")


def _table_list(raw: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = raw.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ScriptError(f"{where}: [[{key}]] entries must be tables")
    return items


def _parse_steps(raw: Mapping[str, Any]) -> tuple[ScriptStep, ...]:
    steps = []
    for i, s in enumerate(_table_list(raw, "steps", "script"), start=1):
        where = f"[[steps]] #{i}"
        _only(
            s,
            {
                "share",
                "rebuild",
                "custodian",
                "from",
                "envelope",
                "seal_intact",
                "tamper",
                "expect",
                "bad_shares",
            },
            where,
        )
        expect = Expectation.parse(_get(s, "expect", str, where, "accepted"), where, s.get("bad_shares"))
        if s.get("rebuild", False) is True:
            if "share" in s:
                raise ScriptError(f"{where}: a step presents a share or asks for the rebuild, not both")
            steps.append(ScriptStep(None, expect=expect))
            continue
        number = _get(s, "share", int, where)
        if number < 1:
            raise ScriptError(f"{where}: share is a share number (1, 2, ...)")
        steps.append(
            ScriptStep(
                number,
                custodian=s.get("custodian") if isinstance(s.get("custodian"), str) else None,
                source=_get(s, "from", str, where, "") or None,
                envelope=_get(s, "envelope", str, where, "") or None,
                seal_intact=_get(s, "seal_intact", bool, where, True),
                tamper=_get(s, "tamper", bool, where, False),
                expect=expect,
            )
        )
    return tuple(steps)


def _parse_output(raw: Mapping[str, Any]) -> OutputPlan:
    out = _get(raw, "output", dict, "script")
    _only(out, {"kind", "custodians", "envelopes", "kek_label", "kek_kcv", "kek_components"}, "[output]")
    kind = _get(out, "kind", str, "[output]")
    if kind == "components":
        custodians = _get(out, "custodians", list, "[output]")
        if len(custodians) < 2 or not all(isinstance(c, str) for c in custodians):
            raise ScriptError("[output]: custodians lists two or more employee ids, one per component")
        envelopes = _get(out, "envelopes", list, "[output]", [])
        if envelopes and (
            len(envelopes) != len(custodians) or not all(isinstance(e, str) for e in envelopes)
        ):
            raise ScriptError("[output]: envelopes lists one envelope serial per component")
        return OutputPlan("components", custodians=tuple(custodians), envelopes=tuple(envelopes))
    if kind != "wrapped":
        raise ScriptError(
            "[output]: kind is 'components' (XOR components for an HSM) or 'wrapped' (RFC 5649)"
        )
    parts = []
    for i, part in enumerate(_table_list(out, "kek_components", "[output]"), start=1):
        where = f"[[output.kek_components]] #{i}"
        _only(part, {"custodian", "hex", "kcv"}, where)
        parts.append(
            KekPart(_get(part, "custodian", str, where), _get(part, "hex", str, where), part.get("kcv"))
        )
    if len(parts) < 2:
        raise ScriptError("[output]: a wrapped output needs two or more [[output.kek_components]]")
    return OutputPlan(
        "wrapped",
        kek_label=_get(out, "kek_label", str, "[output]"),
        kek_parts=tuple(parts),
        kek_kcv=_get(out, "kek_kcv", str, "[output]", "") or None,
    )


def parse_lifecycle_script(text: str) -> LifecycleScript:
    """Parse a recovery, re-share or retirement script (format: ``ceremony/flows/examples/README.md``)."""
    raw = _load_toml(text)
    kind = _script_kind(raw)
    if kind not in ("recovery", "reshare", "retirement"):
        raise ScriptError("[ceremony]: kind is 'recovery', 'reshare' or 'retirement' for this script")
    return _lifecycle_script(raw, kind)


def _lifecycle_script(raw: Mapping[str, Any], kind: str) -> LifecycleScript:
    allowed = {
        "recovery": {"ceremony", "participants", "steps", "output"},
        "reshare": {"ceremony", "participants", "steps", "reshare", "new_shares"},
        "retirement": {"ceremony", "participants", "retire", "returned"},
    }[kind]
    _only(raw, allowed, "script")
    cer = _get(raw, "ceremony", dict, "script")
    _only(
        cer,
        {
            "kind",
            "organisation",
            "purpose",
            "location",
            "administrator",
            "witness",
            "kdf",
            "shares_from",
            "check_commitments",
            "expect",
            "preflight",
        },
        "[ceremony]",
    )
    kdf = _kdf(cer)
    expect = " ".join(_get(cer, "expect", str, "[ceremony]", "completed").lower().split())
    if expect not in ("completed", "voided"):
        Expectation.parse(expect, "[ceremony]")  # "refused: REASON" (refused at start)
    fields: dict[str, Any] = {}
    if kind in ("recovery", "reshare"):
        fields["steps"] = _parse_steps(raw)
    if kind == "recovery":
        fields["output"] = _parse_output(raw)
    if kind == "reshare":
        plan = _get(raw, "reshare", dict, "script")
        _only(plan, {"reason", "threshold"}, "[reshare]")
        fields["reshare_reason"] = _get(plan, "reason", str, "[reshare]", "custodian change")
        fields["threshold"] = _get(plan, "threshold", int, "[reshare]")
        shares = []
        for i, s in enumerate(_table_list(raw, "new_shares", "script"), start=1):
            where = f"[[new_shares]] #{i}"
            _only(s, {"custodian", "envelope", "receipt"}, where)
            receipt = _get(s, "receipt", str, where, "card")
            if receipt not in RECEIPT_METHODS:
                raise ScriptError(f"{where}: receipt is 'recorded' or 'card'")
            shares.append(
                ScriptShare(_get(s, "custodian", str, where), _get(s, "envelope", str, where), receipt)
            )
        if len(shares) < 2:
            raise ScriptError("[[new_shares]]: a re-share names two or more new custodians")
        fields["new_shares"] = tuple(shares)
    if kind == "retirement":
        retire = _get(raw, "retire", dict, "script")
        _only(retire, {"what", "reason", "note", "replaced_by"}, "[retire]")
        fields["replaced_by"] = _get(retire, "replaced_by", str, "[retire]", "").strip()
        fields["retire"] = _get(retire, "what", str, "[retire]", "key")
        if fields["retire"] not in ("key", "split"):
            raise ScriptError("[retire]: what is 'key' (the key and all its splits) or 'split' (one split)")
        fields["retire_reason"] = _get(retire, "reason", str, "[retire]")
        fields["retire_note"] = _get(retire, "note", str, "[retire]", "")
        returned = []
        for i, r in enumerate(_table_list(raw, "returned", "script"), start=1):
            where = f"[[returned]] #{i}"
            _only(r, {"envelope", "returned_by", "seal_intact"}, where)
            returned.append(
                ReturnedEnvelopeEntry(
                    _get(r, "envelope", str, where),
                    _get(r, "returned_by", str, where),
                    _get(r, "seal_intact", bool, where, True),
                )
            )
        fields["returned"] = tuple(returned)
    script = LifecycleScript(
        kind=kind,
        purpose=_get(cer, "purpose", str, "[ceremony]"),
        administrator=_get(cer, "administrator", str, "[ceremony]"),
        witness=_get(cer, "witness", str, "[ceremony]"),
        people=_parse_people(raw),
        shares_from=_get(cer, "shares_from", str, "[ceremony]"),
        organisation=_get(cer, "organisation", str, "[ceremony]", ""),
        location=_get(cer, "location", str, "[ceremony]", ""),
        kdf=kdf,
        check_commitments=_get(cer, "check_commitments", bool, "[ceremony]", True),
        expect=expect,
        preflight=_preflight_mode(cer),
        **fields,
    )
    named = [script.administrator, script.witness]
    named += [s.custodian for s in script.steps if s.custodian]
    named += [s.custodian for s in script.new_shares] + [r.returned_by for r in script.returned]
    if script.output is not None:
        named += list(script.output.custodians) + [p.custodian for p in script.output.kek_parts]
    for eid in named:
        script.person(eid)
    return script


def parse_any(text: str) -> AnyScript:
    """Any rehearsal script, by its ``[ceremony] kind``."""
    raw = _load_toml(text)
    kind = _script_kind(raw)
    if kind == "generation":
        return parse_script(text)
    if kind == "departure":
        return _departure_script(raw)
    if kind == "sequence":
        return _sequence_script(raw)
    return _lifecycle_script(raw, kind)


def load_any(path: Path) -> AnyScript:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read the script {path}: {exc.strerror}") from None
    return parse_any(text)


# --- reading share cards back -------------------------------------------------------------------------------
_TYPED_START = "Share (typed form)"
_GROUP_LABEL = re.compile(r"g\d+")
_TYPED_END = re.compile(r"Share \d+ of \d+, split")


def card_share_text(pdf_path: Path) -> bytearray:
    """The typed lines printed on a rehearsal share card, read back from the PDF's text (as a custodian reads
    them off the card). The line labels (g1, g5, ...) are dropped; the codec checks every group after.

    The PDF text extractor hands the page text over as a ``str`` that cannot be wiped: acceptable for the
    TEST shares of a rehearsal card only — a production card is never on disk to be read (DESIGN §4.2)."""
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf ships with the test and rehearsal extras
        raise InputError("reading share cards back needs the pypdf package (pip install pypdf)") from None
    try:
        text = PdfReader(pdf_path).pages[0].extract_text()
    except Exception as exc:  # pypdf raises many types for a damaged file
        raise InputError(f"{pdf_path.name} cannot be read as a share card ({type(exc).__name__})") from None
    start = text.find(_TYPED_START)
    end = _TYPED_END.search(text, start + 1) if start >= 0 else None
    if start < 0 or end is None:
        raise InputError(f"{pdf_path.name} is not a share card: no typed share found on its first page")
    out = bytearray()
    for token in text[start + len(_TYPED_START) : end.start()].split("\n"):
        if not _GROUP_LABEL.fullmatch(token.strip()):
            out += token.encode("ascii", "replace")
    return out


@dataclass(frozen=True)
class ShareSource:
    """A rehearsal output folder whose share cards are presented: the key and split it says they belong to,
    and the card file of each share number (checked against the manifest's SHA-256)."""

    folder: Path
    key_id: str
    split_id: str
    cards: dict[int, Path]


def read_share_source(folder: Path) -> ShareSource:
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            f"{folder} is not a rehearsal output folder (no readable manifest.json): give the --out folder "
            "of a generation or re-share rehearsal"
        ) from None
    if manifest.get("rehearsal") is not True or manifest.get("kind", "generation") not in (
        "generation",
        "reshare",
    ):
        raise InputError(f"{folder} does not hold the share cards of a generation or re-share rehearsal")
    cards: dict[int, Path] = {}
    for doc in manifest.get("documents", []):
        if doc.get("kind") != "share_card":
            continue
        path = folder / str(doc["path"])
        if not path.is_file() or sha256_of(path.read_bytes()) != doc.get("sha256"):
            raise InputError(f"share card {doc['path']} in {folder} is missing or differs from its manifest")
        match = re.match(r"share (\d+) of", str(doc.get("subject", "")))
        if match is None:
            raise InputError(f"the manifest of {folder} does not say which share {doc['path']} holds")
        cards[int(match.group(1))] = path
    if not cards:
        raise InputError(f"{folder} holds no share cards")
    return ShareSource(folder, str(manifest["key_id"]), str(manifest["split_id"]), cards)


def tampered_share_text(text: bytearray) -> bytearray:
    """The same card with one share byte changed and every check character recomputed: each group and the
    whole-share checksum still check out, so only the ledger commitment or the KCV can catch it."""
    share = decode_share(text)
    try:
        data = bytearray(share.data.view())
        data[0] ^= 0x01
        forged = Share(
            share.key_id,
            share.split_id,
            share.scheme,
            share.threshold,
            share.count,
            share.number,
            SecretBytes.adopt(data),
        )
        with encode_share(forged) as encoded:
            out = bytearray(encoded.view())
        forged.wipe()
        return out
    finally:
        share.wipe()


# --- the lifecycle run -------------------------------------------------------------------------------------
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
        outcome_ok = _outcome_matches(self.outcome, self.expected_outcome)
        return outcome_ok and all(s.as_expected for s in self.steps)


def _outcome_matches(outcome: str, expected: str) -> bool:
    if not expected.startswith("refused"):
        return outcome == expected
    want = Expectation.parse(expected, "[ceremony]")
    return outcome.startswith("refused") and (not want.reason or outcome == f"refused: {want.reason}")


def _reason_of(exc: CeremonyError, header: ShareHeader | None, key_id: str) -> str:
    if isinstance(exc, BelowThresholdError):
        return "below threshold"
    if isinstance(exc, DuplicateShareError):
        return "duplicate"
    if isinstance(exc, RetiredShareError | RetiredKeyError):
        return "retired"
    if isinstance(exc, ForeignShareError):
        return "another key" if header is None or header.key_id != key_id else "another split"
    if isinstance(exc, EnvelopeIncidentError):
        return "envelope incident"
    if isinstance(exc, DualControlError):
        return "not the holder"
    if isinstance(exc, ShareFormatError | MalformedShareError):
        return "format"
    if isinstance(exc, CustodyViolationError):
        return "custody rule"
    if isinstance(exc, KCVMismatchError):
        return "kcv mismatch"
    if isinstance(exc, BadShareError):
        return "commitment mismatch"
    return type(exc).__name__


def _step_matches(expect: Expectation, result: str, reason: str, error: str, bad: tuple[int, ...]) -> bool:
    if expect.refused != (result == "refused"):
        return False
    if expect.refused and expect.reason and expect.reason not in (reason, error.lower()):
        return False
    return expect.bad_shares is None or expect.bad_shares == tuple(sorted(bad))


# Refusals a custodian can cause by presenting the wrong thing: reported, and the ceremony goes on.
_REFUSALS = (
    ShareError,
    ShareFormatError,
    EnvelopeIncidentError,
    DualControlError,
    KCVMismatchError,
    RetiredKeyError,
)

LIFECYCLE_README = """REHEARSAL OUTPUT - TEST KEY ({kind})

Everything in this folder comes from a {kind} rehearsal on a rehearsal ledger (ledger {ledger_id}),
of the TEST key {key_id} (test_key: true in the ledger). Share cards and component cards here hold TEST
material and a wrapped key file wraps a TEST key under a TEST key-encryption key: never use them to
protect production data (PCI DSS 3.6.1.1). report.txt lists every step and its outcome; the signed
minutes (minutes-<ceremony id>.pdf) are the ceremony's record; manifest.json lists every file with its
SHA-256.
"""


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
    entries: list[ManifestEntry] = field(default_factory=list)
    outcomes: list[StepOutcome] = field(default_factory=list)
    present: dict[tuple[str, str], PresentPerson] = field(default_factory=dict)
    ceremony_id: str = ""  # once a ceremony started: it ends with minutes, also when voided (DESIGN §4.7)
    refs: Mapping[str, str] = field(default_factory=dict)  # a sequence's stage names -> key ids

    def write(self, relative: str, data: bytes | memoryview, kind: str, subject: str) -> ManifestEntry:
        archive.write_exclusive(self.out_dir / relative, data)  # the manifest names this exact file
        self.entries.append(ManifestEntry(kind, relative, sha256_of(data), subject))
        return self.entries[-1]

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
    forms = load_forms()
    if script.organisation.strip():
        forms = replace(forms, organisation=replace(forms.organisation, name=script.organisation.strip()))
    ledger_path = Path(ledger_path)
    if not ledger_path.exists():
        raise InputError(
            f"{ledger_path} does not exist: give the rehearsal ledger the share cards of {source.folder} "
            "were issued on"
        )
    ledger = _open_rehearsal_ledger(ledger_path)
    try:
        _prepare_out_dir(Path(out_dir))
        ids = _enroll(ledger, script)  # type: ignore[arg-type]  # uses .people and .kdf only
        presence = Presence(ledger)
        life = _Life(ledger, script, Path(out_dir), base, forms, presence, ids, source, refs=refs or {})
        try:
            if script.kind == "retirement":
                return _run_retirement(life, started)
            return _run_rebuilding(life, started)  # recovery, or the recovery part of a re-share
        finally:
            life.leave()
    finally:
        ledger.close()


def run_any(
    script: AnyScript,
    ledger_path: Path,
    out_dir: Path,
    *,
    shares_from: Path | None = None,
    base: Path | None = None,
) -> RehearsalResult | LifecycleResult | DepartureResult | SequenceResult:
    if isinstance(script, RehearsalScript):
        return run_rehearsal(script, ledger_path, out_dir, base=base)
    if isinstance(script, DepartureScript):
        return run_departure(script, ledger_path, out_dir)
    if isinstance(script, SequenceScript):
        return run_sequence(script, ledger_path, out_dir, base=base)
    return run_lifecycle(script, ledger_path, out_dir, shares_from=shares_from, base=base)


def _start_refused(life: _Life, exc: CeremonyError, started: float) -> LifecycleResult:
    reason = (
        "dual control" if isinstance(exc, DualControlError) else _reason_of(exc, None, life.source.key_id)
    )
    matched = _outcome_matches(f"refused: {reason}", life.script.expect)
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
    output: ComponentsOutput | WrappedOutput
    if script.output.kind == "components":
        output = ComponentsOutput(tuple(life.ids[e] for e in script.output.custodians))
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
    except (RetiredKeyError, PolicyError) as exc:
        return _start_refused(life, exc, started)
    life.presence.ceremony_id = life.ceremony_id = rec.ceremony_id
    try:
        _preflight(reshare if reshare is not None else rec, life.script.preflight)
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
        if reshare is not None:
            _reshare_output(life, reshare)
        else:
            _recovery_output(life, rec)
    except BaseException as exc:
        why = "rehearsal stopped: " + (str(exc) if isinstance(exc, CeremonyError) else type(exc).__name__)
        (reshare.void if reshare is not None else rec.void)(why[:300])
        _life_finish(life, rec.ceremony_id, "voided", started, kcv="")
        raise
    split_id = reshare.new_split_id if reshare is not None else rec.split_id
    return _life_finish(life, rec.ceremony_id, "completed", started, kcv=rec.key.kcv.hex, split_id=split_id)


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
        except _REFUSALS as exc:
            return _outcome(index, "present", step, eid, rec, exc, header, ())
    finally:
        text[:] = bytes(len(text))
    ok = _step_matches(step.expect, "accepted", "", "", ())
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
    reason = _reason_of(exc, header, rec.key_id)
    error = type(exc).__name__
    ok = _step_matches(step.expect, "refused", reason, error, bad)
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
    ok = _step_matches(step.expect, "rebuilt", "", "", ())
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


def _card_data(
    life: _Life,
    ceremony_id: str,
    person_id: str,
    split: SplitPlan,
    split_id: str,
    number: int,
    typed: SecretBytes,
    lines: SecretBytes,
    envelope: str,
    what: str,
) -> ShareCardData:
    key = read_register(life.ledger.events()).key(life.source.key_id)
    who = enrolment.participant(life.ledger, person_id)
    return ShareCardData(
        ceremony_id=ceremony_id,
        custodian=Person(who.name, who.employee_id, what),
        key_label=key.label + paperwork.TEST_MARK,
        key_id=key.key_id,
        key_type=key.key_type.value,
        split_id=split_id,
        scheme=f"XOR {split.count} components"
        if split.scheme is Scheme.XOR
        else f"Shamir {split.threshold}-of-{split.count}",
        share_number=number,
        share_count=split.count,
        kcv=key.kcv_hex.upper(),
        kcv_method=key.kcv_method,
        envelope_serial=envelope.strip().upper(),
        issued_at=datetime.now(UTC).replace(microsecond=0),
        share_lines=lines,
        qr_payload=typed,
        organisation=enrolment.genesis(life.ledger).organisation,
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
        data = _card_data(
            life,
            rec.ceremony_id,
            plan.custodians[number - 1],
            plan,
            split_id,
            number,
            typed,
            lines,
            envelope,
            paperwork.ROLE_NAMES["custodian"],
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


def _recovery_output(life: _Life, rec: RecoveryCeremony) -> None:
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
    else:
        for part in plan_out.kek_parts:
            hex_text = bytearray(part.hex.encode("ascii", "replace"))
            try:
                rec.enter_kek_component(life.person(part.custodian, "custodian"), hex_text, part.kcv)
            finally:
                hex_text[:] = bytes(len(hex_text))
        wrapped = rec.wrap(expected_kek_kcv_hex=plan_out.kek_kcv)
        label = re.sub(r"[^A-Za-z0-9]+", "-", plan_out.kek_label).strip("-")[:40] or "KEK"
        life.write(
            f"wrapped/{rec.key_id}-under-{label}.rfc5649",
            wrapped.blob,
            "wrapped_key",
            f"key {rec.key.label} wrapped under {plan_out.kek_label} (KEK KCV {wrapped.kek_kcv.hex}, "
            f"key KCV {wrapped.key_kcv.hex}, RFC 5649)",
        )
    rec.finish(paperwork.closing_checkpoint(life.ledger))


def _reshare_output(life: _Life, reshare: ReshareCeremony) -> None:
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
    # Each new custodian signs their acknowledgement before the old split is retired (PCI DSS 3.7.8).
    witness = life.person(life.script.witness, "witness")
    for number, new in enumerate(life.script.new_shares, start=1):
        ack = paperwork.issue_acknowledgement_for(
            life.ledger,
            rec.ceremony_id,
            reshare.new_split_id,
            number,
            life.person(new.custodian, "custodian"),
            witness,
            forms=life.forms,
        )
        life.write(f"acknowledgements/{ack.record.file_name}", ack.pdf, "acknowledgement", ack.record.subject)
    reshare.finish(paperwork.closing_checkpoint(life.ledger))


def _run_retirement(life: _Life, started: float) -> LifecycleResult:
    script = life.script
    admin = life.person(script.administrator, "administrator")
    witness = life.person(script.witness, "witness")
    ceremony = RetirementCeremony.start(
        life.ledger, admin, witness, script.purpose, rehearsal=True, location=script.location or None
    )
    life.presence.ceremony_id = life.ceremony_id = ceremony.ceremony_id
    try:
        _preflight(ceremony, script.preflight)
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
            returned = ceremony.return_envelope(
                entry.envelope, f"{who.name} ({who.employee_id})", entry.seal_intact
            )
            note = f"envelope {returned.serial}: share {returned.share_number} of split {returned.split_id}"
            note += ", for destruction" + ("" if entry.seal_intact else "; seal broken: incident recorded")
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
        ceremony.close(paperwork.closing_checkpoint(life.ledger))
    except BaseException as exc:
        # Whatever was retired stays retired; the ceremony is recorded as stopped, never left open.
        why = "rehearsal stopped: " + (str(exc) if isinstance(exc, CeremonyError) else type(exc).__name__)
        ceremony.void(why[:300])
        _life_finish(life, ceremony.ceremony_id, "voided", started, kcv="")
        raise
    kcv = read_register(life.ledger.events()).key(life.source.key_id).kcv_hex.upper()
    return _life_finish(life, ceremony.ceremony_id, "completed", started, kcv=kcv)


def _life_finish(
    life: _Life, ceremony_id: str, outcome: str, started: float, *, kcv: str, split_id: str | None = None
) -> LifecycleResult:
    if life.ceremony_id:
        # Every ceremony that started ends with signed minutes, a voided one too (DESIGN §4.7).
        minutes = paperwork.issue_minutes_for(
            life.ledger,
            life.ceremony_id,
            life.person(life.script.administrator, "administrator"),
            life.person(life.script.witness, "witness"),
            location=life.script.location,
            forms=life.forms,
        )
        life.write(minutes.record.file_name, minutes.pdf, "minutes", minutes.record.subject)
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
        documents=tuple(life.entries),
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
        "documents": [e.as_dict() for e in life.entries],
    }
    (life.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (life.out_dir / "README.txt").write_text(
        LIFECYCLE_README.format(kind=result.kind, ledger_id=result.ledger_id, key_id=result.key_id),
        encoding="utf-8",
    )
    return result


def lifecycle_report(result: LifecycleResult) -> str:
    """The step-by-step outcome a trainer reads out: each share presented, refused or accepted, against
    what the script expected."""
    lines = [
        f"{result.kind.capitalize()} rehearsal {result.ceremony_id or '(not started)'} of TEST key "
        f"{result.key_id}: {result.outcome} (expected: {result.expected_outcome})",
    ]
    for s in result.steps:
        what = {
            "present": f"share {s.share} presented by {s.presented_by}",
            "return envelope": f"envelope returned by {s.presented_by}",
        }.get(s.action, s.action)
        got = s.result + (f": {s.reason}" if s.reason else "")
        if s.bad_shares:
            got += f" (bad share {', '.join(map(str, s.bad_shares))})"
        mark = "as expected" if s.as_expected else f"NOT AS EXPECTED (expected {s.expected})"
        step = f"step {s.index}" if s.index else ("start" if s.action == "start" else "end")
        lines.append(f"  {step:<8} {what:<40} {got:<40} [{s.progress or '-'}] {mark}")
        if s.message:
            lines.append(f"           {s.message}")
    lines.append(f"Everything as the script expected: {'yes' if result.as_expected else 'NO'}")
    lines.append(f"Time: {result.seconds:.1f} s")
    return "\n".join(lines) + "\n"


# === a custodian's departure, and a whole key path in one script (PCI DSS 3.7.5) ==========================
#
# ``[ceremony] kind = "departure"``: a security officer and a witness record that a person left custody
# (:func:`ceremony.flows.departure.record_departure`); every key they ever knew is flagged "must be
# replaced". ``[ceremony] kind = "sequence"``: several scripts — generation, departure, recovery, re-share,
# retirement — played in order on one rehearsal ledger, each ``[[stages]]`` entry written as its own script
# (its [ceremony] settings at the top of the stage, its sections as sub-tables), sharing the participants.
# A generation stage's ``name`` is the key's name for later stages (``key = "NAME"``: whose cards are
# presented, the latest re-share's cards once re-shared; ``replaces = "NAME"``; ``replaced_by = "NAME"``),
# and each stage's ``flags`` says where each named key must stand afterwards (PCI DSS 3.7.5), checked
# against the ledger: "none", "must be replaced", "must still be replaced" (re-shared after the flag: the
# same key), "replacement generated", "cleared" (retired naming its replacement), "retired, not replaced".

SEQUENCE_STAGE_KINDS = ("generation", "departure", "recovery", "reshare", "retirement")
# The sections a stage may carry as sub-tables (everything else at its top level is a [ceremony] setting).
_SECTIONS = frozenset(
    {"key", "split", "shares", "steps", "output", "reshare", "new_shares", "retire", "returned", "departure"}
)
_SHARED = ("organisation", "location", "preflight", "kdf")  # a sequence's settings every stage inherits
_SHARED_BY_KIND = {"departure": ("organisation", "kdf")}


@dataclass(frozen=True)
class DepartureScript:
    security_officer: str  # employee id: records the departure
    witness: str  # employee id
    leaving: str  # employee id of the person who leaves custody
    reason: str
    people: tuple[ScriptPerson, ...]
    organisation: str = ""
    kdf: str = "production"
    expect: str = "completed"  # or "refused: REASON" (e.g. "dual control")
    kind: str = "departure"

    def person(self, employee_id: str) -> ScriptPerson:
        for p in self.people:
            if p.employee_id == employee_id:
                return p
        raise ScriptError(f"employee id {employee_id[:30]!r} is not listed under [[participants]]")


def _departure_script(raw: Mapping[str, Any]) -> DepartureScript:
    _only(raw, {"ceremony", "participants", "departure"}, "script")
    cer = _get(raw, "ceremony", dict, "script")
    _only(cer, {"kind", "organisation", "kdf", "security_officer", "witness", "expect"}, "[ceremony]")
    leave = _get(raw, "departure", dict, "script")
    _only(leave, {"person", "reason"}, "[departure]")
    expect = " ".join(_get(cer, "expect", str, "[ceremony]", "completed").lower().split())
    if expect != "completed":
        Expectation.parse(expect, "[ceremony]")
    script = DepartureScript(
        security_officer=_get(cer, "security_officer", str, "[ceremony]"),
        witness=_get(cer, "witness", str, "[ceremony]"),
        leaving=_get(leave, "person", str, "[departure]"),
        reason=_get(leave, "reason", str, "[departure]"),
        people=_parse_people(raw),
        organisation=_get(cer, "organisation", str, "[ceremony]", ""),
        kdf=_kdf(cer),
        expect=expect,
    )
    for eid in (script.security_officer, script.witness, script.leaving):
        script.person(eid)
    return script


def parse_departure_script(text: str) -> DepartureScript:
    raw = _load_toml(text)
    if _script_kind(raw) != "departure":
        raise ScriptError("[ceremony]: kind is 'departure' for this script")
    return _departure_script(raw)


@dataclass(frozen=True)
class DepartureResult:
    person_id: str
    employee_id: str
    name: str
    seq: int | None  # the participant.deactivated event (None when refused)
    keys: tuple[str, ...]  # every key they ever knew, now flagged "must be replaced"
    outcome: str  # "completed" | "refused: REASON"
    expected_outcome: str
    message: str
    out_dir: Path
    kind: str = "departure"

    @property
    def as_expected(self) -> bool:
        return _outcome_matches(self.outcome, self.expected_outcome)


def run_departure(script: DepartureScript, ledger_path: Path, out_dir: Path) -> DepartureResult:
    """Record that ``script.leaving`` left custody, on the rehearsal ledger ``ledger_path`` (which must
    exist: the person was enrolled there); writes ``report.txt`` and ``manifest.json`` into ``out_dir``."""
    from ceremony.flows.departure import record_departure

    ledger_path = Path(ledger_path)
    if not ledger_path.exists():
        raise InputError(
            f"{ledger_path} does not exist: give the rehearsal ledger the person was enrolled on"
        )
    ledger = _open_rehearsal_ledger(ledger_path)
    try:
        _prepare_out_dir(Path(out_dir))
        ids = _enroll(ledger, script)  # type: ignore[arg-type]  # uses .people, .kdf and .organisation
        presence = Presence(ledger)
        who = script.person(script.leaving)
        seq: int | None = None
        keys: tuple[str, ...] = ()
        present: list[PresentPerson] = []
        try:
            officer = _authenticate(presence, script, ids, script.security_officer, "security_officer")  # type: ignore[arg-type]
            present.append(officer)
            witness = _authenticate(presence, script, ids, script.witness, "witness")  # type: ignore[arg-type]
            present.append(witness)
            departure = record_departure(ledger, ids[script.leaving], script.reason, officer, witness)
            seq, keys, outcome, message = departure.seq, departure.keys, "completed", ""
        except (DualControlError, IdentityError, InputError) as exc:
            reason = "dual control" if isinstance(exc, DualControlError) else type(exc).__name__
            outcome, message = f"refused: {reason}", str(exc)
        finally:
            for person in present:
                person.leave()
        result = DepartureResult(
            ids.get(script.leaving, ""),
            who.employee_id,
            who.name,
            seq,
            keys,
            outcome,
            script.expect,
            message,
            Path(out_dir),
        )
        (Path(out_dir) / "report.txt").write_text(departure_report(result), encoding="utf-8")
        manifest = {
            "rehearsal": True,
            "kind": "departure",
            "ledger_id": ledger.ledger_id,
            "person_id": result.person_id,
            "employee_id": result.employee_id,
            "deactivated_seq": seq,
            "flagged_keys": list(keys),
            "outcome": outcome,
            "expected_outcome": script.expect,
            "as_expected": result.as_expected,
            "closing_checkpoint": paperwork.closing_checkpoint(ledger),
        }
        (Path(out_dir) / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return result
    finally:
        ledger.close()


def departure_report(result: DepartureResult) -> str:
    if result.seq is None:
        head = f"Departure of {result.name} ({result.employee_id}): {result.outcome}"
    else:
        head = (
            f"Departure of {result.name} ({result.employee_id}) recorded at event #{result.seq}; keys they "
            f"ever knew, now flagged 'must be replaced' (PCI DSS 3.7.5): {', '.join(result.keys) or 'none'}"
        )
    mark = "as expected" if result.as_expected else f"NOT AS EXPECTED (expected {result.expected_outcome})"
    lines = [head + f" [{mark}]"]
    if result.message:
        lines.append(f"  {result.message}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SequenceStage:
    index: int  # 1-based
    kind: str
    name: str  # a generation's key name ("" for other stages)
    script: RehearsalScript | LifecycleScript | DepartureScript
    key: str = ""  # recovery / re-share / retirement: the named key whose cards are presented
    flags: tuple[tuple[str, str], ...] = ()  # (key name, expected replacement state) after the stage


@dataclass(frozen=True)
class SequenceScript:
    purpose: str
    people: tuple[ScriptPerson, ...]
    stages: tuple[SequenceStage, ...]
    organisation: str = ""
    kdf: str = "production"
    kind: str = "sequence"


AnyScript = RehearsalScript | LifecycleScript | DepartureScript | SequenceScript


def _sequence_script(raw: Mapping[str, Any]) -> SequenceScript:
    from ceremony.reports.model import REPLACEMENT_STATES

    _only(raw, {"ceremony", "participants", "stages"}, "script")
    cer = _get(raw, "ceremony", dict, "script")
    _only(cer, {"kind", "purpose", *_SHARED}, "[ceremony]")
    people = _parse_people(raw)
    stages: list[SequenceStage] = []
    names: list[str] = []
    for index, table in enumerate(_table_list(raw, "stages", "script"), start=1):
        where = f"[[stages]] #{index}"
        kind = _get(table, "kind", str, where)
        if kind not in SEQUENCE_STAGE_KINDS:
            raise ScriptError(f"{where}: kind is {', '.join(repr(k) for k in SEQUENCE_STAGE_KINDS)}")
        name = _get(table, "name", str, where, "").strip()
        if name and kind != "generation":
            raise ScriptError(f"{where}: only a generation stage names a key (name = ...)")
        if kind == "generation":
            if not name:
                raise ScriptError(f'{where}: a generation stage names its key: name = "..."')
            if name in names:
                raise ScriptError(f"{where}: the key name {name[:30]!r} is used by an earlier stage")
            names.append(name)
        ref = str(table["key"]) if isinstance(table.get("key"), str) else ""
        if kind in ("recovery", "reshare", "retirement"):
            if not ref:
                raise ScriptError(f'{where}: name the key of an earlier generation stage: key = "..."')
            if ref not in names:
                raise ScriptError(f"{where}: no earlier generation stage is named {ref[:30]!r}")
        elif ref:
            raise ScriptError(f'{where}: key = "{ref[:30]}" is for recovery, re-share and retirement stages')
        flags_table = table.get("flags", {})
        if not isinstance(flags_table, dict):
            raise ScriptError(f'{where}: flags is a table: flags = {{ KEYNAME = "must be replaced" }}')
        flags = []
        for key_name, state in flags_table.items():
            if key_name not in names:
                raise ScriptError(f"{where}: flags names {key_name[:30]!r}, no key generated by then")
            if state not in REPLACEMENT_STATES:
                raise ScriptError(
                    f"{where}: the flag of {key_name[:30]} is one of "
                    + ", ".join(map(repr, REPLACEMENT_STATES))
                )
            flags.append((str(key_name), str(state)))
        inherited = _SHARED_BY_KIND.get(kind, _SHARED)
        ceremony: dict[str, Any] = {k: cer[k] for k in inherited if k in cer}
        sections: dict[str, Any] = {}
        for setting, value in table.items():
            if setting in ("name", "flags") or (setting == "key" and isinstance(value, str)):
                continue
            if setting in _SECTIONS:
                sections[setting] = value
            else:
                ceremony[setting] = value
        if ref:
            ceremony.setdefault("shares_from", f"(the cards of key {ref})")
        stage_raw = {"ceremony": ceremony, "participants": raw["participants"], **sections}
        try:
            script: RehearsalScript | LifecycleScript | DepartureScript
            if kind == "generation":
                script = _generation_script(stage_raw)
            elif kind == "departure":
                script = _departure_script(stage_raw)
            else:
                script = _lifecycle_script(stage_raw, kind)
        except ScriptError as exc:
            raise ScriptError(f"{where} ({kind}): {exc}".replace("[ceremony]", "stage")) from None
        if isinstance(script, RehearsalScript) and script.replaces and script.replaces not in names[:-1]:
            raise ScriptError(
                f"{where}: replaces names {script.replaces[:30]!r}, no earlier generation stage"
            )
        stages.append(SequenceStage(index, kind, name, script, ref, tuple(flags)))
    if not stages:
        raise ScriptError("a sequence has one or more [[stages]]")
    return SequenceScript(
        purpose=_get(cer, "purpose", str, "[ceremony]"),
        people=people,
        stages=tuple(stages),
        organisation=_get(cer, "organisation", str, "[ceremony]", ""),
        kdf=_kdf(cer),
    )


def parse_sequence_script(text: str) -> SequenceScript:
    raw = _load_toml(text)
    if _script_kind(raw) != "sequence":
        raise ScriptError("[ceremony]: kind is 'sequence' for this script")
    return _sequence_script(raw)


@dataclass(frozen=True)
class FlagCheck:
    """Where a named key stands after a stage (PCI DSS 3.7.5), read from the ledger, against the script."""

    name: str
    key_id: str
    expected: str
    actual: str
    text: str

    @property
    def as_expected(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class StageOutcome:
    index: int
    kind: str
    name: str
    outcome: str
    expected: str
    ceremony_id: str
    key_id: str
    out_dir: Path
    flags: tuple[FlagCheck, ...]
    details: str  # the stage's own report (lifecycle report, departure report, generation summary)
    steps_as_expected: bool = True

    @property
    def as_expected(self) -> bool:
        return (
            _outcome_matches(self.outcome, self.expected)
            and self.steps_as_expected
            and all(f.as_expected for f in self.flags)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.index,
            "kind": self.kind,
            "name": self.name,
            "outcome": self.outcome,
            "expected": self.expected,
            "ceremony_id": self.ceremony_id,
            "key_id": self.key_id,
            "folder": self.out_dir.name,
            "flags": [
                {
                    "key": f.name,
                    "key_id": f.key_id,
                    "expected": f.expected,
                    "actual": f.actual,
                    "text": f.text,
                }
                for f in self.flags
            ],
            "as_expected": self.as_expected,
        }


@dataclass(frozen=True)
class SequenceResult:
    ledger_id: str
    stages: tuple[StageOutcome, ...]
    planned: int  # stages in the script (a stage that went otherwise than expected stops the run)
    keys: dict[str, str]  # key name -> key id
    closing_checkpoint: str
    out_dir: Path
    seconds: float
    kind: str = "sequence"

    @property
    def as_expected(self) -> bool:
        return len(self.stages) == self.planned and all(s.as_expected for s in self.stages)


def _flag_checks(ledger_path: Path, stage: SequenceStage, keys: Mapping[str, str]) -> tuple[FlagCheck, ...]:
    from ceremony.reports.model import replacement_state

    if not stage.flags:
        return ()
    with Ledger.open(ledger_path, read_only=True) as ledger:
        history, register = ledger.custody(), read_register(ledger.events())
        checks = []
        for name, expected in stage.flags:
            standing = replacement_state(history, register, keys[name])
            checks.append(FlagCheck(name, keys[name], expected, standing.state, standing.text))
    return tuple(checks)


def run_sequence(
    script: SequenceScript, ledger_path: Path, out_dir: Path, *, base: Path | None = None
) -> SequenceResult:
    """Play every stage in order on the rehearsal ledger ``ledger_path`` (created by a first generation
    stage if absent), each into its own folder ``out_dir/NN-KIND[-NAME]``; after each stage the named keys'
    flags are read from the ledger and checked against the stage's ``flags``. A stage whose outcome differs
    from what the script expected stops the run (later stages depend on it). Writes ``report.txt`` and
    ``manifest.json`` into ``out_dir``."""
    started = time.perf_counter()
    base = Path.cwd() if base is None else Path(base)
    out_dir, ledger_path = Path(out_dir), Path(ledger_path)
    _prepare_out_dir(out_dir)
    keys: dict[str, str] = {}  # key name -> key id
    cards: dict[str, Path] = {}  # key name -> the folder holding its current share cards
    outcomes: list[StageOutcome] = []
    for stage in script.stages:
        folder = out_dir / (f"{stage.index:02d}-{stage.kind}" + (f"-{stage.name}" if stage.name else ""))
        if isinstance(stage.script, RehearsalScript):
            made = run_rehearsal(stage.script, ledger_path, folder, base=base, refs=keys)
            keys[stage.name], cards[stage.name] = made.key_id, folder
            summary = f"TEST key {made.key_id}: KCV {made.kcv}, split {made.split_id}"
            replaces = stage.script.replaces
            if replaces:
                summary += f"; replaces key {keys[replaces]} ({replaces})"
            done = StageOutcome(
                stage.index,
                stage.kind,
                stage.name,
                "completed",
                "completed",
                made.ceremony_id,
                made.key_id,
                folder,
                _flag_checks(ledger_path, stage, keys),
                summary + "\n",
            )
        elif isinstance(stage.script, DepartureScript):
            left = run_departure(stage.script, ledger_path, folder)
            done = StageOutcome(
                stage.index,
                stage.kind,
                "",
                left.outcome,
                left.expected_outcome,
                "",
                "",
                folder,
                _flag_checks(ledger_path, stage, keys),
                departure_report(left),
            )
        else:
            life = run_lifecycle(
                stage.script, ledger_path, folder, shares_from=cards[stage.key], base=base, refs=keys
            )
            if stage.kind == "reshare" and life.outcome == "completed":
                cards[stage.key] = folder  # the new cards are the ones presented from now on
            done = StageOutcome(
                stage.index,
                stage.kind,
                stage.key,
                life.outcome,
                life.expected_outcome,
                life.ceremony_id,
                life.key_id,
                folder,
                _flag_checks(ledger_path, stage, keys),
                lifecycle_report(life),
                all(s.as_expected for s in life.steps),
            )
        outcomes.append(done)
        if not _outcome_matches(done.outcome, done.expected):
            break
    with Ledger.open(ledger_path, read_only=True) as ledger:
        closing, ledger_id = paperwork.closing_checkpoint(ledger), ledger.ledger_id
    result = SequenceResult(
        ledger_id,
        tuple(outcomes),
        len(script.stages),
        dict(keys),
        closing,
        out_dir,
        time.perf_counter() - started,
    )
    (out_dir / "report.txt").write_text(sequence_report(result), encoding="utf-8")
    manifest = {
        "rehearsal": True,
        "kind": "sequence",
        "purpose": script.purpose,
        "ledger_id": ledger_id,
        "keys": result.keys,
        "stages": [s.as_dict() for s in outcomes],
        "as_expected": result.as_expected,
        "closing_checkpoint": closing,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result


def sequence_report(result: SequenceResult) -> str:
    """Each stage's outcome and, after it, where each named key stands (PCI DSS 3.7.5), against the script."""
    lines = [
        f"Sequence rehearsal on rehearsal ledger {result.ledger_id}: {len(result.stages)} of "
        f"{result.planned} stage(s) run"
    ]
    for stage in result.stages:
        what = f"{stage.kind} {stage.name}".strip()
        mark = "as expected" if stage.as_expected else "NOT AS EXPECTED"
        lines.append(f"stage {stage.index}: {what}: {stage.outcome} (expected {stage.expected}) [{mark}]")
        lines += [f"    {line}" for line in stage.details.rstrip("\n").split("\n")]
        for flag in stage.flags:
            ok = "as expected" if flag.as_expected else f"NOT AS EXPECTED (expected {flag.expected})"
            lines.append(f"    key {flag.name} ({flag.key_id}): {flag.actual} [{ok}]")
            if flag.text:
                lines.append(f"        {flag.text}")
    lines.append(f"Everything as the script expected: {'yes' if result.as_expected else 'NO'}")
    lines.append(f"Time: {result.seconds:.1f} s")
    return "\n".join(lines) + "\n"
