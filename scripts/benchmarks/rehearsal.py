"""Rehearsal time, PDFs included (issue 6, "Done when"): ``ceremony rehearse`` for 2-of-3 and 5-of-9; and
(issue 16) a recovery of one 3-of-5 key with each output — RFC 5649 wrap, TR-31 key block (its signed
transmittal form included), PKCS#11 load into a SoftHSM token (when SoftHSM2 is installed) — as ratios to
the wrap, measured in the same run.

    scripts/bench rehearsal            # median of 5 runs (after one warm-up) per size and KDF
    scripts/bench rehearsal --quick    # fast KDF: median of 3; production KDF: one run

Each run is a complete rehearsal from the shipped example script on a NEW rehearsal ledger: enrolling every
participant (one scrypt each), authenticating everyone (one scrypt each), preflight, plan, generation,
distribution with one share card PDF per share, the verification round, wipe, one signed acknowledgement
per custodian, the signed minutes and manifest.json — i.e. what ``run_rehearsal`` does, in process.
Two KDF settings: "production" (scrypt N=2^17, r=12: the honest figure for a training session) and
"fast" (N=2^10, the tests' setting), so the share of time spent in scrypt is visible.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ceremony.flows.rehearsal import example_script, parse_script, run_rehearsal  # noqa: E402

SIZES = ("2of3", "5of9")


def _once(name: str, kdf: str) -> tuple[float, int]:
    script = parse_script(example_script(name).replace('kdf = "production"', f'kdf = "{kdf}"'))
    work = Path(tempfile.mkdtemp(prefix="bench-rehearsal-"))
    try:
        start = time.perf_counter()
        result = run_rehearsal(script, work / "rehearsal.sqlite3", work / "papers")
        elapsed = time.perf_counter() - start
        return elapsed, len(result.documents)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(quick: bool) -> list[dict]:
    rows: list[dict] = []
    for kdf in ("fast", "production"):
        for name in SIZES:
            runs = (3 if kdf == "fast" else 1) if quick else 5
            if not quick:
                _once(name, kdf)  # warm-up: imports, font and form loading
            times, documents = [], 0
            for _ in range(runs):
                elapsed, documents = _once(name, kdf)
                times.append(elapsed)
            rows.append(
                {
                    "group": "rehearsal",
                    "name": f"rehearse {name} ({kdf} KDF), PDFs included",
                    "median_s": statistics.median(times),
                    "runs": runs,
                    "min_s": round(min(times), 3),
                    "max_s": round(max(times), 3),
                    "documents": documents,
                }
            )
    return rows + run_outputs(quick)


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)


# --- a recovery with each output (issue 16) -------------------------------------------------------------
OUTPUTS = {  # example -> the output it makes
    "recover-3of5": "RFC 5649 wrap into a file",
    "recover-tr31": "TR-31 key block + signed transmittal form",
    "recover-pkcs11": "PKCS#11 load into SoftHSM, checked in the token",
}
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def _three_shares(text: str) -> str:
    """The example with its [[steps]] replaced by shares 1, 3 and 5: the same rebuild for every output."""
    head = text[: text.index("\n[[steps]]")]
    return head + "\n" + "".join(f"[[steps]]\nshare = {n}\n\n" for n in (1, 3, 5))


def _softhsm(work: Path) -> str | None:
    """A SoftHSM token labelled as the recover-pkcs11 example expects, in a configuration under ``work``."""
    import os
    import subprocess

    module = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        return None
    (work / "tokens").mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            util,
            "--init-token",
            "--free",
            "--label",
            "CEREMONY-REHEARSAL",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ],
        check=True,
        capture_output=True,
    )
    return module


def run_outputs(quick: bool) -> list[dict]:
    """One 3-of-5 generation (fast KDF), then recoveries of its key with each output, on the same ledger;
    each output's median time and its ratio to the RFC 5649 wrap measured in the same run."""
    import json

    from ceremony.flows.rehearsal import parse_lifecycle_script, run_lifecycle

    work = Path(tempfile.mkdtemp(prefix="bench-recovery-outputs-"))
    try:
        ledger = work / "rehearsal.sqlite3"
        fast = example_script("3of5").replace('kdf = "production"', 'kdf = "fast"')
        run_rehearsal(parse_script(fast), ledger, work / "papers")
        module = _softhsm(work)
        runs = 3 if quick else 7
        medians: dict[str, float] = {}
        rows: list[dict] = []
        for name in OUTPUTS:
            text = _three_shares(example_script(name).replace('kdf = "production"', 'kdf = "fast"'))
            if name == "recover-pkcs11":
                if module is None:
                    continue
                text = text.replace('"/usr/lib/softhsm/libsofthsm2.so"', json.dumps(module))
            times = []
            for i in range(runs + 1):  # the first is a warm-up
                # one object label per load: the token refuses a second key with the same label
                script = text.replace('object_label = "ZMK-REHEARSAL-3OF5', f'object_label = "ZMK-{i}')
                start = time.perf_counter()
                run_lifecycle(parse_lifecycle_script(script), ledger, work / f"{name}-{i}", base=work)
                if i:
                    times.append(time.perf_counter() - start)
            medians[name] = statistics.median(times)
            rows.append(
                {
                    "group": "rehearsal",
                    "name": f"recovery 3-of-5, output: {OUTPUTS[name]} (fast KDF, minutes included)",
                    "median_s": medians[name],
                    "runs": runs,
                    "min_s": round(min(times), 3),
                    "max_s": round(max(times), 3),
                }
            )
        base = medians["recover-3of5"]
        for row, name in zip(rows, [n for n in OUTPUTS if n in medians], strict=True):
            row["ratio_to_wrapped"] = round(medians[name] / base, 2)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
