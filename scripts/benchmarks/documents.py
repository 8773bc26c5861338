"""Documents: render + sign time per form (issue 5), median of 5 runs after a warm-up."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import median_time  # noqa: E402

from ceremony.documents.render import (  # noqa: E402
    render_acknowledgement,
    render_minutes,
    render_reaffirmation,
    render_share_card,
)
from ceremony.documents.sign import sign_document, validate_document  # noqa: E402
from tests.documents.samples import (  # noqa: E402
    ALICE,
    CAROL,
    DAN,
    ERIN,
    acknowledgement_data,
    make_identity,
    minutes_data,
    reaffirmation_data,
    share_card_data,
    share_lines_and_qr,
)


def run(quick: bool) -> list[dict]:
    runs = 3 if quick else 5
    alice, carol, dan, erin = (make_identity(p) for p in (ALICE, CAROL, DAN, ERIN))
    ack, reaff, minutes = acknowledgement_data(), reaffirmation_data(), minutes_data()
    lines, qr = share_lines_and_qr()
    card = share_card_data(lines, qr)

    def sign(pdf: bytes, who, field: str) -> bytes:
        return sign_document(pdf, who.key, who.cert, field_name=field, reason=field)

    cases = {
        "acknowledgement render": lambda: render_acknowledgement(ack),
        "acknowledgement render+sign (custodian)": lambda: sign(
            render_acknowledgement(ack), alice, "Custodian"
        ),
        "reaffirmation render": lambda: render_reaffirmation(reaff),
        "reaffirmation render+sign x2 (custodian, SO)": lambda: sign(
            sign(render_reaffirmation(reaff), alice, "Custodian"), erin, "SecurityOfficer"
        ),
        "share card render (unsigned)": lambda: render_share_card(card).wipe(),
        "minutes render (14 steps, 3 pages)": lambda: render_minutes(minutes),
        "minutes render+sign x2 (admin, witness)": lambda: sign(
            sign(render_minutes(minutes), carol, "Administrator"), dan, "Witness"
        ),
    }
    signed_minutes = sign(sign(render_minutes(minutes), carol, "Administrator"), dan, "Witness")
    cases["minutes validate 2 signatures"] = lambda: validate_document(signed_minutes, [carol.cert, dan.cert])
    rows = []
    for name, fn in cases.items():
        median, _ = median_time(fn, runs)
        rows.append({"group": "documents", "name": name, "median_s": median, "runs": runs})
    return rows
