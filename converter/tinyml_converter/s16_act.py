"""Parameters of the int16 LOGISTIC, TANH and SOFTMAX kernels
(usermod_c/tml_s16_act.h), derived from the TFLite tensors' float scales the
way TFLite 2.21's Prepare derives them, so that the kernels match its
reference interpreter bit for bit. No TensorFlow needed.

Where TFLite computes in float32 (tensor scales, SOFTMAX's scale * beta,
CheckedLog2) the arithmetic here is float32 too; where it promotes to double,
so does this. Each function raises ConversionError for the tensors TFLite's
Prepare rejects, and for the few it accepts but then computes with undefined
C++ (the kernels' checks would reject those parameters anyway).
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConversionError

LUT_SIZE = 513  # TML_S16_LUT_SIZE: 512 intervals plus the last end point
SOFTMAX_MAX_DEPTH = 65536  # TML_S16_SOFTMAX_MAX_DEPTH

_F32 = np.float32


@dataclass(frozen=True)
class S16PrescaleParams:
    """tml_s16_logistic_params_t / tml_s16_tanh_params_t."""

    input_multiplier: int  # >= 0
    input_left_shift: int  # [0, 31]


@dataclass(frozen=True)
class S16SoftmaxParams:
    """tml_s16_softmax_params_t without its two table pointers (the tables are
    softmax_exp_lut() and softmax_one_over_one_plus_x_lut())."""

    input_multiplier: int  # Q31, >= 0
    input_shift: int  # [-31, 30]


def _round_half_away(x: float) -> float:
    """std::round on a double: halves away from zero. x - floor(x) is exact,
    unlike floor(x + 0.5), which rounds 0.49999999999999994 up."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1.0
    return math.copysign(r, x)


def _round_half_away_f32(x) -> np.float32:
    """std::round on a float (exact in double, then back: the result is an
    integer of at most 24 significant bits)."""
    return _F32(_round_half_away(float(x)))


def _logf(x) -> np.float32:
    # glibc's logf is within 0.82 ulp; the double log rounded to float is the
    # correctly rounded one. They differ only on near-ties, which matter here
    # only for a scale whose log2 is within 1e-7 of the 1e-3 threshold below.
    return _F32(math.log(float(x)))


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: (whether x is within 2^(+/-0.001) of a
    power of two, log2(x) rounded)."""
    x_log2 = _logf(_F32(x)) * (_F32(1.0) / _logf(_F32(2.0)))
    rounded = _round_half_away_f32(x_log2)
    frac = _F32(x_log2 - rounded)
    return bool(abs(frac) < _F32(1e-3)), int(rounded)


def quantize_multiplier_double_rounding(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier as built without TFLITE_SINGLE_ROUNDING
    (the pip package): real ~= multiplier * 2^(shift - 31). Unlike the
    single-rounding build it does not saturate shifts above 30."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(_round_half_away(q * float(1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def _require_zero_points(op: str, input_zero_point: int, output_zero_point: int) -> None:
    if input_zero_point != 0 or output_zero_point != 0:
        raise ConversionError(f"{op} int16: TFLite requires zero points 0 (got input "
                              f"{input_zero_point}, output {output_zero_point})")


def _prescale(op: str, input_scale: float, pot_shifts: tuple) -> S16PrescaleParams:
    """The rescale of the input onto 1/(3 * 4096) per step. An input scale
    TFLite takes for 2^(k - 12), k in pot_shifts, becomes x * (3 << k); any
    other one a multiplier in (16383.5, 32767] truncated from
    scale * 12288 * 2^shift (TFLite's doubling loop stops at shift 31)."""
    scale = _F32(input_scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ConversionError(f"{op} int16: input scale must be positive and finite, got {input_scale}")
    is_pot, log2 = checked_log2(scale)
    left_shift = 12 + log2
    if is_pot and left_shift in pot_shifts:
        return S16PrescaleParams(3 << left_shift, 0)
    multiplier = float(scale) * 4096.0 * 3.0
    left_shift = 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    if multiplier >= 2.0 ** 31:
        # TFLite's conversion to int32 is undefined here (scale >= 174763).
        raise ConversionError(f"{op} int16: input scale {input_scale} is too large")
    m = int(multiplier)  # static_cast<int32_t>: truncates
    if m == 0:
        # TFLite would take 0 for its power-of-two marker and shift 3 by 31.
        raise ConversionError(f"{op} int16: input scale {input_scale} is too small")
    return S16PrescaleParams(m, left_shift)


def logistic_params(input_scale: float, output_scale: float,
                    input_zero_point: int = 0, output_zero_point: int = 0) -> S16PrescaleParams:
    """tml_s16_logistic_params_t for an int16 LOGISTIC. TFLite requires the
    output scale to be exactly 2^-15."""
    if _F32(output_scale) != _F32(1.0 / 32768):
        raise ConversionError(f"LOGISTIC int16: output scale must be 1/32768, got {output_scale}")
    _require_zero_points("LOGISTIC", input_zero_point, output_zero_point)
    return _prescale("LOGISTIC", input_scale, (0,))


def tanh_params(input_scale: float, output_scale: float,
                input_zero_point: int = 0, output_zero_point: int = 0) -> S16PrescaleParams:
    """tml_s16_tanh_params_t for an int16 TANH. TFLite requires only that the
    output scale be 2^-15 within CheckedLog2's tolerance (the kernel's output
    is 2^-15 regardless)."""
    _require_zero_points("TANH", input_zero_point, output_zero_point)
    is_pot, log2 = checked_log2(_F32(output_scale)) if _F32(output_scale) > 0 else (False, 0)
    if not is_pot or log2 != -15:
        raise ConversionError(f"TANH int16: output scale must be 1/32768, got {output_scale}")
    return _prescale("TANH", input_scale, (0, 1))


def softmax_params(input_scale: float, beta: float, output_scale: float,
                   input_zero_point: int = 0, output_zero_point: int = 0) -> S16SoftmaxParams:
    """tml_s16_softmax_params_t's rescale for an int16 SOFTMAX: the
    double-rounding Q31 pair of input_scale * beta (a float32 product, as in
    TFLite) * 65535 / 10, mapping [-65535, 0] onto the exp table's [-10, 0].
    TFLite requires output scale 1/32768 within 0.1%."""
    # TF_LITE_ENSURE_NEAR on floats: |scale - 1/32768| > 0.001 / 32768 fails.
    if not np.abs(_F32(output_scale) - _F32(1.0 / 32768)) <= _F32(0.001) * _F32(1.0) / _F32(32768):
        raise ConversionError(f"SOFTMAX int16: output scale must be 1/32768, got {output_scale}")
    _require_zero_points("SOFTMAX", input_zero_point, output_zero_point)
    product = _F32(input_scale) * _F32(beta)
    if not (np.isfinite(product) and product >= 0):
        raise ConversionError(f"SOFTMAX int16: input scale * beta must be finite and >= 0, "
                              f"got {input_scale} * {beta}")
    multiplier, shift = quantize_multiplier_double_rounding(float(product) / (10.0 / 65535.0))
    if shift > 30:
        # TFLite would shift 1 by 31 or more (undefined); scale * beta >= 163840.
        raise ConversionError(f"SOFTMAX int16: input scale * beta = {float(product)} is too large")
    return S16SoftmaxParams(multiplier, shift)


def _lut_populate_int16_double(transform, input_scale: float, input_zero_point: int,
                               output_scale: float, output_zero_point: int) -> np.ndarray:
    """TFLite's 513-entry int16 table generation in double precision (the
    variant its int16 SOFTMAX uses): samples of transform at the start of
    each of 512 intervals, each biased by half the interpolation error at the
    interval's midpoint, in output units of 65536 / (output range)."""
    input_min = input_scale * (-32768 - input_zero_point)
    input_max = input_scale * (32767 - input_zero_point)
    output_min = output_scale * (-32768 - output_zero_point)
    output_max = output_scale * (32767 - output_zero_point)
    steps = 512
    step = (input_max - input_min) / steps
    half_step = step / 2
    inv = 65536.0 / (output_max - output_min)
    out = np.empty(LUT_SIZE, np.int16)
    r = _round_half_away
    for i in range(steps):
        start = input_min + i * step
        val = transform(start)
        mid = transform(start + half_step)
        nxt = transform(input_min + (i + 1) * step)
        sample = r(val * inv)
        interp_mid = r((nxt * inv + r(val * inv)) / 2)
        bias = r((interp_mid - r(mid * inv)) / 2)
        out[i] = int(min(max(sample - bias, -32768.0), 32767.0))
    out[steps] = int(min(max(r(transform(input_max) * inv), -32768.0), 32767.0))
    return out


def softmax_exp_lut() -> np.ndarray:
    """exp(x) on [-10, 0] (int16 -32768 .. 32767), output 2/65535 per step."""
    return _lut_populate_int16_double(math.exp, 10.0 / 65535, 32767, 2.0 / 65535, 0)


def softmax_one_over_one_plus_x_lut() -> np.ndarray:
    """1 / (1 + x) on [0, 1] (int16 -32768 .. 32767), output 2/65535 per step."""
    return _lut_populate_int16_double(lambda v: 1.0 / (1.0 + v), 1.0 / 65535, -32768, 2.0 / 65535, 0)
