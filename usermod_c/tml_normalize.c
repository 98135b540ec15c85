/* Normalisations of int8 rows along the last axis, bit exact with TFLite's
 * reference integer kernels.
 *
 * LOG_SOFTMAX (reference_integer_ops::LogSoftmax): the row's differences
 * from its maximum are scaled into Q5.26 (beta 1), exponentiated and summed
 * in Q12.19 as SOFTMAX does, and the log of the sum, taken in fixed point, is
 * subtracted from each scaled difference. The output has scale 16/256 and
 * zero point 127, which TFLite fixes.
 *
 * L2_NORMALIZATION (reference_integer_ops::L2Normalization): the row's sum
 * of squares (input minus zero point) gives a fixed-point 1 / sqrt by
 * Newton-Raphson, and each value is requantised by it. The output has scale
 * 1/128 and zero point 0, which TFLite fixes. */
#include "tml_check.h"
#include "tml_fixedpoint.h"
#include "tml_kernels.h"

/* The sum of exps is Q12.19 and each exp at most 2^19: below 2^31 for up to
 * 4095 values. TFLite's int32 sum reaches 2^31 for a row of 4096 equal values. */
#define TML_LOG_SOFTMAX_MAX_DEPTH ((1 << 12) - 1)

/* gemmlowp's saturating multiply by 2^exponent for an exponent in [0, 30]. */
static int32_t tml_fp_shift_left_param(int32_t x, int32_t exponent) {
    return exponent == 0 ? x : tml_fp_saturating_shift_left(x, exponent);
}

static int32_t tml_fp_saturating_add(int32_t a, int32_t b) {
    int64_t sum = (int64_t)a + (int64_t)b;
    return sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : (int32_t)sum);
}

/* log(x) for x >= 1 given in Q12, result in Q5, as TFLite's
 * log_x_for_x_greater_than_or_equal_to_1: x = 2^k * m with m normalised
 * twice (once plain, once premultiplied by sqrt(1/2)), the candidate with
 * the smaller mantissa kept so that m lies in [sqrt(1/2), 1); log(m) comes
 * from a rational approximation around 2^(-1/4), k * log(2) is added in
 * Q6 (one bit of headroom), and the sum is moved to Q5. The log of a sum of
 * exps is at most log(4095) < 9, so nothing here saturates in practice;
 * every step still matches TFLite's, saturation included. */
static int32_t tml_fp_log_q12_to_q5(int32_t x) {
    const int32_t input_bits = 12;
    const int32_t accum_bits = 6;
    const int32_t log_2 = 1488522236;          /* Q0 */
    const int32_t sqrt_sqrt_half = 1805811301; /* 2^(-1/4), Q0 */
    const int32_t sqrt_half = 1518500250;      /* Q0 */
    const int32_t alpha_n = 117049297;        /* 11/240 * 2^(1/4), Q0 */
    const int32_t alpha_d = 127690142;         /* 1/20 * 2^(1/4), Q0 */
    const int32_t alpha_i = 1057819769;        /* 2 / 2^(1/4) - 2^(1/4), Q0 */
    const int32_t alpha_f = 638450708;         /* 1/4 * 2^(1/4), Q0 */
    const int32_t quarter_q6 = 1 << 23;

    /* x is positive (>= 1.0 in Q12), so both leading-zero counts are
     * between 1 and 13. */
    const int32_t a_headroom_plus_one = tml_fp_count_leading_zeros((uint32_t)x);
    const int32_t a_mantissa = tml_fp_shift_left_param(
        tml_fp_mul(tml_fp_shift_left_param(x, a_headroom_plus_one - 1), sqrt_half), 1);
    const int32_t a_exponent = tml_fp_saturating_add(
        tml_fp_shift_left_param(input_bits - a_headroom_plus_one, 31 - accum_bits), quarter_q6);

    const int32_t b_headroom = tml_fp_count_leading_zeros((uint32_t)tml_fp_mul(x, sqrt_half)) - 1;
    const int32_t b_mantissa = tml_fp_shift_left_param(x, b_headroom);
    const int32_t b_exponent = tml_fp_saturating_add(
        tml_fp_shift_left_param(input_bits - b_headroom, 31 - accum_bits), -quarter_q6);

    const int32_t r = a_mantissa < b_mantissa ? a_mantissa : b_mantissa;
    const int32_t exponent_q6 = a_exponent > b_exponent ? a_exponent : b_exponent;

    const int32_t p = tml_fp_rounding_half_sum(r, sqrt_sqrt_half);
    const int32_t q = 2 * (r - sqrt_sqrt_half);
    const int32_t q_squared = tml_fp_mul(q, q);
    const int32_t num = tml_fp_mul(q, r) + tml_fp_mul(tml_fp_mul(q, q_squared), alpha_n);
    const int32_t denom_minus_one = tml_fp_mul(p, alpha_i + q + tml_fp_mul(alpha_d, q_squared))
        + tml_fp_mul(alpha_f, q);
    const int32_t recip_denom = tml_fp_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);
    const int32_t log_q6 = tml_fp_mul(exponent_q6, log_2)
        + tml_fp_mul(tml_rounding_divide_by_pot(num, accum_bits), recip_denom);
    return tml_fp_saturating_shift_left(log_q6, 1);
}

tml_status_t tml_log_softmax_check(const tml_log_softmax_params_t *p, int32_t depth, const char **detail) {
    tml_status_t s = tml_check_requant(p->input_multiplier, p->input_left_shift, detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->reverse_multiplier, p->reverse_shift, detail);
    }
    if (s != TML_OK) {
        return s;
    }
    /* diff_min bounds every difference the kernel scales: with it no
     * difference shifted left by input_left_shift leaves Q5.26. */
    if (p->input_left_shift < 0 || p->reverse_shift > 0 || p->diff_min > 0 ||
        p->diff_min < -((31 << 26) >> p->input_left_shift)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "log softmax scaling out of range");
    }
    if (depth > TML_LOG_SOFTMAX_MAX_DEPTH) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "log softmax over more than 4095 values");
    }
    return TML_OK;
}

/* diff in [diff_min, 0] scaled to Q5.26 (the check keeps the shift exact). */
static int32_t tml_log_softmax_scaled(const tml_log_softmax_params_t *p, int32_t diff) {
    return tml_multiply_by_quantized_multiplier(diff, p->input_multiplier, p->input_left_shift);
}

void tml_log_softmax_s8(const tml_log_softmax_params_t *p,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out) {
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *row_in = in + r * depth;
        int8_t *row_out = out + r * depth;
        int32_t row_max = INT8_MIN;
        for (int32_t c = 0; c < depth; c++) {
            if (row_in[c] > row_max) {
                row_max = row_in[c];
            }
        }
        /* The row maximum contributes exp(0) = 2^19, so the sum is >= 1.0. */
        int32_t sum_of_exps = 0;
        for (int32_t c = 0; c < depth; c++) {
            int32_t diff = row_in[c] - row_max;
            if (diff >= p->diff_min) {
                sum_of_exps += tml_rounding_divide_by_pot(
                    tml_fp_exp_on_negative_values_q5(tml_log_softmax_scaled(p, diff)), 12);
            }
        }
        const int32_t log_sum = tml_fp_log_q12_to_q5(sum_of_exps);
        /* The smallest difference whose scaled value minus log_sum stays
         * above INT32_MIN, found through the reverse scaling. Sums and
         * differences wrap as two's complement, as TFLite's int32 do, so
         * that blob constants changed after load give a wrong answer, not
         * undefined behaviour. */
        const int32_t lowest = tml_multiply_by_quantized_multiplier(
            (int32_t)((uint32_t)log_sum + 0x80000000u), p->reverse_multiplier, p->reverse_shift);
        const int32_t threshold = p->diff_min - 1 > lowest ? p->diff_min - 1 : lowest;
        for (int32_t c = 0; c < depth; c++) {
            int32_t diff = row_in[c] - row_max;
            int32_t value = INT8_MIN;
            if (diff > threshold) {
                /* Q5.26 to the output's Q4 steps of 1/16. */
                int32_t log_prob = (int32_t)((uint32_t)tml_log_softmax_scaled(p, diff) - (uint32_t)log_sum);
                value = tml_clamp(tml_rounding_divide_by_pot(log_prob, 31 - 5 - 4) + 127, INT8_MIN, INT8_MAX);
            }
            row_out[c] = (int8_t)value;
        }
    }
}

/* 255^2 per value: the row's int32 sum of squares holds 2^15 of them. */
#define TML_L2_NORM_MAX_DEPTH (1 << 15)

tml_status_t tml_l2_normalization_check(int32_t depth, const char **detail) {
    if (depth > TML_L2_NORM_MAX_DEPTH) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "L2 normalization over more than 32768 values");
    }
    return TML_OK;
}

/* 1 / sqrt(sum) as a multiplier and TFLite's signed shift, as
 * GetInvSqrtQuantizedMultiplierExp with reverse shift -1: sum is brought to
 * [2^27, 2^29) by an even shift (so that the square root shifts by half of
 * it), read as Q3.28 / 2 and inverted with five Newton-Raphson steps
 * x <- x * (3 - v * x^2) / 2 from x = 1, the result scaled by sqrt(2) / 2.
 * Sums of 0 and 1 take the largest multiplier, as TFLite. */
static void tml_inv_sqrt(int32_t sum, int32_t *multiplier, int32_t *shift) {
    if (sum <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t right_shift = 11;
    while (sum >= (1 << 29)) {
        sum /= 4;
        right_shift++;
    }
    /* sum in [2, 2^29): 3 to 30 leading zeros, 0 to 13 pairs of spare bits. */
    const int32_t pairs = (tml_fp_count_leading_zeros((uint32_t)sum) - 1) / 2 - 1;
    right_shift -= pairs;
    sum <<= 2 * pairs;
    const int32_t three_halves_q3 = (1 << 28) + (1 << 27);
    const int32_t half_input_q3 = tml_rounding_divide_by_pot(sum >> 1, 1);
    int32_t x = 1 << 28; /* 1.0 in Q3 */
    for (int i = 0; i < 5; i++) {
        /* Q3 * Q3 * Q3 = Q9, back to Q3; Q3 * Q3 = Q6, back to Q3. */
        const int32_t x_cubed = tml_fp_saturating_shift_left(tml_fp_mul(tml_fp_mul(x, x), x), 6);
        x = tml_fp_saturating_shift_left(tml_fp_mul(three_halves_q3, x) - tml_fp_mul(half_input_q3, x_cubed), 3);
    }
    x = tml_fp_mul(x, 1518500250); /* sqrt(2) / 2 in Q0 */
    /* A negative right shift is folded into the multiplier; as TFLite's
     * int32, the shifted value wraps (for sums of 2 and 3 it still fits). */
    if (right_shift < 0) {
        x = (int32_t)((uint32_t)x << -right_shift);
        right_shift = 0;
    }
    *multiplier = x;
    *shift = -right_shift;
}

void tml_l2_normalization_s8(int32_t input_zero_point,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out) {
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *row_in = in + r * depth;
        int8_t *row_out = out + r * depth;
        int32_t sum_of_squares = 0;
        for (int32_t c = 0; c < depth; c++) {
            const int32_t x = row_in[c] - input_zero_point;
            sum_of_squares += x * x;
        }
        int32_t multiplier, shift;
        tml_inv_sqrt(sum_of_squares, &multiplier, &shift);
        /* x / sqrt(sum) in [-1, 1] to the output's steps of 1/128. */
        for (int32_t c = 0; c < depth; c++) {
            const int32_t v = tml_multiply_by_quantized_multiplier(row_in[c] - input_zero_point, multiplier,
                shift + 7);
            row_out[c] = (int8_t)tml_clamp(v, INT8_MIN, INT8_MAX);
        }
    }
}
