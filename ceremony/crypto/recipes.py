"""The short safe path through the crypto layer: what flows call (STYLE: recipes over hazmat).

Generate a key and its KCV; split it (Shamir m-of-n or XOR n-of-n) with every check done and the
commitments / component KCVs the ledger keeps; combine shares and verify against the registered KCV.
Nothing here does I/O; callers wipe what they are given (``Key.wipe()``, ``Share.wipe()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ceremony.crypto.kcv import KeyCheckValue, compute_kcv
from ceremony.crypto.keys import DEFAULT_KEY_TYPE, Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.shamir import check_commitments, combine_shares, share_commitment, split_secret
from ceremony.crypto.share import Scheme, Share
from ceremony.crypto.xor import combine_components, component_kcv, split_components
from ceremony.errors import ForeignShareError


@dataclass(frozen=True, eq=False)
class SplitResult:
    """Shares of one split and what the ledger records about them (never the share bytes).

    ``commitments`` and ``component_kcvs`` are keyed by share number; component KCVs exist for XOR splits
    only. The repr shows the shares' own (byte-free) reprs.
    """

    key_check_value: KeyCheckValue
    shares: tuple[Share, ...]
    commitments: Mapping[int, bytes]
    component_kcvs: Mapping[int, KeyCheckValue]

    @property
    def scheme(self) -> Scheme:
        return self.shares[0].scheme

    def wipe(self) -> None:
        for share in self.shares:
            share.wipe()


def new_key(
    key_type: KeyType = DEFAULT_KEY_TYPE,
    length: int | None = None,
    random: Callable[[int], bytes | bytearray | SecretBytes] | None = None,
) -> tuple[Key, KeyCheckValue]:
    """A fresh key from the OS CSPRNG (or ``random``: a token's generator) and its KCV (PCI DSS 3.6.1,
    3.7.1)."""
    key = Key.generate(key_type, length, random)
    return key, compute_kcv(key)


def key_check_value(key: Key) -> KeyCheckValue:
    return compute_kcv(key)


def split_key(key: Key, key_id: str, split_id: str, threshold: int, count: int) -> SplitResult:
    """Shamir ``threshold``-of-``count`` split, every threshold-subset verified, with share commitments."""
    shares = split_secret(key.material, key_id, split_id, threshold, count)
    return SplitResult(
        compute_kcv(key),
        tuple(shares),
        {share.number: share_commitment(share) for share in shares},
        {},
    )


def split_key_into_components(key: Key, key_id: str, split_id: str, count: int) -> SplitResult:
    """XOR ``count``-of-``count`` components, each with its commitment and its own KCV."""
    shares = split_components(key, key_id, split_id, count)
    return SplitResult(
        compute_kcv(key),
        tuple(shares),
        {share.number: share_commitment(share) for share in shares},
        {share.number: component_kcv(share, key.key_type) for share in shares},
    )


def recover_key(
    shares: Sequence[Share],
    key_type: KeyType,
    expected_kcv: KeyCheckValue,
    commitments: Mapping[int, bytes] | None = None,
) -> Key:
    """Combine shares (Shamir or XOR) into the key, checked against the registered KCV.

    ``commitments`` from the ledger, when given, are checked first so a bad share is named at once.
    """
    if not shares:
        return combine_components(shares, key_type, expected_kcv)  # raises BelowThresholdError
    if any(share.scheme is not shares[0].scheme for share in shares):
        raise ForeignShareError("Shamir shares and XOR components cannot be combined together")
    if shares[0].scheme is Scheme.XOR:
        if commitments is not None:
            check_commitments(shares, commitments)
        return combine_components(shares, key_type, expected_kcv)
    material: SecretBytes = combine_shares(shares, expected_kcv, commitments)
    try:
        return Key(key_type, material)
    except BaseException:
        material.wipe()
        raise
