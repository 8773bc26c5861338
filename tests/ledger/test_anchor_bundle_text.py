"""Issue 15: `verify --anchor "$(cat anchor.txt)"` reads a bundle's anchor.txt (the line, then the printed
form) as one anchor; two different anchors in one text are refused."""

from __future__ import annotations

import pytest

from ceremony.ledger.anchor import Anchor, AnchorFormatError

A = Anchor("99YBY4XZKE", bytes(range(32)), "ab" * 32)
B = Anchor("99YBY4XZKE", bytes(32), "ab" * 32)


def test_anchor_txt_with_both_forms_is_one_anchor() -> None:
    text = A.text() + "\n\n" + "\n".join(A.grouped()) + "\n"
    assert Anchor.parse(text) == A
    assert Anchor.parse(text.lower()) == A


def test_two_different_anchors_are_refused() -> None:
    with pytest.raises(AnchorFormatError, match="two different"):
        Anchor.parse(A.text() + "\n" + "\n".join(B.grouped()))
