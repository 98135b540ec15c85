"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernels against TFLite.

Every case is one Keras layer. The layers are grouped into two multi-input
models (one converted with per-channel weights, the default, and one with
per-tensor weights), so the whole file costs two TFLiteConverter runs. Each
model runs under TFLite's reference kernels with all tensors preserved; for
each case the test finds the op, rebuilds the kernel's integer parameters from
the op's tensors exactly as TFLite's Prepare does, runs our C kernel on the
op's actual input and compares the output bytes with TFLite's.

The "params from a TFLite op" helpers below are deliberately independent of
the converter package (which has its own): both must agree with TFLite, and
these tests prove the kernels do given TFLite's arithmetic.
"""

import ctypes
import functools
import math
import os
import zlib
from fractions import Fraction

import numpy as np
import pytest

from conftest import Dims, Requant, compile_c_library, kernel_params

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tinyml_converter import blob_layout  # noqa: E402
from tinyml_converter.lowering import fold_depthwise_bias  # noqa: E402
from tinyml_converter.quant import quantize_multiplier  # noqa: E402
from tinyml_converter.scratch import depthwise_grouped  # noqa: E402

TML_OK = 0
TML_ERR_BAD_SHAPE = 7
TML_ERR_BAD_PARAM = 8
GUARD = 16  # canary bytes either side of every output buffer
RUNS = 3  # random inputs per model


# --------------------------------------------------------------------------
# ctypes binding of the kernels


@functools.cache
def lib():
    so = compile_c_library(["tml_conv.c", "tml_fc.c"], "conv_kernels")
    p = ctypes.c_void_p
    so.tml_conv_check.argtypes = so.tml_depthwise_conv_check.argtypes = [p, p, p, p, p]
    so.tml_fully_connected_check.argtypes = [p, p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, p]
    so.tml_conv_s8.argtypes = [p, p, p, p, p, p, p, p, p]
    so.tml_depthwise_conv_s8.argtypes = [p, p, p, p, p, p, p, p, p]
    so.tml_fully_connected_s8.argtypes = [p, p, ctypes.c_int32, ctypes.c_int32, p, p, p, ctypes.c_int32, p, p]
    so.tml_conv_scratch_size.argtypes = so.tml_depthwise_conv_scratch_size.argtypes = [p, p]
    so.tml_fully_connected_scratch_size.argtypes = [ctypes.c_int32]
    for f in (so.tml_conv_scratch_size, so.tml_depthwise_conv_scratch_size, so.tml_fully_connected_scratch_size):
        f.restype = ctypes.c_uint32
    for f in (so.tml_conv_check, so.tml_depthwise_conv_check, so.tml_fully_connected_check):
        f.restype = ctypes.c_int
    for f in (so.tml_conv_s8, so.tml_depthwise_conv_s8, so.tml_fully_connected_s8):
        f.restype = None
    return so


def _scratch(nbytes):
    """Exactly nbytes of 8-byte aligned scratch (ASan-visible when the
    library is built with it), filled with a pattern the kernels must not
    depend on."""
    buf = (ctypes.c_uint8 * max(nbytes, 1)).from_buffer(bytearray(b"\xa5" * (max(nbytes, 1) + 8)))
    return buf


def _i8(a):
    a = np.ascontiguousarray(a, dtype=np.int8)
    return a, a.ctypes.data_as(ctypes.c_void_p)


def _i32(a):
    a = np.ascontiguousarray(a, dtype=np.int32)
    return a, a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))


def call_kernel(kind, params, q, x, weights, bias, out_shape):
    """Check, then run one kernel as the loader would; returns (status of the
    check, output array). q: dict of requant fields; params: the op's packed
    blob record.

    The output buffer has canary bytes on both sides, checked here, so a write
    out of bounds fails the test."""
    pk = kernel_params(kind, params)
    detail = ctypes.c_char_p()
    if kind == "DEPTHWISE_CONV_2D":
        # The kernel takes the grouped channels' bias folded, as the
        # converter writes it (tml_kernels.h).
        grouped = depthwise_grouped(pk.kernel_h, pk.kernel_w, pk.depth_multiplier, x.shape[-1])
        if grouped:
            out_c = weights.shape[-1]
            bias = fold_depthwise_bias(np.zeros(out_c, np.int32) if bias is None else bias,
                                       np.asarray(weights).reshape(-1, out_c), q["input_offset"], grouped)
    mult, mult_p = _i32(q["multiplier"])
    shift, shift_p = _i32(q["shift"])
    rq = Requant(q["input_offset"], q["output_offset"], mult_p, shift_p, q["channel_quant"])
    x, x_p = _i8(x)
    w, w_p = _i8(weights)
    if bias is None:
        b_p = None
    else:
        b, b_p = _i32(bias)
        b_p = ctypes.cast(b_p, ctypes.c_void_p)
    n_out = int(np.prod(out_shape))
    buf = np.full(n_out + 2 * GUARD, 0x5A, dtype=np.uint8)
    out_p = ctypes.c_void_p(buf.ctypes.data + GUARD)
    so = lib()
    if kind == "FULLY_CONNECTED":
        in_features = weights.shape[1]
        batches = x.size // in_features
        status = so.tml_fully_connected_check(ctypes.byref(pk), ctypes.byref(rq), batches, in_features,
                                              weights.shape[0], ctypes.byref(detail))
        if status == TML_OK:
            scratch = _scratch(so.tml_fully_connected_scratch_size(in_features))
            so.tml_fully_connected_s8(ctypes.byref(pk), ctypes.byref(rq), batches, in_features, x_p, w_p, b_p,
                                      weights.shape[0], out_p, scratch)
    else:
        check, run, size = ((so.tml_conv_check, so.tml_conv_s8, so.tml_conv_scratch_size) if kind == "CONV_2D"
                            else (so.tml_depthwise_conv_check, so.tml_depthwise_conv_s8,
                                  so.tml_depthwise_conv_scratch_size))
        in_dims = ctypes.byref(Dims(*x.shape))
        out_dims = ctypes.byref(Dims(*out_shape))
        status = check(ctypes.byref(pk), ctypes.byref(rq), in_dims, out_dims, ctypes.byref(detail))
        if status == TML_OK:
            scratch = _scratch(size(ctypes.byref(pk), in_dims))
            run(ctypes.byref(pk), ctypes.byref(rq), in_dims, x_p, w_p, b_p, out_dims, out_p, scratch)
    assert (buf[:GUARD] == 0x5A).all() and (buf[GUARD + n_out :] == 0x5A).all(), "kernel wrote out of bounds"
    return status, buf[GUARD : GUARD + n_out].view(np.int8).reshape(out_shape)


# --------------------------------------------------------------------------
# Kernel parameters from a TFLite op, computed as TFLite's Prepare does


def tflite_round_f32(x):
    """TfLiteRound on a float: std::round, halves away from zero."""
    x = np.float32(x)
    return int(np.sign(x) * np.floor(np.abs(x) + np.float32(0.5)))


def activation_range(activation, scale, zero_point):
    """CalculateActivationRangeQuantized for an int8 output (float arithmetic)."""
    from tensorflow.lite.python import schema_py_generated as fb

    def quantize(f):
        return zero_point + tflite_round_f32(np.float32(f) / np.float32(scale))

    act = fb.ActivationFunctionType
    qmin, qmax = -128, 127
    if activation == act.RELU:
        return max(qmin, quantize(0.0)), qmax
    if activation == act.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == act.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    assert activation == act.NONE, f"fused activation {activation} not handled"
    return qmin, qmax


def compute_padding(stride, dilation, in_size, filter_size, out_size):
    """ComputePaddingWithOffset: the leading pad (TFLite uses it for SAME and VALID alike)."""
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


def effective_scales(in_scale, filter_scales, out_scale, float_product=False):
    """input_scale * filter_scale / output_scale per channel, in double as
    PopulateConvolutionQuantizationParams does. float_product rounds the first
    product to float (as GetQuantizedConvolutionMultipler's source reads);
    TFLite 2.21 does not do that for these ops, and the tests keep the
    alternative only to prove it (see DISCRIMINATE)."""
    in_scale = np.float32(in_scale)
    out_scale = np.float32(out_scale)
    filter_scales = np.asarray(filter_scales, dtype=np.float32)
    if float_product:
        return [float(in_scale * s) / float(out_scale) for s in filter_scales]
    return [float(in_scale) * float(s) / float(out_scale) for s in filter_scales]


def requant_params(in_scale, filter_scales, out_scale, float_product=False):
    """(multipliers, shifts), one pair per filter scale, as TFLite's Prepare."""
    pairs = [quantize_multiplier(r) for r in effective_scales(in_scale, filter_scales, out_scale, float_product)]
    return [m for m, _ in pairs], [s for _, s in pairs]


def quant_of(detail):
    qp = detail["quantization_parameters"]
    return qp["scales"], qp["zero_points"]


def kernel_inputs(op, interp, fb_op):
    """Everything the kernel needs for one TFLite op, from the interpreter's
    preserved tensors. Returns (params bytes, requant dict, x, weights, bias, out)."""
    from tensorflow.lite.python import schema_py_generated as fb

    details = {d["index"]: d for d in interp.get_tensor_details()}
    kind = op["op_name"]
    in_idx, w_idx = int(op["inputs"][0]), int(op["inputs"][1])
    b_idx = int(op["inputs"][2]) if len(op["inputs"]) > 2 else -1
    out_idx = int(op["outputs"][0])
    x = interp.get_tensor(in_idx)
    y = interp.get_tensor(out_idx)
    weights = interp.get_tensor(w_idx)
    bias = interp.get_tensor(b_idx) if b_idx >= 0 else None
    in_scales, in_zps = quant_of(details[in_idx])
    w_scales, w_zps = quant_of(details[w_idx])
    out_scales, out_zps = quant_of(details[out_idx])
    assert x.dtype == np.int8 and y.dtype == np.int8 and weights.dtype == np.int8
    assert not np.any(w_zps), "int8 weights are symmetric"
    assert bias is None or bias.dtype == np.int32
    mult, shift = requant_params(in_scales[0], w_scales, out_scales[0])
    q = dict(
        input_offset=-int(in_zps[0]),
        output_offset=int(out_zps[0]),
        multiplier=mult,
        shift=shift,
        channel_quant=len(mult),
    )
    table = fb_op.BuiltinOptions()
    if kind == "FULLY_CONNECTED":
        opts = fb.FullyConnectedOptions()
        opts.Init(table.Bytes, table.Pos)
        assert opts.WeightsFormat() == fb.FullyConnectedOptionsWeightsFormat.DEFAULT
        act_min, act_max = activation_range(opts.FusedActivationFunction(), out_scales[0], int(out_zps[0]))
        params = blob_layout.pack_params(
            kind,
            channel_quant=len(mult),
            reserved=0,
            act_min=act_min,
            act_max=act_max,
            weights=0,
            bias=0 if bias is not None else blob_layout.NONE,
            multiplier=0,
            shift=0,
        )
        out_shape = (x.size // weights.shape[1], weights.shape[0])
        assert y.size == int(np.prod(out_shape))
        return kind, params, q, x, weights, bias, y.reshape(out_shape)

    opts = fb.Conv2DOptions() if kind == "CONV_2D" else fb.DepthwiseConv2DOptions()
    opts.Init(table.Bytes, table.Pos)
    _, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = y.shape
    _, kh, kw, _ = weights.shape  # [out_c, kh, kw, in_c] or [1, kh, kw, out_c]
    act_min, act_max = activation_range(opts.FusedActivationFunction(), out_scales[0], int(out_zps[0]))
    params = blob_layout.pack_params(
        kind,
        kernel_h=kh,
        kernel_w=kw,
        stride_h=opts.StrideH(),
        stride_w=opts.StrideW(),
        dilation_h=opts.DilationHFactor(),
        dilation_w=opts.DilationWFactor(),
        pad_top=compute_padding(opts.StrideH(), opts.DilationHFactor(), in_h, kh, out_h),
        pad_left=compute_padding(opts.StrideW(), opts.DilationWFactor(), in_w, kw, out_w),
        depth_multiplier=1 if kind == "CONV_2D" else out_c // in_c,
        channel_quant=len(mult),
        act_min=act_min,
        act_max=act_max,
        weights=0,
        bias=0 if bias is not None else blob_layout.NONE,
        multiplier=0,
        shift=0,
    )
    return kind, params, q, x, weights, bias, y


def _np_requant_double(acc, multiplier, shift):
    """MultiplyByQuantizedMultiplier (double rounding) on int64 arrays. Only
    used to search for inputs: expected outputs always come from TFLite. |acc|
    stays far below 2^31 here, so the saturating corner case cannot occur."""
    multiplier = np.asarray(multiplier, np.int64)
    shift = np.asarray(shift, np.int64)
    x = acc * np.left_shift(np.int64(1), np.maximum(shift, 0))
    ab = x * multiplier
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.sign(v) * (np.abs(v) >> 31)
    right = np.maximum(-shift, 0)
    mask = np.left_shift(np.int64(1), right) - 1
    return (high >> right) + ((high & mask) > (mask >> 1) + (high < 0))


def _np_requant_single(acc, multiplier, shift):
    """The single-rounding form (TFLITE_SINGLE_ROUNDING), same caveats."""
    total = 31 - np.asarray(shift, np.int64)
    return (acc * np.asarray(multiplier, np.int64) + np.left_shift(np.int64(1), total - 1)) >> total


# What TFLite 2.21's reference kernels do, established by the DISCRIMINATE
# runs: the multiplier from the double product for all three ops, single
# rounding for FULLY_CONNECTED and double rounding for the convolutions.
ROUNDING = {"FULLY_CONNECTED": _np_requant_single, "CONV_2D": _np_requant_double}
ALTERNATIVES = ("float_product", "other_rounding")


def discriminating_rows(interp, op, rng):
    """For a FULLY_CONNECTED or 1x1 CONV_2D op: {alternative: input row or
    None}, a row (in_features int8) on which TFLite's arithmetic and the
    alternative give different int8 outputs. Each channel's reachable
    accumulators are walked for one on which the two differ (random rows miss
    them: they sit where the output is large and within ~1e-8 of a rounding
    boundary), then a row reaching it exactly is built."""
    details = {d["index"]: d for d in interp.get_tensor_details()}
    kind = op["op_name"]
    in_idx, w_idx, b_idx = (int(t) for t in op["inputs"])
    out_idx = int(op["outputs"][0])
    weights = interp.get_tensor(w_idx)
    w = weights.reshape(weights.shape[0], -1).astype(np.int64)
    bias = interp.get_tensor(b_idx).astype(np.int64)
    in_scales, in_zps = quant_of(details[in_idx])
    w_scales, _ = quant_of(details[w_idx])
    out_scales, out_zps = quant_of(details[out_idx])
    rounding = ROUNDING[kind]
    other_rounding = _np_requant_double if rounding is _np_requant_single else _np_requant_single
    ours = (rounding, requant_params(in_scales[0], w_scales, out_scales[0]))
    others = {
        "float_product": (rounding, requant_params(in_scales[0], w_scales, out_scales[0], float_product=True)),
        "other_rounding": (other_rounding, ours[1]),
    }

    def channel_outputs(acc, how, c):
        fn, (mult, shift) = how
        c = min(c, len(mult) - 1)  # per tensor: one pair for all channels
        return np.clip(fn(acc, mult[c], shift[c]) + int(out_zps[0]), -128, 127)

    in_lo, in_hi = -128 - int(in_zps[0]), 127 - int(in_zps[0])
    found = {alt: None for alt in ALTERNATIVES}
    for c in range(w.shape[0]):
        reach = int(np.abs(w[c]).sum()) * 128
        acc = np.arange(-reach, reach + 1, dtype=np.int64) + bias[c]
        ref = channel_outputs(acc, ours, c)
        for alt in (alt for alt in ALTERNATIVES if found[alt] is None):
            for target in acc[np.flatnonzero(channel_outputs(acc, others[alt], c) != ref)][:8]:
                row = row_with_accumulator(w[c], int(target - bias[c]), in_lo, in_hi, rng)
                if row is not None:
                    found[alt] = (row + int(in_zps[0])).astype(np.int8)
                    break
        if all(row is not None for row in found.values()):
            break
    return found


def row_with_accumulator(w, target, lo, hi, rng, tries=50):
    """An integer row v, lo <= v <= hi, with v @ w == target, or None:
    coordinate descent towards the target, then an exact finish on two
    coordinates (integer weights make one likely within a few steps)."""
    nonzero = np.flatnonzero(w)
    for _ in range(tries):
        v = rng.integers(lo, hi + 1, size=w.size)
        for _ in range(4):
            for i in rng.permutation(nonzero):
                r = target - int(v @ w)
                v[i] = min(hi, max(lo, v[i] + round(r / int(w[i]))))
        r = target - int(v @ w)
        if r == 0:
            return v
        for i in nonzero:
            for j in nonzero:
                if i == j:
                    continue
                for di in range(-16, 17):
                    rest = r - di * int(w[i])
                    if rest % int(w[j]) == 0:
                        dj = rest // int(w[j])
                        if lo <= v[i] + di <= hi and lo <= v[j] + dj <= hi:
                            v[i] += di
                            v[j] += dj
                            assert int(v @ w) == target
                            return v
    return None


# --------------------------------------------------------------------------
# The cases: (name, input shape without batch, layer factory)


def _conv(filters, kernel, **kw):
    return lambda keras: keras.layers.Conv2D(filters, kernel, **kw)


def _dw(kernel, **kw):
    return lambda keras: keras.layers.DepthwiseConv2D(kernel, **kw)


def _dense(units, **kw):
    return lambda keras: keras.layers.Dense(units, **kw)


def _conv1d(filters, kernel, **kw):
    return lambda keras: keras.layers.Conv1D(filters, kernel, **kw)


CASES = {
    # CONV_2D
    "conv_3x3_same_relu": ((5, 5, 3), _conv(4, 3, padding="same", activation="relu")),
    "conv_3x2_s21_valid": ((6, 5, 2), _conv(3, (3, 2), strides=(2, 1), padding="valid")),
    "conv_3x3_s2_same_relu6": ((7, 7, 3), _conv(4, 3, strides=2, padding="same", activation="relu6")),
    "conv_dil2_same": ((8, 6, 2), _conv(3, 3, dilation_rate=2, padding="same")),
    "conv_2x3_dil21_valid_relu": ((9, 7, 3), _conv(2, (2, 3), dilation_rate=(2, 1), activation="relu")),
    # Rows as wide as the image but dilated: not one run of the input.
    "conv_rowwide_dil21_valid": ((9, 3, 2), _conv(3, (2, 3), dilation_rate=(2, 1))),
    "conv_1x1": ((4, 4, 8), _conv(6, 1)),
    "conv_1x1_s2_same_relu": ((5, 6, 4), _conv(3, 1, strides=2, padding="same", activation="relu")),
    "conv_5x5_on_3x3_same": ((3, 3, 2), _conv(5, 5, padding="same")),
    "conv_3x3_s3_same_nobias": ((6, 6, 3), _conv(4, 3, strides=3, padding="same", use_bias=False)),
    "conv_1x4_s12_same_relu6": ((1, 9, 4), _conv(3, (1, 4), strides=(1, 2), padding="same", activation="relu6")),
    "conv_deep_3x3": ((5, 5, 16), _conv(8, 3, padding="same")),
    "conv_5x5_s2_valid": ((10, 10, 1), _conv(2, 5, strides=2)),
    "conv_even_4x4_same": ((7, 6, 2), _conv(3, 4, padding="same")),
    # DEPTHWISE_CONV_2D
    "dw_3x3_same_relu": ((5, 5, 3), _dw(3, padding="same", activation="relu")),
    "dw_3x2_s21_dm2_valid": ((6, 5, 2), _dw((3, 2), strides=(2, 1), depth_multiplier=2)),
    "dw_3x3_s2_dm3_same_relu6": ((7, 7, 3), _dw(3, strides=2, depth_multiplier=3, padding="same", activation="relu6")),
    "dw_dil2_same": ((8, 8, 2), _dw(3, dilation_rate=2, padding="same")),
    "dw_2x3_dil12_dm2_nobias": ((6, 7, 4), _dw((2, 3), dilation_rate=(1, 2), depth_multiplier=2, use_bias=False)),
    "dw_5x5_on_3x3_same": ((3, 3, 5), _dw(5, padding="same")),
    "dw_1x1_dm3": ((4, 4, 3), _dw(1, depth_multiplier=3)),
    "dw_3x3_s3_dm2_same_relu": ((9, 9, 2), _dw(3, strides=3, depth_multiplier=2, padding="same", activation="relu")),
    # FULLY_CONNECTED
    "dense_relu": ((10,), _dense(5, activation="relu")),
    "dense_nobias": ((16,), _dense(7, use_bias=False)),
    "dense_rows_relu6": ((3, 8), _dense(4, activation="relu6")),
    "dense_one_input": ((1,), _dense(3)),
    "dense_one_output": ((32,), _dense(1)),
    "dense_on_image": ((2, 2, 6), _dense(5)),
    # Conv1D (lowered to CONV_2D, the dilated one through SPACE_TO_BATCH_ND)
    "conv1d_same": ((12, 4), _conv1d(3, 3, padding="same")),
    "conv1d_s2_valid_relu": ((11, 3), _conv1d(2, 4, strides=2, activation="relu")),
    "conv1d_dil2_same": ((10, 2), _conv1d(3, 3, dilation_rate=2, padding="same")),
    "conv1d_1x1": ((9, 4), _conv1d(4, 1)),
    # Wide layers for the multiplier formula check (see DISCRIMINATE).
    "dense_wide": ((4, 64), _dense(64)),
    "conv_1x1_wide": ((2, 2, 64), _conv(64, 1)),
    # Depth multiplier 1 with 4n channels (grouped, offset folded inside) plus leftovers.
    "dw_3x3_c6_same": ((6, 7, 6), _dw(3, padding="same")),
    "dw_3x3_s2_c8_valid_relu6": ((9, 9, 8), _dw(3, strides=2, activation="relu6")),
    "dw_3x3_dil2_c4_same_nobias": ((9, 8, 4), _dw(3, dilation_rate=2, padding="same", use_bias=False)),
    "dw_2x4_c12_same": ((5, 9, 12), _dw((2, 4), padding="same")),
    "dw_3x3_c68_same": ((4, 5, 68), _dw(3, padding="same")),  # two channel chunks
    "dw_7x7_c4_same": ((8, 8, 4), _dw(7, padding="same")),  # window too large to group
}

# Cases also converted with per-tensor weights.
PER_TENSOR = [
    "conv_3x3_same_relu",
    "conv_3x3_s2_same_relu6",
    "conv_dil2_same",
    "conv_1x1",
    "dw_3x2_s21_dm2_valid",
    "dw_3x3_s2_dm3_same_relu6",
    "dense_relu",
    "dense_rows_relu6",
    "dense_nobias",
    "conv1d_s2_valid_relu",
    "dense_wide",
    "conv_1x1_wide",
]

# Cases that get one extra input whose rows are searched so that TFLite's
# arithmetic (ROUNDING, requant_params) and each alternative (multiplier from
# the float product of the scales; the other rounding) give different int8
# outputs. Random inputs rarely tell them apart, so without this the tests
# could pass with the wrong choice.
DISCRIMINATE = ["dense_wide", "conv_1x1_wide"]

TARGET_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


@functools.cache
def converted(per_channel):
    """Build, convert and run one model holding a branch per case.

    Returns ({case name: [(kind, params, q, x, weights, bias, expected), ...]},
    {DISCRIMINATE case name: {alternative: whether a row was found}}), one
    entry per input: RUNS random ones, then one holding the searched rows."""
    import keras
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as fb

    names = list(CASES) if per_channel else PER_TENSOR
    # A generator per case, seeded by its name: adding a case must not change
    # another's data (the DISCRIMINATE searches depend on theirs).
    rngs = {name: np.random.default_rng([1234 if per_channel else 5678, zlib.crc32(name.encode())]) for name in names}
    keras.utils.set_random_seed(7)
    inputs, outputs = [], []
    for name in names:
        shape, make = CASES[name]
        inp = keras.Input(shape, batch_size=1, name=name)
        layer = make(keras)
        outputs.append(layer(inp))
        inputs.append(inp)
        # Random weights and a bias large enough to matter.
        layer.set_weights(
            [
                rngs[name].normal(0.0, 0.5 if w.ndim == 1 else 0.3, size=w.shape).astype(np.float32)
                for w in layer.get_weights()
            ]
        )
    model = keras.Model(inputs, outputs)

    def representative():
        for _ in range(16):
            yield {name: rngs[name].normal(0.0, 1.0, size=(1, *CASES[name][0])).astype(np.float32) for name in names}

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if not per_channel:
        conv._experimental_disable_per_channel = True
    flatbuffer = conv.convert()

    interp = tf.lite.Interpreter(
        model_content=flatbuffer,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interp.allocate_tensors()
    ops = interp._get_ops_details()

    # Flatbuffer operators, keyed by output tensor, for the builtin options.
    fb_model = fb.Model.GetRootAsModel(flatbuffer, 0)
    subgraph = fb_model.Subgraphs(0)
    fb_ops = {}
    for i in range(subgraph.OperatorsLength()):
        fb_op = subgraph.Operators(i)
        fb_ops[tuple(fb_op.OutputsAsNumpy().tolist())] = fb_op

    # For each case, the first target op downstream of its input.
    consumers = {}
    for op in ops:
        for t in op["inputs"]:
            consumers.setdefault(int(t), []).append(op)
    input_of = {
        name: d for d in interp.get_input_details() for name in names if d["name"] in (name, f"serving_default_{name}:0")
    }
    assert set(input_of) == set(names)
    case_op = {}
    for name, detail in input_of.items():
        frontier = [detail["index"]]
        while name not in case_op:
            assert frontier, f"no conv/dense op found for {name}"
            nxt = []
            for t in frontier:
                for op in consumers.get(t, []):
                    if op["op_name"] in TARGET_OPS:
                        case_op[name] = op
                        break
                    nxt.extend(int(o) for o in op["outputs"])
            frontier = nxt

    special = {name: discriminating_rows(interp, case_op[name], rngs[name]) for name in DISCRIMINATE if name in names}
    results = {name: [] for name in names}
    for run in range(RUNS + 1):
        for name, detail in input_of.items():
            x = rngs[name].integers(-128, 128, size=detail["shape"], dtype=np.int8)
            if run == RUNS and name in special:
                for i, row in enumerate(special[name].values()):
                    if row is not None:
                        x.reshape(-1, row.size)[i] = row
            interp.set_tensor(detail["index"], x)
        interp.invoke()
        for name, op in case_op.items():
            fb_op = fb_ops[tuple(int(o) for o in op["outputs"])]
            results[name].append(kernel_inputs(op, interp, fb_op))
    return results, {name: {alt: row is not None for alt, row in rows.items()} for name, rows in special.items()}


KIND_OF_CASE = {
    name: "FULLY_CONNECTED" if name.startswith("dense") else "DEPTHWISE_CONV_2D" if name.startswith("dw") else "CONV_2D"
    for name in CASES
}


def check_case(name, per_channel):
    runs = converted(per_channel)[0][name]
    for kind, params, q, x, weights, bias, expected in runs:
        assert kind == KIND_OF_CASE[name]
        if per_channel:
            assert q["channel_quant"] == (weights.shape[0] if kind != "DEPTHWISE_CONV_2D" else weights.shape[3])
        else:
            assert q["channel_quant"] == 1
        status, got = call_kernel(kind, params, q, x, weights, bias, expected.shape)
        assert status == TML_OK
        mismatch = np.argwhere(got != expected)
        assert mismatch.size == 0, (
            f"{len(mismatch)} of {expected.size} differ, first at {mismatch[0].tolist()}: "
            f"ours {got[tuple(mismatch[0])]} TFLite {expected[tuple(mismatch[0])]}"
        )
        # A bias of zeros (Conv2D without bias) must equal no bias at all.
        if bias is not None and not bias.any():
            status, got = call_kernel(kind, params, q, x, weights, None, expected.shape)
            assert status == TML_OK and np.array_equal(got, expected)


@pytest.mark.parametrize("name", list(CASES))
def test_per_channel(name):
    check_case(name, per_channel=True)


@pytest.mark.parametrize("name", PER_TENSOR)
def test_per_tensor(name):
    check_case(name, per_channel=False)


# The float-product alternative is only checked per channel: with one
# multiplier per layer, an accumulator value on which the two multipliers
# round differently rarely exists at all (the two differ by about 3e-8). The
# multiplier code is the same for per-tensor and per-channel weights in
# TFLite's Prepare, and a one-off search over eight per-tensor Dense layers
# found one such layer, where TFLite again used the double product.
@pytest.mark.parametrize(
    "name,per_channel,alternative",
    [(name, True, alt) for name in DISCRIMINATE for alt in ALTERNATIVES]
    + [(name, False, "other_rounding") for name in DISCRIMINATE],
)
def test_requant_choice_is_discriminated(name, per_channel, alternative):
    """An input row was found on which TFLite's arithmetic and the alternative
    disagree, so test_per_channel/test_per_tensor of this case (which must
    pass) pin the choice down."""
    assert converted(per_channel)[1][name][alternative]


def test_cases_exercise_saturation():
    """The random data must reach the clamps, or the clamp code goes untested."""
    runs = converted(True)[0]
    outs = np.concatenate([r[-1].ravel() for case in runs.values() for r in case])
    assert (outs == -128).any() and (outs == 127).any()


# --------------------------------------------------------------------------
# Accumulator bound: the longest accepted reduction at the worst values, and
# one term more is refused. Expected values are worked by hand: with
# multiplier 2^30 and shift -23 the requantisation is acc / 2^24, which for
# acc = -128 * 255 * 65536 is exactly -127.5: the double rounding (conv) takes
# it away from zero to -128, the single rounding (fully connected) up to -127.

MAX_TERMS = 65536


def _hand_requant(acc, zero_point, single_rounding):
    exact = Fraction(acc, 1 << 24)
    if single_rounding:
        rounded = math.floor(exact + Fraction(1, 2))
    else:
        rounded = int(abs(exact) + Fraction(1, 2)) * (1 if exact >= 0 else -1)
    return max(-128, min(127, rounded + zero_point))


def _worst_q(zp_out):
    return dict(input_offset=128, output_offset=zp_out, multiplier=[1 << 30], shift=[-23], channel_quant=1)


def _conv_params(kind, kh, kw, **over):
    fields = dict(
        kernel_h=kh,
        kernel_w=kw,
        stride_h=1,
        stride_w=1,
        dilation_h=1,
        dilation_w=1,
        pad_top=0,
        pad_left=0,
        depth_multiplier=1,
        channel_quant=1,
        act_min=-128,
        act_max=127,
        weights=0,
        bias=blob_layout.NONE,
        multiplier=0,
        shift=0,
    )
    fields.update(over)
    return blob_layout.pack_params(kind, **fields)


def _fc_params(**over):
    fields = dict(
        channel_quant=1, reserved=0, act_min=-128, act_max=127, weights=0, bias=blob_layout.NONE, multiplier=0, shift=0
    )
    fields.update(over)
    return blob_layout.pack_params("FULLY_CONNECTED", **fields)


@pytest.mark.parametrize("wval,zp_out", [(-128, 100), (127, -100)])
def test_worst_case_accumulation(wval, zp_out):
    acc = wval * 255 * MAX_TERMS
    expected_fc = _hand_requant(acc, zp_out, single_rounding=True)
    expected = _hand_requant(acc, zp_out, single_rounding=False)
    x = np.full(MAX_TERMS, 127, dtype=np.int8)
    q = _worst_q(zp_out)
    # FULLY_CONNECTED, 1x1 CONV_2D (the matrix path), a 256x256 CONV_2D window
    # (the general path) and a 256x256 DEPTHWISE_CONV_2D window.
    status, got = call_kernel(
        "FULLY_CONNECTED", _fc_params(), q, x, np.full((1, MAX_TERMS), wval, np.int8), None, (1, 1)
    )
    assert status == TML_OK and got[0, 0] == expected_fc
    status, got = call_kernel(
        "CONV_2D", _conv_params("CONV_2D", 1, 1), q, x.reshape(1, 1, 1, -1),
        np.full((1, 1, 1, MAX_TERMS), wval, np.int8), None, (1, 1, 1, 1),
    )
    assert status == TML_OK and got.item() == expected
    status, got = call_kernel(
        "CONV_2D", _conv_params("CONV_2D", 256, 256), q, x.reshape(1, 256, 256, 1),
        np.full((1, 256, 256, 1), wval, np.int8), None, (1, 1, 1, 1),
    )
    assert status == TML_OK and got.item() == expected
    status, got = call_kernel(
        "DEPTHWISE_CONV_2D", _conv_params("DEPTHWISE_CONV_2D", 256, 256), q, x.reshape(1, 256, 256, 1),
        np.full((1, 256, 256, 1), wval, np.int8), None, (1, 1, 1, 1),
    )
    assert status == TML_OK and got.item() == expected


def test_reduction_longer_than_bound_is_refused():
    q = _worst_q(0)
    n = MAX_TERMS + 1
    status, _ = call_kernel(
        "FULLY_CONNECTED", _fc_params(), q, np.zeros(n, np.int8), np.zeros((1, n), np.int8), None, (1, 1)
    )
    assert status == TML_ERR_BAD_PARAM
    # 3x3 window over 7282 channels: 65538 terms.
    status, _ = call_kernel(
        "CONV_2D", _conv_params("CONV_2D", 3, 3), q, np.zeros((1, 3, 3, 7282), np.int8),
        np.zeros((1, 3, 3, 7282), np.int8), None, (1, 1, 1, 1),
    )
    assert status == TML_ERR_BAD_PARAM
    status, _ = call_kernel(
        "DEPTHWISE_CONV_2D", _conv_params("DEPTHWISE_CONV_2D", 257, 256), q, np.zeros((1, 257, 256, 1), np.int8),
        np.zeros((1, 257, 256, 1), np.int8), None, (1, 1, 1, 1),
    )
    assert status == TML_ERR_BAD_PARAM


@pytest.mark.parametrize(
    "kind,over,q_over,out_c,expected",
    [
        ("CONV_2D", dict(stride_h=0), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(dilation_w=0), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(kernel_h=0), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(depth_multiplier=2), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(act_min=10, act_max=5), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(act_max=128), {}, 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", dict(channel_quant=3), dict(channel_quant=3), 2, TML_ERR_BAD_PARAM),
        ("CONV_2D", {}, dict(channel_quant=2), 1, TML_ERR_BAD_PARAM),
        ("DEPTHWISE_CONV_2D", dict(depth_multiplier=2), {}, 2, TML_ERR_BAD_SHAPE),
        ("DEPTHWISE_CONV_2D", dict(depth_multiplier=0), {}, 0, TML_ERR_BAD_SHAPE),
        ("DEPTHWISE_CONV_2D", dict(stride_w=0), {}, 2, TML_ERR_BAD_PARAM),
    ],
)
def test_bad_params_refused(kind, over, q_over, out_c, expected):
    q = dict(input_offset=0, output_offset=0, multiplier=[1 << 30] * 3, shift=[-1] * 3, channel_quant=1)
    q.update(q_over)
    x = np.zeros((1, 3, 3, 2), np.int8)
    w = np.zeros((2, 3, 3, 2), np.int8) if kind == "CONV_2D" else np.zeros((1, 3, 3, 2), np.int8)
    status, _ = call_kernel(kind, _conv_params(kind, 3, 3, **over), q, x, w, None, (1, 1, 1, max(out_c, 1)))
    assert status == expected


def test_bad_shapes_refused():
    q = dict(input_offset=0, output_offset=0, multiplier=[1 << 30], shift=[-1], channel_quant=1)
    x = np.zeros((2, 3, 3, 2), np.int8)
    w = np.zeros((2, 3, 3, 2), np.int8)
    # Batch of the output differs from the input's.
    status, _ = call_kernel("CONV_2D", _conv_params("CONV_2D", 3, 3), q, x, w, None, (1, 1, 1, 2))
    assert status == TML_ERR_BAD_SHAPE
    status, _ = call_kernel(
        "FULLY_CONNECTED", _fc_params(), q, np.zeros(4, np.int8), np.zeros((0, 4), np.int8), None, (1, 0)
    )
    assert status == TML_ERR_BAD_SHAPE
