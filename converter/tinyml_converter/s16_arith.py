"""Params of the int16 (16x8) ADD, SUB, MUL, pool and MEAN kernels
(usermod_c/tml_s16_arith.h), computed from the TFLite tensors' float32
scales as TFLite 2.21's Prepare computes them: the same float32 or float64
arithmetic at each step, and QuantizeMultiplier's frexp and round-half-away.
No TensorFlow needed.
"""

import math

import numpy as np

INT16_MIN, INT16_MAX = -32768, 32767
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3


def _f32(x):
    return np.float32(x)


def quantize_multiplier(m: float):
    """TFLite's QuantizeMultiplier (double-rounding build): m = q * 2^shift,
    q in [2^30, 2^31) as an int32, flushed to (0, 0) below 2^-31."""
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = int(math.floor(abs(frac) * (1 << 31) + 0.5))  # std::round: halves away from zero
    q = q if frac >= 0 else -q
    if q == (1 << 31):
        q //= 2
        shift += 1
    if q > 2**31 - 1:
        raise ValueError("multiplier out of range")
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multiplier_smaller_than_one(m: float):
    if not 0.0 < m < 1.0:
        raise ValueError(f"multiplier {m} not in (0, 1)")
    q, shift = quantize_multiplier(m)
    if shift > 0:
        raise ValueError("shift > 0")
    return q, shift


def activation_range(act: int, scale: float):
    """CalculateActivationRangeQuantized for int16, zero point 0: the float
    bounds 0 and 6 (or -1, 1) quantised as round(x / scale) in float32."""
    s = _f32(scale)

    def q(x):
        return int(_round_half_away(float(_f32(x) / s)))

    if act == ACT_NONE:
        return INT16_MIN, INT16_MAX
    if act == ACT_RELU:
        return max(INT16_MIN, q(0.0)), INT16_MAX
    if act == ACT_RELU6:
        return max(INT16_MIN, q(0.0)), min(INT16_MAX, q(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(INT16_MIN, q(-1.0)), min(INT16_MAX, q(1.0))
    raise ValueError(f"activation {act} not supported")


def _round_half_away(x: float) -> float:
    return math.copysign(math.floor(abs(x) + 0.5), x)


def checked_log2(x: float):
    """TFLite's CheckedLog2: float32 log / log(2), accepted as a power of two
    within 1e-3 of an integer."""
    x = _f32(x)
    l2 = _f32(np.log(x) * (_f32(1.0) / np.log(_f32(2.0))))
    r = _f32(_round_half_away(float(l2)))
    return abs(float(_f32(l2 - r))) < 1e-3, int(r)


def addsub_params(s1: float, s2: float, so: float, activation: int = ACT_NONE, pot_scale_int16: bool = True,
                  is_sub: bool = False) -> dict:
    """tml_s16_addsub_params_t fields for ADD (or SUB) with input scales
    s1, s2 and output scale so; pot_scale_int16 is the options' flag (the
    schema's default True; TF's converter writes False)."""
    pot = False
    if pot_scale_int16:
        p1, l1 = checked_log2(s1)
        p2, l2 = checked_log2(s2)
        po, lo = checked_log2(so)
        pot = p1 and p2 and po
    amin, amax = activation_range(activation, so)
    if pot:
        sh1, sh2 = l1 - lo, l2 - lo
        if not ((sh1 == 0 or sh2 == 0) and sh1 <= 0 and sh2 <= 0):
            raise ValueError("TFLite refuses these power-of-two scales")
        return dict(pot=1, input1_multiplier=0, input1_shift=sh1, input2_multiplier=0, input2_shift=sh2,
                    output_multiplier=0, output_shift=0, act_min=amin, act_max=amax)
    # 2 * max(float, float) stays float32 (exact), then double from there on.
    twice_max = float(_f32(2) * max(_f32(s1), _f32(s2)))
    r1 = float(_f32(s1)) / twice_max
    r2 = float(_f32(s2)) / twice_max
    ro = twice_max / float(_f32(1 << 15) * _f32(so))
    m1, sh1 = quantize_multiplier_smaller_than_one(r1)
    m2, sh2 = quantize_multiplier_smaller_than_one(r2)
    if is_sub and ro > 1:
        raise ValueError("SUB output multiplier > 1: TFLite's kernel then shifts by a negative amount")
    mo, sho = quantize_multiplier_smaller_than_one(ro)
    return dict(pot=0, input1_multiplier=m1, input1_shift=sh1, input2_multiplier=m2, input2_shift=sh2,
                output_multiplier=mo, output_shift=sho, act_min=amin, act_max=amax)


def mul_params(s1: float, s2: float, so: float, activation: int = ACT_NONE) -> dict:
    """tml_s16_mul_params_t: s1 * s2 / so evaluated in float32 (TFLite
    multiplies the float scales before widening to double)."""
    real = float(_f32(_f32(s1) * _f32(s2)) / _f32(so))
    m, sh = quantize_multiplier(real)
    if sh > 30:
        raise ValueError("MUL multiplier too large")
    amin, amax = activation_range(activation, so)
    return dict(output_multiplier=m, output_shift=sh, act_min=amin, act_max=amax)


def pool_params(in_h: int, in_w: int, filter_h: int, filter_w: int, stride_h: int, stride_w: int, same: bool,
                scale: float, activation: int = ACT_NONE) -> dict:
    """tml_s16_pool_params_t plus out_h/out_w, with TFLite's padding rule."""
    if same:
        out_h = (in_h + stride_h - 1) // stride_h
        out_w = (in_w + stride_w - 1) // stride_w
    else:
        out_h = (in_h - filter_h + stride_h) // stride_h
        out_w = (in_w - filter_w + stride_w) // stride_w
    pad_h = max(0, ((out_h - 1) * stride_h + filter_h - in_h) // 2)
    pad_w = max(0, ((out_w - 1) * stride_w + filter_w - in_w) // 2)
    amin, amax = activation_range(activation, scale)
    return dict(stride_h=stride_h, stride_w=stride_w, filter_h=filter_h, filter_w=filter_w, pad_top=pad_h,
                pad_left=pad_w, act_min=amin, act_max=amax, out_h=out_h, out_w=out_w)


def mean_params(s_in: float, s_out: float, in_dims, axes) -> dict:
    """tml_s16_mean_params_t: QuantizeMultiplier(double(s_in) / double(s_out))
    then folded with 1 / count as the reference QuantizedMeanOrSum does at
    run time (count = product of the reduced dims of the 4-D in_dims)."""
    axes = sorted({a % 4 for a in axes})
    mask = sum(1 << a for a in axes)
    count = 1
    for a in axes:
        count *= int(in_dims[a])
    m, sh = quantize_multiplier(float(_f32(s_in)) / float(_f32(s_out)))
    if count > 0:
        k = count.bit_length() - 1
        k = min(k, 32, 31 + sh)
        m = (m << k) // count  # int64 division of non-negative values
        sh -= k
    return dict(multiplier=m, shift=sh, axis_mask=mask)
