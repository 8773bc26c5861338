"""Shamir split + verify-every-m-subset + combine for a 32-byte key (issue 2 closing figures).

    scripts/bench split            # or: .venv/bin/python scripts/benchmarks/split.py

Rows per scheme (2-of-3, 3-of-5, 5-of-9):
  split+verify      ``split_secret``: pyshamir split, one pyshamir combine cross-check, and our
                    table-driven check that all C(n, m) subsets reconstruct;
  of which verify   ``verify_split`` alone (every check done before a share is released);
  combine           ``combine_shares`` on m shares (pyshamir combine + KCV check);
  total             split+verify then combine.
Median of at least 5 runs after a warm-up.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for `bench`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for `ceremony`

from bench import median_time

from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import kcv_for
from ceremony.crypto.keys import KeyType, generate_key
from ceremony.crypto.shamir import combine_shares, split_secret, verify_split

SCHEMES = ((2, 3), (3, 5), (5, 9))


def _scheme_rows(m: int, n: int, runs: int) -> list[dict]:
    key = generate_key(KeyType.AES_256)
    kcv = kcv_for(KeyType.AES_256, key)
    key_id, split_id = new_id(), new_id()
    shares = split_secret(key, key_id, split_id, m, n)

    def split() -> None:
        for share in split_secret(key, key_id, split_id, m, n):
            share.wipe()

    def verify() -> None:
        verify_split(shares, key)

    def combine() -> None:
        combine_shares(shares[n - m :], kcv).wipe()

    def total() -> None:
        made = split_secret(key, key_id, split_id, m, n)
        combine_shares(made[:m], kcv).wipe()
        for share in made:
            share.wipe()

    extra = {"runs": runs, "subsets_verified": math.comb(n, m), "key_bytes": 32}
    rows = []
    for name, fn in (
        ("split+verify", split),
        ("  of which verify", verify),
        ("combine", combine),
        ("total", total),
    ):
        median, _ = median_time(fn, runs)
        rows.append({"group": "split", "name": f"{m}-of-{n} {name}", "median_s": median, **extra})
    return rows


def run(quick: bool) -> list[dict]:
    runs = 5 if quick else 9
    return [row for m, n in SCHEMES for row in _scheme_rows(m, n, runs)]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']:<28} {row['median_s'] * 1000:8.1f} ms  (C(n,m) = {row['subsets_verified']})")
