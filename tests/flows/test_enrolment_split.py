"""Enrolment's flow, as the screens ask it (issue 14): founding split like presence (read the ledger,
pure crypto, record), what a generation ceremony needs enrolled (three custodians for the README's
2-of-3), and the passphrase rule in one place."""

from __future__ import annotations

import pytest
from flow_support import FAST_KDF, ORGANISATION, passphrase_of

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import InputError
from ceremony.flows.enrolment import (
    MIN_PASSPHRASE,
    check_passphrase,
    make_founder,
    missing_for_a_ceremony,
    prepare_founding,
    settle_founding,
    splits_possible,
)
from ceremony.ledger import participants as people
from ceremony.ledger.participants import Participant
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def test_founding_in_three_steps_records_nothing_until_settled(tmp_path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path, create=True, rehearsal=True) as ledger:
        request = prepare_founding(ledger, "  " + ORGANISATION + " ")
        assert request.organisation == ORGANISATION and request.ledger_id == ledger.ledger_id
        secret = passphrase_of("sophie")
        new = make_founder(request, name="Sophie", employee_id="E0001", passphrase=secret, kdf=FAST_KDF)
        assert ledger.size() == 0  # pure crypto: nothing written yet
        assert "wiped" in repr(secret)  # wiped once used
        founded = settle_founding(ledger, new)
        try:
            assert ledger.size() == 1 and founded.anchor == people.anchor(ledger)
            assert people.genesis(ledger).organisation == ORGANISATION
            assert founded.founder.roles == ("security_officer",)
        finally:
            founded.identity.lock()
        with pytest.raises(InputError, match="already founded"):
            prepare_founding(ledger, ORGANISATION)
    assert verify_ledger(path).participants == 1


def test_founding_needs_the_organisation(tmp_path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3", create=True, rehearsal=True) as ledger:
        with pytest.raises(InputError, match="organisation"):
            prepare_founding(ledger, "   ")


def _person(n: int, *roles: str, active: bool = True) -> Participant:
    return Participant(
        person_id=f"P{n}",
        name=f"Person {n}",
        employee_id=f"E{n}",
        roles=tuple(roles),
        certificate_pem="",
        cert_sha256="",
        enrolled_seq=n,
        deactivated_seq=None if active else n + 100,
    )


def test_a_ceremony_needs_three_custodians_as_the_readme_says() -> None:
    team = [_person(1, "security_officer"), _person(2, "administrator"), _person(3, "witness")]
    custodians = [_person(10 + i, "custodian") for i in range(5)]
    assert missing_for_a_ceremony([]) == ["a ceremony administrator", "a witness", "3 more key custodians"]
    assert missing_for_a_ceremony(team + custodians[:2]) == ["1 more key custodian"]
    assert missing_for_a_ceremony(team + custodians[:2] + [_person(20, "custodian", active=False)]) == [
        "1 more key custodian"
    ]  # someone who left does not count
    assert missing_for_a_ceremony(team + custodians[:3]) == []
    assert splits_possible(team + custodians[:2]) == []
    assert splits_possible(team + custodians[:3]) == [(2, 3)]
    assert splits_possible(team + custodians) == [(2, 3), (3, 5)]


def test_the_passphrase_rule() -> None:
    good = "x" * MIN_PASSPHRASE
    check_passphrase(SecretBytes(good.encode()), SecretBytes(good.encode()))
    with pytest.raises(InputError, match="differ"):
        check_passphrase(SecretBytes(good.encode()), SecretBytes((good + "y").encode()))
    short = "é" * (MIN_PASSPHRASE - 1)  # counted in characters, not bytes
    with pytest.raises(InputError, match=f"at least {MIN_PASSPHRASE}"):
        check_passphrase(SecretBytes(short.encode()), SecretBytes(short.encode()))
