/* Fixed-point requantisation exactly as TFLite's reference kernels do it
 * (gemmlowp's SaturatingRoundingDoublingHighMul followed by a rounding right
 * shift: TFLite's default "double rounding" MultiplyByQuantizedMultiplier).
 * Every kernel that rescales an int32 accumulator goes through here, so
 * bit-exactness with TFLite hangs on these few lines. */
#ifndef TML_REQUANT_H
#define TML_REQUANT_H

#include <stdint.h>

/* Cores without a 32x32->64 multiply instruction (Thumb-1 only: Cortex-M0,
 * M0+, M1) would call a 64x64 library multiply once per output value; there
 * the product is assembled from 16-bit halves instead. TML_REQUANT_HALVES
 * forces that form elsewhere so the host tests can check it. */
#if !defined(TML_REQUANT_HALVES) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB == 1 \
    && !defined(__ARM_ARCH_ISA_ARM)
#define TML_REQUANT_HALVES
#endif

/* TFLite adds a nudge of 2^30 to the product (1 - 2^30 when it is negative)
 * and divides by 2^31 truncating towards zero; for every product that equals
 * floor((a * b + 2^30) / 2^31), an add and an arithmetic shift. */
static inline int32_t tml_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    /* The one input pair whose doubled product overflows int32. */
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
#ifdef TML_REQUANT_HALVES
    /* a = ah * 2^16 + al with 0 <= al < 2^16, same for b; then
     * floor((ab + 2^30) / 2^31) = 2 ah bh + floor(ah bl / 2^15)
     *   + floor(al bh / 2^15) + floor((low 15 bits of both + al bl / 2^16 + 2^14) / 2^15).
     * The partial sums can pass 2^31 when the result does not, so they wrap. */
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t ah = a >> 16, bh = b >> 16;
    const uint32_t ll = al * bl;
    const int32_t m1 = ah * (int32_t)bl, m2 = (int32_t)al * bh;
    const uint32_t rem = ((uint32_t)m1 & 0x7FFFu) + ((uint32_t)m2 & 0x7FFFu) + (ll >> 16) + (1u << 14);
    return (int32_t)(2u * (uint32_t)(ah * bh) + (uint32_t)(m1 >> 15) + (uint32_t)(m2 >> 15) + (rem >> 15));
#else
    return (int32_t)(((int64_t)a * (int64_t)b + (1 << 30)) >> 31);
#endif
}

/* Round-half-away-from-zero division by 2^exponent, exponent in [0, 31]:
 * the floor, plus one when the remainder passes half (ties go up only for
 * non-negative x, the x >> 31 term moving the threshold for negative x). */
static inline int32_t tml_rounding_divide_by_pot(int32_t x, int32_t exponent) {
    const uint32_t mask = (1u << exponent) - 1u;
    const int32_t remainder = (int32_t)((uint32_t)x & mask);
    const int32_t threshold = (int32_t)(mask >> 1) - (x >> 31);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* floor((a * b + nudge) / 2^31) for b >= 0 and nudge 0 or 2^30: the
 * doubling high multiply without its saturation case (which needs
 * b = INT32_MIN), and the first half of the single-rounding rescale. The
 * result fits in int32 because |a * b| < 2^62. */
static inline int32_t tml_mul_q31_floor(int32_t a, int32_t b, int32_t nudge) {
#ifdef TML_REQUANT_HALVES
    const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    const int32_t ah = a >> 16, bh = b >> 16;
    const uint32_t ll = al * bl;
    const int32_t m1 = ah * (int32_t)bl, m2 = (int32_t)al * bh;
    const uint32_t rem = ((uint32_t)m1 & 0x7FFFu) + ((uint32_t)m2 & 0x7FFFu) + (ll >> 16)
        + ((uint32_t)nudge >> 16);
    return (int32_t)(2u * (uint32_t)(ah * bh) + (uint32_t)(m1 >> 15) + (uint32_t)(m2 >> 15) + (rem >> 15));
#else
    return (int32_t)(((int64_t)a * (int64_t)b + nudge) >> 31);
#endif
}

/* Round-half-away-from-zero of v / 2^(k + 1), k in [0, 30], v <= 2^31 - 2
 * (true of every tml_mul_q31_floor() result): with u = v - 1 for negative
 * v (which makes ties round down there), it is floor((u + 2^k) / 2^(k+1)),
 * computed as ((u >> k) + 1) >> 1 so that nothing can overflow. Three
 * instructions fewer than tml_rounding_divide_by_pot() per output value. */
static inline int32_t tml_round_shift_away(int32_t v, int32_t k) {
    const int32_t u = v + (v >> 31);
    return ((u >> k) + 1) >> 1;
}

/* The number of significant bits of x (0 for 0): the float rescales emulated
 * in integers (int16 FULLY_CONNECTED's double, int16 SUM's float32) round to
 * a mantissa width with it. Portable: once per output value. */
static inline int32_t tml_bit_length64(uint64_t x) {
    int32_t n = 0;
    while (x != 0) {
        x >>= 1;
        n++;
    }
    return n;
}

/* a + b wrapping as int32 sums do on every target TFLite runs on; a hostile
 * blob's constants (a bias, a zero point) can push a sum past the range,
 * which must stay defined C. */
static inline int32_t tml_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* Multipliers and shifts are constants of the blob, which may change after
 * load (a reused bytearray): a shift amount out of [0, 31] must still be
 * defined C, if a wrong answer. Every valid shift passes unchanged. */
static inline int32_t tml_shift_bits(int32_t amount) {
    return amount & 31;
}

/* The double-rounding rescale below for shift <= -2 (every convolution
 * output scale under 1/2) with one 64-bit multiply-accumulate and no
 * 64-bit shift: with k = -shift - 1, the result is
 *   floor((x m + nudge + 2^(31+k)) / 2^(32+k)), nudge = 2^30 (x >= 0) or -2^30,
 * i.e. the high word H of x m + nudge, then ((2H >> k) + 1) >> 1. The
 * nudge carries both roundings: 2^30 is the doubling high multiply's, and
 * -2^31 of the negative one makes the rounding shift's ties go away from
 * zero (for -2^30 <= x m < 0 both forms give 0). |H| <= 2^30, so 2H fits.
 * tests/host/test_requant.py checks it against TFLite's two-step
 * definition over every shift. */
static inline int32_t tml_rescale_down_by(int32_t x, int32_t multiplier, int32_t k) {
#ifdef TML_REQUANT_HALVES
    return tml_round_shift_away(tml_mul_q31_floor(x, multiplier, 1 << 30), k);
#else
    const int64_t nudge = x < 0 ? -(1 << 30) : (1 << 30);
    const int32_t high = (int32_t)(((int64_t)x * multiplier + nudge) >> 32);
    return (((int32_t)((uint32_t)high << 1) >> k) + 1) >> 1;
#endif
}

/* The form above with the output zero point zp and the final rounding
 * folded into the nudge's high word, so that one arithmetic shift of the
 * product's high word is the whole rescale: with e = -shift,
 *   floor((x m + nudge + 2^(30+e) + zp 2^(31+e)) / 2^(31+e))
 * = rescale + zp, and 2^(30+e) + zp 2^(31+e) is fold * 2^32 for
 * fold = (2 zp + 1) << (e - 2) (tml_rescale_fold()). The 64-bit sum cannot
 * overflow while |zp 2^(31+e)| < 2^62 with |x m| < 2^62: e in [2, 23]
 * (rescales by 2^-23 and less give 0 for any accumulator below 2^22,
 * and take the form above). Not on Thumb-1, which has no 64-bit product. */
#ifndef TML_REQUANT_HALVES
static inline int32_t tml_rescale_fold(int32_t zero_point, int32_t shift) {
    return (int32_t)((uint32_t)(2 * zero_point + 1) << (-shift - 2));
}

/* Always inlined: a call would cost as much as the rescale, and the ports
 * build the element-wise kernels for size. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int32_t tml_rescale_folded(int32_t x, int32_t multiplier, int32_t fold, int32_t shift) {
    /* The nudge's words as the assembly builds them: -2^30 is 2^31 + 2^30
     * in the low word with one less in the high word. */
    const uint64_t nudge = ((uint64_t)(uint32_t)(fold + (x >> 31)) << 32)
        | (0x40000000u | ((uint32_t)x & 0x80000000u));
    const uint64_t sum = nudge + (uint64_t)((int64_t)x * multiplier);
    return (int32_t)(uint32_t)(sum >> 32) >> (-shift - 1);
}
#endif

/* The same for any shift: out-of-range ones give a defined, wrong value.
 * Callers that checked every shift in [-31, -2] call the form above with
 * k = -shift - 1 in [1, 30]. */
static inline int32_t tml_rescale_down(int32_t x, int32_t multiplier, int32_t shift) {
    return tml_rescale_down_by(x, multiplier, tml_shift_bits(~shift)); /* ~shift is -shift - 1 without overflow */
}

/* shift > 0 multiplies by 2^shift before the Q31 multiply; shift < 0 divides
 * after it. The loader checks shift in [-31, 30] and multiplier >= 0 (what
 * the reasoning below assumes; other values give defined, wrong answers). Rescaling by less than one (shift < 0) is what
 * every convolution output takes: there the saturation case cannot occur
 * and the rounding is the short forms above. */
static inline int32_t tml_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    if (shift <= -2) {
        return tml_rescale_down(x, multiplier, shift);
    }
    if (shift < 0) {
        return tml_round_shift_away(tml_mul_q31_floor(x, multiplier, 1 << 30), 0);
    }
    return tml_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << tml_shift_bits(shift)), multiplier);
}

/* The single-rounding form: x * multiplier / 2^(31 - shift) rounded once,
 * halves towards +infinity, as TFLite's TFLITE_SINGLE_ROUNDING variant. TFLite
 * 2.21's reference FULLY_CONNECTED (int8, per-tensor and per-channel) rescales
 * this way while CONV_2D and DEPTHWISE_CONV_2D use the double rounding above;
 * the two differ by one in roughly 0.2% of outputs
 * (tests/host/test_kernels_conv.py shows which op uses which). TFLite assumes
 * the result fits in int32; it is saturated here rather than wrapped.
 * For shift < 0, floor((p + 2^(30 - shift)) / 2^(31 - shift)) =
 * floor((floor(p / 2^31) + 2^(-shift-1)) / 2^-shift), whose rounding is
 * again done without overflow and without 64-bit shifts (library calls on
 * Cortex-M0). */
static inline int32_t tml_multiply_by_quantized_multiplier_single_round(int32_t x, int32_t multiplier, int32_t shift) {
    if (shift < 0) {
        return ((tml_mul_q31_floor(x, multiplier, 0) >> tml_shift_bits(-shift - 1)) + 1) >> 1;
    }
    /* shift <= 30 (valid ones are): total_shift in [1, 31]. */
    const int32_t total_shift = 31 - (shift > 30 ? 30 : shift);
    int64_t result = ((int64_t)x * multiplier + ((int64_t)1 << (total_shift - 1))) >> total_shift;
    return result > INT32_MAX ? INT32_MAX : (result < INT32_MIN ? INT32_MIN : (int32_t)result);
}

static inline int32_t tml_clamp(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TML_REQUANT_H */
