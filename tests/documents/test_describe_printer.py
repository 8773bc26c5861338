"""Where a share card goes, in the custodian's words (the card screen shows it; issue 14, 2.8)."""

from __future__ import annotations

import pytest

from ceremony.documents.printing import describe_printer


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("ram", "to a RAM folder (/dev/shm), for printing then wiping"),
        ("", "to a RAM folder (/dev/shm), for printing then wiping"),
        ("ram:/dev/shm/cards", "to a RAM folder (/dev/shm/cards), for printing then wiping"),
        ("lp", "to the default printer"),
        ("lp:HP-Vault", "to the printer HP-Vault"),
        ("/dev/usb/lp0", "to the printer device /dev/usb/lp0"),
    ],
)
def test_each_printer_spec_is_said_in_words(spec: str, words: str) -> None:
    assert describe_printer(spec) == words


def test_a_spec_the_printing_refuses_is_not_described_as_a_printer() -> None:
    words = describe_printer("smb://office")
    assert words.startswith("nowhere") and "'smb://office'" in words
