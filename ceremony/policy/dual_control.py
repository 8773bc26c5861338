"""Dual control (PCI DSS 3.7.6, DESIGN §1): every step that touches clear key material needs at
least two different authenticated people, and nobody fills two control roles in one step.

Pure: the caller says who is authenticated (typed a passphrase that unlocked their key) and who the
custodians are; this module only decides. A refusal is a :class:`~ceremony.errors.DualControlError` whose
message names the step, the role and the person id — never a secret.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from ceremony.errors import DualControlError


class Role(StrEnum):
    """The roles of DESIGN §1 that a participant fills in a ceremony step."""

    ADMINISTRATOR = "administrator"
    WITNESS = "witness"
    CUSTODIAN = "custodian"
    SECURITY_OFFICER = "security_officer"  # as enrolled in the ledger (ledger.schema.ROLES)


def _spoken(role: str) -> str:
    """A role as people say it in a message (security_officer -> security officer)."""
    return role.replace("_", " ")


ROLE_NAMES: frozenset[str] = frozenset(role.value for role in Role)


def check_dual_control(
    step: str,
    required_roles: Collection[str],
    participants: Mapping[str, str],
    *,
    authenticated: Collection[str],
    ceremony_custodians: Collection[str] = (),
    key_custodians: Collection[str] = (),
) -> None:
    """Refuse the step unless its control roles are filled by different, authenticated people.

    :param step: what the step is called in the script, e.g. ``"generate key"`` (used in messages only).
    :param required_roles: the roles the step needs, e.g. ``{"administrator", "witness"}``.
    :param participants: role -> person id of who fills it in this step (extra roles are allowed and count
        as control roles too: nobody may fill two).
    :param authenticated: person ids who unlocked their signing key for this step.
    :param ceremony_custodians: custodians of any key in this ceremony; the administrator may not be one.
    :param key_custodians: custodians of the key this step handles (those named in this ceremony and
        everyone who ever knew a share of it, see ``CustodyHistory.people_who_knew``); neither the witness
        nor the administrator may be one.
    :raises DualControlError: naming the step, the role and the person.
    """
    for role in (*required_roles, *participants):
        if role not in ROLE_NAMES:
            raise DualControlError(f"Step '{step}': '{_spoken(role)}' is not a ceremony role.")
    if len(set(required_roles)) < 2:
        # One role is one person: that is never dual control.
        raise DualControlError(
            f"Step '{step}' names fewer than two control roles; a step that touches key material needs "
            "at least two different people (dual control)."
        )
    for role in sorted(set(required_roles)):
        if not participants.get(role):
            raise DualControlError(f"Step '{step}': nobody is assigned as {_spoken(role)}.")
    first_role: dict[str, str] = {}
    for role, person in participants.items():
        if not person:
            raise DualControlError(f"Step '{step}': nobody is assigned as {_spoken(role)}.")
        if person not in authenticated:
            raise DualControlError(
                f"Step '{step}': {person} ({_spoken(role)}) has not authenticated; they must unlock "
                "their own signing key with their passphrase first."
            )
        if person in first_role:
            raise DualControlError(
                f"Step '{step}': {person} cannot be both {_spoken(first_role[person])} and "
                f"{_spoken(role)}; one person never fills two control roles in one step (dual control)."
            )
        first_role[person] = role
    # Here at least two roles are filled by as many different authenticated people: dual control holds.
    administrator = participants.get(Role.ADMINISTRATOR)
    if administrator and (administrator in ceremony_custodians or administrator in key_custodians):
        raise DualControlError(
            f"Step '{step}': administrator {administrator} is a custodian of a key in this ceremony; "
            "the administrator cannot be a custodian in the same ceremony."
        )
    witness = participants.get(Role.WITNESS)
    if witness and witness in key_custodians:
        raise DualControlError(
            f"Step '{step}': witness {witness} is a custodian of the key being handled; the witness must "
            "not be one."
        )
