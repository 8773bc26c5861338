"""QR codes as module matrices, drawn by the renderers as vector squares (no image files, no temp files).

Public payloads (ledger checkpoints) are plain ``str``. A share's QR payload arrives as a wipeable buffer and
is handed to the ``qrcode`` encoder *without* a ``bytes`` copy: ``QRData(..., check_data=False)`` keeps our
``bytearray`` and reads it byte by byte (DESIGN §2). The encoder's internal bit buffer (a list of small
ints, which CPython shares) and the module matrix (a list of bools) are cleared by the caller after drawing.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import ALPHA_NUM, MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from ceremony.crypto.secret import SecretBytes

QUIET_ZONE = 4  # modules of white border the QR specification asks for (ISO/IEC 18004 §6.3.8)


def qr_matrix(payload: str | bytearray | SecretBytes) -> list[list[bool]]:
    """The module matrix (True = dark), quiet zone included, error correction level M."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    if isinstance(payload, str):
        code.add_data(payload.encode("utf-8"))
    else:
        buf = payload.buffer() if isinstance(payload, SecretBytes) else payload
        alphanumeric = all(b in ALPHA_NUM for b in buf)
        mode = MODE_ALPHA_NUM if alphanumeric else MODE_8BIT_BYTE
        code.add_data(QRData(buf, mode=mode, check_data=False))
    code.make(fit=True)
    matrix = [list(row) for row in code.get_matrix()]
    # Drop the encoder's references to the payload and its bit stream.
    code.data_list.clear()
    code.data_cache = None
    code.modules = [[]]
    return matrix
