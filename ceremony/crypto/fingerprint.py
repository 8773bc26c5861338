"""Certificate fingerprints people can read back (issue 15: pinning the signer of an evidence bundle).

A fingerprint is the SHA-256 of a DER certificate: 64 hex digits. Printed for people (on screen, in the
``ceremony export`` output, on paper) it is 16 groups of four uppercase hex digits, the way the ledger
anchor prints its hashes (:func:`ceremony.ledger.anchor.group`)::

    EECB 4FEB 0B49 CA0F 6A1D 93E2 ...

:func:`parse_fingerprint` takes it back as printed: any white space or line breaks, ``:`` or ``-`` between
groups, any case. A prefix (the 16 digits some screens show) is refused: a prefix pins nobody.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from ceremony.errors import InputError

HEX_DIGITS: Final = 64
GROUP: Final = 4
_SEPARATORS = re.compile(r"[\s:\-]+")
_HEX = re.compile(r"[0-9a-f]+")


class FingerprintFormatError(InputError):
    """The text is not a whole SHA-256 certificate fingerprint."""


def sha256_hex(der: bytes) -> str:
    """The fingerprint of a DER certificate: SHA-256, lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def printed(fingerprint: str) -> str:
    """``eecb4feb...`` as ``EECB 4FEB ...``: 16 groups of four, one space between groups."""
    upper = fingerprint.upper()
    return " ".join(upper[i : i + GROUP] for i in range(0, len(upper), GROUP))


def parse_fingerprint(text: str, what: str = "--officer-cert-sha256") -> str:
    """The fingerprint in ``text`` (as printed: any grouping, spacing, case), lowercase hex.

    :raises FingerprintFormatError: not hex, or fewer or more than 64 hex digits (a prefix is refused).
    """
    compact = _SEPARATORS.sub("", text).lower()
    if compact.startswith("sha256"):
        compact = compact[len("sha256") :]
    if not compact or not _HEX.fullmatch(compact):
        raise FingerprintFormatError(
            f"{what}: a certificate fingerprint is {HEX_DIGITS} hex digits (0-9, A-F), printed in 16 groups "
            "of four by `ceremony export`; give it as printed (spaces and case do not matter)"
        )
    if len(compact) < HEX_DIGITS:
        raise FingerprintFormatError(
            f"{what}: {len(compact)} hex digits is only a prefix of a fingerprint and pins nobody; give all "
            f"{HEX_DIGITS} hex digits (16 groups of four, as `ceremony export` prints them)"
        )
    if len(compact) > HEX_DIGITS:
        raise FingerprintFormatError(
            f"{what}: {len(compact)} hex digits is more than a SHA-256 fingerprint holds; give exactly "
            f"{HEX_DIGITS} (16 groups of four, as `ceremony export` prints them)"
        )
    return compact


__all__ = ["FingerprintFormatError", "parse_fingerprint", "printed", "sha256_hex"]
