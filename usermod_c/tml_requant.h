/* Fixed-point requantisation exactly as TFLite's reference kernels do it
 * (gemmlowp's SaturatingRoundingDoublingHighMul followed by a rounding right
 * shift: TFLite's default "double rounding" MultiplyByQuantizedMultiplier).
 * Every kernel that rescales an int32 accumulator goes through here, so
 * bit-exactness with TFLite hangs on these few lines. */
#ifndef TML_REQUANT_H
#define TML_REQUANT_H

#include <stdint.h>

static inline int32_t tml_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    /* The one input pair whose doubled product overflows int32. */
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* Round-half-away-from-zero division by 2^exponent, exponent in [0, 31]. */
static inline int32_t tml_rounding_divide_by_pot(int32_t x, int32_t exponent) {
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
    return (x >> exponent) + ((remainder > threshold) ? 1 : 0);
}

/* shift > 0 multiplies by 2^shift before the Q31 multiply; shift < 0 divides
 * after it. The converter guarantees shift in [-31, 30]. */
static inline int32_t tml_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    int32_t left_shift = shift > 0 ? shift : 0;
    int32_t right_shift = shift > 0 ? 0 : -shift;
    return tml_rounding_divide_by_pot(
        tml_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier),
        right_shift);
}

/* The single-rounding form: x * multiplier / 2^(31 - shift) rounded once,
 * halves towards +infinity, as TFLite's TFLITE_SINGLE_ROUNDING variant. TFLite
 * 2.21's reference FULLY_CONNECTED (int8, per-tensor and per-channel) rescales
 * this way while CONV_2D and DEPTHWISE_CONV_2D use the double rounding above;
 * the two differ by one in roughly 0.2% of outputs
 * (tests/host/test_kernels_conv.py shows which op uses which). TFLite assumes
 * the result fits in int32; it is saturated here rather than wrapped. */
static inline int32_t tml_multiply_by_quantized_multiplier_single_round(int32_t x, int32_t multiplier, int32_t shift) {
    int32_t total_shift = 31 - shift;
    int64_t result = ((int64_t)x * multiplier + ((int64_t)1 << (total_shift - 1))) >> total_shift;
    return result > INT32_MAX ? INT32_MAX : (result < INT32_MIN ? INT32_MIN : (int32_t)result);
}

static inline int32_t tml_clamp(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TML_REQUANT_H */
