"""What a ceremony step is: who must be present, what it records, what may go wrong (DESIGN §4).

Flows are scripts of these steps; the TUI renders the current one, rehearsal drives them from a script and
tests drive them with no UI at all. The step list is data so the TUI's step list, the minutes and the
README describe the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepSpec:
    name: str
    title: str
    roles: tuple[str, ...]  # roles whose holders must be present and authenticated
    touches_key: bool  # clear key material: at least two different authenticated people (dual control)
    records: tuple[str, ...]  # ledger event types written by the step
    may_fail: tuple[str, ...]  # what can go wrong, in the participants' words

    @property
    def needs_dual_control(self) -> bool:
        return self.touches_key


GENERATION_STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        "start",
        "Administrator and witness authenticate",
        ("administrator", "witness"),
        False,
        ("ceremony.started",),
        ("wrong passphrase (three tries)", "administrator and witness are the same person"),
    ),
    StepSpec(
        "preflight",
        "Air-gap preflight",
        ("administrator", "witness"),
        False,
        ("preflight.run",),
        ("an insecure finding without an active exception blocks the ceremony",),
    ),
    StepSpec(
        "plan",
        "Key type, label, usage, cryptoperiod; split scheme and custodians",
        ("administrator", "witness"),
        False,
        ("ceremony.planned",),
        (
            "a custodian is the administrator or the witness",
            "a custodian would hold two shares of one split (PCI DSS 3.7.6)",
            "a custodian is deactivated or not enrolled as custodian",
        ),
    ),
    StepSpec(
        "generate",
        "Generate the key, split it, show the KCV",
        ("administrator", "witness"),
        True,
        ("key.registered", "split.created"),
        ("the split fails its every-subset check (nothing is recorded, try again)",),
    ),
    StepSpec(
        "distribute",
        "Private distribution, one custodian at a time",
        ("custodian", "witness"),
        True,
        ("share.exposed", "share.received"),
        ("the custody rule refuses the exposure", "envelope serial missing or reused"),
    ),
    StepSpec(
        "verify",
        "Verification round: each custodian re-enters their share",
        ("custodian", "witness"),
        True,
        ("share.exposed", "share.verified"),
        ("the entered share differs from the issued one (re-issue before the key is wiped)",),
    ),
    StepSpec(
        "wipe",
        "Wipe the clear key",
        ("administrator", "witness"),
        True,
        ("key.wiped",),
        ("a share was not verified yet",),
    ),
    StepSpec(
        "close",
        "Acknowledgement forms and minutes; close-out with the ledger checkpoint",
        ("administrator", "witness"),
        False,
        ("ceremony.closed",),
        (),
    ),
)
