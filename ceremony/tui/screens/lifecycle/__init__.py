"""Screens for the rest of a key's life (issue 7): recovery, re-share, retirement, departure, key list.

Each flow has one entry function returning its first screen, for a menu to push::

    app.push_screen(recovery_screen(ledger))

When the flow ends, its last screen pops itself (back to the menu), or exits an app it was the only
screen of.
"""

from ceremony.tui.screens.lifecycle.departure import departure_screen
from ceremony.tui.screens.lifecycle.key_list import key_list_screen
from ceremony.tui.screens.lifecycle.recovery_start import recovery_screen
from ceremony.tui.screens.lifecycle.reshare_start import reshare_screen
from ceremony.tui.screens.lifecycle.retire import retire_screen

__all__ = ["departure_screen", "key_list_screen", "recovery_screen", "reshare_screen", "retire_screen"]
