"""Rehearsal scripts: the TOML formats, parsed and checked (format: ``ceremony/flows/examples/README.md``).

A *generation* script (:func:`parse_script`) says who is present, the key, the split and each share's
custodian and envelope. A *lifecycle* script (:func:`parse_lifecycle_script`: ``[ceremony] kind =
"recovery"``, ``"reshare"`` or ``"retirement"``) takes its shares from a rehearsal's output folder and lists
the steps, deliberate mistakes included, each with what to ``expect``. A *departure* records that someone
left custody; a *sequence* plays several of these, in order, on one ledger. :func:`parse_any` takes any of
them by its ``kind``. Parsing validates every setting and raises :class:`ScriptError` naming it; nothing
runs here.

Rehearsal passphrases appear in a script in clear: they protect TEST identities on a TEST ledger.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import InputError
from ceremony.flows.generation import KeySpec

EXAMPLES = ("2of3", "3of5", "xor3", "5of9")  # generation scripts
LIFECYCLE_EXAMPLES = (
    "recover-3of5",
    "recover-tr31",
    "recover-pkcs11",
    "reshare",
    "retire",
)  # scripts that take shares from a rehearsal
SEQUENCE_EXAMPLES = ("departure",)  # a whole key path in one script, on one rehearsal ledger
ALL_EXAMPLES = EXAMPLES + LIFECYCLE_EXAMPLES + SEQUENCE_EXAMPLES
SCRIPT_KINDS = (
    "generation",
    "recovery",
    "reshare",
    "retirement",
    "key_block_check",
    "departure",
    "sequence",
)
LIFECYCLE_KINDS = ("recovery", "reshare", "retirement", "key_block_check")
VERDICTS = ("verified", "mac_failed", "kcv_mismatch")
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
    # PCI PIN 5-1: take the key's bytes from a PKCS#11 token's generator ([key.token]); None: the laptop's
    token: TokenPlan | None = None
    # issue 16: the new key also leaves as a TR-31 key block for its HSM ([key_block]); None: it does not
    key_block: OutputPlan | None = None

    def person(self, employee_id: str) -> ScriptPerson:
        for p in self.people:
            if p.employee_id == employee_id:
                return p
        raise ScriptError(f"employee id {employee_id[:30]!r} is not listed under [[participants]]")


@dataclass(frozen=True, repr=False)
class TokenPlan:
    """``[key.token]`` of a generation script: the token whose generator gives the key's bytes. ``pin`` is
    a rehearsal-only value (a real ceremony asks for it)."""

    module: str
    token: str
    pin: str
    pin_entered_by: str  # employee id

    def __repr__(self) -> str:
        return f"TokenPlan({self.module!r}, {self.token!r})"


def _generation_key_block(raw: Mapping[str, Any]) -> OutputPlan | None:
    """``[key_block]`` of a generation script: the new key also leaves as a TR-31 block for its HSM."""
    if "key_block" not in raw:
        return None
    table = _get(raw, "key_block", dict, "script")
    _only(table, _KEY_BLOCK_FIELDS, "[key_block]")
    return _key_block_plan(table, "key_block")


def _token_plan(key: Mapping[str, Any]) -> TokenPlan | None:
    if "token" not in key:
        return None
    table = _get(key, "token", dict, "[key]")
    _only(table, {"module", "token", "pin", "pin_entered_by"}, "[key.token]")
    return TokenPlan(
        _get(table, "module", str, "[key.token]"),
        _get(table, "token", str, "[key.token]"),
        _get(table, "pin", str, "[key.token]"),
        _get(table, "pin_entered_by", str, "[key.token]"),
    )


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
    _only(raw, {"ceremony", "participants", "key", "split", "shares", "key_block"}, "script")
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
    _only(key, {"type", "label", "usage", "cryptoperiod_days", "length", "replaces", "token"}, "[key]")
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
        token=_token_plan(key),
        key_block=_generation_key_block(raw),
    )
    if script.key_block is not None:
        for part in script.key_block.kek_parts:
            script.person(part.custodian)
    if script.token is not None:
        script.person(script.token.pin_entered_by)
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


# --- what a step expects ------------------------------------------------------------------------------------
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
    "key block",  # at start: a key block header the standard forbids (e.g. usage P0 with mode X)
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


# --- lifecycle scripts: recovery, re-share, retirement ------------------------------------------------------
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


@dataclass(frozen=True, repr=False)
class OutputPlan:
    kind: str  # "components" | "wrapped" | "key_block" | "token"
    custodians: tuple[str, ...] = ()  # components: employee id per component
    envelopes: tuple[str, ...] = ()  # components: the envelope serial each component card is sealed in
    # wrapped (kek_*) and key_block (the KBPK's label, components and KCV in the same fields)
    kek_label: str = ""
    kek_parts: tuple[KekPart, ...] = ()
    kek_kcv: str | None = None
    # key_block: the header the block carries
    version: str = "D"
    key_usage: str = ""
    mode_of_use: str = ""
    key_version: str = "00"
    exportability: str = "N"
    key_set_id: str = ""
    # token: where the key goes (the PIN is a rehearsal-only value; a real ceremony asks for it)
    module: str = ""
    token: str = ""
    pin: str = ""
    object_label: str = ""
    mechanism: str = "unwrap-0x210A"
    pin_entered_by: str = ""

    def __repr__(self) -> str:
        return f"OutputPlan(kind={self.kind!r}, label={self.kek_label or self.object_label!r})"


@dataclass(frozen=True)
class ReturnedEnvelopeEntry:
    envelope: str
    returned_by: str  # employee id (for an envelope not returned: the custodian asked for it)
    seal_intact: bool = True  # intact: destroyed on record (serial checked); broken: an incident
    returned: bool = True  # false: asked for and not handed back (an incident; the share stays held)


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
    check: CheckPlan | None = None  # key_block_check

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


OUTPUT_KINDS = ("components", "wrapped", "key_block", "token")
_KEY_BLOCK_FIELDS = {
    "kbpk_label",
    "kbpk_kcv",
    "kbpk_components",
    "version",
    "key_usage",
    "mode_of_use",
    "key_version",
    "exportability",
    "key_set_id",
}
_TOKEN_FIELDS = {"module", "token", "pin", "object_label", "key_usage", "mechanism", "pin_entered_by"}


def _parts(out: Mapping[str, Any], table: str, what: str, *, table_of: str = "output") -> tuple[KekPart, ...]:
    parts = []
    for i, part in enumerate(_table_list(out, table, f"[{table_of}]"), start=1):
        where = f"[[{table_of}.{table}]] #{i}"
        _only(part, {"custodian", "hex", "kcv"}, where)
        parts.append(
            KekPart(_get(part, "custodian", str, where), _get(part, "hex", str, where), part.get("kcv"))
        )
    if len(parts) < 2:
        raise ScriptError(f"[{table_of}]: a {what} needs two or more [[{table_of}.{table}]]")
    return tuple(parts)


def _key_block_plan(table: Mapping[str, Any], name: str) -> OutputPlan:
    """A TR-31 key block's KBPK and header, from ``[output]`` (recovery) or ``[key_block]`` (generation)."""
    where = f"[{name}]"
    return OutputPlan(
        "key_block",
        kek_label=_get(table, "kbpk_label", str, where),
        kek_parts=_parts(table, "kbpk_components", "key block", table_of=name),
        kek_kcv=_get(table, "kbpk_kcv", str, where, "") or None,
        version=_get(table, "version", str, where, "D"),
        key_usage=_get(table, "key_usage", str, where),
        mode_of_use=_get(table, "mode_of_use", str, where),
        key_version=_get(table, "key_version", str, where, "00"),
        exportability=_get(table, "exportability", str, where, "N"),
        key_set_id=_get(table, "key_set_id", str, where, ""),
    )


def _parse_output(raw: Mapping[str, Any]) -> OutputPlan:
    out = _get(raw, "output", dict, "script")
    kind = _get(out, "kind", str, "[output]")
    if kind == "key_block":
        _only(out, {"kind"} | _KEY_BLOCK_FIELDS, "[output]")
        return _key_block_plan(out, "output")
    if kind == "token":
        _only(out, {"kind"} | _TOKEN_FIELDS, "[output]")
        return OutputPlan(
            "token",
            module=_get(out, "module", str, "[output]"),
            token=_get(out, "token", str, "[output]"),
            pin=_get(out, "pin", str, "[output]"),
            object_label=_get(out, "object_label", str, "[output]"),
            key_usage=_get(out, "key_usage", str, "[output]", ""),
            mechanism=_get(out, "mechanism", str, "[output]", "unwrap-0x210A"),
            pin_entered_by=_get(out, "pin_entered_by", str, "[output]"),
        )
    _only(out, {"kind", "custodians", "envelopes", "kek_label", "kek_kcv", "kek_components"}, "[output]")
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
            "[output]: kind is 'components' (XOR components for an HSM), 'wrapped' (RFC 5649), "
            "'key_block' (TR-31) or 'token' (PKCS#11)"
        )
    return OutputPlan(
        "wrapped",
        kek_label=_get(out, "kek_label", str, "[output]"),
        kek_parts=_parts(out, "kek_components", "wrapped output"),
        kek_kcv=_get(out, "kek_kcv", str, "[output]", "") or None,
    )


@dataclass(frozen=True, repr=False)
class CheckPlan:
    """``[check]`` of a key block check script: the block file received, the KBPK's label, components and
    KCV, and the verdict the rehearsal expects. ``tamper``: one MAC digit changed before the check."""

    block: str  # path of the block's text file (relative: from the current directory)
    kbpk_label: str
    kbpk_parts: tuple[KekPart, ...]
    kbpk_kcv: str | None = None
    verdict: str = "verified"
    tamper: bool = False

    def __repr__(self) -> str:
        return f"CheckPlan({self.block!r}, {self.kbpk_label!r}, verdict={self.verdict!r})"


def _parse_check(raw: Mapping[str, Any]) -> CheckPlan:
    check = _get(raw, "check", dict, "script")
    _only(check, {"block", "kbpk_label", "kbpk_kcv", "kbpk_components", "verdict", "tamper"}, "[check]")
    verdict = _get(check, "verdict", str, "[check]", "verified")
    if verdict not in VERDICTS:
        raise ScriptError(f"[check]: verdict is one of {', '.join(VERDICTS)}")
    return CheckPlan(
        _get(check, "block", str, "[check]"),
        _get(check, "kbpk_label", str, "[check]"),
        _parts(check, "kbpk_components", "key block check", table_of="check"),
        _get(check, "kbpk_kcv", str, "[check]", "") or None,
        verdict,
        _get(check, "tamper", bool, "[check]", False),
    )


def parse_lifecycle_script(text: str) -> LifecycleScript:
    """Parse a recovery, re-share or retirement script (format: ``ceremony/flows/examples/README.md``)."""
    raw = _load_toml(text)
    kind = _script_kind(raw)
    if kind not in LIFECYCLE_KINDS:
        raise ScriptError(
            "[ceremony]: kind is 'recovery', 'reshare', 'retirement' or 'key_block_check' for this script"
        )
    return _lifecycle_script(raw, kind)


def _lifecycle_script(raw: Mapping[str, Any], kind: str) -> LifecycleScript:
    allowed = {
        "recovery": {"ceremony", "participants", "steps", "output"},
        "reshare": {"ceremony", "participants", "steps", "reshare", "new_shares"},
        "retirement": {"ceremony", "participants", "retire", "returned"},
        "key_block_check": {"ceremony", "participants", "check"},
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
    if kind == "key_block_check":
        fields["check"] = _parse_check(raw)
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
            _only(r, {"envelope", "returned_by", "seal_intact", "returned"}, where)
            returned.append(
                ReturnedEnvelopeEntry(
                    _get(r, "envelope", str, where),
                    _get(r, "returned_by", str, where),
                    _get(r, "seal_intact", bool, where, True),
                    _get(r, "returned", bool, where, True),
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
        named += [script.output.pin_entered_by] if script.output.pin_entered_by else []
    if script.check is not None:
        named += [p.custodian for p in script.check.kbpk_parts]
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


# --- a departure, and a sequence of stages (PCI DSS 3.7.5) --------------------------------------------------
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
