"""Delivering a share card without it ever resting on disk (DESIGN §4.2).

A rendered share card (a wipeable buffer) goes

* straight to a printer: a raw printer device (``/dev/usb/lp0``; a character device or a pipe) or the
  ``lp`` command where CUPS is installed, fed through its standard input - no spool file of ours; or
* into a RAM-backed folder (``/dev/shm`` or another tmpfs/ramfs, checked in ``/proc/mounts``) from where the
  administrator prints it, after which :func:`wipe_after_print` overwrites and deletes it.

A folder on persistent disk is refused unless the caller passes ``allow_persistent_disk=True``; the
returned :class:`Delivery` then carries a warning the flow records in the ledger (a disk may keep the
share after deletion: journals, SSD wear levelling). Every delivery reports the number of copies, which
the ledger counts; this module keeps nothing.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import DocumentError

RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
DEFAULT_RAM_FOLDER = Path("/dev/shm")  # noqa: S108 - RAM-backed on purpose (checked in /proc/mounts)
LP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Delivery:
    """Where a share card went. ``warning`` is set when the caller must record a risk in the ledger."""

    destination: str  # what the ledger records: "printer device /dev/usb/lp0", "lp printer X", a file path
    copies: int
    path: Path | None = None  # the file written, to pass to wipe_after_print (None for printers)
    ram_backed: bool = True
    warning: str | None = None


def _view(pdf: SecretBytes | bytearray) -> memoryview:
    return pdf.view() if isinstance(pdf, SecretBytes) else memoryview(pdf)


def _unescape_mount(field: str) -> str:
    # /proc/mounts escapes space, tab, newline and backslash as \040 \011 \012 \134.
    for code, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, ch)
    return field


def filesystem_type(path: Path, mounts: Path = Path("/proc/mounts")) -> str:
    """The type of the filesystem ``path`` lives on, from the longest matching mount point."""
    target = os.path.realpath(path)
    best, best_type = "", "unknown"
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = _unescape_mount(parts[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        # ">=": a later mount on the same point hides the earlier one.
        if inside and len(point) >= len(best):
            best, best_type = point, parts[2]
    return best_type


def send_to_printer_device(pdf: SecretBytes | bytearray, device: Path, *, copies: int = 1) -> Delivery:
    """Write the card to a raw printer device (or a pipe to a print server), ``copies`` times."""
    _check_copies(copies)
    try:
        mode = os.stat(device).st_mode
    except OSError:
        raise DocumentError(f"printer device {device} not found") from None
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise DocumentError(
            f"{device} is not a printer device (a character device or pipe): a share card is never "
            "written to an ordinary file this way"
        )
    view = _view(pdf)
    try:
        with open(device, "wb", buffering=0) as out:
            for _ in range(copies):
                written = 0
                while written < len(view):
                    n = out.write(view[written:])
                    written += n or 0
    except OSError as exc:
        raise DocumentError(f"printing to {device} failed: {exc.strerror}") from None
    finally:
        view.release()
    return Delivery(destination=f"printer device {device}", copies=copies)


def send_to_lp(
    pdf: SecretBytes | bytearray, printer: str | None = None, *, copies: int = 1, lp: str | None = None
) -> Delivery:
    """Print through CUPS ``lp``, feeding the PDF on its standard input (``lp`` found on PATH unless given).

    CUPS itself spools jobs under /var/spool/cups: configure it with ``PreserveJobFiles No`` and a tmpfs
    spool on the ceremony laptop (README) - the share is on its way to paper at that point.
    """
    _check_copies(copies)
    program = lp or shutil.which("lp")
    if program is None:
        raise DocumentError("the 'lp' command is not installed: print to a printer device or a RAM folder")
    command = [program, "-n", str(copies)]
    if printer:
        if printer.startswith("-"):
            raise DocumentError(f"printer name {printer[:32]!r} is not valid")
        command += ["-d", printer]
    command.append("-")
    view = _view(pdf)
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert proc.stdin is not None
        try:
            proc.stdin.write(view)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
            proc.stdin = None  # closed by us: communicate() must not flush it again
        _, err = proc.communicate(timeout=LP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DocumentError(f"printing with {program} failed: {type(exc).__name__}") from None
    finally:
        view.release()
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise DocumentError(f"lp refused the print job (exit {proc.returncode}): {message[0][:200]}")
    return Delivery(destination=f"lp printer {printer or '(default)'}", copies=copies)


def write_to_ram_folder(
    pdf: SecretBytes | bytearray,
    name: str,
    folder: Path = DEFAULT_RAM_FOLDER,
    *,
    allow_persistent_disk: bool = False,
    mounts: Path = Path("/proc/mounts"),
) -> Delivery:
    """Write the card as ``folder/name`` (mode 0600, never overwriting), for printing from there; then call
    :func:`wipe_after_print`. ``folder`` must be on tmpfs/ramfs unless ``allow_persistent_disk``."""
    if not name or "/" in name or name.startswith("."):
        raise DocumentError(f"file name {name[:40]!r} is not valid: a plain name like 'card-TE-880231.pdf'")
    if not folder.is_dir():
        raise DocumentError(f"folder {folder} does not exist")
    fs_type = filesystem_type(folder, mounts)
    ram = fs_type in RAM_FILESYSTEMS
    warning = None
    if not ram:
        if not allow_persistent_disk:
            raise DocumentError(
                f"{folder} is on a persistent disk ({fs_type}), where a share could survive deletion: use "
                "/dev/shm or another tmpfs, or allow a disk destination explicitly (it is recorded)"  # noqa: S108
            )
        warning = (
            f"share card written to persistent disk ({fs_type}) at {folder / name}: deleted after printing, "
            "but the disk may keep a copy"
        )
    path = folder / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DocumentError(f"{path} already exists: wipe it first") from None
    except OSError as exc:
        raise DocumentError(f"cannot create {path}: {exc.strerror}") from None
    view = _view(pdf)
    try:
        written = 0
        while written < len(view):
            written += os.write(fd, view[written:])
        if not ram:
            os.fsync(fd)
    finally:
        view.release()
        os.close(fd)
    return Delivery(destination=str(path), copies=1, path=path, ram_backed=ram, warning=warning)


def overwrite_and_remove(path: Path) -> bool:
    """Overwrite the file with zeros (flushed), then unlink it. ``False`` when there was no such regular file.

    Uses only ``os`` calls on a descriptor opened without following a symlink, so it can run from a signal
    handler or an ``atexit`` hook. A symlink or anything but a regular file is left alone.
    """
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return False
    try:
        info = os.fstat(fd)
        if not (info.st_mode & 0o170000 == 0o100000):  # S_ISREG
            return False
        size = info.st_size
        block = bytes(min(size, 1 << 16))
        done = 0
        while done < size:
            done += os.write(fd, block[: size - done])
        os.fsync(fd)
    finally:
        os.close(fd)
    os.unlink(path)
    return True


def wipe_after_print(path: Path) -> None:
    """Overwrite the file with zeros (flushed to the device), then delete it."""
    try:
        wiped = overwrite_and_remove(path)
    except OSError as exc:
        raise DocumentError(f"cannot open {path} to wipe it: {exc.strerror}") from None
    if not wiped:
        if os.path.lexists(path):
            raise DocumentError(f"{path} is not a regular file: it was left alone")
        raise DocumentError(f"{path} is already gone: nothing to wipe")


def _check_copies(copies: int) -> None:
    if not 1 <= copies <= 9:
        raise DocumentError(f"copies must be between 1 and 9, not {copies}")


def describe_printer(spec: str) -> str:
    """Where ``spec`` (as :func:`deliver_card` reads it) sends a card, in the custodian's words:
    "to a RAM folder (/dev/shm), for printing then wiping", "to the printer HP-Vault", "to the printer
    device /dev/usb/lp0". A spec :func:`deliver_card` would refuse is named as such."""
    spec = spec.strip() or "ram"
    if spec == "lp":
        return "to the default printer"
    if spec.startswith("lp:"):
        return f"to the printer {spec[3:]}" if spec[3:] else "to the default printer"
    if spec == "ram" or spec.startswith("ram:"):
        folder = spec[4:] if spec.startswith("ram:") else str(DEFAULT_RAM_FOLDER)
        return f"to a RAM folder ({folder}), for printing then wiping"
    if spec.startswith("/dev/"):
        return f"to the printer device {spec}"
    return f"nowhere: {spec[:60]!r} is not a card printer ($CEREMONY_PRINTER: lp, lp:NAME, a device, ram)"


def deliver_card(
    pdf: SecretBytes | bytearray,
    spec: str,
    name: str,
    *,
    copies: int = 1,
    allow_persistent_disk: bool = False,
) -> Delivery:
    """Send a share card where ``spec`` says (``$CEREMONY_PRINTER`` in the TUI):

    * ``lp`` or ``lp:PRINTER`` — the ``lp`` command (CUPS), fed on standard input;
    * a path under ``/dev/`` — a raw printer device (e.g. ``/dev/usb/lp0``);
    * ``ram`` (the default) or ``ram:FOLDER`` — a RAM-backed folder (``/dev/shm``), wiped after printing.
    """
    spec = spec.strip() or "ram"
    if spec == "lp" or spec.startswith("lp:"):
        return send_to_lp(pdf, spec[3:] or None, copies=copies)
    if spec == "ram" or spec.startswith("ram:"):
        folder = Path(spec[4:]) if spec.startswith("ram:") else DEFAULT_RAM_FOLDER
        return write_to_ram_folder(pdf, name, folder, allow_persistent_disk=allow_persistent_disk)
    if spec.startswith("/dev/"):
        return send_to_printer_device(pdf, Path(spec), copies=copies)
    raise DocumentError(
        f"unknown card printer {spec[:60]!r}: use 'lp', 'lp:PRINTER', a device such as /dev/usb/lp0, "
        "or 'ram' / 'ram:FOLDER' for a RAM-backed folder"
    )
