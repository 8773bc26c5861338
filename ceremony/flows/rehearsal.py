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

Rehearsal passphrases appear in the script in clear: they protect TEST identities on a TEST ledger. Never
put a real person's real passphrase in a script.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ceremony.crypto.codec import share_text
from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams, enroll_identity
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.documents.sign import sha256_of
from ceremony.documents.templates import FormSet, load_forms
from ceremony.errors import (
    CeremonyError,
    FlowError,
    IdentityError,
    InputError,
    PreflightBlockedError,
    RehearsalMixError,
    ShareFormatError,
)
from ceremony.flows import paperwork
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger import participants as enrolment
from ceremony.ledger.store import Ledger
from ceremony.preflight import covering, evidence_payload, run_preflight

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)
EXAMPLES = ("2of3", "3of5", "xor3", "5of9")
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


def parse_script(text: str) -> RehearsalScript:
    """Parse and check a rehearsal script (format: ``ceremony/flows/examples/README.md``)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"the script is not valid TOML: {exc}") from None
    _only(raw, {"ceremony", "participants", "key", "split", "shares"}, "script")
    cer = _get(raw, "ceremony", dict, "script")
    _only(
        cer,
        {"organisation", "purpose", "location", "administrator", "witness", "preflight", "kdf"},
        "[ceremony]",
    )
    preflight = _get(cer, "preflight", str, "[ceremony]", "blocking")
    if preflight not in PREFLIGHT_MODES:
        raise ScriptError(f"[ceremony]: preflight is {' or '.join(repr(m) for m in PREFLIGHT_MODES)}")
    kdf = _get(cer, "kdf", str, "[ceremony]", "production")
    if kdf not in KDF_CHOICES:
        raise ScriptError(f"[ceremony]: kdf is {' or '.join(repr(m) for m in KDF_CHOICES)}")
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
    key = _get(raw, "key", dict, "script")
    _only(key, {"type", "label", "usage", "cryptoperiod_days", "length"}, "[key]")
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
    if name not in EXAMPLES:
        raise ScriptError(f"no example {name[:20]!r}; examples: {', '.join(EXAMPLES)}")
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
        target = self.out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:
            handle.write(data)
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
    """Enroll each script participant not yet enrolled (by employee id); returns employee id -> person id."""
    kdf = FAST_KDF if script.kdf == "fast" else DEFAULT_KDF
    existing = {p.employee_id: p for p in enrolment.participants(ledger) if p.active}
    ids: dict[str, str] = {}
    for person in script.people:
        known = existing.get(person.employee_id)
        if known is not None:
            missing = [r for r in person.roles if r not in known.roles]
            if missing:
                raise IdentityError(
                    f"{known.name} ({known.employee_id}) is already enrolled on this ledger as "
                    f"{', '.join(known.roles)}, not as {', '.join(missing)}"
                )
            ids[person.employee_id] = known.person_id
            continue
        with SecretBytes(person.passphrase.encode("utf-8")) as passphrase:
            cert, blob = enroll_identity(person.name, person.employee_id, passphrase, kdf=kdf)
        enrolled = enrolment.enroll(
            ledger,
            name=person.name,
            employee_id=person.employee_id,
            roles=person.roles,
            certificate=cert,
            key_blob=blob,
        )
        ids[person.employee_id] = enrolled.person_id
    return ids


def _authenticate(
    presence: Presence, script: RehearsalScript, ids: dict[str, str], eid: str, role: str
) -> PresentPerson:
    passphrase = SecretBytes(script.person(eid).passphrase.encode("utf-8"))
    return presence.authenticate(ids[eid], passphrase, role)  # wipes the passphrase


def _preflight(ceremony: GenerationCeremony, mode: str) -> None:
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


def run_rehearsal(script: RehearsalScript, ledger_path: Path, out_dir: Path) -> RehearsalResult:
    """Run ``script`` as a complete generation ceremony on the rehearsal ledger ``ledger_path`` (created as
    one if absent) and write its papers and ``manifest.json`` into ``out_dir`` (new or empty).

    :raises RehearsalMixError: ``ledger_path`` is a production ledger.
    Any failure after the ceremony started voids it (recorded, key wiped) and writes voided minutes.
    """
    started = time.perf_counter()
    forms = _forms(script)
    ledger = _open_rehearsal_ledger(Path(ledger_path))
    try:
        _prepare_out_dir(Path(out_dir))
        return _run(_Run(ledger, script, Path(out_dir), forms), started)
    finally:
        ledger.close()


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
