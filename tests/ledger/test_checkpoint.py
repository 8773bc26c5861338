"""Checkpoints: RFC 6962 Merkle tree hash (known answers), text/QR form, consistency with today's ledger."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_support import build_sample

from ceremony.errors import CheckpointError, InputError
from ceremony.ledger.checkpoint import Checkpoint, MerkleAccumulator, leaf_hash, merkle_root, node_hash
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

# RFC 6962 §2.1 Merkle Tree Hash. Leaves and roots of the Certificate Transparency reference test data, as
# published in google/trillian merkle/testonly/constants.go (LeafInputs, RootHashes): the tree hash of the
# first n of these 8 leaves, n = 0..8.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(9))
def test_merkle_root_matches_ct_reference_vectors(size: int) -> None:
    leaves = [bytes.fromhex(x) for x in CT_LEAVES[:size]]
    assert merkle_root(leaves).hex() == CT_ROOTS[size]


def test_streaming_root_at_every_prefix_matches_vectors() -> None:
    acc = MerkleAccumulator()
    assert acc.root().hex() == CT_ROOTS[0]
    for n, leaf in enumerate(CT_LEAVES, start=1):
        acc.push(bytes.fromhex(leaf))
        assert acc.size == n
        assert acc.root().hex() == CT_ROOTS[n]


def _reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 written as the recursive definition (split at the largest power of two < n)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_mth(leaves[:k]), _reference_mth(leaves[k:]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=130))
def test_streaming_root_equals_recursive_definition(leaves: list[bytes]) -> None:
    assert merkle_root(leaves) == _reference_mth(leaves)


def test_text_form_round_trips_and_is_qr_alphanumeric() -> None:
    cp = Checkpoint("1RFX7EGQBD", 1234, bytes(range(32)), bytes(range(32, 64)))
    text = cp.text()
    assert text.startswith("CEREMONY-CHECKPOINT V1 1RFX7EGQBD 1234 000102")
    qr_alphanumeric = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert set(cp.qr_payload()) <= qr_alphanumeric
    assert Checkpoint.parse(text) == cp
    assert Checkpoint.parse("  " + text.lower().replace(" ", "   ") + "\n") == cp


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CEREMONY-CHECKPOINT V1 ABC 0 " + "00" * 32 + " " + "00" * 32,
        "CEREMONY-CHECKPOINT V2 ABC 1 " + "00" * 32 + " " + "00" * 32,
        "CEREMONY-CHECKPOINT V1 ABC 1 " + "00" * 31 + " " + "00" * 32,
        "CEREMONY-CHECKPOINT V1 ABC 1 " + "0G" * 32 + " " + "00" * 32,
        "SOMETHING-ELSE V1 ABC 1 " + "00" * 32 + " " + "00" * 32,
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        Checkpoint.parse(text)


def test_past_checkpoint_is_a_prefix_of_todays_ledger(tmp_path) -> None:
    sample = build_sample(tmp_path / "l.sqlite3", total_events=60)
    with Ledger.open(sample.path) as ledger:
        past = [ledger.checkpoint(size) for size in (1, 2, 17, 32, 33, 59)]
        leaves = [e.hash for e in ledger.events()]
        for cp in past:
            assert cp.merkle_root == _reference_mth(leaves[: cp.size])
            assert cp.head_hash == leaves[cp.size - 1]
        now = ledger.checkpoint()
    assert now.size == sample.events
    result = verify_ledger(sample.path, [c.text() for c in past] + [now.text()])
    assert result.checkpoints_checked == len(past) + 1
    assert result.checkpoint() == now


def test_checkpoint_from_another_ledger_or_history_is_refused(tmp_path) -> None:
    a = build_sample(tmp_path / "a.sqlite3", total_events=40)
    b = build_sample(tmp_path / "b.sqlite3", total_events=40)
    with Ledger.open(a.path) as la, Ledger.open(b.path) as lb:
        cp_a, cp_b = la.checkpoint(20), lb.checkpoint(20)
    with pytest.raises(CheckpointError, match="is for ledger"):
        verify_ledger(a.path, [cp_b])
    forged = Checkpoint(cp_a.ledger_id, 20, cp_b.head_hash, cp_a.merkle_root)
    with pytest.raises(CheckpointError, match="head hash") as info:
        verify_ledger(a.path, [forged])
    assert info.value.seq == 20
    forged_root = Checkpoint(cp_a.ledger_id, 20, cp_a.head_hash, cp_b.merkle_root)
    with pytest.raises(CheckpointError, match="Merkle root"):
        verify_ledger(a.path, [forged_root])
    beyond = Checkpoint(cp_a.ledger_id, 41, cp_a.head_hash, cp_a.merkle_root)
    with pytest.raises(CheckpointError, match="truncated") as info:
        verify_ledger(a.path, [beyond])
    assert info.value.seq == 41
