"""Issue 15, item 4: ids people know. A person is named by the employee id they carry (or the internal
person id); a key or split by its id as listed, cut short or whole, any case; every passphrase prompt says
whose; a name nobody answers to says what was looked up and how to list what there is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyshamir
import pytest

from ceremony.cli import main
from ceremony.commands import passphrase_prompt
from ceremony.crypto.codec import encode_share, share_lines
from ceremony.crypto.ids import new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import InputError
from ceremony.flows.demo import DemoSummary, build_demo
from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return build_demo(tmp_path_factory.mktemp("ids") / "demo.sqlite3")


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- people --------------------------------------------------------------------------------------------
def test_report_person_takes_the_employee_id(demo: DemoSummary, capsys: pytest.CaptureFixture[str]) -> None:
    maria = demo.people["E2003"]
    code, by_employee, err = report(capsys, "custodians", "--ledger", str(demo.path), "--person", "E2003")
    assert code == 0, err
    assert "Maria Costa" in by_employee and "Priya Raman" not in by_employee
    code, by_person, _ = report(capsys, "custodians", "--ledger", str(demo.path), "--person", maria)
    assert code == 0 and by_person == by_employee
    code, lower, _ = report(capsys, "custodians", "--ledger", str(demo.path), "--person", " e2003 ")
    assert code == 0 and lower == by_employee


def test_an_unknown_person_says_what_was_looked_up_and_how_to_list_people(
    demo: DemoSummary, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = report(capsys, "custodians", "--ledger", str(demo.path), "--person", "E9999")
    assert code == 2
    assert "--person 'E9999'" in err and "employee id" in err and "ceremony report custodians" in err


def test_one_resolver_for_every_command(demo: DemoSummary) -> None:
    with Ledger.open_for_reading(demo.path) as ledger:
        everyone = people.participants(ledger)
        sophie = people.resolve_person(ledger, "E1004", "--officer")
    assert sophie.name == "Sophie Laurent" and sophie.person_id == demo.people["E1004"]
    assert people.find_person(everyone, demo.people["E1004"]) == sophie
    assert people.find_person(everyone, "e1004") == sophie
    with pytest.raises(InputError, match=r"--officer 'NOBODY'.*ceremony report custodians"):
        people.find_person(everyone, "NOBODY", "--officer")


def test_every_passphrase_prompt_names_whose(demo: DemoSummary) -> None:
    with Ledger.open_for_reading(demo.path) as ledger:
        sophie = people.resolve_person(ledger, "E1004")
        walter = people.resolve_person(ledger, "E1003")
    assert (
        passphrase_prompt(sophie, "security_officer")
        == "Passphrase of Sophie Laurent (E1004, security officer): "
    )
    assert passphrase_prompt(walter, "witness") == "Passphrase of Walter Chen (E1003, witness): "
    # No command asks for a passphrase without naming whose (the old "security officer passphrase: ").
    commands = Path(__file__).resolve().parents[2] / "ceremony" / "commands"
    for module in commands.glob("*.py"):
        assert '"security officer passphrase' not in module.read_text(encoding="utf-8"), module.name


# --- keys and splits -----------------------------------------------------------------------------------
def test_report_key_takes_the_id_as_listed(demo: DemoSummary, capsys: pytest.CaptureFixture[str]) -> None:
    zmk = demo.keys["ZMK-2026 acquirer zone master key"]
    code, whole, err = report(capsys, "keys", "--ledger", str(demo.path), "--key", zmk)
    assert code == 0, err
    assert "ZMK-2026" in whole and "PEK-2026" not in whole
    for given in (zmk[:8], zmk[:8].lower()):  # the key list shows 8 characters
        code, short, err = report(capsys, "keys", "--ledger", str(demo.path), "--key", given)
        assert code == 0, err
        assert short == whole


def test_an_unknown_key_says_how_to_list_keys(demo: DemoSummary, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = report(capsys, "keys", "--ledger", str(demo.path), "--key", "ZZZZZZZZ")
    assert code == 2
    assert "--key 'ZZZZZZZZ'" in err and "ceremony report keys" in err


def test_an_ambiguous_prefix_names_the_keys_it_could_be() -> None:
    ids = ["KBZK5X1Q7M", "KBZK5X1QAA", "QK3JNKYQF1"]
    labels = {"KBZK5X1Q7M": "ZMK 2026", "KBZK5X1QAA": "PEK 2026", "QK3JNKYQF1": "BDK"}
    assert people.find_by_prefix("qk3j", ids, "key", "--key") == "QK3JNKYQF1"
    assert people.find_by_prefix("KBZK5X1QAA", ids, "key", "--key") == "KBZK5X1QAA"
    with pytest.raises(InputError) as raised:
        people.find_by_prefix("KBZK5X1Q", ids, "key", "--key", labels.__getitem__)
    message = str(raised.value)
    assert "--key 'KBZK5X1Q' could be 2 keys" in message
    assert "KBZK5X1Q7M (ZMK 2026)" in message and "KBZK5X1QAA (PEK 2026)" in message
    assert "QK3JNKYQF1" not in message


def test_share_inspect_expect_split_takes_the_id_as_listed() -> None:
    parts = pyshamir.split(os.urandom(32), 3, 2)
    share = Share(new_id(), new_id(), Scheme.SHAMIR, 2, 3, 1, SecretBytes(parts[0]))
    encoded = encode_share(share)
    card = b"\n".join(line.view().tobytes() for _, line in share_lines(encoded)) + b"\n"

    def inspect(*args: str) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "ceremony", "share", "inspect", *args]
        return subprocess.run(command, input=card, capture_output=True, timeout=30)

    assert inspect("--expect-split", share.split_id[:8]).returncode == 0
    assert inspect("--expect-split", share.split_id[:8].lower()).returncode == 0
    other = next(i for i in iter(new_id, None) if not i.startswith(share.split_id[:8]))
    wrong = inspect("--expect-split", other[:8])
    assert wrong.returncode == 2 and f"not a share of split {other[:8]}".encode() in wrong.stderr
    too_short = inspect("--expect-split", share.split_id[:3])
    assert too_short.returncode == 2 and b"first 8 or more" in too_short.stderr
