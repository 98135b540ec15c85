"""A small, independent writer of tinyml blobs for tests: it packs records
with blob_layout's structs only, so loader and kernel tests do not depend on
the converter, and it lets a test put any value (hostile ones included) in
any field."""

import struct
import zlib

from tinyml_converter import blob_layout as bl


def align(n, a):
    return (n + a - 1) // a * a


def fix_crc(blob):
    """Recompute the CRC of a (possibly tampered) blob, from its own total_size."""
    blob = bytearray(blob)
    total = struct.unpack_from("<I", blob, 8)[0]
    struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[bl.CRC_START:total])) & 0xFFFFFFFF)
    return bytes(blob)


class BlobBuilder:
    def __init__(self):
        self.tensors = []  # dicts of tensor fields
        self.ops = []  # raw record bytes
        self.data = bytearray()
        self.inputs = []
        self.outputs = []
        self.meta = []  # (type, bytes)
        self.arena_end = 0

    def const(self, raw: bytes, alignment: int = 8) -> int:
        """Append constant bytes to the data section; returns their data offset."""
        pad = align(len(self.data), alignment) - len(self.data)
        self.data += b"\0" * pad
        off = len(self.data)
        self.data += bytes(raw)
        return off

    def tensor(self, shape, zero_point=0, scale=1.0, data: bytes | None = None, offset=None,
               dtype=bl.DTYPE_INT8, flags=None, rank=None):
        """An arena tensor (next free 8-aligned arena offset unless `offset`),
        or a constant one when `data` is given. Returns its index."""
        shape = tuple(shape)
        dims = (1,) * (bl.MAX_RANK - len(shape)) + shape
        if data is not None:
            off = self.const(data, 8) if offset is None else offset
            fl = bl.TENSOR_CONST if flags is None else flags
        else:
            if offset is None:
                offset = align(self.arena_end, 8)
            nbytes = bl.DTYPE_SIZE.get(dtype, 1)
            for d in dims:
                nbytes *= d
            self.arena_end = max(self.arena_end, offset + nbytes)
            off = offset
            fl = 0 if flags is None else flags
        self.tensors.append(dict(offset=off, d0=dims[0], d1=dims[1], d2=dims[2], d3=dims[3],
                                 scale=scale, zero_point=zero_point, dtype=dtype,
                                 rank=len(shape) if rank is None else rank, flags=fl))
        return len(self.tensors) - 1

    def op(self, opname, inputs, outputs, params: bytes | None = None, opcode=None,
           size=None, params_size=None, rec_reserved=0, scratch=None, **fields):
        """Append an op record; params packed from **fields unless given raw.
        scratch: (arena offset, size); by default what the converter would
        reserve for the op, at the end of the arena."""
        if params is None:
            params = bl.pack_params(opname, **fields)
        if scratch is None:
            scratch = self._scratch(opname, inputs, outputs, fields)
        idx = list(inputs) + list(outputs)
        index_bytes = struct.pack(f"<{len(idx)}H", *idx)
        index_bytes += b"\0" * (align(len(index_bytes), 4) - len(index_bytes))
        body = index_bytes + params
        rec_size = bl.OP_HEADER.size + len(body)
        hdr = bl.OP_HEADER.pack(bl.OPCODES[opname] if opcode is None else opcode,
                                len(inputs), len(outputs), rec_reserved,
                                rec_size if size is None else size,
                                len(params) if params_size is None else params_size, *scratch)
        self.ops.append(hdr + body)
        return len(self.ops) - 1

    def _scratch(self, opname, inputs, outputs, fields):
        from tinyml_converter.scratch import SCRATCH_OPS, reserve

        if opname not in SCRATCH_OPS or not inputs or not outputs or not fields:
            return (0, 0)
        dims = [[self.tensors[t][f"d{k}"] for k in range(4)] for t in (inputs[0], outputs[0])]
        need = reserve(opname, fields, *dims)
        if need == 0:
            return (0, 0)
        offset = align(self.arena_end, 8)
        self.arena_end = offset + need
        return (offset, need)

    def build(self, arena_size=None, crc=True, **overrides) -> bytes:
        """Lay out header | tensors | io | ops | data (8-aligned) | meta."""
        tensors = b"".join(bl.TENSOR.pack(*(t[f] for f in bl.TENSOR_FIELDS)) for t in self.tensors)
        io = struct.pack(f"<{len(self.inputs) + len(self.outputs)}H", *self.inputs, *self.outputs)
        io += b"\0" * (align(len(io), 4) - len(io))
        ops = b"".join(self.ops)
        meta = b""
        for mtype, body in self.meta:
            rec = bl.META_HEADER.pack(mtype, len(body)) + body
            meta += rec + b"\0" * (align(len(rec), 4) - len(rec))
        pos = bl.HEADER.size
        t_off = pos
        pos += len(tensors)
        io_off = pos
        pos += len(io)
        ops_off = pos
        pos += len(ops)
        data_off = align(pos, bl.DATA_ALIGN)
        pos = data_off + len(self.data)
        meta_off = align(pos, 4)
        total = meta_off + len(meta)
        h = dict(magic=bl.MAGIC, version=bl.VERSION, header_size=bl.HEADER.size, total_size=total,
                 crc32=0, arena_size=self.arena_end if arena_size is None else arena_size,
                 tensor_count=len(self.tensors), op_count=len(self.ops),
                 input_count=len(self.inputs), output_count=len(self.outputs), flags=0,
                 tensors_offset=t_off, io_offset=io_off, ops_offset=ops_off, ops_size=len(ops),
                 data_offset=data_off, data_size=len(self.data), meta_offset=meta_off,
                 meta_size=len(meta), reserved=0)
        h.update(overrides)
        blob = bytearray(total)
        blob[: bl.HEADER.size] = bl.HEADER.pack(*(h[f] for f in bl.HEADER_FIELDS))
        blob[t_off : t_off + len(tensors)] = tensors
        blob[io_off : io_off + len(io)] = io
        blob[ops_off : ops_off + len(ops)] = ops
        blob[data_off : data_off + len(self.data)] = self.data
        blob[meta_off : meta_off + len(meta)] = meta
        return fix_crc(blob) if crc else bytes(blob)
