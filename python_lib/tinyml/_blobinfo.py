"""Read the layer list of a .tinyml blob for Model.summary().

The C loader has already checked every count and offset of the blob, so
this reads it without further checks. Layout: usermod_c/tml_blob.h."""

import struct

from _tinyml import build_info

_HEADER = "<IHHIIIHHBBHIIIIIIIII"
_TENSOR = "<I4ifiBBH"
_TENSOR_SIZE = 32
_DTYPE_SIZE = {1: 1, 2: 2, 3: 4}


def ops(blob):
    """[(op name, output shape, output bytes)] in execution order."""
    h = struct.unpack_from(_HEADER, blob, 0)
    tensors_offset, ops_offset, op_count = h[11], h[13], h[7]
    names = build_info()["ops"]
    rows = []
    pos = ops_offset
    for _ in range(op_count):
        opcode, n_in, n_out, _r, size, _p = struct.unpack_from("<BBBBHH", blob, pos)
        out_index = struct.unpack_from("<H", blob, pos + 8 + 2 * n_in)[0]
        t = struct.unpack_from(_TENSOR, blob, tensors_offset + out_index * _TENSOR_SIZE)
        rank = t[8]
        shape = t[1:5][4 - rank:]
        shape = shape[1:] if len(shape) > 1 else shape
        n = _DTYPE_SIZE.get(t[7], 1)
        for d in shape:
            n *= d
        name = names[opcode - 1] if 0 < opcode <= len(names) else "op%d" % opcode
        rows.append((name, shape, n))
        pos += size
    return rows
