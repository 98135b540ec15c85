/* gemmlowp-style fixed-point helpers, only what TFLite's int8 SOFTMAX, LOG_SOFTMAX
 * and L2_NORMALIZATION need, reproducing gemmlowp's scalar int32 arithmetic bit for bit.
 *
 * A value in format Qm (m integer bits, 31 - m fractional bits) is a plain
 * int32_t; the format lives in the function names. Multiplying Qa by Qb with
 * tml_saturating_rounding_doubling_high_mul() gives Q(a + b). */
#ifndef TML_FIXEDPOINT_H
#define TML_FIXEDPOINT_H

#include <stdint.h>
#include "tml_requant.h"

/* Qa * Qb -> Q(a + b), rounded to nearest. */
static inline int32_t tml_fp_mul(int32_t a, int32_t b) {
    return tml_saturating_rounding_doubling_high_mul(a, b);
}

/* x * 2^exponent for exponent in [1, 30], saturating to the int32 range. */
static inline int32_t tml_fp_saturating_shift_left(int32_t x, int32_t exponent) {
    int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* (a + b) / 2 rounded half away from zero, without intermediate overflow. */
static inline int32_t tml_fp_rounding_half_sum(int32_t a, int32_t b) {
    int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* Number of leading zero bits; x must be non-zero. Portable because it runs
 * once per softmax row, not per element. */
static inline int32_t tml_fp_count_leading_zeros(uint32_t x) {
    int32_t n = 0;
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor series around -1/8. */
static inline int32_t tml_fp_exp_on_interval_minus_quarter_to_0(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0 */
    int32_t x = a + (1 << 28);                        /* a + 1/8, stays in [-1/8, 1/8) */
    int32_t x2 = tml_fp_mul(x, x);
    int32_t x3 = tml_fp_mul(x2, x);
    int32_t x4 = tml_fp_mul(x2, x2);
    int32_t x4_over_4 = tml_rounding_divide_by_pot(x4, 2);
    int32_t poly = tml_rounding_divide_by_pot(tml_fp_mul(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + tml_fp_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5 (Q5.26), result in Q0. The input is split
 * into a remainder in [-1/4, 0) and a sum of powers of two, whose exps are
 * multiplied in from a table (a barrel shifter over the bits of -a). */
static inline int32_t tml_fp_exp_on_negative_values_q5(int32_t a) {
    /* exp(-2^k) in Q0 for k = -2 .. 4; bit (26 + k) of the remainder selects it. */
    static const int32_t exp_of_minus_pot[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
    };
    const int32_t one_quarter = 1 << 24;
    int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = tml_fp_exp_on_interval_minus_quarter_to_0(
        tml_fp_saturating_shift_left(a_mod_quarter_minus_quarter, 5));
    int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int32_t k = 0; k < 7; k++) {
        if (remainder & ((int32_t)1 << (24 + k))) {
            result = tml_fp_mul(result, exp_of_minus_pot[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out: three Newton-Raphson steps
 * on the half denominator, in Q2. */
static inline int32_t tml_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t c48_over_17 = 1515870810;      /* Q2 */
    const int32_t c_neg_32_over_17 = -1010580540; /* Q2 */
    const int32_t one_q2 = 1 << 29;
    int32_t half_denominator = tml_fp_rounding_half_sum(a, INT32_MAX);
    int32_t x = c48_over_17 + tml_fp_mul(half_denominator, c_neg_32_over_17);
    for (int i = 0; i < 3; i++) {
        int32_t one_minus_half_denominator_times_x = one_q2 - tml_fp_mul(half_denominator, x);
        x = x + tml_fp_saturating_shift_left(tml_fp_mul(x, one_minus_half_denominator_times_x), 2);
    }
    /* x / 2 reinterpreted as Q1, then rescaled to Q0. */
    return tml_fp_saturating_shift_left(x, 1);
}

#endif /* TML_FIXEDPOINT_H */
