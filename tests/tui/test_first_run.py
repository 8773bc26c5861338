"""First run and enrolment under dual control (DESIGN §1, §5, §6): an empty ledger greets the user, the first
security officer founds it (organisation, own identity), the ledger anchor is shown with its signed PDF, then
they enroll the people a ceremony needs — the first enrolment after founding alone, every later one with a
second enrolled person present. Each person types their own passphrase (twice). Real ledger files, real
identities (light scrypt cost), real signatures checked by ``ceremony verify``'s replay."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, Select, Static

from ceremony.flows.enrolment import MIN_PASSPHRASE
from ceremony.ledger import participants as people
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.anchor import AnchorScreen, anchor_rows
from ceremony.tui.screens.enroll import EnrollScreen, FoundingScreen
from ceremony.tui.screens.first_run import FirstRunScreen
from ceremony.tui.screens.main_menu import MainMenuScreen
from ceremony.tui.screens.participants import ParticipantsScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, passphrase, type_into, wait_for
from tests.tui.lifecycle_cast import authenticate


def app_for(path: Path) -> LedgerApp:
    return LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)


async def fill(pilot, screen, **fields: str) -> None:
    """Type into the form's fields by id (``organisation``, ``name``, ``employee``, ``passphrase``,
    ``repeat``); a ``role`` is picked in the role list."""
    for field, value in fields.items():
        if field == "role":
            select = screen.query_one("#role", Select)
            select.focus()
            select.value = value
            await pilot.pause()
            continue
        widget = screen.query_one(f"#{field}", Input)
        widget.value = ""
        await type_into(pilot, widget, value)


async def enroll_one(pilot, app, name: str, employee: str, short: str, role: str) -> None:
    """From the participants screen: Enter on Enroll, the new person types, back on participants."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
    secret = passphrase(short)
    await fill(pilot, app.screen, name=name, employee=employee, role=role, passphrase=secret, repeat=secret)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_empty_ledger_greets_and_q_leaves_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.sqlite3"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, FirstRunScreen)
        text = str(app.screen.query_one("#welcome", Static).render())
        assert "This ledger is empty" in text and "ledger.sqlite3" in text
        assert "founds the ledger (organisation" in text and "anchor" in text
        assert app.focused is app.screen.query_one("#begin", Button)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not path.exists()


async def test_founding_asks_the_organisation_and_shows_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FoundingScreen))
        screen = app.screen
        organisation = screen.query_one("#organisation", Input)
        assert organisation.value == "" and app.focused is organisation  # no default organisation
        secret = passphrase("sophie")
        # Refusals first: no organisation, too short, two different passphrases. Nothing is written.
        await fill(pilot, screen, name="Sophie Officer", employee="E0001", passphrase=secret, repeat=secret)
        await pilot.press("enter")
        assert "organisation" in status(app) and app.focused is organisation
        await fill(pilot, screen, organisation="Acme Payments plc", passphrase="short", repeat="short")
        await pilot.press("enter")
        assert f"at least {MIN_PASSPHRASE}" in status(app)
        await fill(pilot, screen, name="", passphrase=secret, repeat=secret)
        await pilot.press("enter")
        assert "full name" in status(app)
        await fill(pilot, screen, name="Sophie Officer", passphrase=secret, repeat=passphrase("sophi"))
        await pilot.press("enter")
        assert "differ" in status(app)
        assert screen.query_one("#passphrase", SecretInput).is_empty  # both fields emptied
        assert screen.query_one("#repeat", SecretInput).is_empty
        assert not path.exists()
        await fill(pilot, screen, passphrase=secret, repeat=secret)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AnchorScreen))
        shown = app.screen
        with Ledger.open(path, read_only=True) as ledger:
            anchor = people.anchor(ledger)
            genesis = people.genesis(ledger)
            issued = [e for e in ledger.events() if e.type == "document.issued"]
            assert ledger.info.rehearsal is False  # a ledger founded by first run is a production ledger
        assert genesis.organisation == "Acme Payments plc" and genesis.name == "Sophie Officer"
        # The anchor as on paper: the three lines, each hash folded between groups, parses back.
        boxed = text_of(shown, "#anchor")
        assert boxed.splitlines() == anchor_rows(anchor)
        assert anchor.grouped()[0] in boxed
        assert Anchor.parse(boxed) == anchor
        assert "Acme Payments plc" in text_of(shown, "#founded")
        pdf = text_of(shown, "#anchor-pdf")
        assert "ledger-anchor-" in pdf and str(tmp_path) in pdf
        assert list((tmp_path / "ceremony-documents").glob("ledger-anchor-*.pdf"))
        assert [e.payload["kind"] for e in issued] == ["anchor"]  # the PDF's hash is on record
        assert "paper checkpoints" in text_of(shown, "#anchor-keep")
        assert app.focused is shown.query_one("#continue", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))


async def test_first_run_enrols_alone_once_then_with_a_second_person(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FoundingScreen))
        secret = passphrase("sophie")
        await fill(
            pilot,
            app.screen,
            organisation="Acme Payments plc",
            name="Sophie Officer",
            employee="E0001",
            passphrase=secret,
            repeat=secret,
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AnchorScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        screen = app.screen
        assert (
            "A ceremony still needs: a ceremony administrator, a witness, 3 more key custodians"
            in text_of(screen, "#needs")
        )
        # The founder is the only person: no second form, and the screen says why.
        assert not screen.query("#second")
        assert "first enrollment after founding needs only the founding officer" in text_of(
            screen, "#second-why"
        )
        enroll = screen.query_one("#enroll", Button)
        assert enroll.disabled and "a security officer" in text_of(screen, "#missing")
        # The officer authenticates (a wrong passphrase first), then enrolls Alice alone.
        form = screen.query_one("#officer", AuthForm)
        await authenticate(pilot, form, None, "not the passphrase")
        await wait_for(
            pilot, lambda: "did not unlock" in str(form.query_one(".auth-status", Static).render())
        )
        assert enroll.disabled
        await authenticate(pilot, form, None, secret)
        await wait_for(pilot, lambda: not enroll.disabled)
        assert app.focused is enroll
        await enroll_one(pilot, app, "Alice Admin", "E0002", "alice", "administrator")
        # From now on a second person is needed: the form appears, Enroll waits for them.
        await wait_for(pilot, lambda: bool(screen.query("#second")))
        second = screen.query_one("#second", AuthForm)
        assert enroll.disabled
        assert "second enrolled person (other than Sophie Officer)" in text_of(screen, "#missing")
        assert not screen.query_one("#second-why").display
        assert list(second.people) == [people_ids(path)["Alice Admin"]]  # never the officer
        screen.query_one("#people").focus()
        await pilot.press("e")  # refused: the Enroll key does nothing but say what is missing
        await pilot.pause()
        assert isinstance(app.screen, ParticipantsScreen)
        await authenticate(pilot, second, None, passphrase("alice"))
        await wait_for(pilot, lambda: not enroll.disabled)
        assert app.focused is enroll and not screen.query_one("#missing").display
        for employee, (short, name, role) in enumerate(
            [
                ("walter", "Walter Witness", "witness"),
                ("cust1", "Carla One", "custodian"),
                ("cust2", "Chris Two", "custodian"),
            ],
            start=3,
        ):
            await enroll_one(pilot, app, name, f"E{employee:04d}", short, role)
        # Two custodians are not enough (README: three at least, for a 2-of-3 split).
        assert "A ceremony still needs: 1 more key custodian." in text_of(screen, "#needs")
        await enroll_one(pilot, app, "Cora Three", "E0006", "cust3", "custodian")
        assert "Enough people are enrolled for a 2-of-3 ceremony." in text_of(screen, "#needs")
        assert screen.query_one("#people").row_count == 6
        # The same employee id twice is refused by the flow, and said so.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
        again = passphrase("x")
        await fill(
            pilot,
            app.screen,
            name="Carla Again",
            employee="E0004",
            role="custodian",
            passphrase=again,
            repeat=again,
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: "already enrolled" in status(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        screen.query_one("#done", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    with Ledger.open(path, read_only=True) as ledger:
        events = list(ledger.events())
    founder = str(events[0].payload["person_id"])
    assert events[0].type == "ledger.genesis" and events[0].attested_by == (founder,)
    enrolled = [e for e in events if e.type == "participant.enrolled"]
    assert [e.payload["roles"] for e in enrolled] == [
        ["administrator"],
        ["witness"],
        ["custodian"],
        ["custodian"],
        ["custodian"],
    ]
    alice = str(enrolled[0].payload["person_id"])
    assert set(enrolled[0].attested_by) == {founder, alice}  # the first after founding: officer + new person
    for event in enrolled[1:]:  # every later one: officer, second person, new person
        assert set(event.attested_by) == {founder, alice, str(event.payload["person_id"])}
    assert verify_ledger(path).participants == 6  # every signature verifies on replay


def people_ids(path: Path) -> dict[str, str]:
    with Ledger.open(path, read_only=True) as ledger:
        return {p.name: p.person_id for p in people.participants(ledger)}


OFFICE = (
    ("sophie", "Sophie Officer", ("security_officer",)),
    ("alice", "Alice Admin", ("administrator",)),
    ("walter", "Walter Witness", ("witness",)),
)


async def open_participants(pilot, app) -> ParticipantsScreen:
    app.screen.query_one("#participants", Button).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
    return app.screen


async def test_enroll_needs_the_officer_and_a_second_person(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, OFFICE)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_participants(pilot, app)
        enroll = screen.query_one("#enroll", Button)
        second = screen.query_one("#second", AuthForm)
        assert set(second.people) == {ids["alice"], ids["walter"]}  # anyone active but the only officer
        assert not screen.query_one("#second-why").display
        assert app.focused is screen.query_one("#officer", AuthForm).query_one(SecretInput)
        await authenticate(pilot, screen.query_one("#officer", AuthForm), None, passphrase("sophie"))
        await wait_for(pilot, lambda: screen.officer is not None)
        # Only the officer is present: Enroll stays disabled, a line says who is missing, the focus
        # goes to the second person's form (not to a disabled button).
        assert enroll.disabled
        assert "a second enrolled person" in text_of(screen, "#missing")
        assert app.focused is second.query_one(Select)
        screen.query_one("#people").focus()
        await pilot.press("e")  # refused: the Enroll key does nothing but say what is missing
        await pilot.pause()
        assert isinstance(app.screen, ParticipantsScreen)
        await authenticate(pilot, second, ids["walter"], passphrase("walter"))
        await wait_for(pilot, lambda: not enroll.disabled)
        assert screen.second is not None and screen.second.person_id == ids["walter"]
        await enroll_one(pilot, app, "Carla One", "E0010", "cust1", "custodian")
        assert screen.query_one("#people").row_count == 4
    with Ledger.open(path, read_only=True) as ledger:
        last = list(ledger.events())[-1]
    assert last.type == "participant.enrolled"
    assert set(last.attested_by) == {ids["sophie"], ids["walter"], str(last.payload["person_id"])}
    assert verify_ledger(path).participants == 4


async def test_a_namesake_needs_the_explicit_confirmation(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, OFFICE)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_participants(pilot, app)
        await authenticate(pilot, screen.query_one("#officer", AuthForm), None, passphrase("sophie"))
        await wait_for(pilot, lambda: screen.officer is not None)
        await authenticate(pilot, screen.query_one("#second", AuthForm), ids["alice"], passphrase("alice"))
        await wait_for(pilot, lambda: not screen.query_one("#enroll", Button).disabled)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
        form = app.screen
        assert not form.query_one("#namesakes").display
        secret = passphrase("other walter")
        # Same name (other case and spacing), another employee id: listed, and a tick is required.
        await fill(
            pilot,
            form,
            name="walter  WITNESS",
            employee="E0042",
            role="custodian",
            passphrase=secret,
            repeat=secret,
        )
        await pilot.press("enter")
        await pilot.pause()
        assert form.query_one("#namesakes").display
        listed = text_of(form, "#namesake-list")
        assert "Walter Witness, employee id E0002, enrolled at event #3" in listed
        tick = form.query_one("#different", Checkbox)
        assert "Sophie Officer and Alice Admin confirm this is a different person" in str(tick.label)
        assert app.focused is tick and not tick.value
        assert "different person" in status(app)
        assert isinstance(app.screen, EnrollScreen)  # nothing recorded
        assert not form.query_one("#passphrase", SecretInput).is_empty  # nobody retypes anything
        await pilot.press("space")  # the officer and the second person confirm
        assert tick.value
        form.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
    with Ledger.open(path, read_only=True) as ledger:
        last = list(ledger.events())[-1]
    assert last.payload["name"] == "walter  WITNESS" and last.payload["same_name_confirmed"] == [
        ids["walter"]
    ]
    assert set(last.attested_by) == {ids["sophie"], ids["alice"], str(last.payload["person_id"])}
    assert verify_ledger(path).participants == 4


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
