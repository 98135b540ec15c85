"""Write tinyml firmware to a real board.

- esp32 / esp32_s3 / esp32_c3: esptool with the offsets MicroPython's
  combined image expects (0x1000 on the ESP32, 0x0 on the S3 and C3).
- rpi_pico: the RP2040 boot ROM shows a USB drive named RPI-RP2 while BOOTSEL
  is held at power-up; copying the .uf2 onto it flashes and reboots the board.
  With --rom, the UF2 written is made here: a ROMFS image of the given files
  (models run from it in place) at the board's ROMFS address, which leaves
  the firmware and the littlefs filesystem as they are; with --firmware too,
  the firmware travels in the same file (one copy for a new Pico). An
  output named .img or .romfs gets the bare image instead, which
  `mpremote romfs deploy` writes over USB serial.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import romfs, uf2
from .artifacts import firmware_path
from .boards import BOARDS
from .errors import BoardError, UsageError

ESPTOOL_OFFSETS = {"esp32": ("esp32", "0x1000"), "esp32_s3": ("esp32s3", "0x0"), "esp32_c3": ("esp32c3", "0x0")}
UF2_DRIVE_MARKER = "INFO_UF2.TXT"
UF2_FAMILIES = {"rpi_pico": uf2.RP2040_FAMILY}
# The name the ROMFS UF2 gets on the boot drive (any name ending .uf2 flashes).
ROMFS_UF2_NAME = "tinyml-romfs.uf2"
# Outputs that get the bare ROMFS image: the names `mpremote romfs deploy` takes as one.
BARE_IMAGE_SUFFIXES = (".img", ".romfs")


class FlashError(BoardError):
    """The board could not be flashed: the message says what to do (BOOTSEL, --port ...)."""


def esptool_command(board: str, port: str, firmware: Path, erase: bool = False) -> list:
    chip, offset = ESPTOOL_OFFSETS[board]
    base = [sys.executable, "-m", "esptool", "--chip", chip, "--port", port, "--baud", "460800"]
    cmds = [base + ["erase_flash"]] if erase else []
    cmds.append(base + ["write_flash", "-z", offset, str(firmware)])
    return cmds


def find_uf2_drives() -> list:
    """Mounted RPI-RP2 drives: the boot ROM's drive has INFO_UF2.TXT at its root."""
    patterns = ["/media/*/RPI-RP2", "/media/RPI-RP2", "/run/media/*/RPI-RP2", "/Volumes/RPI-RP2"]
    if os.name == "nt":
        patterns += [f"{d}:\\" for d in "DEFGHIJKLMNOPQRSTUVWXYZ"]
    drives = []
    for pattern in patterns:
        for d in glob.glob(pattern):
            if (Path(d) / UF2_DRIVE_MARKER).exists():
                drives.append(Path(d))
    return drives


def rom_image(board: str, entries) -> bytes:
    """The ROMFS image of (name, bytes) entries (romfs.file_entries()) for
    `board`; UsageError naming both sizes when it is larger than the board's
    ROMFS."""
    b = BOARDS[board]
    image, names = romfs.image_of(entries), ", ".join(name for name, _ in entries)
    if len(image) > b.romfs:
        raise UsageError(f"the ROMFS image of {names} takes {len(image)} bytes; {board}'s ROMFS "
                         f"holds {b.romfs} bytes")
    return image


def board_uf2(board: str, firmware=None, romfs_image: bytes | None = None,
              fs_image: bytes | None = None) -> bytes:
    """One UF2 file for `board` writing each part given where the firmware
    expects it: the firmware's own UF2 file as it is, a ROMFS image (from
    rom_image(), which checks its size) at the board's ROMFS, a filesystem
    image at its littlefs region."""
    b = BOARDS[board]
    family = UF2_FAMILIES[board]
    parts, names = [], []
    if firmware is not None:
        parts.append(Path(firmware).read_bytes())
        names.append(str(firmware))
    if romfs_image is not None:
        parts.append(uf2.image_to_uf2(romfs_image, b.flash_base + b.romfs_offset, family))
        names.append("the ROMFS image")
    if fs_image is not None:
        if len(fs_image) > b.fs_size:
            raise UsageError(f"a filesystem image of {len(fs_image)} bytes; {board}'s filesystem "
                             f"holds {b.fs_size}")
        parts.append(uf2.image_to_uf2(fs_image, b.flash_base + b.fs_offset, family))
        names.append("the filesystem image")
    return uf2.combine(*parts, names=names)


def _boot_drive(drive: str | None) -> Path:
    """The one RPI-RP2 drive to copy to: `drive`, checked, else the one mounted."""
    if drive:
        if not (Path(drive) / UF2_DRIVE_MARKER).exists():
            raise FlashError(f"{drive} is not an RPI-RP2 boot drive (no {UF2_DRIVE_MARKER})")
        return Path(drive)
    drives = find_uf2_drives()
    if not drives:
        raise FlashError("no RPI-RP2 drive found: unplug the Pico, hold its BOOTSEL button while "
                         "plugging it back in, then run this again (or pass --drive PATH)")
    if len(drives) > 1:
        raise FlashError("several RPI-RP2 drives found: pass --drive PATH to choose one: "
                         + ", ".join(map(str, drives)))
    return drives[0]


def flash_rom(board: str, files, firmware: str | None = None, drive: str | None = None,
              output: str | None = None, dry_run: bool = False, log=print) -> None:
    """Write `files` as the board's ROMFS: a UF2 copied to its boot drive, or
    saved as `output` (the bare image when it is named .img or .romfs); with
    `firmware`, the firmware goes in the same UF2."""
    bare = output is not None and Path(output).suffix in BARE_IMAGE_SUFFIXES
    if board not in UF2_FAMILIES and not bare:
        raise UsageError(f"--rom makes a UF2 file, which {board} does not take: put models in its "
                         "ROMFS over serial with `tinyml deploy --rom --port PORT`, or save the "
                         "image with -o models.romfs for `mpremote romfs deploy models.romfs`")
    if bare and firmware:
        raise UsageError(f"{output}: a bare ROMFS image cannot hold the firmware; name the output .uf2")
    b = BOARDS[board]
    image = rom_image(board, romfs.file_entries(files))
    fw = firmware_path(board, firmware) if firmware else None
    data = image if bare else board_uf2(board, firmware=fw, romfs_image=image)
    at = "" if bare else f", at {b.flash_base + b.romfs_offset:#x}"
    log(f"ROMFS image of {', '.join(Path(f).name for f in files)}: {len(image)} of {b.romfs} bytes"
        + at + (f", with the firmware {fw}" if fw else ""))
    if output:
        log(f"writing {output}")
        if not dry_run:
            try:
                Path(output).write_bytes(data)
            except OSError as exc:
                raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        return
    target = _boot_drive(drive) / ROMFS_UF2_NAME
    log(f"copying it to {target}")
    if not dry_run:
        target.write_bytes(data)
        log("done: the Pico reboots with the new ROMFS (/rom)")


def flash(board: str, port: str | None = None, firmware: str | None = None, drive: str | None = None,
          erase: bool = False, dry_run: bool = False, log=print) -> None:
    fw = firmware_path(board, firmware)
    if board in ESPTOOL_OFFSETS:
        if not port:
            raise UsageError(f"--port is required for {board} (e.g. /dev/ttyUSB0 or COM3)")
        for cmd in esptool_command(board, port, fw, erase):
            log("$ " + " ".join(cmd))
            if not dry_run:
                res = subprocess.run(cmd)
                if res.returncode != 0:
                    raise FlashError(f"esptool failed (exit {res.returncode}); hold BOOT while it "
                                     "connects if the board does not enter its bootloader by itself")
        return
    if board == "rpi_pico":
        if fw.suffix != ".uf2":
            raise UsageError(f"{fw}: the RP2040 boot ROM takes a .uf2 file")
        target = _boot_drive(drive)
        log(f"copying {fw} to {target}")
        if not dry_run:
            shutil.copyfile(fw, target / fw.name)
            log("done: the Pico reboots into the new firmware")
        return
    raise FlashError(f"cannot flash board {board!r}: supported are rpi_pico, "
                     + ", ".join(ESPTOOL_OFFSETS))
