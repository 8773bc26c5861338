"""Share card delivery: RAM folder only (checked in /proc/mounts), disk only when allowed and then with a
warning, printer devices and lp fed without files, and wiping after printing."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from ceremony.crypto.secret import SecretBytes
from ceremony.documents.printing import (
    filesystem_type,
    send_to_lp,
    send_to_printer_device,
    wipe_after_print,
    write_to_ram_folder,
)
from ceremony.documents.render import render_share_card
from ceremony.errors import DocumentError

from .samples import share_card_data, share_lines_and_qr

SHM = Path("/dev/shm")
needs_shm = pytest.mark.skipif(
    not SHM.is_dir() or filesystem_type(SHM) != "tmpfs", reason="no tmpfs at /dev/shm on this machine"
)


@pytest.fixture
def card() -> SecretBytes:
    lines, qr = share_lines_and_qr()
    return render_share_card(share_card_data(lines, qr))


def test_filesystem_type_longest_mount_wins(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "tmpfs /run tmpfs rw 0 0\n"
        "tmpfs /mnt/my\\040cards tmpfs rw 0 0\n"
        "/dev/vdb /run/media ext4 rw 0 0\n"
    )
    assert filesystem_type(Path("/run/user"), mounts) == "tmpfs"
    assert filesystem_type(Path("/run/media/usb"), mounts) == "ext4"
    assert filesystem_type(Path("/mnt/my cards/x"), mounts) == "tmpfs"
    assert filesystem_type(Path("/mnt/mycards"), mounts) == "ext4"
    assert filesystem_type(Path("/runner"), mounts) == "ext4"  # a prefix of the name is not a mount


@needs_shm
def test_ram_folder_write_then_wipe(card: SecretBytes) -> None:
    folder = SHM / f"ceremony-test-{os.getpid()}"
    folder.mkdir()
    try:
        delivery = write_to_ram_folder(card, "card-TE-880231.pdf", folder)
        assert delivery.ram_backed and delivery.warning is None and delivery.copies == 1
        assert delivery.path == folder / "card-TE-880231.pdf"
        assert delivery.path.read_bytes() == bytes(card.view())
        assert stat.S_IMODE(delivery.path.stat().st_mode) == 0o600
        with pytest.raises(DocumentError, match="already exists"):
            write_to_ram_folder(card, "card-TE-880231.pdf", folder)
        wipe_after_print(delivery.path)
        assert not delivery.path.exists()
        with pytest.raises(DocumentError, match="already gone"):
            wipe_after_print(delivery.path)
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def test_persistent_disk_refused_without_flag(card: SecretBytes, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\n/dev/vdb {tmp_path} xfs rw 0 0\n")
    with pytest.raises(DocumentError, match=r"persistent disk \(xfs\)"):
        write_to_ram_folder(card, "card.pdf", tmp_path, mounts=mounts)
    assert not (tmp_path / "card.pdf").exists()


def test_persistent_disk_allowed_with_warning_then_wiped(card: SecretBytes, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\n/dev/vdb {tmp_path} xfs rw 0 0\n")
    delivery = write_to_ram_folder(card, "card.pdf", tmp_path, allow_persistent_disk=True, mounts=mounts)
    assert not delivery.ram_backed
    assert delivery.warning is not None and "persistent disk (xfs)" in delivery.warning
    path = tmp_path / "card.pdf"
    size = path.stat().st_size
    # Keep a second name on the same inode to see what wiping left in the file's blocks.
    witness = tmp_path / "hardlink"
    os.link(path, witness)
    wipe_after_print(path)
    assert not path.exists()
    assert witness.read_bytes() == bytes(size)


def test_tmpfs_detected_from_mounts(card: SecretBytes, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n")
    delivery = write_to_ram_folder(card, "card.pdf", tmp_path, mounts=mounts)
    assert delivery.ram_backed and delivery.warning is None
    wipe_after_print(tmp_path / "card.pdf")


@pytest.mark.parametrize("name", ["", "../card.pdf", ".hidden", "a/b.pdf"])
def test_bad_file_names(card: SecretBytes, name: str) -> None:
    with pytest.raises(DocumentError, match="not valid"):
        write_to_ram_folder(card, name, SHM)


def test_printer_device_pipe_receives_the_card(card: SecretBytes, tmp_path: Path) -> None:
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    received = bytearray()

    def printer() -> None:
        with open(fifo, "rb") as f:
            while chunk := f.read(65536):
                received.extend(chunk)

    thread = threading.Thread(target=printer)
    thread.start()
    delivery = send_to_printer_device(card, fifo, copies=2)
    thread.join(timeout=10)
    assert delivery.copies == 2 and delivery.path is None and delivery.ram_backed
    assert received == bytes(card.view()) * 2


def test_printer_device_must_be_a_device(card: SecretBytes, tmp_path: Path) -> None:
    regular = tmp_path / "not-a-printer"
    regular.write_bytes(b"")
    with pytest.raises(DocumentError, match="not a printer device"):
        send_to_printer_device(card, regular)
    assert regular.read_bytes() == b""
    with pytest.raises(DocumentError, match="not found"):
        send_to_printer_device(card, tmp_path / "missing")
    with pytest.raises(DocumentError, match="copies"):
        send_to_printer_device(card, Path("/dev/null"), copies=0)


def test_lp_gets_the_card_on_stdin(card: SecretBytes, tmp_path: Path) -> None:
    # A stand-in for CUPS' lp: records its arguments and what arrives on stdin.
    out = tmp_path / "job"
    fake = tmp_path / "lp"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {out}.args\ncat > {out}\n")
    fake.chmod(0o700)
    delivery = send_to_lp(card, "vault-printer", copies=2, lp=str(fake))
    assert delivery.destination == "lp printer vault-printer" and delivery.copies == 2
    assert out.read_bytes() == bytes(card.view())
    assert (tmp_path / "job.args").read_text().split() == ["-n", "2", "-d", "vault-printer", "-"]


def test_lp_failure_is_reported(card: SecretBytes, tmp_path: Path) -> None:
    fake = tmp_path / "lp"
    fake.write_text(
        "#!/bin/sh\ncat > /dev/null\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n"
    )
    fake.chmod(0o700)
    with pytest.raises(DocumentError, match="does not exist"):
        send_to_lp(card, "nope", lp=str(fake))
    with pytest.raises(DocumentError, match="not valid"):
        send_to_lp(card, "-oops", lp=str(fake))
