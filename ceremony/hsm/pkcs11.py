"""Loading a recovered key into a PKCS#11 token (an HSM, or SoftHSM in a rehearsal) — issue 16.

The binding is ``python-pkcs11`` (import name ``pkcs11``). Every exception it raises is translated here into
:class:`~ceremony.errors.TokenError` with a sentence for the room; no ``pkcs11`` exception escapes, and no
message contains the PIN or key bytes.

How the key goes in (:class:`Mechanism`)
----------------------------------------
``unwrap-0x210A`` / ``unwrap-0x210B``
    The laptop makes a one-time AES-256 transport key (``generate_key``, the OS CSPRNG), imports it with
    ``C_CreateObject`` as a *session* object (CKA_TOKEN false) that may only unwrap, wraps the recovered key
    under it on the laptop with RFC 5649 (:func:`ceremony.crypto.wrap.wrap_material`), and has the token
    ``C_UnwrapKey`` the blob into the final persistent key. The transport key is then destroyed in the token
    and wiped on the laptop. This exercises the mechanism a real HSM key import uses, and the recovered key
    never appears as CKA_VALUE in an API call: only the wrapped blob crosses. 0x210A is
    CKM_AES_KEY_WRAP_PAD as SoftHSM implements it (RFC 5649); 0x210B is CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0,
    e.g. Thales Luna), also RFC 5649. A token that does not list the mechanism is refused before anything
    is created (SoftHSM 2.6 offers 0x210A, not 0x210B).
``create``
    ``C_CreateObject`` with CKA_VALUE: the key in clear over the PKCS#11 API, for tokens that allow it.

Attributes by TR-31 key usage (``usage``)
-----------------------------------------
Always: CKA_TOKEN (persistent), CKA_PRIVATE, CKA_SENSITIVE true; CKA_EXTRACTABLE false; CKA_LABEL the
label; CKA_ID a fresh random 8-byte id. Every other usage flag is false unless the table sets it.

==========  ==========================================  ==========================================
usage       AES key                                     TDES key
==========  ==========================================  ==========================================
K0, K1      wrap, unwrap                                wrap, unwrap, encrypt, decrypt
D0, P0      encrypt, decrypt                            encrypt, decrypt
M0..M8, C0  sign, verify                                sign, verify
B0          derive                                      derive, encrypt
E0          derive                                      derive
"" (none)   nothing (the token's administrator sets usage later)
==========  ==========================================  ==========================================

The check after loading
-----------------------
The attributes are read back (CKA_SENSITIVE must be true, CKA_EXTRACTABLE false), then the key in the
token is compared with the registered KCV, by the first way the key's attributes allow:

``token-cmac``
    AES key with CKA_SIGN: the token signs one zero block with CKM_AES_CMAC; first 5 bytes = the
    registered AES-CMAC-X9.24 KCV, computed inside the token.
``token-ecb``
    TDES key with CKA_ENCRYPT: the token encrypts one zero block with CKM_DES3_ECB; first 3 bytes = the
    registered TDES-ECB-X9.24 KCV, computed inside the token. An AES key with CKA_ENCRYPT (no CKA_SIGN):
    the token encrypts one zero block with CKM_AES_ECB, compared (the whole block) with the same
    computation on the laptop's copy of the key, whose own registered-method KCV must match too.
``cka-check-value``
    The token's CKA_CHECK_VALUE (PKCS#11: first 3 bytes of ECB of a zero block) compared with the
    laptop's ECB of a zero block of the same key, whose registered-method KCV must match too.
``token-wrap``
    An AES key-encryption key (CKA_WRAP only): the token wraps a fixed, non-secret session test key
    with CKM_AES_KEY_WRAP (RFC 3394), compared with the same wrap on the laptop, whose registered-method
    KCV must match too.

If none is possible the key is removed and the load refused (a key that cannot be checked is not
loaded). On a mismatch the key is removed from the token and :class:`TokenError` says so.

Limits of wiping (stated, not hidden): ``python-pkcs11`` takes the PIN as ``str`` and attribute values as
``bytes`` and copies them into buffers it frees without zeroing; C_GenerateRandom returns ``bytes``. The
copies this module makes are wiped or dropped at once; the library's own are beyond its reach. That is one
more reason the unwrap path is the default: the only value crossing in clear is the one-time transport key.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import pkcs11 as p11
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from ceremony.crypto.kcv import KCVMethod, KeyCheckValue, kcv_by_method, method_for
from ceremony.crypto.keys import KeyType, generate_key
from ceremony.crypto.secret import SecretBytes, wipe_buffer
from ceremony.crypto.wrap import wrap_material
from ceremony.errors import InputError, TokenError

KEY_ID_LENGTH = 8
MAX_LABEL = 64
TRANSPORT_LABEL = "ceremony-transport-key"
# The fixed test key the token wraps for the ``token-wrap`` check: not secret, never stored.
_WRAP_PROBE = bytes(range(16))
_CHECK_LENGTH = 3  # bytes of a token's ECB block or test wrap kept as its check value (as CKA_CHECK_VALUE)

_USAGE_MAC = tuple(f"M{i}" for i in range(9))
USAGES: tuple[str, ...] = ("K0", "K1", "D0", "P0", *_USAGE_MAC, "C0", "B0", "E0", "")

_CAPABILITIES = ("encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive")


def usage_capabilities(usage: str, key_type: KeyType) -> frozenset[str]:
    """The usage attributes (``encrypt``, ``wrap``...) a key of ``key_type`` gets for TR-31 ``usage``."""
    tdes = key_type.is_tdes
    if usage in ("K0", "K1"):
        return frozenset({"wrap", "unwrap", "encrypt", "decrypt"} if tdes else {"wrap", "unwrap"})
    if usage in ("D0", "P0"):
        return frozenset({"encrypt", "decrypt"})
    if usage in _USAGE_MAC or usage == "C0":
        return frozenset({"sign", "verify"})
    if usage == "B0":
        return frozenset({"derive", "encrypt"} if tdes else {"derive"})
    if usage == "E0":
        return frozenset({"derive"})
    if usage == "":
        return frozenset()
    accepted = ", ".join(u for u in USAGES if u)
    raise InputError(
        f"key usage {usage[:4]!r} is not one this tool loads into a token (accepted: {accepted})"
    )


# --- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """What a slot's token says about itself (C_GetTokenInfo), plus the module's own description."""

    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    firmware: str  # "major.minor" of the token's firmware version
    hardware: str  # "major.minor" hardware version
    library: str  # the module's manufacturer and version, e.g. "SoftHSM 2.6"
    initialized: bool
    login_required: bool

    def describe(self) -> dict[str, object]:
        return {
            "slot_id": self.slot_id,
            "label": self.label,
            "serial": self.serial,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "firmware": self.firmware,
            "hardware": self.hardware,
            "library": self.library,
            "initialized": self.initialized,
            "login_required": self.login_required,
        }


class Mechanism(StrEnum):
    """How the key goes into the token (see the module docstring)."""

    UNWRAP_KWP_210A = "unwrap-0x210A"  # CKM_AES_KEY_WRAP_PAD as SoftHSM implements it (RFC 5649)
    UNWRAP_KWP_210B = "unwrap-0x210B"  # CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0, Thales Luna) (RFC 5649)
    CREATE = "create"  # C_CreateObject with CKA_VALUE (the key in clear over the PKCS#11 API)


_UNWRAP_MECHANISMS: dict[Mechanism, tuple[int, str]] = {
    Mechanism.UNWRAP_KWP_210A: (0x210A, "CKM_AES_KEY_WRAP_PAD"),
    Mechanism.UNWRAP_KWP_210B: (0x210B, "CKM_AES_KEY_WRAP_KWP"),
}


@dataclass(frozen=True)
class LoadedKey:
    """A key now in the token, and how it was checked against the registered KCV."""

    label: str
    key_id_hex: str  # CKA_ID written (hex, upper)
    key_type: KeyType
    mechanism: Mechanism
    attributes: dict[str, object]  # read back from the token (booleans)
    check_value: KeyCheckValue | None  # computed inside the token with the registered KCV's method
    cka_check_value_hex: str  # CKA_CHECK_VALUE as read back (hex, upper), "" if the token gives none
    check_source: str  # "token-cmac" | "token-ecb" | "cka-check-value" | "token-wrap"
    # What the token itself computed for the check, as recorded in ``key.loaded`` (hex, upper): the
    # registered-method KCV, CKA_CHECK_VALUE, or the first 3 bytes of the token's ECB block / test wrap
    # (the PKCS#11 check-value length: enough to compare, no more).
    token_value_hex: str = ""

    def describe(self) -> dict[str, object]:
        return {
            "label": self.label,
            "key_id": self.key_id_hex,
            "key_type": self.key_type.value,
            "mechanism": self.mechanism.value,
            "attributes": dict(self.attributes),
            "check_value": None if self.check_value is None else self.check_value.hex,
            "check_value_method": None if self.check_value is None else self.check_value.method,
            "cka_check_value": self.cka_check_value_hex,
            "check_source": self.check_source,
            "token_value": self.token_value_hex,
        }


# --- error translation -----------------------------------------------------------------------------------


def _ckr(exc: BaseException) -> str:
    """CKR_* name for a python-pkcs11 exception (PinIncorrect -> CKR_PIN_INCORRECT)."""
    name = type(exc).__name__
    return "CKR_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Run a PKCS#11 step; any python-pkcs11 exception becomes a TokenError naming the step."""
    try:
        yield
    except TokenError:
        raise
    except p11.PKCS11Error as exc:
        raise TokenError(f"{what}: the token answered {_ckr(exc)}") from None


def _version(value: Any) -> str:
    try:
        major, minor = value
        return f"{int(major)}.{int(minor)}"
    except (TypeError, ValueError):
        return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("ascii", errors="replace").strip(" \x00")
    return str(value).strip(" \x00")


# --- the module ------------------------------------------------------------------------------------------


def _load_module(module_path: str | Path) -> Any:
    """The module, loaded once per process (python-pkcs11 caches it by path and calls C_Initialize)."""
    path = os.path.abspath(os.fspath(module_path))
    if not os.path.exists(path):
        raise TokenError(f"no PKCS#11 module at {path}: the file does not exist")
    if not os.path.isfile(path):
        raise TokenError(f"{path} is not a file, so not a PKCS#11 module")
    try:
        return p11.lib(path)
    except p11.PKCS11Error as exc:
        text = str(exc)
        if "loading" in text:
            reason = text.rsplit(": ", 1)[-1].strip() or "it does not load"
            raise TokenError(f"{path} is not a PKCS#11 module this laptop can load ({reason})") from None
        raise TokenError(
            f"the PKCS#11 module {path} failed to initialise ({_ckr(exc)}); for SoftHSM, check the "
            "configuration file SOFTHSM2_CONF names"
        ) from None


def _library_text(lib: Any) -> str:
    return f"{_text(lib.manufacturer_id)} {_version(lib.library_version)}".strip()


def _token_info(slot: Any, token: Any, library: str) -> TokenInfo:
    flags = token.flags
    return TokenInfo(
        slot_id=int(slot.slot_id),
        label=_text(token.label),
        serial=_text(token.serial),
        manufacturer=_text(token.manufacturer_id),
        model=_text(token.model),
        firmware=_version(token.firmware_version),
        hardware=_version(token.hardware_version),
        library=library,
        initialized=bool(flags & p11.TokenFlag.TOKEN_INITIALIZED),
        login_required=bool(flags & p11.TokenFlag.LOGIN_REQUIRED),
    )


def _tokens(lib: Any) -> list[tuple[Any, Any, TokenInfo]]:
    library = _library_text(lib)
    found = []
    with _translated("listing the module's slots"):
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            found.append((slot, token, _token_info(slot, token, library)))
    return found


def list_tokens(module_path: str | Path) -> list[TokenInfo]:
    """Every token present in the module's slots (no login needed)."""
    return [info for _, _, info in _tokens(_load_module(module_path))]


# --- a logged-in session ---------------------------------------------------------------------------------


def _pin_text(pin: SecretBytes | bytearray | str) -> str:
    if isinstance(pin, str):
        text = pin
    else:
        view = pin.view() if isinstance(pin, SecretBytes) else memoryview(pin)
        try:
            text = str(view, "utf-8")
        except UnicodeDecodeError:
            raise InputError("the PIN is not UTF-8 text") from None
        finally:
            view.release()
    if not text:
        raise InputError("no PIN was entered")
    return text


def open_token(
    module_path: str | Path,
    token_label: str,
    pin: SecretBytes | bytearray | str,
    *,
    read_only: bool = False,
) -> TokenSession:
    """Open a session on the token labelled ``token_label`` and log in as the user with ``pin``."""
    if not token_label:
        raise InputError("name the token by its label")
    lib = _load_module(module_path)
    present = _tokens(lib)
    matches = [(slot, token, info) for slot, token, info in present if info.label == token_label]
    if not matches:
        labels = ", ".join(repr(info.label) for _, _, info in present if info.initialized)
        where = f"tokens present: {labels}" if labels else "no initialised token is present"
        raise TokenError(f"no token labelled {token_label!r} in {os.fspath(module_path)} ({where})")
    if len(matches) > 1:
        slots = ", ".join(str(info.slot_id) for _, _, info in matches)
        raise TokenError(f"{len(matches)} tokens are labelled {token_label!r} (slots {slots}); remove one")
    _slot, token, info = matches[0]
    pin_text = _pin_text(pin)
    try:
        session = token.open(rw=not read_only, user_pin=pin_text)
    except p11.PinIncorrect:
        raise TokenError(
            f"the token refused the PIN (CKR_PIN_INCORRECT) for {token_label!r}; nothing was changed. "
            "Repeated wrong PINs may lock the token"
        ) from None
    except p11.PinLocked:
        raise TokenError(
            f"the user PIN of {token_label!r} is locked (CKR_PIN_LOCKED): the token's security officer "
            "must reset it before a key can be loaded"
        ) from None
    except p11.PinExpired:
        raise TokenError(
            f"the user PIN of {token_label!r} has expired (CKR_PIN_EXPIRED): change it first"
        ) from None
    except (p11.PinLenRange, p11.PinInvalid) as exc:
        raise TokenError(f"the token does not accept a PIN of that length or form ({_ckr(exc)})") from None
    except p11.UserPinNotInitialized:
        raise TokenError(
            f"{token_label!r} has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED): its security officer "
            "must set one"
        ) from None
    except p11.PKCS11Error as exc:
        raise TokenError(f"logging in to {token_label!r}: the token answered {_ckr(exc)}") from None
    finally:
        del pin_text
    return TokenSession(session, info, read_only=read_only)


def _key_type_for_token(key_type: KeyType) -> Any:
    if key_type.is_aes:
        return p11.KeyType.AES
    if key_type is KeyType.TDES_2KEY:
        return p11.KeyType.DES2
    if key_type is KeyType.TDES_3KEY:
        return p11.KeyType.DES3
    raise InputError(f"only AES and TDES keys are loaded into a token, not {key_type.value}")


_ATTRIBUTES_READ: dict[str, Any] = {
    "token": p11.Attribute.TOKEN,
    "private": p11.Attribute.PRIVATE,
    "sensitive": p11.Attribute.SENSITIVE,
    "extractable": p11.Attribute.EXTRACTABLE,
    "always_sensitive": p11.Attribute.ALWAYS_SENSITIVE,
    "never_extractable": p11.Attribute.NEVER_EXTRACTABLE,
    "local": p11.Attribute.LOCAL,
    "modifiable": p11.Attribute.MODIFIABLE,
    "encrypt": p11.Attribute.ENCRYPT,
    "decrypt": p11.Attribute.DECRYPT,
    "wrap": p11.Attribute.WRAP,
    "unwrap": p11.Attribute.UNWRAP,
    "sign": p11.Attribute.SIGN,
    "verify": p11.Attribute.VERIFY,
    "derive": p11.Attribute.DERIVE,
}


def _laptop_ecb_block(key_type: KeyType, key: SecretBytes) -> bytes:
    """ECB encryption of one zero block under the laptop's copy of the key (AES or TDES)."""
    view = key.view()
    if key_type.is_aes:
        encryptor = Cipher(algorithms.AES(cast(bytes, view)), modes.ECB()).encryptor()  # noqa: S305 - check value
        return encryptor.update(bytes(16)) + encryptor.finalize()
    full = bytearray(view)
    if len(full) == 16:
        full += view[:8]
    try:
        encryptor = Cipher(TripleDES(cast(bytes, full)), modes.ECB()).encryptor()  # noqa: S305 - check value
        return encryptor.update(bytes(8)) + encryptor.finalize()
    finally:
        wipe_buffer(full)


class TokenSession:
    """A logged-in session on one token; a context manager (logs out and closes on exit)."""

    def __init__(self, session: Any, info: TokenInfo, *, read_only: bool) -> None:
        self._session = session
        self.info = info
        self.read_only = read_only
        self._closed = False
        self._mechanisms: frozenset[int] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _translated("closing the session"):
            self._session.close()

    def _open(self) -> Any:
        if self._closed:
            raise TokenError("the token session is closed")
        return self._session

    # --- small operations ----------------------------------------------------------------------------

    def mechanisms(self) -> frozenset[int]:
        """The mechanism numbers the token's slot lists (C_GetMechanismList)."""
        if self._mechanisms is None:
            with _translated("listing the token's mechanisms"):
                self._mechanisms = frozenset(int(m) for m in self._open().token.slot.get_mechanisms())
        return self._mechanisms

    def random(self, n: int) -> SecretBytes:
        """``n`` bytes from the token's generator (C_GenerateRandom), e.g. a key generated in the device."""
        if not 1 <= n <= 1024:
            raise InputError(f"ask the token for 1 to 1024 random bytes, not {n}")
        with _translated("drawing random bytes from the token"):
            data = self._open().generate_random(8 * n)
        if len(data) != n:
            raise TokenError(f"the token returned {len(data)} random bytes instead of {n}")
        return SecretBytes(data)

    def find_key(self, label: str) -> bool:
        """Whether any object on the token (visible to this login) has CKA_LABEL ``label``."""
        with _translated(f"searching the token for {label!r}"):
            found = self._open().get_objects({p11.Attribute.LABEL: label})
            try:
                return next(found, None) is not None
            finally:
                found.close()  # C_FindObjectsFinal now, not when the generator is collected

    def remove_key(self, label: str) -> bool:
        """Destroy the secret key labelled ``label`` (e.g. one loaded but not recorded); whether one was."""
        if self.read_only:
            raise TokenError("the token session was opened read-only; a key cannot be removed")
        with _translated(f"searching the token for {label!r}"):
            found = self._open().get_objects(
                {p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY, p11.Attribute.LABEL: label}
            )
            try:
                objects = list(found)
            finally:
                found.close()
        for obj in objects:
            self._destroy(obj)
        return bool(objects)

    # --- loading -------------------------------------------------------------------------------------

    def load_key(
        self,
        key: SecretBytes,
        key_type: KeyType,
        *,
        label: str,
        usage: str,
        mechanism: Mechanism,
        registered_kcv: KeyCheckValue,
    ) -> LoadedKey:
        """Put ``key`` into the token as a persistent, sensitive, non-extractable key labelled ``label``,
        read it back and check it against ``registered_kcv`` (see the module docstring)."""
        mechanism = Mechanism(mechanism)
        p11_type = _key_type_for_token(key_type)
        if len(key) != key_type.fixed_length:
            raise InputError(f"a {key_type.value} key has {key_type.fixed_length} bytes, not {len(key)}")
        expected_method = method_for(key_type).value
        if registered_kcv.method != expected_method:
            raise InputError(
                f"a {key_type.value} key is checked with a {expected_method} KCV, not {registered_kcv.method}"
            )
        if not label or len(label) > MAX_LABEL or not label.isprintable():
            raise InputError(f"a token key label has 1 to {MAX_LABEL} printable characters")
        capabilities = usage_capabilities(usage, key_type)
        session = self._open()
        if self.read_only:
            raise TokenError("the token session was opened read-only; a key cannot be loaded")
        if self.find_key(label):
            raise TokenError(
                f"the token {self.info.label!r} already holds an object labelled {label!r}; "
                "a second key with the same label is refused"
            )
        if mechanism is not Mechanism.CREATE:
            number, name = _UNWRAP_MECHANISMS[mechanism]
            if number not in self.mechanisms():
                raise TokenError(
                    f"{self.info.manufacturer} {self.info.model} (token {self.info.label!r}) does not offer "
                    f"{name} (0x{number:04X}); choose "
                    + " or ".join(m.value for m in Mechanism if m is not mechanism)
                )

        key_id = secrets.token_bytes(KEY_ID_LENGTH)
        template: dict[Any, Any] = {
            p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY,
            p11.Attribute.KEY_TYPE: p11_type,
            p11.Attribute.TOKEN: True,
            p11.Attribute.PRIVATE: True,
            p11.Attribute.SENSITIVE: True,
            p11.Attribute.EXTRACTABLE: False,
            p11.Attribute.LABEL: label,
            p11.Attribute.ID: key_id,
        }
        for name in _CAPABILITIES:
            template[_ATTRIBUTES_READ[name]] = name in capabilities

        obj = self._put(session, key, p11_type, template, mechanism)
        try:
            attributes = self._read_attributes(obj)
            if attributes.get("sensitive") is not True or attributes.get("extractable") is not False:
                raise TokenError(
                    f"the token did not keep {label!r} sensitive and non-extractable "
                    f"(CKA_SENSITIVE {attributes.get('sensitive')}, CKA_EXTRACTABLE "
                    f"{attributes.get('extractable')}); the key was removed from the token"
                )
            cka_check_value = self._cka_check_value(obj)
            check_value, source, token_value = self._check(
                obj, key, key_type, attributes, cka_check_value, registered_kcv
            )
        except BaseException as exc:
            try:
                self._destroy(obj)
            except TokenError as failed:
                raise TokenError(
                    f"{exc if isinstance(exc, TokenError) else 'the load failed'}; and removing {label!r} "
                    f"from the token failed too ({failed}): remove it by hand"
                ) from None
            raise
        return LoadedKey(
            label=label,
            key_id_hex=key_id.hex().upper(),
            key_type=key_type,
            mechanism=mechanism,
            attributes=attributes,
            check_value=check_value,
            cka_check_value_hex=cka_check_value.hex().upper(),
            check_source=source,
            token_value_hex=token_value.hex().upper(),
        )

    def _put(
        self, session: Any, key: SecretBytes, p11_type: Any, template: dict[Any, Any], mechanism: Mechanism
    ) -> Any:
        if mechanism is Mechanism.CREATE:
            value = bytes(key.view())  # python-pkcs11 packs CKA_VALUE as bytes (see the module docstring)
            try:
                with _translated(f"creating {template[p11.Attribute.LABEL]!r} in the token (C_CreateObject)"):
                    return session.create_object({**template, p11.Attribute.VALUE: value})
            finally:
                del value
        number, name = _UNWRAP_MECHANISMS[mechanism]
        transport = generate_key(KeyType.AES_256)
        transport_obj: Any = None
        try:
            value = bytes(transport.view())
            try:
                with _translated("importing the one-time transport key (C_CreateObject)"):
                    transport_obj = session.create_object(
                        {
                            p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY,
                            p11.Attribute.KEY_TYPE: p11.KeyType.AES,
                            p11.Attribute.VALUE: value,
                            p11.Attribute.TOKEN: False,
                            p11.Attribute.PRIVATE: True,
                            p11.Attribute.SENSITIVE: True,
                            p11.Attribute.EXTRACTABLE: False,
                            p11.Attribute.LABEL: TRANSPORT_LABEL,
                            **{_ATTRIBUTES_READ[c]: c == "unwrap" for c in _CAPABILITIES},
                        }
                    )
            finally:
                del value
            blob = wrap_material(transport, key)
            with _translated(f"unwrapping {template[p11.Attribute.LABEL]!r} with {name} (C_UnwrapKey)"):
                return transport_obj.unwrap_key(
                    p11.ObjectClass.SECRET_KEY,
                    p11_type,
                    blob,
                    mechanism=p11.Mechanism(number),
                    capabilities=0,
                    template=template,
                )
        finally:
            transport.wipe()
            if transport_obj is not None:
                self._destroy_quietly(transport_obj)

    def _destroy(self, obj: Any) -> None:
        with _translated("removing an object from the token (C_DestroyObject)"):
            obj.destroy()

    def _destroy_quietly(self, obj: Any) -> None:
        # A session object (transport key, probe): it disappears with the session anyway.
        try:
            obj.destroy()
        except p11.PKCS11Error:
            pass

    def _read_attributes(self, obj: Any) -> dict[str, object]:
        values: dict[str, object] = {}
        for name, attribute in _ATTRIBUTES_READ.items():
            try:
                values[name] = bool(obj[attribute])
            except p11.PKCS11Error:
                continue  # the token does not report this attribute
        return values

    def _cka_check_value(self, obj: Any) -> bytes:
        try:
            value = obj[p11.Attribute.CHECK_VALUE]
        except p11.PKCS11Error:
            return b""
        return bytes(value or b"")

    def _check(
        self,
        obj: Any,
        key: SecretBytes,
        key_type: KeyType,
        attributes: dict[str, object],
        cka_check_value: bytes,
        registered: KeyCheckValue,
    ) -> tuple[KeyCheckValue | None, str, bytes]:
        """How the key in the token compares with the registered KCV: (the token's registered-method KCV or
        None, the check source, what the token computed — see :attr:`LoadedKey.token_value_hex`)."""
        mechanisms = self.mechanisms()
        label = _text(self._label(obj))
        mismatch = (
            f"the token's check value of {label!r} does not match the registered KCV {registered.hex} "
            f"({registered.method}); the key was removed from the token"
        )
        if key_type.is_aes and attributes.get("sign") and int(p11.Mechanism.AES_CMAC) in mechanisms:
            with _translated(f"computing the AES-CMAC check value of {label!r} in the token"):
                mac = obj.sign(bytes(16), mechanism=p11.Mechanism.AES_CMAC)
            token_kcv = KeyCheckValue(KCVMethod.AES_CMAC.value, bytes(mac[: KCVMethod.AES_CMAC.length]))
            if not token_kcv.matches(registered):
                raise TokenError(mismatch)
            return token_kcv, "token-cmac", token_kcv.value
        if key_type.is_tdes and attributes.get("encrypt") and int(p11.Mechanism.DES3_ECB) in mechanisms:
            with _translated(f"computing the TDES check value of {label!r} in the token"):
                block = obj.encrypt(bytes(8), mechanism=p11.Mechanism.DES3_ECB)
            token_kcv = KeyCheckValue(KCVMethod.TDES_ECB.value, bytes(block[: KCVMethod.TDES_ECB.length]))
            if not token_kcv.matches(registered):
                raise TokenError(mismatch)
            return token_kcv, "token-ecb", token_kcv.value

        # No registered-method computation in the token: compare the token with the laptop's copy, and the
        # laptop's copy with the registered KCV.
        def laptop_matches() -> None:
            if not kcv_by_method(registered.method, key).matches(registered):
                raise TokenError(mismatch)

        if cka_check_value:
            laptop = _laptop_ecb_block(key_type, key)[: len(cka_check_value)]
            if not hmac.compare_digest(laptop, cka_check_value):
                raise TokenError(mismatch)
            laptop_matches()
            return None, "cka-check-value", cka_check_value
        if key_type.is_aes and attributes.get("encrypt") and int(p11.Mechanism.AES_ECB) in mechanisms:
            with _translated(f"encrypting a zero block with {label!r} in the token"):
                block = obj.encrypt(bytes(16), mechanism=p11.Mechanism.AES_ECB)
            if not hmac.compare_digest(_laptop_ecb_block(key_type, key), bytes(block)):
                raise TokenError(mismatch)
            laptop_matches()
            return None, "token-ecb", bytes(block)[:_CHECK_LENGTH]
        if key_type.is_aes and attributes.get("wrap") and int(p11.Mechanism.AES_KEY_WRAP) in mechanisms:
            wrapped = self._wrap_probe(obj, label)
            if not hmac.compare_digest(aes_key_wrap(cast(bytes, key.view()), _WRAP_PROBE), wrapped):
                raise TokenError(mismatch)
            laptop_matches()
            return None, "token-wrap", wrapped[:_CHECK_LENGTH]
        raise TokenError(
            f"the token gives no way to check {label!r} against the registered KCV (no CKA_CHECK_VALUE, and "
            f"usage {sorted(c for c in _CAPABILITIES if attributes.get(c))} allows no check computation); "
            "the key was removed from the token. Load it with 'create', or with a usage the token can check"
        )

    def _label(self, obj: Any) -> Any:
        try:
            return obj[p11.Attribute.LABEL]
        except p11.PKCS11Error:
            return ""

    def _wrap_probe(self, obj: Any, label: str) -> bytes:
        """The token wraps a fixed, non-secret session key under ``obj`` with CKM_AES_KEY_WRAP."""
        session = self._open()
        probe: Any = None
        try:
            with _translated(f"wrapping a test key with {label!r} in the token"):
                probe = session.create_object(
                    {
                        p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY,
                        p11.Attribute.KEY_TYPE: p11.KeyType.AES,
                        p11.Attribute.VALUE: _WRAP_PROBE,
                        p11.Attribute.TOKEN: False,
                        p11.Attribute.SENSITIVE: False,
                        p11.Attribute.EXTRACTABLE: True,
                        p11.Attribute.LABEL: "ceremony-check-probe",
                        **{_ATTRIBUTES_READ[c]: False for c in _CAPABILITIES},
                    }
                )
                return bytes(obj.wrap_key(probe, mechanism=p11.Mechanism.AES_KEY_WRAP))
        finally:
            if probe is not None:
                self._destroy_quietly(probe)
