"""First run: an empty ledger greets the user, the first security officer enrolls themselves, then they
enroll the people a ceremony needs; each person types their own passphrase (twice). Real ledger files,
real identities (light scrypt cost), real signatures checked by ``ceremony verify``'s replay."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, Select, Static

from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.enroll import MIN_PASSPHRASE, EnrollScreen
from ceremony.tui.screens.first_run import FirstRunScreen
from ceremony.tui.screens.main_menu import MainMenuScreen
from ceremony.tui.screens.participants import ParticipantsScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, passphrase, type_into, wait_for


def app_for(path: Path) -> LedgerApp:
    return LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)


async def fill_enrollment(
    pilot, app, name: str, employee: str, first: str, second: str, role: str | None = None
):
    screen = app.screen
    assert isinstance(screen, EnrollScreen)
    await type_into(pilot, screen.query_one("#name", Input), name)
    await type_into(pilot, screen.query_one("#employee", Input), employee)
    if role is not None:
        select = screen.query_one("#role", Select)
        select.focus()
        select.value = role
        await pilot.pause()
    await type_into(pilot, screen.query_one("#passphrase", SecretInput), first)
    await type_into(pilot, screen.query_one("#repeat", SecretInput), second)
    await pilot.press("enter")
    await pilot.pause()


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def test_empty_ledger_greets_and_q_leaves_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.sqlite3"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, FirstRunScreen)
        text = str(app.screen.query_one("#welcome", Static).render())
        assert "This ledger is empty" in text and "ledger.sqlite3" in text
        assert app.focused is app.screen.query_one("#begin", Button)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not path.exists()


async def test_first_officer_then_participants_then_main_menu(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
        # Refusals first: too short, then two different passphrases. Nothing is written.
        await fill_enrollment(pilot, app, "Sophie Officer", "E0001", "short", "short")
        assert f"at least {MIN_PASSPHRASE}" in status(app)
        screen = app.screen
        screen.query_one("#name", Input).value = ""
        screen.query_one("#employee", Input).value = ""
        await fill_enrollment(pilot, app, "", "", passphrase("sophie"), passphrase("sophie"))
        assert "full name" in status(app)
        await fill_enrollment(
            pilot, app, "Sophie Officer", "E0001", passphrase("sophie"), passphrase("sophi")
        )
        assert "differ" in status(app)
        assert not path.exists()
        assert screen.query_one("#passphrase", SecretInput).is_empty  # both fields emptied
        await type_into(pilot, screen.query_one("#passphrase", SecretInput), passphrase("sophie"))
        await type_into(pilot, screen.query_one("#repeat", SecretInput), passphrase("sophie"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        people = app.screen
        assert "A ceremony still needs: a ceremony administrator, a witness, 2 more key custodians" in str(
            people.query_one("#needs", Static).render()
        )
        # The officer authenticates (a wrong passphrase first), then enrolls the others.
        form = people.query_one(AuthForm)
        await type_into(pilot, form.query_one(SecretInput), "not the passphrase")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "did not unlock" in str(form.query_one(".auth-status", Static).render())
        )
        assert people.query_one("#enroll", Button).disabled
        await type_into(pilot, form.query_one(SecretInput), passphrase("sophie"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: not people.query_one("#enroll", Button).disabled)
        assert app.focused is people.query_one("#enroll", Button)
        for index, (short, name, role) in enumerate(
            [
                ("alice", "Alice Admin", "administrator"),
                ("walter", "Walter Witness", "witness"),
                ("cust1", "Carla One", "custodian"),
                ("cust2", "Chris Two", "custodian"),
            ],
            start=2,
        ):
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
            await fill_enrollment(
                pilot, app, name, f"E{index:04d}", passphrase(short), passphrase(short), role
            )
            await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        assert "Enough people are enrolled" in str(people.query_one("#needs", Static).render())
        assert people.query_one("#people").row_count == 5
        # The same employee id twice is refused by the ledger, and said so.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
        await fill_enrollment(
            pilot, app, "Carla Again", "E0004", passphrase("x"), passphrase("x"), "custodian"
        )
        await wait_for(pilot, lambda: "already enrolled" in status(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        people.query_one("#done", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    with Ledger.open(path, read_only=True) as ledger:
        enrolled = [e for e in ledger.events() if e.type == "participant.enrolled"]
        assert ledger.info.rehearsal is False  # a ledger made by first run is a production ledger
    assert [e.payload["roles"] for e in enrolled] == [
        ["security_officer"],
        ["administrator"],
        ["witness"],
        ["custodian"],
        ["custodian"],
    ]
    officer = str(enrolled[0].payload["person_id"])
    assert enrolled[0].attested_by == (officer,)  # the first officer signs their own enrollment
    for event in enrolled[1:]:  # later ones: the new person and the present officer
        assert set(event.attested_by) == {officer, str(event.payload["person_id"])}
    assert verify_ledger(path).participants == 5  # every signature verifies on replay


async def test_a_ledger_with_people_opens_on_the_main_menu(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, MainMenuScreen)
        assert "REHEARSAL" in str(app.screen.query_one("#menu-title", Static).render())
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")  # Participants
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        assert app.screen.query_one("#people").row_count == 7
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
        app.screen.query_one("#verify", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "intact" in str(app.screen.query_one("#menu-status", Static).render()))
