"""Printed documents (DESIGN §4.5, §4.7, §6): forms/ wording, reportlab rendering, pyHanko signatures.

* :mod:`.model` - the plain values each document shows;
* :mod:`.templates` - loading and checking forms/ (``TemplateError`` names the file and line);
* :mod:`.render` - one function per document, deterministic PDF bytes;
* :mod:`.qr` - QR module matrices (share payloads kept out of ``bytes``);
* :mod:`.sign` - PAdES signatures with the participants' P-256 keys, validation, ``sha256_of``;
* :mod:`.printing` - share card delivery to a printer or a RAM-backed folder, and wiping.
"""
