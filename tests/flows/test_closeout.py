"""The one close-out (ceremony.flows.closeout) and its failure policy, on real ledgers with real signatures:
paper never undoes a ceremony (the close always happens, the key is wiped, a verified split stays in force)
and never pretends to exist (each failed paper is named; the ledger records only what was signed; a signed
paper whose file could not be written is kept to be written elsewhere, the same bytes).

The same failing acknowledgement — the disk full when its file is written — is played through the TUI's
close-out screen (Pilot) and through a rehearsal, with the same outcome."""

from __future__ import annotations

import errno
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.documents import archive
from ceremony.errors import DocumentError, FlowError
from ceremony.flows import paperwork
from ceremony.flows.closeout import CloseOut, keep_papers
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.generation import Stage as GenerationStage
from ceremony.flows.rehearsal import example_script, parse_script, run_rehearsal
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

SPEC = KeySpec(KeyType.AES_256, "ZMK-CLOSE", "PIN zone master key", 365)
CUSTODIANS = ("cust1", "cust2", "cust3")


def _verified(cast, *, wipe: bool = False):
    """A generation whose every share was distributed and verified (the key still in memory)."""
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "close-out test")
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, tuple(cast.ids[c] for c in CUSTODIANS)))
    ceremony.generate()
    present = {}
    for number, name in enumerate(CUSTODIANS, start=1):
        me = present[number] = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"ENV-{number:03d}", "recorded")
        assert ceremony.verify_share(number, me, text)
    if wipe:
        ceremony.wipe()
    return ceremony, present


def _types(ledger: Ledger, ceremony_id: str) -> list[str]:
    return [e.type for e in paperwork.ceremony_events(ledger, ceremony_id)]


def _acknowledged(ledger: Ledger, ceremony_id: str) -> list[dict]:
    return [
        dict(e.payload)
        for e in paperwork.ceremony_events(ledger, ceremony_id)
        if e.type == "document.issued" and e.payload["kind"] == "acknowledgement"
    ]


def _disk_full_for_acknowledgements(monkeypatch) -> list[Path]:
    """Every acknowledgement file write fails as on a full disk (ENOSPC); other papers are written. Returns
    the paths that were refused."""
    refused: list[Path] = []
    real = archive.write_exclusive

    def write_exclusive(target: Path, data) -> Path:  # type: ignore[no-untyped-def]
        if Path(target).name.startswith("acknowledgement-"):
            refused.append(Path(target))
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, data)

    monkeypatch.setattr(archive, "write_exclusive", write_exclusive)
    return refused


def test_a_generation_close_out_wipes_acknowledges_closes_and_writes_every_paper(cast) -> None:
    ceremony, present = _verified(cast)
    closed = CloseOut.generation(cast.ledger, ceremony, present, location="Vault room 2").run()

    assert ceremony.stage is GenerationStage.CLOSED and closed.complete and closed.problems == ()
    types = _types(cast.ledger, ceremony.ceremony_id)
    # wipe, then each acknowledgement, then the close, then the minutes: in that order
    assert types[-6:] == ["key.wiped", *["document.issued"] * 3, "ceremony.closed", "document.issued"]
    assert closed.checkpoint == paperwork.closing_checkpoint_of(cast.ledger, ceremony.ceremony_id)
    assert closed.folder == archive.documents_folder(cast.ledger.path, ceremony.ceremony_id)
    names = [p.name for p in closed.written]
    assert names == [d.record.file_name for d in closed.documents]
    assert names[-1] == f"minutes-{ceremony.ceremony_id}.pdf" and len(names) == 4
    for path, document in zip(closed.written, closed.documents, strict=True):
        assert path.read_bytes() == document.pdf  # the file is the recorded paper
    assert closed.unwritten == ()


def test_an_acknowledgement_whose_file_cannot_be_written_never_stops_the_close(cast, monkeypatch) -> None:
    ceremony, present = _verified(cast)
    refused = _disk_full_for_acknowledgements(monkeypatch)
    closed = CloseOut.generation(cast.ledger, ceremony, present).run()

    # Closed, key wiped, the split in force: a verified split is never voided for paper.
    assert ceremony.stage is GenerationStage.CLOSED
    types = _types(cast.ledger, ceremony.ceremony_id)
    assert "ceremony.closed" in types and "ceremony.voided" not in types and "split.retired" not in types
    assert "key.wiped" in types
    # Nothing pretends: every failed file named; the signed forms kept, the minutes written.
    assert len(refused) == 3 and len(closed.problems) == 3
    assert all("not written" in p and "No space left on device" in p for p in closed.problems)
    assert [p.name for p in closed.written] == [f"minutes-{ceremony.ceremony_id}.pdf"]
    assert len(closed.unwritten) == 3 and not closed.complete
    # The kept forms are exactly the papers the ledger recorded: written elsewhere, no new signature.
    monkeypatch.undo()
    elsewhere = keep_papers(closed.unwritten, cast.ledger.path.parent / "usb-stick")
    recorded = {a["sha256"] for a in _acknowledged(cast.ledger, ceremony.ceremony_id)}
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in elsewhere} == recorded
    assert verify_ledger(cast.ledger.path).events == len(list(cast.ledger.events()))


def test_an_acknowledgement_that_cannot_be_issued_is_named_and_not_recorded(cast) -> None:
    ceremony, present = _verified(cast, wipe=True)
    wrong = {1: present[1], 2: present[3], 3: present[3]}  # share 2's form offered to the wrong custodian
    closed = CloseOut.generation(cast.ledger, ceremony, wrong).run()

    assert ceremony.stage is GenerationStage.CLOSED
    (problem,) = closed.problems
    assert (
        problem.startswith("acknowledgement of Cust3 (no. 2) not issued")
        and "signed by its custodian" in problem
    )
    # The ledger records only what was signed: no acknowledgement of share 2 (never acknowledged, until one
    # is issued on the closed ceremony).
    subjects = [a["subject"] for a in _acknowledged(cast.ledger, ceremony.ceremony_id)]
    assert [s.split(" - ")[0] for s in subjects] == ["share 1 of 3", "share 3 of 3"]
    again = paperwork.issue_acknowledgement_for(
        cast.ledger, ceremony.ceremony_id, ceremony.split_id, 2, present[2], ceremony.witness
    )
    assert again.record.subject.startswith("share 2 of 3")


def test_the_close_out_refuses_to_start_while_a_share_is_unverified(cast) -> None:
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "too early")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    ceremony.generate()
    before = len(list(cast.ledger.events()))
    with pytest.raises(FlowError, match="still to verify"):
        CloseOut.generation(cast.ledger, ceremony, {}).run()
    assert len(list(cast.ledger.events())) == before  # nothing happened
    ceremony.void("test over")


def test_a_failed_close_is_raised_and_a_second_try_issues_no_form_twice(cast, monkeypatch) -> None:
    ceremony, present = _verified(cast)
    closing = CloseOut.generation(cast.ledger, ceremony, present)
    real_close = ceremony.close
    calls = []

    def close_once_failing(checkpoint: str | None = None) -> None:
        calls.append(checkpoint)
        if len(calls) == 1:
            raise FlowError("the ledger could not be written (test)")
        real_close(checkpoint)

    monkeypatch.setattr(ceremony, "close", close_once_failing)
    with pytest.raises(FlowError, match="could not be written"):
        closing.run()
    assert len(_acknowledged(cast.ledger, ceremony.ceremony_id)) == 3
    closed = closing.run()
    assert closed.complete and len(_acknowledged(cast.ledger, ceremony.ceremony_id)) == 3
    assert ceremony.stage is GenerationStage.CLOSED


def test_a_retirement_close_out_closes_and_writes_its_minutes(cast) -> None:
    zmk, _ = _verified(cast)
    CloseOut.generation(cast.ledger, zmk, {}).run()
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    retiring = RetirementCeremony.start(cast.ledger, admin, witness, "end of life", location="Vault room 2")
    retiring.record_preflight({"taken_at": datetime.now(UTC).isoformat()}, [])
    retiring.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD.value, "")
    closed = CloseOut.retirement(cast.ledger, retiring).run()
    assert closed.complete and [p.name for p in closed.written] == [f"minutes-{retiring.ceremony_id}.pdf"]
    assert closed.checkpoint == paperwork.closing_checkpoint_of(cast.ledger, retiring.ceremony_id)


# --- the same failing acknowledgement, through the TUI and through a rehearsal ------------------------------
def _outcome(ledger_path: Path, ceremony_id: str) -> dict:
    """What the ledger says became of a ceremony whose acknowledgement files could not be written."""
    with Ledger.open(ledger_path, read_only=True) as ledger:
        types = _types(ledger, ceremony_id)
        return {
            "closed": "ceremony.closed" in types,
            "voided": "ceremony.voided" in types,
            "split retired": "split.retired" in types,
            "key wiped": "key.wiped" in types,
            "acknowledgements recorded": len(_acknowledged(ledger, ceremony_id)),
            "minutes recorded": sum(
                1
                for e in paperwork.ceremony_events(ledger, ceremony_id)
                if e.type == "document.issued" and e.payload["kind"] == "minutes"
            ),
            "closing checkpoint is the recorded one": paperwork.closing_checkpoint_of(ledger, ceremony_id)
            == next(
                paperwork.recorded_closing_checkpoint(e.record)
                for e in paperwork.ceremony_events(ledger, ceremony_id)
                if e.type == "ceremony.closed"
            ),
        }


EXPECTED = {
    "closed": True,
    "voided": False,
    "split retired": False,
    "key wiped": True,
    "acknowledgements recorded": 3,
    "minutes recorded": 1,
    "closing checkpoint is the recorded one": True,
}


async def test_disk_full_at_an_acknowledgement_through_the_tui(tmp_path: Path, monkeypatch) -> None:
    from tests.tui.gen_cast import make_ledger, type_into, wait_for
    from tests.tui.test_generation_screens import (
        app_for,
        distribute,
        generate,
        plan_split,
        through_auth,
        through_key_details,
        through_preflight,
        verify_all,
    )

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = app_for(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate(pilot, app)
        shares = await distribute(pilot, app, ["cust1", "cust2", "cust3"], ["DF-1", "DF-2", "DF-3"])
        await verify_all(pilot, app, shares)
        screen = app.screen
        refused = _disk_full_for_acknowledgements(monkeypatch)
        await type_into(pilot, screen.query_one("#location", Input), "Training room")
        await pilot.press("enter")
        await pilot.press("enter")  # wipe and close
        await wait_for(pilot, lambda: screen.query_one("#home", Button).display, timeout=30)
        status = str(screen.query_one("#status", Static).render())
        shown = str(screen.query_one("#checkpoint", Static).render())
    assert len(refused) == 3
    assert "No space left on device" in status and "acknowledgement-01-" in status
    assert "Ceremony closed" in shown
    with Ledger.open(path, read_only=True) as ledger:
        ceremony_id = next(
            str(e.payload["ceremony_id"]) for e in ledger.events() if e.type == "ceremony.closed"
        )
    assert _outcome(path, ceremony_id) == EXPECTED
    folder = archive.documents_folder(path, ceremony_id)
    assert sorted(p.name for p in folder.iterdir()) == [f"minutes-{ceremony_id}.pdf"]


def test_disk_full_at_an_acknowledgement_through_a_rehearsal(tmp_path: Path, monkeypatch) -> None:
    script = parse_script(example_script("2of3").replace('kdf = "production"', 'kdf = "fast"'))
    assert script.preflight == "record-only"
    refused = _disk_full_for_acknowledgements(monkeypatch)
    out = tmp_path / "papers"
    with pytest.raises(DocumentError, match="was closed") as stopped:
        run_rehearsal(script, tmp_path / "rehearsal.sqlite3", out)
    assert len(refused) == 3 and "No space left on device" in str(stopped.value)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outcome"] == "closed" and len(manifest["problems"]) == 3
    # The manifest lists only the files written: no acknowledgement, the minutes.
    kinds = [d["kind"] for d in manifest["documents"]]
    assert "acknowledgement" not in kinds and kinds[-1] == "minutes"
    assert not (out / "acknowledgements").exists() or not any((out / "acknowledgements").iterdir())
    assert _outcome(tmp_path / "rehearsal.sqlite3", manifest["ceremony_id"]) == EXPECTED
