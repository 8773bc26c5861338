"""Regenerate codec_vectors.json: fixed shares -> their typed form (share codec format version 1).

    .venv/bin/python tests/vectors/generate_codec_vectors.py

The share bytes are fixed (not random) so the file is reproducible. tests/crypto/test_codec.py walks every
vector both ways and recomputes each typed form with an independent reference implementation, so a change
to the codec that alters the printed form fails the tests until this file is regenerated on purpose.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ceremony.crypto.codec import encode_share
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share

HERE = Path(__file__).resolve().parent


def _bytes(label: str, length: int) -> bytes:
    # Deterministic filler bytes: SHA-256 in counter mode over a label (these are test shares, not secrets).
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


CASES = [
    # (comment, key_id, split_id, scheme, m, n, number, data)
    (
        "AES-128 key, 2-of-3 Shamir share (16 y-bytes + x)",
        "0000000000",
        "1111111111",
        Scheme.SHAMIR,
        2,
        3,
        1,
        _bytes("aes128", 16) + b"\x07",
    ),
    (
        "AES-256 key, 3-of-5 Shamir share",
        "7K3M9X2QPA",
        "4H8N2C6R1T",
        Scheme.SHAMIR,
        3,
        5,
        4,
        _bytes("aes256", 32) + b"\xc4",
    ),
    (
        "64-byte HMAC secret, 5-of-9 Shamir share (65 bytes)",
        "ZZZZZZZZZZ",
        "ABCDEFGHJK",
        Scheme.SHAMIR,
        5,
        9,
        9,
        _bytes("hmac64", 64) + b"\xfe",
    ),
    (
        "largest header values: 255-of-255, share 255",
        "MNPQRSTVWX",
        "YZ01234567",
        Scheme.SHAMIR,
        255,
        255,
        255,
        _bytes("max", 33),
    ),
    (
        "TDES double-length XOR component 2 of 3",
        "89ABCDEFGH",
        "JKMNPQRSTV",
        Scheme.XOR,
        3,
        3,
        2,
        _bytes("tdes2", 16),
    ),
    (
        "TDES triple-length XOR component 1 of 2",
        "0123456789",
        "9876543210",
        Scheme.XOR,
        2,
        2,
        1,
        _bytes("tdes3", 24),
    ),
    ("one byte (shortest body)", "AAAAAAAAAA", "BBBBBBBBBB", Scheme.XOR, 2, 2, 2, b"\x80"),
    (
        "all-zero and all-one bytes",
        "CCCCCCCCCC",
        "DDDDDDDDDD",
        Scheme.SHAMIR,
        2,
        2,
        1,
        b"\x00" * 8 + b"\xff" * 8,
    ),
]


def main() -> None:
    vectors = []
    for comment, key_id, split_id, scheme, m, n, number, data in CASES:
        share = Share(key_id, split_id, scheme, m, n, number, SecretBytes(data))
        typed = encode_share(share)
        vectors.append(
            {
                "comment": comment,
                "key_id": key_id,
                "split_id": split_id,
                "scheme": scheme.value,
                "threshold": m,
                "count": n,
                "number": number,
                "share_hex": data.hex(),
                "typed": bytes(typed.view()).decode("ascii"),
            }
        )
    doc = {
        "description": "ceremony share codec v1: fixed shares and their typed form (= QR payload)",
        "generator": "tests/vectors/generate_codec_vectors.py",
        "vectors": vectors,
    }
    (HERE / "codec_vectors.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
