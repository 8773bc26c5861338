"""Generation's control authentication is the one every ceremony shares."""

from ceremony.tui.screens.control_auth import ControlAuthScreen

__all__ = ["ControlAuthScreen"]
