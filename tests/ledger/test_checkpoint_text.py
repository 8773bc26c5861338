"""The checkpoint as people read it (issue 14 part 2, item 2): printed in groups of eight hex digits, and read
back exactly as printed — any white space (line breaks too), any case — by ``Checkpoint.parse`` and by
``ceremony verify --checkpoint``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_support import build_sample

from ceremony.cli import main
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError
from ceremony.ledger.store import Ledger


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("cp") / "ledger.sqlite3", total_events=40)


@pytest.fixture(scope="module")
def checkpoint(sample) -> Checkpoint:
    with Ledger.open(sample.path, read_only=True) as ledger:
        return ledger.checkpoint(25)


def test_printed_form_is_groups_of_eight_never_split(checkpoint) -> None:
    name, head, root = checkpoint.grouped()
    assert name == f"CEREMONY-CHECKPOINT V1 {checkpoint.ledger_id} 25"
    for line, value in ((head, checkpoint.head_hash), (root, checkpoint.merkle_root)):
        groups = line.split(" ")
        assert len(groups) == 8 and all(re.fullmatch(r"[0-9A-F]{8}", g) for g in groups)
        assert "".join(groups) == value.hex().upper()
    assert checkpoint.printed() == "\n".join(checkpoint.grouped())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t,
        str.lower,
        lambda t: t.replace(" ", "\n"),  # every group on its own line
        lambda t: "  " + t.lower().replace("\n", " \r\n\t ") + "\n",
        lambda t: t.replace("\n", "\nhead ", 1).replace("\n", "\n", 1),  # a word written before a hash
    ],
)
def test_parse_reads_the_printed_text_back(checkpoint, mangle) -> None:
    assert Checkpoint.parse(mangle(checkpoint.printed())) == checkpoint


def test_parse_still_reads_the_one_line_form_and_refuses_a_short_hash(checkpoint) -> None:
    assert Checkpoint.parse(checkpoint.text()) == checkpoint
    with pytest.raises(CheckpointFormatError, match="64 hex digits"):
        Checkpoint.parse(checkpoint.printed()[:-1])


def test_verify_cli_takes_the_printed_checkpoint_with_a_line_break(sample, checkpoint, capsys) -> None:
    printed = checkpoint.printed().lower()
    assert "\n" in printed
    assert main(["verify", "--ledger", str(sample.path), "--checkpoint", printed]) == 0
    assert "checkpoints matched 1" in capsys.readouterr().out
    other = Checkpoint(checkpoint.ledger_id, 25, bytes(32), checkpoint.merkle_root).printed()
    assert main(["verify", "--ledger", str(sample.path), "--checkpoint", other]) == 4
