"""The one hierarchy of errors ceremony raises on purpose.

Every message is written for a custodian or auditor and never contains key material, share bytes or a
passphrase: when an error talks about user input it quotes only harmless parts (a header, a group index,
a length). The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``.

The refusal vocabulary lives here too, one word pair per class, so every screen, the CLI and the
rehearsal report name a refusal the same way (issue 14): ``refusal`` is what the room hears first
("Duplicate share"), :meth:`CeremonyError.describe` is the whole line ("Duplicate share — share 2 was
already entered"), and ``reason`` is the short token rehearsal scripts match against (``refused:
duplicate``); it is part of the script format, so a token never changes once published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class CeremonyError(Exception):
    """Base of every deliberate ceremony error."""

    exit_code: int = 2
    refusal: ClassVar[str] = "Refused"
    reason: ClassVar[str] = ""  # "": the class name stands in (rehearsal scripts never match on it)

    @classmethod
    def reason_token(cls) -> str:
        return cls.reason or cls.__name__

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The refusal as one line for the room: its name, then the flow's own sentence (which never
        quotes a share), with person ids replaced by the names in ``names`` (id -> name)."""
        message = str(self)
        for person_id, name in (names or {}).items():
            message = message.replace(person_id, name)
        return f"{self.refusal} — {message}" if message else self.refusal


# --- input and usage -------------------------------------------------------------------------------------
class InputError(CeremonyError):
    """Something a person typed or a file supplied is not acceptable."""

    refusal = "Not accepted"


# --- keys and KCVs ---------------------------------------------------------------------------------------
class KeyMaterialError(CeremonyError):
    """A key or component is malformed (wrong length, bad parity, degenerate, all zero...)."""

    refusal = "Not a usable key"


class KCVMismatchError(CeremonyError):
    """A reconstructed or entered key does not match the registered key check value."""

    refusal = "KCV mismatch"
    reason = "kcv mismatch"

    exit_code = 3


class KeyBlockError(CeremonyError):
    """A TR-31 key block is malformed, does not verify, or would bind a key in a way the standard (or our
    policy for issued blocks) forbids. The message names a header field, never key material."""

    refusal = "Key block refused"
    reason = "key block"


class TokenError(CeremonyError):
    """A PKCS#11 token (an HSM, or SoftHSM in a rehearsal) refused or failed an operation: the module does
    not load, the token is not there, the PIN is wrong, a mechanism is missing, or the key the token holds
    does not check against the registered KCV. The message never contains the PIN or key material."""

    refusal = "Token refused"


# --- splitting and shares --------------------------------------------------------------------------------
class SplitError(CeremonyError):
    """Split parameters are invalid (m < 2, m > n, n > 255, empty secret...)."""

    refusal = "Split refused"


class ShareError(CeremonyError):
    """A share (or set of shares) offered for combination or checking is not acceptable."""

    refusal = "Share refused"


class BelowThresholdError(ShareError):
    """Fewer shares than the split's threshold were offered."""

    refusal = "Not enough shares"
    reason = "below threshold"


class DuplicateShareError(ShareError):
    """The same share (number or x-coordinate) was offered twice."""

    refusal = "Duplicate share"
    reason = "duplicate"


class ForeignShareError(ShareError):
    """A share belongs to another split or key."""

    refusal = "Share of another key or split"
    reason = "another key"


class BadShareError(ShareError):
    """A share failed its commitment or made the combination fail the KCV."""

    refusal = "Share does not match its commitment"
    reason = "commitment mismatch"

    def __init__(self, message: str, share_numbers: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.share_numbers = share_numbers


class MalformedShareError(ShareError):
    """A share's bytes cannot be a share of this split (x = 0, too short, another length than the rest)."""

    refusal = "Not a share"
    reason = "format"


# --- share codec (typed / QR form) -----------------------------------------------------------------------
class ShareFormatError(InputError):
    """A typed or scanned share cannot be decoded."""

    refusal = "Not a share"
    reason = "format"


class ShareChecksumError(ShareFormatError):
    """A group (or the whole share) fails its checksum; ``group`` is 1-based, 0 for the whole share."""

    refusal = "Typing error"
    reason = "format"

    def __init__(self, message: str, group: int = 0) -> None:
        super().__init__(message)
        self.group = group

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """``Typing error in group 9 — …``: the group is named once, by the refusal."""
        where = f"{self.refusal} in group {self.group}" if self.group else self.refusal
        return f"{where} — {self}"


# --- identities ------------------------------------------------------------------------------------------
class IdentityError(CeremonyError):
    """Enrollment or identity-key problem."""

    refusal = "Identity refused"


class WrongPassphraseError(IdentityError):
    """The passphrase did not unlock the participant's key."""

    refusal = "Wrong passphrase"
    reason = "wrong passphrase"


class DuplicateEnrollmentError(IdentityError):
    """The employee id is already enrolled."""


class IdentityMismatchError(IdentityError):
    """An encrypted identity key does not belong to the certificate it was offered with."""


class IdentityKeyFormatError(IdentityError):
    """An encrypted identity key blob is damaged or of a format version this program does not read."""


# --- ledger ----------------------------------------------------------------------------------------------
class LedgerError(CeremonyError):
    """The ledger cannot be opened or written."""

    refusal = "Ledger problem"


class LedgerFormatError(LedgerError):
    """The file is not a ceremony ledger, or of a format version this program does not know."""


class LedgerBusyError(LedgerError):
    """Another process holds the ledger's write lock."""


class LedgerFullError(LedgerError):
    """The disk holding the ledger is full: the event was not written."""


class LedgerReadOnlyError(LedgerError):
    """The ledger was opened read-only, or the file cannot be written."""


class EventFormError(InputError):
    """An event type, actor list or payload is not well-formed (the typed schema refuses it)."""


class UnknownEventTypeError(EventFormError):
    """An event type the schema does not define (the writer never writes one; verify refuses it)."""


class EventReferenceError(EventFormError):
    """A payload names a person, key, split or ceremony that does not exist (or already exists, for a new
    one) at that point in history."""


class LedgerNotFoundError(LedgerError):
    """No ledger file exists at the given path (and creating one was not asked for)."""


class LedgerIntegrityError(LedgerError):
    """Verification found a fault; ``seq`` names the first bad event (None for file-level faults)."""

    refusal = "Ledger does not verify"

    exit_code = 4

    def __init__(
        self, message: str, seq: int | None = None, event_type: str | None = None, rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.seq = seq
        self.event_type = event_type  # the type of the event at fault, when it was readable
        self.rule = rule  # the signing rule broken, in words, when that was the fault


class CheckpointError(LedgerIntegrityError):
    """A paper checkpoint does not match the ledger (truncated or rewritten)."""


class BundleIntegrityError(LedgerIntegrityError):
    """An evidence bundle's signed manifest is missing, not signed by the named officer, or a file in the
    bundle differs from (or is absent from) the manifest."""


class ReportError(InputError):
    """A report cannot be produced as asked (unknown kind, bad filter, PDF without an output file)."""


# --- policy ----------------------------------------------------------------------------------------------
class PolicyError(CeremonyError):
    """A rule of split knowledge or dual control would be broken."""

    refusal = "Refused by policy"

    exit_code = 5


class CustodyViolationError(PolicyError):
    """An exposure would break split knowledge (PCI DSS 3.7.6); ``forbidding_seq`` is the earlier event."""

    refusal = "Split knowledge"
    reason = "custody rule"

    def __init__(self, message: str, forbidding_seq: int | None = None) -> None:
        super().__init__(message)
        self.forbidding_seq = forbidding_seq


class CustodyRecordError(PolicyError):
    """A custody record is malformed or inconsistent with history (unknown or duplicate split, threshold
    below 2, share number out of range)."""


class DemonstratedKnowledgeError(PolicyError):
    """A person typed a valid share that was not theirs (DESIGN §3: knowledge shown is knowledge). The
    exposure (kind "demonstrated") and an incident are recorded; the ceremony waits for a security
    officer's decision on incident ``incident_seq``. ``broken``: the custody rule no longer holds for the
    key (``coalition`` could rebuild it), so the ceremony cannot continue on that split."""

    refusal = "Demonstrated knowledge"
    reason = "demonstrated"

    def __init__(
        self,
        message: str,
        incident_seq: int | None = None,
        *,
        broken: bool = False,
        coalition: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.incident_seq = incident_seq
        self.broken = broken
        self.coalition = coalition


class DualControlError(PolicyError):
    """A step lacks two different authenticated people, or one person fills two control roles."""

    refusal = "Dual control"
    reason = "not the holder"


class SigningRuleError(DualControlError):
    """An event is not signed as its type's rule requires (DESIGN §5): too few distinct signers, a signer
    lacking the role, or a person the payload names who did not sign. ``rule`` says the rule in words."""

    def __init__(self, message: str, rule: str = "") -> None:
        super().__init__(message)
        self.rule = rule


# --- preflight -------------------------------------------------------------------------------------------
class PreflightError(CeremonyError):
    """Preflight could not run or an exception record is invalid."""

    refusal = "Preflight"


class ExceptionRecordError(PreflightError):
    """A PCI DSS 1.2.6 exception record is incomplete or invalid (no justification, expiry too far...)."""


class PreflightBlockedError(PreflightError):
    """An insecure (or unknown) preflight finding is not covered by an active exception."""

    refusal = "Blocked by the air-gap preflight"
    reason = "preflight"

    exit_code = 6


# --- documents -------------------------------------------------------------------------------------------
class DocumentError(CeremonyError):
    """A document could not be rendered, signed or checked."""

    refusal = "Document problem"


class TemplateError(DocumentError):
    """A form template in forms/ is broken; the message names the file and line."""


class SignatureError(DocumentError):
    """A PDF or attestation signature is missing or does not validate."""

    exit_code = 4


# --- flows -----------------------------------------------------------------------------------------------
class FlowError(CeremonyError):
    """A ceremony step was attempted out of order or without what it needs."""

    refusal = "Out of order"


class RetiredKeyError(FlowError):
    """The key (or split) was retired: no later ceremony may rebuild or re-share it (DESIGN §4.6)."""

    refusal = "Retired"
    reason = "retired"


class RetiredShareError(ShareError):
    """A share of a retired split or key was offered; such shares are refused by every flow (DESIGN §4.6)."""

    refusal = "Share of a retired split"
    reason = "retired"


class EnvelopeIncidentError(PolicyError):
    """An envelope's serial or seal did not check out before opening (PCI PIN 9-2/9-4): its share is refused
    until a security officer records a decision."""

    refusal = "Envelope incident"
    reason = "envelope incident"


class KeyWrapError(KeyMaterialError):
    """A key could not be wrapped or unwrapped (RFC 5649): wrong key-encryption key or damaged blob."""


class RehearsalMixError(FlowError):
    """A rehearsal (TEST key) on a production ledger, or a production key on a rehearsal ledger: refused,
    test and production keys never mix (PCI DSS 3.6.1.1)."""

    refusal = "Test and production never mix"


class CeremonyCancelled(FlowError):
    """The ceremony was cancelled (Ctrl+C or an explicit abort); the cancellation is recorded."""

    refusal = "Cancelled"


# --- terminal UI -----------------------------------------------------------------------------------------
class ScreenCaptureRefusedError(CeremonyError):
    """Something asked the TUI to save a screenshot; refused, a screen may show a share (DESIGN §2)."""
