"""Dual control (PCI DSS 3.7.6, DESIGN §1): each refusal and its message, and the accepted shapes."""

from __future__ import annotations

import pytest

from ceremony.errors import DualControlError, PolicyError
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord
from ceremony.policy.dual_control import Role, check_dual_control

PAIR = {"administrator", "witness"}
EVERYONE = {"ada", "wes", "cus", "sol"}


def test_administrator_and_witness_pass():
    check_dual_control(
        "generate key",
        PAIR,
        {"administrator": "ada", "witness": "wes"},
        authenticated=EVERYONE,
        ceremony_custodians={"cus"},
        key_custodians={"cus"},
    )


def test_enum_roles_and_extra_security_officer_pass():
    check_dual_control(
        "approve exception",
        {Role.ADMINISTRATOR, Role.WITNESS},
        {Role.ADMINISTRATOR: "ada", Role.WITNESS: "wes", Role.SECURITY_OFFICER: "sol"},
        authenticated=EVERYONE,
    )


def test_one_person_in_two_roles_is_refused():
    with pytest.raises(DualControlError) as caught:
        check_dual_control(
            "generate key", PAIR, {"administrator": "ada", "witness": "ada"}, authenticated=EVERYONE
        )
    message = str(caught.value)
    assert "ada cannot be both administrator and witness" in message
    assert "generate key" in message
    assert caught.value.exit_code == 5
    assert isinstance(caught.value, PolicyError)


def test_extra_role_filled_by_a_control_person_is_refused():
    with pytest.raises(DualControlError, match="wes cannot be both witness and security officer"):
        check_dual_control(
            "wrap key",
            PAIR,
            {"administrator": "ada", "witness": "wes", "security_officer": "wes"},
            authenticated=EVERYONE,
        )


def test_a_step_with_one_role_is_never_dual_control():
    with pytest.raises(DualControlError, match="fewer than two control roles"):
        check_dual_control(
            "show component", {"administrator"}, {"administrator": "ada"}, authenticated=EVERYONE
        )


def test_missing_role_is_refused():
    with pytest.raises(DualControlError, match="nobody is assigned as witness"):
        check_dual_control("generate key", PAIR, {"administrator": "ada"}, authenticated=EVERYONE)
    with pytest.raises(DualControlError, match="nobody is assigned as witness"):
        check_dual_control(
            "generate key", PAIR, {"administrator": "ada", "witness": ""}, authenticated=EVERYONE
        )


def test_unauthenticated_participant_is_refused():
    with pytest.raises(DualControlError, match=r"wes \(witness\) has not authenticated"):
        check_dual_control(
            "generate key", PAIR, {"administrator": "ada", "witness": "wes"}, authenticated={"ada"}
        )


def test_unknown_role_is_refused():
    with pytest.raises(DualControlError, match="'auditor' is not a ceremony role"):
        check_dual_control(
            "generate key",
            {"administrator", "auditor"},
            {"administrator": "ada", "auditor": "wes"},
            authenticated=EVERYONE,
        )


def test_administrator_who_is_a_custodian_in_this_ceremony_is_refused():
    with pytest.raises(DualControlError, match="administrator ada is a custodian of a key in this ceremony"):
        check_dual_control(
            "generate key",
            PAIR,
            {"administrator": "ada", "witness": "wes"},
            authenticated=EVERYONE,
            ceremony_custodians={"ada", "cus"},
        )


def test_witness_who_is_a_custodian_of_the_key_is_refused():
    with pytest.raises(DualControlError, match="witness cus is a custodian of the key being handled"):
        check_dual_control(
            "recover key",
            PAIR,
            {"administrator": "ada", "witness": "cus"},
            authenticated=EVERYONE,
            key_custodians={"cus"},
        )


def test_witness_may_be_custodian_of_another_key_of_the_ceremony():
    check_dual_control(
        "recover key K2",
        PAIR,
        {"administrator": "ada", "witness": "cus"},
        authenticated=EVERYONE,
        ceremony_custodians={"cus"},
        key_custodians={"other"},
    )


def test_custody_history_names_past_custodians_for_the_witness_rule():
    """Someone who ever knew a share of the key (even of a retired split) cannot witness its handling."""
    history = CustodyHistory()
    history.add_split(SplitRecord("KEY1", "OLD", "shamir", 2, 2, seq=1))
    history.record(Exposure(2, "wes", "OLD", 1, "assigned"))
    history.add_split(SplitRecord("KEY1", "NEW", "shamir", 2, 2, seq=3))
    history.retire_split("OLD", 4)
    with pytest.raises(DualControlError, match="witness wes"):
        check_dual_control(
            "re-share",
            PAIR,
            {"administrator": "ada", "witness": "wes"},
            authenticated=EVERYONE,
            key_custodians=history.people_who_knew("KEY1"),
        )
