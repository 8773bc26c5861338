"""Shamir m-of-n splitting in HashiCorp Vault's share format, with the checks a bare library leaves to us
(DESIGN §2).

Share bytes are Vault's (and pyshamir's): the y-bytes followed by one x byte (1..255). The arithmetic is
:mod:`ceremony.crypto.gf256` (the AES field, x^8 + x^4 + x^3 + x + 1, as Vault and pyshamir), done in-project
over wipeable bytearrays: pyshamir kept each key byte and its coefficients in buffers it never wiped. It
stays the test oracle (tests/crypto/test_gf256.py), so shares stay interchangeable with it and with Vault.
A combine never learns the threshold and silently returns a wrong secret for too few, foreign or mistyped
shares, so this layer:

* refuses bad split parameters and bad share sets before combining, each with its own error;
* at split time verifies that every m-subset reconstructs the secret before any share is released;
* combines exactly m shares and checks the registered KCV;
* with more than m shares offered, names the share(s) that do not fit;
* computes per-share commitments the ledger keeps, so one share can be checked on its own.

Checking all C(9,5) = 126 subsets of a 5-of-9 split of a 32-byte key takes ~30 ms.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

from ceremony.crypto import gf256
from ceremony.crypto.ids import is_id
from ceremony.crypto.kcv import KeyCheckValue, kcv_by_method
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import (
    BadShareError,
    BelowThresholdError,
    DuplicateShareError,
    ForeignShareError,
    KCVMismatchError,
    MalformedShareError,
    SplitError,
)

MIN_THRESHOLD = 2
MAX_SHARES = 255  # x is one byte and x = 0 would be the secret itself

# Above this many m-subsets, "every m-subset reconstructs" is checked in its equivalent form: one m-subset
# gives the secret and every other share lies on the polynomial that subset defines (a polynomial of
# degree < m is fixed by any m of its points, so then every m-subset yields the same intercept).
MAX_ENUMERATED_SUBSETS = 2000
# How many m-subsets to try when looking for the bad share(s) among more than m offered.
MAX_SEARCHED_SUBSETS = 20000

COMMITMENT_TAG = b"ceremony/share-commitment/v1"


# --- GF(2^8): ceremony.crypto.gf256 (branch-free, table-free multiply) -----------------------------------
gf_mul = gf256.mul
gf_div = gf256.div


def _lagrange_coefficients(xs: Sequence[int], at: int) -> list[int]:
    """Coefficients c_i with P(at) = sum c_i * y_i for the polynomial through (xs[i], y_i)."""
    return gf256.lagrange_coefficients(xs, at)


def _differs(points: Sequence[memoryview], coefficients: Sequence[int], target: memoryview) -> bool:
    """Whether sum c_i * y_i (byte by byte over the y-bytes) differs anywhere from ``target``.

    Accumulates the difference instead of building the interpolated secret, so no copy of it is made.
    """
    return gf256.differs(points, coefficients, target)


def _interpolate(points: Sequence[memoryview], coefficients: Sequence[int], length: int) -> bytearray:
    out = bytearray(length)
    gf256.interpolate_into(out, points, coefficients)
    return out


def _x(share: Share) -> int:
    view = share.data.view()
    return int(view[len(view) - 1])


def _y(share: Share) -> memoryview:
    view = share.data.view()
    return view[: len(view) - 1]


# --- splitting ------------------------------------------------------------------------------------------
def check_split_parameters(m: int, n: int, secret_length: int = 1) -> None:
    """Raise :class:`SplitError` unless an m-of-n split of a ``secret_length``-byte secret is allowed."""
    if m < MIN_THRESHOLD:
        # PCI DSS 3.7.6: split knowledge needs at least two people to rebuild the key.
        raise SplitError(f"the threshold must be at least {MIN_THRESHOLD} (split knowledge), not {m}")
    if n > MAX_SHARES:
        raise SplitError(f"at most {MAX_SHARES} shares are possible, not {n}")
    if m > n:
        raise SplitError(f"the threshold ({m}) cannot exceed the number of shares ({n})")
    if secret_length < 1:
        raise SplitError("there is nothing to split: the secret is empty")


def _check_ids(key_id: str, split_id: str) -> None:
    for name, value in (("key id", key_id), ("split id", split_id)):
        if not is_id(value):
            raise SplitError(f"the {name} must be 10 characters of the ceremony id alphabet")


def split_secret(key: SecretBytes, key_id: str, split_id: str, m: int, n: int) -> list[Share]:
    """Split ``key`` into ``n`` Shamir shares, any ``m`` of which reconstruct it.

    Shares are numbered 1..n (their x-coordinates are a random choice of distinct values in 1..255, as
    Vault and pyshamir make it, unrelated to the number).
    Before returning, every m-subset is verified to reconstruct ``key`` (DESIGN §2: before any share is
    shown); if that ever fails, all shares are wiped and :class:`SplitError` is raised.
    """
    check_split_parameters(m, n, len(key))
    _check_ids(key_id, split_id)
    parts = gf256.split(key.view(), n, m)
    shares = [
        Share(key_id, split_id, Scheme.SHAMIR, m, n, number, SecretBytes.adopt(part))
        for number, part in enumerate(parts, start=1)
    ]
    try:
        verify_split(shares, key)
    except BaseException:
        for share in shares:
            share.wipe()
        raise
    return shares


def verify_split(shares: Sequence[Share], key: SecretBytes) -> None:
    """Check that every m-subset of ``shares`` reconstructs ``key``; :class:`SplitError` if not."""
    m = shares[0].threshold
    _check_share_set(shares)
    target = key.view()
    if any(len(share.data) != len(target) + 1 for share in shares):
        raise SplitError("the split did not verify (share length); no share was released")
    # The recovery path itself (gf256.combine, as combine_shares uses it) on one m-subset before release.
    recovered = gf256.combine([share.data.view() for share in shares[:m]])
    try:
        if not hmac.compare_digest(recovered, target):
            raise SplitError("the split did not verify (combine); no share was released")
    finally:
        gf256.wipe(recovered)
    xs = [_x(share) for share in shares]
    ys = [_y(share) for share in shares]
    if math.comb(len(shares), m) <= MAX_ENUMERATED_SUBSETS:
        for subset in itertools.combinations(range(len(shares)), m):
            coefficients = _lagrange_coefficients([xs[i] for i in subset], 0)
            if _differs([ys[i] for i in subset], coefficients, target):
                numbers = ", ".join(str(shares[i].number) for i in subset)
                raise SplitError(f"shares {numbers} did not reconstruct the key; no share was released")
        return
    base = list(range(m))
    if _differs([ys[i] for i in base], _lagrange_coefficients([xs[i] for i in base], 0), target):
        raise SplitError("the split did not verify; no share was released")
    for other in range(m, len(shares)):
        coefficients = _lagrange_coefficients([xs[i] for i in base], xs[other])
        if _differs([ys[i] for i in base], coefficients, ys[other]):
            raise SplitError(f"share {shares[other].number} is inconsistent; no share was released")


# --- checks before combining ----------------------------------------------------------------------------
def _check_share_set(shares: Sequence[Share]) -> None:
    """Foreign, malformed and duplicate shares, each with its own error. Does not check the count."""
    if not shares:
        raise BelowThresholdError("no shares were offered")
    first = shares[0]
    for share in shares:
        if share.scheme is not Scheme.SHAMIR:
            raise ForeignShareError(f"{share.label} is an XOR component, not a Shamir share")
        if share.key_id != first.key_id:
            raise ForeignShareError(
                f"share {share.number} belongs to key {share.key_id}, not key {first.key_id}"
            )
        if share.split_id != first.split_id:
            raise ForeignShareError(
                f"share {share.number} belongs to split {share.split_id}, not split {first.split_id}"
            )
        if (share.threshold, share.count) != (first.threshold, first.count):
            raise ForeignShareError(
                f"share {share.number} is from a {share.threshold}-of-{share.count} split, "
                f"the others from a {first.threshold}-of-{first.count} split"
            )
    for share in shares:
        if not 1 <= share.number <= share.count:
            raise MalformedShareError(f"share number {share.number} is outside 1..{share.count}")
        if len(share.data) < 2:
            raise MalformedShareError(f"share {share.number} is too short to be a share")
        if len(share.data) != len(first.data):
            raise MalformedShareError(
                f"share {share.number} has {len(share.data)} bytes, share {first.number} has "
                f"{len(first.data)}: they cannot be shares of the same key"
            )
        if _x(share) == 0:
            raise MalformedShareError(f"share {share.number} has x-coordinate 0, which no real share has")
    seen_numbers: set[int] = set()
    seen_x: dict[int, int] = {}
    for share in shares:
        if share.number in seen_numbers:
            raise DuplicateShareError(f"share {share.number} was offered twice")
        seen_numbers.add(share.number)
        x = _x(share)
        if x in seen_x:
            raise DuplicateShareError(
                f"shares {seen_x[x]} and {share.number} have the same x-coordinate: "
                "one is a copy of the other"
            )
        seen_x[x] = share.number


def check_shares(shares: Sequence[Share]) -> None:
    """Everything :func:`combine_shares` checks before combining: foreign, malformed, duplicate, too few."""
    _check_share_set(shares)
    m = shares[0].threshold
    if len(shares) < m:
        raise BelowThresholdError(
            f"{len(shares)} share(s) offered; this split needs {m} of its {shares[0].count}"
        )


# --- combining ------------------------------------------------------------------------------------------
def combine_shares(
    shares: Sequence[Share],
    expected_kcv: KeyCheckValue,
    commitments: Mapping[int, bytes] | None = None,
) -> SecretBytes:
    """Reconstruct the key from at least m shares and check it against the registered KCV.

    ``commitments`` (share number → commitment from the ledger), when given, are checked first so a bad
    share is named before anything is combined. Exactly m shares are combined. If the result
    fails the KCV and more than m shares were offered, the share(s) that do not fit are named
    (:class:`BadShareError`); with exactly m, :class:`KCVMismatchError`. Extra shares beyond m are also
    checked against the recovered key, so a bad extra share is never silently accepted.
    """
    check_shares(shares)
    if commitments is not None:
        check_commitments(shares, commitments)
    ordered = sorted(shares, key=lambda s: s.number)
    m = ordered[0].threshold
    chosen, extra = ordered[:m], ordered[m:]
    secret = SecretBytes.adopt(gf256.combine([share.data.view() for share in chosen]))
    if kcv_by_method(expected_kcv.method, secret).matches(expected_kcv):
        misfits = _misfits(chosen, extra)
        if misfits:
            secret.wipe()
            raise _bad_share_error(misfits)
        return secret
    secret.wipe()
    if not extra:
        raise KCVMismatchError(
            f"the {m} shares offered do not reconstruct the registered key (KCV {expected_kcv.hex}): "
            "at least one is mistyped, damaged or from another split"
        )
    raise _locate_bad_shares(ordered, expected_kcv)


def _misfits(good: Sequence[Share], others: Iterable[Share]) -> list[int]:
    """Numbers of the shares in ``others`` that do not lie on the polynomial through ``good``."""
    xs = [_x(share) for share in good]
    ys = [_y(share) for share in good]
    return [
        share.number for share in others if _differs(ys, _lagrange_coefficients(xs, _x(share)), _y(share))
    ]


def _bad_share_error(numbers: Sequence[int]) -> BadShareError:
    listed = ", ".join(str(n) for n in numbers)
    subject = f"share {listed} does" if len(numbers) == 1 else f"shares {listed} do"
    return BadShareError(
        f"{subject} not fit the others: mistyped, damaged or from another split", tuple(numbers)
    )


def _locate_bad_shares(ordered: Sequence[Share], expected_kcv: KeyCheckValue) -> Exception:
    m = ordered[0].threshold
    length = len(ordered[0].data) - 1
    xs = [_x(share) for share in ordered]
    ys = [_y(share) for share in ordered]
    for tried, subset in enumerate(itertools.combinations(range(len(ordered)), m)):
        if tried >= MAX_SEARCHED_SUBSETS:
            break
        candidate = SecretBytes.adopt(
            _interpolate([ys[i] for i in subset], _lagrange_coefficients([xs[i] for i in subset], 0), length)
        )
        with candidate:
            if kcv_by_method(expected_kcv.method, candidate).matches(expected_kcv):
                good = [ordered[i] for i in subset]
                rest = [share for i, share in enumerate(ordered) if i not in subset]
                misfits = _misfits(good, rest)
                if misfits:
                    return _bad_share_error(misfits)
                break
    return KCVMismatchError(
        f"no {m} of the {len(ordered)} shares offered reconstruct the registered key "
        f"(KCV {expected_kcv.hex}): too many of them are wrong to say which"
    )


# --- commitments ----------------------------------------------------------------------------------------
def _field(data: bytes | memoryview) -> bytes:
    return len(data).to_bytes(4, "big")


def share_commitment(share: Share) -> bytes:
    """SHA-256 over (domain tag, split id, share number, share bytes), each length-prefixed (4 bytes BE).

    The ledger keeps one per issued share, so a share can be checked on its own at the verification round,
    at reaffirmation and before combining. The share bytes are fed from their buffer, never copied.
    """
    split_id = share.split_id.encode("utf-8")
    number = share.number.to_bytes(2, "big")
    data = share.data.view()
    digest = hashlib.sha256()
    for part in (COMMITMENT_TAG, split_id, number):
        digest.update(_field(part))
        digest.update(part)
    digest.update(_field(data))
    digest.update(data)
    return digest.digest()


def check_commitment(share: Share, commitment: bytes) -> None:
    """Raise :class:`BadShareError` naming the share unless it matches its recorded commitment."""
    if not hmac.compare_digest(share_commitment(share), commitment):
        raise BadShareError(
            f"share {share.number} is not the share that was issued (its commitment does not match): "
            "mistyped, damaged or from another split",
            (share.number,),
        )


def check_commitments(shares: Iterable[Share], commitments: Mapping[int, bytes]) -> None:
    """Check each share against the commitment recorded for its number; a missing one is refused too."""
    for share in shares:
        if share.number not in commitments:
            raise BadShareError(f"no commitment is recorded for share {share.number}", (share.number,))
        check_commitment(share, commitments[share.number])
