"""Quantisation as TFLite does it: of values (QUANTIZE, DEQUANTIZE) and of
requantisation parameters (what TFLite's Prepare derives from float scales).

The C kernels only ever see (multiplier, shift) pairs; how TFLite derives them
from float scales decides bit-exactness, so each derivation lives here once.
"""

import math

import numpy as np


def tflite_round(x: float) -> int:
    """std::round: halves away from zero (Python's round() is banker's)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= multiplier * 2**(shift - 31), multiplier in Q31."""
    if real_multiplier == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real_multiplier)
    q_fixed = tflite_round(mantissa * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    if shift > 30:
        shift = 30
        q_fixed = (1 << 31) - 1
    return int(q_fixed), int(shift)


def quantize(x, scale: float, zero_point: int, dtype="int8"):
    """Floats to integers as TFLite's QUANTIZE does: the quotient in float32,
    rounded half away from zero, plus the zero point, saturated to `dtype`.

    The one quantiser of the host side (CLI, host runtime, tests); the
    firmware's tinyml.quantize mirrors it. numpy's round() would send ties
    to the even neighbour."""
    info = np.iinfo(dtype)
    q = np.asarray(x, dtype=np.float32) / np.float32(scale)
    if not np.all(np.isfinite(q)):
        raise ValueError("cannot quantise a value that is not finite (NaN or infinity)")
    whole = np.trunc(q)
    rounded = whole + np.where(np.abs(q - whole) >= 0.5, np.sign(q), 0)  # q - whole is exact
    rounded = np.clip(rounded, info.min - abs(zero_point) - 1, info.max + abs(zero_point) + 1)
    return np.clip(rounded.astype(np.int64) + int(zero_point), info.min, info.max).astype(dtype)


def dequantize(q, scale: float, zero_point: int):
    """(q - zero_point) * scale in float32, as TFLite's DEQUANTIZE does."""
    return (np.asarray(q).astype(np.int32) - np.int32(zero_point)).astype(np.float32) * np.float32(scale)


SUM_STEPS = 255


def _sum_output(sums, in_scale: float, in_zp: int, out_scale: float, out_zp: int, count: int):
    """TF 2.21's int8 SUM that requantises (optimized_ops::QuantizedMeanOrSum
    with compute_sum, the kernel TFLite's default resolver runs) on raw sums
    of `count` int8 values: scale = in / out and the zero-point bias in
    float32, sum * scale + bias in float32, std::round, + output zero point,
    clamped to int8."""
    f32 = np.float32
    scale = f32(in_scale) / f32(out_scale)
    bias = f32(f32(-in_zp) * scale) * f32(count)
    v = (np.asarray(sums, np.int64).astype(f32) * scale + bias).astype(np.float64)
    rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)  # exact in float64
    return np.clip(rounded + out_zp, -128, 127).astype(np.int64)


def sum_steps(in_scale: float, in_zp: int, out_scale: float, out_zp: int, count: int) -> list:
    """The requantising int8 SUM as a step table: entry k is the smallest raw
    sum whose output is at least -127 + k (127 * count + 1 if none), so the
    output of a sum s is -128 plus the number of entries <= s. Every step of
    TFLite's float formula is monotonic in s, so the table is exact and the
    kernel needs no floating point; found by bisection over the sums' range."""
    lo_s, hi_s = -128 * count, 127 * count + 1
    levels = np.arange(-127, 128, dtype=np.int64)
    lo = np.full(SUM_STEPS, lo_s, np.int64)
    hi = np.full(SUM_STEPS, hi_s, np.int64)
    # Invariant: out(lo - 1) < level (or lo is the range start); out(hi) >= level or hi = hi_s.
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        ok = _sum_output(mid, in_scale, in_zp, out_scale, out_zp, count) >= levels
        hi = np.where(ok & (lo < hi), mid, hi)
        lo = np.where(~ok & (lo < hi), mid + 1, lo)
    return [int(v) for v in lo]
