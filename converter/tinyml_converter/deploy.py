"""Copy models and scripts to a MicroPython board so that an interrupted copy
never leaves a corrupt file where the program will look.

Each file is written to `<name>.part`, verified on the board (size, CRC-32
when the firmware has binascii.crc32, and for a .tinyml model a full
`tinyml.load()`, which checks the blob's own CRC), and only then renamed over
`<name>`. A copy cut off halfway leaves the previous `<name>` untouched and a
stray `.part` file that the next deploy overwrites.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

from .serial_repl import BoardError, RawRepl

CHUNK = 768  # bytes per exec: 1 KB of base64, well inside a raw REPL line

_CRC_ON_BOARD = """\
def _tml_crc(path):
    c = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(512)
            if not b:
                return c
            c = binascii.crc32(b, c)
"""


def _join(dest: str, name: str) -> str:
    return name if dest in ("", ".") else dest.rstrip("/") + "/" + name


def deploy(port: str, files, dest: str = "/", progress=None, repl_factory=RawRepl) -> list:
    """Copy `files` to `dest` on the board at `port`; returns the board paths."""
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
    written = []
    with repl_factory(port) as repl:
        repl.exec("import os, binascii")
        has_crc = repl.exec("print(hasattr(binascii, 'crc32'))").strip() == "True"
        if has_crc:
            repl.exec(_CRC_ON_BOARD)
        for p in paths:
            data = p.read_bytes()
            target = _join(dest, p.name)
            part = target + ".part"
            repl.exec(f"_tml_f = open({part!r}, 'wb')")
            for i in range(0, len(data), CHUNK):
                b64 = base64.b64encode(data[i:i + CHUNK]).decode()
                repl.exec(f"_tml_f.write(binascii.a2b_base64({b64!r}))")
                if progress:
                    progress(p.name, min(i + CHUNK, len(data)), len(data))
            repl.exec("_tml_f.close()")
            _verify(repl, p, part, data, has_crc)
            # Rename over the old file; FAT refuses to rename onto an existing
            # name, LittleFS replaces it atomically.
            repl.exec(f"try:\n    os.rename({part!r}, {target!r})\nexcept OSError:\n"
                      f"    os.remove({target!r})\n    os.rename({part!r}, {target!r})\n")
            written.append(target)
    return written


def _verify(repl, local: Path, part: str, data: bytes, has_crc: bool):
    size = int(repl.exec(f"print(os.stat({part!r})[6])").strip())
    if size != len(data):
        raise BoardError(f"{local.name}: board has {size} bytes, expected {len(data)}; "
                         "the copy was cut short, the previous file is untouched")
    if has_crc:
        crc = int(repl.exec(f"print(_tml_crc({part!r}))").strip())
        if crc != zlib.crc32(data) & 0xFFFFFFFF:
            raise BoardError(f"{local.name}: CRC-32 mismatch after copy; the previous file is untouched")
    if local.suffix == ".tinyml":
        try:
            repl.exec(f"import tinyml\ntinyml.load({part!r}).close()")
        except BoardError as exc:
            raise BoardError(f"{local.name}: the board refuses the copied model ({exc}); "
                             "is its firmware older than the converter?") from None


def run_on_board(port: str, model_path, x_bytes: bytes, repl_factory=RawRepl) -> bytes:
    """Deploy the model (verified, atomically) and run one invoke on the board."""
    (board_path,) = deploy(port, [model_path], repl_factory=repl_factory)
    with repl_factory(port) as repl:
        b64 = base64.b64encode(x_bytes).decode()
        out = repl.exec(
            "import binascii, tinyml\n"
            f"_tml_m = tinyml.load({board_path!r})\n"
            f"print(binascii.hexlify(_tml_m.invoke(binascii.a2b_base64({b64!r}))).decode())\n"
            "_tml_m.close()\n", timeout=120)
    return bytes.fromhex(out.strip().splitlines()[-1])
