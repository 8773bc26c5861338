"""GroupedShareEntry: a share typed group by group, each group checked when complete (issue 14, 2.7).

The pure part (``ShareGroups``) is tested exhaustively with hypothesis against the real codec; the widget
with the Pilot at 80x24 in a small app (keys as a custodian presses them) and on the verification screens
through the real flows (tests/tui/test_generation_screens.py, test_lifecycle_screens.py).
"""

from __future__ import annotations

import os
import re

import pyshamir
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.ids import ALPHABET, new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import ShareChecksumError
from ceremony.tui.widgets.share_groups import GROUP, MASK, GroupedShareEntry, ShareGroups, typo_text


def typed_form(share: Share) -> str:
    encoded = encode_share(share)
    with encoded:
        return bytes(encoded.view()).decode()


def a_share(length: int = 32, number: int = 2) -> str:
    """The typed form of a real 3-of-5 Shamir share of a ``length``-byte key (tests only)."""
    parts = pyshamir.split(os.urandom(length), 5, 3)
    return typed_form(Share(new_id(), new_id(), Scheme.SHAMIR, 3, 5, number, SecretBytes(parts[number - 1])))


def mistype(group: str, at: int) -> str:
    """``group`` with the character at ``at`` replaced by another symbol of the alphabet."""
    other = ALPHABET[(ALPHABET.index(group[at]) + 7) % len(ALPHABET)]
    return group[:at] + other + group[at + 1 :]


def feed(groups: ShareGroups, text: str) -> None:
    for char in text:
        if not groups.type(char):
            break


def flagged_group(groups: ShareGroups) -> int:
    """The group the custodian is told to correct: by the widget as they type, or by the flow on Enter
    (the last group, which may be short, is judged with the whole share)."""
    if groups.bad:
        return groups.bad
    with groups.share() as typed:
        try:
            decode_share(typed.buffer()).data.wipe()
        except ShareChecksumError as error:
            groups.refuse(error)
            return groups.bad
    return 0


# --- the pure part, against the codec ----------------------------------------------------------------------
@st.composite
def corrupted_shares(draw: st.DrawFn) -> tuple[str, int, str]:
    """A real share's typed form, the (0-based) group that is corrupted, and the corrupted text: one
    character mistyped, or two different characters of the group swapped."""
    length = draw(st.integers(min_value=1, max_value=64))
    data = draw(st.binary(min_size=length, max_size=length))
    count = draw(st.integers(min_value=2, max_value=9))
    number = draw(st.integers(min_value=1, max_value=count))
    share = Share(new_id(), new_id(), Scheme.XOR, count, count, number, SecretBytes(data))
    groups = typed_form(share).split("-")
    k = draw(st.integers(min_value=0, max_value=len(groups) - 1))
    group = groups[k]
    if draw(st.booleans()):
        i, j = draw(st.sampled_from([(i, j) for i in range(len(group)) for j in range(i + 1, len(group))]))
        if group[i] == group[j]:
            bad = mistype(group, i)
        else:
            bad = group[:i] + group[j] + group[i + 1 : j] + group[i] + group[j + 1 :]
    else:
        bad = mistype(group, draw(st.integers(min_value=0, max_value=len(group) - 1)))
    corrupted = [*groups[:k], bad, *groups[k + 1 :]]
    return "-".join(groups), k, "-".join(corrupted)


@settings(max_examples=300, deadline=None)
@given(corrupted_shares())
def test_any_single_group_corruption_is_flagged_at_exactly_that_group(case: tuple[str, int, str]) -> None:
    good, k, corrupted = case
    groups = ShareGroups()
    feed(groups, corrupted)
    assert flagged_group(groups) == k + 1
    assert groups.accepted == k  # every group before it is kept
    assert groups.current == k + 1  # and it is the one group shown in clear
    # Correcting that group (Backspace over it) and typing on from there gives back the share.
    while groups.length > k * GROUP:
        groups.backspace()
    assert not groups.bad
    feed(groups, "-".join(good.split("-")[k:]))
    assert flagged_group(groups) == 0
    with groups.share() as typed:
        assert bytes(typed.view()) == good.replace("-", "").encode()


def test_backspace_on_an_empty_group_goes_back_into_the_previous_one() -> None:
    share = a_share()
    groups = ShareGroups()
    feed(groups, share[:17])  # "AAAAA-BBBBB-CCCCC": three groups, all accepted
    assert (groups.accepted, groups.current) == (3, 4)
    groups.backspace()  # group 4 is empty: the last character of group 3 goes
    assert (groups.accepted, groups.current) == (2, 3)
    assert bytes(groups.current_chars()) == share[12:16].encode()
    feed(groups, share[16])
    assert (groups.accepted, groups.current) == (3, 4)


def test_separators_case_and_look_alikes_are_typed_as_on_the_card() -> None:
    share = a_share()
    groups = ShareGroups()
    feed(groups, " ".join(share.lower().split("-")))
    assert flagged_group(groups) == 0
    look_alike = ShareGroups()
    assert look_alike.type("o") and look_alike.type("I") and look_alike.type("l")
    assert bytes(look_alike.current_chars()) == b"011"


def test_a_character_never_on_a_card_is_refused_and_nothing_else_changes() -> None:
    groups = ShareGroups()
    feed(groups, "1S0")
    assert not groups.type("U") and not groups.type("!")
    assert groups.stray and groups.length == 3 and not groups.bad


def test_a_whole_share_refusal_starts_again_and_wipes() -> None:
    groups = ShareGroups()
    feed(groups, a_share())
    buffer = groups._buf
    groups.refuse(ShareChecksumError("every group checks out but the share as a whole does not", group=0))
    assert groups.length == 0 and not any(buffer)
    assert groups.error is not None and not groups.bad


def test_repr_and_messages_carry_no_character() -> None:
    share = a_share()
    groups = ShareGroups()
    feed(groups, share)
    assert re.fullmatch(r"<ShareGroups \d+ characters, bad group 0>", repr(groups))
    with groups.share() as typed:
        assert repr(typed).startswith("<SecretBytes")


def test_one_wording_for_a_typo() -> None:
    text = typo_text(ShareChecksumError("a character in it is mistyped", group=12)).plain
    assert text == "✗ Typing error in group 12 — a character in it is mistyped"
    assert text.lower().count("group 12") == 1


# --- the widget, at 80x24 ----------------------------------------------------------------------------------
class EntryScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("Verification: share 2 of 5 — Carla One")
        yield GroupedShareEntry(id="share-entry")

    def on_mount(self) -> None:
        self.query_one(GroupedShareEntry).focus()


class EntryApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.entered: list[bytes] = []

    def on_mount(self) -> None:
        self.push_screen(EntryScreen())

    def on_grouped_share_entry_entered(self, event: GroupedShareEntry.Entered) -> None:
        with event.share as typed:
            self.entered.append(bytes(typed.view()))


def screen_text(app: App[None]) -> str:
    """What the terminal shows, as text (the SVG export's characters, markup dropped)."""
    svg = app.export_screenshot()
    text = re.sub(r"<[^>]+>", "", svg).replace("&#160;", " ")
    return re.sub(r"&[a-z]+;", " ", text)


def keys(text: str) -> list[str]:
    return ["minus" if c == "-" else c.lower() for c in text]


async def test_a_mistyped_group_is_named_kept_apart_and_corrected_alone() -> None:
    share = a_share()
    groups = share.split("-")
    wrong = mistype(groups[8], 2)
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.screen.query_one(GroupedShareEntry)
        entry.type_text("-".join(groups[:7]))  # the header, as a scanner would
        await pilot.press(*keys("-".join([groups[7], wrong, groups[9]])))  # then by hand
        shown = screen_text(app)
        assert "Typing error in group 9 —" in shown
        assert "Backspace to correct group 9" in shown
        assert entry.groups.accepted == 8 and entry.groups.bad == 9
        assert shown.count(MASK + "✓") == 8
        assert wrong in shown  # the group to correct, and only that one, in clear
        assert not any(g in shown for g in groups[:8] + groups[9:] if g != wrong)
        await pilot.press("enter")  # nothing is handed over while a group is wrong
        assert app.entered == []
        await pilot.press(*["backspace"] * 5, *keys(groups[8]))
        assert entry.groups.accepted == 9 and not entry.groups.bad
        entry.type_text("-".join(groups[9:]))
        await pilot.press("enter")
        await pilot.pause()
    assert app.entered == [share.replace("-", "").encode()]


async def test_backspace_across_a_group_boundary_shows_the_group_again() -> None:
    share = a_share()
    groups = share.split("-")
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.screen.query_one(GroupedShareEntry)
        await pilot.press(*keys("-".join(groups[:3])))
        assert entry.groups.accepted == 3
        assert not any(g in screen_text(app) for g in groups[:3])
        await pilot.press("backspace")
        assert entry.groups.current == 3
        assert groups[2][:4] in screen_text(app)  # group 3 is being typed again: its four characters
        assert not any(g[:4] in screen_text(app) for g in groups[:2])
        await pilot.press(groups[2][4].lower(), *keys(groups[3]))
        assert entry.groups.accepted == 4 and not any(g in screen_text(app) for g in groups[:4])


async def test_nothing_typed_is_on_screen_but_the_current_group() -> None:
    share = a_share(64)  # 35 groups: the longest key there is
    groups = share.split("-")
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(GroupedShareEntry).type_text(share[:-3])
        await pilot.press(*keys(share[-3:-1]))
        shown = screen_text(app)
        current = groups[-1][:-1]
        for group in groups[:-1]:
            assert group not in shown
        assert re.search(rf"\b{current}", shown)
        assert "Groups 1–34 check out" in shown


async def test_the_buffer_is_wiped_when_the_screen_is_left() -> None:
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.screen.query_one(GroupedShareEntry)
        entry.type_text(a_share()[:40])
        buffer = entry.groups._buf
        assert any(buffer)
        app.switch_screen(Screen())
        await pilot.pause()
        assert not any(buffer) and entry.groups.length == 0


async def test_a_paste_is_typed_group_by_group() -> None:
    from textual import events

    share = a_share()
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.screen.query_one(GroupedShareEntry)
        entry.post_message(events.Paste(share))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert app.entered == [share.replace("-", "").encode()]


@pytest.mark.parametrize("key", ["ctrl+c", "ctrl+x", "ctrl+shift+a"])
async def test_no_clipboard_key_does_anything(key: str) -> None:
    app = EntryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys(a_share()[:12]), key)
        assert app.clipboard == ""
        assert app.screen.query_one(GroupedShareEntry).groups.length == 10
