"""PAdES signatures on the forms with the participants' P-256 identity keys (DESIGN §1), and their validation.

* :func:`sign_document` / :func:`async_sign_document` add one PAdES baseline B-B signature (pyHanko,
  ``ETSI.CAdES.detached``, SHA-256 / ECDSA P-256) in a new signature field, shown as a stamp ("Digitally
  signed by", name, time; 9 pt) on the signature line of the signer's block when the form has a block for
  that field (:func:`signature_place`), so a printout shows who signed where; else invisible.
  Signing an already signed PDF appends an incremental revision, so the earlier signature stays valid
  (the reaffirmation is signed by the custodian, then by the security officer; the minutes by the
  administrator, then the witness: :data:`SIGNATURE_FIELDS`).
  Each signature embeds the signer's certificate once, plus the ``chain`` given (the ledger's root), each
  certificate once.
* :func:`validate_document` / :func:`async_validate_document` check every signature against the trust
  certificates given: the ledger's root (a signer whose certificate it issued is trusted) or, as before, the
  enrolled certificates themselves; a byte changed after signing makes the signature report invalid.
* :func:`sha256_of` is the fingerprint the ledger records for a document (issue 5: ``ceremony verify
  --document``).

pyHanko's synchronous entry points run their own event loop (``asyncio.run``), which fails inside a running
loop such as Textual's. Here: inside an event loop, ``await`` the ``async_`` variants; the synchronous
functions are for plain code and worker threads (each worker thread has no loop of its own, so they are
safe there) and raise :class:`DocumentError` if called on a thread that is running a loop.

The private key never leaves its ``cryptography`` object: pyHanko gets a :class:`Signer` whose raw signing
calls ``key.sign`` (no PKCS#8 export, no copy of the key in ``bytes``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko import stamp
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ceremony.documents.pdfkit import (
    SIGNATURE_DESTINATION,
    STAMP_FONT_SIZE,
    STAMP_LEADING,
    STAMP_MARGIN,
    stamp_lines,
)
from ceremony.errors import DocumentError, SignatureError

T = TypeVar("T")

# The visible stamp: who signed and when (the signer's clock; PAdES B-B carries no trusted time). It sits on
# the signer's signature line (the space the form leaves above it), left-aligned like a written signature,
# at its natural size: STAMP_FONT_SIZE, readable on paper. pyHanko shrinks it only if it does not fit, so
# the signer's name is wrapped at spaces to the line's width first (:func:`pdfkit.stamp_lines`), and the form
# left room for that many lines.
STAMP = stamp.TextStampStyle(
    stamp_text="Digitally signed by\n%(signer_lines)s\n%(ts)s",
    timestamp_format="%Y-%m-%d %H:%M UTC",
    border_width=0,
    background=None,
    text_box_style=TextBoxStyle(
        font_size=STAMP_FONT_SIZE,
        leading=STAMP_LEADING,
        box_layout_rule=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(STAMP_MARGIN, STAMP_MARGIN, STAMP_MARGIN, STAMP_MARGIN),
        ),
    ),
    inner_content_layout=layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN,
        y_align=layout.AxisAlignment.ALIGN_MID,
        inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
    ),
)


# Who signs which document, in this order (issue 5); the share card is sealed, not signed.
SIGNATURE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "acknowledgement": ("Custodian",),  # the form has a "Witness" block too, for the witness to sign
    "reaffirmation": ("Custodian", "SecurityOfficer"),
    "minutes": ("Administrator", "Witness"),
}


def sha256_of(pdf: bytes | bytearray | memoryview) -> str:
    """The SHA-256 of a document's exact bytes, lowercase hex: what the ledger records."""
    return hashlib.sha256(pdf).hexdigest()


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


class IdentitySigner(signers.Signer):
    """A pyHanko signer over a participant's in-memory P-256 key (ECDSA with SHA-256).

    pyHanko always embeds ``signing_cert`` and adds every certificate of ``cert_registry``; the CMS
    ``certificates`` set is built from asn1crypto objects that compare by identity, so a signer certificate
    in both would be embedded twice. The registry therefore holds only the ``chain`` (e.g. the ledger's
    root), never the signer's own certificate, and no certificate twice."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        *,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise SignatureError("document signing needs the participant's P-256 identity key")
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.public_numbers() != (
            key.public_key().public_numbers()
        ):
            raise SignatureError(
                f"the signing key does not belong to the certificate of {_common_name(cert)!r}"
            )
        extra: list[x509.Certificate] = []
        for other in chain:
            if other != cert and other not in extra:
                extra.append(other)
        super().__init__(
            signing_cert=_asn1_cert(cert),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_asn1_cert(c) for c in extra]
            ),
            # embed_roots: a self-signed root given in ``chain`` is embedded too (for documentation and
            # for validators that want the whole path in the file); trust still comes from the validator.
            embed_roots=True,
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SignatureError(f"unexpected digest {digest_algorithm!r}; documents are signed with SHA-256")
        # DER-encoded ECDSA signature, as CMS SignerInfo expects (RFC 5753 §2.1.1).
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def _run(make: Callable[[], Awaitable[T]], what: str) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise DocumentError(
            f"{what} was called inside a running event loop: await async_{what} instead, "
            "or call it from a worker thread"
        )

    async def main() -> T:
        return await make()

    return asyncio.run(main())


def _check_field_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise DocumentError(f"signature field name {name!r}: use letters, digits, '-' and '_' only")


async def async_sign_document(
    pdf: bytes,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    field_name: str,
    reason: str,
    signer_name: str | None = None,
    location: str | None = None,
    visible: bool = True,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """``pdf`` with one more PAdES B-B signature by ``key`` (certificate ``cert``) in a new field
    ``field_name`` (e.g. ``"Custodian"``). If the form left room for that field in a signature block (see
    :func:`signature_place`) and ``visible``, a stamp "Digitally signed by NAME, time" appears there;
    otherwise the field is invisible. Already-signed input gets an incremental revision. ``chain``: more
    certificates to embed beside the signer's (the ledger's root), each once. Safe to await inside a
    running event loop (Textual)."""
    _check_field_name(field_name)
    signer = IdentitySigner(key, cert, chain=chain)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=signer_name or _common_name(cert),
        location=location,
        signer_key_usage={"digital_signature"},
    )
    try:
        if field_name in _field_names(pdf):
            raise DocumentError(f"the document already has a signature field named {field_name!r}")
        place = signature_place(pdf, field_name) if visible else None
        if place is None:
            spec = fields.SigFieldSpec(sig_field_name=field_name)  # invisible
            box_width = 0.0
        else:
            spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=place[0], box=place[1])
            box_width = place[1][2] - place[1][0]
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=STAMP, new_field_spec=spec)
        lines = "\n".join(stamp_lines(meta.name or "", box_width)) if box_width else (meta.name or "")
        out = await pdf_signer.async_sign_pdf(
            writer, output=io.BytesIO(), appearance_text_params={"signer_lines": lines}
        )
    except (PdfError, SigningError, ValueError) as exc:
        raise SignatureError(f"could not sign the document: {type(exc).__name__}: {exc}") from None
    assert isinstance(out, io.BytesIO)
    return out.getvalue()


def sign_document(
    pdf: bytes,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    field_name: str,
    reason: str,
    signer_name: str | None = None,
    location: str | None = None,
    visible: bool = True,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Synchronous :func:`async_sign_document`: for plain code and worker threads, not in an event loop."""
    return _run(
        lambda: async_sign_document(
            pdf,
            key,
            cert,
            field_name=field_name,
            reason=reason,
            signer_name=signer_name,
            location=location,
            visible=visible,
            chain=chain,
        ),
        "sign_document",
    )


def _pages(node: generic.DictionaryObject) -> list[int]:
    """Object numbers of the pages under ``node``, in document order."""
    out: list[int] = []
    kids = node["/Kids"]
    assert isinstance(kids, generic.ArrayObject)
    for index in range(len(kids)):
        ref = kids.raw_get(index)
        kid = ref.get_object()
        if kid.get("/Type") == "/Pages":
            out.extend(_pages(kid))
        else:
            out.append(ref.idnum)
    return out


def _named_destination(root: generic.DictionaryObject, name: str) -> generic.PdfObject | None:
    """The destination called ``name``: from the catalog's /Dests dictionary (what our renderer writes) or
    the /Names /Dests name tree."""

    def get(node: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
        # Indexing dereferences indirect objects; .get() would not.
        value: generic.PdfObject | None = node[key] if key in node else None
        return value

    def search(node: generic.DictionaryObject) -> generic.PdfObject | None:
        names = get(node, "/Names")
        if isinstance(names, generic.ArrayObject):
            for k in range(0, len(names) - 1, 2):
                if str(names[k]) == name:
                    value: generic.PdfObject = names[k + 1]
                    return value
        kids = get(node, "/Kids")
        if isinstance(kids, generic.ArrayObject):
            for kid in kids:
                below = search(kid)
                if below is not None:
                    return below
        return None

    dests = get(root, "/Dests")
    if isinstance(dests, generic.DictionaryObject):
        return get(dests, "/" + name)
    tree = get(root, "/Names")
    if isinstance(tree, generic.DictionaryObject):
        dest_tree = get(tree, "/Dests")
        if isinstance(dest_tree, generic.DictionaryObject):
            return search(dest_tree)
    return None


def signature_place(pdf: bytes, field_name: str) -> tuple[int, tuple[int, int, int, int]] | None:
    """Where the renderer left room for ``field_name``'s visible stamp: (page index, box), or None.

    The renderer marks each signature block that is signed as PDF with a named destination (``/FitR``
    rectangle) called ``ceremony-signature-FIELD``; see :class:`ceremony.documents.render.SignatureBlock`.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        dest = _named_destination(reader.root, SIGNATURE_DESTINATION.format(field=field_name))
        if isinstance(dest, generic.DictionaryObject):
            dest = dest.get("/D")
        if not isinstance(dest, generic.ArrayObject) or len(dest) != 6 or dest[1] != "/FitR":
            return None
        page_ref = dest.raw_get(0)
        pages = _pages(reader.root["/Pages"])
        if getattr(page_ref, "idnum", None) not in pages:
            return None
        left, bottom, right, top = (round(float(v)) for v in list(dest)[2:6])
        return pages.index(page_ref.idnum), (left, bottom, right, top)
    except (PdfError, ValueError, KeyError, TypeError, AssertionError):
        return None


def _field_names(pdf: bytes) -> set[str]:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        return {name for name, _, _ in fields.enumerate_sig_fields(reader)}
    except (PdfError, ValueError, KeyError):
        return set()


# --- validation ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureStatus:
    """One signature of a document, as an auditor needs it."""

    field_name: str
    signer: str  # the certificate's common name
    signer_cert_sha256: str  # fingerprint of the signing certificate (matches the enrolled one)
    signed_at: datetime | None  # the time the signer's laptop claimed (PAdES B-B has no trusted time)
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the ECDSA signature over them verifies
    trusted: bool  # the certificate is one given as trust root, or issued by one (the ledger's root)
    whole_document: bool  # covers the whole file, or later revisions only add signatures/form fields
    ok: bool  # all of the above
    summary: str  # one line for a report


def _summary(field: str, signer: str, intact: bool, valid: bool, trusted: bool, whole: bool) -> str:
    if not intact:
        return f"{field}: signature by {signer} is INVALID: the document was changed after signing"
    if not valid:
        return f"{field}: signature by {signer} is INVALID: the signature does not verify"
    if not trusted:
        return f"{field}: signature by {signer} verifies but the certificate is not an enrolled one"
    if not whole:
        return f"{field}: signature by {signer} is valid but the document was modified after it"
    return f"{field}: valid signature by {signer}"


async def async_validate_document(
    pdf: bytes | bytearray, trust_certs: Sequence[x509.Certificate]
) -> list[SignatureStatus]:
    """Every signature in ``pdf``, checked against ``trust_certs``: the ledger's root certificate(s) (a
    signer whose certificate a root issued is trusted) and/or enrolled certificates themselves (trusted as
    they are). An empty list means the document is not signed. Raises :class:`SignatureError` if the file
    cannot be read as a PDF at all. Safe to await inside a running event loop."""
    roots = [_asn1_cert(c) for c in trust_certs]
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise SignatureError(f"the document cannot be read as a PDF ({type(exc).__name__})") from None
    results: list[SignatureStatus] = []
    for sig in embedded:
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        cert = sig.signer_cert
        signer = str(cert.subject.native.get("common_name", "unknown signer"))
        fingerprint = hashlib.sha256(cert.dump()).hexdigest()
        try:
            status = await async_validate_pdf_signature(sig, context)
        except (PdfError, ValueError, KeyError, InvalidSignature) as exc:
            results.append(
                SignatureStatus(
                    sig.field_name,
                    signer,
                    fingerprint,
                    None,
                    False,
                    False,
                    False,
                    False,
                    False,
                    f"{sig.field_name}: signature by {signer} cannot be checked ({type(exc).__name__})",
                )
            )
            continue
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and bool(status.docmdp_ok)
        )
        trusted = bool(status.trusted)
        ok = bool(status.intact and status.valid and trusted and whole and status.bottom_line)
        results.append(
            SignatureStatus(
                field_name=sig.field_name,
                signer=signer,
                signer_cert_sha256=fingerprint,
                signed_at=sig.self_reported_timestamp,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=trusted,
                whole_document=whole,
                ok=ok,
                summary=_summary(
                    sig.field_name, signer, bool(status.intact), bool(status.valid), trusted, whole
                ),
            )
        )
    return results


def validate_document(
    pdf: bytes | bytearray, trust_certs: Sequence[x509.Certificate]
) -> list[SignatureStatus]:
    """Synchronous :func:`async_validate_document`: for plain code and worker threads."""
    return _run(lambda: async_validate_document(pdf, trust_certs), "validate_document")
