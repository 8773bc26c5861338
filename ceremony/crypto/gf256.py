"""Shamir secret sharing over GF(2^8), in HashiCorp Vault's share format, on wipeable buffers.

Why in-project: ``pyshamir`` keeps each key byte, with that byte's random coefficients, in a ``Polynomial``
bytearray it never wipes (and builds them from ``secrets.token_bytes``, an immutable ``bytes``). Here every
buffer that holds key bytes or coefficients is a ``bytearray`` this module allocates once, fills in place and
zeroes before returning, on every path. pyshamir stays as the test oracle (tests/crypto/test_gf256.py): our
shares combine under ``pyshamir.combine`` and its shares combine under ours.

Format and field (the same as Vault's ``shamir`` package and pyshamir):

* GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B); addition is XOR;
* a share is the y-bytes (one per secret byte, the value at x of that byte's polynomial of degree m - 1,
  whose constant term is the secret byte) followed by one x byte; x is in 1..255 (x = 0 would be the
  secret itself), distinct per share, chosen at random like Vault does.

Timing: :func:`mul` is the branch-free shift-and-add multiply of Vault's ``mult`` (no table indexed by a
secret, no data-dependent branch), and :func:`inverse` is a fixed addition chain for a^254, so the sequence
of operations does not depend on the operands. That is "constant-time-ish" only: CPython's integers, its
small-int cache and its interpreter make no timing promise. Lagrange coefficients depend only on the public
x-coordinates. Python ``int`` temporaries (a byte of a secret as a small int) cannot be wiped; see README.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

POLYNOMIAL = 0x11B  # x^8 + x^4 + x^3 + x + 1, the AES field (Vault, pyshamir)
MAX_SHARES = 255

# Fills a buffer with random bytes in place (tests pass a deterministic one for known answers).
RandomFill = Callable[[memoryview], None]


def wipe(buf: bytearray | memoryview) -> None:
    """Zero ``buf`` in place."""
    for i in range(len(buf)):
        buf[i] = 0


# --- the field ------------------------------------------------------------------------------------------
def mul(a: int, b: int) -> int:
    """a * b in GF(2^8): eight fixed rounds of shift-and-add, reduction by mask (no branch, no table)."""
    r = 0
    r = (-((b >> 7) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 6) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 5) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 4) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 3) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 2) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-((b >> 1) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    r = (-(b & 1) & a) ^ (-(r >> 7) & 0x1B) ^ ((r << 1) & 0xFF)
    return r & 0xFF


def inverse(a: int) -> int:
    """a^-1 = a^254 by a fixed chain of multiplications (Vault's ``inverse``); the inverse of 0 is 0."""
    b = mul(a, a)  # a^2
    c = mul(a, b)  # a^3
    b = mul(c, c)  # a^6
    b = mul(b, b)  # a^12
    c = mul(b, c)  # a^15
    b = mul(b, b)  # a^24
    b = mul(b, b)  # a^48
    b = mul(b, c)  # a^63
    b = mul(b, b)  # a^126
    b = mul(a, b)  # a^127
    return mul(b, b)  # a^254


def div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    return mul(a, inverse(b))


def lagrange_coefficients(xs: Sequence[int], at: int = 0) -> list[int]:
    """Coefficients c_i with P(at) = sum c_i * y_i for the polynomial of degree < len(xs) through the points
    (xs[i], y_i). Depends only on the (public) x-coordinates, which must be distinct."""
    if len(set(xs)) != len(xs):
        raise ValueError("x-coordinates must be distinct")
    coefficients = []
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                numerator = mul(numerator, at ^ xj)
                denominator = mul(denominator, xi ^ xj)
        coefficients.append(div(numerator, denominator))
    return coefficients


# --- randomness -------------------------------------------------------------------------------------------
def random_fill(buf: memoryview) -> None:
    """Fill ``buf`` from the OS CSPRNG in place: ``/dev/urandom`` read straight into the buffer (the same
    pool as ``os.urandom``/``secrets``, without an intermediate immutable ``bytes``)."""
    try:
        fd = os.open("/dev/urandom", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        fd = -1
    if fd < 0:  # no /dev/urandom (not Linux): os.urandom, the copy is a bytes we cannot wipe
        buf[:] = os.urandom(len(buf))
        return
    try:
        filled = 0
        while filled < len(buf):
            count = os.readv(fd, [buf[filled:]])
            if count <= 0:
                raise OSError("/dev/urandom returned nothing")
            filled += count
    finally:
        os.close(fd)


def random_x_coordinates(n: int) -> list[int]:
    """``n`` distinct x-coordinates in 1..255, in random order (as Vault and pyshamir choose them)."""
    import secrets

    return secrets.SystemRandom().sample(range(1, MAX_SHARES + 1), n)


# --- splitting and combining --------------------------------------------------------------------------------
def split(
    secret: bytearray | memoryview,
    n: int,
    m: int,
    *,
    x_coordinates: Sequence[int] | None = None,
    coefficients: bytearray | None = None,
    fill: RandomFill = random_fill,
) -> list[bytearray]:
    """Split ``secret`` into ``n`` shares (y-bytes || x), any ``m`` of which rebuild it; 2 <= m <= n <= 255.

    Each secret byte gets its own polynomial of degree m - 1 with random coefficients. All the random
    coefficients live in one buffer of ``len(secret) * (m - 1)`` bytes (``coefficients`` if given, else
    allocated here), filled in place by ``fill`` and wiped before returning, also on error. The shares are
    new bytearrays the caller owns (and wipes). ``x_coordinates`` (distinct, 1..255) default to random.
    """
    length = len(secret)
    if length < 1:
        raise ValueError("the secret is empty")
    if not 2 <= m <= n <= MAX_SHARES:
        raise ValueError(f"need 2 <= m <= n <= {MAX_SHARES}")
    xs = list(random_x_coordinates(n) if x_coordinates is None else x_coordinates)
    if len(xs) != n or len(set(xs)) != n or not all(1 <= x <= MAX_SHARES for x in xs):
        raise ValueError("x-coordinates must be n distinct values in 1..255")
    degree = m - 1
    coeffs = bytearray(length * degree) if coefficients is None else coefficients
    if len(coeffs) != length * degree:
        raise ValueError("the coefficient buffer must hold len(secret) * (m - 1) bytes")
    shares = [bytearray(length + 1) for _ in range(n)]
    view = memoryview(coeffs)
    try:
        fill(view)
        for share, x in zip(shares, xs, strict=True):
            share[length] = x
        for index in range(length):
            base = index * degree
            for share, x in zip(shares, xs, strict=True):
                # Horner, from the highest coefficient down to the secret byte (the constant term).
                y = 0
                for k in range(base + degree - 1, base - 1, -1):
                    y = mul(y, x) ^ coeffs[k]
                share[index] = mul(y, x) ^ secret[index]
    except BaseException:
        for share in shares:
            wipe(share)
        raise
    finally:
        view.release()
        wipe(coeffs)
    return shares


def _check_parts(parts: Sequence[bytearray | bytes | memoryview]) -> list[int]:
    if len(parts) < 2:
        raise ValueError("at least two shares are needed")
    length = len(parts[0])
    if length < 2:
        raise ValueError("a share has at least two bytes")
    if any(len(part) != length for part in parts):
        raise ValueError("the shares are not all the same length")
    xs = [part[length - 1] for part in parts]
    if 0 in xs:
        raise ValueError("x-coordinate 0 is not a share")
    if len(set(xs)) != len(xs):
        raise ValueError("two shares have the same x-coordinate")
    return xs


def interpolate_into(
    out: bytearray | memoryview,
    ys: Sequence[bytearray | bytes | memoryview],
    coefficients: Sequence[int],
) -> None:
    """out[i] = sum_j coefficients[j] * ys[j][i] for every i < len(out), written in place."""
    for index in range(len(out)):
        acc = 0
        for c, y in zip(coefficients, ys, strict=True):
            acc ^= mul(c, y[index])
        out[index] = acc


def differs(
    ys: Sequence[bytearray | bytes | memoryview],
    coefficients: Sequence[int],
    target: bytearray | bytes | memoryview,
) -> bool:
    """Whether sum_j coefficients[j] * ys[j] differs anywhere from ``target``, without building the sum
    (so no copy of an interpolated secret is made); every byte is visited."""
    diff = 0
    for index in range(len(target)):
        acc = 0
        for c, y in zip(coefficients, ys, strict=True):
            acc ^= mul(c, y[index])
        diff |= acc ^ target[index]
    return diff != 0


def combine(parts: Sequence[bytearray | bytes | memoryview], out: bytearray | None = None) -> bytearray:
    """Rebuild the secret from shares in Vault's format (Lagrange interpolation at x = 0).

    Like Vault and pyshamir it cannot know the threshold: too few or foreign shares give a wrong secret
    (``ceremony.crypto.shamir`` refuses those first and checks the KCV after). The result is written into
    ``out`` (``len(share) - 1`` bytes) when given, else into a new bytearray, which is returned; no other
    buffer holding secret bytes is allocated.
    """
    xs = _check_parts(parts)
    length = len(parts[0]) - 1
    result = bytearray(length) if out is None else out
    if len(result) != length:
        raise ValueError("the output buffer must hold len(share) - 1 bytes")
    try:
        interpolate_into(result, [memoryview(part)[:length] for part in parts], lagrange_coefficients(xs))
    except BaseException:
        wipe(result)
        raise
    return result
