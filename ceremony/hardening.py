"""Process hardening applied before anything secret is touched (DESIGN §2).

- Core dumps off (RLIMIT_CORE = 0) and the process marked non-dumpable (prctl PR_SET_DUMPABLE 0), so a
  crash cannot write key material to disk and other processes of the same user cannot ptrace/read it.
- Every ``TEXTUAL*`` environment variable is removed *before* Textual is imported: TEXTUAL_LOG logs key
  events and input values, TEXTUAL_SCREENSHOT saves the screen, TEXTUAL_PRESS injects keys.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def scrub_textual_environment(environ: dict[str, str] | None = None) -> list[str]:
    """Remove every TEXTUAL* variable; returns the names removed. Must run before ``import textual``."""
    env = os.environ if environ is None else environ
    removed = [name for name in list(env) if name.upper().startswith("TEXTUAL")]
    for name in removed:
        del env[name]
    return removed


def disable_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def set_non_dumpable() -> bool:
    """Mark the process non-dumpable (Linux). Returns True when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            return False
        return bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def harden_process() -> None:
    scrub_textual_environment()
    disable_core_dumps()
    set_non_dumpable()
