"""Evidence bundle: every report as PDF and CSV, and a manifest signed by the exporting officer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_scenario import AS_OF, Scenario, passphrase

from ceremony.errors import BundleIntegrityError
from ceremony.flows.presence import Presence
from ceremony.ledger.participants import participant
from ceremony.ledger.store import Ledger
from ceremony.reports import KINDS
from ceremony.reports.bundle import (
    MANIFEST,
    SIGNATURE,
    OfficerSigner,
    check_manifest,
    write_manifest,
    write_reports,
)


@pytest.fixture(scope="module")
def signed(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    out.mkdir()
    shutil.copy(scenario.path, out / "ledger.sqlite3")
    written = write_reports(scenario.path, out, now=AS_OF)
    with Ledger.open_for_reading(scenario.path) as ledger:
        officer = Presence(ledger).authenticate(
            scenario.ids["officer"], passphrase("officer"), "security_officer"
        )
        cert = participant(ledger, scenario.ids["officer"]).certificate
        other = participant(ledger, scenario.ids["witness"]).certificate
        checkpoint = ledger.checkpoint().text()
    write_manifest(out, OfficerSigner(officer.person_id, officer.identity), checkpoint=checkpoint, now=AS_OF)
    return out, written, cert, other


@pytest.fixture
def bundle(signed, tmp_path: Path):
    """A fresh copy of the signed bundle for each test to damage."""
    out, written, cert, other = signed
    copy = tmp_path / "bundle"
    shutil.copytree(out, copy)
    return copy, written, cert, other


def test_reports_and_signed_manifest_check(bundle) -> None:
    out, written, cert, _ = bundle
    assert sorted(p.name for p in written) == sorted(f"{k}.{s}" for k in KINDS for s in ("pdf", "csv"))
    result = check_manifest(out, cert)
    assert result.files == len(written) + 1  # the reports and the ledger copy
    manifest = json.loads((out / MANIFEST).read_bytes())
    assert manifest["signed_by"]["cert_sha256"] == result.cert_sha256


def test_a_changed_file_is_named(bundle) -> None:
    out, _, cert, _ = bundle
    path = out / "reports" / "custody.csv"
    path.write_bytes(path.read_bytes().replace(b"yes", b"no!", 1))
    with pytest.raises(BundleIntegrityError, match=r"reports/custody\.csv differs"):
        check_manifest(out, cert)


def test_missing_and_added_files_are_refused(bundle) -> None:
    out, _, cert, _ = bundle
    (out / "reports" / "keys.pdf").unlink()
    with pytest.raises(BundleIntegrityError, match=r"keys\.pdf is listed"):
        check_manifest(out, cert)


def test_an_added_file_is_refused(bundle) -> None:
    out, _, cert, _ = bundle
    (out / "reports" / "extra.csv").write_text("x\n")
    with pytest.raises(BundleIntegrityError, match=r"extra\.csv is in the bundle but not"):
        check_manifest(out, cert)


def test_someone_else_certificate_or_a_changed_manifest_is_refused(bundle) -> None:
    out, _, cert, other = bundle
    with pytest.raises(BundleIntegrityError, match="does not verify"):
        check_manifest(out, other)
    data = (out / MANIFEST).read_bytes()
    (out / MANIFEST).write_bytes(data.replace(b'"ledger_id":""', b'"ledger_id":"X"'))
    with pytest.raises(BundleIntegrityError, match="does not verify"):
        check_manifest(out, cert)
    (out / MANIFEST).write_bytes(data)
    (out / SIGNATURE).unlink()
    with pytest.raises(BundleIntegrityError, match=r"manifest\.sig"):
        check_manifest(out, cert)
