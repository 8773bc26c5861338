"""Property tests of the signing rules (DESIGN §5): random valid histories verify; one event that breaks
one rule — written past the writer, as an attacker or a careless insider would — is refused by the writer
and named by verify (its seq, its type, the rule)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from forge import raw_append
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import (
    TestSigner,
    enroll_signer,
    exposure,
    found,
    key_payload,
    person,
    split_payload,
    start_ceremony,
    stepping_clock,
)

from ceremony.errors import CeremonyError, LedgerIntegrityError
from ceremony.ledger import events as ev
from ceremony.ledger.participants import change_roles
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class History:
    """A ledger grown by valid steps: founder (security officer + witness), an administrator, a witness and
    custodians, then random ceremonies, keys, splits, exposures, enrolments, role changes, departures."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ledger.sqlite3"
        self.ledger = Ledger.open(self.path, create=True, clock=stepping_clock())
        self.officer = person(1, "Olga Officer")
        found(self.ledger, self.officer, "E-001", ("security_officer", "witness"))
        self.counter = itertools.count(2)
        self.admin = self.enrol(("administrator",))
        self.witness = self.enrol(("witness",))
        self.custodians = [self.enrol(("custodian",)) for _ in range(3)]
        self.ceremony = ""
        self.split: tuple[str, int] | None = None  # split id, next share number
        self.keys = 0

    def enrol(self, roles: tuple[str, ...]) -> TestSigner:
        n = next(self.counter)
        newcomer = person(n, f"Person {n}")
        enroll_signer(self.ledger, newcomer, f"E-{n:03d}", roles)
        return newcomer

    def step(self, choice: int) -> None:
        admin, witness = self.admin, self.witness
        kind = choice % 6
        if kind == 0 or not self.ceremony:
            self.ceremony = f"CER{choice:03d}{self.ledger.size():04d}"
            start_ceremony(self.ledger, admin, witness, self.ceremony)
        elif kind == 1:
            self.keys += 1
            key_id, split_id = f"KEY{self.keys:07d}", f"SPL{self.keys:07d}"
            self.ledger.append(
                ev.KEY_REGISTERED,
                key_payload(key_id, ceremony_id=self.ceremony),
                [admin.person_id],
                [admin, witness],
            )
            self.ledger.append(
                ev.SPLIT_CREATED,
                split_payload(key_id, split_id, 2, 3, self.ceremony),
                [admin.person_id],
                [admin, witness],
            )
            self.split = (split_id, 1)
        elif kind == 2 and self.split is not None and self.split[1] <= 3:
            split_id, number = self.split
            holder = self.custodians[number - 1]
            self.ledger.append(
                ev.SHARE_EXPOSED,
                exposure(holder.person_id, split_id, number, "shown", self.ceremony),
                [holder.person_id, witness.person_id],
                [holder, witness],
            )
            self.split = (split_id, number + 1)
        elif kind == 3:
            self.custodians.append(self.enrol(("custodian",)))
        elif kind == 4:
            change_roles(
                self.ledger,
                self.custodians[-1].person_id,
                ["custodian", "witness"],
                "also witnesses",
                [self.officer, witness],
            )
            self.custodians.pop()  # now a witness too: no longer a plain custodian for these tests
            self.custodians.append(self.enrol(("custodian",)))
        elif kind == 5 and len(self.custodians) > 3:
            leaving = self.custodians.pop(0)
            self.ledger.append(
                ev.PARTICIPANT_DEACTIVATED,
                {"person_id": leaving.person_id, "reason": "left"},
                [self.officer.person_id, witness.person_id],
                [self.officer, witness],
            )


def _history(tmp: Path, steps: list[int]) -> History:
    history = History(tmp)
    for choice in steps:
        history.step(choice)
    return history


@SETTINGS
@given(st.lists(st.integers(min_value=0, max_value=99), min_size=3, max_size=14))
def test_random_valid_histories_verify(steps) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = _history(Path(tmp), steps)
        size = history.ledger.size()
        history.ledger.close()
        result = verify_ledger(history.path)
        assert result.events == size


VIOLATIONS = (
    "one signer short",
    "signer lacks the role",
    "deactivated signer",
    "unknown field",
    "actor did not sign",
    "wrong key",
    "custodian signs for the witness",
)


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=99), min_size=3, max_size=10),
    st.sampled_from(VIOLATIONS),
)
def test_one_broken_rule_is_refused_by_the_writer_and_named_by_verify(steps, violation) -> None:
    """The last event breaks one rule: the writer refuses it (nothing written) and, written anyway into the
    file, verify names exactly that event."""
    with tempfile.TemporaryDirectory() as tmp:
        history = _history(Path(tmp), steps)
        admin, witness, ledger = history.admin, history.witness, history.ledger
        custodian = history.enrol(("custodian",))
        payload: dict[str, object] = {
            "ceremony_id": "CERVIOLATE",
            "kind": "generation",
            "purpose": "p",
            "rehearsal": False,
        }
        signers: list[TestSigner] = [admin, witness]
        actors = [admin.person_id, witness.person_id]
        if violation == "one signer short":
            signers, actors = [admin], [admin.person_id]
        elif violation in ("signer lacks the role", "custodian signs for the witness"):
            signers, actors = [admin, custodian], [admin.person_id, custodian.person_id]
        elif violation == "deactivated signer":
            gone = history.enrol(("witness",))
            ledger.append(
                ev.PARTICIPANT_DEACTIVATED,
                {"person_id": gone.person_id, "reason": "left"},
                [history.officer.person_id, witness.person_id],
                [history.officer, witness],
            )
            signers, actors = [admin, gone], [admin.person_id, gone.person_id]
        elif violation == "unknown field":
            payload["zz"] = 1
        elif violation == "actor did not sign":
            actors = [*actors, custodian.person_id]
        elif violation == "wrong key":
            signers = [TestSigner(admin.person_id, admin.name, person(999).key), witness]
        size = ledger.size()
        with pytest.raises(CeremonyError):
            ledger.append(ev.CEREMONY_STARTED, payload, actors, signers)
        assert ledger.size() == size  # nothing written
        ledger.close()
        seq = raw_append(
            history.path, ev.CEREMONY_STARTED, payload, actors, [(s.person_id, s.sign) for s in signers]
        )
        with pytest.raises(LedgerIntegrityError) as caught:
            verify_ledger(history.path)
        assert caught.value.seq == seq, str(caught.value)
        assert f"Event #{seq}: ceremony.started" in str(caught.value)
