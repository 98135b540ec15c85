"""UF2 files: what a board's UF2 boot drive (the RP2040's RPI-RP2) takes.

A UF2 file is a sequence of 512-byte blocks, each standing alone: it names
the flash address its payload goes to, so blocks for several regions (the
firmware, a ROMFS image, a filesystem image) can share one file. A block,
all fields little-endian 32-bit words:

    0    magic 0x0A324655 ("UF2\\n")
    4    magic 0x9E5D5157
    8    flags (0x2000: the word at 28 is a family ID)
    12   target address
    16   payload size (at most 476)
    20   block number, from 0
    24   number of blocks in the file
    28   family ID (or the file size, without flag 0x2000)
    32   payload, then zeros up to 508
    508  magic 0x0AB16F30

The RP2040 boot ROM takes blocks of 256 bytes at 256-byte aligned addresses
carrying its family ID, and counts a file's blocks by their numbers: a file
made of two UF2 files must number its blocks afresh (combine()).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import UsageError

BLOCK_SIZE = 512
MAGIC_START0 = 0x0A324655
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_NOT_MAIN_FLASH = 0x00000001
FLAG_FAMILY_ID = 0x00002000
MAX_PAYLOAD = 476
RP2040_FAMILY = 0xE48BFF56
# What the RP2040 boot ROM writes per block (one flash page).
PAYLOAD = 256

_HEADER = struct.Struct("<8I")
_END = struct.Struct("<I")


class UF2Error(UsageError):
    """A file that is not a well-formed UF2 file, or blocks that cannot share one."""


@dataclass(frozen=True)
class Block:
    address: int
    payload: bytes
    flags: int = FLAG_FAMILY_ID
    family: int = RP2040_FAMILY
    number: int = 0
    count: int = 1


def read_blocks(data: bytes, name: str = "UF2 data") -> list:
    """The blocks of a UF2 file, in file order; UF2Error saying which block
    and why when the file is not one."""
    if not data or len(data) % BLOCK_SIZE:
        raise UF2Error(f"{name}: {len(data)} bytes is not a whole number of {BLOCK_SIZE}-byte UF2 blocks")
    blocks = []
    for offset in range(0, len(data), BLOCK_SIZE):
        raw = data[offset:offset + BLOCK_SIZE]
        start0, start1, flags, address, size, number, count, family = _HEADER.unpack_from(raw)
        (end,) = _END.unpack_from(raw, BLOCK_SIZE - 4)
        where = f"{name}: block {offset // BLOCK_SIZE} (byte {offset})"
        if (start0, start1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise UF2Error(f"{where}: wrong magic numbers, not a UF2 block")
        if size > MAX_PAYLOAD:
            raise UF2Error(f"{where}: payload of {size} bytes, at most {MAX_PAYLOAD} fit in a block")
        blocks.append(Block(address, bytes(raw[32:32 + size]), flags,
                            family if flags & FLAG_FAMILY_ID else 0, number, count))
    return blocks


def write_blocks(blocks) -> bytes:
    """A UF2 file of `blocks`, numbered 0..n-1 in the order given."""
    blocks = list(blocks)
    out = bytearray()
    for number, b in enumerate(blocks):
        if len(b.payload) > MAX_PAYLOAD:
            raise UF2Error(f"block at {b.address:#x}: payload of {len(b.payload)} bytes, at most "
                           f"{MAX_PAYLOAD} fit in a block")
        flags = b.flags | FLAG_FAMILY_ID if b.family else b.flags & ~FLAG_FAMILY_ID
        raw = bytearray(BLOCK_SIZE)
        _HEADER.pack_into(raw, 0, MAGIC_START0, MAGIC_START1, flags, b.address, len(b.payload),
                          number, len(blocks), b.family)
        raw[32:32 + len(b.payload)] = b.payload
        _END.pack_into(raw, BLOCK_SIZE - 4, MAGIC_END)
        out += raw
    return bytes(out)


def image_to_uf2(data: bytes, address: int, family: int = RP2040_FAMILY, payload: int = PAYLOAD) -> bytes:
    """A UF2 file writing `data` to flash from `address` on. The last block
    is padded with 0xFF, what erased flash reads as, to a whole payload."""
    if address % payload:
        raise UF2Error(f"address {address:#x} is not a multiple of the {payload}-byte block payload")
    if not data:
        raise UF2Error("nothing to write: the image is empty")
    blocks = []
    for offset in range(0, len(data), payload):
        chunk = data[offset:offset + payload]
        blocks.append(Block(address + offset, chunk + b"\xff" * (payload - len(chunk)), family=family))
    return write_blocks(blocks)


def extent(blocks) -> tuple:
    """(first address, end address) of the flash `blocks` write."""
    main = [b for b in blocks if not b.flags & FLAG_NOT_MAIN_FLASH]
    return min(b.address for b in main), max(b.address + len(b.payload) for b in main)


def combine(*parts, names=None) -> bytes:
    """One UF2 file holding the blocks of every UF2 file in `parts` (bytes),
    renumbered as one file. UF2Error when two parts write the same flash
    (a ROMFS image reaching into the firmware, say) or are for different
    chips; `names` label the parts in that message."""
    names = list(names) if names else [f"part {i + 1}" for i in range(len(parts))]
    blocks, spans, families = [], [], set()
    for k, (name, part) in enumerate(zip(names, parts)):
        these = read_blocks(part, name)
        blocks += these
        spans += [(b.address, k, b.address + len(b.payload)) for b in these
                  if not b.flags & FLAG_NOT_MAIN_FLASH]
        families |= {b.family for b in these}
    if len(families) > 1:
        raise UF2Error(f"{', '.join(names)}: blocks for different chips (family IDs "
                       f"{', '.join(f'{f:#010x}' for f in sorted(families))})")
    spans.sort()
    for (lo, k, hi), (lo2, k2, hi2) in zip(spans, spans[1:]):
        first, second = names[k], names[k2]
        if lo2 < hi:
            raise UF2Error(f"{first} and {second} both write flash at {lo2:#x} "
                           f"({first}: {lo:#x}..{hi:#x}, {second}: {lo2:#x}..{hi2:#x})")
    return write_blocks(blocks)
