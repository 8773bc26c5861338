"""The Textual user interface (a thin view over ``ceremony.flows``).

Importing this package scrubs every ``TEXTUAL*`` environment variable *before* Textual can be imported,
so an entry path that bypasses ``ceremony.cli`` still cannot have key events logged (TEXTUAL_LOG),
the screen saved (TEXTUAL_SCREENSHOT) or keys injected (TEXTUAL_PRESS). DESIGN §2.
"""

from __future__ import annotations

from ceremony.hardening import scrub_textual_environment

scrub_textual_environment()
