/* DIV on int8 or int16 with NHWC broadcasting, bit exact with TFLite 2.21's
 * reference quantised DIV (reference_ops::DivElementwise): the divisor's
 * Q31 reciprocal by gemmlowp's Newton iteration, the dividend scaled up to
 * its headroom, their product, then one rescale by the output multiplier
 * (in1_scale / (in2_scale * out_scale)) and the shifts the reciprocal and
 * the headroom added.
 *
 * TFLite leaves a zero divisor (an input equal to its zero point)
 * undefined (its Eval refuses a raw 0 in the divisor tensor, whatever the
 * zero point); here it gives the quotient's saturated value, with the
 * dividend's sign (0 for 0 / 0), so no input can make the kernel misbehave. */
#include "tml_check.h"
#include "tml_fixedpoint.h"
#include "tml_kernels.h"
#include "tml_requant.h"

tml_status_t tml_div_check(const tml_div_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1, const tml_dims_t *in2, const tml_dims_t *out, const char **detail) {
    const tml_dims_t *ins[2] = { in1, in2 };
    for (int k = 0; k < 2; k++) {
        const tml_dims_t *in = ins[k];
        if ((in->n != out->n && in->n != 1) || (in->h != out->h && in->h != 1) ||
            (in->w != out->w && in->w != 1) || (in->c != out->c && in->c != 1)) {
            return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
        }
    }
    tml_status_t s = tml_check_requant(p->output_multiplier, p->output_shift, detail);
    if (s == TML_OK) {
        s = elem_size == 2 ? tml_check_act_s16(p->act_min, p->act_max, detail)
            : tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    return s;
}

/* TFLite's CountLeadingSignBits as TF 2.21's build computes it (GCC's
 * __builtin_clrsb, measured: its portable form counts one fewer for
 * negative values): the bits below the sign bit equal to it; 31 for 0 and -1. */
static int32_t tml_leading_sign_bits(int32_t x) {
    const uint32_t magnitude_bits = x < 0 ? ~(uint32_t)x : (uint32_t)x;
    return magnitude_bits == 0 ? 31 : tml_fp_count_leading_zeros(magnitude_bits) - 1;
}

/* |a|, |b| <= 65536: the offset values of int16 tensors. */
static int32_t tml_div_one(const tml_div_params_t *p, int32_t a, int32_t b) {
    if (b == 0) {
        const int32_t saturated = a > 0 ? p->act_max : (a < 0 ? p->act_min : 0);
        return tml_clamp(saturated, p->act_min, p->act_max);
    }
    if (b < 0) {
        a = -a;
        b = -b;
    }
    /* GetReciprocal(b, 31): b = 2^(31 - headroom_plus_one) * (1 + x). */
    const int32_t headroom_plus_one = tml_fp_count_leading_zeros((uint32_t)b);
    const int32_t recip_shift = 31 - headroom_plus_one;
    const int32_t shifted_minus_one = (int32_t)(((uint32_t)b << headroom_plus_one) - 0x80000000u);
    const int32_t reciprocal = tml_fp_one_over_one_plus_x_for_x_in_0_1(shifted_minus_one);
    const int32_t headroom = tml_leading_sign_bits(a);
    /* a * 2^headroom fits int32 by the definition of headroom (a = 0: 0). */
    const int32_t quotient = tml_saturating_rounding_doubling_high_mul(
        (int32_t)((uint32_t)a << (headroom & 31)), reciprocal);
    const int32_t total_shift = p->output_shift - recip_shift - headroom;
    const int32_t product = tml_saturating_rounding_doubling_high_mul(quotient, p->output_multiplier);
    /* TFLite divides by 2^-total_shift with gemmlowp's RoundingDivideByPOT,
     * whose domain ends at 31; a small quotient (a dividend with much
     * headroom) takes it to 32 and beyond, where the x86-64 oracle builds
     * its mask with a 64-bit shift (count mod 64) and shifts the int32 by
     * the count mod 32. That is reproduced (it is what TFLite answers); for
     * exponents up to 31 it is the plain rounding division. A positive
     * total_shift (a quotient rescaled up) is outside its domain too, and
     * saturates here. */
    const int32_t exponent = -total_shift;
    int32_t v;
    if (exponent < 0) {
        v = product > 0 ? INT32_MAX / 2 : (product < 0 ? INT32_MIN / 2 : 0);
    } else {
        const uint32_t mask = (uint32_t)(((uint64_t)1 << (exponent & 63)) - 1u);
        const int32_t remainder = (int32_t)((uint32_t)product & mask);
        const int32_t threshold = ((int32_t)mask >> 1) + (product < 0 ? 1 : 0);
        v = (product >> (exponent & 31)) + (remainder > threshold ? 1 : 0);
    }
    /* Clamped before the offset is added: the same answer, no overflow. */
    return tml_clamp(v, p->act_min - p->output_offset, p->act_max - p->output_offset) + p->output_offset;
}

static int32_t tml_load_elem(const uint8_t *base, uint32_t elem_size, int32_t index) {
    return elem_size == 2 ? ((const int16_t *)(const void *)base)[index] : ((const int8_t *)(const void *)base)[index];
}

void tml_div(const tml_div_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out) {
    const tml_dims_t *d[2] = { in1_dims, in2_dims };
    int32_t sn[2], sh[2], sw[2], sc[2];
    for (int k = 0; k < 2; k++) {
        sc[k] = d[k]->c == 1 ? 0 : 1;
        sw[k] = d[k]->w == 1 ? 0 : d[k]->c;
        sh[k] = d[k]->h == 1 ? 0 : d[k]->w * d[k]->c;
        sn[k] = d[k]->n == 1 ? 0 : d[k]->h * d[k]->w * d[k]->c;
    }
    int32_t o = 0;
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            for (int32_t w = 0; w < out_dims->w; w++) {
                for (int32_t c = 0; c < out_dims->c; c++, o++) {
                    const int32_t a = tml_load_elem(in1, elem_size, n * sn[0] + h * sh[0] + w * sw[0] + c * sc[0]);
                    const int32_t b = tml_load_elem(in2, elem_size, n * sn[1] + h * sh[1] + w * sw[1] + c * sc[1]);
                    const int32_t v = tml_div_one(p, a + p->input1_offset, b + p->input2_offset);
                    if (elem_size == 2) {
                        ((int16_t *)(void *)out)[o] = (int16_t)v;
                    } else {
                        ((int8_t *)(void *)out)[o] = (int8_t)v;
                    }
                }
            }
        }
    }
}
