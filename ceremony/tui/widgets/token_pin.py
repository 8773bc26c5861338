"""A PKCS#11 token chosen from its module, and its user PIN typed by a custodian (issue 16).

Shared by the recovery's load into a token (:mod:`ceremony.tui.screens.lifecycle.recovery_hsm`, the token
chosen on :mod:`~ceremony.tui.screens.lifecycle.recovery_start`) and the generation's key drawn from a
token's generator (:mod:`ceremony.tui.screens.gen_generate`, PCI PIN 5-1):

- :func:`default_module`: the first SoftHSM2 module path that exists on this laptop (a vendor's is typed);
- :func:`fill_token_choice`: the initialised tokens a module lists (no login), offered in a ``Select``;
- :class:`TokenPinEntry`: everyone but the custodian typing looks away, a custodian — never the ceremony's
  administrator or witness (:func:`custodians_but_control`) — authenticates and types the PIN into a
  :class:`~ceremony.tui.widgets.secret_input.SecretInput`. The PIN is taken once, in a wipeable buffer,
  by :meth:`TokenPinEntry.taken` (the field is wiped at once, the buffer when the block ends); it is never
  shown nor stored, and a refusal (a wrong PIN…) is said without it and may be retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import Participant, participants
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.frame import refusal_text
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput

if TYPE_CHECKING:  # python-pkcs11 is loaded only when a token is wanted
    from ceremony.hsm.pkcs11 import TokenInfo

# Where SoftHSM2's module usually is (Debian/Ubuntu): offered as the default module path.
MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def default_module() -> str:
    """The first SoftHSM2 module path that exists on this laptop, else empty (the vendor's is typed)."""
    return next((path for path in MODULE_CANDIDATES if Path(path).is_file()), "")


def listed_tokens(module: str) -> list[TokenInfo]:
    """The initialised tokens ``module`` lists (no login); a module that cannot be loaded raises
    :class:`~ceremony.errors.TokenError`."""
    from ceremony.hsm.pkcs11 import list_tokens  # loads python-pkcs11 only when a token is wanted

    return [token for token in list_tokens(module) if token.initialized]


def token_options(tokens: Iterable[TokenInfo]) -> list[tuple[str, str]]:
    """One choice a token: its label, maker, model and serial; the value is the label."""
    return [(f"{t.label} — {t.manufacturer} {t.model}, serial {t.serial}", t.label) for t in tokens]


def fill_token_choice(choice: Select[str], module: str) -> tuple[int, Text]:
    """Offer the tokens ``module`` lists in ``choice`` (the only one is chosen for the operator); how
    many were listed, and what to say: how many, or why none (a module that cannot be loaded, by name)."""
    try:
        options = token_options(listed_tokens(module))
    except CeremonyError as error:
        return 0, refusal_text(error)
    choice.set_options(options)
    if not options:
        return 0, Text(f"✗ No initialised token in {module}: initialise one first.", style="bold red")
    if len(options) == 1:
        choice.value = options[0][1]
    return len(options), Text(f"✓ {len(options)} token(s) listed by {module}.", style="bold green")


def custodians_but_control(ledger: Ledger, control: Iterable[str]) -> list[Participant]:
    """Who may type a token's PIN (or hold a KBPK component): any active custodian but the ceremony's
    administrator and witness (``control``: their person ids)."""
    barred = set(control)
    return [
        p for p in participants(ledger) if p.active and "custodian" in p.roles and p.person_id not in barred
    ]


class TokenPinEntry(Vertical):
    """Look away; a custodian authenticates (``#pin-custodian``) and types the token's user PIN (``#pin``).

    ``joined`` is told of each custodian who authenticated (the session locks them again at the end). The
    screen acts on ``Input.Submitted`` from ``#pin``: :meth:`missing` says what is still needed, then
    :meth:`taken` hands the PIN over once; :meth:`refused` shows a refusal, :meth:`finish` ends the turn."""

    DEFAULT_CSS = """
    TokenPinEntry {
        height: auto;
    }
    """

    def __init__(
        self,
        presence: Presence,
        people: Sequence[Participant],
        *,
        joined: Callable[[PresentPerson], None] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.presence = presence
        self.people = people
        self.joined = joined
        self.current: PresentPerson | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Everyone except the custodian typing the PIN, please look away.", style="bold"),
            id="pin-look-away",
        )
        yield AuthForm(
            self.presence, self.people, "custodian", title="Custodian typing the PIN", id="pin-custodian"
        )
        yield Label("Token user PIN (never shown, never stored)")
        yield SecretInput(placeholder="PIN, Enter", id="pin", max_length=256)

    @property
    def field(self) -> SecretInput:
        return self.query_one("#pin", SecretInput)

    def focus_first(self) -> None:
        self.query_one("#pin-custodian", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#pin-custodian")
    def _authenticated(self, event: AuthForm.Authenticated) -> None:
        if self.current is not None:
            self.current.leave()
        self.current = event.person
        if self.joined is not None:
            self.joined(event.person)
        self.field.focus()

    def missing(self) -> str | None:
        """What is still needed before the PIN can be used (the field concerned takes the focus)."""
        if self.current is None:
            self.focus_first()
            return "The custodian typing the PIN authenticates first."
        if self.field.is_empty:
            self.field.focus()
            return "Type the token's user PIN."
        return None

    @contextmanager
    def taken(self) -> Iterator[SecretBytes]:
        """The PIN, once: the field is wiped at once, the buffer when the block ends."""
        field = self.field
        with field.value_secret() as pin:
            field.wipe()
            yield pin

    def refused(self, error: BaseException, names: Mapping[str, str] | None = None) -> Text:
        """The refusal as the room reads it (never the PIN), with the retry; the PIN field takes the focus."""
        text = refusal_text(error, names)
        text.append("\n  Type the PIN again to retry.", style="bold")
        self.field.focus()
        return text

    def finish(self) -> str:
        """The PIN was used: the custodian who typed it is locked again, the field closed; their name."""
        assert self.current is not None
        name = self.current.name
        self.current.leave()
        self.current = None
        self.field.disabled = True
        return name

    def on_unmount(self) -> None:
        if self.current is not None:
            self.current.leave()
            self.current = None
