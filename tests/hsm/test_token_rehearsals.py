"""Rehearsals that reach a real PKCS#11 token (SoftHSM2, issue 16): the shipped ``recover-pkcs11`` example
loads the recovered TEST key into the token, checked there by the token's own check value; a generation
whose ``[key.token]`` draws the key's bytes from the token's generator (PCI PIN 5-1) records the token."""

from __future__ import annotations

import json
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from ceremony.flows.rehearsal import (
    example_script,
    parse_lifecycle_script,
    parse_script,
    run_lifecycle,
    run_rehearsal,
)
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from tests.hsm.softhsm import softhsm_token


def fast(name: str) -> str:
    return example_script(name).replace('kdf = "production"', 'kdf = "fast"')


def _events(path: Path, event_type: str) -> list:
    with Ledger.open(path, read_only=True) as ledger:
        return [e for e in ledger.events() if e.type == event_type]


def _objects(token, label: str) -> list:
    lib = pkcs11.lib(token.module)
    (tok,) = [t for t in lib.get_tokens() if t.label == token.label]
    with tok.open(user_pin=token.pin) as session:
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}))
        return [(o[Attribute.SENSITIVE], o[Attribute.EXTRACTABLE]) for o in found]


def test_recover_pkcs11_example_loads_the_key_and_records_the_token(tmp_path: Path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("3of5")), ledger, tmp_path / "papers")
    with softhsm_token(tmp_path, label="CEREMONY-REHEARSAL", pin="1234") as token:
        text = fast("recover-pkcs11").replace('"/usr/lib/softhsm/libsofthsm2.so"', json.dumps(token.module))
        result = run_lifecycle(parse_lifecycle_script(text), ledger, tmp_path / "load", base=tmp_path)
        assert result.outcome == "completed" and result.as_expected, result
        assert _objects(token, "ZMK-REHEARSAL-3OF5") == [(True, False)]
    (loaded,) = _events(ledger, "key.loaded")
    p = loaded.payload
    assert p["token_label"] == "CEREMONY-REHEARSAL" and p["token_manufacturer"].startswith("SoftHSM")
    assert p["token_serial"] and p["token_firmware"] and p["token_model"]
    assert p["mechanism"] == "unwrap-0x210A" and "sensitive" in p["attributes"]
    assert "extractable" not in p["attributes"]
    (registered,) = [e for e in _events(ledger, "key.registered") if e.payload["key_id"] == result.key_id]
    assert p["key_kcv_hex"] == registered.payload["kcv_hex"]
    if p["check_source"] == "token-cmac":  # computed inside the token with the registered method
        assert p["token_check_value_hex"] == registered.payload["kcv_hex"]
    assert "1234" not in json.dumps(p)  # the PIN is never recorded
    verify_ledger(ledger, [result.closing_checkpoint])
    # The minutes say where the key went.
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert any(d["kind"] == "minutes" for d in manifest["documents"])


def test_a_wrong_pin_stops_the_rehearsal_and_the_key_is_wiped_not_loaded(tmp_path: Path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("3of5")), ledger, tmp_path / "papers")
    with softhsm_token(tmp_path, label="CEREMONY-REHEARSAL", pin="1234") as token:
        text = fast("recover-pkcs11").replace('"/usr/lib/softhsm/libsofthsm2.so"', json.dumps(token.module))
        text = text.replace('pin = "1234"', 'pin = "9999"')
        from ceremony.errors import TokenError

        with pytest.raises(TokenError) as caught:
            run_lifecycle(parse_lifecycle_script(text), ledger, tmp_path / "load", base=tmp_path)
        assert "9999" not in str(caught.value)
        assert _objects(token, "ZMK-REHEARSAL-3OF5") == []
    assert _events(ledger, "key.loaded") == []
    assert _events(ledger, "ceremony.voided")  # the recovery was voided: key wiped


def test_a_generation_can_draw_its_key_from_the_token_generator(tmp_path: Path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    with softhsm_token(tmp_path, label="CEREMONY-REHEARSAL", pin="1234") as token:
        text = fast("3of5").replace(
            "\n[split]",
            f'\n[key.token]\nmodule = {json.dumps(token.module)}\ntoken = "CEREMONY-REHEARSAL"\n'
            'pin = "1234"\npin_entered_by = "R0101"\n\n[split]',
            1,
        )
        result = run_rehearsal(parse_script(text), ledger, tmp_path / "papers")
    assert result.kcv  # closed: a generation rehearsal raises unless it completes
    (registered,) = _events(ledger, "key.registered")
    p = registered.payload
    assert p["random_source"] == "token-rng" and p["token_label"] == "CEREMONY-REHEARSAL"
    assert p["token_manufacturer"].startswith("SoftHSM") and p["token_firmware"]
    assert "1234" not in json.dumps(p)
    verify_ledger(ledger, [result.closing_checkpoint])
    from pypdf import PdfReader

    manifest = json.loads((tmp_path / "papers" / "manifest.json").read_text())
    (minutes,) = [d for d in manifest["documents"] if d["kind"] == "minutes"]
    pages = PdfReader(tmp_path / "papers" / minutes["path"]).pages
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in pages)
    assert "from the random generator of token CEREMONY-REHEARSAL" in text


def test_the_default_generation_records_no_token(tmp_path: Path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("2of3")), ledger, tmp_path / "papers")
    (registered,) = _events(ledger, "key.registered")
    assert "token_label" not in registered.payload and "random_source" not in registered.payload
