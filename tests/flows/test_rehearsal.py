"""Rehearsal mode end to end: the shipped example scripts run on real ledger files into real folders.

Each rehearsal runs once per module (fast KDF); the tests then check what an operator and an auditor rely
on: the manifest, the share cards (rasterised and scanned back), the signatures, the ledger, and that no key
or share material escaped anywhere but the share cards.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.crypto import recipes
from ceremony.crypto.codec import HEADER_GROUPS, decode_share, encode_share, share_lines, vault_base64
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.documents.sign import validate_document
from ceremony.errors import (
    BelowThresholdError,
    InputError,
    PreflightBlockedError,
    RehearsalMixError,
    WrongPassphraseError,
)
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.presence import Presence
from ceremony.flows.rehearsal import (
    EXAMPLES,
    ScriptError,
    example_script,
    parse_script,
    run_rehearsal,
)
from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.preflight import covering, run_preflight


def fast(name: str) -> str:
    """An example script with the light KDF (rehearsal-only; keeps the suite quick)."""
    text = example_script(name)
    assert 'kdf = "production"' in text
    return text.replace('kdf = "production"', 'kdf = "fast"')


def decode_qr(pdf: bytes, work: Path) -> list[bytes]:
    """Rasterise page 1 at 150 dpi (pdftoppm) and read every QR code on it (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    src = work / "card.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(src), str(work / "card")],
        check=True,
    )
    image = Image.open(work / "card.png")
    found = [r.bytes for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    src.unlink()
    (work / "card.png").unlink()
    return found


@dataclass
class Run:
    name: str
    ledger_path: Path
    out: Path
    manifest: dict
    shares: list[Share]  # scanned back from the cards' QR codes


@pytest.fixture(scope="module", params=["2of3", "3of5", "xor3"])
def run(request, tmp_path_factory) -> Run:
    base = tmp_path_factory.mktemp(f"rehearsal-{request.param}")
    ledger_path, out = base / "rehearsal.sqlite3", base / "papers"
    result = run_rehearsal(parse_script(fast(request.param)), ledger_path, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ceremony_id"] == result.ceremony_id
    shares = []
    for doc in manifest["documents"]:
        if doc["kind"] == "share_card":
            codes = decode_qr((out / doc["path"]).read_bytes(), base)
            assert len(codes) == 1, doc["path"]
            shares.append(decode_share(bytearray(codes[0]), expected_split_id=manifest["split_id"]))
    return Run(request.param, ledger_path, out, manifest, shares)


def _events(path: Path, event_type: str) -> list:
    with Ledger.open(path, read_only=True) as ledger:
        return [e for e in ledger.events() if e.type == event_type]


def test_manifest_lists_every_document_with_its_sha256(run: Run) -> None:
    script = parse_script(fast(run.name))
    docs = run.manifest["documents"]
    kinds = [d["kind"] for d in docs]
    n = len(script.shares)
    assert (
        kinds.count("share_card") == n and kinds.count("acknowledgement") == n and kinds.count("minutes") == 1
    )
    for doc in docs:
        assert set(doc) == {"kind", "path", "sha256", "subject"}
        assert doc["sha256"] == hashlib.sha256((run.out / doc["path"]).read_bytes()).hexdigest()
    on_disk = {p.relative_to(run.out).as_posix() for p in run.out.rglob("*") if p.is_file()}
    assert on_disk - {d["path"] for d in docs} == {"manifest.json", "README.txt"}
    # The ledger recorded the same fingerprints (document.issued), so a paper can be traced to it.
    issued = {(e.payload["kind"], e.payload["sha256"]) for e in _events(run.ledger_path, "document.issued")}
    assert issued == {(d["kind"], d["sha256"]) for d in docs}
    assert "TEST" in (run.out / "README.txt").read_text()
    # Every paper says it belongs to a TEST key (PCI DSS 3.6.1.1), the share cards above all.
    from pypdf import PdfReader

    for doc in docs:
        text = "".join(p.extract_text() for p in PdfReader(run.out / doc["path"]).pages)
        assert "TEST KEY (rehearsal)" in " ".join(text.split()), doc["path"]


def test_share_cards_scan_back_and_any_threshold_subset_rebuilds_the_registered_key(run: Run) -> None:
    (key_event,) = _events(run.ledger_path, "key.registered")
    (split_event,) = _events(run.ledger_path, "split.created")
    kcv = KeyCheckValue.from_hex(str(key_event.payload["kcv_method"]), str(key_event.payload["kcv_hex"]))
    assert kcv.hex == run.manifest["kcv"]
    key_type = KeyType(str(key_event.payload["key_type"]))
    commitments = {int(n): bytes.fromhex(c) for n, c in split_event.payload["commitments"].items()}
    m = int(split_event.payload["threshold"])
    assert sorted(s.number for s in run.shares) == list(range(1, len(run.shares) + 1))
    for subset in itertools.combinations(run.shares, m):
        key = recipes.recover_key(list(subset), key_type, kcv, commitments)  # KCV checked inside
        assert len(key) == key_type.fixed_length
        key.wipe()
    with pytest.raises(BelowThresholdError):
        recipes.recover_key(run.shares[: m - 1], key_type, kcv)


def test_acknowledgements_and_minutes_are_signed_by_the_right_people(run: Run) -> None:
    with Ledger.open(run.ledger_path, read_only=True) as ledger:
        enrolled = {p.name: p.certificate for p in people.participants(ledger)}
    certs = list(enrolled.values())
    script = parse_script(fast(run.name))
    custodian_names = [script.person(s.custodian).name for s in script.shares]
    acks = [d for d in run.manifest["documents"] if d["kind"] == "acknowledgement"]
    witness = script.person(script.witness).name
    for number, doc in enumerate(acks, start=1):
        status, by_witness = validate_document((run.out / doc["path"]).read_bytes(), certs)
        assert status.ok and status.field_name == "Custodian"
        assert status.signer == custodian_names[number - 1]
        # The witness who watched the share handed over signs the acknowledgement too (issue 14).
        assert by_witness.ok and (by_witness.field_name, by_witness.signer) == ("Witness", witness)
        cert = enrolled[custodian_names[number - 1]]
        assert status.signer_cert_sha256 == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    (minutes,) = [d for d in run.manifest["documents"] if d["kind"] == "minutes"]
    statuses = validate_document((run.out / minutes["path"]).read_bytes(), certs)
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Administrator", script.person(script.administrator).name, True),
        ("Witness", script.person(script.witness).name, True),
    ]
    # A stranger's certificate is not trusted: the same minutes do not validate against it alone.
    stranger = next(c for n, c in enrolled.items() if n == custodian_names[0])
    assert not any(s.ok for s in validate_document((run.out / minutes["path"]).read_bytes(), [stranger]))


def test_ledger_verifies_and_is_a_rehearsal_ledger_with_a_test_key(run: Run) -> None:
    result = verify_ledger(run.ledger_path, [run.manifest["closing_checkpoint"]])
    assert result.ledger_id == run.manifest["ledger_id"]
    with Ledger.open(run.ledger_path, read_only=True) as ledger:
        assert ledger.info.rehearsal is True
        events = list(ledger.events())
    assert all(e.payload["test_key"] is True for e in events if e.type == "key.registered")
    (preflight,) = [e for e in events if e.type == "preflight.run"]
    assert preflight.payload["record_only"] is True
    assert preflight.payload["air_gap"] in ("rehearsal-not-air-gapped", "clear")
    types = [e.type for e in events]
    assert types.index("key.wiped") < types.index("ceremony.closed")
    # Each share verified once; a scripted typo (3of5, share 2) is caught first and recorded as failed.
    script = parse_script(fast(run.name))
    mistyped = [n for n, s in enumerate(script.shares, start=1) if s.mistype]
    assert (run.name == "3of5") == bool(mistyped)
    verified = [(e.payload["share_number"], e.payload["ok"]) for e in events if e.type == "share.verified"]
    assert sorted(verified) == sorted(
        [(n, True) for n in range(1, len(run.shares) + 1)] + [(n, False) for n in mistyped]
    )


def _needles(run: Run) -> set[bytes]:
    (key_event,) = _events(run.ledger_path, "key.registered")
    kcv = KeyCheckValue.from_hex(str(key_event.payload["kcv_method"]), str(key_event.payload["kcv_hex"]))
    key_type = KeyType(str(key_event.payload["key_type"]))
    m = run.shares[0].threshold
    key = recipes.recover_key(run.shares[:m], key_type, kcv)
    raw_values = [bytes(key.material.view())] + [bytes(s.data.view()) for s in run.shares]
    key.wipe()
    needles: set[bytes] = set()
    for raw in raw_values:
        needles |= {raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw)}
    for share in run.shares:
        with encode_share(share) as typed, vault_base64(share) as b64:
            needles |= {bytes(typed.view()), bytes(b64.view())}
            for first, line in share_lines(typed):
                with line:
                    # Body lines only (the header holds public ids), long enough not to match by chance.
                    if first > HEADER_GROUPS and len(line) >= 11:
                        needles.add(bytes(line.view()))
    return needles


def test_no_key_or_share_outside_the_share_cards(run: Run) -> None:
    """Search the ledger, its journal, every file in the output folder except the share cards (raw bytes
    and extracted PDF text) and the temp dir for the key and every share: raw, hex, base64, typed form."""
    from pypdf import PdfReader

    needles = _needles(run)
    assert len(needles) >= 4 * (len(run.shares) + 1)
    files = [Path(str(run.ledger_path) + sfx) for sfx in ("", "-journal", "-wal", "-shm")]
    cards = {d["path"] for d in run.manifest["documents"] if d["kind"] == "share_card"}
    files += [p for p in run.out.rglob("*") if p.is_file() and p.relative_to(run.out).as_posix() not in cards]
    files += [p for p in Path(tempfile.gettempdir()).glob("*") if p.is_file() and os.access(p, os.R_OK)]
    scanned = 0
    for path in files:
        if not path.exists() or path.stat().st_size > 50_000_000:
            continue
        data = path.read_bytes()
        if path.suffix == ".pdf":
            data += "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).encode()
        scanned += 1
        for needle in needles:
            assert needle not in data, f"key or share material found in {path.name}"
    assert scanned >= len(run.shares) + 4  # ledger, acknowledgements, minutes, manifest, README
    # The search can find what it looks for: a share card's QR payload is one of the needles.
    card = run.out / sorted(cards)[0]
    assert decode_qr(card.read_bytes(), run.out.parent)[0] in needles


def test_production_ledger_refuses_a_rehearsal(tmp_path) -> None:
    path = tmp_path / "production.sqlite3"
    Ledger.open(path, create=True).close()
    with pytest.raises(RehearsalMixError, match=r"production ledger.*3\.6\.1\.1"):
        run_rehearsal(parse_script(fast("2of3")), path, tmp_path / "out")
    with Ledger.open(path, read_only=True) as ledger:
        assert ledger.size() == 0  # nothing written, not even the participants
    assert not (tmp_path / "out").exists()
    assert RehearsalMixError("x").exit_code == 2


def test_rehearsal_ledger_refuses_a_production_ceremony_and_reuses_participants(tmp_path) -> None:
    path = tmp_path / "rehearsal.sqlite3"
    script = parse_script(fast("2of3"))
    run_rehearsal(script, path, tmp_path / "first")
    with Ledger.open(path) as ledger:
        before = len(people.participants(ledger))
        ids = {p.employee_id: p.person_id for p in people.participants(ledger)}
        presence = Presence(ledger)
        admin = presence.authenticate(
            ids["R0001"], SecretBytes(script.person("R0001").passphrase.encode()), "administrator"
        )
        witness = presence.authenticate(
            ids["R0002"], SecretBytes(script.person("R0002").passphrase.encode()), "witness"
        )
        with pytest.raises(RehearsalMixError, match=r"rehearsal ledger.*production key"):
            GenerationCeremony.start(ledger, admin, witness, "production key by mistake", rehearsal=False)
        size = ledger.size()
    # A second rehearsal on the same ledger: same employee ids, so the same people (no re-enrollment).
    second = run_rehearsal(script, path, tmp_path / "second")
    with Ledger.open(path, read_only=True) as ledger:
        assert len(people.participants(ledger)) == before
        assert ledger.size() > size
    assert second.key_id and verify_ledger(path).events > size


def test_a_passphrase_that_does_not_unlock_an_enrolled_person_stops_and_voids(tmp_path) -> None:
    path = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("2of3")), path, tmp_path / "first")
    text = fast("2of3").replace("rehearsal: mei's training passphrase", "not mei's passphrase")
    with pytest.raises(WrongPassphraseError):
        run_rehearsal(parse_script(text), path, tmp_path / "second")
    with Ledger.open(path, read_only=True) as ledger:
        types = [e.type for e in ledger.events()]
    # The failure is recorded, the ceremony voided (never half-done) and voided minutes issued.
    assert types[-3:] == ["auth.failed", "ceremony.voided", "document.issued"]
    manifest = json.loads((tmp_path / "second" / "manifest.json").read_text())
    assert manifest["outcome"] == "voided"
    assert [d["kind"] for d in manifest["documents"]] == ["minutes"]


def test_blocking_preflight_follows_what_this_machine_shows(tmp_path) -> None:
    """``preflight = "blocking"``: the real preflight decides. On a networked machine it blocks (exit 6),
    recorded and voided; on an air-gapped one the rehearsal runs through."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    blocked = covering(run_preflight(now).findings, (), now).blocked
    text = fast("2of3").replace('preflight = "record-only"', 'preflight = "blocking"')
    if blocked:
        with pytest.raises(PreflightBlockedError, match="record-only"):
            run_rehearsal(parse_script(text), tmp_path / "r.sqlite3", tmp_path / "out")
        events = _events(tmp_path / "r.sqlite3", "preflight.run")
        assert events[0].payload["blocked"] is True
        assert _events(tmp_path / "r.sqlite3", "ceremony.voided")
        assert not _events(tmp_path / "r.sqlite3", "key.registered")
    else:
        run_rehearsal(parse_script(text), tmp_path / "r.sqlite3", tmp_path / "out")


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_parses(name: str) -> None:
    script = parse_script(example_script(name))
    assert script.kdf == "production" and script.preflight == "record-only"
    assert len({s.envelope for s in script.shares}) == len(script.shares)
    if name == "xor3":
        assert script.scheme is Scheme.XOR and script.threshold == 3
    else:
        m, n = name.split("of")
        assert (script.threshold, len(script.shares)) == (int(m), int(n))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('scheme = "shamir"', 'scheme = "magic"'), "scheme"),
        (('custodian = "R0103"', 'custodian = "R9999"'), "R9999"),
        (('receipt = "card"', 'receipt = "email"'), "receipt"),
        (("[split]", "[split]\ncolour = 1"), "colour"),
        (('kdf = "fast"', 'kdf = "instant"'), "kdf"),
        (('type = "AES-256"', 'type = "ROT13"'), "ROT13"),
    ],
)
def test_script_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_script(fast("2of3").replace(*change, 1))


def test_output_folder_must_be_new_or_empty(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="not empty"):
        run_rehearsal(parse_script(fast("2of3")), tmp_path / "r.sqlite3", tmp_path / "out")


def test_every_paper_of_a_rehearsal_says_so_on_every_page(run: Run) -> None:
    """Issue 15, item 3: acknowledgements and minutes made on a rehearsal ledger carry the REHEARSAL mark
    on every page (the flow passes the ledger's kind to the form; a production paper never has it)."""
    import io

    from pypdf import PdfReader

    from ceremony.documents.render import REHEARSAL_MODE

    mark = " ".join(REHEARSAL_MODE.split())
    papers = [d for d in run.manifest["documents"] if d["kind"] in ("acknowledgement", "minutes")]
    assert papers
    for doc in papers:
        reader = PdfReader(io.BytesIO((run.out / doc["path"]).read_bytes()))
        for page in reader.pages:
            assert mark in " ".join(page.extract_text().split()), doc["path"]
