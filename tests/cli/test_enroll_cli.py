"""``ceremony enroll`` from the command line (DESIGN §1): founding prints the anchor; every later enrolment
needs a security officer and a second enrolled person (only the first after founding goes without);
namesakes are confirmed on record. Real subprocesses with the production key cost; passphrases are fed as a
script feeds them (one line each on standard input, in the order of the prompts), never on the command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.crypto.secret import SecretBytes
from ceremony.ledger import participants as people
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parents[2]


def secret(who: str) -> str:
    """A dummy test passphrase (never a real one), at least 12 characters."""
    return f"test passphrase of {who}"


def ceremony(*args: str, stdin: list[str] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        input="".join(f"{line}\n" for line in stdin),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def enroll(path: Path, *args: str, stdin: list[str] = ()) -> subprocess.CompletedProcess[str]:
    return ceremony("enroll", "--ledger", str(path), *args, stdin=stdin)


def last_event(path: Path):
    with Ledger.open(path, read_only=True) as ledger:
        return list(ledger.events())[-1]


def ids(path: Path) -> dict[str, str]:
    """Employee id -> person id."""
    with Ledger.open(path, read_only=True) as ledger:
        return {p.employee_id: p.person_id for p in people.participants(ledger)}


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Path:
    """Founded by Sophie (E0001); Alice (E0002) enrolled alone after founding; Walter (E0003) with Alice
    as the second person. Each test works on a copy."""
    path = tmp_path_factory.mktemp("enroll") / "ledger.sqlite3"
    founded = enroll(
        path,
        *(
            "--found",
            "--organisation",
            "Acme Payments plc",
            "--name",
            "Sophie Officer",
            "--employee-id",
            "E0001",
        ),
        stdin=[secret("sophie")] * 2,
    )
    assert founded.returncode == 0, founded.stderr
    alice = enroll(
        path,
        *("--name", "Alice Admin", "--employee-id", "E0002", "--role", "administrator", "--officer", "E0001"),
        stdin=[secret("sophie"), secret("alice"), secret("alice")],
    )
    assert alice.returncode == 0, alice.stderr
    walter = enroll(
        path,
        *("--name", "Walter Witness", "--employee-id", "E0003", "--role", "witness"),
        *("--officer", "E0001", "--second", "E0002"),
        stdin=[secret("sophie"), secret("alice"), secret("walter"), secret("walter")],
    )
    assert walter.returncode == 0, walter.stderr
    return path


@pytest.fixture
def ledger(office: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ledger.sqlite3"
    shutil.copyfile(office, copy)
    return copy


def test_found_prints_the_anchor_and_writes_its_pdf(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.sqlite3"
    result = enroll(
        path,
        *(
            "--found",
            "--organisation",
            "Acme Payments plc",
            "--name",
            "Sophie Officer",
            "--employee-id",
            "E0001",
        ),
        stdin=[secret("sophie")] * 2,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert secret("sophie") not in out + result.stderr
    with Ledger.open(path, read_only=True) as opened:
        anchor = people.anchor(opened)
        genesis = people.genesis(opened)
        assert opened.info.rehearsal is False
    assert genesis.organisation == "Acme Payments plc" and genesis.roles == ("security_officer",)
    printed = [line.strip() for line in out.splitlines()]
    start = printed.index(anchor.grouped()[0])
    assert printed[start : start + 3] == anchor.grouped()  # the three lines, as on paper
    assert Anchor.parse("\n".join(printed[start : start + 3])) == anchor
    assert "paper checkpoints" in out
    assert list((path.parent / "ceremony-documents").glob("ledger-anchor-*.pdf"))
    assert f"signed anchor PDF: {path.parent / 'ceremony-documents'}" in out
    # The line printed for later checks works as printed.
    check = ceremony("verify", "--ledger", str(path), "--anchor", anchor.text())
    assert check.returncode == 0, check.stderr


def test_found_needs_an_organisation_and_an_empty_ledger(tmp_path: Path, ledger: Path) -> None:
    path = tmp_path / "new.sqlite3"
    result = enroll(
        path, "--found", "--name", "Sophie Officer", "--employee-id", "E0001", stdin=[secret("s")] * 2
    )
    assert result.returncode == 2 and "--organisation" in result.stderr
    assert not path.exists()  # nothing made, no passphrase asked
    again = enroll(
        ledger,
        *("--found", "--organisation", "Acme", "--name", "Otto Other", "--employee-id", "E0009"),
        stdin=[secret("otto")] * 2,
    )
    assert again.returncode == 2 and "already founded" in again.stderr


def test_first_enrolment_after_founding_is_signed_by_officer_and_new_person(office: Path) -> None:
    event = last_event(office)  # Walter, with Alice as the second person
    who = ids(office)
    assert set(event.attested_by) == {who["E0001"], who["E0002"], who["E0003"]}
    with Ledger.open(office, read_only=True) as opened:
        alice = next(e for e in opened.events() if e.type == "participant.enrolled")
    assert set(alice.attested_by) == {who["E0001"], who["E0002"]}
    assert verify_ledger(office).participants == 3


def test_a_later_enrolment_without_a_second_person_is_refused(ledger: Path) -> None:
    result = enroll(
        ledger,
        *("--name", "Carla One", "--employee-id", "E0010", "--role", "custodian", "--officer", "E0001"),
        stdin=[secret("sophie"), secret("carla"), secret("carla")],
    )
    assert result.returncode == 5
    assert "second enrolled person" in result.stderr and "--second" in result.stderr
    assert "E0010" not in ids(ledger)


def test_officer_and_second_by_person_id_and_several_roles(ledger: Path) -> None:
    who = ids(ledger)
    result = enroll(
        ledger,
        *("--name", "Dana Both", "--employee-id", "E0011", "--role", "administrator", "--role", "witness"),
        *("--officer", who["E0001"], "--second", who["E0003"]),
        stdin=[secret("sophie"), secret("walter"), secret("dana"), secret("dana")],
    )
    assert result.returncode == 0, result.stderr
    assert "enrolled Dana Both (E0011) as administrator, witness at event #" in result.stdout
    assert "Sophie Officer" in result.stdout and "Walter Witness" in result.stdout
    event = last_event(ledger)
    assert event.payload["roles"] == ["administrator", "witness"]
    assert set(event.attested_by) == {who["E0001"], who["E0003"], str(event.payload["person_id"])}
    assert verify_ledger(ledger).participants == 4


def test_every_prompt_names_whose_passphrase_it_wants(ledger: Path, monkeypatch, capsys) -> None:
    # At a terminal each passphrase is asked for by name (a script gets the same order, without prompts).
    from ceremony.commands import enroll as command

    prompts: list[str] = []
    answers = iter([secret("sophie"), secret("alice"), secret("carla"), secret("carla")])

    def read(prompt: str) -> SecretBytes:
        prompts.append(prompt)
        return SecretBytes(next(answers).encode())

    monkeypatch.setattr(command, "read_passphrase", read)
    args = ["enroll", "--ledger", str(ledger), "--name", "Carla One", "--employee-id", "E0010"]
    assert main([*args, "--role", "custodian", "--officer", "E0001", "--second", "E0002"]) == 0
    assert prompts == [
        "Passphrase of Sophie Officer (E0001, security officer): ",
        "Passphrase of Alice Admin (E0002, second person): ",
        "new passphrase of the new person, Carla One (E0010): ",
        "the same passphrase again (Carla One (E0010)): ",
    ]
    assert "enrolled Carla One (E0010) as custodian" in capsys.readouterr().out


def test_a_wrong_passphrase_is_refused_and_nothing_is_enrolled(ledger: Path) -> None:
    result = enroll(
        ledger,
        *("--name", "Carla One", "--employee-id", "E0010", "--role", "custodian"),
        *("--officer", "E0001", "--second", "E0002"),
        stdin=[secret("sophie"), "not alice's passphrase", secret("carla"), secret("carla")],
    )
    assert result.returncode == 2 and "did not unlock Alice Admin's key" in result.stderr
    assert "E0010" not in ids(ledger)
    assert last_event(ledger).type == "auth.failed"  # recorded, signed by the officer who was present


def test_the_new_passphrase_is_checked_by_the_rule(ledger: Path) -> None:
    result = enroll(
        ledger,
        *("--name", "Carla One", "--employee-id", "E0010", "--role", "custodian"),
        *("--officer", "E0001", "--second", "E0002"),
        stdin=[secret("sophie"), secret("alice"), secret("carla"), secret("carl")],
    )
    assert result.returncode == 2 and "differ" in result.stderr
    short = enroll(
        ledger,
        *("--name", "Carla One", "--employee-id", "E0010", "--role", "custodian"),
        *("--officer", "E0001", "--second", "E0002"),
        stdin=[secret("sophie"), secret("alice"), "short", "short"],
    )
    assert short.returncode == 2 and "at least 12" in short.stderr
    assert "E0010" not in ids(ledger)


def test_bad_input_and_policy_refusals(ledger: Path) -> None:
    base = ("--name", "Carla One", "--role", "custodian")
    duplicate = enroll(
        ledger,
        *base,
        *("--employee-id", "e0003", "--officer", "E0001", "--second", "E0002"),
        stdin=[secret("sophie"), secret("alice"), secret("carla"), secret("carla")],
    )
    assert duplicate.returncode == 2 and "already enrolled" in duplicate.stderr
    unknown = enroll(ledger, *base, "--employee-id", "E0010", "--officer", "E0999", "--second", "E0002")
    assert unknown.returncode == 2 and "--officer" in unknown.stderr
    not_officer = enroll(ledger, *base, "--employee-id", "E0010", "--officer", "E0002", "--second", "E0003")
    assert not_officer.returncode == 5 and "not enrolled as a security officer" in not_officer.stderr
    same = enroll(ledger, *base, "--employee-id", "E0010", "--officer", "E0001", "--second", "E0001")
    assert same.returncode == 5 and "two different people" in same.stderr
    no_role = enroll(ledger, "--name", "Carla One", "--employee-id", "E0010", "--officer", "E0001")
    assert no_role.returncode == 2 and "--role" in no_role.stderr
    missing = enroll(ledger.parent / "nothing.sqlite3", *base, "--employee-id", "E0010", "--officer", "E0001")
    assert missing.returncode == 2 and "--found" in missing.stderr
    assert "E0010" not in ids(ledger)


def test_a_namesake_needs_the_confirmation_on_record(ledger: Path) -> None:
    who = ids(ledger)
    args = ("--name", "walter  WITNESS", "--employee-id", "E0042", "--role", "custodian")
    args += ("--officer", "E0001", "--second", "E0002")
    feed = [secret("sophie"), secret("alice"), secret("other walter"), secret("other walter")]
    refused = enroll(ledger, *args, stdin=feed)
    assert refused.returncode == 5
    with Ledger.open(ledger, read_only=True) as opened:
        walter = people.participant(opened, who["E0003"])
    assert f"Walter Witness, employee id E0003, enrolled at event #{walter.enrolled_seq}" in refused.stderr
    assert "--confirm-different-from E0003" in refused.stderr
    assert "E0042" not in ids(ledger)
    stranger = enroll(ledger, *args, "--confirm-different-from", "E0002", stdin=feed)
    assert stranger.returncode == 2 and "not enrolled under the name" in stranger.stderr
    confirmed = enroll(ledger, *args, "--confirm-different-from", "E0003", stdin=feed)
    assert confirmed.returncode == 0, confirmed.stderr
    event = last_event(ledger)
    assert event.payload["same_name_confirmed"] == [who["E0003"]]
    assert set(event.attested_by) == {who["E0001"], who["E0002"], str(event.payload["person_id"])}
    assert verify_ledger(ledger).participants == 4
