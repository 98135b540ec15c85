"""Write tinyml firmware to a real board.

- esp32 / esp32_s3: esptool with the offsets MicroPython's combined image
  expects (0x1000 on the ESP32, 0x0 on the S3).
- rpi_pico: the RP2040 boot ROM shows a USB drive named RPI-RP2 while BOOTSEL
  is held at power-up; copying the .uf2 onto it flashes and reboots the board.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .artifacts import firmware_path
from .errors import BoardError, UsageError

ESPTOOL_OFFSETS = {"esp32": ("esp32", "0x1000"), "esp32_s3": ("esp32s3", "0x0")}
UF2_DRIVE_MARKER = "INFO_UF2.TXT"


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
        drives = [Path(drive)] if drive else find_uf2_drives()
        if drive and not (Path(drive) / UF2_DRIVE_MARKER).exists():
            raise FlashError(f"{drive} is not an RPI-RP2 boot drive (no {UF2_DRIVE_MARKER})")
        if not drives:
            raise FlashError("no RPI-RP2 drive found: unplug the Pico, hold its BOOTSEL button while "
                             "plugging it back in, then run this again (or pass --drive PATH)")
        if len(drives) > 1:
            raise FlashError("several RPI-RP2 drives found: pass --drive PATH to choose one: "
                             + ", ".join(map(str, drives)))
        log(f"copying {fw} to {drives[0]}")
        if not dry_run:
            shutil.copyfile(fw, drives[0] / fw.name)
            log("done: the Pico reboots into the new firmware")
        return
    raise FlashError(f"cannot flash board {board!r}: supported are rpi_pico, "
                     + ", ".join(ESPTOOL_OFFSETS))
