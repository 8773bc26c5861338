"""Wipeable secret buffers.

Secrets live in ``bytearray``s that are zeroed after use, never in ``str`` or ``bytes`` (which cannot be
wiped), never in a repr, log line or exception message (DESIGN §2).
"""

from __future__ import annotations

import hmac
import io
import os
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO, Self


class SecretBytes:
    """A mutable secret byte string with an explicit :meth:`wipe`.

    ``repr``/``str`` show only the length. Use as a context manager to wipe on exit. Equality is
    constant-time. Access the bytes through :meth:`view` (a memoryview, no copy) or :meth:`buffer`.
    """

    __slots__ = ("_buf", "_wiped")

    def __init__(self, data: bytes | bytearray | memoryview | int) -> None:
        if isinstance(data, int):
            self._buf = bytearray(data)
        else:
            self._buf = bytearray(data)
        self._wiped = False

    @classmethod
    def adopt(cls, buf: bytearray) -> SecretBytes:
        """Take ownership of ``buf`` without copying it (the caller must not keep using it)."""
        obj = cls.__new__(cls)
        obj._buf = buf
        obj._wiped = False
        return obj

    def __len__(self) -> int:
        return len(self._buf)

    def __repr__(self) -> str:
        state = "wiped" if self._wiped else f"{len(self._buf)} bytes"
        return f"<{type(self).__name__} {state}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretBytes):
            return hmac.compare_digest(self._buf, other._buf)
        return NotImplemented

    def __hash__(self) -> int:
        raise TypeError("SecretBytes is not hashable")

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("SecretBytes cannot be pickled")

    def __iter__(self) -> Iterator[int]:
        raise TypeError("iterate over SecretBytes.view() explicitly")

    @property
    def wiped(self) -> bool:
        return self._wiped

    def _check(self) -> None:
        if self._wiped:
            raise ValueError("secret already wiped")

    def view(self) -> memoryview:
        """A zero-copy view of the secret bytes."""
        self._check()
        return memoryview(self._buf)

    def buffer(self) -> bytearray:
        """The underlying bytearray (not a copy): for APIs that need a bytearray."""
        self._check()
        return self._buf

    def copy(self) -> SecretBytes:
        self._check()
        return SecretBytes(self._buf)

    def wipe(self) -> None:
        """Overwrite the buffer with zeros. Idempotent."""
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._wiped = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()

    def __del__(self) -> None:
        # Best effort: a forgotten secret is still zeroed when collected.
        try:
            self.wipe()
        except Exception:  # noqa: S110 - never raise from a finalizer
            pass


class SecretTooLongError(ValueError):
    """More than the allowed number of bytes was offered; what was read has been wiped."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def wipe_buffer(buf: bytearray) -> None:
    """Zero ``buf`` in place (its length and address unchanged)."""
    for i in range(len(buf)):
        buf[i] = 0


def read_bounded(source: BinaryIO | int, limit: int, *, scratch: bytearray | None = None) -> SecretBytes:
    """Read ``source`` to its end into one buffer allocated up front, never grown (growing a bytearray can
    move it and leave the old copy behind unwiped), and return the bytes read as :class:`SecretBytes`.

    ``source`` is a file descriptor or a binary stream; a stream with a file descriptor is read with
    ``os.readv`` straight into the buffer, bypassing its buffered layer (which would keep a copy). The
    buffer has ``limit + 1`` bytes so "exactly full" and "too long" differ: more than ``limit`` bytes
    raises :class:`SecretTooLongError` (the reading stops there). ``scratch`` (``limit + 1`` bytes) is
    used as that buffer when given; it is wiped on every path, success included — the result is a copy
    of exactly the bytes read.
    """
    buf = bytearray(limit + 1) if scratch is None else scratch
    if len(buf) != limit + 1:
        raise ValueError("the scratch buffer must hold limit + 1 bytes")
    fd: int | None = source if isinstance(source, int) else None
    if fd is None:
        try:
            fd = source.fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError, io.UnsupportedOperation):
            fd = None
    view = memoryview(buf)
    filled = 0
    try:
        while filled < len(buf):
            if fd is not None:
                count = os.readv(fd, [view[filled:]])
            else:
                count = source.readinto(view[filled:]) or 0  # type: ignore[union-attr]
            if count <= 0:
                break
            filled += count
        if filled > limit:
            raise SecretTooLongError(limit)
        return SecretBytes(view[:filled])
    finally:
        view.release()
        wipe_buffer(buf)
