"""The steps of each ceremony, as the room sees them: the one source of their titles (issue 14).

The terminal UI's step list, the help screen and the README's ceremony list all read these tuples; a test
checks the README against them. Each step also says who must be present, whether clear key material is
touched (then two different authenticated people are needed: dual control) and what it records, so a
newcomer can read a ceremony's shape in one place (DESIGN §4). The order of turns inside a step is
:mod:`ceremony.flows.turns`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepSpec:
    title: str  # in the step list, at most 24 columns (the list is 26 wide at 80x24)
    roles: tuple[str, ...]  # roles whose holders must be present and authenticated
    touches_key: bool  # clear key material: at least two different authenticated people (dual control)
    records: tuple[str, ...]  # ledger event types written by the step

    @property
    def needs_dual_control(self) -> bool:
        return self.touches_key


_CONTROL = ("administrator", "witness")
_HOLDERS = ("custodian", "witness")

GENERATION: tuple[StepSpec, ...] = (
    StepSpec("Preflight", (), False, ()),
    StepSpec("Administrator & witness", _CONTROL, False, ("ceremony.started", "preflight.run")),
    StepSpec("Key details", _CONTROL, False, ()),
    StepSpec("Split & custodians", _CONTROL, False, ("ceremony.planned",)),
    StepSpec("Generate, read KCV", _CONTROL, True, ("key.registered", "split.created")),
    StepSpec("Distribute shares", _HOLDERS, True, ("share.exposed", "share.received")),
    StepSpec("Verification round", _HOLDERS, True, ("share.exposed", "share.verified")),
    StepSpec("Wipe & close-out", _CONTROL, True, ("key.wiped", "ceremony.closed", "document.issued")),
)

_RECOVERY_START: tuple[StepSpec, ...] = (
    StepSpec("Key & output", (), False, ()),
    StepSpec("Preflight", (), False, ()),
    StepSpec("Administrator & witness", _CONTROL, False, ("ceremony.started", "preflight.run")),
    StepSpec("Envelopes & shares", _HOLDERS, True, ("envelope.inspected", "share.exposed")),
    StepSpec("Rebuild, check KCV", _CONTROL, True, ("key.recovered",)),
)

RECOVERY: tuple[StepSpec, ...] = (
    *_RECOVERY_START,
    StepSpec(
        "Output",
        ("custodian", "administrator", "witness"),
        True,
        ("split.created", "key.wrapped", "key.block_exported", "key.loaded"),
    ),
    StepSpec("Wipe & close", _CONTROL, True, ("key.wiped", "ceremony.closed", "document.issued")),
)

RESHARE: tuple[StepSpec, ...] = (
    StepSpec("Key & new custodians", (), False, ()),
    *_RECOVERY_START[1:],
    StepSpec("Distribute new shares", _HOLDERS, True, ("split.created", "share.exposed", "share.received")),
    StepSpec("Verification round", _HOLDERS, True, ("share.exposed", "share.verified")),
    StepSpec("Retire old split & close", _CONTROL, True, ("split.retired", "ceremony.closed")),
)

RETIREMENT: tuple[StepSpec, ...] = (
    StepSpec("Preflight", (), False, ()),
    StepSpec("Administrator & witness", _CONTROL, False, ("ceremony.started", "preflight.run")),
    StepSpec("Retire key or split", ("security_officer", "witness"), False, ("key.retired", "split.retired")),
    StepSpec(
        "Envelopes returned",
        ("security_officer", "witness"),
        False,
        ("envelope.destroyed", "envelope.returned", "envelope.not_returned", "document.issued"),
    ),
    StepSpec("Close", _CONTROL, False, ("ceremony.closed",)),
)

# Checking a TR-31 key block received from elsewhere (issue 16): the KBPK's custodians type its components,
# the block is opened in memory and the verdict recorded; the key inside is never shown.
KEY_BLOCK_CHECK: tuple[StepSpec, ...] = (
    StepSpec("Key block & KBPK", (), False, ()),
    StepSpec("Preflight", (), False, ()),
    StepSpec("Administrator & witness", _CONTROL, False, ("ceremony.started", "preflight.run")),
    StepSpec("KBPK components", ("custodian", "witness"), True, ("kbpk.component_entered",)),
    StepSpec("Check the key block", _CONTROL, True, ("key_block.checked",)),
    StepSpec("Close", _CONTROL, False, ("ceremony.closed", "document.issued")),
)

CEREMONIES: dict[str, tuple[StepSpec, ...]] = {
    "Generation": GENERATION,
    "Recovery": RECOVERY,
    "Re-share": RESHARE,
    "Retirement": RETIREMENT,
    "Key block check": KEY_BLOCK_CHECK,
}


def titles(steps: tuple[StepSpec, ...]) -> tuple[str, ...]:
    return tuple(step.title for step in steps)


GENERATION_TITLES = titles(GENERATION)
RECOVERY_TITLES = titles(RECOVERY)
RESHARE_TITLES = titles(RESHARE)
RETIREMENT_TITLES = titles(RETIREMENT)
KEY_BLOCK_CHECK_TITLES = titles(KEY_BLOCK_CHECK)
