"""Printing a share card during private distribution (DESIGN §4.2, issue "Documents").

The card is rendered in memory and goes straight to a printer, or to a RAM-backed folder from which it is
printed and then wiped; the ledger records each card printed (an exposure of kind ``printed``, with the
envelope serial, the destination and the copies) *before* the card leaves the process, and a failure
after that is recorded too. A destination on persistent disk is refused unless explicitly allowed, and
then its warning is recorded. The tool keeps nothing: a card file in a folder is registered with
:mod:`ceremony.flows.card_files` until it is wiped, so Ctrl+C, SIGTERM or an exit wipes it too (and a run
that could not, e.g. a power cut, is caught at the next start).
"""

from __future__ import annotations

from collections.abc import Callable

from ceremony.documents.printing import Delivery, deliver_card, overwrite_and_remove, wipe_after_print
from ceremony.errors import CeremonyError, DocumentError
from ceremony.flows import card_files, paperwork
from ceremony.flows.common import Present, normalise_serial
from ceremony.flows.generation import GenerationCeremony
from ceremony.ledger.store import Ledger


def print_share_card(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    custodian: Present,
    envelope_serial: str,
    printer: str = "ram",
    *,
    allow_persistent_disk: bool = False,
) -> Delivery:
    """Render share ``number``'s card for ``custodian`` (with the witness present) and deliver it."""
    serial = normalise_serial(envelope_serial)
    typed = ceremony.share_for_card(number, custodian)
    try:
        pdf = paperwork.render_card(ledger, ceremony, number, typed, serial)
    finally:
        typed.wipe()
    try:
        ceremony.record(
            "share.exposed",
            {
                "person_id": custodian.person_id,
                "split_id": ceremony.split_id,
                "share_number": number,
                "kind": "printed",
                "envelope_serial": serial,
                "printer": printer,
            },
            (custodian, ceremony.witness),
        )
        try:
            delivery = deliver_card(
                pdf,
                printer,
                card_files.card_file_name(str(ceremony.split_id), number),
                allow_persistent_disk=allow_persistent_disk,
            )
        except CeremonyError as error:
            ceremony.record(
                "share.card_failed",
                {"split_id": ceremony.split_id, "share_number": number, "reason": type(error).__name__},
                (custodian, ceremony.witness),
            )
            raise
        if delivery.path is not None:
            card_files.register(delivery.path, _wipe_recorder(ceremony, delivery, custodian))
        try:
            ceremony.record(
                "share.card_delivered",
                {
                    "split_id": ceremony.split_id,
                    "share_number": number,
                    "destination": delivery.destination,
                    "copies": delivery.copies,
                    "ram_backed": delivery.ram_backed,
                    **({"warning": delivery.warning} if delivery.warning else {}),
                },
                (custodian, ceremony.witness),
            )
        except BaseException:
            # Not recorded as delivered: the file must not stay behind (nothing would ever find it).
            if delivery.path is not None:
                card_files.forget(delivery.path)
                overwrite_and_remove(delivery.path)
            raise
        return delivery
    finally:
        pdf.wipe()


def card_printed(ceremony: GenerationCeremony, delivery: Delivery, custodian: Present) -> None:
    """After printing from a RAM folder: overwrite and delete the file, and record that it is gone."""
    if delivery.path is None:
        return
    try:
        wipe_after_print(delivery.path)
    except OSError as error:
        raise DocumentError(f"the card file {delivery.path} could not be wiped: {error.strerror}") from None
    card_files.forget(delivery.path)
    _wipe_recorder(ceremony, delivery, custodian)()


def _wipe_recorder(
    ceremony: GenerationCeremony, delivery: Delivery, custodian: Present
) -> Callable[[], None]:
    """Records ``share.card_wiped`` for this card (custodian and witness): after printing, or when Ctrl+C /
    SIGTERM wiped the file while both were still present."""

    def record() -> None:
        ceremony.record(
            "share.card_wiped",
            {"split_id": ceremony.split_id, "file": str(delivery.path)},
            (custodian, ceremony.witness),
        )

    return record
