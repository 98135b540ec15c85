/* ADD, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE and PRELU on int8 with NHWC
 * broadcasting, bit exact with TFLite's reference_integer_ops::Add/Mul, their
 * BroadcastAdd4DSlow/BroadcastMul4DSlow, squared_difference.cc's int8 kernel
 * and reference_ops::Prelu/BroadcastPrelu4DSlow (the same arithmetic per
 * element either way). */
#include <stdbool.h>
#include <stddef.h>

#include "tml_arch.h"
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

static bool tml_dims_equal(const tml_dims_t *a, const tml_dims_t *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
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
    const int32_t pixels = out_dims->n * out_dims->h * out_dims->w;
    if (tml_dims_equal(in1_dims, out_dims) && tml_dims_equal(in2_dims, out_dims)) {
        /* Nothing broadcast: the tensors are one row. */
        row(ctx, in1, 1, in2, 1, out, pixels * out_dims->c);
        return;
    }
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

/* The input rescale of ADD at TFLite's left shift of 20 without 64-bit
 * products: x = input - zero point (|x| <= 255), m = mh 2^11 + ml, then
 *   SaturatingRoundingDoublingHighMul(x 2^20, m) = floor((x m + 2^10) / 2^11)
 *     = x mh + floor((x ml + 2^10) / 2^11),
 * every term within int32 (and never the saturating case), followed by the
 * rounding divide by 2^e, e = -shift in [0, 31]: floor((t + 2^(e-1) -
 * [t < 0]) / 2^e), its `round` 2^(e-1) and `sign` mask -1 for e > 0. */
typedef struct {
    int32_t high, low, round, sign, e;
} tml_add_scale_t;

static tml_add_scale_t tml_add_scale(int32_t multiplier, int32_t shift) {
    const int32_t e = -shift;
    const tml_add_scale_t k = {
        multiplier >> 11, multiplier & 2047, e > 0 ? (int32_t)(1u << (e - 1)) : 0, e > 0 ? -1 : 0, e,
    };
    return k;
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int32_t tml_add_scaled(const tml_add_scale_t *k, int32_t x) {
    const int32_t t = x * k->high + ((x * k->low + 1024) >> 11);
    return (t + k->round + ((t >> 31) & k->sign)) >> k->e;
}

typedef struct {
    tml_binary_ctx_t base;
    tml_add_scale_t in1, in2;
    int32_t negate2; /* -1 for SUB, else 1 */
#ifndef TML_REQUANT_HALVES
    int32_t fold; /* tml_rescale_fold() of the output, when its shift is in [-23, -2] */
#endif
} tml_add_fast_ctx_t;

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

/* tml_add_row() for left_shift 20, the only one TFLite's int8 ADD takes;
 * exact for every multiplier and shift the loader accepts. Everything it
 * reads is copied to locals first: an int8 store may alias the context,
 * which would otherwise be reloaded for every element. */
static void tml_add_row_fast(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_add_fast_ctx_t *c = (const tml_add_fast_ctx_t *)ctx;
    const tml_add_params_t *p = (const tml_add_params_t *)c->base.params;
    const tml_add_scale_t in1 = c->in1, in2 = c->in2;
    const int32_t in1_offset = c->base.in1_offset, in2_offset = c->base.in2_offset * c->negate2;
    const int32_t negate2 = c->negate2;
    const int32_t multiplier = p->output_multiplier, shift = p->output_shift;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int32_t zero_point = c->base.output_zero_point;
#ifndef TML_REQUANT_HALVES
    const int32_t fold = c->fold;
    if (fold != 0) {
        for (int32_t i = 0; i < count; i++, a += a_step, b += b_step) {
            const int32_t sum = tml_add_scaled(&in1, *a + in1_offset)
                + tml_add_scaled(&in2, *b * negate2 + in2_offset);
            out[i] = (int8_t)tml_clamp(tml_rescale_folded(sum, multiplier, fold, shift), act_min, act_max);
        }
        return;
    }
#endif
    for (int32_t i = 0; i < count; i++, a += a_step, b += b_step) {
        const int32_t sum = tml_add_scaled(&in1, *a + in1_offset)
            + tml_add_scaled(&in2, *b * negate2 + in2_offset);
        const int32_t v = tml_multiply_by_quantized_multiplier(sum, multiplier, shift) + zero_point;
        out[i] = (int8_t)tml_clamp(v, act_min, act_max);
    }
}

/* With a left shift of 20 each input's rescaled value depends on its int8
 * value alone, so an ADD over many elements builds both as tables of 256
 * words in its scratch once per call (TML_ADD_LUT_BYTES, reserved by the
 * converter where it does not enlarge the arena) and adds two lookups an
 * element. */
typedef struct {
    tml_add_fast_ctx_t fast;
    const int32_t *scaled1, *scaled2; /* indexed by the int8 input, -128..127 */
#if TML_ARCH_M0
    tml_requant_pt_m0_args_t rescale; /* its k is -1 when the output shift is outside [-31, -2] */
#endif
} tml_add_lut_ctx_t;

#if TML_ARCH_M0
/* Cortex-M0: a chunk's sums go to the stack (tml_add_sums_m0() for
 * unbroadcast rows, every ADD of a residual block), then
 * tml_requant_pt_m0() rescales them all with the multiplier split once:
 * about 53 instructions an element, where the loop below takes 75. */
#define TML_ADD_M0_CHUNK (32)

static void tml_add_lut_m0(const tml_add_lut_ctx_t *c, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const int32_t *const tables[2] = { c->scaled1, c->scaled2 };
    int32_t sums[TML_ADD_M0_CHUNK];
    while (count > 0) {
        const int32_t n = count < TML_ADD_M0_CHUNK ? count : TML_ADD_M0_CHUNK;
        if (a_step == 1 && b_step == 1) {
            tml_add_sums_m0(a, b, sums, n, tables);
            a += n;
            b += n;
        } else {
            for (int32_t i = 0; i < n; i++, a += a_step, b += b_step) {
                sums[i] = tables[0][*a] + tables[1][*b];
            }
        }
        tml_requant_pt_m0(sums, out, n, &c->rescale);
        out += n;
        count -= n;
    }
}
#endif

#ifndef TML_REQUANT_HALVES
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void tml_add_lut_folded(const tml_add_lut_ctx_t *c, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_add_params_t *p = (const tml_add_params_t *)c->fast.base.params;
    const int32_t *const scaled1 = c->scaled1, *const scaled2 = c->scaled2;
    const int32_t multiplier = p->output_multiplier, shift = p->output_shift, fold = c->fast.fold;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    for (int32_t i = 0; i < count; i++, a += a_step, b += b_step) {
        const int32_t sum = scaled1[*a] + scaled2[*b];
        out[i] = (int8_t)tml_clamp(tml_rescale_folded(sum, multiplier, fold, shift), act_min, act_max);
    }
}
#endif

static void tml_add_row_lut(const void *ctx, const int8_t *a, int32_t a_step,
    const int8_t *b, int32_t b_step, int8_t *out, int32_t count) {
    const tml_add_lut_ctx_t *c = (const tml_add_lut_ctx_t *)ctx;
#if TML_ARCH_M0
    if (c->rescale.k >= 0) {
        tml_add_lut_m0(c, a, a_step, b, b_step, out, count);
        return;
    }
#endif
#ifndef TML_REQUANT_HALVES
    if (c->fast.fold != 0) {
        /* Unbroadcast rows (every ADD of a residual block) with constant
         * steps, which frees two registers of the loop. */
        if (a_step == 1 && b_step == 1) {
            tml_add_lut_folded(c, a, 1, b, 1, out, count);
        } else {
            tml_add_lut_folded(c, a, a_step, b, b_step, out, count);
        }
        return;
    }
#endif
    const tml_add_params_t *p = (const tml_add_params_t *)c->fast.base.params;
    const int32_t *const scaled1 = c->scaled1, *const scaled2 = c->scaled2;
    const int32_t multiplier = p->output_multiplier, shift = p->output_shift;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int32_t zero_point = c->fast.base.output_zero_point;
    for (int32_t i = 0; i < count; i++, a += a_step, b += b_step) {
        const int32_t sum = scaled1[*a] + scaled2[*b];
        const int32_t v = tml_multiply_by_quantized_multiplier(sum, multiplier, shift) + zero_point;
        out[i] = (int8_t)tml_clamp(v, act_min, act_max);
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
    const tml_dims_t *out_dims, int8_t *out, void *lut) {
    const bool subtract = p->input2_multiplier < 0;
    if (p->left_shift == 20) {
        const tml_binary_ctx_t base = { p, -input1_zero_point, -input2_zero_point, output_zero_point };
        tml_add_fast_ctx_t fast;
        fast.base = base;
        fast.in1 = tml_add_scale(p->input1_multiplier, p->input1_shift);
        fast.in2 = tml_add_scale(subtract ? -p->input2_multiplier : p->input2_multiplier, p->input2_shift);
        fast.negate2 = subtract ? -1 : 1;
#ifndef TML_REQUANT_HALVES
        /* A fold is never 0: 2 zp + 1 is odd. */
        fast.fold = p->output_shift >= -23 && p->output_shift <= -2
            ? tml_rescale_fold(output_zero_point, p->output_shift) : 0;
#endif
        if (lut != NULL) {
            int32_t *const table = (int32_t *)TML_SCRATCH(lut);
            for (int32_t v = -128; v < 128; v++) {
                table[v + 128] = tml_add_scaled(&fast.in1, v + fast.base.in1_offset);
                table[v + 384] = tml_add_scaled(&fast.in2, v * fast.negate2 + fast.base.in2_offset * fast.negate2);
            }
#if TML_ARCH_M0
            const tml_add_lut_ctx_t ctx = { fast, table + 128, table + 384, tml_requant_pt_m0_args(
                p->output_multiplier, p->output_shift, p->act_min, p->act_max, output_zero_point) };
#else
            const tml_add_lut_ctx_t ctx = { fast, table + 128, table + 384 };
#endif
            tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_add_row_lut, &ctx);
            return;
        }
        tml_broadcast_rows(in1_dims, in1, in2_dims, in2, out_dims, out, tml_add_row_fast, &fast);
        return;
    }
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
