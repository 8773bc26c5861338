"""Recovery ceremony time for 3-of-5 and 5-of-9 on a real ledger (issue 7 closing figures).

    scripts/bench recovery          # or: .venv/bin/python scripts/benchmarks/recovery.py

Set-up (not timed): a fresh SQLite ledger in a temporary folder, 2 control people + 9 custodians enrolled
(light scrypt cost: authentication is benchmarked in ``identity``), each key generated and distributed with
the generation engine, every custodian authenticated once.

Timed, per scheme (median of 5 runs after a warm-up), rows:
  ceremony     the whole engine flow: start (administrator + witness), for each of m custodians the envelope
               inspection and the typed share entry (decode, checks, commitment, exposure recorded), rebuild
               (pyshamir combine + KCV), wrap under a KEK (RFC 5649), wipe and close — every step a signed,
               committed ledger event (synchronous=EXTRA), so disk flushes are part of the figure;
  crypto only  decode the m typed shares, check their commitments, combine and check the KCV (no ledger).
The ledger grows with each run (about 3m + 6 events per recovery); the figure includes that replay cost.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for `bench`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for `ceremony`

from bench import median_time

from ceremony.crypto.codec import decode_share
from ceremony.crypto.identity import ScryptParams, enroll_identity
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.recipes import recover_key
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.flows.common import read_register
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence
from ceremony.flows.recovery import RecoveryCeremony, WrappedOutput
from ceremony.ledger import participants
from ceremony.ledger.store import Ledger

SCHEMES = ((3, 5), (5, 9))
LIGHT_KDF = ScryptParams(log2_n=10, r=8, p=1)


def _passphrase(name: str) -> SecretBytes:
    return SecretBytes(f"benchmark passphrase of {name}".encode())


def _cast(ledger: Ledger) -> dict[str, object]:
    roster = [("admin", "administrator"), ("witness", "witness")]
    roster += [(f"c{i}", "custodian") for i in range(1, 10)]
    present: dict[str, object] = {}
    for index, (name, role) in enumerate(roster):
        cert, blob = enroll_identity(name, f"B{index:04d}", _passphrase(name), kdf=LIGHT_KDF)
        person = participants.enroll(
            ledger, name=name, employee_id=f"B{index:04d}", roles=(role,), certificate=cert, key_blob=blob
        )
        present[name] = Presence(ledger).authenticate(person.person_id, _passphrase(name), role)
    return present


def _generate(
    ledger: Ledger, people: dict, m: int, n: int
) -> tuple[str, dict[int, bytearray], dict[int, str]]:
    ceremony = GenerationCeremony.start(ledger, people["admin"], people["witness"], f"bench {m}-of-{n}")
    ceremony.record_preflight({}, uncovered=[])
    custodians = tuple(people[f"c{i}"].person_id for i in range(1, n + 1))
    ceremony.plan_key(
        KeySpec(KeyType.AES_256, f"bench {m}-of-{n}", "benchmark", 365),
        SplitPlan(Scheme.SHAMIR, m, custodians),
    )
    ceremony.generate()
    texts, serials = {}, {}
    for number in range(1, n + 1):
        me = people[f"c{number}"]
        typed = ceremony.reveal(number, me)
        texts[number] = bytearray(typed.view())
        typed.wipe()
        serials[number] = f"B{m}{n}-{number:03d}"
        ceremony.confirm_receipt(number, me, serials[number], "card")
        ceremony.verify_share(number, me, bytearray(texts[number]))
    ceremony.wipe()
    ceremony.close()
    assert ceremony.key_id
    return ceremony.key_id, texts, serials


def _rows(ledger: Ledger, people: dict, m: int, n: int, runs: int) -> list[dict]:
    key_id, texts, serials = _generate(ledger, people, m, n)
    kek = Key.generate(KeyType.AES_256)
    numbers = range(n - m + 1, n + 1)  # the last m custodians

    def ceremony() -> None:
        rec = RecoveryCeremony.start(
            ledger, people["admin"], people["witness"], key_id, WrappedOutput("bench KEK"), "benchmark"
        )
        for number in numbers:
            me = people[f"c{number}"]
            rec.inspect_envelope(number, me, serials[number], True, True)
            rec.enter_share(me, bytearray(texts[number]))
        rec.rebuild()
        rec.wrap(kek)
        rec.finish()

    register = read_register(ledger.events())
    key = register.keys[key_id]
    split = register.splits[key.splits[0]]

    def crypto_only() -> None:
        shares = [decode_share(bytearray(texts[number])) for number in numbers]
        recover_key(shares, key.key_type, key.kcv, split.commitments).wipe()
        for share in shares:
            share.wipe()

    rows = []
    for name, fn in (("ceremony", ceremony), ("crypto only", crypto_only)):
        median, times = median_time(fn, runs)
        rows.append(
            {
                "group": "recovery",
                "name": f"{m}-of-{n} {name}",
                "median_s": median,
                "runs": runs,
                "max_s": round(max(times), 4),
                "ledger_events": ledger.size(),
            }
        )
    return rows


def run(quick: bool) -> list[dict]:
    runs = 5
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as folder:
        ledger = Ledger.open(Path(folder) / "ledger.sqlite3", create=True)
        try:
            people = _cast(ledger)
            return [row for m, n in SCHEMES for row in _rows(ledger, people, m, n, runs)]
        finally:
            ledger.close()


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<24} {row['median_s'] * 1000:8.1f} ms  "
            f"(max {row['max_s'] * 1000:.1f} ms, {row['ledger_events']} events)"
        )
