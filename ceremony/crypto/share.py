"""One share or component, as a value: which key and split it belongs to, its number, its bytes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ceremony.crypto.secret import SecretBytes


class Scheme(StrEnum):
    SHAMIR = "shamir"  # m-of-n, pyshamir / HashiCorp Vault share bytes: y-bytes || x-byte
    XOR = "xor"  # n-of-n full-length components, key = XOR of all


@dataclass(frozen=True, eq=False, repr=False)
class Share:
    """A share of one split. ``number`` (1..count) is the custodian-facing share number; for Shamir shares
    the x-coordinate is the last byte of ``data`` and is unrelated to ``number``."""

    key_id: str
    split_id: str
    scheme: Scheme
    threshold: int  # m; equals count for XOR
    count: int  # n
    number: int
    data: SecretBytes

    def common_parameters(self) -> tuple[str, str, Scheme, int, int]:
        """What makes shares belong together (same split)."""
        return (self.key_id, self.split_id, self.scheme, self.threshold, self.count)

    @property
    def label(self) -> str:
        return f"share {self.number} of {self.count}"

    def __repr__(self) -> str:
        return (
            f"Share(key_id={self.key_id!r}, split_id={self.split_id!r}, scheme={self.scheme.value}, "
            f"{self.threshold}-of-{self.count}, number={self.number}, data={self.data!r})"
        )

    __str__ = __repr__

    def wipe(self) -> None:
        self.data.wipe()
