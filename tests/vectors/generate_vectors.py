"""Produce the KCV and CMAC known-answer files beside this script, using `openssl` as the independent tool.

    python tests/vectors/generate_vectors.py        # rewrites kcv_vectors.json and cmac_vectors.json

Nothing here imports ceremony: every expected value comes from the openssl command line, so the tests
compare our code against another implementation, not against itself.

kcv_vectors.json — one record per key:
  AES (X9.24-1:2017 KCV): ``openssl mac -cipher AES-<bits>-CBC -macopt hexkey:K -in <16 zero bytes> CMAC``,
      first 5 bytes. Includes the DESIGN §2 vector FA36E442...1F88 → D77F007724 (checked here too).
  TDES (X9.24-1:2017 KCV): ``openssl enc -des-ede -K K -nopad`` (double length, ECB) or ``-des-ede3``
      (triple length) on 8 zero bytes, first 3 bytes; double-length keys are cross-checked a second time as
      the triple-length key K1 K2 K1.
  GENERIC (our HMAC-SHA256-ZERO-BLOCK convention, ceremony/crypto/kcv.py):
      ``openssl mac -digest SHA256 -macopt hexkey:K -in <16 zero bytes> HMAC``, first 5 bytes.
  Keys are well-known test keys plus keys derived as SHA-256("ceremony kcv vector <name>") (TDES: odd parity
  set), so anyone can re-derive them.

commitment_vectors.json — share commitments (ceremony/crypto/shamir.py): the preimage is built here from the
  documented layout (each field preceded by its length as 4 bytes big-endian: the tag
  b"ceremony/share-commitment/v1", the split id in UTF-8, the share number as 2 bytes big-endian, the share
  bytes) and hashed by ``openssl dgst -sha256``.

cmac_vectors.json — the AES-CMAC examples of NIST SP 800-38B, Appendix D.1–D.3 (= RFC 4493 §4 for AES-128),
  written below as published; the script checks that openssl reproduces each before writing.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent

# NIST SP 800-38B (2005, updated 2016), Appendix D: the common message and the examples, as published.
NIST_MESSAGE = (
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
NIST_KEYS = {
    "AES-128": "2b7e151628aed2a6abf7158809cf4f3c",
    "AES-192": "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    "AES-256": "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
}
NIST_EXAMPLES = [  # (section, example, key, message length in bytes, tag)
    ("D.1", 1, "AES-128", 0, "bb1d6929e95937287fa37d129b756746"),
    ("D.1", 2, "AES-128", 16, "070a16b46b4d4144f79bdd9dd04a287c"),
    ("D.1", 3, "AES-128", 40, "dfa66747de9ae63030ca32611497c827"),
    ("D.1", 4, "AES-128", 64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ("D.2", 5, "AES-192", 0, "d17ddf46adaacde531cac483de7a9367"),
    ("D.2", 6, "AES-192", 16, "9e99a7bf31e710900662f65e617c5184"),
    ("D.2", 7, "AES-192", 40, "8a1de5be2eb31aad089a82e6ee908b0e"),
    ("D.2", 8, "AES-192", 64, "a1d5df0eed790f794d77589659f39a11"),
    ("D.3", 9, "AES-256", 0, "028962f61b7bf89efc6b551f4667d983"),
    ("D.3", 10, "AES-256", 16, "28a7023f452e8f82bd4bf28d8c37c35c"),
    ("D.3", 11, "AES-256", 40, "aaf3d8f1de5640c232f5b169b9c911e6"),
    ("D.3", 12, "AES-256", 64, "e1992190549f6ed5696a2c056c315410"),
]

DESIGN_AES128_KEY = "FA36E44278DB3AB5F298F9F7DA8F1F88"
DESIGN_AES128_KCV = "D77F007724"


def _openssl(args: list[str], data: bytes) -> bytes:
    """Run ``openssl ARGS`` with ``data`` on stdin; return stdout (hex text of `mac` is decoded)."""
    out = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout
    return bytes.fromhex(out.decode().strip()) if args[0] == "mac" else out


def openssl_cmac(key_hex: str, message: bytes) -> bytes:
    cipher = f"AES-{len(key_hex) * 4}-CBC"
    return _openssl(["mac", "-cipher", cipher, "-macopt", f"hexkey:{key_hex}", "CMAC"], message)


def openssl_hmac_sha256(key_hex: str, message: bytes) -> bytes:
    return _openssl(["mac", "-digest", "SHA256", "-macopt", f"hexkey:{key_hex}", "HMAC"], message)


def openssl_tdes_ecb(key_hex: str, block: bytes) -> bytes:
    cipher = "-des-ede" if len(key_hex) == 32 else "-des-ede3"
    return _openssl(["enc", cipher, "-K", key_hex, "-nopad"], block)


def derived_key(name: str, length: int, odd_parity: bool = False) -> str:
    raw = bytearray(
        hashlib.sha256(f"ceremony kcv vector {name}".encode()).digest()
        + hashlib.sha256(f"ceremony kcv vector {name} (2)".encode()).digest()
    )[:length]
    if odd_parity:
        for i, b in enumerate(raw):
            raw[i] = (b & 0xFE) | (0 if bin(b & 0xFE).count("1") % 2 else 1)
    return raw.hex().upper()


def kcv_vectors() -> list[dict[str, str]]:
    zero16, zero8 = bytes(16), bytes(8)
    rows: list[dict[str, str]] = []

    def aes(name: str, key: str, origin: str) -> None:
        kcv = openssl_cmac(key, zero16)[:5].hex().upper()
        rows.append(
            {
                "name": name,
                "key_type": f"AES-{len(key) * 4}",
                "key": key,
                "method": "AES-CMAC-X9.24",
                "kcv": kcv,
                "derived_with": f"openssl mac -cipher AES-{len(key) * 4}-CBC CMAC; {origin}",
            }
        )

    def tdes(name: str, key: str, origin: str) -> None:
        kcv = openssl_tdes_ecb(key, zero8)[:3].hex().upper()
        if len(key) == 32:  # cross-check the K1 K2 K1 keying with the triple-length cipher
            again = openssl_tdes_ecb(key + key[:16], zero8)[:3].hex().upper()
            assert again == kcv, (name, kcv, again)
        key_type = "TDES-2KEY" if len(key) == 32 else "TDES-3KEY"
        tool = "openssl enc -des-ede -nopad" if len(key) == 32 else "openssl enc -des-ede3 -nopad"
        rows.append(
            {
                "name": name,
                "key_type": key_type,
                "key": key,
                "method": "TDES-ECB-X9.24",
                "kcv": kcv,
                "derived_with": f"{tool}; {origin}",
            }
        )

    def generic(name: str, key: str, origin: str) -> None:
        kcv = openssl_hmac_sha256(key, zero16)[:5].hex().upper()
        rows.append(
            {
                "name": name,
                "key_type": "GENERIC",
                "key": key,
                "method": "HMAC-SHA256-ZERO-BLOCK",
                "kcv": kcv,
                "derived_with": f"openssl mac -digest SHA256 HMAC; {origin}",
            }
        )

    aes("design-aes128", DESIGN_AES128_KEY, "DESIGN §2 vector")
    assert rows[-1]["kcv"] == DESIGN_AES128_KCV, rows[-1]
    for key_type, key in NIST_KEYS.items():
        aes(f"nist-{key_type.lower()}", key.upper(), "key of NIST SP 800-38B Appendix D")
    for n in (1, 2):
        for bits in (128, 192, 256):
            aes(f"derived-aes{bits}-{n}", derived_key(f"AES-{bits} #{n}", bits // 8), "derived key")
    tdes("classic-tdes2", "0123456789ABCDEFFEDCBA9876543210", "the classic double-length test key")
    tdes(
        "classic-tdes3",
        "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567",
        "the classic triple-length test key",
    )
    for n in (1, 2, 3):
        tdes(f"derived-tdes2-{n}", derived_key(f"TDES-2KEY #{n}", 16, odd_parity=True), "derived key")
        tdes(f"derived-tdes3-{n}", derived_key(f"TDES-3KEY #{n}", 24, odd_parity=True), "derived key")
    for length in (16, 32, 48, 64):
        generic(f"derived-generic{length}", derived_key(f"GENERIC {length}", length), "derived key")
    return rows


def cmac_vectors() -> list[dict[str, object]]:
    message = bytes.fromhex(NIST_MESSAGE)
    rows: list[dict[str, object]] = []
    for section, example, key_type, length, tag in NIST_EXAMPLES:
        key = NIST_KEYS[key_type]
        computed = openssl_cmac(key, message[:length]).hex()
        assert computed == tag, f"openssl disagrees with SP 800-38B {section} example {example}"
        rows.append(
            {
                "source": f"NIST SP 800-38B Appendix {section}, Example {example}",
                "key_type": key_type,
                "key": key,
                "message": message[:length].hex(),
                "tag": tag,
            }
        )
    return rows


COMMITMENT_TAG = b"ceremony/share-commitment/v1"


def openssl_sha256(data: bytes) -> str:
    out = _openssl(["dgst", "-sha256", "-r"], data)
    return out.decode().split()[0]


def commitment_vectors() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cases = [
        ("0123456789", 1, bytes(range(1, 34))),
        ("0123456789", 2, bytes(range(1, 34))),
        ("ABCDEFGHJK", 1, bytes(range(1, 34))),
        ("ABCDEFGHJK", 255, bytes.fromhex(derived_key("commitment share", 17))),
        ("Z0Z0Z0Z0Z0", 9, bytes.fromhex(derived_key("commitment share 2", 33))),
    ]
    for split_id, number, share in cases:
        fields = [COMMITMENT_TAG, split_id.encode(), number.to_bytes(2, "big"), share]
        preimage = b"".join(len(f).to_bytes(4, "big") + f for f in fields)
        rows.append(
            {
                "split_id": split_id,
                "number": number,
                "share": share.hex().upper(),
                "commitment": openssl_sha256(preimage),
            }
        )
    return rows


def main() -> None:
    version = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    kcv = {"generated_by": "tests/vectors/generate_vectors.py", "tool": version, "vectors": kcv_vectors()}
    cmac = {
        "generated_by": "tests/vectors/generate_vectors.py (values as published; openssl agreed)",
        "tool": version,
        "vectors": cmac_vectors(),
    }
    (HERE / "kcv_vectors.json").write_text(json.dumps(kcv, indent=2) + "\n")
    (HERE / "cmac_vectors.json").write_text(json.dumps(cmac, indent=2) + "\n")
    commitments = {
        "generated_by": "tests/vectors/generate_vectors.py",
        "tool": version,
        "vectors": commitment_vectors(),
    }
    (HERE / "commitment_vectors.json").write_text(json.dumps(commitments, indent=2) + "\n")
    print(
        f"wrote {len(kcv['vectors'])} KCV, {len(cmac['vectors'])} CMAC and "
        f"{len(commitments['vectors'])} commitment vectors"
    )


if __name__ == "__main__":
    main()
