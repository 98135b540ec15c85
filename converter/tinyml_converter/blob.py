"""Writing and reading .tinyml blobs (format v1, usermod_c/tml_blob.h).

Section order in a written blob (each start 4-byte aligned, data 8-byte):
header (64 B) | tensor table | io indices | op records | constant data | metadata
The CRC-32 (zlib) covers bytes [16, total_size).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import blob_layout as L
from .errors import BlobError, ConversionError
from .lowering import Const, Graph

META_NAMES = {
    L.META_NAME: "name", L.META_LABELS: "labels", L.META_NORMALIZE: "normalize",
    L.META_CONVERTER: "converter", L.META_SOURCE_SHA256: "source_sha256",
    L.META_EMBEDDING: "embedding",
}
CONST_ALIGN = 4
# Params fields that are data-section offsets, per op (MEAN's multiplier is a value).
DATA_FIELDS = {
    "CONV_2D": ("weights", "bias", "multiplier", "shift"),
    "DEPTHWISE_CONV_2D": ("weights", "bias", "multiplier", "shift"),
    "FULLY_CONNECTED": ("weights", "bias", "multiplier", "shift"),
    "FULLY_CONNECTED_W16": ("weights", "bias", "multiplier", "shift"),
    "FULLY_CONNECTED_PAIRS": ("weights", "bias", "multiplier", "shift"),
    "CONV_2D_S16": ("weights", "bias", "multiplier", "shift"),
    "DEPTHWISE_CONV_2D_S16": ("weights", "bias", "multiplier", "shift"),
    "FULLY_CONNECTED_S16": ("weights", "bias", "scale"),
    "SOFTMAX_S16": ("exp_lut", "one_over_one_plus_x_lut"),
    "TRANSPOSE_CONV_S16": ("weights", "bias", "multiplier", "shift"),
    "LUT": ("table",),
    "LUT_S16": ("table",),
    "REMAP": ("table",),
    "TRANSPOSE_CONV": ("weights", "bias", "multiplier", "shift"),
    "SUM": ("table",),
    "TREE_ENSEMBLE": ("nodes", "roots", "leaves", "base", "post_params"),
    "LINEAR": ("weights", "bias"),
    "GAUSSIAN_NB": ("theta", "var", "bias"),
    "KNN": ("points", "targets", "scale"),
    "SVM_RBF": ("support", "coef", "intercept", "starts", "gamma", "scale"),
}


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


class DataSection:
    """Constant arrays, each CONST_ALIGN-aligned, identical arrays stored once."""

    def __init__(self):
        self.buf = bytearray()
        self.index = {}

    def add(self, data: bytes, align: int = CONST_ALIGN) -> int:
        off = self.index.get(data)
        if off is None or off % align:
            _pad(self.buf, align)
            off = len(self.buf)
            self.buf.extend(data)
            self.index[bytes(data)] = off
        return off


def _meta_records(name=None, labels=None, normalize=None, converter=None, source_sha256=None,
                  embedding=None):
    recs = []
    if name:
        recs.append((L.META_NAME, name.encode("utf-8")))
    if labels:
        for lab in labels:
            if "\n" in lab:
                raise ValueError(f"label {lab!r} contains a newline")
        recs.append((L.META_LABELS, "\n".join(labels).encode("utf-8")))
    if normalize is not None:
        mean, std = normalize
        mean = np.asarray(mean, dtype="<f4").reshape(-1)
        std = np.asarray(std, dtype="<f4").reshape(-1)
        if mean.shape != std.shape:
            raise ValueError("normalize: mean and std must have the same length")
        recs.append((L.META_NORMALIZE, mean.tobytes() + std.tobytes()))
    if converter:
        recs.append((L.META_CONVERTER, converter.encode("utf-8")))
    if source_sha256:
        digest = bytes.fromhex(source_sha256) if isinstance(source_sha256, str) else source_sha256
        if len(digest) != 32:
            raise ValueError("source_sha256 must be 32 bytes")
        recs.append((L.META_SOURCE_SHA256, digest))
    if embedding is not None:
        recs.append((L.META_EMBEDDING, struct.pack("<H", embedding)))
    out = bytearray()
    for typ, payload in recs:
        if len(payload) > 0xFFFF:
            raise ValueError(f"metadata record {META_NAMES[typ]} is longer than 65535 bytes")
        out += L.META_HEADER.pack(typ, len(payload)) + payload
        _pad(out, 4)
    return bytes(out)


def write_blob(graph: Graph, order: list, tensor_offsets: list, arena_size: int, scratch=None,
               **meta) -> bytes:
    """Pack a lowered graph. tensor_offsets[i] is the arena offset of
    non-constant tensor i (ignored for constants); scratch maps an op index
    to its scratch (arena offset, size)."""
    scratch = scratch or {}
    data = DataSection()
    ops_buf = bytearray()
    for k in order:
        op = graph.ops[k]
        fields = {}
        for key, value in op.params.items():
            fields[key] = data.add(value.data, value.align) if isinstance(value, Const) else value
        params = L.pack_params(op.opname, **fields)
        idx = struct.pack(f"<{len(op.inputs) + len(op.outputs)}H", *op.inputs, *op.outputs)
        idx += b"\0" * (-len(idx) % 4)
        size = L.OP_HEADER.size + len(idx) + len(params)
        if size > 0xFFFF or len(op.inputs) > 255:
            raise ValueError(f"op {op.opname} record too large")
        scratch_offset, scratch_size = scratch.get(k, (0, 0))
        ops_buf += L.OP_HEADER.pack(L.OPCODES[op.opname], len(op.inputs), len(op.outputs), 0,
                                    size, len(params), scratch_offset, scratch_size)
        ops_buf += idx + params
    tensors_buf = bytearray()
    for i, t in enumerate(graph.tensors):
        flags = 0
        if t.data is not None:
            offset = data.add(t.data)
            flags |= L.TENSOR_CONST
        else:
            offset = tensor_offsets[i]
            if t.state:
                flags |= L.TENSOR_STATE | (L.TENSOR_RESET if t.state == 2 else 0)
            if t.placement == "external":
                # The offset of an input read in place names the input whose
                # buffer it is (itself, or the input a reshape aliases).
                flags |= L.TENSOR_EXTERNAL
                root = i
                while graph.tensors[root].alias_of is not None:
                    root = graph.tensors[root].alias_of
                offset = graph.inputs.index(root)
            elif t.placement == "band":
                flags |= L.TENSOR_BAND
        d = t.dims4
        tensors_buf += L.TENSOR.pack(offset, *d, float(t.scale), int(t.zero_point), t.dtype,
                                     len(t.shape), flags)
    if len(graph.tensors) > 0xFFFF or len(order) > 0xFFFF:
        raise ValueError("too many tensors or ops for the .tinyml format")
    io = struct.pack(f"<{len(graph.inputs) + len(graph.outputs)}H", *graph.inputs, *graph.outputs)
    meta_buf = _meta_records(**meta)

    out = bytearray(L.HEADER.size)
    tensors_offset = len(out)
    out += tensors_buf
    _pad(out, 4)
    io_offset = len(out)
    out += io
    _pad(out, 4)
    ops_offset = len(out)
    out += ops_buf
    _pad(out, L.DATA_ALIGN)
    data_offset = len(out)
    out += data.buf
    _pad(out, 4)
    meta_offset = len(out)
    out += meta_buf
    header = dict(
        magic=L.MAGIC, version=L.VERSION, header_size=L.HEADER.size, total_size=len(out), crc32=0,
        arena_size=arena_size, tensor_count=len(graph.tensors), op_count=len(order),
        input_count=len(graph.inputs), output_count=len(graph.outputs), flags=0,
        tensors_offset=tensors_offset, io_offset=io_offset, ops_offset=ops_offset,
        ops_size=len(ops_buf), data_offset=data_offset, data_size=len(data.buf),
        meta_offset=meta_offset, meta_size=len(meta_buf), reserved=0)
    out[:L.HEADER.size] = L.HEADER.pack(*(header[f] for f in L.HEADER_FIELDS))
    crc = zlib.crc32(bytes(out[L.CRC_START:])) & 0xFFFFFFFF
    struct.pack_into("<I", out, 12, crc)
    return bytes(out)


# ---------------------------------------------------------------------------
# reading

@dataclass
class BlobInfo:
    header: dict
    tensors: list
    inputs: list
    outputs: list
    ops: list
    meta: dict
    data: bytes = field(repr=False)

    def const(self, offset: int, nbytes: int) -> bytes:
        return self.data[offset:offset + nbytes]

    def tensor_bytes(self, i: int) -> int:
        t = self.tensors[i]
        return int(np.prod(t["dims"])) * L.DTYPE_SIZE[t["dtype"]]

    def to_dict(self) -> dict:
        return dict(header=self.header, tensors=self.tensors, inputs=self.inputs,
                    outputs=self.outputs, ops=self.ops, meta=self.meta)


def _need(cond, msg):
    if not cond:
        raise BlobError(msg)


def _size_bands(tensors, ops, arena_size) -> None:
    """A band's arena bytes, from its stage's schedule (tiling.walk(), the
    loader's own rule)."""
    from . import tiling

    for k, op in enumerate(ops):
        if op["name"] != "STAGE":
            continue
        n = op["params"]["member_count"]
        _need(2 <= n <= L.STAGE_MAX_MEMBERS and k + n < len(ops), f"op {k} (STAGE): bad member count {n}")
        members = ops[k + 1:k + 1 + n]
        _need(all(m["name"] in tiling.TILEABLE and m["inputs"] and m["outputs"] for m in members),
              f"op {k} (STAGE): a member that cannot be tiled")
        chain = [members[0]["inputs"][0]] + [m["outputs"][0] for m in members]
        windows = [tiling.window(m["name"], m["params"]) for m in members]
        try:
            heights = tiling.walk([tensors[t]["dims"][1] for t in chain], windows, op["params"]["band_rows"]).heights
        except ConversionError as exc:
            raise BlobError(f"op {k} (STAGE): {exc}") from None
        for j, t in enumerate(chain[1:-1], start=1):
            d = tensors[t]["dims"]
            tensors[t]["arena_bytes"] = heights[j] * d[2] * d[3] * L.DTYPE_SIZE[tensors[t]["dtype"]]
            _need(tensors[t]["offset"] + tensors[t]["arena_bytes"] <= arena_size, f"tensor {t}: band outside the arena")
        for m in members:
            m["stage"] = k


def read_blob(blob: bytes, verify_crc: bool = True) -> BlobInfo:
    """Parse and check a blob; raise BlobError on anything malformed."""
    blob = bytes(blob)
    _need(len(blob) >= L.HEADER.size, f"blob too short ({len(blob)} bytes) for a header")
    h = dict(zip(L.HEADER_FIELDS, L.HEADER.unpack_from(blob, 0)))
    _need(h["magic"] == L.MAGIC, "bad magic: not a .tinyml blob")
    _need(h["version"] <= L.VERSION,
          f"blob format version {h['version']} is newer than this converter supports "
          f"({L.VERSION}); upgrade tinyml_converter")
    _need(h["version"] >= L.VERSION,
          f"blob format version {h['version']} is older than this converter reads ({L.VERSION}); "
          "re-convert the model")
    _need(h["header_size"] == L.HEADER.size, f"header_size {h['header_size']} != {L.HEADER.size}")
    _need(h["total_size"] == len(blob),
          f"total_size {h['total_size']} but the blob has {len(blob)} bytes (truncated?)")
    if verify_crc:
        crc = zlib.crc32(blob[L.CRC_START:]) & 0xFFFFFFFF
        _need(crc == h["crc32"], f"CRC mismatch (stored {h['crc32']:08x}, computed {crc:08x})")

    def section(off, size, what, align=4):
        _need(off % align == 0, f"{what} offset {off} not {align}-byte aligned")
        _need(off >= L.HEADER.size and off + size <= len(blob), f"{what} out of bounds")
        return blob[off:off + size]

    tensors_raw = section(h["tensors_offset"], h["tensor_count"] * L.TENSOR.size, "tensor table")
    io_raw = section(h["io_offset"], 2 * (h["input_count"] + h["output_count"]), "io table")
    ops_raw = section(h["ops_offset"], h["ops_size"], "op records")
    data = section(h["data_offset"], h["data_size"], "data section", L.DATA_ALIGN)
    meta_raw = section(h["meta_offset"], h["meta_size"], "metadata") if h["meta_size"] else b""

    tensors = []
    for i in range(h["tensor_count"]):
        f = dict(zip(L.TENSOR_FIELDS, L.TENSOR.unpack_from(tensors_raw, i * L.TENSOR.size)))
        dims = [f["d0"], f["d1"], f["d2"], f["d3"]]
        _need(all(d >= 1 for d in dims), f"tensor {i}: bad dims {dims}")
        _need(f["dtype"] in L.DTYPE_SIZE, f"tensor {i}: bad dtype {f['dtype']}")
        _need(1 <= f["rank"] <= 4, f"tensor {i}: bad rank {f['rank']}")
        const = bool(f["flags"] & L.TENSOR_CONST)
        nbytes = int(np.prod(dims)) * L.DTYPE_SIZE[f["dtype"]]
        placement = ("external" if f["flags"] & L.TENSOR_EXTERNAL else
                     "band" if f["flags"] & L.TENSOR_BAND else "")
        if const:
            _need(f["offset"] + nbytes <= len(data), f"tensor {i}: constant data out of bounds")
        elif not placement:
            _need(f["offset"] + nbytes <= h["arena_size"], f"tensor {i}: outside the arena")
        tensors.append(dict(index=i, offset=f["offset"], dims=dims, shape=dims[4 - f["rank"]:],
                            scale=f["scale"], zero_point=f["zero_point"], dtype=f["dtype"],
                            rank=f["rank"], const=const, nbytes=nbytes, placement=placement,
                            arena_bytes=0 if const or placement == "external" else nbytes,
                            state=bool(f["flags"] & L.TENSOR_STATE),
                            reset_each_invoke=bool(f["flags"] & L.TENSOR_RESET)))
    io = list(struct.unpack_from(f"<{h['input_count'] + h['output_count']}H", io_raw))
    _need(all(i < h["tensor_count"] for i in io), "io table names a missing tensor")
    inputs, outputs = io[:h["input_count"]], io[h["input_count"]:]

    ops = []
    pos = 0
    for k in range(h["op_count"]):
        _need(pos + L.OP_HEADER.size <= len(ops_raw), f"op {k}: record header out of bounds")
        opcode, nin, nout, _, size, psize, scratch_offset, scratch_size = L.OP_HEADER.unpack_from(ops_raw, pos)
        _need(opcode in L.OPCODE_NAMES, f"op {k}: unknown opcode {opcode}")
        name = L.OPCODE_NAMES[opcode]
        st, fields = L.PARAMS[name]
        _need(psize == st.size, f"op {k} ({name}): params_size {psize} != {st.size}")
        idx_bytes = (2 * (nin + nout) + 3) // 4 * 4
        _need(size == L.OP_HEADER.size + idx_bytes + psize and size % 4 == 0
              and pos + size <= len(ops_raw), f"op {k} ({name}): bad record size {size}")
        idx = struct.unpack_from(f"<{nin + nout}H", ops_raw, pos + L.OP_HEADER.size)
        _need(all(i < h["tensor_count"] for i in idx), f"op {k} ({name}): bad tensor index")
        values = st.unpack_from(ops_raw, pos + L.OP_HEADER.size + idx_bytes)
        for key, v in zip(fields, values):
            if key in DATA_FIELDS.get(name, ()) and v != L.NONE:
                _need(v % 4 == 0 and v < len(data), f"op {k} ({name}): {key} offset {v} out of bounds")
        if scratch_size:
            _need(scratch_offset % 8 == 0 and scratch_offset + scratch_size <= h["arena_size"],
                  f"op {k} ({name}): scratch outside the arena")
        ops.append(dict(index=k, opcode=opcode, name=name, inputs=list(idx[:nin]),
                        outputs=list(idx[nin:]), params=dict(zip(fields, values)),
                        scratch=(scratch_offset, scratch_size) if scratch_size else None))
        pos += size
    _need(pos == len(ops_raw), "op records do not fill ops_size")
    _size_bands(tensors, ops, h["arena_size"])

    meta = {}
    pos = 0
    while pos < len(meta_raw):
        _need(pos + L.META_HEADER.size <= len(meta_raw), "metadata record header out of bounds")
        typ, length = L.META_HEADER.unpack_from(meta_raw, pos)
        start = pos + L.META_HEADER.size
        _need(start + length <= len(meta_raw), "metadata record out of bounds")
        payload = meta_raw[start:start + length]
        if typ == L.META_NAME:
            meta["name"] = payload.decode("utf-8", "replace")
        elif typ == L.META_LABELS:
            meta["labels"] = payload.decode("utf-8", "replace").split("\n")
        elif typ == L.META_NORMALIZE:
            v = np.frombuffer(payload, dtype="<f4")
            n = len(v) // 2
            meta["normalize"] = {"mean": v[:n].tolist(), "std": v[n:].tolist()}
        elif typ == L.META_CONVERTER:
            meta["converter"] = payload.decode("utf-8", "replace")
        elif typ == L.META_SOURCE_SHA256:
            meta["source_sha256"] = payload.hex()
        elif typ == L.META_EMBEDDING and length == 2:
            meta["embedding"] = struct.unpack("<H", payload)[0]
        else:
            meta.setdefault("unknown", []).append({"type": typ, "length": length})
        pos = start + length + (-(start + length) % 4)
    return BlobInfo(h, tensors, inputs, outputs, ops, meta, data)
