"""XOR key components: n-of-n splitting, the payment-HSM practice (DESIGN §2; PCI DSS 3.6.1.2, 3.7.6).

Each of the n components is as long as the key and looks random; the key is the XOR of all of them, so any
n - 1 components say nothing about it. None is all zero and no two are equal (either would put the key, or
part of the work, in fewer hands). TDES components carry odd parity like a TDES key, and the parity of the
XOR is fixed afterwards (XOR of an even number of odd-parity bytes has even parity). Each component has its
own KCV, computed with the key's method, so a custodian can check the component they hold.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from ceremony.crypto.ids import is_id
from ceremony.crypto.kcv import KeyCheckValue, check_kcv, kcv_for
from ceremony.crypto.keys import Key, KeyType, key_length, set_odd_parity
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import (
    BelowThresholdError,
    DuplicateShareError,
    ForeignShareError,
    InputError,
    KeyMaterialError,
    MalformedShareError,
    SplitError,
)

MIN_COMPONENTS = 2
MAX_COMPONENTS = 9


def _significant(byte: int, tdes: bool) -> int:
    # For TDES the low bit of each byte is parity, not key: ignore it when comparing or testing for zero.
    return byte & 0xFE if tdes else byte


def _is_zero(data: memoryview | bytearray, tdes: bool) -> bool:
    return not any(_significant(b, tdes) for b in data)


def _equal(a: memoryview | bytearray, b: memoryview | bytearray, tdes: bool) -> bool:
    diff = 0
    for x, y in zip(a, b, strict=True):
        diff |= _significant(x ^ y, tdes)
    return diff == 0


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


def check_component_count(n: int) -> None:
    if not MIN_COMPONENTS <= n <= MAX_COMPONENTS:
        raise SplitError(f"a key is split into {MIN_COMPONENTS} to {MAX_COMPONENTS} XOR components, not {n}")


def split_components(key: Key, key_id: str, split_id: str, n: int) -> list[Share]:
    """Split ``key`` into ``n`` XOR components (Shares numbered 1..n, threshold = count = n)."""
    check_component_count(n)
    for name, value in (("key id", key_id), ("split id", split_id)):
        if not is_id(value):
            raise SplitError(f"the {name} must be 10 characters of the ceremony id alphabet")
    tdes = key.key_type.is_tdes
    size = len(key)
    source = key.material.view()
    while True:
        parts = [bytearray(secrets.token_bytes(size)) for _ in range(n - 1)]
        last = bytearray(source)
        for part in parts:
            if tdes:
                set_odd_parity(part)
            for i in range(size):
                last[i] ^= part[i]
        if tdes:
            set_odd_parity(last)  # changes parity bits only, which combine re-derives
        parts.append(last)
        if _acceptable(parts, tdes):
            break
        for part in parts:
            _wipe(part)
    return [
        Share(key_id, split_id, Scheme.XOR, n, n, number, SecretBytes.adopt(part))
        for number, part in enumerate(parts, start=1)
    ]


def _acceptable(parts: Sequence[bytearray], tdes: bool) -> bool:
    if any(_is_zero(part, tdes) for part in parts):
        return False
    return not any(
        _equal(parts[i], parts[j], tdes) for i in range(len(parts)) for j in range(i + 1, len(parts))
    )


def component_kcv(component: Share | SecretBytes, key_type: KeyType) -> KeyCheckValue:
    """The KCV of one component, with the method of the key it belongs to."""
    data = component.data if isinstance(component, Share) else component
    return kcv_for(key_type, data)


def xor_components(
    components: Sequence[SecretBytes],
    key_type: KeyType,
    expected_kcv: KeyCheckValue | None = None,
    numbers: Sequence[int] | None = None,
) -> Key:
    """The key that is the XOR of ``components`` (e.g. typed in by custodians); TDES parity fixed.

    Refuses a wrong count, wrong lengths, an all-zero component and two equal components; the result must
    be a valid key of ``key_type`` and, when ``expected_kcv`` is given, match it (KCVMismatchError).
    ``numbers`` names the components in messages (default 1..n).
    """
    labels = list(numbers) if numbers is not None else list(range(1, len(components) + 1))
    if len(components) < MIN_COMPONENTS:
        raise BelowThresholdError(f"at least {MIN_COMPONENTS} components are needed, {len(components)} given")
    if len(components) > MAX_COMPONENTS:
        raise InputError(f"at most {MAX_COMPONENTS} components, {len(components)} given")
    size = key_length(key_type, len(components[0]) if key_type.fixed_length is None else None)
    tdes = key_type.is_tdes
    views = [component.view() for component in components]
    for label, view in zip(labels, views, strict=True):
        if len(view) != size:
            raise MalformedShareError(
                f"component {label} has {len(view)} bytes; a {key_type.value} component has {size}"
            )
        if _is_zero(view, tdes):
            raise KeyMaterialError(f"component {label} is all zeros")
    for i in range(len(views)):
        for j in range(i + 1, len(views)):
            if _equal(views[i], views[j], tdes):
                raise DuplicateShareError(f"components {labels[i]} and {labels[j]} are identical")
    out = bytearray(size)
    for view in views:
        for i in range(size):
            out[i] ^= view[i]
    if tdes:
        set_odd_parity(out)
    material = SecretBytes.adopt(out)
    try:
        key = Key(key_type, material)
        if expected_kcv is not None:
            check_kcv(material, expected_kcv, "the combined key")
    except BaseException:
        material.wipe()
        raise
    return key


def combine_components(
    components: Sequence[Share], key_type: KeyType, expected_kcv: KeyCheckValue | None = None
) -> Key:
    """Combine all n XOR components of one split; checks they belong together and none is missing."""
    if not components:
        raise BelowThresholdError("no components were offered")
    first = components[0]
    for share in components:
        if share.scheme is not Scheme.XOR:
            raise ForeignShareError(f"{share.label} is a Shamir share, not an XOR component")
        if (share.key_id, share.split_id) != (first.key_id, first.split_id):
            raise ForeignShareError(
                f"component {share.number} belongs to key {share.key_id} split {share.split_id}, "
                f"not key {first.key_id} split {first.split_id}"
            )
        if share.count != first.count or share.threshold != share.count:
            raise ForeignShareError(f"component {share.number} is from a split into {share.count} components")
        if not 1 <= share.number <= share.count:
            raise MalformedShareError(f"component number {share.number} is outside 1..{share.count}")
    seen: set[int] = set()
    for share in components:
        if share.number in seen:
            raise DuplicateShareError(f"component {share.number} was offered twice")
        seen.add(share.number)
    if len(components) < first.count:
        missing = sorted(set(range(1, first.count + 1)) - seen)
        raise BelowThresholdError(
            f"all {first.count} components are needed; missing: {', '.join(str(n) for n in missing)}"
        )
    ordered = sorted(components, key=lambda s: s.number)
    return xor_components(
        [share.data for share in ordered], key_type, expected_kcv, [share.number for share in ordered]
    )
