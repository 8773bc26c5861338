"""Offline install bundle (issue 9 item 1; DESIGN §6): made by scripts/wheelhouse, installed by install.sh.

The ceremony laptop is air-gapped (DESIGN §4.1, checked by preflight), so the bundle must install with pip
barred from any index: ``--no-index`` in install.sh, plus here an unreachable PIP_INDEX_URL and proxies, no
PIP_FIND_LINKS, no pip config file, and (where this machine allows it) a network namespace with no interface,
so neither a mirror nor this machine's local wheel folders can make up for a wheel missing from the bundle.
Every wheel is hash-pinned (PCI DSS 6.3.2 / 6.3.3): a flipped byte anywhere must stop the install.

The bundle is built once per module from a copy of the checkout without .venv (as from a clean clone); that
needs the package registry. Offline, on a developer machine, the module is skipped with the reason; in CI
(CI=true) an unreachable registry is a failure, so a broken bundle can never pass as a skip.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "kcv_vectors.json"
# What a clean clone holds; the rest (.venv, caches, build output) must not be needed.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "out"
)
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple/"  # discard port: nothing answers
BUILD_TIMEOUT = 600
INSTALL_TIMEOUT = 300


def _registry_reachable() -> bool:
    url = urlsplit(os.environ.get("WHEELHOUSE_INDEX_URL") or "https://pypi.org/simple/")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=5):
            return True
    except OSError:
        return False


def _python311() -> str | None:
    if sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11):
        # the interpreter the venv was made from, not the venv itself
        return getattr(sys, "_base_executable", None) or sys.executable
    return shutil.which("python3.11")


def _offline_env() -> dict[str, str]:
    """The environment of a laptop that cannot reach any package index, whatever this machine's pip config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and k != "VIRTUAL_ENV"}
    env.update(PIP_INDEX_URL=UNREACHABLE_INDEX, PIP_CONFIG_FILE=os.devnull, PIP_DEFAULT_TIMEOUT="3")
    # install.sh runs pip --isolated (PIP_* ignored); proxies that lead nowhere still catch a stray download.
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[proxy] = UNREACHABLE_INDEX
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    return env


@functools.cache
def _netless() -> tuple[str, ...]:
    """A command prefix that runs a program in a network namespace with no interface (the air gap itself),
    or nothing where this machine does not allow it (then the unreachable index and proxies remain)."""
    for prefix in (("unshare", "--net"), ("unshare", "--map-root-user", "--net")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(lock_text: str) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, hashes) from a pip requirements file with --hash lines."""
    pins: dict[str, tuple[str, set[str]]] = {}
    for block in re.split(r"\n(?=\S)", lock_text):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if head:
            pins[_norm(head[1])] = (head[2], set(re.findall(r"--hash=sha256:([0-9a-f]{64})", block)))
    return pins


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _install(bundle: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_netless(), "bash", str(bundle / "install.sh"), str(venv)],
        env=_offline_env(),
        cwd=venv.parent,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )


@pytest.fixture(scope="module")
def python311() -> str:
    python = _python311()
    if python is None:
        pytest.skip("the wheelhouse targets CPython 3.11 and no python3.11 is on this machine")
    return python


@pytest.fixture(scope="module")
def clean_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("clone") / "ceremony"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE, symlinks=True)
    return clone


@pytest.fixture(scope="module")
def bundle(clean_clone: Path, python311: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not _registry_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("CI cannot reach the package registry to build the wheelhouse")
        pytest.skip("package registry unreachable: cannot build the wheelhouse (it needs the network)")
    out = tmp_path_factory.mktemp("wheelhouse") / "bundle"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHON"] = python311
    built = subprocess.run(
        ["bash", str(clean_clone / "scripts" / "wheelhouse"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    yield out


def test_requirements_lock_pins_every_dependency_of_pyproject_within_its_range() -> None:
    # Needs no network: catches a dependency added to pyproject.toml without re-running scripts/lock.
    from packaging.requirements import Requirement

    locked = _locked((ROOT / "requirements.lock").read_text())
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        wanted = Requirement(line)
        assert _norm(wanted.name) in locked, f"{wanted.name} is not in requirements.lock: run scripts/lock"
        version, hashes = locked[_norm(wanted.name)]
        assert wanted.specifier.contains(version, prereleases=True), f"{wanted.name}=={version} vs {line}"
        assert hashes, f"{wanted.name} has no --hash in requirements.lock"


def test_bundle_holds_exactly_the_locked_wheels_each_pinned_to_its_own_hash(bundle: Path) -> None:
    lock = (ROOT / "requirements.lock").read_text()
    assert "CPython 3.11" in lock and "x86_64" in lock  # the target is stated at the top
    locked = _locked(lock)
    pinned = _locked((bundle / "bundle.lock").read_text())
    wheels = sorted(bundle.glob("*.whl"))
    assert not [p for p in bundle.iterdir() if p.suffix in {".gz", ".zip", ".tar"}], "no sdist in the bundle"

    assert set(pinned) == set(locked) | {"ceremony"}
    assert len(wheels) == len(pinned), "one wheel per pin, nothing else"
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        digest = _sha256(wheel)
        assert pinned[_norm(name)] == (version, {digest}), wheel.name
        if _norm(name) != "ceremony":
            # provenance: the very file published for the reviewed pin (a built wheel would show up here)
            assert locked[_norm(name)][0] == version, wheel.name
            assert digest in locked[_norm(name)][1], f"{wheel.name} is not a file listed in requirements.lock"
    assert pinned["ceremony"][0] == _version()


def test_wheels_run_on_the_glibc_floor_install_sh_checks(bundle: Path) -> None:
    floor = re.search(r'^GLIBC_FLOOR="(2\.\d+)"$', (bundle / "install.sh").read_text(), re.M)
    assert floor is not None, "scripts/wheelhouse fills in the glibc floor"
    want = tuple(int(part) for part in floor[1].split("."))
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    for wheel in bundle.glob("*.whl"):
        platforms = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
        if platforms == ["any"]:
            continue
        needs = []
        for tag in platforms:
            match = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", tag)
            needs.append((int(match[1]), int(match[2])) if match else legacy[tag.removesuffix("_x86_64")])
        assert min(needs) <= want, f"{wheel.name} needs a newer glibc than {floor[1]}"


def test_sha256sums_covers_every_file_of_the_bundle(bundle: Path) -> None:
    listed = {}
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.lstrip("*")] = digest
    files = {p.name for p in bundle.iterdir() if p.name != "SHA256SUMS"}
    assert set(listed) == files
    assert {"install.sh", "bundle.lock"} <= files
    for name, digest in listed.items():
        assert _sha256(bundle / name) == digest, name
    assert os.access(bundle / "install.sh", os.X_OK)


def test_offline_install_gives_a_working_ceremony(bundle: Path, tmp_path: Path) -> None:
    venv = tmp_path / "ceremony-venv"
    started = time.monotonic()
    installed = _install(bundle, venv)
    took = time.monotonic() - started
    assert installed.returncode == 0, installed.stderr[-4000:] + installed.stdout[-4000:]
    assert f"ceremony {_version()}" in installed.stdout  # install.sh ran `ceremony --version`
    # pip never even tried a network (without --no-index it would retry the index, then carry on from
    # the folder: a silent dependence on a network the laptop does not have).
    for sign in ("Retrying", "NewConnectionError", "Could not fetch URL", "ProxyError"):
        assert sign not in installed.stdout + installed.stderr, sign
    print(f"offline install: {took:.1f} s ({' '.join(_netless()) or 'no network namespace'})")

    ceremony = venv / "bin" / "ceremony"
    env = _offline_env()
    version = subprocess.run(
        [*_netless(), ceremony, "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"ceremony {_version()}")

    # Known answers through the installed wheels (cryptography's CMAC and TDES): ANSI X9.24-1:2017 KCVs,
    # vectors from tests/vectors/kcv_vectors.json (design-aes128 is DESIGN §2's; nist-aes-256 uses the key of
    # NIST SP 800-38B Appendix D).
    vectors = {v["name"]: v for v in json.loads(VECTORS.read_text())["vectors"]}
    for name, alg in (("design-aes128", "aes"), ("nist-aes-256", "aes"), ("classic-tdes2", "tdes")):
        vector = vectors[name]
        kcv = subprocess.run(
            [*_netless(), ceremony, "kcv", "--alg", alg],
            input=vector["key"] + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (kcv.returncode, kcv.stdout.strip()) == (0, vector["kcv"]), (name, kcv.stderr)

    # Nothing but the bundle got in: the venv holds exactly the pins of bundle.lock (pip itself aside).
    frozen = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "--isolated", "list", "--format=json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    have = {_norm(p["name"]): p["version"] for p in json.loads(frozen.stdout)}
    have.pop("pip", None)
    have.pop("setuptools", None)  # seeded by `python -m venv` on some Pythons
    pinned = {name: pin[0] for name, pin in _locked((bundle / "bundle.lock").read_text()).items()}
    assert have == pinned

    # A second run never installs over the venv (same version number, maybe other code): refused, venv intact.
    again = _install(bundle, venv)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert (venv / "bin" / "ceremony").exists()

    # A whole ceremony from the installed venv, offline: the shipped 2-of-3 rehearsal script (printed by
    # the installed program itself) with the light KDF, into a new rehearsal ledger and papers folder.
    example = subprocess.run(
        [*_netless(), ceremony, "rehearse", "--example", "2of3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert example.returncode == 0, example.stderr
    assert 'kdf = "production"' in example.stdout
    script = tmp_path / "2of3.toml"
    script.write_text(example.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    ledger, papers = tmp_path / "rehearsal.sqlite3", tmp_path / "papers"
    rehearsal = subprocess.run(
        [*_netless(), ceremony, "rehearse", str(script), "--ledger", str(ledger), "--out", str(papers)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rehearsal.returncode == 0, rehearsal.stderr[-4000:] + rehearsal.stdout[-2000:]
    manifest = json.loads((papers / "manifest.json").read_text())
    assert manifest["outcome"] == "closed" and manifest["test_key"] is True
    kinds = sorted(d["kind"] for d in manifest["documents"])
    assert kinds == ["acknowledgement"] * 3 + ["minutes"] + ["share_card"] * 3
    for doc in manifest["documents"]:
        assert _sha256(papers / doc["path"]) == doc["sha256"], doc["path"]
    verified = subprocess.run(
        [*_netless(), ceremony, "verify", "--ledger", str(ledger)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr

    # The PKCS#11 binding (python-pkcs11, issue 16) came with the bundle and talks to a real token.
    from tests.hsm.softhsm import init_token, require_softhsm

    module = require_softhsm()
    conf_dir = tmp_path / "softhsm"
    (conf_dir / "tokens").mkdir(parents=True)
    conf = conf_dir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {conf_dir / 'tokens'}\nobjectstore.backend = file\n")
    init_token(conf, "WHEELHOUSE-TOKEN", "1234", "5678")
    listed = subprocess.run(
        [*_netless(), ceremony, "token", "list", "--module", module, "--json"],
        env={**env, "SOFTHSM2_CONF": str(conf)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "WHEELHOUSE-TOKEN" in [t["label"] for t in json.loads(listed.stdout)]


def test_install_stops_at_sha256sums_when_a_wheel_was_altered(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    wheel = next(copy.glob("cryptography-*.whl"))
    _flip_a_byte(wheel)
    venv = tmp_path / "ceremony-venv"
    installed = _install(copy, venv)
    assert installed.returncode != 0
    assert "does not match SHA256SUMS" in installed.stderr
    assert f"{wheel.name}: FAILED" in installed.stderr  # the custodian is told which file
    assert not venv.exists(), "nothing is set up from a bundle that fails its checksums"


def test_pip_refuses_an_altered_wheel_even_when_sha256sums_was_rewritten(
    bundle: Path, tmp_path: Path
) -> None:
    # Someone who edits SHA256SUMS to match still meets bundle.lock's --require-hashes in pip.
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    wheel = next(copy.glob("ceremony-*.whl"))
    _flip_a_byte(wheel)
    sums = copy / "SHA256SUMS"
    lines = [
        f"{_sha256(wheel)}  {wheel.name}" if line.endswith(f" {wheel.name}") else line
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")
    venv = tmp_path / "ceremony-venv"
    installed = _install(copy, venv)
    assert installed.returncode != 0
    assert "DO NOT MATCH THE HASHES" in installed.stderr, installed.stderr[-3000:]
    assert wheel.name in installed.stderr
    assert not venv.exists(), "a refused install leaves no half-made venv"


def test_wheelhouse_will_not_empty_a_folder_that_is_not_a_bundle(
    clean_clone: Path, python311: str, tmp_path: Path
) -> None:
    # Needs no network: the refusal comes before any download.
    target = tmp_path / "notes"
    target.mkdir()
    (target / "minutes.txt").write_text("not a wheelhouse")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHON"] = python311
    built = subprocess.run(
        ["bash", str(clean_clone / "scripts" / "wheelhouse"), str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode != 0
    assert "not empty" in built.stderr
    assert (target / "minutes.txt").read_text() == "not a wheelhouse"
