"""The C loader/validator/executor (tml_model.c) and the data-movement
kernels (LUT, PAD, CONCATENATION, COPY) on hand-built blobs.

Expected outputs come from NumPy; expected refusals are written down per
case. Hostile blobs run through a small C driver in a subprocess (once plain,
once under AddressSanitizer/UBSan when available) so a crash or an
out-of-bounds read fails the test rather than killing pytest."""

import ctypes
import struct
import subprocess
import zlib

import numpy as np
import pytest
from blobkit import BlobBuilder, fix_crc
from conftest import BUILD, C_DIR, REPO

from tinyml_converter import blob_layout as bl
from tinyml_converter import host_runtime
from tinyml_converter.errors import CoreUnavailable, ModelRefused
from tinyml_converter.host_runtime import HostModel

STATUS = {name: i for i, name in enumerate(
    "OK TRUNCATED MAGIC VERSION CRC ALIGNMENT BAD_OFFSET BAD_SHAPE BAD_PARAM "
    "UNSUPPORTED_OP ARENA_TOO_SMALL BAD_TENSOR".split())}

Q30 = 1 << 30


def rand_i8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def i32(values):
    return np.asarray(values, dtype="<i4").tobytes()


def raises_status(blob, status, op_index=None):
    with pytest.raises(ModelRefused) as e:
        HostModel(blob)
    assert e.value.status == STATUS[status], str(e.value)
    if op_index is not None:
        assert e.value.op_index == op_index, str(e.value)
    return e.value


# ---- graphs vs NumPy ------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 3, 4, 5)])
def test_lut(shape):
    rng = np.random.default_rng(len(shape))
    table = rand_i8(rng, 256)
    b = BlobBuilder()
    x = b.tensor(shape, zero_point=3)
    t = b.const(table.tobytes())
    y = b.tensor(shape)
    b.op("LUT", [x], [y], table=t)
    b.inputs, b.outputs = [x], [y]
    m = HostModel(b.build())
    assert m.input_shapes == [shape] and m.output_shapes == [shape]
    xin = rand_i8(rng, shape)
    (out,) = m.invoke(xin)
    np.testing.assert_array_equal(out, table[xin.astype(np.int32) + 128])
    assert out.shape == shape


def test_lut_in_place():
    """Input and output share arena bytes (the planner aliases unary ops)."""
    rng = np.random.default_rng(1)
    table = rand_i8(rng, 256)
    b = BlobBuilder()
    x = b.tensor((4, 16))
    y = b.tensor((4, 16), offset=b.tensors[x]["offset"])
    b.op("LUT", [x], [y], table=b.const(table.tobytes()))
    b.inputs, b.outputs = [x], [y]
    m = HostModel(b.build())
    assert m.arena_size == 64
    xin = rand_i8(rng, (4, 16))
    (out,) = m.invoke(xin)
    np.testing.assert_array_equal(out, table[xin.astype(np.int32) + 128])


PAD_CASES = [
    ((1, 3, 3, 2), (0, 1, 1, 0), (0, 1, 1, 0), -128),
    ((1, 2, 5, 3), (0, 0, 2, 0), (0, 3, 0, 0), 7),
    ((2, 2, 2, 2), (1, 0, 0, 3), (2, 1, 0, 1), -1),
    ((1, 1, 4, 1), (0, 0, 0, 0), (0, 0, 0, 0), 0),
    ((1, 1, 1, 5), (0, 0, 0, 2), (0, 0, 0, 1), 127),
]


@pytest.mark.parametrize("shape,before,after,value", PAD_CASES)
def test_pad(shape, before, after, value):
    rng = np.random.default_rng(2)
    out_shape = tuple(s + a + c for s, a, c in zip(shape, before, after))
    b = BlobBuilder()
    x = b.tensor(shape)
    y = b.tensor(out_shape)
    b.op("PAD", [x], [y], **{f"before{i}": before[i] for i in range(4)},
         **{f"after{i}": after[i] for i in range(4)}, pad_value=value)
    b.inputs, b.outputs = [x], [y]
    xin = rand_i8(rng, shape)
    (out,) = HostModel(b.build()).invoke(xin)
    np.testing.assert_array_equal(out, np.pad(xin, list(zip(before, after)), constant_values=value))


CONCAT_CASES = [
    (3, [(1, 2, 2, 3), (1, 2, 2, 5)]),
    (3, [(1, 1, 1, 1), (1, 1, 1, 4), (1, 1, 1, 2)]),
    (2, [(1, 3, 2, 4), (1, 3, 1, 4)]),
    (1, [(1, 2, 3, 2), (1, 4, 3, 2), (1, 1, 3, 2)]),
    (0, [(2, 2, 2, 2), (1, 2, 2, 2)]),
    (3, [(1, 1, 1, 6)]),
]


@pytest.mark.parametrize("axis,shapes", CONCAT_CASES)
@pytest.mark.parametrize("const_input", [False, True])
def test_concat(axis, shapes, const_input):
    rng = np.random.default_rng(axis)
    arrays = [rand_i8(rng, s) for s in shapes]
    expected = np.concatenate(arrays, axis=axis)
    b = BlobBuilder()
    ins = []
    for k, a in enumerate(arrays):
        if const_input and k == len(arrays) - 1 and len(arrays) > 1:
            ins.append(b.tensor(a.shape, data=a.tobytes()))
        else:
            ins.append(b.tensor(a.shape))
    y = b.tensor(expected.shape)
    b.op("CONCATENATION", ins, [y], axis=axis)
    model_inputs = [t for t in ins if not b.tensors[t]["flags"] & bl.TENSOR_CONST]
    b.inputs, b.outputs = model_inputs, [y]
    (out,) = HostModel(b.build()).invoke(*arrays[: len(model_inputs)])
    np.testing.assert_array_equal(out, expected)


def test_copy_reshape():
    rng = np.random.default_rng(3)
    b = BlobBuilder()
    x = b.tensor((1, 4, 6))
    y = b.tensor((1, 24))
    b.op("COPY", [x], [y])
    b.inputs, b.outputs = [x], [y]
    xin = rand_i8(rng, (1, 4, 6))
    m = HostModel(b.build())
    assert m.output_shapes == [(1, 24)]
    (out,) = m.invoke(xin)
    np.testing.assert_array_equal(out, xin.reshape(1, 24))


def chain_blob(rng):
    """Two inputs, two outputs: LUT -> PAD -> CONCAT(with input 2) -> COPY, and the LUT output."""
    table = rand_i8(rng, 256)
    b = BlobBuilder()
    x1 = b.tensor((1, 2, 2, 3), zero_point=-5, scale=0.5)
    x2 = b.tensor((1, 4, 4, 1))
    t1 = b.tensor((1, 2, 2, 3))
    t2 = b.tensor((1, 4, 4, 3))
    t3 = b.tensor((1, 4, 4, 4))
    t4 = b.tensor((16, 4))
    b.op("LUT", [x1], [t1], table=b.const(table.tobytes()))
    b.op("PAD", [t1], [t2], before0=0, before1=1, before2=1, before3=0,
         after0=0, after1=1, after2=1, after3=0, pad_value=-3)
    b.op("CONCATENATION", [t2, x2], [t3], axis=3)
    b.op("COPY", [t3], [t4])
    b.inputs, b.outputs = [x1, x2], [t4, t1]
    b.meta = [(bl.META_NAME, b"chain"), (bl.META_LABELS, b"a\nb\nc")]
    return b.build(), table


def chain_expected(table, a, c):
    lut = table[a.astype(np.int32) + 128]
    padded = np.pad(lut, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-3)
    return np.concatenate([padded, c], axis=3).reshape(16, 4), lut


def test_chain_two_inputs_two_outputs_and_meta():
    rng = np.random.default_rng(4)
    blob, table = chain_blob(rng)
    m = HostModel(blob)
    assert m.input_shapes == [(1, 2, 2, 3), (1, 4, 4, 1)]
    assert m.output_shapes == [(16, 4), (1, 2, 2, 3)]
    assert m.input_quant[0] == (0.5, -5)
    assert m.meta(bl.META_NAME) == b"chain"
    assert m.meta(bl.META_LABELS) == b"a\nb\nc"
    assert m.meta(bl.META_NORMALIZE) is None
    for _ in range(3):  # repeated invokes reuse the arena
        a, c = rand_i8(rng, (1, 2, 2, 3)), rand_i8(rng, (1, 4, 4, 1))
        out, lut = m.invoke(a, c)
        exp_out, exp_lut = chain_expected(table, a, c)
        np.testing.assert_array_equal(out, exp_out)
        np.testing.assert_array_equal(lut, exp_lut)


def test_invoke_argument_checks():
    blob, _ = chain_blob(np.random.default_rng(5))
    m = HostModel(blob)
    with pytest.raises(ValueError, match="2 input"):
        m.invoke(np.zeros(12, np.int8))
    with pytest.raises(ValueError, match="int8"):
        m.invoke(np.zeros(12, np.float32), np.zeros(16, np.int8))
    with pytest.raises(ValueError, match="elements"):
        m.invoke(np.zeros(13, np.int8), np.zeros(16, np.int8))


# ---- status strings, CRC, arena, alignment via the raw C API -------------

def test_crc32_matches_zlib():
    lib = host_runtime.load_library()
    for data in [b"", b"a", b"123456789", bytes(range(256)) * 5]:
        assert lib.tml_crc32(data, len(data)) == zlib.crc32(data)


def test_names():
    lib = host_runtime.load_library()
    for name, code in bl.OPCODES.items():
        assert lib.tml_opcode_name(code).decode() == name
    assert lib.tml_opcode_name(0) == b"UNKNOWN"
    # The C op table has no opcode the converter does not know.
    assert lib.tml_opcode_name(max(bl.OPCODES.values()) + 1) == b"UNKNOWN"
    assert lib.tml_opcode_name(200) == b"UNKNOWN"
    strs = {lib.tml_status_str(i).decode() for i in range(len(STATUS))}
    assert len(strs) == len(STATUS)
    assert lib.tml_status_str(99) == b"unknown status"


def _raw_open(blob_bytes, misalign=0):
    """tml_model_open, then tml_model_load into exactly the state it asks for."""
    lib = host_runtime.load_library()
    buf = ctypes.create_string_buffer(len(blob_bytes) + 8)
    ctypes.memmove(ctypes.addressof(buf) + misalign, blob_bytes, len(blob_bytes))
    m = host_runtime.new_model(lib)
    st = lib.tml_model_open(m, ctypes.addressof(buf) + misalign, len(blob_bytes))
    state = None
    if st == STATUS["OK"]:
        n = lib.tml_model_state_size(m)
        state = host_runtime.words(n)
        st = lib.tml_model_load(m, state, n)
    return lib, m, (buf, state), st


def test_misaligned_blob_refused():
    blob, _ = chain_blob(np.random.default_rng(6))
    assert _raw_open(blob, 0)[3] == STATUS["OK"]
    for off in (1, 2, 3):
        lib, m, buf, st = _raw_open(blob, off)
        assert st == STATUS["ALIGNMENT"]


def test_arena_checks():
    blob, _ = chain_blob(np.random.default_rng(7))
    lib, m, buf, st = _raw_open(blob)
    assert st == 0
    need = struct.unpack_from("<I", blob, 16)[0]
    assert lib.tml_model_arena_size(m) == need
    arena = (ctypes.c_uint64 * (need // 8 + 2))()
    assert lib.tml_model_invoke(m) == STATUS["ARENA_TOO_SMALL"]  # no arena yet
    assert lib.tml_model_set_arena(m, arena, need - 1) == STATUS["ARENA_TOO_SMALL"]
    assert lib.tml_model_set_arena(m, ctypes.addressof(arena) + 4, need) == STATUS["ALIGNMENT"]
    assert lib.tml_model_set_arena(m, arena, need) == STATUS["OK"]
    assert lib.tml_model_invoke(m) == STATUS["OK"]


def test_state_checks():
    """load() needs the state open() sized, 8-byte aligned, and runs once."""
    blob, _ = chain_blob(np.random.default_rng(7))
    lib = host_runtime.load_library()
    buf = ctypes.create_string_buffer(blob, len(blob))
    m = host_runtime.new_model(lib)
    assert lib.tml_model_open(m, buf, len(blob)) == STATUS["OK"]
    n = lib.tml_model_state_size(m)
    assert n > 0 and n % 8 == 0
    state = host_runtime.words(n + 8)
    assert lib.tml_model_load(m, state, n - 1) == STATUS["ARENA_TOO_SMALL"]
    assert lib.tml_model_load(m, ctypes.addressof(state) + 4, n) == STATUS["ALIGNMENT"]
    assert lib.tml_model_set_arena(m, host_runtime.words(64), 512) == STATUS["BAD_PARAM"]  # not loaded
    assert lib.tml_model_load(m, state, n) == STATUS["OK"]
    assert lib.tml_model_load(m, state, n) == STATUS["BAD_PARAM"]  # loaded already


def test_failed_init_leaves_model_unusable():
    lib, m, buf, st = _raw_open(b"XXXX" + bytes(60))
    assert st == STATUS["MAGIC"]
    assert lib.tml_model_invoke(m) != 0
    assert lib.tml_model_state_size(m) == 0
    arena = (ctypes.c_uint64 * 4)()
    assert lib.tml_model_set_arena(m, arena, 32) != 0


# ---- header-level refusals ------------------------------------------------

def test_header_refusals():
    blob, _ = chain_blob(np.random.default_rng(8))
    raises_status(blob[:10], "TRUNCATED")
    raises_status(blob[:-1], "TRUNCATED")
    raises_status(b"TMLX" + blob[4:], "MAGIC")
    e = raises_status(fix_crc(blob[:4] + struct.pack("<H", bl.VERSION + 1) + blob[6:]), "VERSION")
    assert "newer" in str(e)
    # Format 1 (no scratch plan) is refused with what to do about it.
    e = raises_status(fix_crc(blob[:4] + struct.pack("<H", 1) + blob[6:]), "VERSION")
    assert "re-convert" in str(e)
    # A newer version is reported as such even if its header is unlike ours.
    raises_status(b"TMLB" + struct.pack("<H", 9) + b"\0" * 2, "VERSION")
    raises_status(fix_crc(blob[:4] + struct.pack("<H", 0) + blob[6:]), "VERSION")
    bad = bytearray(blob)
    bad[100] ^= 0x40
    e = raises_status(bytes(bad), "CRC")
    assert "corrupt" in str(e)
    # Extra bytes after total_size are ignored (e.g. a flash page's padding).
    HostModel(blob + b"\xff" * 13)


def hdr_patch(blob, **fields):
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob)))
    h.update(fields)
    return fix_crc(bl.HEADER.pack(*(h[f] for f in bl.HEADER_FIELDS)) + blob[bl.HEADER.size:])


def tensor_patch(blob, index, **fields):
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob)))
    off = h["tensors_offset"] + index * bl.TENSOR.size
    t = dict(zip(bl.TENSOR_FIELDS, bl.TENSOR.unpack_from(blob, off)))
    t.update(fields)
    out = bytearray(blob)
    out[off : off + bl.TENSOR.size] = bl.TENSOR.pack(*(t[f] for f in bl.TENSOR_FIELDS))
    return fix_crc(out)


HEADER_CASES = [
    ("header_size", dict(header_size=60), "BAD_OFFSET"),
    ("total_size below header", dict(total_size=32), "BAD_OFFSET"),
    ("flags", dict(flags=1), "BAD_PARAM"),
    ("reserved", dict(reserved=5), "BAD_PARAM"),
    ("huge tensor_count", dict(tensor_count=0xFFFF), "BAD_OFFSET"),
    ("tensors past end", dict(tensors_offset=0xFFFFFFF0), "BAD_OFFSET"),
    ("tensors in header", dict(tensors_offset=8), "BAD_OFFSET"),
    ("tensors misaligned", dict(tensors_offset=66), "ALIGNMENT"),
    ("io overlaps tensors", dict(io_offset=64), "BAD_OFFSET"),
    ("no inputs", dict(input_count=0), "BAD_TENSOR"),
    ("no outputs", dict(output_count=0), "BAD_TENSOR"),
    ("ops_size wraps", dict(ops_size=0xFFFFFFFF), "BAD_OFFSET"),
    ("huge op_count", dict(op_count=0xFFFF), "BAD_OFFSET"),
    ("fewer ops than records", dict(op_count=3), "BAD_OFFSET"),
    ("data misaligned", "data_offset+4", "ALIGNMENT"),
    ("data past end", dict(data_size=0x7FFFFFFF), "BAD_OFFSET"),
    ("meta past end", dict(meta_size=1 << 20), "BAD_OFFSET"),
    ("arena smaller than tensors", dict(arena_size=10), "BAD_OFFSET"),
]


@pytest.mark.parametrize("name,patch,status", HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_hostile_header(name, patch, status):
    blob, _ = chain_blob(np.random.default_rng(9))
    if patch == "data_offset+4":
        h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob)))
        patch = dict(data_offset=h["data_offset"] + 4, data_size=h["data_size"] - 8)
    raises_status(hdr_patch(blob, **patch), status)


TENSOR_CASES = [
    ("dtype unknown", dict(dtype=9), "BAD_TENSOR"),
    ("dtype 0", dict(dtype=0), "BAD_TENSOR"),
    ("rank 0", dict(rank=0), "BAD_SHAPE"),
    ("rank 5", dict(rank=5), "BAD_SHAPE"),
    ("dim 0", dict(d3=0), "BAD_SHAPE"),
    ("dim negative", dict(d2=-2), "BAD_SHAPE"),
    ("dims overflow 32 bits", dict(d0=1, d1=65536, d2=65536, d3=2, rank=4), "BAD_SHAPE"),
    ("dims overflow int32", dict(d0=1, d1=1, d2=46341, d3=46341, rank=4), "BAD_SHAPE"),
    ("not left-padded", dict(d0=2, rank=3), "BAD_SHAPE"),
    ("arena offset past arena", dict(offset=0xFFFFFFF8), "BAD_OFFSET"),
    ("const past data", dict(flags=bl.TENSOR_CONST, offset=1 << 20), "BAD_OFFSET"),
    ("unknown flag", dict(flags=4), "BAD_TENSOR"),
    ("zero point out of int8", dict(zero_point=300), "BAD_TENSOR"),
    ("int32 misaligned", dict(dtype=bl.DTYPE_INT32, offset=2), "ALIGNMENT"),
]


@pytest.mark.parametrize("name,patch,status", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_hostile_tensor(name, patch, status):
    blob, _ = chain_blob(np.random.default_rng(10))
    raises_status(tensor_patch(blob, 2, **patch), status)


def test_io_refusals():
    blob, _ = chain_blob(np.random.default_rng(11))
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob)))
    bad = bytearray(blob)
    struct.pack_into("<H", bad, h["io_offset"], 77)
    raises_status(fix_crc(bad), "BAD_TENSOR")
    # A model input must be a writable arena tensor of int8.
    raises_status(tensor_patch(blob, 0, dtype=bl.DTYPE_INT16), "BAD_TENSOR")


# ---- per-op refusals ------------------------------------------------------

def conv_blob(depthwise=False, **over):
    """input [1,5,5,2] -> 3x3 SAME conv (4 channels, per-channel) or depthwise x2."""
    b = BlobBuilder()
    x = b.tensor((1, 5, 5, 2), zero_point=-3)
    y = b.tensor((1, 5, 5, 4), zero_point=2)
    w = b.const(bytes(range(3 * 3 * 4 * (1 if depthwise else 2))))
    fields = dict(kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                  pad_top=1, pad_left=1, depth_multiplier=2 if depthwise else 1, channel_quant=4,
                  act_min=-128, act_max=127, weights=w, bias=b.const(i32([1, -2, 3, 4]), 4),
                  multiplier=b.const(i32([Q30] * 4), 4), shift=b.const(i32([-7] * 4), 4))
    fields.update(over)
    b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x], [y], **fields)
    b.inputs, b.outputs = [x], [y]
    return b


def _conv_with_scratch(scratch, arena_size=None):
    """conv_blob's op with its scratch record set by hand."""
    b = BlobBuilder()
    x = b.tensor((1, 5, 5, 2), zero_point=-3)
    y = b.tensor((1, 5, 5, 4), zero_point=2)
    fields = dict(kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                  pad_top=1, pad_left=1, depth_multiplier=1, channel_quant=1,
                  act_min=-128, act_max=127, weights=b.const(bytes(3 * 3 * 2 * 4)), bias=bl.NONE,
                  multiplier=b.const(i32([Q30]), 4), shift=b.const(i32([-7]), 4))
    b.op("CONV_2D", [x], [y], scratch=scratch, **fields)
    b.inputs, b.outputs = [x], [y]
    return b.build(arena_size=arena_size)


def test_scratch_records():
    """The converter's reservation (scratch.py) loads; less than this build's
    kernel needs, outside the arena, misaligned or over one of the op's own
    tensors is refused with a reason."""
    from tinyml_converter.scratch import scratch_bytes

    need = scratch_bytes("CONV_2D", dict(kernel_h=3, kernel_w=3), (1, 5, 5, 2))
    end = 256  # past both tensors (50 and 100 bytes, 8-aligned)
    m = HostModel(_conv_with_scratch((end, need), end + need))
    (out,) = m.invoke(np.ones((1, 5, 5, 2), np.int8))
    assert out.shape == (1, 5, 5, 4)
    e = raises_status(_conv_with_scratch((end, 8), end + need), "BAD_PARAM", op_index=0)
    assert "re-convert" in e.detail
    e = raises_status(_conv_with_scratch((0, 0), end + need), "BAD_PARAM", op_index=0)
    raises_status(_conv_with_scratch((end, need), end + need - 8), "BAD_OFFSET", op_index=0)
    raises_status(_conv_with_scratch((end + 4, need), end + need + 8), "BAD_OFFSET", op_index=0)
    e = raises_status(_conv_with_scratch((56, need), 56 + need), "BAD_OFFSET", op_index=0)
    assert "overlaps" in e.detail


def test_add_tables_are_optional():
    """ADD's tables (scratch.optional()) change no output: a record with
    them, one reserving too little for them (run without, not refused, as
    blobs of converters before them do) and one with none give the same
    bytes, TFLite's arithmetic; tables over one of its tensors are
    refused."""
    from tinyml_converter.scratch import ADD_TABLES

    def blob(scratch, arena_size=None):
        b = single_op_blob("ADD", [(1, 4, 4, 3)] * 2, (1, 4, 4, 3), scratch=scratch, **ADD)
        return b.build(arena_size=arena_size)

    end = 256  # past the three 48-byte tensors
    x = np.arange(-24, 24, dtype=np.int8).reshape(1, 4, 4, 3)
    y = np.arange(48, dtype=np.int8)[::-1].reshape(1, 4, 4, 3) - 20
    outs = [HostModel(blob(*args)).invoke(x, y)[0].tobytes()
            for args in (((end, ADD_TABLES), end + ADD_TABLES), ((end, 8), end + 8), ((0, 0),))]
    from test_kernels_elementwise import _ref_add
    want = bytes(np.array([_ref_add(int(a), int(b), 0, 0, 0, ADD) for a, b in zip(x.ravel(), y.ravel())], np.int8))
    assert outs[0] == outs[1] == outs[2] == want
    e = raises_status(blob((0, ADD_TABLES), ADD_TABLES), "BAD_OFFSET", op_index=0)
    assert "overlaps" in e.detail


def test_conv_blob_is_valid():
    for dw in (False, True):
        m = HostModel(conv_blob(dw).build())
        (out,) = m.invoke(np.zeros((1, 5, 5, 2), np.int8))
        assert out.shape == (1, 5, 5, 4)


CONV_CASES = [
    ("weights outside data", dict(weights=1 << 16), "BAD_OFFSET"),
    ("weights TML_NONE", dict(weights=bl.NONE), "BAD_OFFSET"),
    ("bias misaligned", dict(bias=2), "ALIGNMENT"),
    ("multiplier outside data", dict(multiplier=0xFFFFFFFC), "BAD_OFFSET"),
    ("channel_quant 3", dict(channel_quant=3), "BAD_PARAM"),
    ("channel_quant 0", dict(channel_quant=0), "BAD_PARAM"),
    ("stride 0", dict(stride_h=0), "BAD_PARAM"),
    ("kernel 0", dict(kernel_w=0), "BAD_PARAM"),
    ("dilation 0", dict(dilation_w=0), "BAD_PARAM"),
    ("pad >= kernel", dict(pad_top=3), "BAD_PARAM"),
    ("pad negative", dict(pad_left=-1), "BAD_PARAM"),
    ("output too large for stride", dict(stride_h=2), "BAD_SHAPE"),
    ("act_min > act_max", dict(act_min=5, act_max=4), "BAD_PARAM"),
    ("act_max > 127", dict(act_max=128), "BAD_PARAM"),
    ("depth_multiplier on conv", dict(depth_multiplier=2), "BAD_PARAM"),
    ("huge kernel", dict(kernel_h=0xFFFF, kernel_w=0xFFFF, pad_top=1, pad_left=1), "BAD_PARAM"),
    ("kernel past data", dict(kernel_h=100, kernel_w=100, pad_top=1, pad_left=1), "BAD_OFFSET"),
]


@pytest.mark.parametrize("name,over,status", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_refusals(name, over, status):
    raises_status(conv_blob(**over).build(), status, op_index=0)


def test_conv_shift_and_multiplier_values_checked():
    blob = conv_blob().build()
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob)))
    # shift array is the last const (4 int32) in the data section
    shift_at = h["data_offset"] + h["data_size"] - 16
    for value, status in [(31, "BAD_PARAM"), (-32, "BAD_PARAM"), (30, None), (-31, None)]:
        bad = bytearray(blob)
        struct.pack_into("<i", bad, shift_at + 8, value)
        if status:
            raises_status(fix_crc(bad), status, op_index=0)
        else:
            HostModel(fix_crc(bad))
    bad = bytearray(blob)
    struct.pack_into("<i", bad, shift_at - 16 + 4, -5)  # a multiplier
    raises_status(fix_crc(bad), "BAD_PARAM", op_index=0)


def test_depthwise_refusals():
    raises_status(conv_blob(True, depth_multiplier=3).build(), "BAD_SHAPE", op_index=0)
    raises_status(conv_blob(True, depth_multiplier=0).build(), "BAD_SHAPE", op_index=0)


def tconv_blob(in_shape=(1, 3, 4, 2), out_shape=(1, 7, 9, 4), shifts=(-7,) * 4, **over):
    """input [1,3,4,2] -> 3x3 stride-2 TRANSPOSE_CONV to [1,7,9,4], per-channel."""
    b = BlobBuilder()
    x = b.tensor(in_shape, zero_point=-3)
    y = b.tensor(out_shape, zero_point=2)
    fields = dict(kernel_h=3, kernel_w=3, stride_h=2, stride_w=2, pad_top=0, pad_left=0,
                  channel_quant=4, reserved=0, act_min=-128, act_max=127,
                  weights=b.const((np.arange(4 * 3 * 3 * in_shape[3]) % 251).astype(np.uint8).tobytes()),
                  bias=b.const(i32([1, -2, 3, 4]), 4), multiplier=b.const(i32([Q30] * 4), 4),
                  shift=b.const(i32(shifts), 4))
    fields.update(over)
    b.op("TRANSPOSE_CONV", [x], [y], **fields)
    b.inputs, b.outputs = [x], [y]
    return b


def test_transpose_conv_blob_is_valid():
    m = HostModel(tconv_blob().build())
    (out,) = m.invoke(np.zeros((1, 3, 4, 2), np.int8))
    assert out.shape == (1, 7, 9, 4)
    # The output extent is TFLite's output_shape operand, larger than the
    # taps reach included; inputs at the zero point and no bias give the
    # output zero point everywhere.
    m = HostModel(tconv_blob(out_shape=(1, 9, 12, 4), bias=bl.NONE).build())
    (out,) = m.invoke(np.full((1, 3, 4, 2), -3, np.int8))
    assert (out == 2).all()


TCONV_CASES = [
    ("weights outside data", dict(weights=1 << 16), "BAD_OFFSET"),
    ("bias misaligned", dict(bias=2), "ALIGNMENT"),
    ("channel_quant 3", dict(channel_quant=3), "BAD_PARAM"),
    ("stride 0", dict(stride_w=0), "BAD_PARAM"),
    ("kernel 0", dict(kernel_h=0), "BAD_PARAM"),
    ("pad >= kernel", dict(pad_left=3), "BAD_PARAM"),
    ("pad negative", dict(pad_top=-1), "BAD_PARAM"),
    ("act_min > act_max", dict(act_min=5, act_max=4), "BAD_PARAM"),
    ("kernel past data", dict(kernel_h=100, kernel_w=100), "BAD_OFFSET"),
    ("shift 31", dict(shifts=(-7, 31, -7, -7)), "BAD_PARAM"),
]


@pytest.mark.parametrize("name,over,status", TCONV_CASES, ids=[c[0] for c in TCONV_CASES])
def test_transpose_conv_refusals(name, over, status):
    raises_status(tconv_blob(**over).build(), status, op_index=0)


def test_transpose_conv_accumulator_bound():
    """A 3x3 stride-1 kernel meets 9 input pixels per output value: 7282
    input channels pass 65536 products, 7281 do not."""
    raises_status(tconv_blob((1, 3, 3, 7282), (1, 5, 5, 4), stride_h=1, stride_w=1).build(),
                  "BAD_PARAM", op_index=0)
    HostModel(tconv_blob((1, 3, 3, 7281), (1, 5, 5, 4), stride_h=1, stride_w=1).build())
    # Stride 3 over a 3x3 kernel: one tap per axis meets an output value.
    HostModel(tconv_blob((1, 3, 3, 7282), (1, 9, 9, 4), stride_h=3, stride_w=3).build())
    # Depthwise weights are [kh][kw][out_c]: 36 bytes; point them 1 byte short.
    b = conv_blob(True)
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(b.build())))
    raises_status(conv_blob(True, weights=h["data_size"] - 35).build(), "BAD_OFFSET", op_index=0)


def single_op_blob(opname, in_shapes, out_shape, const_inputs=(), **fields):
    b = BlobBuilder()
    ins = []
    for k, s in enumerate(in_shapes):
        ins.append(b.tensor(s, data=bytes(int(np.prod(s)))) if k in const_inputs else b.tensor(s))
    y = b.tensor(out_shape)
    b.op(opname, ins, [y], **fields)
    b.inputs = [t for k, t in enumerate(ins) if k not in const_inputs]
    b.outputs = [y]
    return b


POOL = dict(filter_h=2, filter_w=2, stride_h=2, stride_w=2, pad_top=0, pad_left=0, act_min=-128, act_max=127)
ADD = dict(left_shift=20, input1_multiplier=Q30, input1_shift=-1, input2_multiplier=Q30, input2_shift=-1,
           output_multiplier=Q30, output_shift=-19, act_min=-128, act_max=127)
MUL = dict(output_multiplier=Q30, output_shift=-7, act_min=-128, act_max=127)
SOFTMAX = dict(input_multiplier=Q30, input_left_shift=21, diff_min=-100)
SQDIFF = dict(left_shift=7, input1_multiplier=Q30, input1_shift=-1, input2_multiplier=Q30, input2_shift=-1,
              output_multiplier=Q30, output_shift=-10)
PRELU = dict(identity_multiplier=Q30, identity_shift=1, alpha_multiplier=Q30, alpha_shift=-7)
LOG_SOFTMAX = dict(input_multiplier=Q30, input_left_shift=21, reverse_multiplier=Q30, reverse_shift=-20,
                   diff_min=-100)
PADP = dict(before0=0, before1=1, before2=1, before3=0, after0=0, after1=1, after2=1, after3=0, pad_value=0)


def op_cases():
    """(id, builder, expected status or None for valid)."""
    fc = dict(channel_quant=1, reserved=0, act_min=-128, act_max=127)

    def fc_blob(in_shape=(1, 8), out_shape=(1, 3), wbytes=24, **over):
        b = BlobBuilder()
        x = b.tensor(in_shape)
        y = b.tensor(out_shape)
        f = dict(fc, bias=b.const(i32([0, 0, 0]), 4), multiplier=b.const(i32([Q30]), 4),
                 shift=b.const(i32([-3]), 4))
        f["weights"] = b.const(bytes(wbytes), 1)  # last, so a short array ends the section
        f.update(over)
        b.op("FULLY_CONNECTED", [x], [y], **f)
        b.inputs, b.outputs = [x], [y]
        return b

    yield "fc ok", fc_blob(), None
    yield "fc batched ok", fc_blob((2, 8), (2, 3)), None
    yield "fc weights short", fc_blob(wbytes=23), "BAD_OFFSET"
    yield "fc batch not dividing", fc_blob((1, 7), (2, 3)), "BAD_SHAPE"
    yield "fc 65537 features", fc_blob((1, 65537), (1, 1)), "BAD_PARAM"
    yield "fc channel_quant 2", fc_blob(channel_quant=2), "BAD_PARAM"
    yield "fc bias none ok", fc_blob(bias=bl.NONE), None
    yield "avgpool ok", single_op_blob("AVERAGE_POOL_2D", [(1, 4, 4, 3)], (1, 2, 2, 3), **POOL), None
    yield "maxpool channels", single_op_blob("MAX_POOL_2D", [(1, 4, 4, 3)], (1, 2, 2, 2), **POOL), "BAD_SHAPE"
    yield "avgpool window in padding", single_op_blob(
        "AVERAGE_POOL_2D", [(1, 4, 4, 3)], (1, 2, 2, 3), **dict(POOL, pad_top=2)), "BAD_PARAM"
    yield "avgpool output too big", single_op_blob(
        "AVERAGE_POOL_2D", [(1, 4, 4, 3)], (1, 3, 2, 3), **POOL), "BAD_SHAPE"
    yield "mean ok", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 3), axis_mask=6, mode=1,
                                    multiplier=Q30, shift=-4), None
    yield "mean keepdims ok", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 1, 1, 3), axis_mask=6, mode=1,
                                             multiplier=Q30, shift=0), None
    yield "mean 2^24 values", single_op_blob("MEAN", [(1, 4096, 4097, 1)], (1, 1), axis_mask=6, mode=1,
                                             multiplier=Q30, shift=-4), "BAD_PARAM"
    yield "mean axis 4", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 3), axis_mask=0x16, mode=1,
                                        multiplier=Q30, shift=-4), "BAD_PARAM"
    yield "mean wrong output", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 4), axis_mask=6, mode=1,
                                              multiplier=Q30, shift=-4), "BAD_SHAPE"
    yield "mean mode 0 reserved", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 3), axis_mask=6, mode=0,
                                                 multiplier=Q30, shift=-4), "BAD_PARAM"
    yield "mean mode 2", single_op_blob("MEAN", [(1, 4, 4, 3)], (1, 3), axis_mask=6, mode=2,
                                        multiplier=Q30, shift=-4), "BAD_PARAM"
    yield "add ok broadcast", single_op_blob("ADD", [(1, 2, 2, 3), (1, 1, 1, 3)], (1, 2, 2, 3), **ADD), None
    yield "add const operand ok", single_op_blob("ADD", [(1, 2, 2, 3), (3,)], (1, 2, 2, 3),
                                                 const_inputs=(1,), **ADD), None
    yield "add bad broadcast", single_op_blob("ADD", [(1, 2, 2, 3), (1, 1, 1, 2)], (1, 2, 2, 3), **ADD), "BAD_SHAPE"
    yield "add left_shift 21", single_op_blob("ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3),
                                              **dict(ADD, left_shift=21)), "BAD_PARAM"
    yield "add input shift > 0", single_op_blob("ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3),
                                                **dict(ADD, input2_shift=1)), "BAD_PARAM"
    yield "sub (negative input2 multiplier) ok", single_op_blob(
        "ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3), **dict(ADD, input2_multiplier=-ADD["input2_multiplier"])), None
    yield "sub multiplier INT32_MIN", single_op_blob("ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3),
                                                     **dict(ADD, input2_multiplier=-(1 << 31))), "BAD_PARAM"
    yield "add negative input1 multiplier", single_op_blob(
        "ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3), **dict(ADD, input1_multiplier=-ADD["input1_multiplier"])), "BAD_PARAM"
    yield "add shift 31", single_op_blob("ADD", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3),
                                         **dict(ADD, output_shift=31)), "BAD_PARAM"
    yield "add one input", single_op_blob("ADD", [(1, 2, 2, 3)], (1, 2, 2, 3), **ADD), "BAD_PARAM"
    yield "mul ok", single_op_blob("MUL", [(1, 2, 2, 3), (1, 2, 1, 1)], (1, 2, 2, 3), **MUL), None
    yield "mul negative multiplier", single_op_blob("MUL", [(1, 2, 2, 3)] * 2, (1, 2, 2, 3),
                                                    **dict(MUL, output_multiplier=-1)), "BAD_PARAM"
    yield "softmax ok", single_op_blob("SOFTMAX", [(2, 5)], (2, 5), **SOFTMAX), None
    yield "softmax dims", single_op_blob("SOFTMAX", [(2, 5)], (5, 2), **SOFTMAX), "BAD_SHAPE"
    yield "softmax depth 4097", single_op_blob("SOFTMAX", [(1, 4097)], (1, 4097), **SOFTMAX), "BAD_PARAM"
    yield "softmax positive diff_min", single_op_blob("SOFTMAX", [(2, 5)], (2, 5),
                                                      **dict(SOFTMAX, diff_min=3)), "BAD_PARAM"
    yield "pad ok", single_op_blob("PAD", [(1, 2, 2, 1)], (1, 4, 4, 1), **PADP), None
    yield "pad negative", single_op_blob("PAD", [(1, 2, 2, 1)], (1, 2, 4, 1),
                                         **dict(PADP, before1=-1, after1=1)), "BAD_PARAM"
    yield "pad dims", single_op_blob("PAD", [(1, 2, 2, 1)], (1, 4, 5, 1), **PADP), "BAD_SHAPE"
    yield "pad value 200", single_op_blob("PAD", [(1, 2, 2, 1)], (1, 4, 4, 1),
                                          **dict(PADP, pad_value=200)), "BAD_PARAM"
    yield "pad huge", single_op_blob("PAD", [(1, 2, 2, 1)], (1, 4, 4, 1),
                                     **dict(PADP, before1=0x7FFFFFFF, after1=0x7FFFFFFF)), "BAD_SHAPE"
    yield "concat axis 4", single_op_blob("CONCATENATION", [(1, 2), (1, 2)], (1, 4), axis=4), "BAD_PARAM"
    yield "concat axis -1", single_op_blob("CONCATENATION", [(1, 2), (1, 2)], (1, 4), axis=-1), "BAD_PARAM"
    yield "concat sum", single_op_blob("CONCATENATION", [(1, 2), (1, 2)], (1, 5), axis=3), "BAD_SHAPE"
    yield "concat off-axis", single_op_blob("CONCATENATION", [(2, 2), (1, 2)], (2, 4), axis=3), "BAD_SHAPE"
    yield "copy size", single_op_blob("COPY", [(2, 3)], (7,)), "BAD_SHAPE"
    yield "lut table outside", single_op_blob("LUT", [(2, 3)], (2, 3), table=0), "BAD_OFFSET"
    yield "sqdiff ok broadcast", single_op_blob("SQUARED_DIFFERENCE", [(1, 2, 1, 3), (1, 1, 4, 1)], (1, 2, 4, 3),
                                                **SQDIFF), None
    yield "sqdiff const operand ok", single_op_blob("SQUARED_DIFFERENCE", [(5,), (1,)], (5,), const_inputs=(1,),
                                                    **SQDIFF), None
    yield "sqdiff bad broadcast", single_op_blob("SQUARED_DIFFERENCE", [(2, 3), (3, 3)], (2, 3),
                                                 **SQDIFF), "BAD_SHAPE"
    yield "sqdiff left_shift 8", single_op_blob("SQUARED_DIFFERENCE", [(2, 3)] * 2, (2, 3),
                                                **dict(SQDIFF, left_shift=8)), "BAD_PARAM"
    yield "sqdiff input multiplier above half", single_op_blob(
        "SQUARED_DIFFERENCE", [(2, 3)] * 2, (2, 3), **dict(SQDIFF, input2_shift=0, input2_multiplier=Q30 + 1)), "BAD_PARAM"
    yield "sqdiff input multiplier one half ok", single_op_blob(
        "SQUARED_DIFFERENCE", [(2, 3)] * 2, (2, 3), **dict(SQDIFF, input1_shift=0, input1_multiplier=Q30)), None
    yield "sqdiff output multiplier above one", single_op_blob("SQUARED_DIFFERENCE", [(2, 3)] * 2, (2, 3),
                                                               **dict(SQDIFF, output_shift=1)), "BAD_PARAM"
    yield "prelu ok", single_op_blob("PRELU", [(1, 2, 2, 3), (3,)], (1, 2, 2, 3), const_inputs=(1,), **PRELU), None
    yield "prelu full alpha ok", single_op_blob("PRELU", [(4, 3), (4, 3)], (4, 3), const_inputs=(1,), **PRELU), None
    yield "prelu input broadcast", single_op_blob("PRELU", [(1, 2, 2, 1), (3,)], (1, 2, 2, 3), const_inputs=(1,),
                                                  **PRELU), "BAD_SHAPE"
    yield "prelu bad alpha", single_op_blob("PRELU", [(2, 3), (2,)], (2, 3), const_inputs=(1,), **PRELU), "BAD_SHAPE"
    yield "prelu negative multiplier", single_op_blob("PRELU", [(2, 3), (3,)], (2, 3), const_inputs=(1,),
                                                      **dict(PRELU, alpha_multiplier=-1)), "BAD_PARAM"
    yield "log_softmax ok", single_op_blob("LOG_SOFTMAX", [(2, 5)], (2, 5), **LOG_SOFTMAX), None
    yield "log_softmax dims", single_op_blob("LOG_SOFTMAX", [(2, 5)], (5, 2), **LOG_SOFTMAX), "BAD_SHAPE"
    yield "log_softmax depth 4095 ok", single_op_blob("LOG_SOFTMAX", [(1, 4095)], (1, 4095), **LOG_SOFTMAX), None
    yield "log_softmax depth 4096", single_op_blob("LOG_SOFTMAX", [(1, 4096)], (1, 4096),
                                                   **LOG_SOFTMAX), "BAD_PARAM"
    # With input_left_shift 21 the input radius is (31 << 26) >> 21 = 992.
    yield "log_softmax diff_min -992 ok", single_op_blob("LOG_SOFTMAX", [(2, 5)], (2, 5),
                                                         **dict(LOG_SOFTMAX, diff_min=-992)), None
    yield "log_softmax diff_min beyond radius", single_op_blob("LOG_SOFTMAX", [(2, 5)], (2, 5),
                                                               **dict(LOG_SOFTMAX, diff_min=-993)), "BAD_PARAM"
    yield "log_softmax positive reverse shift", single_op_blob("LOG_SOFTMAX", [(2, 5)], (2, 5),
                                                               **dict(LOG_SOFTMAX, reverse_shift=1)), "BAD_PARAM"
    yield "log_softmax negative input shift", single_op_blob("LOG_SOFTMAX", [(2, 5)], (2, 5),
                                                             **dict(LOG_SOFTMAX, input_left_shift=-1)), "BAD_PARAM"
    yield "l2 ok", single_op_blob("L2_NORMALIZATION", [(3, 7)], (3, 7)), None
    yield "l2 dims", single_op_blob("L2_NORMALIZATION", [(3, 7)], (7, 3)), "BAD_SHAPE"
    yield "l2 depth 32769", single_op_blob("L2_NORMALIZATION", [(1, 32769)], (1, 32769)), "BAD_PARAM"

    def reduce_blob(opname, in_shape=(2, 3, 4), out_shape=(2, 4), out_dtype=bl.DTYPE_INT8, steps=None,
                    in_dtype=bl.DTYPE_INT8, **over):
        b = BlobBuilder()
        x = b.tensor(in_shape, dtype=in_dtype)
        y = b.tensor(out_shape, dtype=out_dtype)
        f = dict(outer=2, reduced=3, inner=4, table=bl.NONE)
        if steps is not None:
            f["table"] = b.const(i32(steps), 4)
        f.update(over)
        b.op(opname, [x], [y], **f)
        b.inputs, b.outputs = [x], [y]
        return b

    steps = list(range(-127, 128))
    yield "reduce_max ok", reduce_blob("REDUCE_MAX"), None
    yield "reduce_min ok", reduce_blob("REDUCE_MIN"), None
    yield "reduce_max outer*inner != output", reduce_blob("REDUCE_MAX", out_shape=(2, 3)), "BAD_SHAPE"
    yield "reduce_max reduced too small", reduce_blob("REDUCE_MAX", reduced=2), "BAD_SHAPE"
    yield "reduce_max zero inner", reduce_blob("REDUCE_MAX", outer=8, inner=0), "BAD_SHAPE"
    yield "reduce_max product past 2^31", reduce_blob("REDUCE_MAX", outer=2, reduced=0x7FFFFFFF, inner=4), "BAD_SHAPE"
    yield "reduce_max with steps", reduce_blob("REDUCE_MAX", steps=steps), "BAD_PARAM"
    yield "reduce_max int32 output", reduce_blob("REDUCE_MAX", out_dtype=bl.DTYPE_INT32), "BAD_TENSOR"
    s16 = dict(in_dtype=bl.DTYPE_INT16, out_dtype=bl.DTYPE_INT16)

    def lut_s16_blob(entries=513, dtype=bl.DTYPE_INT16, out_shape=(2, 3)):
        b = BlobBuilder()
        x = b.tensor((2, 3), dtype=dtype)
        y = b.tensor(out_shape, dtype=dtype)
        b.op("LUT_S16", [x], [y], table=b.const(bytes(2 * entries), 4))
        b.inputs, b.outputs = [x], [y]
        return b

    def abs_s16_blob(dtype=bl.DTYPE_INT16, **over):
        b = BlobBuilder()
        x = b.tensor((2, 3), dtype=dtype)
        y = b.tensor((2, 3), dtype=dtype)
        f = dict(multiplier=1 << 30, shift=1, negative_multiplier=1 << 30, negative_shift=1,
                 act_min=-32768, act_max=32767)
        f.update(over)
        b.op("ABS_S16", [x], [y], **f)
        b.inputs, b.outputs = [x], [y]
        return b

    yield "abs_s16 int8 tensors", abs_s16_blob(dtype=bl.DTYPE_INT8), "BAD_TENSOR"
    yield "abs_s16 negative multiplier", abs_s16_blob(multiplier=-5), "BAD_PARAM"
    yield "abs_s16 shift 31", abs_s16_blob(shift=31), "BAD_PARAM"
    yield "abs_s16 act_max past int16", abs_s16_blob(act_max=40000), "BAD_PARAM"
    def sum_s16_blob(dtype=bl.DTYPE_INT16, in_shape=(2, 3, 4), **over):
        b = BlobBuilder()
        x = b.tensor(in_shape, dtype=dtype)
        y = b.tensor((2, 4), dtype=dtype)
        f = dict(outer=2, reduced=3, inner=4, scale_mantissa=1 << 23, scale_exponent=-23)
        f.update(over)
        b.op("SUM_S16", [x], [y], **f)
        b.inputs, b.outputs = [x], [y]
        return b

    yield "sum_s16 int8 tensors", sum_s16_blob(dtype=bl.DTYPE_INT8), "BAD_TENSOR"
    yield "sum_s16 mantissa below 2^23", sum_s16_blob(scale_mantissa=(1 << 23) - 1), "BAD_PARAM"
    yield "sum_s16 mantissa 2^24", sum_s16_blob(scale_mantissa=1 << 24), "BAD_PARAM"
    yield "sum_s16 exponent -181", sum_s16_blob(scale_exponent=-181), "BAD_PARAM"
    yield "sum_s16 exponent 101", sum_s16_blob(scale_exponent=101), "BAD_PARAM"
    yield "sum_s16 outer*inner != output", sum_s16_blob(outer=1, reduced=6), "BAD_SHAPE"
    yield "sum_s16 2^16 + 1 terms", sum_s16_blob(in_shape=(2, (1 << 16) + 1, 4), reduced=(1 << 16) + 1), "BAD_PARAM"
    yield "lut_s16 table one entry short", lut_s16_blob(entries=512), "BAD_OFFSET"
    yield "lut_s16 int8 tensors", lut_s16_blob(dtype=bl.DTYPE_INT8), "BAD_TENSOR"
    yield "lut_s16 sizes differ", lut_s16_blob(out_shape=(2, 4)), "BAD_SHAPE"
    yield "reduce_max_s16 int8 tensors", reduce_blob("REDUCE_MAX_S16"), "BAD_TENSOR"
    yield "reduce_min_s16 int8 output", reduce_blob("REDUCE_MIN_S16", in_dtype=bl.DTYPE_INT16), "BAD_TENSOR"
    yield "reduce_max int16 tensors", reduce_blob("REDUCE_MAX", **s16), "BAD_TENSOR"
    yield "reduce_min_s16 with steps", reduce_blob("REDUCE_MIN_S16", steps=steps, **s16), "BAD_PARAM"
    yield "sum ok", reduce_blob("SUM", steps=steps), None
    yield "sum without steps", reduce_blob("SUM"), "BAD_PARAM"
    yield "sum steps decreasing", reduce_blob("SUM", steps=steps[:100] + [-200] + steps[101:]), "BAD_PARAM"
    yield "sum steps short", reduce_blob("SUM", steps=steps[:254]), "BAD_OFFSET"
    yield "sum 2^23 + 1 values", reduce_blob("SUM", (1, (1 << 23) + 1), (1, 1), steps=steps, outer=1,
                                             reduced=(1 << 23) + 1, inner=1), "BAD_PARAM"
    yield "arg_max ok", reduce_blob("ARG_MAX", out_dtype=bl.DTYPE_INT32), None
    yield "arg_min ok", reduce_blob("ARG_MIN", out_dtype=bl.DTYPE_INT32), None
    yield "arg_max int8 output", reduce_blob("ARG_MAX"), "BAD_TENSOR"
    yield "arg_min with steps", reduce_blob("ARG_MIN", out_dtype=bl.DTYPE_INT32, steps=steps), "BAD_PARAM"


OP_CASES = list(op_cases())


@pytest.mark.parametrize("name,builder,status", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_validation(name, builder, status):
    blob = builder.build()
    if status is None:
        m = HostModel(blob)
        m.invoke(*[np.zeros(int(np.prod(s)), np.int8) for s in m.input_shapes])
    else:
        raises_status(blob, status, op_index=0)


@pytest.mark.parametrize("opname,reduce", [("REDUCE_MAX_S16", np.max), ("REDUCE_MIN_S16", np.min)])
def test_reduce_s16_against_numpy(opname, reduce):
    """The int16 extremes over the middle axis of [outer][reduced][inner],
    the int16 ends included, are NumPy's."""
    rng = np.random.default_rng(5)
    outer, reduced, inner = 3, 7, 5
    b = BlobBuilder()
    x = b.tensor((outer, reduced, inner), dtype=bl.DTYPE_INT16)
    y = b.tensor((outer, inner), dtype=bl.DTYPE_INT16)
    b.op(opname, [x], [y], outer=outer, reduced=reduced, inner=inner, table=bl.NONE)
    b.inputs, b.outputs = [x], [y]
    m = HostModel(b.build())
    for values in (rng.integers(-32768, 32768, (outer, reduced, inner)),
                   rng.choice([-32768, -32767, -1, 0, 1, 32767], (outer, reduced, inner))):
        got = m.invoke(values.astype(np.int16))[0]
        np.testing.assert_array_equal(got.reshape(outer, inner), reduce(values, axis=1))


def record_cases():
    def lut_builder(**kw):
        b = BlobBuilder()
        x = b.tensor((4,))
        y = b.tensor((4,))
        b.op("LUT", [x], [y], table=b.const(bytes(256)), **kw)
        b.inputs, b.outputs = [x], [y]
        return b

    yield "opcode 0", lut_builder(opcode=0), "UNSUPPORTED_OP"
    yield "opcode 99", lut_builder(opcode=99), "UNSUPPORTED_OP"
    yield "params_size", lut_builder(params_size=8), "BAD_PARAM"
    yield "size not multiple of 4", lut_builder(size=18), "BAD_OFFSET"
    yield "size past section", lut_builder(size=400), "BAD_OFFSET"
    yield "size below contents", lut_builder(size=8), "BAD_OFFSET"
    yield "reserved", lut_builder(rec_reserved=1), "BAD_PARAM"
    b = BlobBuilder()
    x, y = b.tensor((4,)), b.tensor((4,))
    b.op("LUT", [x], [9], table=b.const(bytes(256)))
    b.inputs, b.outputs = [x], [y]
    yield "tensor index", b, "BAD_TENSOR"
    b = BlobBuilder()
    x = b.tensor((4,))
    c = b.tensor((4,), data=bytes(4))
    b.op("LUT", [x], [c], table=b.const(bytes(256)))
    b.inputs, b.outputs = [x], [x]
    yield "output const", b, "BAD_TENSOR"
    b = BlobBuilder()
    x = b.tensor((4,))
    y = b.tensor((4,), dtype=bl.DTYPE_INT32)
    b.op("LUT", [x], [y], table=b.const(bytes(256)))
    b.inputs, b.outputs = [x], [x]
    yield "operand int32", b, "BAD_TENSOR"


REC_CASES = list(record_cases())


@pytest.mark.parametrize("name,builder,status", REC_CASES, ids=[c[0] for c in REC_CASES])
def test_op_record_validation(name, builder, status):
    raises_status(builder.build(), status, op_index=0)


def test_error_names_op_and_detail():
    b = BlobBuilder()
    x = b.tensor((1, 2, 2, 1))
    y = b.tensor((1, 4, 4, 1))
    z = b.tensor((1, 4, 5, 1))
    b.op("PAD", [x], [y], **PADP)
    b.op("PAD", [y], [z], **PADP)
    b.inputs, b.outputs = [x], [z]
    e = raises_status(b.build(), "BAD_SHAPE", op_index=1)
    assert e.opcode_name == "PAD" and "op 1 (PAD)" in str(e) and "padding" in e.detail


# ---- the hostile corpus, in a subprocess ----------------------------------

def kitchen_sink_blob():
    """One valid blob using every opcode, the seed of the mutation corpus."""
    rng = np.random.default_rng(12)
    b = BlobBuilder()
    t0 = b.tensor((1, 6, 6, 2), zero_point=-1)
    t1 = b.tensor((1, 6, 6, 4))
    t2 = b.tensor((1, 3, 3, 8))
    t3 = b.tensor((1, 2, 2, 8))
    t4 = b.tensor((1, 1, 1, 8))
    t5 = b.tensor((1, 8))
    t6 = b.tensor((1, 1, 1, 8))
    t7 = b.tensor((8,), data=rand_i8(rng, 8).tobytes())
    t8 = b.tensor((1, 1, 1, 8))
    t9 = b.tensor((1, 1, 1, 16))
    t10 = b.tensor((1, 1, 1, 20))
    t11 = b.tensor((1, 1, 1, 20))
    t12 = b.tensor((1, 4, 5))
    t13 = b.tensor((1, 5))
    t14 = b.tensor((1, 5))

    def consts(n, values):
        return b.const(i32(values * n if len(values) == 1 else values), 4)

    b.op("CONV_2D", [t0], [t1], kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, dilation_h=1,
         dilation_w=1, pad_top=1, pad_left=1, depth_multiplier=1, channel_quant=4, act_min=-128,
         act_max=127, weights=b.const(rand_i8(rng, 72).tobytes()), bias=consts(4, [100]),
         multiplier=consts(4, [Q30]), shift=consts(4, [-6]))
    b.op("DEPTHWISE_CONV_2D", [t1], [t2], kernel_h=3, kernel_w=3, stride_h=2, stride_w=2,
         dilation_h=1, dilation_w=1, pad_top=0, pad_left=0, depth_multiplier=2, channel_quant=1,
         act_min=0, act_max=127, weights=b.const(rand_i8(rng, 72).tobytes()), bias=bl.NONE,
         multiplier=consts(1, [Q30]), shift=consts(1, [-5]))
    b.op("AVERAGE_POOL_2D", [t2], [t3], filter_h=2, filter_w=2, stride_h=1, stride_w=1,
         pad_top=0, pad_left=0, act_min=-128, act_max=127)
    b.op("MAX_POOL_2D", [t3], [t4], filter_h=2, filter_w=2, stride_h=2, stride_w=2,
         pad_top=0, pad_left=0, act_min=-128, act_max=127)
    b.op("MEAN", [t2], [t5], axis_mask=6, mode=1, multiplier=Q30, shift=-3)
    b.op("ADD", [t4, t5], [t6], **ADD)
    b.op("MUL", [t6, t7], [t8], **MUL)
    b.op("CONCATENATION", [t8, t6], [t9], axis=3)
    b.op("PAD", [t9], [t10], before0=0, before1=0, before2=0, before3=2, after0=0, after1=0,
         after2=0, after3=2, pad_value=-128)
    b.op("LUT", [t10], [t11], table=b.const(rand_i8(rng, 256).tobytes()))
    b.op("COPY", [t11], [t12])
    b.op("FULLY_CONNECTED", [t12], [t13], channel_quant=1, reserved=0, act_min=-128, act_max=127,
         weights=b.const(rand_i8(rng, 100).tobytes()), bias=consts(5, [7]),
         multiplier=consts(1, [Q30]), shift=consts(1, [-8]))
    b.op("SOFTMAX", [t13], [t14], **SOFTMAX)
    b.inputs, b.outputs = [t0], [t14, t3]
    b.meta = [(bl.META_NAME, b"sink"), (bl.META_LABELS, b"a\nb\nc\nd\ne")]
    return b.build()


def row_ops_blob():
    """SQUARED_DIFFERENCE (broadcast) -> PRELU (constant alpha) -> LOG_SOFTMAX -> L2_NORMALIZATION,
    a second seed of the mutation corpus."""
    rng = np.random.default_rng(14)
    b = BlobBuilder()
    t0 = b.tensor((1, 2, 3, 5), zero_point=3)
    t1 = b.tensor((1, 1, 1, 5), zero_point=-7)
    t2 = b.tensor((1, 2, 3, 5), zero_point=-128)
    alpha = b.tensor((5,), zero_point=2, data=rand_i8(rng, 5).tobytes())
    t3 = b.tensor((1, 2, 3, 5), zero_point=-4)
    t4 = b.tensor((1, 2, 3, 5), zero_point=127)
    t5 = b.tensor((1, 2, 3, 5))
    b.op("SQUARED_DIFFERENCE", [t0, t1], [t2], **SQDIFF)
    b.op("PRELU", [t2, alpha], [t3], **PRELU)
    b.op("LOG_SOFTMAX", [t3], [t4], **LOG_SOFTMAX)
    b.op("L2_NORMALIZATION", [t4], [t5])
    b.inputs, b.outputs = [t0, t1], [t5]
    return b.build()


def build_driver(name, flags):
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / name
    sources = [REPO / "tests" / "host" / "fuzz_driver.c", *host_runtime.core_sources(C_DIR)]
    deps = sources + list(C_DIR.glob("*.h"))
    if not exe.exists() or any(p.stat().st_mtime > exe.stat().st_mtime for p in deps):
        subprocess.run(["cc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", f"-I{C_DIR}",
                        *flags, *map(str, sources), "-o", str(exe)], check=True)
    return exe


def run_corpus(exe, blobs, tmp_path):
    corpus = tmp_path / "corpus.bin"
    with open(corpus, "wb") as f:
        for blob in blobs:
            f.write(struct.pack("<I", len(blob)) + blob + b"\0" * (-len(blob) % 4))
    res = subprocess.run([str(exe), str(corpus)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"driver crashed (rc {res.returncode}):\n{res.stderr[-3000:]}"
    lines = res.stdout.splitlines()
    assert len(lines) == len(blobs)
    return [tuple(map(int, line.split())) for line in lines]


def mutations(blob):
    """(kind, blob): truncations, raw byte flips, and CRC-fixed hostile values."""
    for n in range(len(blob)):
        yield "truncated", blob[:n]
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0xFF
        yield "flipped", bytes(bad)
    for i in range(bl.CRC_START, len(blob)):
        for v in (0x00, 0xFF, 0x80, 0x7F, (blob[i] + 1) & 0xFF):
            if v != blob[i]:
                bad = bytearray(blob)
                bad[i] = v
                yield "crc-fixed byte", fix_crc(bad)
    for i in range(bl.CRC_START, len(blob) - 3, 2):
        for v in (0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x10000, len(blob)):
            bad = bytearray(blob)
            struct.pack_into("<I", bad, i, v)
            yield "crc-fixed word", fix_crc(bad)


@pytest.fixture(scope="module")
def corpus():
    seeds = [kitchen_sink_blob(), chain_blob(np.random.default_rng(13))[0], row_ops_blob()]
    kinds, blobs = [], []
    for seed in seeds:
        kinds.append("seed")
        blobs.append(seed)
        for kind, blob in mutations(seed):
            kinds.append(kind)
            blobs.append(blob)
    return kinds, blobs


def check_corpus_results(kinds, results):
    for kind, (init, inv) in zip(kinds, results):
        if kind == "seed":
            assert (init, inv) == (0, 0)
        elif kind in ("truncated", "flipped"):
            assert init != 0, kind
        else:
            assert init in range(len(STATUS))
    # A blob the loader accepts must run: a kernel refusing one means the
    # validator missed a rule that kernel relies on.
    refused = [(k, i) for k, (init, inv), i in zip(kinds, results, range(len(kinds)))
               if init == 0 and inv != 0]
    assert not refused, f"accepted by init but refused by a kernel: {refused[:10]}"


def test_kitchen_sink_runs():
    m = HostModel(kitchen_sink_blob())
    probs, pooled = m.invoke(np.arange(72, dtype=np.int8))
    assert probs.shape == (1, 5) and pooled.shape == (1, 2, 2, 8)


def test_row_ops_blob_runs():
    m = HostModel(row_ops_blob())
    (out,) = m.invoke(np.arange(-15, 15, dtype=np.int8), np.array([-3, 0, 9, 20, -50], np.int8))
    assert out.shape == (1, 2, 3, 5)


def test_hostile_corpus(corpus, tmp_path):
    kinds, blobs = corpus
    results = run_corpus(build_driver("fuzz_driver", []), blobs, tmp_path)
    check_corpus_results(kinds, results)
    accepted = sum(1 for k, (i, _) in zip(kinds, results) if k != "seed" and i == 0)
    refused = sum(1 for i, _ in results if i != 0)
    assert refused > len(blobs) // 2 and accepted > 0


def test_hostile_corpus_sanitized(corpus, tmp_path):
    try:
        exe = build_driver("fuzz_driver_asan", ["-fsanitize=address,undefined",
                                                "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"])
    except subprocess.CalledProcessError:
        pytest.skip("this compiler cannot build with -fsanitize=address,undefined")
    kinds, blobs = corpus
    check_corpus_results(kinds, run_corpus(exe, blobs, tmp_path))


def test_host_library_path_override(tmp_path, monkeypatch):
    """TINYML_HOST_LIB (or an explicit path) selects a prebuilt core."""
    lib_path = host_runtime.build_host_library(C_DIR, tmp_path / "libcustom.so")
    lib = host_runtime.load_library(lib_path)
    blob, table = chain_blob(np.random.default_rng(14))
    m = HostModel(blob, lib=lib)
    a, c = np.ones((1, 2, 2, 3), np.int8), np.zeros((1, 4, 4, 1), np.int8)
    out, lut = m.invoke(a, c)
    np.testing.assert_array_equal(out, chain_expected(table, a, c)[0])
    monkeypatch.setattr(host_runtime, "_lib", None)
    monkeypatch.setenv("TINYML_HOST_LIB", str(tmp_path / "missing.so"))
    with pytest.raises(CoreUnavailable, match="missing.so"):
        host_runtime.load_library()


def test_stale_packaged_core_named(tmp_path, monkeypatch):
    """A source checkout whose C sources changed after pip install built its
    core: loading that core is refused, naming the newer source file."""
    import os

    package = tmp_path / "converter" / "tinyml_converter"
    package.mkdir(parents=True)
    sources = tmp_path / "usermod_c"
    sources.mkdir()
    core = package / "_core.abi3.so"
    core.write_bytes(b"")
    old, edited = sources / "tml_old.c", sources / "tml_conv.c"
    old.write_text("")
    edited.write_text("")
    os.utime(old, (1000, 1000))
    os.utime(core, (2000, 2000))
    os.utime(edited, (3000, 3000))
    monkeypatch.setattr(host_runtime, "__file__", str(package / "host_runtime.py"))
    with pytest.raises(CoreUnavailable, match="older than .*tml_conv.c .1 source file"):
        host_runtime._refuse_stale(core)
    os.utime(edited, (1500, 1500))
    host_runtime._refuse_stale(core)
    # A core installed elsewhere (a wheel) is not compared with the checkout.
    os.utime(edited, (3000, 3000))
    host_runtime._refuse_stale(tmp_path / "elsewhere" / "_core.abi3.so")


def test_error_is_value_error():
    with pytest.raises(ValueError, match="MAGIC|magic"):
        HostModel(b"NOPE" + bytes(60))


@pytest.mark.parametrize("flags,in_shape,out_shape,status,why", [
    (dict(align_corners=1, half_pixel_centers=1), (1, 3, 3, 1), (1, 5, 5, 1), "BAD_PARAM", "both"),
    (dict(align_corners=2, half_pixel_centers=0), (1, 3, 3, 1), (1, 5, 5, 1), "BAD_PARAM", "flags"),
    (dict(align_corners=0, half_pixel_centers=0), (1, 3, 3, 2), (1, 5, 5, 1), "BAD_SHAPE", "channels"),
    # Legacy coordinates, 1 -> 400: the Q10 scale rounds up to 3, so the last
    # source row is 1197 / 1024 = 1, past the single input row.
    (dict(align_corners=0, half_pixel_centers=0), (1, 1, 1, 1), (1, 1, 400, 1), "BAD_SHAPE", "past"),
])
def test_resize_bilinear_refusals(flags, in_shape, out_shape, status, why):
    b = BlobBuilder()
    x = b.tensor(in_shape)
    y = b.tensor(out_shape)
    b.op("RESIZE_BILINEAR", [x], [y], reserved=0, **flags)
    b.inputs, b.outputs = [x], [y]
    assert why in str(raises_status(b.build(), status, op_index=0))


def resize_matmul_blob():
    """RESIZE_BILINEAR, then BATCH_MATMUL against a broadcast constant rhs
    (transposed into the scratch) and with adj_x against an activation:
    the seed of a mutation corpus of their own (the kitchen sink predates
    them)."""
    rng = np.random.default_rng(15)
    b = BlobBuilder()
    t0 = b.tensor((1, 4, 5, 2), zero_point=3)
    t1 = b.tensor((1, 7, 3, 2), zero_point=3)
    w = b.tensor((1, 1, 2, 5), zero_point=-9, data=rand_i8(rng, 10).tobytes())
    t2 = b.tensor((1, 7, 3, 5), zero_point=-4)
    t3 = b.tensor((1, 7, 5, 2), zero_point=11)
    b.op("RESIZE_BILINEAR", [t0], [t1], align_corners=0, half_pixel_centers=1, reserved=0)
    b.op("BATCH_MATMUL", [t1, w], [t2], output_multiplier=Q30, output_shift=-6, adj_x=0, adj_y=0, reserved=0)
    b.op("BATCH_MATMUL", [t2, t1], [t3], output_multiplier=Q30 + 12345, output_shift=-7, adj_x=1, adj_y=0,
         reserved=0)
    b.inputs, b.outputs = [t0], [t3]
    return b.build()


def test_resize_matmul_blob_runs():
    blob = resize_matmul_blob()
    (out,) = HostModel(blob).invoke(np.arange(40, dtype=np.int8) * 3)
    assert out.shape == (1, 7, 5, 2)


@pytest.mark.parametrize("sanitized", [False, True])
def test_resize_matmul_hostile_corpus(sanitized, tmp_path):
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    try:
        exe = build_driver("fuzz_driver_asan" if sanitized else "fuzz_driver", flags if sanitized else [])
    except subprocess.CalledProcessError:
        pytest.skip("this compiler cannot build with -fsanitize=address,undefined")
    seed = resize_matmul_blob()
    kinds, blobs = ["seed"], [seed]
    for kind, blob in mutations(seed):
        kinds.append(kind)
        blobs.append(blob)
    check_corpus_results(kinds, run_corpus(exe, blobs, tmp_path))


# ---- int16 tensors (16x8 models) -------------------------------------------

I16 = bl.DTYPE_INT16


def test_pad_and_concat_int16_against_numpy():
    """PAD and CONCATENATION move int16 elements whole (with an int16 pad
    value beyond int8's range)."""
    rng = np.random.default_rng(16)
    b = BlobBuilder()
    x = b.tensor((1, 2, 3, 2), dtype=I16)
    z = b.tensor((1, 2, 3, 3), dtype=I16)
    p = b.tensor((1, 4, 4, 2), dtype=I16)
    y = b.tensor((1, 2, 3, 5), dtype=I16)
    b.op("PAD", [x], [p], before0=0, before1=1, before2=0, before3=0,
         after0=0, after1=1, after2=1, after3=0, pad_value=-1000)
    b.op("CONCATENATION", [x, z], [y], axis=3)
    b.inputs, b.outputs = [x, z], [p, y]
    m = HostModel(b.build())
    xin = rng.integers(-32768, 32768, size=(1, 2, 3, 2), dtype=np.int16)
    zin = rng.integers(-32768, 32768, size=(1, 2, 3, 3), dtype=np.int16)
    pad, cat = m.invoke(xin, zin)
    np.testing.assert_array_equal(pad, np.pad(xin, ((0, 0), (1, 1), (0, 1), (0, 0)), constant_values=-1000))
    np.testing.assert_array_equal(cat, np.concatenate([xin, zin], axis=3))


@pytest.mark.parametrize("case", ["int16_into_int8_op", "int8_into_int16_op", "mixed_concat",
                                  "pad_value_outside_int16", "zero_point_outside_int16",
                                  "s16_op_nonzero_zero_point"])
def test_int16_operand_rules(case):
    b = BlobBuilder()
    if case == "int16_into_int8_op":
        x = b.tensor((4, 8), dtype=I16)
        y = b.tensor((4, 8))
        b.op("LUT", [x], [y], table=b.const(bytes(256)))
        want, detail = "BAD_TENSOR", "not int8"
    elif case == "int8_into_int16_op":
        x = b.tensor((1, 8))
        y = b.tensor((1, 3), dtype=I16)
        b.op("FULLY_CONNECTED_S16", [x], [y], channel_quant=1, reserved=0, act_min=-32768, act_max=32767,
             weights=b.const(bytes(24)), bias=bl.NONE, scale=b.const(np.array([0.5], "<f8").tobytes()))
        want, detail = "BAD_TENSOR", "not int16"
    elif case == "mixed_concat":
        x = b.tensor((1, 2, 2, 1), dtype=I16)
        z = b.tensor((1, 2, 2, 1))
        y = b.tensor((1, 2, 2, 2), dtype=I16)
        b.op("CONCATENATION", [x, z], [y], axis=3)
        want, detail = "BAD_TENSOR", "all int8 or all int16"
    elif case == "pad_value_outside_int16":
        x = b.tensor((1, 1, 2, 1), dtype=I16)
        y = b.tensor((1, 1, 3, 1), dtype=I16)
        b.op("PAD", [x], [y], before0=0, before1=0, before2=1, before3=0,
             after0=0, after1=0, after2=0, after3=0, pad_value=40000)
        want, detail = "BAD_PARAM", "pad value"
    elif case == "zero_point_outside_int16":
        x = b.tensor((1, 4), dtype=I16, zero_point=40000)
        y = b.tensor((1, 4), dtype=I16)
        b.op("COPY", [x], [y])
        want, detail = "BAD_TENSOR", "outside int16"
    else:
        x = b.tensor((1, 8), dtype=I16, zero_point=5)
        y = b.tensor((1, 3), dtype=I16)
        b.op("FULLY_CONNECTED_S16", [x], [y], channel_quant=1, reserved=0, act_min=-32768, act_max=32767,
             weights=b.const(bytes(24)), bias=bl.NONE, scale=b.const(np.array([0.5], "<f8").tobytes()))
        want, detail = "BAD_TENSOR", "zero point 0"
    b.inputs, b.outputs = [b.tensors.index(b.tensors[0])], [len(b.tensors) - 1]
    if case == "mixed_concat":
        b.inputs = [0, 1]
    e = raises_status(b.build(), want)
    assert detail in str(e), str(e)


def test_terse_build_keeps_status_and_op_drops_sentences():
    """A TML_TERSE_ERRORS build (for small flash) refuses the same blobs with
    the same status and op, without the sentence; the full build's detail
    is there for the same blob."""
    from tinyml_converter.errors import ModelRefused
    from tinyml_converter.host_runtime import build_host_library, load_library

    terse = load_library(build_host_library(C_DIR, BUILD / "libtinyml_terse.so",
                                            extra_flags=["-DTML_TERSE_ERRORS"]))
    b = BlobBuilder()
    x = b.tensor((2, 3, 4), dtype=bl.DTYPE_INT16)
    y = b.tensor((2, 4), dtype=bl.DTYPE_INT16)
    b.op("SUM_S16", [x], [y], outer=2, reduced=3, inner=4, scale_mantissa=1, scale_exponent=0)
    b.inputs, b.outputs = [x], [y]
    blob = b.build()
    full = raises_status(blob, "BAD_PARAM", op_index=0)
    assert "mantissa" in full.detail
    with pytest.raises(ModelRefused) as e:
        HostModel(blob, lib=terse)
    assert (e.value.status, e.value.op_index, e.value.opcode_name, e.value.detail) == (
        STATUS["BAD_PARAM"], 0, "SUM_S16", "")


def test_op_subset_build(tmp_path):
    """A firmware built from `tinyml inspect --ops-header` runs the models
    the header was written for, bit for bit as the full build, and refuses
    any other op by its name; a second model's ops add to the header."""
    from tinyml_converter.cli import main as cli_main
    from tinyml_converter.errors import ModelRefused
    from tinyml_converter.host_runtime import build_host_library, load_library

    rng = np.random.default_rng(4)
    table = rand_i8(rng, 256)
    lut = BlobBuilder()
    x = lut.tensor((4, 6), zero_point=3)
    y = lut.tensor((4, 6))
    lut.op("LUT", [x], [y], table=lut.const(table.tobytes()))
    lut.inputs, lut.outputs = [x], [y]
    copy = BlobBuilder()
    x = copy.tensor((2, 3))
    y = copy.tensor((3, 2), offset=copy.tensors[x]["offset"] + 8)
    copy.op("COPY", [x], [y])
    copy.inputs, copy.outputs = [x], [y]
    remap = BlobBuilder()
    x = remap.tensor((2, 3))
    y = remap.tensor((3, 2))
    remap.op("REMAP", [x], [y], table=remap.const(i32([0, 0, 0, 1, 2, 0, 3]), 4))  # the transpose
    remap.inputs, remap.outputs = [x], [y]
    header = tmp_path / "ops.h"
    for name, b in (("lut", lut), ("copy", copy)):
        (tmp_path / f"{name}.tinyml").write_bytes(b.build())
        assert cli_main(["inspect", str(tmp_path / f"{name}.tinyml"), "--ops-header", str(header)]) == 0
    text = header.read_text()
    assert "#define TML_WITH_LUT 1" in text and "#define TML_WITH_COPY 1" in text
    assert "#define TML_WITH_REMAP 0" in text and "#define TML_WITH_CONV_2D 0" in text
    subset = load_library(build_host_library(C_DIR, BUILD / "libtinyml_subset.so",
                                             extra_flags=[f'-DTML_OPS_SUBSET="{header}"']))
    xin = rand_i8(rng, (4, 6))
    np.testing.assert_array_equal(HostModel(lut.build(), lib=subset).invoke(xin)[0],
                                  HostModel(lut.build()).invoke(xin)[0])
    HostModel(copy.build(), lib=subset)
    HostModel(remap.build())
    with pytest.raises(ModelRefused) as e:
        HostModel(remap.build(), lib=subset)
    assert (e.value.status, e.value.op_index, e.value.opcode_name) == (STATUS["UNSUPPORTED_OP"], 0, "REMAP")
    # A linker that keeps whole objects (a native module's) gets only the
    # files the header's ops need; undefined symbols fail this link (-z defs).
    from tinyml_converter.coverage import sources_for

    files = sources_for(C_DIR, {"LUT", "COPY"})
    assert "tml_lut.c" in files and "tml_conv.c" not in files and "tml_lstm.c" not in files
    assert sources_for(C_DIR, set(coverage_ops())) == (C_DIR / "core_sources.txt").read_text().split()
    pruned = load_library(build_host_library(C_DIR, BUILD / "libtinyml_subset_pruned.so", only=set(files),
                                             extra_flags=[f'-DTML_OPS_SUBSET="{header}"']))
    np.testing.assert_array_equal(HostModel(lut.build(), lib=pruned).invoke(xin)[0],
                                  HostModel(lut.build()).invoke(xin)[0])


def coverage_ops():
    from tinyml_converter import blob_layout

    return blob_layout.OPCODES
