"""What happened against what the script said to expect: a refusal's reason, a step, a ceremony's outcome.

A refusal is named by the error's own reason token (:meth:`ceremony.errors.CeremonyError.reason_token`: the
one vocabulary the screens, the CLI and these reports share, issue 14), with the two distinctions only a
rehearsal can make, because it knows what was presented and when:

* a share of another key or split (:class:`~ceremony.errors.ForeignShareError`, "another key") is "another
  split" when its header names the key being rebuilt;
* at a ceremony's *start*, a :class:`~ceremony.errors.DualControlError` is "dual control" (a control role
  given to someone who held part of the key, DESIGN §1), not "not the holder" (a share presented by someone
  other than its holder).

The tokens are part of the script format (``expect = "refused: duplicate"``): they never change.
"""

from __future__ import annotations

from ceremony.crypto.codec import ShareHeader
from ceremony.errors import (
    CeremonyError,
    DualControlError,
    EnvelopeIncidentError,
    ForeignShareError,
    KCVMismatchError,
    RetiredKeyError,
    ShareError,
    ShareFormatError,
)
from ceremony.flows.rehearsal.script import Expectation

# Refusals a custodian can cause by presenting the wrong thing: reported, and the ceremony goes on.
REFUSALS = (
    ShareError,
    ShareFormatError,
    EnvelopeIncidentError,
    DualControlError,
    KCVMismatchError,
    RetiredKeyError,
)


def reason_of(
    error: CeremonyError, *, header: ShareHeader | None = None, key_id: str = "", at_start: bool = False
) -> str:
    """The reason token of a refusal (one of :data:`~ceremony.flows.rehearsal.script.REFUSAL_REASONS`, or
    the error's class name). ``header``: of the share presented, when it could be read; ``key_id``: the key
    being rebuilt; ``at_start``: the ceremony refused to start."""
    if at_start and isinstance(error, DualControlError):
        return "dual control"
    if isinstance(error, ForeignShareError) and header is not None and header.key_id == key_id:
        return "another split"
    return error.reason_token()


def outcome_matches(outcome: str, expected: str) -> bool:
    """A ceremony's outcome ("completed", "voided", "refused: REASON") against the script's ``expect``."""
    if not expected.startswith("refused"):
        return outcome == expected
    want = Expectation.parse(expected, "[ceremony]")
    return outcome.startswith("refused") and (not want.reason or outcome == f"refused: {want.reason}")


def step_matches(expect: Expectation, result: str, reason: str, error: str, bad: tuple[int, ...]) -> bool:
    """One step's result against its ``expect``: the reason token or the error's class name, and for a
    rebuild the shares the KCV check named (``bad_shares``)."""
    if expect.refused != (result == "refused"):
        return False
    if expect.refused and expect.reason and expect.reason not in (reason, error.lower()):
        return False
    return expect.bad_shares is None or expect.bad_shares == tuple(sorted(bad))
