"""Issue 15: the officer's certificate fingerprint, printed in groups people read back, parsed as printed."""

from __future__ import annotations

import pytest

from ceremony.crypto.fingerprint import FingerprintFormatError, parse_fingerprint, printed

FP = "eecb4feb0b49ca0f" + "0123456789abcdef" * 3


def test_printed_is_sixteen_groups_of_four_and_reads_back() -> None:
    shown = printed(FP)
    assert shown.split() == [FP.upper()[i : i + 4] for i in range(0, 64, 4)]
    assert parse_fingerprint(shown) == FP
    assert parse_fingerprint(shown.lower().replace(" ", "\n  ")) == FP
    assert parse_fingerprint(":".join(FP[i : i + 2] for i in range(0, 64, 2))) == FP


@pytest.mark.parametrize("prefix", [FP[:16], printed(FP)[:19], FP[:63]])
def test_a_prefix_is_refused_asking_for_all_64_digits(prefix: str) -> None:
    with pytest.raises(FingerprintFormatError, match="all 64 hex digits"):
        parse_fingerprint(prefix)


@pytest.mark.parametrize("bad", ["", "zz" * 32, FP + "00"])
def test_not_a_fingerprint_is_refused(bad: str) -> None:
    with pytest.raises(FingerprintFormatError):
        parse_fingerprint(bad)
