/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), bit exact with
 * TFLite's reference_ops::Softmax: input differences from the row maximum are
 * scaled by beta * input_scale into Q5.26, exponentiated in fixed point, summed
 * in Q12.19 and divided through a fixed-point reciprocal. */
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* Integer bits of the sum of exps (Q12.19), as in TFLite; the scaled
 * differences are Q5.26 (the params' input_multiplier is made for that). */
#define TML_SOFTMAX_ACCUM_INT_BITS (12)

/* Each exp is at most 1.0 = 2^19 in Q12.19, so the sum of a row fits in 32
 * bits up to this depth; beyond it TFLite's int32 sum may overflow
 * (undefined behaviour), so there is nothing to be exact with. */
#define TML_SOFTMAX_MAX_DEPTH (1 << (31 - 19))

/* exp((x - row_max) * beta * input_scale) in Q0. diff >= diff_min >= -(31 << 26
 * >> input_left_shift), so diff << input_left_shift cannot overflow. */
static int32_t tml_softmax_exp(const tml_softmax_params_t *p, int32_t diff) {
    int32_t scaled = tml_fp_mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
    return tml_fp_exp_on_negative_values_q5(scaled);
}

tml_status_t tml_softmax_check(const tml_softmax_params_t *p, int32_t depth, const char **detail) {
    if (p->input_multiplier < 0 || p->input_left_shift < 0 || p->input_left_shift > 31 || p->diff_min > 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "softmax scaling out of range");
    }
    if (depth > TML_SOFTMAX_MAX_DEPTH) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "softmax over more than 4096 values");
    }
    return TML_OK;
}

void tml_softmax_s8(const tml_softmax_params_t *p,
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
        /* Unsigned: a full row of 4096 maxima sums to exactly 2^31. */
        uint32_t sum_of_exps = 0;
        for (int32_t c = 0; c < depth; c++) {
            int32_t diff = row_in[c] - row_max;
            if (diff >= p->diff_min) {
                sum_of_exps += (uint32_t)tml_rounding_divide_by_pot(
                    tml_softmax_exp(p, diff), TML_SOFTMAX_ACCUM_INT_BITS);
            }
        }
        /* The row maximum contributes exp(0), so sum_of_exps >= 2^19 > 0.
         * Normalise it to 1 + x with x in [0, 1) and take 1 / (1 + x). */
        int32_t headroom_plus_one = tml_fp_count_leading_zeros(sum_of_exps);
        int32_t num_bits_over_unit = TML_SOFTMAX_ACCUM_INT_BITS - headroom_plus_one;
        int32_t shifted_sum_minus_one = (int32_t)((sum_of_exps << headroom_plus_one) - 0x80000000u);
        int32_t shifted_scale = tml_fp_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
        /* Q0 probability scaled to 8 bits. */
        int32_t out_shift = num_bits_over_unit + 31 - 8;
        for (int32_t c = 0; c < depth; c++) {
            int32_t diff = row_in[c] - row_max;
            int32_t value = INT8_MIN;
            if (diff >= p->diff_min) {
                int32_t prob = tml_fp_mul(shifted_scale, tml_softmax_exp(p, diff));
                /* prob is in [0, 2^31): dividing by 2^32 or more rounds to 0
                 * (TFLite's shift would be undefined there: sums >= 512). */
                int32_t unsat = out_shift > 31 ? 0 : tml_rounding_divide_by_pot(prob, out_shift);
                value = tml_clamp(unsat + INT8_MIN, INT8_MIN, INT8_MAX);
            }
            row_out[c] = (int8_t)value;
        }
    }
}
