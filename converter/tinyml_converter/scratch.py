"""Scratch bytes the kernels need, mirroring the `_scratch_size()`
companions of usermod_c (tml_conv.c, tml_fc.c, tml_pool.c, tml_mean.c,
tml_batch_matmul.c).

A blob runs on every build of the C core, so the converter reserves, for
each op, the most any build needs: the Arm Cortex-M0, M3 and M4 (DSP)
paths, and the host's x86-64 (SSE2) and portable C paths. The loader
refuses a record that reserves less than its own build needs, so a formula
here that fell short would fail loudly, never corrupt memory;
tests/host/test_scratch.py ties the host builds to the C exactly, and the
parity tests on every emulated board cover the Arm builds.
"""

from dataclasses import dataclass
from math import prod


@dataclass(frozen=True)
class Build:
    name: str
    pointer: int          # bytes of a pointer and of size_t
    conv_pixels: int      # pixels a convolution computes together (1 on x86-64 SSE2, 2 portable, 4 on Arm)
    xpair_max: int        # inputs of one prepared pixel pair
    xquad_max: int        # inputs of one prepared quad of pixels (0: no quads)
    xquad_bytes: int      # bytes of one input of a prepared quad
    xpair_bytes: int      # bytes of one prepared input
    xvec_max: int         # inputs of the prepared FULLY_CONNECTED vector (1: none)
    xvec_bytes: int
    fc_w16_max: int       # inputs FULLY_CONNECTED_W16 prepares at a time (0: it prepares none)
    dw_wide_words: int    # words of widened depthwise weights per tap and 4 channels


BUILDS = (
    Build("armv6m", 4, 4, 256, 64, 16, 4, 256, 4, 0, 4),
    Build("armv7m", 4, 4, 256, 128, 8, 4, 256, 4, 0, 4),
    Build("armv7em-dsp", 4, 4, 256, 256, 8, 2, 512, 2, 512, 2),
    Build("x86-64-sse2", 8, 1, 128, 0, 0, 4, 1, 1, 0, 0),
    Build("portable", 8, 2, 256, 0, 0, 4, 1, 1, 0, 0),
)

IM2COL_MAX = 576      # tml_conv.c: largest gathered window
ACC_CHUNK = 32        # tml_conv.c: channels per requantisation row
DW_CHUNK = 64
DW_MAX_TAPS = 32
DW_WIDE_MAX = 288


def _align8(n: int) -> int:
    return (n + 7) & ~7


def _ceil4(n: int) -> int:
    return (n + 3) & ~3


def conv_2d(b: Build, kernel_h: int, kernel_w: int, in_c: int) -> int:
    filter_size = kernel_h * kernel_w * in_c
    gather = _align8(filter_size) if filter_size <= IM2COL_MAX and kernel_h * kernel_w > 1 else 0
    if b.conv_pixels == 1:
        return _align8(b.xvec_max * b.xvec_bytes) + gather
    # The prepared pieces, only as long as the layer's windows.
    prepared = 2 * _ceil4(min(filter_size, b.xpair_max)) * b.xpair_bytes
    if b.conv_pixels == 4:
        prepared = max(prepared, b.xquad_bytes * _ceil4(min(filter_size, b.xquad_max)))
    return _align8(prepared) + b.conv_pixels * (ACC_CHUNK * 4 + gather)


def depthwise_grouped(kernel_h: int, kernel_w: int, depth_multiplier: int, in_c: int) -> int:
    """Channels the grouped depthwise kernel takes (tml_dw_grouped()): their
    bias is stored folded (tml_kernels.h)."""
    return in_c & ~3 if depth_multiplier == 1 and kernel_h * kernel_w <= DW_MAX_TAPS else 0


def depthwise_conv_2d(b: Build, kernel_h: int, kernel_w: int, depth_multiplier: int, in_c: int) -> int:
    taps = kernel_h * kernel_w
    grouped = depthwise_grouped(kernel_h, kernel_w, depth_multiplier, in_c)
    if grouped == 0:
        return 0
    ww = b.dw_wide_words
    # With widened weights, pixel pairs: the second's sums ACC_CHUNK words on.
    chunk = 4 * min(DW_WIDE_MAX // (taps * ww), ACC_CHUNK // 4) if ww else DW_CHUNK
    n = min(grouped, chunk)
    wide = 4 * (ACC_CHUNK + n if ww else n)
    tap = _align8(wide + 4 * (n // 4) * taps * ww)
    tap_offset = _align8(tap + taps * b.pointer)
    zero_point = tap_offset + taps * b.pointer
    return _align8(zero_point + n)


def fully_connected(b: Build, in_features: int) -> int:
    if b.xvec_max == 1:
        return 0
    return _align8(min(in_features, b.xvec_max) * b.xvec_bytes)


def fully_connected_w16(b: Build, in_features: int) -> int:
    """The prepared piece of the input, padded to a block of four int16."""
    return _align8(((min(in_features, b.fc_w16_max) + 3) & ~3) * 2)


def batch_matmul(b: Build, depth: int, cols: int, adj_x: bool, adj_y: bool) -> int:
    """tml_batch_matmul.c: FULLY_CONNECTED's prepared row, rhs^T unless
    adj_y, the gathered lhs row with adj_x."""
    return (fully_connected(b, depth) + (0 if adj_y else _align8(depth * cols))
            + (_align8(depth) if adj_x else 0))


POOL_CHUNK = 64       # tml_pool.c, tml_mean.c: channels summed together


def average_pool_2d(in_c: int) -> int:
    return _align8(4 * min(in_c, POOL_CHUNK))


def mean(axis_mask: int, in_c: int) -> int:
    keeps_channels = axis_mask != 0 and not axis_mask & 0x8
    return _align8(4 * min(in_c, POOL_CHUNK)) if keeps_channels else 0


def op_scratch(build: Build, opname: str, params: dict, in_dims4, in_features: int = 0) -> int:
    """Scratch of one op on one build; in_dims4 is the input's NHWC dims."""
    if opname == "CONV_2D":
        return conv_2d(build, params["kernel_h"], params["kernel_w"], in_dims4[3])
    if opname == "DEPTHWISE_CONV_2D":
        return depthwise_conv_2d(build, params["kernel_h"], params["kernel_w"],
                                 params["depth_multiplier"], in_dims4[3])
    if opname == "FULLY_CONNECTED":
        return fully_connected(build, in_features)
    if opname == "FULLY_CONNECTED_W16":
        return fully_connected_w16(build, in_features)
    if opname == "AVERAGE_POOL_2D":
        return average_pool_2d(in_dims4[3])
    if opname == "MEAN":
        return mean(params["axis_mask"], in_dims4[3])
    if opname == "BATCH_MATMUL":
        return batch_matmul(build, in_features, params["cols"], params["adj_x"], params["adj_y"])
    if opname == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        return lstm(params["rows"], params["cells"])
    return 0


def lstm(rows: int, cells: int) -> int:
    """tml_lstm.c: four int16 gates and the int8 projection input per row of
    a step (every batch row when time-major, else one)."""
    return _align8(rows * cells * 9)


def scratch_bytes(opname: str, params: dict, in_dims4, in_features: int = 0) -> int:
    """What the converter reserves: the most any build needs."""
    return max(op_scratch(b, opname, params, in_dims4, in_features) for b in BUILDS)


# The ops whose kernels take scratch; every other op reserves none.
SCRATCH_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "FULLY_CONNECTED_W16", "AVERAGE_POOL_2D", "MEAN", "BATCH_MATMUL",
               "UNIDIRECTIONAL_SEQUENCE_LSTM")


ADD_TABLES = 2 * 256 * 4   # tml_kernels.h TML_ADD_LUT_BYTES
ADD_TABLES_MIN_OUTPUTS = 1024


def optional(opname: str, params: dict, out_dims4) -> int:
    """Scratch a kernel runs faster with but does without: the int8 ADD's
    tables of both inputs' rescaled values (tml_add_s8()), worth their 512
    rescales from ADD_TABLES_MIN_OUTPUTS outputs on. The converter reserves
    it only where the arena does not grow (convert.plan_graph)."""
    if opname == "ADD" and params["left_shift"] == 20 and prod(out_dims4) >= ADD_TABLES_MIN_OUTPUTS:
        return ADD_TABLES
    return 0


def reserve(opname: str, params: dict, in_dims4, out_dims4) -> int:
    """scratch_bytes() for an op given its input and output NHWC dims; for
    FULLY_CONNECTED the inputs per batch follow as the loader derives them
    (batches = output elements / output features); for BATCH_MATMUL,
    in_dims4 is the lhs and in_features its depth; for an LSTM out_dims4
    is its cell state."""
    in_features = 0
    if opname in ("FULLY_CONNECTED", "FULLY_CONNECTED_W16"):
        batches = max(1, prod(out_dims4) // max(1, out_dims4[3]))
        in_features = prod(in_dims4) // batches
    if opname == "BATCH_MATMUL":
        in_features = in_dims4[2] if params["adj_x"] else in_dims4[3]
        params = dict(params, cols=out_dims4[3])
    if opname == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        # out_dims4 is the cell state's, [batch, cells].
        rows = out_dims4[2] if params["flags"] & 1 else 1
        params = dict(params, rows=rows, cells=out_dims4[3])
    return scratch_bytes(opname, params, in_dims4, in_features)
