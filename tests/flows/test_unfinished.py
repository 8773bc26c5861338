"""A ceremony interrupted by a crash is found on restart and resumed (no key yet) or voided (key existed)."""

from __future__ import annotations

import pytest

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import FlowError, InputError
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan, Stage
from ceremony.flows.unfinished import unfinished_ceremonies, void_unfinished
from ceremony.ledger.verify import verify_ledger

SPEC = KeySpec(KeyType.AES_128, "BDK test", "DUKPT base derivation key", 365)


def _started(cast, generate: bool):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "interrupted generation")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    if generate:
        ceremony.generate()
        typed = ceremony.reveal(1, cast.present("cust1", "custodian"))
        typed.wipe()
    return ceremony.ceremony_id  # the object is dropped here: the laptop lost power


def test_no_key_yet_resumes_from_preflight(cast):
    cid = _started(cast, generate=False)
    (item,) = unfinished_ceremonies(cast.ledger.events())
    assert item.ceremony_id == cid and item.resumable and item.last_step == "ceremony.planned"
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.resume(cast.ledger, item, admin, witness)
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    ceremony.generate()
    for number, name in ((1, "cust1"), (2, "cust2")):
        me = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        ceremony.confirm_receipt(number, me, f"ENV-R{number}", "recorded")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    ceremony.close()
    assert ceremony.stage is Stage.CLOSED and unfinished_ceremonies(cast.ledger.events()) == []
    verify_ledger(cast.ledger.path)


def test_key_generated_can_only_be_voided_and_its_split_is_retired(cast):
    _started(cast, generate=True)
    (item,) = unfinished_ceremonies(cast.ledger.events())
    assert not item.resumable and len(item.splits_created) == 1
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    with pytest.raises(FlowError, match="only be voided"):
        GenerationCeremony.resume(cast.ledger, item, admin, witness)
    with pytest.raises(InputError):
        void_unfinished(cast.ledger, item, admin, witness, "  ")
    void_unfinished(cast.ledger, item, admin, witness, "power cut during distribution")
    types = [e.type for e in cast.ledger.events()][-2:]
    assert types == ["split.retired", "ceremony.voided"]
    assert cast.ledger.custody().retired_at(item.splits_created[0]) is not None
    assert unfinished_ceremonies(cast.ledger.events()) == []
    with pytest.raises(FlowError, match="not unfinished"):
        void_unfinished(cast.ledger, item, admin, witness, "again")
    verify_ledger(cast.ledger.path)
