"""Rehearsal mode: the real ceremonies driven by a TOML script, on a rehearsal ledger.

Organisations train custodians with it; tests and benchmarks use it. Nothing is simulated except the people:
the script says who is present (with a *rehearsal* passphrase), what they type and which envelope each share
goes into, and this package plays every step of the same engine the TUI drives — preflight, authentication,
plan and custody rule, generation, private distribution, the verification round (each share re-entered
from the text the custodian recorded or the card), and the one close-out (:mod:`ceremony.flows.closeout`:
wipe, acknowledgement forms, close, minutes).

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

One module per job: :mod:`~.script` (the script formats, parsed and checked), :mod:`~.room` (the rehearsal
ledger, its people, the preflight), :mod:`~.generation` and :mod:`~.lifecycle` (the two kinds of ceremony),
:mod:`~.cards` (share cards read back), :mod:`~.expect` (what happened against what the script expected),
:mod:`~.report` (manifest, README, reports), :mod:`~.departure` and :mod:`~.sequence`. This package re-exports
the names callers use; ``ceremony rehearse`` imports it only when it runs (the CLI's registration stays
light).
"""

from __future__ import annotations

from pathlib import Path

from ceremony.flows.rehearsal.cards import (
    ShareSource,
    card_share_text,
    read_share_source,
    tampered_share_text,
)
from ceremony.flows.rehearsal.departure import DepartureResult, run_departure
from ceremony.flows.rehearsal.expect import reason_of
from ceremony.flows.rehearsal.generation import RehearsalResult, run_rehearsal
from ceremony.flows.rehearsal.lifecycle import LifecycleResult, StepOutcome, run_lifecycle
from ceremony.flows.rehearsal.report import (
    LIFECYCLE_README,
    README_TEXT,
    ManifestEntry,
    departure_report,
    lifecycle_report,
    sequence_report,
)
from ceremony.flows.rehearsal.room import FAST_KDF, resolve_key_ref
from ceremony.flows.rehearsal.script import (
    ALL_EXAMPLES,
    EXAMPLES,
    KDF_CHOICES,
    LIFECYCLE_EXAMPLES,
    PREFLIGHT_MODES,
    RECEIPT_METHODS,
    REFUSAL_REASONS,
    SCRIPT_KINDS,
    SEQUENCE_EXAMPLES,
    SEQUENCE_STAGE_KINDS,
    AnyScript,
    DepartureScript,
    Expectation,
    KekPart,
    LifecycleScript,
    OutputPlan,
    RehearsalScript,
    ReturnedEnvelopeEntry,
    ScriptError,
    ScriptPerson,
    ScriptShare,
    ScriptStep,
    SequenceScript,
    SequenceStage,
    example_script,
    load_any,
    load_script,
    parse_any,
    parse_departure_script,
    parse_lifecycle_script,
    parse_script,
    parse_sequence_script,
)
from ceremony.flows.rehearsal.sequence import FlagCheck, SequenceResult, StageOutcome, run_sequence

__all__ = [
    "ALL_EXAMPLES",
    "EXAMPLES",
    "FAST_KDF",
    "KDF_CHOICES",
    "LIFECYCLE_EXAMPLES",
    "LIFECYCLE_README",
    "PREFLIGHT_MODES",
    "README_TEXT",
    "RECEIPT_METHODS",
    "REFUSAL_REASONS",
    "SCRIPT_KINDS",
    "SEQUENCE_EXAMPLES",
    "SEQUENCE_STAGE_KINDS",
    "AnyScript",
    "DepartureResult",
    "DepartureScript",
    "Expectation",
    "FlagCheck",
    "KekPart",
    "LifecycleResult",
    "LifecycleScript",
    "ManifestEntry",
    "OutputPlan",
    "RehearsalResult",
    "RehearsalScript",
    "ReturnedEnvelopeEntry",
    "ScriptError",
    "ScriptPerson",
    "ScriptShare",
    "ScriptStep",
    "SequenceResult",
    "SequenceScript",
    "SequenceStage",
    "ShareSource",
    "StageOutcome",
    "StepOutcome",
    "card_share_text",
    "departure_report",
    "example_script",
    "lifecycle_report",
    "load_any",
    "load_script",
    "parse_any",
    "parse_departure_script",
    "parse_lifecycle_script",
    "parse_script",
    "parse_sequence_script",
    "read_share_source",
    "reason_of",
    "resolve_key_ref",
    "run_any",
    "run_departure",
    "run_lifecycle",
    "run_rehearsal",
    "run_sequence",
    "sequence_report",
    "tampered_share_text",
]


def run_any(
    script: AnyScript,
    ledger_path: Path,
    out_dir: Path,
    *,
    shares_from: Path | None = None,
    base: Path | None = None,
) -> RehearsalResult | LifecycleResult | DepartureResult | SequenceResult:
    """Run any rehearsal script, by its kind."""
    if isinstance(script, RehearsalScript):
        return run_rehearsal(script, ledger_path, out_dir, base=base)
    if isinstance(script, DepartureScript):
        return run_departure(script, ledger_path, out_dir)
    if isinstance(script, SequenceScript):
        return run_sequence(script, ledger_path, out_dir, base=base)
    return run_lifecycle(script, ledger_path, out_dir, shares_from=shares_from, base=base)
