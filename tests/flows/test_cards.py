"""Share cards printed during distribution: recorded before they leave, delivered to RAM, wiped after."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ceremony.crypto.codec import decode_share
from ceremony.crypto.keys import KeyType
from ceremony.crypto.shamir import combine_shares
from ceremony.crypto.share import Scheme
from ceremony.errors import DocumentError
from ceremony.flows.cards import card_printed, print_share_card
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.ledger.verify import verify_ledger
from tests.documents.samples import decode_qr_codes

SPEC = KeySpec(KeyType.AES_256, "ZMK cards", "PIN zone master key", 365)


def _generated(cast):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "cards")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    kcv = ceremony.generate()
    return ceremony, kcv


def test_card_goes_to_ram_is_recorded_decodes_and_is_wiped(cast, tmp_path):
    ceremony, kcv = _generated(cast)
    ram = Path(tempfile.mkdtemp(dir="/dev/shm"))
    shares = []
    for number, name in ((1, "cust1"), (2, "cust2")):
        me = cast.present(name, "custodian")
        ceremony.reveal(number, me).wipe()  # the custodian chose the card instead of writing it down
        delivery = print_share_card(cast.ledger, ceremony, number, me, f"TE-{number:05d}", f"ram:{ram}")
        assert delivery.ram_backed and delivery.path is not None and delivery.path.parent == ram
        (qr,) = decode_qr_codes(delivery.path.read_bytes(), tmp_path)
        shares.append(decode_share(qr, expected_split_id=ceremony.split_id))
        card_printed(ceremony, delivery, me)
        assert not delivery.path.exists()
        ceremony.confirm_receipt(number, me, f"TE-{number:05d}", "card")
    combine_shares(shares, kcv)  # what was printed rebuilds the registered key
    kinds = [(e.type, e.payload.get("kind")) for e in cast.ledger.events()]
    assert kinds.count(("share.exposed", "printed")) == 2
    assert [t for t, _ in kinds].count("share.card_wiped") == 2
    verify_ledger(cast.ledger.path)


def test_card_before_the_share_was_shown_is_refused(cast):
    ceremony, _ = _generated(cast)
    me = cast.present("cust1", "custodian")
    with pytest.raises(Exception, match="not been shown"):
        print_share_card(cast.ledger, ceremony, 1, me, "TE-1", "ram")


def test_persistent_disk_is_refused_and_the_failure_recorded(cast, tmp_path):
    ceremony, _ = _generated(cast)
    me = cast.present("cust1", "custodian")
    ceremony.reveal(1, me).wipe()
    from ceremony.documents.printing import RAM_FILESYSTEMS, filesystem_type

    disk = tmp_path / "cards"
    disk.mkdir()
    if filesystem_type(disk) in RAM_FILESYSTEMS:
        pytest.skip("the temp dir is RAM-backed on this machine: no persistent disk to refuse")
    with pytest.raises(DocumentError):
        print_share_card(cast.ledger, ceremony, 1, me, "TE-1", f"ram:{disk}")
    assert list(disk.iterdir()) == []
    assert [e.type for e in cast.ledger.events()][-1] == "share.card_failed"


def test_unknown_printer_is_named(cast):
    ceremony, _ = _generated(cast)
    me = cast.present("cust1", "custodian")
    ceremony.reveal(1, me).wipe()
    with pytest.raises(DocumentError, match="unknown card printer"):
        print_share_card(cast.ledger, ceremony, 1, me, "TE-1", "carrier-pigeon")
