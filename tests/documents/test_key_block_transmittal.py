"""The signed key block transmittal (issue 16) and each component's own check value on its card and
acknowledgement (PCI PIN 15), on real rehearsal ledgers and real PDFs.

The transmittal: the ``recover-tr31`` example after a ``3of5`` generation rehearsal; its PDF is found by the
manifest, its text read back with pypdf, page 1 rasterised (pdftoppm) and its QR code decoded (zxing-cpp),
its two signatures checked (pyHanko and poppler's pdfsig), its ``document.issued`` record compared, and
the minutes read for the key block's lines. The component check values: the ``xor3`` example, each
component's KCV computed here from the share typed on its own card."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ceremony.crypto.codec import decode_share
from ceremony.crypto.kcv import aes_kcv, kcv_for
from ceremony.crypto.keys import KeyType
from ceremony.documents.render import key_block_lines
from ceremony.documents.sign import validate_document
from ceremony.errors import FlowError
from ceremony.flows import paperwork
from ceremony.flows.rehearsal import (
    example_script,
    parse_lifecycle_script,
    parse_script,
    run_lifecycle,
    run_rehearsal,
)
from ceremony.flows.rehearsal.cards import card_share_text
from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger
from tests.documents.samples import decode_qr_codes, pdf_text, pdfsig

REHEARSAL_MARK = "REHEARSAL \u2014 TEST KEYS ONLY"
needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler's pdfsig is not installed")


def fast(name: str) -> str:
    return example_script(name).replace('kdf = "production"', 'kdf = "fast"')


def flat(text: str) -> str:
    """PDF text with every run of whitespace made one space (table cells wrap where they like)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Tr31Run:
    base: Path
    out: Path
    text: str
    ceremony_id: str
    manifest: dict[str, Any]

    @property
    def ledger_path(self) -> Path:
        return self.base / "rehearsal.sqlite3"

    def entry(self, kind: str) -> dict[str, str]:
        (entry,) = [d for d in self.manifest["documents"] if d["kind"] == kind]
        return entry

    def read(self, kind: str) -> bytes:
        return (self.out / self.entry(kind)["path"]).read_bytes()

    @property
    def block(self) -> str:
        return self.read("key_block").decode("ascii").strip()


@pytest.fixture(scope="module")
def tr31_run(tmp_path_factory: pytest.TempPathFactory) -> Tr31Run:
    base = tmp_path_factory.mktemp("transmittal")
    run_rehearsal(parse_script(fast("3of5")), base / "rehearsal.sqlite3", base / "papers")
    text = fast("recover-tr31")
    result = run_lifecycle(parse_lifecycle_script(text), base / "rehearsal.sqlite3", base / "tr31", base=base)
    assert result.outcome == "completed" and result.as_expected, result
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    return Tr31Run(base, result.out_dir, text, result.ceremony_id, manifest)


def _events(run: Tr31Run, event_type: str) -> list[Any]:
    with Ledger.open(run.ledger_path, read_only=True) as ledger:
        return [e for e in ledger.events() if e.type == event_type]


def _exported(run: Tr31Run) -> dict[str, Any]:
    (made,) = [e for e in _events(run, "key.block_exported") if e.payload["ceremony_id"] == run.ceremony_id]
    return dict(made.payload)


def _kbpk_components(run: Tr31Run) -> list[str]:
    return [p["hex"].upper() for p in tomllib.loads(run.text)["output"]["kbpk_components"]]


# --- the transmittal ------------------------------------------------------------------------------------
def test_the_transmittal_is_kept_at_the_top_signed_by_administrator_and_witness_and_recorded(
    tr31_run: Tr31Run, tmp_path: Path
) -> None:
    entry = tr31_run.entry("key_block_transmittal")
    assert entry["path"] == f"key-block-transmittal-{tr31_run.ceremony_id}.pdf"  # top of the out folder
    pdf = tr31_run.read("key_block_transmittal")
    digest = hashlib.sha256(pdf).hexdigest()
    assert entry["sha256"] == digest
    issued = [
        e
        for e in _events(tr31_run, "document.issued")
        if e.payload["kind"] == "key_block_transmittal" and e.payload["ceremony_id"] == tr31_run.ceremony_id
    ]
    assert [e.payload["sha256"] for e in issued] == [digest]  # once, with the PDF's exact SHA-256
    script = parse_lifecycle_script(tr31_run.text)
    with Ledger.open(tr31_run.ledger_path, read_only=True) as ledger:
        by_employee = {p.employee_id: p for p in people.participants(ledger)}
        certs = [p.certificate for p in people.participants(ledger)]
    admin, witness = by_employee[script.administrator], by_employee[script.witness]
    assert issued[0].payload["signed_by"] == [admin.person_id, witness.person_id]
    # Recorded before the close: the transmittal belongs to the ceremony, as the acknowledgements do.
    (closed,) = [
        e for e in _events(tr31_run, "ceremony.closed") if e.payload["ceremony_id"] == tr31_run.ceremony_id
    ]
    assert issued[0].seq < closed.seq
    statuses = validate_document(pdf, certs)
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Administrator", admin.name, True),
        ("Witness", witness.name, True),
    ]
    if shutil.which("pdfsig"):
        sigs = pdfsig(pdf, tmp_path)
        assert [s["Signature Validation"] for s in sigs] == ["Signature is Valid."] * 2
        assert [s["Signature Field Name"] for s in sigs] == ["Administrator", "Witness"]


def test_the_transmittal_prints_the_block_the_check_values_the_header_and_the_kbpk_custodians(
    tr31_run: Tr31Run,
) -> None:
    pdf = tr31_run.read("key_block_transmittal")
    text = pdf_text(pdf)
    block = tr31_run.block
    made = _exported(tr31_run)
    # The block in typed lines of 32 characters, groups of 4: every line as printed, and together the block.
    lines = key_block_lines(block)
    assert len(lines) == -(-len(block) // 32) and all(len(line.replace(" ", "")) <= 32 for line in lines)
    assert "".join(lines).replace(" ", "") == block
    for line in lines:
        assert line in text
    assert f"{len(block)} characters" in text
    sha = made["block_sha256"].upper()
    assert " ".join(sha[i : i + 8] for i in range(0, 64, 8)) in flat(text)
    # Both check values, with their methods.
    words = flat(text)
    assert made["key_kcv_hex"].upper() in words and made["kbpk_kcv_hex"].upper() in words
    assert "AES-CMAC-X9.24" in words
    # The header decoded: each field with its code and meaning, the KS block with its data.
    for field, code, meaning in (
        ("Version", "D", "AES key derivation binding"),
        ("Key usage", "K0", "Key encryption or wrapping key"),
        ("Algorithm", "A", "AES"),
        ("Mode of use", "B", "Both encrypt/wrap and decrypt/unwrap"),
        ("Key version", "00", "no key versioning"),
        ("Exportability", "N", "Non-exportable"),
        ("Optional block KS", "00604B120F9292800000", "Key set identifier"),
    ):
        assert re.search(rf"{re.escape(field)} {re.escape(code)} {re.escape(meaning)}", words), field
    # The KBPK custodians as printed, each with their component's KCV (never the component).
    for number, (name, kcv) in enumerate(
        zip(
            ("Sam Ortiz (R0201)", "Noor Aziz (R0202)", "Lea Novak (R0203)"),
            made["kbpk_component_kcvs"],
            strict=True,
        ),
        start=1,
    ):
        assert f"{number} {name} {kcv.upper()} AES-CMAC-X9.24" in words
    # The rehearsal marking, on the form and across every page.
    assert words.count(REHEARSAL_MARK) >= 1 + len(re.findall(r"page \d of \d", words))
    assert "Ada Achebe" in words and "Will Okoro" in words
    # Never a KBPK component, nor the KBPK, nor the key.
    kbpk = bytes(len(bytes.fromhex(_kbpk_components(tr31_run)[0])))
    for part in _kbpk_components(tr31_run):
        assert part not in words.upper() and part.encode() not in pdf.upper()
        kbpk = bytes(a ^ b for a, b in zip(kbpk, bytes.fromhex(part), strict=True))
    assert kbpk.hex().upper() not in words.upper()
    assert aes_kcv(kbpk).value.hex().upper() == made["kbpk_kcv_hex"].upper()


def test_the_qr_code_on_page_1_holds_exactly_the_block(tr31_run: Tr31Run, tmp_path: Path) -> None:
    codes = decode_qr_codes(tr31_run.read("key_block_transmittal"), tmp_path, page=1)
    assert tr31_run.block.encode("ascii") in codes


def test_the_minutes_list_the_kbpk_components_the_block_and_the_transmittal(tr31_run: Tr31Run) -> None:
    words = flat(pdf_text(tr31_run.read("minutes")))
    made = _exported(tr31_run)
    assert (
        "Key written as a TR-31 key block under HSM-2 TR-31 KBPK (rehearsal) (TR-31 version D, usage K0, "
        "algorithm A, mode of use B, key version 00, exportability N, KS 00604B120F9292800000); KBPK KCV "
        f"{made['kbpk_kcv_hex'].upper()}, key KCV {made['key_kcv_hex'].upper()}, block SHA-256 "
        f"{made['block_sha256'][:8].upper()}"
    ) in words
    for number, kcv in enumerate(made["kbpk_component_kcvs"], start=1):
        assert f"KBPK component {number} entered; KCV {kcv.upper()}" in words
        assert f"KBPK custodian (KBPK component {number})" in words
    assert "Sam Ortiz (KBPK custodian)" in words or "Sam Ortiz (KBPK" in words
    assert f"key block protection key HSM-2 TR-31 KBPK (rehearsal) {made['kbpk_kcv_hex'].upper()}" in words
    assert "Issued key block transmittal: key" in words


@dataclass(frozen=True)
class _Signer:
    person_id: str


def test_a_block_other_than_the_recorded_one_is_refused(tr31_run: Tr31Run) -> None:
    block = tr31_run.block
    with Ledger.open(tr31_run.ledger_path, read_only=True) as ledger:
        started = next(
            e
            for e in ledger.events()
            if e.type == "ceremony.started" and e.payload.get("ceremony_id") == tr31_run.ceremony_id
        )
        admin, witness = (_Signer(p) for p in started.actors[:2])
        data = paperwork.key_block_transmittal_data(
            ledger, tr31_run.ceremony_id, block + "\n", admin, witness
        )
        assert data.block == block and data.block_sha256 == hashlib.sha256(block.encode()).hexdigest()
        last = "0" if block[-1] != "0" else "1"
        for other in (
            block[:-1] + last,
            block[:40] + "E" + block[41:],
            "D0016K0AB00N0000",
            "not a key block",
        ):
            assert hashlib.sha256(other.encode()).hexdigest() != data.block_sha256
            with pytest.raises(FlowError, match="the key block given is not the one recorded"):
                paperwork.key_block_transmittal_data(ledger, tr31_run.ceremony_id, other, admin, witness)
        with pytest.raises(FlowError, match="administrator and witness"):
            paperwork.key_block_transmittal_data(ledger, tr31_run.ceremony_id, block, witness, admin)


# --- each component's own check value on its card and acknowledgement (PCI PIN 15) -------------------------
_COMPONENT_KCV = re.compile(r"Component KCV ([0-9A-F]{6,10}) \(([A-Z0-9.-]+)\)")


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def _number(subject: str) -> int:
    match = re.match(r"share (\d+) of", subject)
    assert match is not None, subject
    return int(match.group(1))


def test_each_xor_component_card_and_acknowledgement_shows_that_components_kcv(tmp_path: Path) -> None:
    out = tmp_path / "xor"
    run_rehearsal(parse_script(fast("xor3")), tmp_path / "xor.sqlite3", out)
    manifest = _manifest(out)
    with Ledger.open(tmp_path / "xor.sqlite3", read_only=True) as ledger:
        (registered,) = [e for e in ledger.events() if e.type == "key.registered"]
    key_type = KeyType(registered.payload["key_type"])
    key_kcv = registered.payload["kcv_hex"].upper()
    computed: dict[int, str] = {}
    cards = [d for d in manifest["documents"] if d["kind"] == "share_card"]
    assert len(cards) == 3
    for card in cards:
        path = out / card["path"]
        share = decode_share(card_share_text(path))  # the component as typed off its own card
        try:
            kcv = kcv_for(key_type, share.data)
        finally:
            share.wipe()
        number = _number(card["subject"])
        computed[number] = kcv.value.hex().upper()
        words = flat(pdf_text(path.read_bytes()))
        assert _COMPONENT_KCV.findall(words) == [(computed[number], kcv.method)]
        assert f"Key KCV {key_kcv} ({registered.payload['kcv_method']})" in words
    assert len(set(computed.values())) == 3 and key_kcv not in computed.values()
    acks = [d for d in manifest["documents"] if d["kind"] == "acknowledgement"]
    assert len(acks) == 3
    for ack in acks:
        words = flat(pdf_text((out / ack["path"]).read_bytes()))
        (found,) = _COMPONENT_KCV.findall(words)
        assert found[0] == computed[_number(ack["subject"])]
        assert f"Key KCV {key_kcv}" in words


def test_a_shamir_card_and_acknowledgement_show_the_key_kcv_and_no_component_kcv(tr31_run: Tr31Run) -> None:
    papers = tr31_run.base / "papers"
    manifest = _manifest(papers)
    with Ledger.open(tr31_run.ledger_path, read_only=True) as ledger:
        registered = next(
            e
            for e in ledger.events()
            if e.type == "key.registered" and e.payload["key_id"] == manifest["key_id"]
        )
    key_kcv = registered.payload["kcv_hex"].upper()
    for kind in ("share_card", "acknowledgement"):
        doc = next(d for d in manifest["documents"] if d["kind"] == kind)
        words = flat(pdf_text((papers / doc["path"]).read_bytes()))
        assert f"Key KCV {key_kcv}" in words
        assert "Component KCV" not in words


def _present(ledger: Ledger, run: Tr31Run, employee_id: str, role: str) -> Any:
    from ceremony.crypto.secret import SecretBytes
    from ceremony.flows.presence import Presence

    script = parse_lifecycle_script(run.text)
    (person,) = [p for p in people.participants(ledger) if p.employee_id == employee_id]
    secret = SecretBytes(script.person(employee_id).passphrase.encode())
    return Presence(ledger).authenticate(person.person_id, secret, role)


def test_the_async_twin_issues_the_same_signed_form_inside_an_event_loop(
    tr31_run: Tr31Run, tmp_path: Path
) -> None:
    """Re-issued on a copy of the closed ceremony's ledger (as a TUI would, inside its event loop)."""
    import asyncio

    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(tr31_run.ledger_path, copy)
    script = parse_lifecycle_script(tr31_run.text)
    with Ledger.open(copy) as ledger:
        admin = _present(ledger, tr31_run, script.administrator, "administrator")
        witness = _present(ledger, tr31_run, script.witness, "witness")
        document = asyncio.run(
            paperwork.async_issue_key_block_transmittal_for(
                ledger, tr31_run.ceremony_id, tr31_run.block, admin, witness
            )
        )
        certs = [p.certificate for p in people.participants(ledger)]
        last = list(ledger.events())[-1]
    assert document.record.kind == "key_block_transmittal" and last.seq == document.record.event_seq
    assert last.payload["sha256"] == hashlib.sha256(document.pdf).hexdigest()
    assert [(s.field_name, s.ok) for s in validate_document(document.pdf, certs)] == [
        ("Administrator", True),
        ("Witness", True),
    ]
    assert tr31_run.block.encode() in decode_qr_codes(document.pdf, tmp_path, page=1)


@pytest.mark.parametrize("run_async", [False, True], ids=["run", "run_async"])
@pytest.mark.parametrize("good", [True, False], ids=["recorded-block", "other-block"])
def test_the_close_out_issues_the_transmittal_before_the_close_and_a_failure_is_a_listed_problem(
    tr31_run: Tr31Run, tmp_path: Path, run_async: bool, good: bool
) -> None:
    """Both close-out paths issue the transmittal before the close, signed by both; one that fails is named
    (the close-out's failure policy: never a raise, never pretended) and the minutes still follow."""
    import asyncio

    from ceremony.flows.closeout import CloseOut

    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(tr31_run.ledger_path, copy)
    script = parse_lifecycle_script(tr31_run.text)
    closes: list[str] = []
    block = tr31_run.block if good else tr31_run.block[:-1] + ("0" if tr31_run.block[-1] != "0" else "1")
    with Ledger.open(copy) as ledger:
        admin = _present(ledger, tr31_run, script.administrator, "administrator")
        witness = _present(ledger, tr31_run, script.witness, "witness")
        closeout = CloseOut(
            ledger,
            tr31_run.ceremony_id,
            admin,
            witness,
            close=lambda checkpoint: closes.append(checkpoint),  # type: ignore[func-returns-value]
            folder=tmp_path / "papers",
            key_block=lambda: block,
        )
        before = len(list(ledger.events()))
        closed = asyncio.run(closeout.run_async()) if run_async else closeout.run()
        issued = [e.payload["kind"] for e in list(ledger.events())[before:] if e.type == "document.issued"]
    assert len(closes) == 1  # closed all the same
    if good:
        assert closed.problems == ()
        assert [d.record.kind for d in closed.documents] == issued == ["key_block_transmittal", "minutes"]
        transmittal = closed.documents[0]
        assert (tmp_path / "papers" / transmittal.record.file_name).read_bytes() == transmittal.pdf
    else:
        assert closed.problems == (
            "key block transmittal not issued: the key block given is not the one recorded",
        )
        assert [d.record.kind for d in closed.documents] == issued == ["minutes"]


# --- the form --------------------------------------------------------------------------------------------
def test_an_older_forms_folder_without_the_transmittal_uses_the_shipped_wording(tmp_path: Path) -> None:
    from ceremony.documents.templates import default_forms_dir, load_forms

    shipped = default_forms_dir()
    own = tmp_path / "forms"
    shutil.copytree(shipped, own)
    (own / "key_block_transmittal.md").unlink()
    forms = load_forms(own)
    assert forms["key_block_transmittal"].path.resolve() == (shipped / "key_block_transmittal.md").resolve()
    assert forms["minutes"].path.parent == own  # every other form is the organisation's own


def test_keyblock_belongs_on_the_transmittal_and_the_transmittal_must_carry_it() -> None:
    from ceremony.documents.templates import (
        ACKNOWLEDGEMENT,
        KEY_BLOCK_TRANSMITTAL,
        default_forms_dir,
        parse_form,
    )
    from ceremony.errors import TemplateError

    folder = default_forms_dir()
    ack = (folder / "acknowledgement.md").read_text()
    with pytest.raises(TemplateError, match="@keyblock belongs on the key block transmittal only"):
        parse_form(ack + "\n@keyblock\n", folder / "acknowledgement.md", ACKNOWLEDGEMENT)
    form = (folder / "key_block_transmittal.md").read_text()
    with pytest.raises(TemplateError, match="must contain @keyblock"):
        parse_form(
            form.replace("@keyblock\n", ""), folder / "key_block_transmittal.md", KEY_BLOCK_TRANSMITTAL
        )
    with pytest.raises(TemplateError, match="@keyblock appears twice"):
        parse_form(form + "\n@keyblock\n", folder / "key_block_transmittal.md", KEY_BLOCK_TRANSMITTAL)


# --- the minutes of a token load ---------------------------------------------------------------------------
def test_the_minutes_say_which_token_the_key_went_into_and_who_typed_the_pin(tmp_path: Path) -> None:
    pytest.importorskip("pkcs11")
    from tests.hsm.softhsm import softhsm_token  # skips when SoftHSM2 is not installed

    ledger = tmp_path / "rehearsal.sqlite3"
    run_rehearsal(parse_script(fast("3of5")), ledger, tmp_path / "papers")
    with softhsm_token(tmp_path, label="CEREMONY-REHEARSAL", pin="1234") as token:
        text = fast("recover-pkcs11").replace('"/usr/lib/softhsm/libsofthsm2.so"', json.dumps(token.module))
        result = run_lifecycle(parse_lifecycle_script(text), ledger, tmp_path / "load", base=tmp_path)
    assert result.outcome == "completed" and result.as_expected, result
    with Ledger.open(ledger, read_only=True) as opened:
        (loaded,) = [e for e in opened.events() if e.type == "key.loaded"]
        by_id = {p.person_id: p for p in people.participants(opened)}
    p = loaded.payload
    manifest = _manifest(result.out_dir)
    (minutes,) = [d for d in manifest["documents"] if d["kind"] == "minutes"]
    words = flat(pdf_text((result.out_dir / minutes["path"]).read_bytes()))
    typist = by_id[p["pin_entered_by"]].name
    assert (
        f"Key loaded into token CEREMONY-REHEARSAL (serial {p['token_serial']}, {p['token_manufacturer']} "
        f"{p['token_model']}, firmware {p['token_firmware']}) as object '{p['object_label']}' by C_UnwrapKey "
        f"with CKM_AES_KEY_WRAP_PAD (0x210A); the token's check value {p['token_check_value_hex'].upper()} "
        f"({p['check_source']}) matches the registered KCV; attributes: {', '.join(p['attributes'])}; "
        f"the PIN typed by {typist}"
    ) in words
    assert f"{typist} {by_id[p['pin_entered_by']].employee_id} Typed the token's PIN" in words  # the cast
    assert "1234" not in words
