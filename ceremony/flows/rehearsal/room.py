"""The rehearsal room: the rehearsal ledger, its people enrolled and authenticated with their rehearsal
passphrases, the real air-gap preflight, and the forms with the script's organisation.

**Test and production keys never mix (PCI DSS 3.6.1.1).** A rehearsal runs only on a ledger created as a
rehearsal ledger (``meta.rehearsal = 1``; a new file is created so): :func:`open_rehearsal_ledger` refuses a
production ledger (:class:`~ceremony.errors.RehearsalMixError`).

**KDF.** Participants are enrolled with the production scrypt cost by default (honest timing);
``kdf = "fast"`` (:data:`FAST_KDF`, 2^10) is for tests and benchmarks on rehearsal ledgers only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.crypto.ids import is_id
from ceremony.crypto.secret import SecretBytes
from ceremony.documents.templates import FormSet, load_forms
from ceremony.errors import FlowError, IdentityError, PreflightBlockedError, RehearsalMixError
from ceremony.flows.enrolment import Newcomer, enroll_roster
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.rehearsal.script import ScriptError, ScriptPerson
from ceremony.ledger import participants as enrolment
from ceremony.ledger.store import Ledger
from ceremony.preflight import covering, evidence_payload, run_preflight

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)


def open_rehearsal_ledger(path: Path) -> Ledger:
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


class Roster(Protocol):
    """What every script says about its people (generation, lifecycle, departure alike)."""

    @property
    def people(self) -> tuple[ScriptPerson, ...]: ...

    @property
    def kdf(self) -> str: ...

    @property
    def organisation(self) -> str: ...

    def person(self, employee_id: str) -> ScriptPerson: ...


def enroll(ledger: Ledger, script: Roster) -> dict[str, str]:
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


def authenticate(
    presence: Presence, script: Roster, ids: dict[str, str], eid: str, role: str
) -> PresentPerson:
    passphrase = SecretBytes(script.person(eid).passphrase.encode("utf-8"))
    return presence.authenticate(ids[eid], passphrase, role)  # wipes the passphrase


class Preflighted(Protocol):
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None: ...


def air_gap_preflight(ceremony: Preflighted, mode: str) -> None:
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


def forms_for(script: Roster) -> FormSet:
    forms = load_forms()
    if script.organisation.strip():
        forms = replace(forms, organisation=replace(forms.organisation, name=script.organisation.strip()))
    return forms


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
