"""Cold start to the main menu (issue 14): the ledger is read — and checked — once, and shared by who is
enrolled, the scan for unfinished ceremonies and the attention line; what the menu does not show is not
imported to show it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Static

from ceremony.ledger import replay, store
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens import main_menu
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, passphrase, wait_for


async def test_the_start_reads_the_ledger_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    full_reads: list[int] = []
    real_stream = replay.stream_events

    def counting(conn, state, **options):  # type: ignore[no-untyped-def]
        if state.last_seq == 0:  # a read from the first event: the whole ledger
            full_reads.append(1)
        return real_stream(conn, state, **options)

    monkeypatch.setattr(replay, "stream_events", counting)
    monkeypatch.setattr(store, "stream_events", counting)
    reads_before_attention: list[int] = []
    real_attention = main_menu.attention_text

    def attention(ledger, now=None):  # type: ignore[no-untyped-def]
        reads_before_attention.append(len(full_reads))
        return real_attention(ledger, now)

    monkeypatch.setattr(main_menu, "attention_text", attention)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu" and bool(reads_before_attention))
        # Who is enrolled (first run or menu?), the unfinished-ceremony scan, the card-file sweep: one read.
        assert reads_before_attention == [1]
        shown = app.screen.query_one("#menu-attention", Static)
        ledger = app.context.open()
        assert ledger is not None
        assert str(shown.render()) == real_attention(ledger).plain  # filled after the first frame


async def test_the_people_follow_an_append(tmp_path: Path) -> None:
    """The shared read is per ledger head: after a deactivation, the same open ledger no longer lists the
    leaver as active (not the read from before the append)."""
    from ceremony.crypto.secret import SecretBytes
    from ceremony.flows.presence import Presence
    from ceremony.ledger.participants import deactivate

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        ledger = app.context.open()
        assert ledger is not None
        assert ids["cust1"] in {p.person_id for p in app.context.people()}
        presence = Presence(ledger)

        def present(name: str, role: str):  # type: ignore[no-untyped-def]
            return presence.authenticate(ids[name], SecretBytes(passphrase(name).encode()), role)

        signers = [present("sophie", "security_officer"), present("walter", "witness")]
        deactivate(ledger, ids["cust1"], "left", [s.person_id for s in signers], signers)
        assert ids["cust1"] not in {p.person_id for p in app.context.people()}
        assert ids["cust1"] in {p.person_id for p in app.context.people(active=False)}


def test_the_tui_imports_no_preflight_and_no_flow_engine(tmp_path: Path) -> None:
    """The air-gap checks and the flows' recorder are imported when used, not to paint the main menu."""
    code = (
        "import json, sys; import ceremony.tui.app, ceremony.tui.screens.main_menu; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ceremony.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(json.loads(result.stdout))
    assert "ceremony.tui.app" in modules
    assert not {m for m in modules if m.startswith("ceremony.preflight")}
    assert "ceremony.flows.common" not in modules
    assert "ceremony.tui.screens.gen_session" not in modules
