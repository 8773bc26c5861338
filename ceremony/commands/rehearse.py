"""``ceremony rehearse SCRIPT.toml --ledger PATH --out DIR`` and ``ceremony rehearse --example NAME``.

Runs a ceremony non-interactively from a rehearsal script (see ``ceremony/flows/examples/README.md``) on a
rehearsal ledger. A generation script (``2of3``, ``3of5``, ``xor3``, ``5of9``) writes share cards, signed
acknowledgement forms, signed minutes and ``manifest.json`` into DIR. A recovery, re-share or retirement
script (``recover-3of5``, ``recover-tr31``, ``recover-pkcs11``, ``reshare``, ``retire``) takes its shares
from a rehearsal's output folder (``shares_from`` in the script, or ``--shares-from DIR``), reports each
share presented — accepted or refused, and whether that is what the script expected — and writes its
outputs (wrapped key file, TR-31 key block and its transmittal form, component cards, new share cards; a
token load writes nothing but the record), ``report.txt`` and ``manifest.json`` into DIR. A
``key_block_check`` script checks a received key block under a KBPK typed in the room. A departure script
records that a custodian left (PCI DSS 3.7.5); a sequence script (``departure``) plays several of these in
order on one ledger, each stage into ``DIR/NN-KIND[-NAME]``, and checks after each stage where every named
key stands ("must be replaced", "must still be replaced", "replacement generated", "cleared") against the
ledger. ``--example NAME`` prints a complete, commented script to start from.

Exit codes: 0 done (and, for a lifecycle, departure or sequence script, everything as the script
expected); 1 the rehearsal ran but something differed from what the script expected; 2 bad script or
usage, or a rehearsal against a production ledger (RehearsalMixError: test and production keys never
mix, PCI DSS 3.6.1.1); 5 a policy refusal (custody rule, dual control); 6 the preflight blocked
(``preflight = "blocking"`` and an insecure finding without an exception).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError

if TYPE_CHECKING:
    from ceremony.flows.rehearsal import LifecycleResult, RehearsalResult

# ceremony.flows.rehearsal (documents: reportlab, pyHanko) is imported where used: registering this
# subcommand must stay light (issue 14). tests/cli/test_light_imports.py checks this against
# ceremony.flows.rehearsal.ALL_EXAMPLES.
ALL_EXAMPLES = (
    "2of3",
    "3of5",
    "xor3",
    "5of9",
    "recover-3of5",
    "recover-tr31",
    "recover-pkcs11",
    "reshare",
    "retire",
    "departure",
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rehearse",
        help="run a ceremony from a script on a rehearsal ledger (TEST key; for training)",
        description="Rehearsal: the real key generation, recovery, re-share or retirement ceremony, driven "
        "by a TOML script, on a rehearsal ledger (created if absent for a generation; a production ledger "
        "is refused). Start from: ceremony rehearse --example 3of5, then --example recover-3of5; a "
        "custodian's departure, re-share, replacement and retirement in one script: --example departure",
    )
    parser.add_argument("script", nargs="?", type=Path, metavar="SCRIPT.toml", help="the rehearsal script")
    # SUPPRESS: given after the command it overrides the global --ledger; absent, it leaves that alone.
    parser.add_argument(
        "--ledger", metavar="PATH", default=argparse.SUPPRESS, help="rehearsal ledger (created if absent)"
    )
    parser.add_argument("--out", metavar="DIR", type=Path, help="new or empty folder for the papers")
    parser.add_argument(
        "--shares-from",
        metavar="DIR",
        type=Path,
        help="recovery/re-share/retirement: the rehearsal output folder whose share cards are presented "
        "(overrides shares_from in the script)",
    )
    parser.add_argument(
        "--example",
        metavar="NAME",
        choices=ALL_EXAMPLES,
        help=f"print an example script: {', '.join(ALL_EXAMPLES)}",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.flows.rehearsal import (
        DepartureResult,
        LifecycleResult,
        SequenceResult,
        departure_report,
        example_script,
        load_any,
        run_any,
        sequence_report,
    )

    if args.example:
        if args.script is not None:
            raise InputError("give either a script to run or --example NAME to print one, not both")
        sys.stdout.write(example_script(args.example))
        return 0
    if args.script is None or args.out is None:
        raise InputError("usage: ceremony rehearse SCRIPT.toml --ledger PATH --out DIR (or --example NAME)")
    if getattr(args, "ledger", None) is None:
        # Never fall back to the default ledger: it is the production one, and a missing file would be
        # created as a rehearsal ledger in its place (PCI DSS 3.6.1.1).
        raise InputError(
            "name the rehearsal ledger with --ledger PATH (the default ledger is for production)"
        )
    script = load_any(args.script)
    ledger = ledger_path(args)
    result = run_any(script, ledger, args.out, shares_from=getattr(args, "shares_from", None))
    if isinstance(result, LifecycleResult):
        return _lifecycle(result, ledger)
    if isinstance(result, DepartureResult):
        sys.stdout.write(departure_report(result))
        return 0 if result.as_expected else 1
    if isinstance(result, SequenceResult):
        sys.stdout.write(sequence_report(result))
        print(f"Rehearsal ledger {result.ledger_id} ({ledger}); each stage's papers in {result.out_dir}.")
        print(f"Closing checkpoint: {result.closing_checkpoint}")
        return 0 if result.as_expected else 1
    return _generation(result, ledger)


def _generation(result: RehearsalResult, ledger: Path) -> int:
    print(f"Rehearsal {result.ceremony_id} completed on rehearsal ledger {result.ledger_id} ({ledger}).")
    print(f"TEST key {result.key_id}: KCV {result.kcv} ({result.kcv_method}), split {result.split_id}.")
    print(f"{len(result.documents)} documents in {result.out_dir} (see manifest.json):")
    for doc in result.documents:
        print(f"  {doc.kind:<15} {doc.path}")
    print(f"Closing checkpoint: {result.closing_checkpoint}")
    print(f"Time: {result.seconds:.1f} s")
    return 0


def _lifecycle(result: LifecycleResult, ledger: Path) -> int:
    from ceremony.flows.rehearsal import lifecycle_report

    sys.stdout.write(lifecycle_report(result))
    print(
        f"Rehearsal ledger {result.ledger_id} ({ledger}); KCV {result.kcv or '-'}, split {result.split_id}."
    )
    print(f"{len(result.documents)} file(s) in {result.out_dir} (see manifest.json, report.txt):")
    for doc in result.documents:
        print(f"  {doc.kind:<15} {doc.path}")
    print(f"Closing checkpoint: {result.closing_checkpoint}")
    return 0 if result.as_expected else 1
