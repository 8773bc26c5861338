"""A real PKCS#11 token for tests: SoftHSM2 with a fresh token per test (issue 16).

``with softhsm_token(tmp_path) as token:`` writes a ``softhsm2.conf`` whose token directory is under
``tmp_path`` (file object store, log level ERROR), points ``SOFTHSM2_CONF`` at it for the duration (the
previous value is restored afterwards), initialises one token in the free slot with ``softhsm2-util
--init-token --free`` and yields a :class:`SoftToken` (module path, label, PINs, conf path, and an ``env``
for subprocesses).

Why the module is re-initialised: python-pkcs11 loads a module once per process (``pkcs11.lib(path)`` is
cached by path, and C_Initialize runs once), and SoftHSM reads ``SOFTHSM2_CONF`` only in C_Initialize. A
second test with another configuration would otherwise still see the first test's (deleted) token
directory. SoftHSM does re-read the file after C_Finalize, so on entry the helper calls
``pkcs11.lib(path).reinitialize()`` (C_Finalize + C_Initialize, public python-pkcs11 API) with the new
variable in place, and on exit ``finalize()``, so whatever runs next initialises the module again with the
configuration then in force. Sessions a test left open die with the C_Finalize; the next test starts clean.
Tests in one process therefore must not use two SoftHSM tokens at the same time (pytest runs them one by
one; pytest-xdist workers are separate processes).

SoftHSM not installed: the test fails when ``CI=true`` (a CI image without it is a broken image), and is
skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def _find_module() -> str | None:
    override = os.environ.get("SOFTHSM2_MODULE")
    for candidate in (override, *_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return os.path.abspath(candidate)  # the key ceremony.hsm.pkcs11 caches the module under
    return None


SOFTHSM_MODULE: str | None = _find_module()
SOFTHSM_UTIL: str | None = shutil.which("softhsm2-util")


def require_softhsm() -> str:
    """The module's path; fails (CI=true) or skips the calling test when SoftHSM2 is not installed."""
    if SOFTHSM_MODULE is not None and SOFTHSM_UTIL is not None:
        return SOFTHSM_MODULE
    reason = "SoftHSM2 is not installed (apt-get install softhsm2; scripts/test installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class SoftToken:
    module: str
    label: str
    pin: str
    so_pin: str
    conf: Path
    token_dir: Path
    slot_id: int | None
    env: dict[str, str] = field(repr=False)  # os.environ with SOFTHSM2_CONF set, for subprocesses


def _write_conf(directory: Path) -> tuple[Path, Path]:
    token_dir = directory / "tokens"
    token_dir.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    return conf, token_dir


def init_token(conf: Path, label: str, pin: str, so_pin: str) -> int | None:
    """``softhsm2-util --init-token --free``: one more token in the configuration ``conf``; its slot id."""
    assert SOFTHSM_UTIL is not None
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    result = subprocess.run(
        [SOFTHSM_UTIL, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"softhsm2-util --init-token failed: {result.stderr.strip() or result.stdout}")
    found = re.search(r"reassigned to slot (\d+)", result.stdout)
    return int(found.group(1)) if found else None


@contextmanager
def softhsm_token(
    tmp_path: Path, label: str = "CEREMONY-TEST", pin: str = "1234", so_pin: str = "5678"
) -> Iterator[SoftToken]:
    module = require_softhsm()
    import pkcs11

    conf, token_dir = _write_conf(tmp_path / "softhsm")
    slot_id = init_token(conf, label, pin, so_pin)
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    lib = pkcs11.lib(module)
    try:
        lib.reinitialize()  # read the new configuration (see the module docstring)
        yield SoftToken(
            module=module,
            label=label,
            pin=pin,
            so_pin=so_pin,
            conf=conf,
            token_dir=token_dir,
            slot_id=slot_id,
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )
    finally:
        try:
            lib.finalize()
        finally:
            if previous is None:
                os.environ.pop("SOFTHSM2_CONF", None)
            else:
                os.environ["SOFTHSM2_CONF"] = previous
