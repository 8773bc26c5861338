"""Canonical JSON: the one byte form of every payload that is hashed (DESIGN §5).

Rules, so that two programs (or two decades) produce the same bytes for the same event:

* objects with string keys sorted by Unicode code point, arrays in order, no insignificant whitespace
  (``separators=(",", ":")``), UTF-8 without ``\\u`` escapes for non-ASCII (``ensure_ascii=False``);
* every string (keys too) NFC-normalised before use, so "é" typed as one or two code points is one value;
  two keys that become equal after NFC are refused;
* values are ``null``, ``true``/``false``, integers within ±(2**53 - 1) (exact in every JSON reader),
  strings, arrays and objects. Floats are refused: their text form is not canonical across languages.

:func:`canonical_json` encodes, :func:`parse_canonical` decodes and refuses any text that is not already
in canonical form (a stored payload that re-encodes differently was written by someone else).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Union

from ceremony.errors import InputError

JSONValue = Union[None, bool, int, str, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007
JSONObject = dict[str, JSONValue]

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32


class CanonicalFormError(InputError):
    """A value cannot be put in canonical JSON (a float, a non-string key, a too-deep structure...)."""


def normalise(value: object, _depth: int = 0) -> JSONValue:
    """A copy of ``value`` with NFC strings, dict keys as str, tuples as lists; refuses the unencodable."""
    if _depth > MAX_DEPTH:
        raise CanonicalFormError(f"A ledger payload may nest at most {MAX_DEPTH} levels deep.")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalFormError("A ledger payload integer is outside ±(2**53 - 1).")
        return int(value)
    if isinstance(value, float):
        raise CanonicalFormError(
            "A ledger payload may not contain floating-point numbers; use integers or text."
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CanonicalFormError("A ledger payload string is not valid Unicode text.") from None
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalFormError("A ledger payload object may only have text keys.")
            nkey = normalise(key, _depth + 1)
            assert isinstance(nkey, str)
            if nkey in out:
                raise CanonicalFormError(f"A ledger payload has the key {nkey[:40]!r} twice (after NFC).")
            out[nkey] = normalise(item, _depth + 1)
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [normalise(item, _depth + 1) for item in value]
    raise CanonicalFormError(f"A ledger payload cannot hold a value of type {type(value).__name__}.")


def canonical_json(value: object) -> bytes:
    """The canonical UTF-8 bytes of ``value`` (see the module docstring)."""
    return canonical_text(value).encode("utf-8")


def canonical_text(value: object) -> str:
    return _ENCODER.encode(normalise(value))


def _refuse_constant(name: str) -> JSONValue:
    raise CanonicalFormError(f"{name} is not a canonical JSON value.")


def _refuse_float(text: str) -> JSONValue:
    raise CanonicalFormError("A ledger payload may not contain floating-point numbers.")


def _bounded_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalFormError("A ledger payload integer is outside ±(2**53 - 1).")
    return value


_DECODER = json.JSONDecoder(
    parse_float=_refuse_float, parse_constant=_refuse_constant, parse_int=_bounded_int
)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_canonical(text: str) -> JSONValue:
    """Decode ``text`` and check it is exactly the canonical form of what it decodes to.

    Equivalent to ``canonical_text(json.loads(text)) == text`` but faster (verify runs it on every event):
    floats and out-of-range integers are refused while parsing; the text as a whole must be NFC, which,
    as every string is delimited by '"' (a starter that composes with nothing), means every string is;
    and re-encoding must give the same text (sorted keys, no duplicates, no whitespace, no needless escapes).
    """
    try:
        value: JSONValue = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise CanonicalFormError(f"Not valid JSON (at character {exc.pos}).") from None
    except RecursionError:
        raise CanonicalFormError("JSON nested too deeply.") from None
    if not unicodedata.is_normalized("NFC", text):
        raise CanonicalFormError("The JSON text is not NFC-normalised.")
    if _ENCODER.encode(value) != text:
        raise CanonicalFormError("The JSON text is not in canonical form.")
    return value
