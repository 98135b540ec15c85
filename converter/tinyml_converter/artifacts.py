"""Where the CLI finds firmware images: nothing is looked up relative to
this package, so an installed wheel and a checkout behave the same.

In order: the path given on the command line; the folder named by
TINYML_FIRMWARE_DIR; ./build in the current folder (a tinyml checkout's
build output, or the unpacked `dist/` of a release). Each board's files sit
in a subfolder named after the board, as `make firmware` and `make dist`
leave them: unix/micropython, qemu_m3/firmware.elf, rpi_pico/firmware.uf2.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import MissingTool

FIRMWARE_FILES = {
    "unix": "micropython",
    "qemu_m0": "firmware.elf",
    "qemu_m3": "firmware.elf",
    "qemu_m4": "firmware.elf",
    "qemu_rv32": "firmware.elf",
    "rpi_pico": "firmware.uf2",
    "esp32": "firmware.bin",
    "esp32_s3": "firmware.bin",
    "esp32_c3": "firmware.bin",
}


def firmware_dirs() -> list:
    dirs = []
    if os.environ.get("TINYML_FIRMWARE_DIR"):
        dirs.append(Path(os.environ["TINYML_FIRMWARE_DIR"]))
    dirs.append(Path.cwd() / "build")
    return dirs


def firmware_path(board: str, explicit=None) -> Path:
    """The firmware image for `board`; MissingTool naming every place looked at."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise MissingTool(f"firmware {path} not found")
        return path
    name = FIRMWARE_FILES[board]
    tried = [d / board / name for d in firmware_dirs()]
    for path in tried:
        if path.is_file():
            return path
    raise MissingTool(
        f"no {board} firmware: looked for {', '.join(map(str, tried))}. Build it in a tinyml checkout "
        f"(`make firmware BOARD={board}`), or set TINYML_FIRMWARE_DIR to a folder holding "
        f"{board}/{name} (a release's dist/ folder), or pass --firmware")


def unix_micropython(explicit=None) -> Path:
    """The unix port binary with tinyml built in: as firmware_path, and
    TINYML_MICROPYTHON before the folders."""
    return firmware_path("unix", explicit or os.environ.get("TINYML_MICROPYTHON"))
