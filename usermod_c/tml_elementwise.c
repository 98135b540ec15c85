/* ADD, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE and PRELU on int8 with NHWC
 * broadcasting, bit exact with TFLite's reference_integer_ops::Add/Mul, their
 * BroadcastAdd4DSlow/BroadcastMul4DSlow, squared_difference.cc's int8 kernel
 * and reference_ops::Prelu/BroadcastPrelu4DSlow (the same arithmetic per
 * element either way). */
#include <stdbool.h>

#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* Element strides of an input walked in the output's index space: 0 along
 * the dims where the input has extent 1 (broadcast). */
typedef struct {
    int32_t n, h, w, c;
} tml_strides_t;

static void tml_broadcast_strides(const tml_dims_t *in, tml_strides_t *s) {
    s->c = in->c == 1 ? 0 : 1;
    s->w = in->w == 1 ? 0 : in->c;
    s->h = in->h == 1 ? 0 : in->w * in->c;
    s->n = in->n == 1 ? 0 : in->h * in->w * in->c;
}

static tml_status_t tml_check_broadcast(const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail) {
    const tml_dims_t *ins[2] = { in1, in2 };
    for (int k = 0; k < 2; k++) {
        const tml_dims_t *in = ins[k];
        if ((in->n != out->n && in->n != 1) || (in->h != out->h && in->h != 1) ||
            (in->w != out->w && in->w != 1) || (in->c != out->c && in->c != 1)) {
            return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
        }
    }
    return TML_OK;
}

/* Operands are int8 tensors (zero points checked by the loader), so
 * |x - zero point| <= 255, which the overflow arguments below rely on. */
tml_status_t tml_add_check(const tml_add_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail) {
    tml_status_t s = tml_check_broadcast(in1_dims, in2_dims, out_dims, detail);
    if (s != TML_OK) {
        return s;
    }
    /* TFLite's Prepare uses left_shift 20 and input multipliers below one;
     * the no-overflow argument (sum of both scaled inputs below 2^31) rests
     * on exactly that. */
    if (p->left_shift < 0 || p->left_shift > 20) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "left_shift outside [0, 20]");
    }
    if (p->input1_shift > 0 || p->input2_shift > 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "ADD input multiplier above one");
    }
    if (p->input2_multiplier == INT32_MIN) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "SUB input multiplier out of range");
    }
    s = tml_check_requant(p->input1_multiplier, p->input1_shift, detail);
    if (s == TML_OK) {
        /* Negative: a SUB (tml_kernels.h). */
        s = tml_check_requant(p->input2_multiplier < 0 ? -p->input2_multiplier : p->input2_multiplier,
            p->input2_shift, detail);
    }
    if (s == TML_OK) {
        s = tml_check_requant(p->output_multiplier, p->output_shift, detail);
    }
    if (s == TML_OK) {
        s = tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    return s;
}

tml_status_t tml_mul_check(const tml_mul_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail) {
    tml_status_t s = tml_check_broadcast(in1_dims, in2_dims, out_dims, detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->output_multiplier, p->output_shift, detail);
    }
    if (s == TML_OK) {
        s = tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    return s;
}

/* Calls row(ctx, a, a_step, b, b_step, out, c) for every output pixel of
 * the broadcast: a and b point at that pixel of each input, whose channels
 * are a_step (or b_step) apart, 0 where that input's channel dim is 1.
 * Every binary element-wise op shares this walk and supplies its row. */
typedef void (*tml_binary_row_t)(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count);

static void tml_broadcast_rows(const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2, const tml_dims_t *out_dims, int8_t *out,
    tml_binary_row_t row, const void *ctx) {
    tml_strides_t s1, s2;
    tml_broadcast_strides(in1_dims, &s1);
    tml_broadcast_strides(in2_dims, &s2);
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++, out += out_dims->c) {
                row(ctx, in1 + b * s1.n + y * s1.h + x * s1.w, s1.c,
                    in2 + b * s2.n + y * s2.h + x * s2.w, s2.c, out, out_dims->c);
            }
        }
    }
}

typedef struct {
    const void *params;
    int32_t in1_offset, in2_offset, output_zero_point;
} tml_binary_ctx_t;

/* ADD's walk also carries its second input's multiplier and scale, worked
 * out once per op rather than per pixel. x * m and -x * |m| are the same
 * product, which is all the rounding sees: a SUB's negative multiplier
 * becomes a negated second input. */
typedef struct {
    tml_binary_ctx_t base;
    int32_t multiplier2, scale2;
} tml_add_ctx_t;

/* ADD: both inputs are brought to a common scale (2 * the larger input
 * scale) with 20 bits of headroom, added, and requantised to the output. */
static void tml_add_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_add_ctx_t *c = (const tml_add_ctx_t *)ctx;
    const tml_add_params_t *p = (const tml_add_params_t *)c->base.params;
    for (int32_t i = 0; i < count; i++) {
        /* |x - zero point| <= 255, so shifting by left_shift <= 20 stays below 2^28. */
        int32_t shifted1 = (int32_t)((uint32_t)(a[i * a_step] + c->base.in1_offset) << p->left_shift);
        int32_t shifted2 = (b[i * b_step] + c->base.in2_offset) * c->scale2;
        int32_t scaled1 = tml_multiply_by_quantized_multiplier(shifted1, p->input1_multiplier, p->input1_shift);
        int32_t scaled2 = tml_multiply_by_quantized_multiplier(shifted2, c->multiplier2, p->input2_shift);
        int32_t v = tml_multiply_by_quantized_multiplier(scaled1 + scaled2, p->output_multiplier, p->output_shift)
            + c->base.output_zero_point;
        out[i] = (int8_t)tml_clamp(v, p->act_min, p->act_max);
    }
}

static void tml_mul_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_binary_ctx_t *c = (const tml_binary_ctx_t *)ctx;
    const tml_mul_params_t *p = (const tml_mul_params_t *)c->params;
    for (int32_t i = 0; i < count; i++) {
        /* |product| <= 255 * 255 < 2^16. */
        int32_t product = (a[i * a_step] + c->in1_offset) * (b[i * b_step] + c->in2_offset);
        int32_t v = tml_multiply_by_quantized_multiplier(product, p->output_multiplier, p->output_shift)
            + c->output_zero_point;
        out[i] = (int8_t)tml_clamp(v, p->act_min, p->act_max);
    }
}

void tml_add_s8(const tml_add_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out) {
    const bool subtract = p->input2_multiplier < 0;
    const tml_add_ctx_t ctx = {
        { p, -input1_zero_point, -input2_zero_point, output_zero_point },
        subtract ? -p->input2_multiplier : p->input2_multiplier,
        subtract ? -(1 << p->left_shift) : (1 << p->left_shift),
    };
    tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_add_row, &ctx);
}

void tml_mul_s8(const tml_mul_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out) {
    const tml_binary_ctx_t ctx = { p, -input1_zero_point, -input2_zero_point, output_zero_point };
    tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_mul_row, &ctx);
}

tml_status_t tml_min_max_check(const tml_dims_t *in1_dims, const tml_dims_t *in2_dims,
    const tml_dims_t *out_dims, const char **detail) {
    return tml_check_broadcast(in1_dims, in2_dims, out_dims, detail);
}

static void tml_maximum_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    (void)ctx;
    for (int32_t i = 0; i < count; i++) {
        const int8_t x = a[i * a_step];
        const int8_t y = b[i * b_step];
        out[i] = x > y ? x : y;
    }
}

static void tml_minimum_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    (void)ctx;
    for (int32_t i = 0; i < count; i++) {
        const int8_t x = a[i * a_step];
        const int8_t y = b[i * b_step];
        out[i] = x < y ? x : y;
    }
}

void tml_maximum_s8(const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2, const tml_dims_t *out_dims, int8_t *out) {
    tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_maximum_row, 0);
}

void tml_minimum_s8(const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2, const tml_dims_t *out_dims, int8_t *out) {
    tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_minimum_row, 0);
}

/* int16 (16x8 models): the same comparisons on a plain NHWC broadcast
 * walk, one element at a time. */
static void tml_min_max_s16(const tml_dims_t *in1_dims, const int16_t *in1,
    const tml_dims_t *in2_dims, const int16_t *in2, const tml_dims_t *out_dims, int16_t *out, int maximum) {
    tml_strides_t s1, s2;
    tml_broadcast_strides(in1_dims, &s1);
    tml_broadcast_strides(in2_dims, &s2);
    for (int32_t b = 0; b < out_dims->n; b++) {
        for (int32_t y = 0; y < out_dims->h; y++) {
            for (int32_t x = 0; x < out_dims->w; x++) {
                const int16_t *a = in1 + b * s1.n + y * s1.h + x * s1.w;
                const int16_t *c = in2 + b * s2.n + y * s2.h + x * s2.w;
                for (int32_t i = 0; i < out_dims->c; i++) {
                    const int16_t u = a[i * s1.c];
                    const int16_t v = c[i * s2.c];
                    *out++ = maximum ? (u > v ? u : v) : (u < v ? u : v);
                }
            }
        }
    }
}

void tml_maximum_s16(const tml_dims_t *in1_dims, const int16_t *in1,
    const tml_dims_t *in2_dims, const int16_t *in2, const tml_dims_t *out_dims, int16_t *out) {
    tml_min_max_s16(in1_dims, in1, in2_dims, in2, out_dims, out, 1);
}

void tml_minimum_s16(const tml_dims_t *in1_dims, const int16_t *in1,
    const tml_dims_t *in2_dims, const int16_t *in2, const tml_dims_t *out_dims, int16_t *out) {
    tml_min_max_s16(in1_dims, in1, in2_dims, in2, out_dims, out, 0);
}

/* An input multiplier of at most one half: (x - zero point) << left_shift
 * <= 255 * 2^7 scales to at most 16320, so the difference of two is at most
 * 32640 in magnitude and its square below 2^30. TFLite's Prepare divides
 * each input scale by twice the larger one, which always passes. */
static bool tml_at_most_half(int32_t multiplier, int32_t shift) {
    return shift < 0 || (shift == 0 && multiplier <= (1 << 30));
}

tml_status_t tml_squared_difference_check(const tml_squared_difference_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail) {
    tml_status_t s = tml_check_broadcast(in1_dims, in2_dims, out_dims, detail);
    if (s != TML_OK) {
        return s;
    }
    if (p->left_shift < 0 || p->left_shift > 7) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "left_shift outside [0, 7]");
    }
    s = tml_check_requant(p->input1_multiplier, p->input1_shift, detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->input2_multiplier, p->input2_shift, detail);
    }
    if (s == TML_OK) {
        s = tml_check_requant(p->output_multiplier, p->output_shift, detail);
    }
    if (s != TML_OK) {
        return s;
    }
    if (!tml_at_most_half(p->input1_multiplier, p->input1_shift) ||
        !tml_at_most_half(p->input2_multiplier, p->input2_shift)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "SQUARED_DIFFERENCE input multiplier above one half");
    }
    /* TFLite requantises the square with a multiplier below one only. */
    if (p->output_shift > 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "SQUARED_DIFFERENCE output multiplier above one");
    }
    return TML_OK;
}

static void tml_squared_difference_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_binary_ctx_t *c = (const tml_binary_ctx_t *)ctx;
    const tml_squared_difference_params_t *p = (const tml_squared_difference_params_t *)c->params;
    for (int32_t i = 0; i < count; i++) {
        int32_t shifted1 = (a[i * a_step] + c->in1_offset) * (1 << p->left_shift);
        int32_t shifted2 = (b[i * b_step] + c->in2_offset) * (1 << p->left_shift);
        int32_t diff = tml_multiply_by_quantized_multiplier(shifted1, p->input1_multiplier, p->input1_shift)
            - tml_multiply_by_quantized_multiplier(shifted2, p->input2_multiplier, p->input2_shift);
        int32_t v = tml_multiply_by_quantized_multiplier(diff * diff, p->output_multiplier, p->output_shift)
            + c->output_zero_point;
        out[i] = (int8_t)tml_clamp(v, INT8_MIN, INT8_MAX);
    }
}

void tml_squared_difference_s8(const tml_squared_difference_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out) {
    const tml_binary_ctx_t ctx = { p, -input1_zero_point, -input2_zero_point, output_zero_point };
    tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_squared_difference_row, &ctx);
}

tml_status_t tml_prelu_check(const tml_prelu_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *alpha_dims, const tml_dims_t *out_dims,
    const char **detail) {
    if (in_dims->n != out_dims->n || in_dims->h != out_dims->h || in_dims->w != out_dims->w ||
        in_dims->c != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "PRELU input and output dims differ");
    }
    tml_status_t s = tml_check_broadcast(in_dims, alpha_dims, out_dims, detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->identity_multiplier, p->identity_shift, detail);
    }
    if (s == TML_OK) {
        s = tml_check_requant(p->alpha_multiplier, p->alpha_shift, detail);
    }
    return s;
}

static void tml_prelu_row(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_binary_ctx_t *c = (const tml_binary_ctx_t *)ctx;
    const tml_prelu_params_t *p = (const tml_prelu_params_t *)c->params;
    for (int32_t i = 0; i < count; i++) {
        const int32_t x = a[i * a_step] + c->in1_offset;
        /* |x| and |alpha - zero point| are at most 255: the product fits in 17 bits. */
        int32_t v = x >= 0 ? tml_multiply_by_quantized_multiplier(x, p->identity_multiplier, p->identity_shift)
            : tml_multiply_by_quantized_multiplier(x * (b[i * b_step] + c->in2_offset), p->alpha_multiplier,
                p->alpha_shift);
        out[i] = (int8_t)tml_clamp(v + c->output_zero_point, INT8_MIN, INT8_MAX);
    }
}

void tml_prelu_s8(const tml_prelu_params_t *p,
    int32_t input_zero_point, int32_t alpha_zero_point, int32_t output_zero_point,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *alpha_dims, const int8_t *alpha,
    const tml_dims_t *out_dims, int8_t *out) {
    const tml_binary_ctx_t ctx = { p, -input_zero_point, -alpha_zero_point, output_zero_point };
    tml_broadcast_rows(in_dims, in, alpha_dims, alpha, out_dims, out, tml_prelu_row, &ctx);
}
