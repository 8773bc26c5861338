"""Generation's names for the one ceremony frame (:mod:`ceremony.tui.screens.frame`)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from ceremony.tui.screens.frame import SecretStepScreen, StepScreen, refusal_text

GenerationScreen = StepScreen
SecretGenerationScreen = SecretStepScreen


def error_text(error: BaseException, names: Mapping[str, str] | None = None) -> Text:
    """A refusal in the one vocabulary (:func:`ceremony.tui.screens.frame.refusal_text`)."""
    return refusal_text(error, names)
