"""The one source of step titles (flows/steps.py): what the TUI shows, what the README lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ceremony.flows import steps
from ceremony.ledger import schema

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", sorted(steps.CEREMONIES))
def test_every_recorded_event_type_exists(name: str) -> None:
    for step in steps.CEREMONIES[name]:
        for event_type in step.records:
            assert event_type in schema.EVENT_TYPES, f"{name} / {step.title}: no event type {event_type}"


@pytest.mark.parametrize("name", sorted(steps.CEREMONIES))
def test_titles_fit_the_step_list(name: str) -> None:
    for title in steps.titles(steps.CEREMONIES[name]):
        assert len(title) <= 24, title


def test_readme_lists_each_ceremony_with_these_steps() -> None:
    text = README.read_text(encoding="utf-8")
    for name, spec in steps.CEREMONIES.items():
        match = re.search(rf"^- \*\*{re.escape(name)}\*\*: (.+)$", text, re.M)
        assert match, f"README has no '- **{name}**: …' line in its ceremony steps section"
        listed = [part.strip() for part in match.group(1).rstrip(".").split(" → ")]
        assert listed == list(steps.titles(spec)), name


def test_the_screens_use_these_titles() -> None:
    from ceremony.tui.screens.gen_session import GENERATION_STEP_TITLES
    from ceremony.tui.screens.lifecycle.session import RECOVERY_STEPS, RESHARE_STEPS

    assert GENERATION_STEP_TITLES == steps.GENERATION_TITLES
    assert RECOVERY_STEPS == steps.RECOVERY_TITLES
    assert RESHARE_STEPS == steps.RESHARE_TITLES
    from ceremony.tui.screens.lifecycle.retire import RETIRE_STEPS

    assert RETIRE_STEPS == steps.RETIREMENT_TITLES
