"""Close-out: how every ceremony ends once its work is done — generation, recovery, re-share, retirement.

In this order, one :class:`CloseOut` for all four:

1. wipe the clear key (a generation wipes it first; a recovery or re-share wipes it as it closes, step 3);
2. each new custodian's acknowledgement form (PCI DSS 3.7.8) — a generation's shares, a re-share's new
   shares, a recovery's fresh components — signed by the custodian, recorded with the witness; and the key
   block transmittal (issue 16) of a recovery or generation that made a TR-31 key block, signed by the
   administrator and the witness;
3. close the ceremony with the ledger checkpoint (``ceremony.closed``; a re-share retires its old split
   here), so the closing checkpoint is :func:`~ceremony.flows.paperwork.closing_checkpoint_of`;
4. the minutes (DESIGN §4.7), signed by the administrator and the witness, printing that checkpoint;
5. each signed PDF written, as soon as it is signed, into the ceremony's documents folder
   (``ceremony-documents/<ceremony id>/`` beside the ledger; :mod:`ceremony.documents.archive`, never over
   an existing file) or wherever the caller keeps paper (a rehearsal's output folder).

**Failure policy: paper never undoes a ceremony, and never pretends to exist.**

* *The close always happens*, whatever becomes of the paper (steps 2, 4, 5: a form that cannot be rendered,
  signed or recorded, a full disk, a documents folder that cannot be written). By close-out every share was
  distributed and verified: voiding now would retire a split its custodians hold and have checked (or
  record as voided a key that is in force), and a recovery or re-share wipes its key only by closing — to
  stop at a failed form would leave the key in memory. The acknowledgements still come *before* the close,
  so the forms that were signed belong to the ceremony before its end (the minutes list them; a re-share's
  old split retires only after its new custodians acknowledged).
* *Nothing pretends.* Each paper that failed is named in :attr:`Closed.problems` (the screens and the
  rehearsal say so). The ledger records a document only once it is signed (``document.issued``, with its
  SHA-256): a custodian whose form was not issued has no acknowledgement on record, and stands "never
  acknowledged" in the reaffirmation schedule until they sign one. A paper signed and recorded whose *file*
  could not be written is kept in :attr:`Closed.unwritten`: the exact signed bytes whose SHA-256 the ledger
  holds, which :func:`keep_papers` writes to another folder — no new signature, no second record.
* *Re-issuing what was never signed*: on the closed ceremony, with the people present,
  :func:`ceremony.flows.paperwork.issue_acknowledgement_for` (the custodian and the witness) or
  :func:`~ceremony.flows.paperwork.issue_minutes_for` (the administrator and the witness) — both read the
  ceremony back from the ledger; or the custodian's reaffirmation (:mod:`ceremony.flows.reaffirmation`),
  which covers PCI DSS 3.7.8 too. (No CLI command re-issues a form yet.)
* *What close-out raises* is never a paper problem: the refusal to wipe (a share still unverified — nothing
  happened) and the close itself failing (the ledger cannot be written). The ceremony is then unfinished,
  exactly as after a crash; :meth:`CloseOut.run` may be called again (forms already issued are not issued
  twice), and after a restart the unfinished ceremony is voided (:mod:`ceremony.flows.unfinished`).

``run`` signs with pyHanko's synchronous API (plain code, the rehearsal); inside an event loop (Textual)
``await run_async()``, which signs and writes files off the loop while the ledger stays on its thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ceremony.documents import archive
from ceremony.errors import CeremonyError, FlowError
from ceremony.flows import paperwork
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.generation import Stage as GenerationStage
from ceremony.flows.paperwork import SignedDocument
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.store import Ledger

if TYPE_CHECKING:
    from ceremony.documents.templates import FormSet
    from ceremony.flows.recovery import RecoveryCeremony
    from ceremony.flows.reshare import ReshareCeremony, ReshareResult
    from ceremony.flows.retirement import RetirementCeremony

__all__ = ["CloseOut", "Closed", "Keeper", "keep_papers"]

Keeper = Callable[[SignedDocument], Path]  # writes one signed paper somewhere, returns the file written
_T = TypeVar("_T")


@dataclass(frozen=True)
class Closed:
    """A ceremony after its close-out: closed, with the papers that exist and the ones that do not."""

    ceremony_id: str
    checkpoint: Checkpoint  # THE closing checkpoint (recorded in ceremony.closed, printed in the minutes)
    folder: Path  # where its papers were written
    written: tuple[Path, ...]  # the files written, in order
    documents: tuple[SignedDocument, ...]  # every paper signed and recorded (document.issued)
    unwritten: tuple[SignedDocument, ...]  # signed and recorded, but no file: write them with keep_papers
    problems: tuple[str, ...]  # one line per paper that failed; empty when every paper exists
    reshare: ReshareResult | None = None  # a re-share's outcome (old split retired, new one in force)

    @property
    def complete(self) -> bool:
        return not self.problems


def keep_papers(documents: tuple[SignedDocument, ...] | list[SignedDocument], folder: Path) -> list[Path]:
    """Write signed papers (e.g. :attr:`Closed.unwritten`) into ``folder``, never over an existing file:
    the same bytes whose SHA-256 the ledger recorded."""
    return [archive.write_new_file(Path(folder) / d.record.file_name, d.pdf) for d in documents]


def _present(person: object, role: str) -> PresentPerson:
    if not isinstance(person, PresentPerson):
        raise FlowError(f"the close-out is signed by the ceremony's {role}, present and authenticated")
    return person


@dataclass(frozen=True)
class _Paper:
    """One paper issued before the close: what it is (for a problem line), how to issue it in plain code and
    inside an event loop (the same arguments), and what it stands for once issued (``done``: the share
    number of an acknowledgement, or "transmittal")."""

    what: str
    issue: Callable[[], SignedDocument]
    issue_async: Callable[[], Awaitable[SignedDocument]]
    done: int | str


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and not isinstance(error, CeremonyError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


class CloseOut:
    """The close-out of one ceremony (see the module doc for the order and the failure policy). Build it
    with :meth:`generation`, :meth:`recovery`, :meth:`reshare` or :meth:`retirement`; then :meth:`run` (or
    ``await`` :meth:`run_async`) once the ceremony's work is done."""

    def __init__(
        self,
        ledger: Ledger,
        ceremony_id: str,
        administrator: object,
        witness: object,
        *,
        close: Callable[[str], ReshareResult | None],
        wipe: Callable[[], None] = lambda: None,
        split_id: str | None = None,
        custodians: Mapping[int, PresentPerson] | None = None,
        location: str = "",
        folder: Path | None = None,
        keep: Keeper | None = None,
        forms: FormSet | None = None,
        key_block: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.ledger = ledger
        self.ceremony_id = ceremony_id
        self.administrator = administrator
        self.witness = witness
        self.split_id = split_id  # the split whose new custodians acknowledge (None: nobody)
        self.custodians = dict(sorted((custodians or {}).items())) if split_id else {}
        self.location = location
        self.folder = Path(folder) if folder else archive.documents_folder(ledger.path, ceremony_id)
        self.forms = forms
        self._wipe, self._close = wipe, close
        self._keep = keep or (lambda d: archive.write_new_file(self.folder / d.record.file_name, d.pdf))
        self.acknowledged: dict[int, SignedDocument] = {}  # issued once, even if the close is tried again
        self._key_block = key_block  # a recovery's key block text, once made (its transmittal is issued)
        self.transmittal: SignedDocument | None = None  # issued once too
        self.documents: list[SignedDocument] = []
        self.written: list[Path] = []
        self.unwritten: list[SignedDocument] = []
        self.problems: list[str] = []
        self.result: Closed | None = None
        self._reshare: ReshareResult | None = None

    # --- the four ceremonies ------------------------------------------------------------------------------
    @classmethod
    def generation(
        cls,
        ledger: Ledger,
        ceremony: GenerationCeremony,
        custodians: Mapping[int, PresentPerson],
        *,
        location: str = "",
        folder: Path | None = None,
        keep: Keeper | None = None,
        forms: FormSet | None = None,
    ) -> CloseOut:
        """A generation: wipe (if not done yet), each custodian's acknowledgement (and, for a key sent
        straight to its HSM as a TR-31 block, the block's transmittal), close, minutes."""

        def wipe() -> None:
            if ceremony.stage is GenerationStage.GENERATED:
                ceremony.wipe()

        def close(checkpoint: str) -> None:
            ceremony.close(checkpoint)

        def key_block() -> str | None:
            made = ceremony.key_block
            return made.block if made is not None else None

        return cls(
            ledger,
            ceremony.ceremony_id,
            ceremony.administrator,
            ceremony.witness,
            close=close,
            wipe=wipe,
            split_id=ceremony.split_id,
            custodians=custodians,
            location=location,
            folder=folder,
            keep=keep,
            forms=forms,
            key_block=key_block,
        )

    @classmethod
    def recovery(
        cls,
        ledger: Ledger,
        ceremony: RecoveryCeremony,
        custodians: Mapping[int, PresentPerson] | None = None,
        *,
        location: str = "",
        folder: Path | None = None,
        keep: Keeper | None = None,
        forms: FormSet | None = None,
    ) -> CloseOut:
        """A recovery: the fresh components' custodians acknowledge (none for a wrapped output), or, for a
        key block output, the administrator and the witness sign its transmittal; then the flow wipes the
        key and closes (``finish``), then the minutes."""

        def close(checkpoint: str) -> None:
            ceremony.finish(checkpoint)

        def key_block() -> str | None:
            made = ceremony.key_block
            return made.block if made is not None else None

        return cls(
            ledger,
            ceremony.ceremony_id,
            ceremony.administrator,
            ceremony.witness,
            close=close,
            split_id=ceremony.component_split_id,
            custodians=custodians,
            location=location,
            folder=folder,
            keep=keep,
            forms=forms,
            key_block=key_block,
        )

    @classmethod
    def reshare(
        cls,
        ledger: Ledger,
        reshare: ReshareCeremony,
        custodians: Mapping[int, PresentPerson],
        *,
        location: str = "",
        folder: Path | None = None,
        keep: Keeper | None = None,
        forms: FormSet | None = None,
    ) -> CloseOut:
        """A re-share: the new custodians acknowledge, then the flow retires the old split, wipes the key
        and closes (``finish``; its result is :attr:`Closed.reshare`), then the minutes."""
        rec = reshare.recovery
        return cls(
            ledger,
            reshare.ceremony_id,
            rec.administrator,
            rec.witness,
            close=reshare.finish,
            split_id=reshare.new_split_id,
            custodians=custodians,
            location=location,
            folder=folder,
            keep=keep,
            forms=forms,
        )

    @classmethod
    def retirement(
        cls,
        ledger: Ledger,
        ceremony: RetirementCeremony,
        *,
        location: str = "",
        folder: Path | None = None,
        keep: Keeper | None = None,
        forms: FormSet | None = None,
    ) -> CloseOut:
        """A retirement: no key in memory, nobody new to acknowledge; close, then the minutes."""

        def close(checkpoint: str) -> None:
            ceremony.close(checkpoint)

        return cls(
            ledger,
            ceremony.ceremony_id,
            ceremony.administrator,
            ceremony.witness,
            close=close,
            location=location,
            folder=folder,
            keep=keep,
            forms=forms,
        )

    # --- running it ---------------------------------------------------------------------------------------
    def run(self) -> Closed:
        """The whole close-out, synchronously (not inside an event loop: see :meth:`run_async`)."""
        if self.result is not None:
            return self.result
        self._begin()
        for document in list(self.unwritten):  # a second try: write what the first could not
            self._write(document, self._keep)
        for paper in self._before_close():
            self._paper(paper.what, paper.issue, paper.done)
        self._close_ceremony()
        minutes = self._minutes()
        self._paper(minutes.what, minutes.issue)
        return self._end()

    async def run_async(self) -> Closed:
        """:meth:`run` for code inside an event loop (Textual): PDFs are signed and files written in worker
        threads, every ledger write stays on the loop's thread."""
        if self.result is not None:
            return self.result
        self._begin()
        keep = self._keep
        for document in list(self.unwritten):
            await self._write_async(document, keep)
        for paper in self._before_close():
            await self._paper_async(paper.what, paper.issue_async, paper.done)
        self._close_ceremony()
        minutes = self._minutes()
        await self._paper_async(minutes.what, minutes.issue_async)
        return self._end()

    # --- the steps ----------------------------------------------------------------------------------------
    def _begin(self) -> None:
        self.problems = []
        self._wipe()  # a refusal here (a share still unverified) raises: nothing was done

    def _before_close(self) -> list[_Paper]:
        """The papers still to issue before the close: each new custodian's acknowledgement not issued yet,
        then a key block's transmittal (both the same in :meth:`run` and :meth:`run_async`)."""
        witness = _present(self.witness, "witness")
        papers = [
            _Paper(
                self._ack_label(number, custodian),
                partial(self._acknowledge, paperwork.issue_acknowledgement_for, number, custodian, witness),
                partial(
                    self._acknowledge, paperwork.async_issue_acknowledgement_for, number, custodian, witness
                ),
                number,
            )
            for number, custodian in self.custodians.items()
            if number not in self.acknowledged
        ]
        block = self._key_block()
        if block is not None and self.transmittal is None:
            papers.append(
                _Paper(
                    "key block transmittal",
                    partial(self._signed_by_both, paperwork.issue_key_block_transmittal_for, block),
                    partial(self._signed_by_both, paperwork.async_issue_key_block_transmittal_for, block),
                    "transmittal",
                )
            )
        return papers

    def _acknowledge(
        self,
        issue: Callable[..., _T],
        number: int,
        custodian: PresentPerson,
        witness: PresentPerson,
    ) -> _T:
        return issue(
            self.ledger, self.ceremony_id, self._split(), number, custodian, witness, forms=self.forms
        )

    def _signed_by_both(self, issue: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        """``issue(ledger, ceremony id, *args, administrator, witness, forms=..., **kwargs)``: a paper the
        administrator and the witness sign (who is present is checked when it is issued: a problem, not a
        raise)."""
        administrator = _present(self.administrator, "administrator")
        witness = _present(self.witness, "witness")
        return issue(self.ledger, self.ceremony_id, *args, administrator, witness, forms=self.forms, **kwargs)

    def _minutes(self) -> _Paper:
        return _Paper(
            "minutes",
            partial(self._signed_by_both, paperwork.issue_minutes_for, location=self.location),
            partial(self._signed_by_both, paperwork.async_issue_minutes_for, location=self.location),
            "minutes",
        )

    def _split(self) -> str:
        assert self.split_id is not None
        return self.split_id

    @staticmethod
    def _ack_label(number: int, custodian: PresentPerson) -> str:
        return f"acknowledgement of {custodian.name} (no. {number})"

    def _close_ceremony(self) -> None:
        # Raised, never a "problem": without the close the ceremony is unfinished (see the module doc).
        self._reshare = self._close(paperwork.closing_checkpoint(self.ledger))

    def _issued(self, document: SignedDocument, done: int | str | None) -> None:
        self.documents.append(document)
        if isinstance(done, int):
            self.acknowledged[done] = document
        elif done == "transmittal":
            self.transmittal = document

    def _failed(self, what: str, error: BaseException) -> None:
        self.problems.append(f"{what} not issued: {_describe(error)}")

    def _paper(self, what: str, issue: Callable[[], SignedDocument], done: int | str | None = None) -> None:
        try:
            document = issue()
        except (CeremonyError, OSError) as error:
            self._failed(what, error)
            return
        self._issued(document, done)
        self._write(document, self._keep)

    async def _paper_async(
        self, what: str, issue: Callable[[], Awaitable[SignedDocument]], done: int | str | None = None
    ) -> None:
        try:
            document = await issue()
        except (CeremonyError, OSError) as error:
            self._failed(what, error)
            return
        self._issued(document, done)
        await self._write_async(document, self._keep)

    def _write(self, document: SignedDocument, keep: Keeper) -> None:
        try:
            path = keep(document)
        except OSError as error:
            self._unwritten(document, error)
            return
        self._wrote(document, path)

    async def _write_async(self, document: SignedDocument, keep: Keeper) -> None:
        try:
            path = await asyncio.to_thread(keep, document)
        except OSError as error:
            self._unwritten(document, error)
            return
        self._wrote(document, path)

    def _wrote(self, document: SignedDocument, path: Path) -> None:
        if document in self.unwritten:
            self.unwritten.remove(document)
        self.written.append(path)

    def _unwritten(self, document: SignedDocument, error: OSError) -> None:
        if document not in self.unwritten:
            self.unwritten.append(document)
        self.problems.append(
            f"{document.record.file_name} signed and recorded but not written: {_describe(error)}"
        )

    def _end(self) -> Closed:
        self.result = Closed(
            ceremony_id=self.ceremony_id,
            checkpoint=paperwork.closing_checkpoint_of(self.ledger, self.ceremony_id),
            folder=self.folder,
            written=tuple(self.written),
            documents=tuple(self.documents),
            unwritten=tuple(self.unwritten),
            problems=tuple(self.problems),
            reshare=self._reshare,
        )
        return self.result
