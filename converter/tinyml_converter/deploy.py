"""Copy models and scripts to a MicroPython board so that an interrupted copy
never leaves a corrupt file where the program will look.

Each file is written to `<name>.part`, verified on the board (its size, its
hash, and for a .tinyml model a full `tinyml.load()`, which checks the blob's
own CRC), and only then renamed over `<name>`. A copy cut off halfway leaves
the previous `<name>` untouched and a stray `.part` file that the next deploy
overwrites.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from pathlib import Path

from .board import Board, RemoteError


def _join(dest: str, name: str) -> str:
    return name if dest in ("", ".") else dest.rstrip("/") + "/" + name


def deploy(port: str, files, dest: str = "/", progress=None, board_factory=Board) -> list:
    """Copy `files` to `dest` on the board at `port`; returns the board paths.
    progress(name, done, total) is called as each file's bytes go out."""
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
    with board_factory(port) as board:
        return copy_files(board, paths, dest, progress)


def copy_files(board, paths, dest: str = "/", progress=None) -> list:
    """deploy() on a board already open, for callers with more to do there."""
    written = []
    for p in paths:
        data = p.read_bytes()
        target = _join(dest, p.name)
        part = target + ".part"
        if progress:
            progress(p.name, 0, len(data))
        try:
            board.write_file(part, data, functools.partial(progress, p.name) if progress else None)
        except RemoteError as exc:
            raise RemoteError(f"{p.name}: the board could not write {part} ({exc}); "
                             "the previous file is untouched") from None
        _verify(board, p, part, data)
        # Rename over the old file; FAT refuses to rename onto an existing
        # name, LittleFS replaces it atomically.
        board.exec(f"import os\ntry:\n    os.rename({part!r}, {target!r})\nexcept OSError:\n"
                   f"    os.remove({target!r})\n    os.rename({part!r}, {target!r})\n")
        written.append(target)
    return written


def _verify(board, local: Path, part: str, data: bytes):
    size = board.stat(part).st_size
    if size != len(data):
        raise RemoteError(f"{local.name}: board has {size} bytes, expected {len(data)}; "
                         "the copy was cut short, the previous file is untouched")
    # The strongest check the firmware has: SHA-256 (hashlib, in nearly every
    # port), else CRC-32 (binascii), else the size alone.
    digest = board.sha256(part)
    if digest is not None:
        if digest != hashlib.sha256(data).digest():
            raise RemoteError(f"{local.name}: SHA-256 mismatch after copy; the previous file is untouched")
    else:
        crc = board.crc32(part)
        if crc is not None and crc != zlib.crc32(data):
            raise RemoteError(f"{local.name}: CRC-32 mismatch after copy; the previous file is untouched")
    if local.suffix == ".tinyml":
        try:
            # Validating a large model (its CRC, every table) takes seconds on a slow core.
            board.exec(f"import tinyml\ntinyml.load({part!r}).close()", timeout=60)
        except RemoteError as exc:
            raise RemoteError(f"{local.name}: the board refuses the copied model ({exc}); "
                             "is its firmware older than the converter?") from None


def run_on_board(port: str, model_path, x_bytes: bytes, board_factory=Board) -> bytes:
    """Deploy the model (verified, atomically) and run one invoke on the board."""
    with board_factory(port) as board:
        (board_path,) = copy_files(board, [Path(model_path)])
        out = board.exec(
            "import binascii, tinyml\n"
            f"m = tinyml.load({board_path!r})\n"
            f"print(binascii.hexlify(m.invoke({bytes(x_bytes)!r})).decode())\n"
            "m.close()\n", timeout=120)
    return bytes.fromhex(out.strip().splitlines()[-1])
