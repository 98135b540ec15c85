"""Copy models and scripts to a MicroPython board so that an interrupted copy
never leaves a corrupt file where the program will look.

Each file is written to `<name>.part`, verified on the board (its size, its
hash, and for a .tinyml model a full `tinyml.load()`, which checks the blob's
own CRC), and only then renamed over `<name>`. A copy cut off halfway leaves
the previous `<name>` untouched and a stray `.part` file that the next deploy
overwrites.

deploy_rom() puts files in the board's ROMFS instead (models there run from
flash, in place). ROMFS is one flash region, rewritten whole, so the new
image is first staged as a file in the board's filesystem and verified
there: a link cut while it travels leaves the old ROMFS as it was. Only then
does one piece of code, run on the board by itself, copy it into ROMFS,
check what flash now holds and load every model from it; the staged file
is removed last, so if even that is cut short (power lost), running
deploy_rom() again finds the verified image already on the board and
finishes the switch without sending it again.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from pathlib import Path

from . import romfs
from .board import Board, RemoteError
from .errors import UsageError

ROM_STAGING = "/.tinyml-romfs.img"


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
            raise RemoteError(f"{local.name}: the board refuses the copied model: {exc}{_refusal_hint(exc)}") \
                from None


def _refusal_hint(exc) -> str:
    text = str(exc)
    if "MemoryError" in text:
        return ("; read from a file it needs its size in RAM besides its arena: put it in ROMFS "
                "(tinyml deploy --rom), where it runs from flash in place, or see tinyml check")
    if "version" in text:
        return "; the board's firmware reads another blob format version: update it (tinyml flash)"
    return ""


def run_on_board(port: str, model_path, x_bytes: bytes, board_factory=Board) -> bytes:
    """Put the model on the board (verified, atomically) and run one invoke.

    It goes to the filesystem when the board's free heap holds it besides
    its arena, else to ROMFS, where it runs in place: then ROMFS must be
    empty or hold only this model's name, since deploy_rom() replaces it
    whole (a user's own ROMFS files are never dropped silently)."""
    from .blob import read_blob
    from .boards import model_ram

    model_path = Path(model_path)
    data = model_path.read_bytes()
    info = read_blob(data)
    arena = info.header["arena_size"]
    _, from_file = model_ram(info, len(data))
    with board_factory(port) as board:
        free = int(board.exec("import gc\ngc.collect()\nprint(gc.mem_free())").strip())
        to_rom = from_file > free and _has_romfs(board)
        if not to_rom:
            (board_path,) = copy_files(board, [model_path])
            return _invoke(board, board_path, x_bytes)
        held = [n for n in _rom_listing(board) if n != model_path.name]
        board_path = "/rom/" + model_path.name
        if not held and _same_file(board, board_path, data):
            return _invoke(board, board_path, x_bytes)
    if held:
        raise UsageError(
            f"{model_path.name} ({len(data)} bytes, arena {arena}) does not fit the board's free heap "
            f"({free} bytes) read from a file, so it has to run from ROMFS, which holds your files "
            f"{', '.join(held)}: deploy them with it (tinyml deploy --rom {' '.join(held)} "
            f"{model_path.name} --port {port}), then load /rom/{model_path.name}")
    (board_path,) = deploy_rom(port, [model_path], board_factory=board_factory)
    with board_factory(port) as board:
        return _invoke(board, board_path, x_bytes)


def _invoke(board, board_path: str, x_bytes: bytes) -> bytes:
    out = board.exec(
        "import binascii, tinyml\n"
        f"m = tinyml.load({board_path!r})\n"
        f"print(binascii.hexlify(m.invoke({bytes(x_bytes)!r})).decode())\n"
        "m.close()\n", timeout=120)
    return bytes.fromhex(out.strip().splitlines()[-1])


def _same_file(board, path: str, data: bytes) -> bool:
    """Whether `path` on the board holds `data` already (a model run before)."""
    try:
        if board.stat(path).st_size != len(data):
            return False
    except (RemoteError, OSError):
        return False
    digest = board.sha256(path)
    return digest is not None and digest == hashlib.sha256(data).digest()


def _has_romfs(board) -> bool:
    try:
        rom_capacity(board)
    except UsageError:
        return False
    return True


def _rom_listing(board) -> list:
    out = board.exec("import os\ntry:\n print(' '.join(os.listdir('/rom')))\nexcept OSError:\n print()")
    return out.split()


# Runs on the board, alone: copies the staged image into ROMFS segment 0,
# checks flash against the image's SHA-256 (or CRC-32), remounts /rom, loads
# every model there, then drops the staged file. Prints the failure, or OK.
_ROM_SWITCH = """\
import vfs, os
def _tml_switch(staged, size, digest, models):
    dev = vfs.rom_ioctl(2, 0)
    block = dev.ioctl(5, 0)
    try:
        vfs.umount('/rom')
    except OSError:
        pass
    buf = bytearray(block)
    with open(staged, 'rb') as f:
        for n in range((size + block - 1) // block):
            got = f.readinto(buf)
            for i in range(got, block):
                buf[i] = 0xFF
            dev.ioctl(6, n)
            dev.writeblocks(n, buf, 0)
    flash = memoryview(dev)[:size]
    if digest[0] == 'sha256':
        import hashlib
        h = hashlib.sha256()
        for i in range(0, size, block):
            h.update(flash[i:i + block])
        ok = h.digest() == digest[1]
    elif digest[0] == 'crc32':
        import binascii
        c = 0
        for i in range(0, size, block):
            c = binascii.crc32(flash[i:i + block], c)
        ok = c == digest[1]
    else:
        ok = True
    if not ok:
        print('ROMFS holds other bytes than the staged image after writing it')
        return
    vfs.mount(vfs.VfsRom(dev), '/rom')
    import tinyml
    for name in models:
        m = tinyml.load('/rom/' + name)
        if not m.in_place:
            print('/rom/%s was copied to RAM, not used in place' % name)
            return
        m.close()
    os.remove(staged)
    print('OK')
"""


def rom_capacity(board) -> int:
    """Bytes of the board's ROMFS segment 0; UsageError when it has none."""
    out = board.exec("import vfs\nd = vfs.rom_ioctl(2, 0) if hasattr(vfs, 'rom_ioctl') else -1\n"
                     "print(-1 if isinstance(d, int) else d.ioctl(4, 0) * d.ioctl(5, 0))").strip()
    size = int(out.splitlines()[-1])
    if size < 0:
        raise UsageError(f"{board.port}: this firmware has no ROMFS partition (MicroPython 1.25 with "
                         "MICROPY_HW_ROMFS_BYTES, or a romfs partition on ESP32; tinyml's boards have one)")
    return size


def deploy_rom(port: str, files, progress=None, board_factory=Board) -> list:
    """Put `files` (models and anything else) in the board's ROMFS, replacing
    what it held; returns the /rom paths. See the module docstring."""
    paths = [Path(f) for f in files]
    image = romfs.build_image(paths)
    models = [p.name for p in paths if p.suffix == ".tinyml"]
    with board_factory(port) as board:
        capacity = rom_capacity(board)
        if len(image) > capacity:
            raise UsageError(f"the ROMFS image of {', '.join(p.name for p in paths)} takes {len(image)} "
                             f"bytes; the board's ROMFS holds {capacity}")
        staged = ROM_STAGING
        if not _already_staged(board, staged, image):
            name = f"ROMFS image ({', '.join(p.name for p in paths)})"
            if progress:
                progress(name, 0, len(image))
            part = staged + ".part"
            board.write_file(part, image, functools.partial(progress, name) if progress else None)
            _verify(board, Path("romfs.img"), part, image)
            board.exec(f"import os\ntry:\n    os.remove({staged!r})\nexcept OSError:\n    pass\n"
                       f"os.rename({part!r}, {staged!r})")
        digest = _board_digest_kind(board, image)
        out = board.exec(_ROM_SWITCH + f"_tml_switch({staged!r}, {len(image)}, {digest!r}, {models!r})",
                         timeout=120).strip()
        if not out.endswith("OK"):
            raise RemoteError(f"{port}: ROMFS not switched: {out.splitlines()[-1] if out else 'no answer'}; "
                              f"the verified image stays in {staged}, run deploy --rom again")
    return ["/rom/" + p.name for p in paths]


def _already_staged(board, staged: str, image: bytes) -> bool:
    try:
        _verify(board, Path("romfs.img"), staged, image)
    except (RemoteError, OSError):
        return False
    return True


def _board_digest_kind(board, image: bytes):
    if board.has("hashlib", "sha256"):
        return ("sha256", hashlib.sha256(image).digest())
    if board.has("binascii", "crc32"):
        return ("crc32", zlib.crc32(image))
    return ("size", len(image))
