"""A recovery whose output is a TR-31 key block (issue 16), end to end on a real rehearsal ledger: the
shipped ``recover-tr31`` example, its block opened by an independent implementation (psec) under the KBPK
the test forms itself from the script's components, the ledger record, the manifest, and the refusals a
key block output must give before any envelope is opened."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import psec.tr31
import pytest

from ceremony.crypto import tr31
from ceremony.crypto.kcv import aes_kcv
from ceremony.errors import CustodyViolationError, KeyBlockError
from ceremony.flows.rehearsal import (
    example_script,
    parse_lifecycle_script,
    parse_script,
    run_lifecycle,
    run_rehearsal,
)
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def fast(name: str) -> str:
    return example_script(name).replace('kdf = "production"', 'kdf = "fast"')


def _kbpk(text: str) -> bytes:
    parts = [bytes.fromhex(p["hex"]) for p in tomllib.loads(text)["output"]["kbpk_components"]]
    out = bytearray(len(parts[0]))
    for part in parts:
        out = bytearray(a ^ b for a, b in zip(out, part, strict=True))
    return bytes(out)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("tr31")
    run_rehearsal(parse_script(fast("3of5")), base / "rehearsal.sqlite3", base / "papers")
    return base


def _run(base: Path, text: str, label: str):
    out = base / label
    return run_lifecycle(parse_lifecycle_script(text), base / "rehearsal.sqlite3", out, base=base)


def test_recover_tr31_example_writes_a_block_psec_opens_to_the_registered_key(generated: Path) -> None:
    text = fast("recover-tr31")
    result = _run(generated, text, "tr31")
    assert result.outcome == "completed" and result.as_expected, result
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    (entry,) = [d for d in manifest["documents"] if d["kind"] == "key_block"]
    raw = (result.out_dir / entry["path"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    block = raw.decode("ascii").strip()
    kbpk = _kbpk(text)
    # An independent implementation opens it: the key inside has the registered KCV.
    header, key = psec.tr31.unwrap(kbpk, block)
    with Ledger.open(generated / "rehearsal.sqlite3", read_only=True) as ledger:
        events = list(ledger.events())
    registered = next(
        e for e in events if e.type == "key.registered" and e.payload["key_id"] == result.key_id
    )
    assert aes_kcv(key).value.hex() == registered.payload["kcv_hex"]
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == (
        "D",
        "K0",
        "A",
        "B",
    )
    assert header.exportability == "N" and header.blocks["KS"] == "00604B120F9292800000"
    # The ledger record: the header as written, both KCVs, the block's digest; custody of the KBPK.
    (made,) = [e for e in events if e.type == "key.block_exported" and e.payload["key_id"] == result.key_id]
    assert made.payload["header"] == block[: tr31.header_length(block)]
    assert made.payload["block_sha256"] == hashlib.sha256(block.encode()).hexdigest()
    assert made.payload["block_sha256"] == hashlib.sha256(raw).hexdigest()  # sha256sum of the file itself
    assert made.payload["kbpk_kcv_hex"] == aes_kcv(kbpk).value.hex()
    assert made.payload["key_kcv_hex"] == registered.payload["kcv_hex"]
    assert len(made.payload["kbpk_custodians"]) == 3
    entered = [
        e for e in events if e.type == "kbpk.component_entered" and e.payload["key_id"] == result.key_id
    ]
    assert [e.payload["component_number"] for e in entered] == [1, 2, 3]
    verify_ledger(generated / "rehearsal.sqlite3", [result.closing_checkpoint])
    # No KBPK component and no key in any file written.
    for path in result.out_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert kbpk.hex().upper().encode() not in data.upper()
            assert key not in data


def test_a_tampered_block_is_refused_by_both_implementations(generated: Path) -> None:
    text = fast("recover-tr31")
    result = _run(generated, text, "tr31-tamper")
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    (entry,) = [d for d in manifest["documents"] if d["kind"] == "key_block"]
    block = (result.out_dir / entry["path"]).read_text().strip()
    flipped = block[:-1] + ("0" if block[-1] != "0" else "1")
    with pytest.raises(KeyBlockError, match="does not verify"):
        tr31.unwrap(_kbpk(text), flipped)
    with pytest.raises(Exception, match=r"(?i)mac"):
        psec.tr31.unwrap(_kbpk(text), flipped)


def test_a_forbidden_header_is_refused_before_any_envelope_is_opened(generated: Path) -> None:
    text = (
        fast("recover-tr31")
        .replace('mode_of_use = "B"', 'mode_of_use = "X"')
        .replace('key_usage = "K0"', 'key_usage = "P0"')
    )
    result = _run(generated, text.replace('expect = "completed"', 'expect = "refused: key block"'), "bad")
    assert result.outcome == "refused: key block" and result.as_expected, result
    assert "mode of use X is not allowed for key usage P0" in result.steps[0].message
    assert result.ceremony_id == ""  # refused before the ceremony started: nothing was recorded


def test_two_kbpk_custodians_for_a_3_of_5_key_are_refused_by_the_custody_rule(generated: Path) -> None:
    text = fast("recover-tr31")
    cut = text.index('[[output.kbpk_components]]\ncustodian = "R0203"')
    end = text.index("# The shares presented")
    short = text[:cut] + text[end:]
    result = _run(generated, short.replace('expect = "completed"', 'expect = "refused: custody rule"'), "few")
    assert result.outcome == "refused: custody rule" and result.as_expected, result
    assert result.steps[0].error == CustodyViolationError.__name__
    assert "key block output is refused" in result.steps[0].message


# --- a key block received from elsewhere, checked in a ceremony ------------------------------------------
def _check_script(
    base: Path, block: Path, *, verdict: str = "verified", tamper: bool = False, components: str | None = None
) -> str:
    """A key_block_check script on the 3of5 key of ``base``, its KBPK = the recover-tr31 example's."""
    example = fast("recover-tr31")
    head = example[: example.index("# The output, chosen in advance")]
    head = head.replace('kind = "recovery"', 'kind = "key_block_check"').replace(
        "Rehearsal: recover the 3-of-5 zone master key as a TR-31 block for HSM-2",
        "Rehearsal: check the TR-31 block received for HSM-2",
    )
    parts = components or example[example.index("[[output.kbpk_components]]") : example.index("# The shares")]
    parts = parts.replace("[[output.kbpk_components]]", "[[check.kbpk_components]]")
    return (
        head
        + f'[check]\nblock = "{block}"\nkbpk_label = "HSM-2 TR-31 KBPK (rehearsal)"\n'
        + f'verdict = "{verdict}"\ntamper = {"true" if tamper else "false"}\n\n'
        + parts
    )


def _made_block(generated: Path) -> Path:
    result = _run(generated, fast("recover-tr31"), f"made-{len(list(generated.iterdir()))}")
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    (entry,) = [d for d in manifest["documents"] if d["kind"] == "key_block"]
    return result.out_dir / entry["path"]


def _minutes_text(out_dir: Path) -> str:
    from pypdf import PdfReader

    manifest = json.loads((out_dir / "manifest.json").read_text())
    (entry,) = [d for d in manifest["documents"] if d["kind"] == "minutes"]
    reader = PdfReader(out_dir / entry["path"])
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _checked(generated: Path) -> list:
    with Ledger.open(generated / "rehearsal.sqlite3", read_only=True) as ledger:
        return [e for e in ledger.events() if e.type == "key_block.checked"]


def test_a_received_block_is_verified_under_the_kbpk_typed_in_the_room(generated: Path) -> None:
    block = _made_block(generated)
    result = _run(generated, _check_script(generated, block), "check-ok")
    assert result.outcome == "completed" and result.as_expected, result
    last = _checked(generated)[-1]
    assert last.payload["verdict"] == "verified"
    assert last.payload["found_kcv_hex"] == last.payload["key_kcv_hex"]
    assert last.payload["block_sha256"] == hashlib.sha256(block.read_text().strip().encode()).hexdigest()
    verify_ledger(generated / "rehearsal.sqlite3", [result.closing_checkpoint])
    minutes = _minutes_text(result.out_dir)
    assert "Key block check rehearsal" in minutes and "VERIFIED: its MAC verifies under the KBPK" in minutes


def test_a_tampered_received_block_is_recorded_as_mac_failed(generated: Path) -> None:
    block = _made_block(generated)
    text = _check_script(generated, block, verdict="mac_failed", tamper=True)
    result = _run(generated, text, "check-tampered")
    assert result.outcome == "completed" and result.as_expected, result
    last = _checked(generated)[-1]
    assert last.payload["verdict"] == "mac_failed" and "found_kcv_hex" not in last.payload


def test_a_block_carrying_another_key_is_a_substitution(generated: Path, tmp_path: Path) -> None:
    """A block made under the same KBPK but carrying some other AES-256 key: the MAC verifies, the KCV
    does not — the check names it a substitution (PCI DSS 3.7.7) and records the KCV found."""
    kbpk = _kbpk(fast("recover-tr31"))
    other = bytes(range(32))
    forged = tr31.wrap(kbpk, tr31.Header("D", "K0", "A", "B"), other)
    path = tmp_path / "forged.tr31"
    path.write_text(forged + "\n")
    result = _run(generated, _check_script(generated, path, verdict="kcv_mismatch"), "check-forged")
    assert result.outcome == "completed" and result.as_expected, result
    last = _checked(generated)[-1]
    assert last.payload["verdict"] == "kcv_mismatch"
    assert last.payload["found_kcv_hex"] == aes_kcv(other).value.hex() != last.payload["key_kcv_hex"]
    assert "it opens to another key" in _minutes_text(result.out_dir)


def test_the_verdict_is_checked_against_the_script(generated: Path) -> None:
    block = _made_block(generated)
    result = _run(generated, _check_script(generated, block, verdict="mac_failed"), "check-expect")
    assert result.outcome == "completed" and not result.as_expected
    assert result.steps[-1].result == "verified"


def test_two_kbpk_custodians_cannot_check_a_block_of_a_3_of_5_key(generated: Path) -> None:
    example = fast("recover-tr31")
    parts = example[example.index("[[output.kbpk_components]]") : example.index("# The shares")]
    two = parts[: parts.index('[[output.kbpk_components]]\ncustodian = "R0203"')]
    block = _made_block(generated)
    text = _check_script(generated, block, components=two).replace(
        'expect = "completed"', 'expect = "refused: custody rule"'
    )
    result = _run(generated, text, "check-two")
    assert result.outcome == "refused: custody rule" and result.as_expected, result


# --- a generation whose key goes straight to its HSM as a key block ---------------------------------------
def _generation_with_block(components: str | None = None, **header: str) -> str:
    example = fast("recover-tr31")
    parts = components or example[example.index("[[output.kbpk_components]]") : example.index("# The shares")]
    fields = {"key_usage": '"K0"', "mode_of_use": '"B"', **header}
    table = '[key_block]\nkbpk_label = "HSM-2 TR-31 KBPK (rehearsal)"\n' + "".join(
        f"{k} = {v}\n" for k, v in fields.items()
    )
    text = fast("3of5").replace('label = "BDK-REHEARSAL-3OF5"', 'label = "ZMK-STRAIGHT-TO-HSM"')
    # the 3of5 script's own custodians bring the KBPK's components
    for old, new in (("R0201", "R0103"), ("R0202", "R0104"), ("R0203", "R0105")):
        parts = parts.replace(f'"{old}"', f'"{new}"')
    return text.rstrip() + "\n\n" + table + "\n" + parts.replace("[[output.", "[[key_block.")


def test_a_generation_can_send_its_new_key_straight_to_the_hsm_as_a_key_block(tmp_path: Path) -> None:
    text = _generation_with_block()
    ledger = tmp_path / "rehearsal.sqlite3"
    result = run_rehearsal(parse_script(text), ledger, tmp_path / "papers")
    manifest = json.loads((tmp_path / "papers" / "manifest.json").read_text())
    (entry,) = [d for d in manifest["documents"] if d["kind"] == "key_block"]
    block = (tmp_path / "papers" / entry["path"]).read_text().strip()
    header, key = psec.tr31.unwrap(_kbpk(fast("recover-tr31")), block)
    assert aes_kcv(key).hex == result.kcv and header.key_usage == "K0"
    with Ledger.open(ledger, read_only=True) as opened:
        types = [e.type for e in opened.events()]
        planned = next(e for e in opened.events() if e.type == "ceremony.planned")
    # made before the key was wiped, planned (and custody-checked) with the split
    assert types.index("key.block_exported") < types.index("key.wiped")
    assert planned.payload["kbpk_label"] == "HSM-2 TR-31 KBPK (rehearsal)"
    # its transmittal form is signed and listed like the recovery's
    (paper,) = [d for d in manifest["documents"] if d["kind"] == "key_block_transmittal"]
    assert (tmp_path / "papers" / paper["path"]).read_bytes().startswith(b"%PDF")
    verify_ledger(ledger, [result.closing_checkpoint])


def test_a_generation_key_block_below_the_quorum_is_refused_before_the_key_exists(tmp_path: Path) -> None:
    example = fast("recover-tr31")
    parts = example[example.index("[[output.kbpk_components]]") : example.index("# The shares")]
    two = parts[: parts.index('[[output.kbpk_components]]\ncustodian = "R0203"')]
    with pytest.raises(CustodyViolationError, match="key block output is refused"):
        run_rehearsal(parse_script(_generation_with_block(two)), tmp_path / "r.sqlite3", tmp_path / "p")
    with Ledger.open(tmp_path / "r.sqlite3", read_only=True) as opened:
        assert not [e for e in opened.events() if e.type == "key.registered"]


def test_a_generation_key_block_with_a_forbidden_header_is_refused_at_the_plan(tmp_path: Path) -> None:
    text = _generation_with_block(key_usage='"P0"', mode_of_use='"X"')
    with pytest.raises(KeyBlockError, match="mode of use X is not allowed"):
        run_rehearsal(parse_script(text), tmp_path / "r.sqlite3", tmp_path / "p")


def test_the_custody_report_names_the_key_block_route(generated: Path) -> None:
    """A key block made here is a route to the key: the custody report names it, by its KBPK."""
    from ceremony.reports import build_report
    from ceremony.reports.model import Filters, read_facts
    from ceremony.reports.render import to_text

    result = _run(generated, fast("recover-tr31"), "report-route")
    with Ledger.open_for_reading(generated / "rehearsal.sqlite3") as ledger:
        facts = read_facts(ledger)
    assert facts.last_time is not None
    report = build_report("custody", facts, Filters(key_id=result.key_id), facts.last_time)
    flat = " ".join(to_text(report).split())
    assert "TR-31 key block + KBPK components (KBPK 'HSM-2 TR-31 KBPK (rehearsal)'" in flat
