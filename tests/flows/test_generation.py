"""The generation ceremony engine driven with no UI, on a real ledger file."""

from __future__ import annotations

import pytest
from flow_support import passphrase_of

from ceremony.crypto.codec import decode_share
from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.errors import (
    DualControlError,
    FlowError,
    IdentityError,
    ShareChecksumError,
    WrongPassphraseError,
)
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan, Stage
from ceremony.flows.presence import Presence
from ceremony.ledger.verify import verify_ledger

SPEC = KeySpec(KeyType.AES_256, "ZMK test", "PIN zone master key", 365)


def _start(cast, m=2, custodians=("cust1", "cust2", "cust3"), scheme=Scheme.SHAMIR):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "test generation")
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    plan = SplitPlan(scheme, m, tuple(cast.ids[c] for c in custodians))
    ceremony.plan_key(SPEC, plan)
    return ceremony


def _distribute_and_verify(cast, ceremony, custodians):
    for number, name in enumerate(custodians, start=1):
        me = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())  # what the custodian writes down
        ceremony.confirm_receipt(number, me, f"ENV-{number:04d}", "recorded")
        assert ceremony.verify_share(number, me, text)


def test_full_2_of_3_generation_is_recorded_and_verifies(cast):
    custodians = ("cust1", "cust2", "cust3")
    ceremony = _start(cast)
    kcv = ceremony.generate()
    assert len(kcv.value) == 5
    _distribute_and_verify(cast, ceremony, custodians)
    ceremony.wipe()
    ceremony.close()
    assert ceremony.stage is Stage.CLOSED
    types = [e.type for e in cast.ledger.events()]
    for expected in (
        "ceremony.started",
        "preflight.run",
        "ceremony.planned",
        "key.registered",
        "split.created",
        "share.exposed",
        "share.received",
        "share.verified",
        "key.wiped",
        "ceremony.closed",
    ):
        assert expected in types
    result = verify_ledger(cast.ledger.path)
    assert result.events == len(types)
    coalition = cast.ledger.custody().smallest_coalition(ceremony.key_id)
    assert coalition.size == 2


def test_shares_verify_against_the_registered_kcv(cast):
    """What the custodians took away really rebuilds the key whose KCV was registered."""
    from ceremony.crypto.shamir import combine_shares

    ceremony = _start(cast)
    kcv = ceremony.generate()
    texts = []
    for number, name in enumerate(("cust1", "cust2", "cust3"), start=1):
        me = cast.present(name, "custodian")
        typed = ceremony.reveal(
            number, me
        )  # keep the SecretBytes alive while copying (it wipes when collected)
        texts.append(bytearray(typed.view()))
    shares = [decode_share(t) for t in texts[:2]]
    key = combine_shares(shares, kcv)  # raises KCVMismatchError otherwise
    assert len(key) == 32
    ceremony.void("test over")


def test_administrator_cannot_be_custodian(cast):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "p")
    ceremony.record_preflight({}, uncovered=[])
    with pytest.raises(DualControlError, match="administrator"):
        ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["alice"], cast.ids["cust1"])))


def test_same_custodian_for_two_shares_is_refused(cast):
    ceremony = _start(cast, custodians=("cust1", "cust2", "cust3"))
    with pytest.raises(DualControlError, match=r"3\.7\.6"):
        ceremony.plan_key(
            SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust1"], cast.ids["cust2"]))
        )


def test_same_person_as_administrator_and_witness_is_refused(cast):
    a1 = cast.present("alice", "administrator")
    with pytest.raises(DualControlError):
        GenerationCeremony.start(cast.ledger, a1, a1, "p")


def test_uncovered_preflight_finding_blocks(cast):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "p")
    with pytest.raises(FlowError, match=r"net\.interfaces"):
        ceremony.record_preflight({}, uncovered=["net.interfaces: interface eth0"])
    with pytest.raises(FlowError):
        ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    assert [e.type for e in cast.ledger.events()][-1] == "preflight.run"


def test_wrong_share_holder_and_typo_in_verification(cast):
    ceremony = _start(cast)
    ceremony.generate()
    me = cast.present("cust1", "custodian")
    other = cast.present("cust2", "custodian")
    with pytest.raises(DualControlError):
        ceremony.reveal(1, other)
    typed = ceremony.reveal(1, me)
    text = bytearray(typed.view())
    ceremony.confirm_receipt(1, me, "ENV-1", "card")
    # one mistyped character in the body is caught and named by group; recorded as a failed verification
    body_at = text.index(b"-", 40) + 1  # the first character of a body group (never a dash)
    text[body_at] = ord("2") if text[body_at] != ord("2") else ord("3")
    with pytest.raises(ShareChecksumError):
        ceremony.verify_share(1, me, text)
    with pytest.raises(FlowError, match="still to verify"):
        ceremony.wipe()
    ceremony.void("aborted in test")
    types = [e.type for e in cast.ledger.events()]
    assert types[-2:] == ["split.retired", "ceremony.voided"]
    assert ceremony._key is None
    assert all(share.data.wiped for share in ceremony._shares.split.shares)


def test_three_wrong_passphrases_lock_out(cast):
    presence = Presence(cast.ledger)
    witness = presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness")
    for _attempt in range(3):
        with pytest.raises(WrongPassphraseError):
            presence.authenticate(cast.ids["cust1"], SecretBytes(b"wrong"), "custodian")
    with pytest.raises(IdentityError, match="locked out"):
        presence.authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian")
    failures = [e for e in cast.ledger.events() if e.type == "auth.failed"]
    assert len(failures) == 3
    # Signed by the witness who watched (DESIGN §5: nothing unsigned), naming the person who failed.
    assert all(e.attested_by == (witness.person_id,) for e in failures)
    assert all(e.actors == (cast.ids["cust1"],) for e in failures)


def test_a_failure_with_nobody_present_waits_for_the_next_signer(cast):
    presence = Presence(cast.ledger)
    with pytest.raises(WrongPassphraseError):
        presence.authenticate(cast.ids["alice"], SecretBytes(b"wrong"), "administrator")
    assert [e.type for e in cast.ledger.events()].count("auth.failed") == 0
    alice = presence.authenticate(cast.ids["alice"], passphrase_of("alice"), "administrator")
    failures = [e for e in cast.ledger.events() if e.type == "auth.failed"]
    assert [(f.record.person_id, f.record.attempt, f.attested_by) for f in failures] == [
        (alice.person_id, 1, (alice.person_id,))
    ]


def test_xor_three_components(cast):
    custodians = ("cust1", "cust2", "cust3")
    ceremony = _start(cast, m=3, custodians=custodians, scheme=Scheme.XOR)
    ceremony.generate()
    _distribute_and_verify(cast, ceremony, custodians)
    ceremony.wipe()
    ceremony.close()
    split = next(e for e in cast.ledger.events() if e.type == "split.created")
    assert set(split.payload["share_kcvs"]) == {"1", "2", "3"}


def test_no_key_or_share_bytes_reach_the_ledger_or_temp(cast, tmp_path):
    """Full 2-of-3 run, then search the SQLite file, its journal and the temp dir for the key and every
    share: raw, hex (both cases), base64 and the typed form."""
    import base64
    import os
    import tempfile
    from pathlib import Path

    from ceremony.crypto.shamir import combine_shares

    custodians = ("cust1", "cust2", "cust3")
    ceremony = _start(cast)
    kcv = ceremony.generate()
    texts = []
    for number, name in enumerate(custodians, start=1):
        me = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        texts.append(bytes(typed.view()))
        ceremony.confirm_receipt(number, me, f"ENV-{number}", "recorded")
        assert ceremony.verify_share(number, me, bytearray(texts[-1]))
    ceremony.wipe()
    ceremony.close()
    shares = [decode_share(t) for t in texts]
    key = combine_shares(shares[:2], kcv)
    secrets = [bytes(key.view())] + [bytes(s.data.view()) for s in shares]
    needles = set(texts)
    for raw in secrets:
        needles |= {raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw)}
    files = [Path(str(cast.ledger.path) + sfx) for sfx in ("", "-journal", "-wal", "-shm")]
    files += [p for p in Path(tempfile.gettempdir()).glob("*") if p.is_file() and os.access(p, os.R_OK)]
    scanned = 0
    for path in files:
        if not path.exists() or path.stat().st_size > 50_000_000:
            continue
        data = path.read_bytes()
        scanned += 1
        for needle in needles:
            assert needle not in data, f"secret found in {path}"
    assert scanned >= 1
