"""Recovery, re-share and retirement rehearsals end to end (issue 7): scripts that take their shares from a
generation rehearsal's output folder — the typed lines read back from the real share card PDFs — and drive
the real engines on a real rehearsal ledger.

One 3-of-5 generation (fast KDF) serves the recovery scenarios of this module, plus a 2-of-3 of another
key for the "share of another key" case; the re-share / retirement story gets its own generation because
it retires the key. After each run: the ledger verifies, the outputs are in the out folder and listed in
the manifest, and no key, share or KEK material is found outside the cards.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ceremony.crypto import recipes
from ceremony.crypto.codec import HEADER_GROUPS, decode_share, encode_share, share_lines, vault_base64
from ceremony.crypto.kcv import KeyCheckValue, aes_kcv
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Share
from ceremony.crypto.wrap import unwrap_key
from ceremony.crypto.xor import combine_components, xor_components
from ceremony.errors import InputError
from ceremony.flows.rehearsal import (
    LIFECYCLE_EXAMPLES,
    LifecycleResult,
    ScriptError,
    card_share_text,
    example_script,
    parse_any,
    parse_lifecycle_script,
    parse_script,
    read_share_source,
    run_lifecycle,
    run_rehearsal,
)
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

KEK_HEX = (
    "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
    "F0E1D2C3B4A5968778695A4B3C2D1E0F00112233445566778899AABBCCDDEEFF",
    "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A",
)  # the recover-3of5 example's rehearsal KEK components: three, the 3-of-5 key's quorum


def fast(name: str) -> str:
    text = example_script(name)
    assert 'kdf = "production"' in text
    return text.replace('kdf = "production"', 'kdf = "fast"')


def recovery_text(steps: str, *, name: str = "recover-3of5", **ceremony: str) -> str:
    """The shipped example with its [[steps]] replaced by ``steps`` and [ceremony] settings changed."""
    text = fast(name)
    head = text[: text.index("\n[[steps]]")]
    for setting, value in ceremony.items():
        lines = head.split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{setting} ="))
        lines[at] = f"{setting} = {value}"
        head = "\n".join(lines)
    return head + "\n" + steps


def shares(*numbers: int, **settings: str) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
    return "".join(f"[[steps]]\nshare = {n}\n{extra}\n" for n in numbers)


@dataclass
class World:
    base: Path
    ledger: Path
    papers: Path  # the 3-of-5 generation's output folder
    other: Path  # a 2-of-3 generation of another key, same ledger
    manifest: dict
    runs: list[Path] = field(default_factory=list)  # every lifecycle out folder, for the leak scan
    times: dict[str, float] = field(default_factory=dict)

    def run(self, text: str, label: str, **kwargs) -> LifecycleResult:
        out = self.base / f"out-{len(self.runs):02d}-{label}"
        self.runs.append(out)
        result = run_lifecycle(parse_lifecycle_script(text), self.ledger, out, base=self.base, **kwargs)
        verify_ledger(self.ledger, [result.closing_checkpoint])  # the ledger verifies after every run
        return result


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("lifecycle")
    ledger = base / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("3of5")), ledger, base / "papers")
    other = fast("2of3").replace('label = "ZMK-REHEARSAL-2OF3"', 'label = "OTHER-KEY-2OF3"')
    run_rehearsal(parse_script(other), ledger, base / "other")
    manifest = json.loads((base / "papers" / "manifest.json").read_text())
    return World(base, ledger, base / "papers", base / "other", manifest)


def _events(path: Path, event_type: str) -> list:
    with Ledger.open(path, read_only=True) as ledger:
        return [e for e in ledger.events() if e.type == event_type]


def _ceremony_types(path: Path, ceremony_id: str) -> list[str]:
    with Ledger.open(path, read_only=True) as ledger:
        return [e.type for e in ledger.events() if e.payload.get("ceremony_id") == ceremony_id]


def _registered(path: Path, key_id: str) -> tuple[KeyType, KeyCheckValue]:
    (event,) = [e for e in _events(path, "key.registered") if e.payload["key_id"] == key_id]
    kcv = KeyCheckValue.from_hex(str(event.payload["kcv_method"]), str(event.payload["kcv_hex"]))
    return KeyType(str(event.payload["key_type"])), kcv


def _kek():
    parts = [SecretBytes(bytes.fromhex(h)) for h in KEK_HEX]
    return xor_components(parts, KeyType.AES_256)


def _manifest(result: LifecycleResult) -> dict:
    return json.loads((result.out_dir / "manifest.json").read_text())


# --- recovery --------------------------------------------------------------------------------------------
def test_the_shipped_recovery_example_goes_as_its_comments_say(world: World) -> None:
    """Duplicate, tampered card, wrong envelope serial, too few: each refused by name; then rebuilt and
    wrapped. The report, the manifest and the ledger agree."""
    result = world.run(fast("recover-3of5"), "example")
    assert result.outcome == "completed" and result.as_expected
    got = [(s.action, s.share, s.result, s.reason) for s in result.steps]
    assert got == [
        ("present", 1, "accepted", ""),
        ("present", 3, "accepted", ""),
        ("present", 3, "refused", "duplicate"),
        ("present", 2, "refused", "commitment mismatch"),
        ("present", 4, "refused", "envelope incident"),
        ("rebuild", None, "refused", "below threshold"),
        ("present", 5, "accepted", ""),
        ("rebuild", None, "rebuilt", ""),
    ]
    assert [s.progress for s in result.steps][:3] == ["1 of 3", "2 of 3", "2 of 3"]
    # The refusals and the envelope incident are in the ledger (header fields only).
    refused = [e.payload["reason"] for e in _events(world.ledger, "recovery.share_refused")]
    assert refused[-3:] == ["DuplicateShareError", "BadShareError", "EnvelopeIncidentError"]
    incident = _events(world.ledger, "incident.recorded")[-1].payload
    assert incident["share_number"] == 4 and "TE-2026-9999" in incident["what"]
    report = (result.out_dir / "report.txt").read_text()
    assert "refused: duplicate" in report and "Everything as the script expected: yes" in report


def test_every_3_subset_rebuilds_and_the_wrapped_file_lands_in_the_out_folder(world: World) -> None:
    key_type, kcv = _registered(world.ledger, world.manifest["key_id"])
    subsets = list(itertools.combinations(range(1, 6), 3))
    assert len(subsets) == 10
    kek = _kek()
    for subset in subsets:
        started = time.perf_counter()
        result = world.run(recovery_text(shares(*subset)), "subset-" + "".join(map(str, subset)))
        world.times["3-of-5"] = world.times.get("3-of-5", 0.0) + (time.perf_counter() - started) / 10
        assert result.outcome == "completed" and result.as_expected, [s.message for s in result.steps]
        assert [s.share for s in result.steps if s.result == "accepted"] == list(subset)
        (doc,) = [d for d in _manifest(result)["documents"] if d["kind"] != "minutes"]
        assert doc["kind"] == "wrapped_key" and doc["path"].startswith("wrapped/")
        blob = (result.out_dir / doc["path"]).read_bytes()
        assert doc["sha256"] == hashlib.sha256(blob).hexdigest()
        wrapped = _events(world.ledger, "key.wrapped")[-1].payload
        assert wrapped["wrapped_sha256"] == doc["sha256"]  # the file is the one the ledger recorded
        assert wrapped["kek_kcv_hex"] == aes_kcv(kek.material).value.hex()
        assert _events(world.ledger, "key.recovered")[-1].payload["shares"] == list(subset)
        key = unwrap_key(kek, blob, key_type, kcv)  # RFC 5649, KCV checked inside
        key.wipe()
    kek.wipe()
    print(f"\nrecovery rehearsal 3-of-5 (fast KDF), mean of 10: {world.times['3-of-5']:.2f} s")


def test_two_shares_are_refused_and_the_ceremony_is_voided(world: World) -> None:
    steps = shares(1, 2) + '[[steps]]\nrebuild = true\nexpect = "refused: below threshold"\n'
    result = world.run(recovery_text(steps, expect='"voided"'), "two")
    assert result.outcome == "voided" and result.as_expected
    assert result.steps[-1].reason == "below threshold" and result.steps[-1].progress == "2 of 3"
    types = _ceremony_types(world.ledger, result.ceremony_id)
    assert "key.recovered" not in types and "key.wrapped" not in types
    assert types[-2:] == ["ceremony.voided", "document.issued"]  # voided, then its minutes (DESIGN §4.7)
    assert [d["kind"] for d in _manifest(result)["documents"]] == ["minutes"]
    # The same script expecting a completed recovery is reported as not as expected.
    wrong = world.run(recovery_text(steps), "two-wrong")
    assert wrong.outcome == "voided" and not wrong.as_expected


def test_a_share_of_another_key_is_refused_by_name(world: World) -> None:
    other = json.loads((world.other / "manifest.json").read_text())
    steps = shares(1) + shares(2, **{"from": '"other"', "expect": '"refused: another key"'}) + shares(2, 3)
    result = world.run(recovery_text(steps), "foreign")
    assert result.outcome == "completed" and result.as_expected
    foreign = result.steps[1]
    assert (foreign.result, foreign.reason, foreign.error) == ("refused", "another key", "ForeignShareError")
    assert other["key_id"] in foreign.message and "OTHER-KEY-2OF3" in foreign.message
    assert world.manifest["key_id"] in foreign.message
    refusal = _events(world.ledger, "recovery.share_refused")[-1].payload
    assert refusal["entered_key_id"] == other["key_id"]


def test_a_tampered_share_is_caught_by_its_commitment_at_entry(world: World) -> None:
    steps = shares(2, tamper="true", expect='"refused: commitment mismatch"') + shares(1, 2, 3)
    result = world.run(recovery_text(steps), "tampered-commitment")
    assert result.as_expected and result.outcome == "completed"
    assert result.steps[0].error == "BadShareError" and result.steps[0].progress == "0 of 3"


def test_a_tampered_share_fails_the_kcv_and_with_4_offered_is_identified(world: World) -> None:
    steps = (
        shares(1, 3)
        + shares(2, tamper="true")  # accepted: without the commitment check only the KCV can catch it
        + shares(4)
        + '[[steps]]\nrebuild = true\nexpect = "refused: kcv mismatch"\nbad_shares = [2]\n\n'
        + shares(1, 3, 4)  # progress was reset: enter again, without the bad share
    )
    result = world.run(recovery_text(steps, check_commitments="false"), "tampered-kcv")
    assert result.outcome == "completed" and result.as_expected, lifecycle_lines(result)
    rebuild = result.steps[4]
    assert (rebuild.reason, rebuild.bad_shares, rebuild.progress) == ("kcv mismatch", (2,), "0 of 3")
    failed = _events(world.ledger, "recovery.kcv_failed")[-1].payload
    assert failed["bad_shares"] == [2] and failed["offered"] == [1, 2, 3, 4]
    # Expecting another share to be named is reported as not as expected.
    wrong = steps.replace("bad_shares = [2]", "bad_shares = [3]")
    assert not world.run(recovery_text(wrong, check_commitments="false"), "tampered-wrong").as_expected


def lifecycle_lines(result: LifecycleResult) -> list[str]:
    return [f"{s.action} {s.share} {s.result} {s.reason} {s.message}" for s in result.steps]


def test_broken_seal_is_an_incident_and_components_output_lands_as_cards(world: World) -> None:
    key_type, kcv = _registered(world.ledger, world.manifest["key_id"])
    steps = shares(5, seal_intact="false", expect='"refused: envelope incident"') + shares(1, 2, 4)
    text = recovery_text(steps)
    head, _, rest = text.partition("[output]")
    text = (
        head
        + '[output]\nkind = "components"\ncustodians = ["R0201", "R0202", "R0203"]\n\n'
        + rest[rest.index("[[steps]]") :]
    )
    result = world.run(text, "components")
    assert result.outcome == "completed" and result.as_expected, lifecycle_lines(result)
    incident = _events(world.ledger, "incident.recorded")[-1].payload
    assert incident["share_number"] == 5 and "seal broken" in incident["what"]
    documents = _manifest(result)["documents"]
    docs = [d for d in documents if d["kind"] == "share_card"]
    assert [d["path"] for d in docs] == [
        "components/component-01-of-03-R0201.pdf",
        "components/component-02-of-03-R0202.pdf",
        "components/component-03-of-03-R0203.pdf",
    ]
    # The one close-out (as in the TUI): each component's custodian acknowledges it (PCI DSS 3.7.8), then
    # the close, then the minutes.
    assert [d["kind"] for d in documents[3:]] == ["acknowledgement"] * 3 + ["minutes"]
    assert [d["subject"].split(" - ")[0] for d in documents[3:6]] == [
        f"component {n} of 3" for n in (1, 2, 3)
    ]
    components = []
    for doc in docs:
        assert hashlib.sha256((result.out_dir / doc["path"]).read_bytes()).hexdigest() == doc["sha256"]
        components.append(decode_share(card_share_text(result.out_dir / doc["path"])))
    key = combine_components(components, key_type, kcv)  # the cards add up to the registered key
    key.wipe()
    issued = {e.payload["sha256"] for e in _events(world.ledger, "document.issued")}
    assert {d["sha256"] for d in docs} <= issued


def test_recovery_time_for_5_of_9(tmp_path) -> None:
    ledger = tmp_path / "r.sqlite3"
    run_rehearsal(parse_script(fast("5of9")), ledger, tmp_path / "papers")
    text = fast("recover-3of5")
    people = fast("5of9")
    # The 5-of-9 people (ids R0101..R0109) replace the example's custodians; KEK custodians stay.
    participants = people[people.index("[[participants]]") : people.index("[key]")]
    kek_people = text[text.index('[[participants]]\nname = "Sam Ortiz"') : text.index("# The output")]
    head = text[: text.index("# Everyone taking part")]
    body = text[text.index("# The output") : text.index("\n[[steps]]")]
    # A 5-of-9 key's quorum is 5: its KEK needs five custodians (DESIGN §3), two more than the example's.
    for n in (4, 5):
        kek_people += (
            f'[[participants]]\nname = "KEK custodian {n}"\nemployee_id = "R020{n}"\n'
            f'roles = ["custodian"]\npassphrase = "rehearsal: kek custodian {n}"\n\n'
        )
        body += f'\n[[output.kek_components]]\ncustodian = "R020{n}"\nhex = "{f"{n:02X}" * 32}"\n'
    script = head + participants + kek_people + body + "\n" + shares(9, 2, 7, 4, 5)
    started = time.perf_counter()
    result = run_lifecycle(parse_lifecycle_script(script), ledger, tmp_path / "rec", base=tmp_path)
    seconds = time.perf_counter() - started
    assert result.outcome == "completed" and result.as_expected, lifecycle_lines(result)
    assert [s.progress for s in result.steps[:5]] == [f"{k} of 5" for k in range(1, 6)]
    verify_ledger(ledger, [result.closing_checkpoint])
    print(f"\nrecovery rehearsal 5-of-9 (fast KDF): {seconds:.2f} s")


# --- re-share and retirement -----------------------------------------------------------------------------
def test_reshare_then_recover_with_the_new_shares_then_retire(tmp_path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    generated = run_rehearsal(parse_script(fast("3of5")), ledger, tmp_path / "papers")

    def run(text: str, out: str) -> LifecycleResult:
        result = run_lifecycle(parse_lifecycle_script(text), ledger, tmp_path / out, base=tmp_path)
        verify_ledger(ledger, [result.closing_checkpoint])
        return result

    reshared = run(fast("reshare"), "reshared")
    assert reshared.outcome == "completed" and reshared.as_expected, lifecycle_lines(reshared)
    assert reshared.kcv == generated.kcv  # the key did not change, only who holds it
    assert reshared.split_id != generated.split_id
    new = read_share_source(tmp_path / "reshared")
    assert (new.key_id, new.split_id, sorted(new.cards)) == (
        generated.key_id,
        reshared.split_id,
        [1, 2, 3, 4, 5],
    )
    (retired,) = [e.payload for e in _events(ledger, "split.retired")]
    assert retired["split_id"] == generated.split_id
    verified = [
        e.payload for e in _events(ledger, "share.verified") if e.payload.get("split_id") == new.split_id
    ]
    assert len(verified) == 5 and all(v["ok"] for v in verified)

    # The new shares rebuild the key (Ravi, R0106, now holds share 1); an old card is refused as retired.
    steps = shares(1) + shares(2, **{"from": '"papers"', "expect": '"refused: retired"'}) + shares(2, 3)
    recovered = run(recovery_text(steps, shares_from='"reshared"'), "recovered-new")
    assert recovered.outcome == "completed" and recovered.as_expected, lifecycle_lines(recovered)
    assert recovered.split_id == new.split_id and recovered.kcv == generated.kcv
    assert "retired" in recovered.steps[1].message
    # A recovery from the old folder does not even start: its split is retired.
    old = run(recovery_text(shares(1, 2, 3), expect='"refused: retired"'), "recovered-old")
    assert old.outcome == "refused: retired" and old.as_expected and old.ceremony_id == ""

    # Retire the key: every envelope returned by serial (one with a broken seal: an incident).
    gone = run(fast("retire").replace('shares_from = "papers"', 'shares_from = "reshared"'), "retired")
    assert gone.outcome == "completed" and gone.as_expected
    key_retired = _events(ledger, "key.retired")
    assert [e.payload["key_id"] for e in key_retired] == [generated.key_id]
    returned = sorted(
        e.payload["envelope_serial"]
        for e in _events(ledger, "envelope.returned") + _events(ledger, "envelope.destroyed")
    )
    assert returned == [f"TE-2026-000{n}" for n in range(1, 6)]
    # Intact envelopes are destroyed on record (issue 15); the broken seal is a return and an incident.
    assert [e.payload["seal_intact"] for e in _events(ledger, "envelope.returned")] == [False]
    # ... and the old shares and the new shares are refused from then on.
    for folder in ("papers", "reshared"):
        after = run(
            recovery_text(shares(2, 3, 4), shares_from=f'"{folder}"', expect='"refused: retired"'),
            f"after-{folder}",
        )
        assert after.outcome == "refused: retired" and after.as_expected
        assert "retired" in after.steps[0].message
    # Retiring it again is refused too.
    again = run(
        fast("retire").replace('expect = "completed"', 'expect = "refused: retired"'),
        "retired-again",
    )
    assert again.outcome == "refused: retired" and again.as_expected


# --- secrets ---------------------------------------------------------------------------------------------
def _needles(world: World) -> set[bytes]:
    cards = read_share_source(world.papers).cards
    shares_read: list[Share] = [decode_share(card_share_text(cards[n])) for n in sorted(cards)]
    key_type, kcv = _registered(world.ledger, world.manifest["key_id"])
    key = recipes.recover_key(shares_read[:3], key_type, kcv)
    kek = _kek()
    raws = [bytes(key.material.view()), bytes(kek.material.view())]
    raws += [bytes.fromhex(h) for h in KEK_HEX] + [bytes(s.data.view()) for s in shares_read]
    key.wipe()
    kek.wipe()
    needles: set[bytes] = set()
    for raw in raws:
        needles |= {raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw)}
    for share in shares_read:
        with encode_share(share) as typed, vault_base64(share) as b64:
            needles |= {bytes(typed.view()), bytes(b64.view())}
            for first, line in share_lines(typed):
                with line:
                    if first > HEADER_GROUPS and len(line) >= 11:
                        needles.add(bytes(line.view()))
    return needles


def test_no_key_share_or_kek_outside_the_cards(world: World) -> None:
    """After every recovery above: the ledger, its journal, the lifecycle out folders (except component
    cards) and the temp dir hold no key, share or KEK material — raw, hex, base64, typed."""
    from pypdf import PdfReader

    if not world.runs:
        world.run(fast("recover-3of5"), "for-scan")
    needles = _needles(world)
    files = [Path(str(world.ledger) + sfx) for sfx in ("", "-journal", "-wal", "-shm")]
    for out in world.runs:
        files += [p for p in out.rglob("*") if p.is_file() and not p.name.startswith("component-")]
    files += [p for p in Path(tempfile.gettempdir()).glob("*") if p.is_file() and os.access(p, os.R_OK)]
    scanned = 0
    for path in files:
        if not path.exists() or path.stat().st_size > 50_000_000:
            continue
        data = path.read_bytes()
        if path.suffix == ".pdf":
            data += "".join(page.extract_text() or "" for page in PdfReader(path).pages).encode()
        scanned += 1
        for needle in needles:
            assert needle not in data, f"key, share or KEK material found in {path.name}"
    assert scanned >= 3 * len(world.runs)  # report, manifest, README per run at least
    # The search finds what it looks for: a share card's text, read back, holds a body line needle.
    card_text = bytes(card_share_text(read_share_source(world.papers).cards[1]))
    assert any(needle in card_text for needle in needles)


# --- scripts ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LIFECYCLE_EXAMPLES)
def test_every_lifecycle_example_parses(name: str) -> None:
    script = parse_any(example_script(name))
    assert script.kdf == "production" and script.kind in ("recovery", "reshare", "retirement")
    assert script.shares_from == "papers"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('expect = "refused: duplicate"', 'expect = "maybe"'), "expect"),
        (("tamper = true", "tamper = 1"), "tamper"),
        (('kind = "wrapped"\nkek', 'kind = "email"\nkek'), "output"),
        (('custodian = "R0202"', 'custodian = "R9999"'), "R9999"),
        (("share = 5", "share = 5\ncolour = 1"), "colour"),
        (('kind = "recovery"', 'kind = "party"'), "kind"),
    ],
)
def test_lifecycle_script_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    text = fast("recover-3of5")
    assert change[0] in text
    with pytest.raises(ScriptError, match=message):
        parse_lifecycle_script(text.replace(*change, 1))


def test_a_generation_parser_names_a_lifecycle_script() -> None:
    with pytest.raises(ScriptError, match="recovery script"):
        parse_script(example_script("recover-3of5"))


def test_a_retirement_that_stops_midway_is_voided_not_left_open(tmp_path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("2of3")), ledger, tmp_path / "papers")
    text = fast("retire").replace('envelope = "TE-2026-0003"', 'envelope = "TE-2026-7777"')
    with pytest.raises(InputError, match="TE-2026-7777"):
        run_lifecycle(parse_lifecycle_script(text), ledger, tmp_path / "retired", base=tmp_path)
    with Ledger.open(ledger, read_only=True) as opened:
        types = [e.type for e in opened.events()]
    assert types[-2:] == ["ceremony.voided", "document.issued"]  # voided, then its minutes
    assert "key.retired" in types  # what was retired stays retired
    assert json.loads((tmp_path / "retired" / "manifest.json").read_text())["outcome"] == "voided"
    verify_ledger(ledger)
