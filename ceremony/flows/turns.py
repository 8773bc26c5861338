"""What comes next in a ceremony: the flows answer, the screens only show it (issue 14).

A ceremony is a short list of *turns* — whose go it is and what they do: the room authenticates its
administrator and witness, a custodian inspects their envelope, the security officer decides an incident,
a custodian types their share. Each function here reads a flow object's own state (what the ledger was told
so far) and names the next turn; the terminal UI's router maps a turn to the screen that shows it, and the
rehearsal walks the same turns from a script. No screen decides what follows it, so the order of a ceremony
is written once, here, next to the flows that enforce it.

The functions are pure reads: they never record, never touch a share, and raise nothing a ceremony could
not already raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the flows import nothing from here; keep this module cheap to import
    from ceremony.flows.common import ShareDistribution
    from ceremony.flows.generation import GenerationCeremony
    from ceremony.flows.keyblock_check import KeyBlockCheck
    from ceremony.flows.recovery import RecoveryCeremony
    from ceremony.flows.reshare import ReshareCeremony


class Turn(StrEnum):
    """One turn of a ceremony, in the room's words (the value is what logs and tests name)."""

    # every ceremony
    PREFLIGHT = "preflight"  # the air-gap checks, before anyone authenticates (PCI DSS 1.2.6)
    CONTROL_AUTH = "administrator and witness authenticate"
    CLOSE_OUT = "wipe and close-out"
    DONE = "done"  # closed or voided: back to the menu
    # generation
    KEY_DETAILS = "key details"
    SPLIT = "split and custodians"
    GENERATE = "generate, read the KCV"
    # private distribution of a new split (generation and re-share)
    LOOK_AWAY = "custodian receives their share"  # everyone else looks away; ``number`` is the share
    SHOW = "share shown to its custodian alone"  # after the custodian authenticated and the flow released it
    CARD = "share card printed"  # the custodian chose a printed card instead of writing it down
    RECEIPT = "custodian signs receipt"  # shown: the envelope serial (or the card) is recorded
    VERIFY = "custodian re-enters their share"  # the verification round
    DECIDE_DEMONSTRATED = "security officer decides a demonstrated-knowledge incident"
    # recovery and re-share: collecting shares
    PLAN = "key and output"  # chosen before anyone authenticates (the output is fixed in advance)
    NEXT_CUSTODIAN = "next custodian"
    INSPECT_ENVELOPE = "custodian inspects their envelope"
    DECIDE_INCIDENT = "security officer decides an envelope incident"
    ENTER_SHARE = "custodian enters their share"
    REFUSED = "share refused"  # an incident the officer refused: that custodian cannot enter their share
    REBUILT = "key rebuilt, KCV read"
    # recovery outputs
    COMPONENT = "component custodian receives their component"
    SHOW_COMPONENT = "component shown to its custodian alone"
    COMPONENT_RECEIPT = "component custodian signs receipt"
    KEK_COMPONENTS = "KEK custodians enter their components"
    WRAP_FILE = "wrapped key written to a file"
    KBPK_COMPONENTS = "KBPK custodians enter their components"
    KEY_BLOCK_FILE = "key block written to a file"
    TOKEN_LOAD = "key loaded into a PKCS#11 token"  # noqa: S105 - a turn's name, not a secret
    # checking a received key block (issue 16): the plan, preflight, control auth, KBPK_COMPONENTS, close-out
    # are shared with the recovery; only the verdict is its own
    KEY_BLOCK_VERDICT = "key block opened under the KBPK, verdict read"


@dataclass(frozen=True)
class Next:
    """The next turn, and what it is about: the share (or component) ``number`` and whose it is."""

    turn: Turn
    number: int | None = None
    person_id: str | None = None
    note: str = ""  # why, when the turn is a refusal


# --- private distribution: one new split, one custodian at a time ----------------------------------------
def distribution_turn(shares: ShareDistribution) -> Next:
    """Hand out every share (look away → shown → receipt), then the verification round, in share order.

    A demonstrated-knowledge incident (someone typed a share that was not theirs) stops the round until a
    security officer decides it (DESIGN §3). When every share was verified, the key may be wiped."""
    if shares.blocking_incident is not None and shares.blocking_incident.decision is None:
        return Next(Turn.DECIDE_DEMONSTRATED)
    for number, state in sorted(shares.state.items()):
        if not state.shown:
            return Next(Turn.LOOK_AWAY, number, shares.custodian_of(number))
        if state.envelope_serial is None:
            return Next(Turn.RECEIPT, number, shares.custodian_of(number))
    for number, state in sorted(shares.state.items()):
        if not state.verified:
            return Next(Turn.VERIFY, number, shares.custodian_of(number))
    return Next(Turn.CLOSE_OUT)


# --- generation ------------------------------------------------------------------------------------------
def generation_turn(ceremony: GenerationCeremony | None, *, preflight_accepted: bool) -> Next:
    """Preflight, then administrator and witness, key details and split, generation, distribution and
    verification, wipe and close-out."""
    from ceremony.flows.generation import Stage

    if ceremony is None:
        return Next(Turn.CONTROL_AUTH) if preflight_accepted else Next(Turn.PREFLIGHT)
    if ceremony.stage in (Stage.CLOSED, Stage.VOIDED):
        return Next(Turn.DONE)
    if ceremony.stage in (Stage.STARTED, Stage.PREFLIGHT_DONE):
        return Next(Turn.KEY_DETAILS)
    if ceremony.stage is Stage.PLANNED:
        return Next(Turn.GENERATE)
    if ceremony.stage is Stage.WIPED:
        return Next(Turn.CLOSE_OUT)
    assert ceremony.shares is not None, "a generated ceremony holds its split until the wipe"
    following = distribution_turn(ceremony.shares)
    block_due = ceremony.key_block_output is not None and ceremony.key_block is None
    if following.turn is Turn.CLOSE_OUT and block_due:
        # Every share verified, a key block planned (issue 16): the KBPK's custodians type their
        # components, then the block is made and written — before the wipe.
        return Next(Turn.KBPK_COMPONENTS) if ceremony.kek_missing else Next(Turn.KEY_BLOCK_FILE)
    return following


# --- recovery and re-share: a custodian's turn -----------------------------------------------------------
def custodian_turn(ceremony: RecoveryCeremony, number: int, person_id: str) -> Next:
    """A custodian holding share ``number`` has authenticated: inspect the envelope first if one was sealed
    (PCI PIN 9-2/9-4), an incident waits for the officer, a refused envelope ends that custodian's turn,
    otherwise they type their share."""
    check = ceremony.envelopes.get(number)
    if number in ceremony.split.envelopes and check is None:
        return Next(Turn.INSPECT_ENVELOPE, number, person_id)
    if check is not None and not check.accepted:
        if check.decision is None:
            return Next(Turn.DECIDE_INCIDENT, number, person_id)
        return Next(
            Turn.REFUSED,
            number,
            person_id,
            f"Share {number}'s envelope raised an incident (event #{check.incident_seq}) and the "
            "security officer refused it.",
        )
    return Next(Turn.ENTER_SHARE, number, person_id)


def recovery_turn(ceremony: RecoveryCeremony, reshare: ReshareCeremony | None = None) -> Next:
    """After the shares: rebuild (the KCV is read), then the output fixed at the start — components for
    their custodians, a wrap under the KEK, a key block under the KBPK, a load into a PKCS#11 token, or (a
    re-share) the new split's distribution — then close."""
    from ceremony.flows.recovery import ComponentsOutput
    from ceremony.flows.recovery import Stage as RecoveryStage

    if reshare is not None:
        from ceremony.flows.reshare import Stage as ReshareStage

        if reshare.stage in (ReshareStage.CLOSED, ReshareStage.VOIDED):
            return Next(Turn.DONE)
        if reshare.stage is ReshareStage.DISTRIBUTING and reshare.distribution is not None:
            return distribution_turn(reshare.distribution)
    stage = ceremony.stage
    if stage in (RecoveryStage.CLOSED, RecoveryStage.VOIDED):
        return Next(Turn.DONE)
    if stage in (RecoveryStage.STARTED, RecoveryStage.COLLECTING):
        return Next(Turn.NEXT_CUSTODIAN)
    if stage is RecoveryStage.REBUILT:
        return Next(Turn.REBUILT)  # its screen starts the output (components, KEK/KBPK entry, token, split)
    if isinstance(ceremony.output, ComponentsOutput) and ceremony.component_distribution is not None:
        shares = ceremony.component_distribution
        for number, state in sorted(shares.state.items()):
            if not state.shown:
                return Next(Turn.COMPONENT, number, shares.custodian_of(number))
            if state.envelope_serial is None:
                return Next(Turn.COMPONENT_RECEIPT, number, shares.custodian_of(number))
    return Next(Turn.CLOSE_OUT)


# --- checking a received key block (issue 16) -------------------------------------------------------------
def key_block_check_turn(check: KeyBlockCheck) -> Next:
    """After the start (the preflight recorded with it): the KBPK's planned custodians type their components
    (again, all of them, after a KBPK whose KCV was not the one planned), then the block is opened and the
    verdict read, then close — whatever the verdict (it is the record)."""
    from ceremony.flows.keyblock_check import Stage

    if check.stage in (Stage.CLOSED, Stage.VOIDED):
        return Next(Turn.DONE)
    if check.stage is Stage.CHECKED:
        return Next(Turn.CLOSE_OUT)
    if check.missing:
        return Next(Turn.KBPK_COMPONENTS)
    return Next(Turn.KEY_BLOCK_VERDICT)
