/* ADD and MUL on int8 with NHWC broadcasting, bit exact with TFLite's
 * reference_integer_ops::Add/Mul and their BroadcastAdd4DSlow/
 * BroadcastMul4DSlow (the same arithmetic per element either way). */
#include "tml_kernels.h"
#include "tml_requant.h"

/* Element strides of an input walked in the output's index space: 0 along
 * the dims where the input has extent 1 (broadcast). */
typedef struct {
    int32_t n, h, w, c;
} tml_strides_t;

static tml_status_t tml_broadcast_strides(const tml_dims_t *in, const tml_dims_t *out, tml_strides_t *s) {
    if ((in->n != out->n && in->n != 1) || (in->h != out->h && in->h != 1) ||
        (in->w != out->w && in->w != 1) || (in->c != out->c && in->c != 1)) {
        return TML_ERR_BAD_SHAPE;
    }
    s->c = in->c == 1 ? 0 : 1;
    s->w = in->w == 1 ? 0 : in->c;
    s->h = in->h == 1 ? 0 : in->w * in->c;
    s->n = in->n == 1 ? 0 : in->h * in->w * in->c;
    return TML_OK;
}

static int tml_shift_ok(int32_t shift) {
    return shift >= -31 && shift <= 30;
}

/* Int8 zero points bound |x - zero point| by 255, which the overflow
 * arguments below rely on. */
static int tml_zero_points_ok(int32_t zp1, int32_t zp2, int32_t zp_out) {
    return zp1 >= INT8_MIN && zp1 <= INT8_MAX && zp2 >= INT8_MIN && zp2 <= INT8_MAX &&
        zp_out >= INT8_MIN && zp_out <= INT8_MAX;
}

/* One output element of ADD: both inputs are brought to a common scale
 * (2 * the larger input scale) with 20 bits of headroom, added, and
 * requantised to the output. */
static inline int8_t tml_add_one(const tml_add_params_t *p, int32_t in1_offset, int32_t in2_offset,
    int32_t output_zero_point, int8_t a, int8_t b) {
    /* |x - zero point| <= 255, so shifting by left_shift <= 20 stays below 2^28. */
    int32_t shifted1 = (int32_t)((uint32_t)(a + in1_offset) << p->left_shift);
    int32_t shifted2 = (int32_t)((uint32_t)(b + in2_offset) << p->left_shift);
    int32_t scaled1 = tml_multiply_by_quantized_multiplier(shifted1, p->input1_multiplier, p->input1_shift);
    int32_t scaled2 = tml_multiply_by_quantized_multiplier(shifted2, p->input2_multiplier, p->input2_shift);
    int32_t out = tml_multiply_by_quantized_multiplier(scaled1 + scaled2, p->output_multiplier, p->output_shift)
        + output_zero_point;
    return (int8_t)tml_clamp(out, p->act_min, p->act_max);
}

tml_status_t tml_add_s8(const tml_add_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out) {
    tml_strides_t s1, s2;
    /* The input multipliers are below one (shift <= 0) by construction in
     * TFLite's Prepare, which keeps scaled1 + scaled2 below 2^29. */
    if (p->left_shift < 0 || p->left_shift > 20 ||
        p->input1_shift > 0 || p->input2_shift > 0 || !tml_shift_ok(p->input1_shift) ||
        !tml_shift_ok(p->input2_shift) || !tml_shift_ok(p->output_shift) ||
        p->act_min < INT8_MIN || p->act_max > INT8_MAX || p->act_min > p->act_max ||
        !tml_zero_points_ok(input1_zero_point, input2_zero_point, output_zero_point)) {
        return TML_ERR_BAD_PARAM;
    }
    if (tml_broadcast_strides(in1_dims, out_dims, &s1) != TML_OK ||
        tml_broadcast_strides(in2_dims, out_dims, &s2) != TML_OK) {
        return TML_ERR_BAD_SHAPE;
    }
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int8_t *a_px = in1 + b * s1.n + y * s1.h + x * s1.w;
                const int8_t *b_px = in2 + b * s2.n + y * s2.h + x * s2.w;
                for (int32_t c = 0; c < out_dims->c; c++) {
                    *out++ = tml_add_one(p, -input1_zero_point, -input2_zero_point, output_zero_point,
                        a_px[c * s1.c], b_px[c * s2.c]);
                }
            }
        }
    }
    return TML_OK;
}

tml_status_t tml_mul_s8(const tml_mul_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out) {
    tml_strides_t s1, s2;
    if (!tml_shift_ok(p->output_shift) ||
        p->act_min < INT8_MIN || p->act_max > INT8_MAX || p->act_min > p->act_max ||
        !tml_zero_points_ok(input1_zero_point, input2_zero_point, output_zero_point)) {
        return TML_ERR_BAD_PARAM;
    }
    if (tml_broadcast_strides(in1_dims, out_dims, &s1) != TML_OK ||
        tml_broadcast_strides(in2_dims, out_dims, &s2) != TML_OK) {
        return TML_ERR_BAD_SHAPE;
    }
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int8_t *a_px = in1 + b * s1.n + y * s1.h + x * s1.w;
                const int8_t *b_px = in2 + b * s2.n + y * s2.h + x * s2.w;
                for (int32_t c = 0; c < out_dims->c; c++) {
                    /* |product| <= 255 * 255 < 2^16. */
                    int32_t product = (a_px[c * s1.c] - input1_zero_point) * (b_px[c * s2.c] - input2_zero_point);
                    int32_t v = tml_multiply_by_quantized_multiplier(product, p->output_multiplier, p->output_shift)
                        + output_zero_point;
                    *out++ = (int8_t)tml_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return TML_OK;
}
