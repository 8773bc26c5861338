"""``ceremony token list --module PATH [--json]``: the tokens a PKCS#11 module offers (issue 16).

No PIN is asked: C_GetSlotList / C_GetTokenInfo need no login. A module that is missing or is not a PKCS#11
library gets one line on stderr and exit code 2 (a TokenError, printed by ``ceremony.cli.main``). The
binding is imported only when the command runs, so the CLI's start time does not pay for it.
"""

from __future__ import annotations

import argparse
import json

_FIELDS = (
    ("slot_id", "slot"),
    ("label", "label"),
    ("serial", "serial"),
    ("manufacturer", "manufacturer"),
    ("model", "model"),
    ("firmware", "firmware"),
    ("hardware", "hardware version"),
    ("library", "library"),
    ("initialized", "initialised"),
    ("login_required", "login required"),
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="PKCS#11 tokens (HSMs, SoftHSM): list what a module offers")
    actions = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="list the tokens in a PKCS#11 module's slots (no PIN needed)",
        description="Loads the PKCS#11 module and prints one block per token present: slot, label, "
        "serial, manufacturer, model, firmware and hardware versions, whether it is initialised and "
        "whether it needs a login. No PIN is asked and nothing on the token is changed.",
    )
    listing.add_argument("--module", required=True, metavar="PATH", help="the PKCS#11 library (.so) file")
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    listing.set_defaults(handler=run)


def _yes_no(value: object) -> object:
    return ("yes" if value else "no") if isinstance(value, bool) else value


def run(args: argparse.Namespace) -> int:
    from ceremony.hsm.pkcs11 import list_tokens

    tokens = [token.describe() for token in list_tokens(args.module)]
    if args.json:
        print(json.dumps(tokens, indent=2))
        return 0
    if not tokens:
        print(f"no token present in {args.module}")
        return 0
    blocks = []
    for token in tokens:
        width = max(len(title) for _, title in _FIELDS)
        blocks.append(
            "\n".join(f"{title + ':':<{width + 1}} {_yes_no(token[key])}" for key, title in _FIELDS)
        )
    print("\n\n".join(blocks))
    return 0
