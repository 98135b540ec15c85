"""ROMFS images for models that run from flash, in place.

The image is MicroPython's own format, written by MicroPython's own writer
(mpremote's VfsRomWriter). What we add is where a model's bytes land: the
C core reads a blob's 32-bit fields in place, and copies a blob that is not
4-byte aligned into RAM, which is what ROMFS is there to avoid. So each
.tinyml is stored as a data record referenced by its file (the format's
data pointer), placed on a 4-byte boundary of the image; a ROMFS segment
starts on a flash sector, so the model is aligned in flash too.

    image = build_image([Path("model.tinyml"), Path("main.py")])
"""

from __future__ import annotations

from pathlib import Path

from mpremote.romfs import VfsRomWriter

from .errors import UsageError

MODEL_ALIGN = 4
ROMFS_HEADER = VfsRomWriter.ROMFS_HEADER


def _varint_size(value: int) -> int:
    """Bytes of ROMFS's unsigned varint (7 bits a byte) for `value`."""
    return max(1, (value.bit_length() + 6) // 7)


def build_image(files) -> bytes:
    """One flat ROMFS image holding `files` (paths) at its root, by name."""
    return image_of(file_entries(files))


def file_entries(files) -> list:
    """image_of()'s (name, bytes) entries for the files at these paths."""
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    return [(p.name, p.read_bytes()) for p in paths]


def model_entry(path, data: bytes) -> tuple:
    """(name, data) for image_of(): the model under its own file name, or
    model.tinyml when that name would not be stored as a model (aligned
    models are the ones named .tinyml) or is not ASCII."""
    name = Path(path).name
    if not name.endswith(".tinyml") or not name.isascii():
        name = "model.tinyml"
    return name, data


def image_of(entries) -> bytes:
    """The ROMFS image of (name, bytes) entries, each at the root."""
    seen = set()
    for name, _ in entries:
        if name in seen:
            raise UsageError(f"{name}: two files of that name; ROMFS holds one folder here")
        if not name.isascii():
            raise UsageError(f"{name}: ROMFS file names must be ASCII")
        seen.add(name)
    # The image starts with a header holding the payload's length, padded to
    # make the whole image even, so where the payload starts is known only
    # once it is built: try each header size, with or without a 3-byte tail
    # record that flips the payload's parity, until one is self-consistent.
    for header in range(len(ROMFS_HEADER) + 1, len(ROMFS_HEADER) + 7):
        for tail in (False, True):
            image, payload_size = _build(entries, header, tail)
            if len(image) - payload_size == header:
                return image
    raise AssertionError("no consistent ROMFS header size")


def _build(entries, header: int, tail: bool):
    """(image, payload size), each model's bytes at an aligned image offset
    given a header of `header` bytes. The models' data records go first,
    where their offsets are known; an unreferenced data record pads."""
    writer = VfsRomWriter()
    end = 0
    data_of = {}
    for name, data in entries:
        if not name.endswith(".tinyml"):
            continue
        record = 1 + _varint_size(len(data))  # kind, length, then the bytes
        for pad in (None, 0, 1, 2, 3):
            pad_record = 0 if pad is None else 1 + _varint_size(pad) + pad
            if (header + end + pad_record + record) % MODEL_ALIGN == 0:
                break
        if pad is not None:
            end = writer.mkdata(bytes(pad)) + pad
        offset = writer.mkdata(data)
        end = offset + len(data)
        if (header + offset) % MODEL_ALIGN:
            raise AssertionError(f"{name} would be unaligned in the ROMFS image")
        data_of[name] = (len(data), offset)  # a data pointer: size, then offset
    for name, data in entries:
        writer.mkfile(name, data_of.get(name, data))
    if tail:
        writer.mkdata(bytes(1))
    image = writer.finalise()
    return image, _payload_size(image)


def _payload_size(image: bytes) -> int:
    """The length the image's header declares (a varint after the 3 magic bytes)."""
    value, i = 0, len(ROMFS_HEADER)
    while True:
        byte = image[i]
        value = (value << 7) | (byte & 0x7F)
        i += 1
        if not byte & 0x80:
            return value
