"""``ceremony rehearse --example departure`` end to end (PCI DSS 3.7.5, DESIGN §3): one sequence script plays
a generation, a custodian's departure, a re-share, a replacement generation naming the old key and the old
key's retirement on one rehearsal ledger, through the real engines. The flag states along the way are read
back from the ledger itself — replayed up to each stage's closing checkpoint — not only from the runner's own
report; a script whose expectations are wrong exits 1 and says which."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.errors import IdentityError
from ceremony.flows.rehearsal import (
    ScriptError,
    SequenceScript,
    example_script,
    parse_any,
    parse_sequence_script,
    run_sequence,
)
from ceremony.ledger.register import Register
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.policy.custody import CustodyHistory

ROOT = Path(__file__).resolve().parents[2]


def _ceremony(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    command = [sys.executable, "-m", "ceremony", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def fast_departure() -> str:
    text = example_script("departure")
    assert 'kdf = "production"' in text
    return text.replace('kdf = "production"', 'kdf = "fast"')


def _as_of(ledger_path: Path, size: int) -> tuple[CustodyHistory, Register]:
    """The custody history and register of the ledger as it stood after event ``size`` (a fresh replay)."""
    with Ledger.open(ledger_path, read_only=True) as ledger:
        state = ledger.new_state()
        register = Register()
        for event in ledger.events_into(state):
            register.take(event)
            if event.seq >= size:
                break
        return state.custody, register


def _size(folder: Path) -> int:
    checkpoint = json.loads((folder / "manifest.json").read_text())["closing_checkpoint"]
    return int(checkpoint.split()[3])  # CEREMONY-CHECKPOINT V1 LEDGER SIZE HEAD ROOT


def test_the_departure_example_runs_from_the_cli_and_the_ledger_shows_each_flag_state(tmp_path: Path) -> None:
    printed = _ceremony("rehearse", "--example", "departure", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == example_script("departure") and "# " in printed.stdout
    script = tmp_path / "departure.toml"
    script.write_text(printed.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    ledger = tmp_path / "rehearsal.sqlite3"
    done = _ceremony("rehearse", str(script), "--ledger", str(ledger), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Everything as the script expected: yes" in done.stdout
    assert "NOT AS EXPECTED" not in done.stdout

    out = tmp_path / "out"
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in folders] == [
        "01-generation-zmk",
        "02-departure",
        "03-reshare",
        "04-generation-zmk-2",
        "05-retirement",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    old, new = manifest["keys"]["zmk"], manifest["keys"]["zmk-2"]
    assert manifest["as_expected"] is True and len(manifest["stages"]) == 5

    # 1. generated: nothing flagged.
    history, register = _as_of(ledger, _size(folders[0]))
    assert history.flagged_keys() == {} and list(register.keys) == [old]
    first_split = register.keys[old].splits[0]

    # 2. Priya (R0101) left: the key she knew is flagged, by her deactivation.
    history, register = _as_of(ledger, _size(folders[1]))
    (priya,) = [p for p in register.people.values() if p.employee_id == "R0101"]
    assert not priya.active and history.deactivated() == {priya.person_id: priya.deactivated_seq}
    assert history.flagged_keys() == {old: priya.deactivated_seq}

    # 3. Re-shared: a new split of the same key, the old one retired — the flag stays, nothing cleared.
    history, register = _as_of(ledger, _size(folders[2]))
    splits = register.keys[old].splits
    assert len(splits) == 2 and register.splits[first_split].retired
    assert register.splits[splits[1]].replaces_split_id == first_split
    assert priya.person_id not in register.splits[splits[1]].custodians.values()
    assert history.flagged_keys() == {old: priya.deactivated_seq} and history.cleared() == {}
    assert priya.person_id in history.people_who_knew(old)  # she still knows a share of the old split

    # 4. The replacement generated, naming the old key: still flagged until the old key is retired.
    history, register = _as_of(ledger, _size(folders[3]))
    assert register.keys[new].replaces_key_id == old and history.replacements_of(old) == [new]
    assert old in history.flagged_keys() and history.cleared() == {}
    assert not register.keys[old].retired

    # 5. The old key retired naming its replacement: the flag is cleared, with the link.
    history, register = _as_of(ledger, _size(folders[4]))
    retired = register.keys[old]
    assert retired.retired and retired.replaced_by_key_id == new
    assert history.cleared() == {old: (retired.retired_seq, new)}
    assert history.flagged_keys() == {}
    assert retired.replacement_cleared_seq == retired.retired_seq
    verify_ledger(ledger)

    # The reports say the same (a real CLI run, read-only).
    keys = _ceremony("report", "keys", "--ledger", str(ledger), "--format", "json", cwd=tmp_path)
    assert keys.returncode == 0, keys.stderr
    records = {r["key_id"]: r for r in json.loads(keys.stdout)["records"]}
    assert records[old]["replacement"]["state"] == "cleared"
    assert records[old]["replacement"]["replacement_key_id"] == new
    assert records[new]["replaces_key_id"] == old and records[new]["must_be_replaced"] is False


def test_wrong_flag_expectations_are_reported_and_exit_1(tmp_path: Path) -> None:
    """A re-share clears nothing: a script expecting it to says NOT AS EXPECTED, and the CLI exits 1."""
    text = fast_departure().replace(
        'flags = { zmk = "must still be replaced" }', 'flags = { zmk = "cleared" }'
    )
    script = tmp_path / "wrong.toml"
    script.write_text(text)
    ledger = tmp_path / "rehearsal.sqlite3"
    done = _ceremony("rehearse", str(script), "--ledger", str(ledger), "--out", "out", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "key zmk" in done.stdout
        and "must still be replaced [NOT AS EXPECTED (expected cleared)]" in done.stdout
    )
    assert "Everything as the script expected: NO" in done.stdout
    stages = json.loads((tmp_path / "out" / "manifest.json").read_text())["stages"]
    assert [s["as_expected"] for s in stages] == [True, True, False, True, True]


def test_a_departed_custodian_cannot_present_a_share_afterwards(tmp_path: Path) -> None:
    """Priya left: a re-share step presenting her card is refused at sign-in; the stage is voided."""
    text = fast_departure().replace("[[stages.steps]]", "[[stages.steps]]\nshare = 1\n\n[[stages.steps]]", 1)
    with pytest.raises(IdentityError, match="deactivated"):
        run_sequence(parse_sequence_script(text), tmp_path / "r.sqlite3", tmp_path / "out", base=tmp_path)
    with Ledger.open(tmp_path / "r.sqlite3", read_only=True) as ledger:
        types = [e.type for e in ledger.events()]
    assert "ceremony.voided" in types and "split.retired" not in types
    verify_ledger(tmp_path / "r.sqlite3")


def test_the_example_parses_into_its_five_stages() -> None:
    script = parse_any(example_script("departure"))
    assert isinstance(script, SequenceScript) and script.kdf == "production"
    assert [(s.kind, s.name or s.key) for s in script.stages] == [
        ("generation", "zmk"),
        ("departure", ""),
        ("reshare", "zmk"),
        ("generation", "zmk-2"),
        ("retirement", "zmk"),
    ]
    assert script.stages[3].script.replaces == "zmk"  # type: ignore[union-attr]
    assert script.stages[4].script.replaced_by == "zmk-2"  # type: ignore[union-attr]
    assert [dict(s.flags).get("zmk") for s in script.stages] == [
        "none",
        "must be replaced",
        "must still be replaced",
        "replacement generated",
        "cleared",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('365\nreplaces = "zmk"', '365\nreplaces = "nope"'), "nope"),
        (('flags = { zmk = "cleared", zmk-2 = "none" }', 'flags = { zmk = "gone" }'), "flag of zmk"),
        (('kind = "reshare"\nkey = "zmk"', 'kind = "reshare"\nkey = "zmk-9"'), "zmk-9"),
        (('person = "R0101"', 'person = "R9999"'), "R9999"),
        (('name = "zmk-2"', 'name = "zmk"'), "used by an earlier stage"),
    ],
)
def test_sequence_script_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    text = example_script("departure")
    assert change[0] in text
    with pytest.raises(ScriptError, match=message):
        parse_sequence_script(text.replace(*change, 1))
