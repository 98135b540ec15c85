/* int16 ADD, SUB, MUL, pools and MEAN as TFLite 2.21's reference kernels
 * compute them; the param conventions are in tml_s16_arith.h. */
#include "tml_s16_arith.h"

#include "tml_requant.h"

#define TML_S16_MIN (-32768)
#define TML_S16_MAX 32767

static tml_status_t fail(const char **detail, const char *why, tml_status_t st) {
    if (detail) {
        *detail = why;
    }
    return st;
}

/* Every dim >= 1 and the element count within int32, so that every offset
 * the kernels form fits an int32. */
static int dims_ok(const int32_t d[4]) {
    int64_t n = 1;
    for (int i = 0; i < 4; i++) {
        if (d[i] < 1) {
            return 0;
        }
        n *= d[i];
        if (n > INT32_MAX) {
            return 0;
        }
    }
    return 1;
}

static int act_ok(int32_t lo, int32_t hi) {
    return lo >= TML_S16_MIN && hi <= TML_S16_MAX && lo <= hi;
}

static tml_status_t broadcast_check(const int32_t a[4], const int32_t b[4], const int32_t o[4], const char **detail) {
    if (!dims_ok(a) || !dims_ok(b) || !dims_ok(o)) {
        return fail(detail, "dims must be >= 1 with at most 2^31-1 elements", TML_ERR_BAD_SHAPE);
    }
    for (int i = 0; i < 4; i++) {
        if ((a[i] != 1 && a[i] != o[i]) || (b[i] != 1 && b[i] != o[i]) || o[i] != (a[i] > b[i] ? a[i] : b[i])) {
            return fail(detail, "input dims do not broadcast to the output dims", TML_ERR_BAD_SHAPE);
        }
    }
    return TML_OK;
}

static int mult_ok(int32_t m) {
    return m >= 0;
}

tml_status_t tml_s16_add_check(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4],
    const int32_t in2_dims[4], const int32_t out_dims[4], const char **detail) {
    if (!act_ok(p->act_min, p->act_max)) {
        return fail(detail, "activation range outside int16 or empty", TML_ERR_BAD_PARAM);
    }
    if (p->pot) {
        /* Shifting one input by 15 or more leaves at most its sign; TFLite's
         * graphs stay far below. Both nonzero is what TFLite refuses. */
        if (p->input1_shift > 0 || p->input1_shift < -15 || p->input2_shift > 0 || p->input2_shift < -15
            || (p->input1_shift != 0 && p->input2_shift != 0)) {
            return fail(detail, "power-of-two shifts must be in [-15, 0], one of them 0", TML_ERR_BAD_PARAM);
        }
    } else {
        if (!mult_ok(p->input1_multiplier) || !mult_ok(p->input2_multiplier) || !mult_ok(p->output_multiplier)
            || p->input1_shift > 0 || p->input1_shift < -31 || p->input2_shift > 0 || p->input2_shift < -31
            || p->output_shift > 0 || p->output_shift < -31) {
            return fail(detail, "multipliers must be >= 0 and shifts in [-31, 0]", TML_ERR_BAD_PARAM);
        }
    }
    return broadcast_check(in1_dims, in2_dims, out_dims, detail);
}

tml_status_t tml_s16_mul_check(const tml_s16_mul_params_t *p, const int32_t in1_dims[4],
    const int32_t in2_dims[4], const int32_t out_dims[4], const char **detail) {
    if (!act_ok(p->act_min, p->act_max)) {
        return fail(detail, "activation range outside int16 or empty", TML_ERR_BAD_PARAM);
    }
    if (!mult_ok(p->output_multiplier) || p->output_shift < -31 || p->output_shift > 30) {
        return fail(detail, "multiplier must be >= 0 and shift in [-31, 30]", TML_ERR_BAD_PARAM);
    }
    return broadcast_check(in1_dims, in2_dims, out_dims, detail);
}

enum { OP_ADD, OP_SUB };

/* The general path's rescale of one input: v * 2^15 fits int32 for int16 v. */
static int32_t scale_input(int32_t v, int32_t multiplier, int32_t shift) {
    return tml_multiply_by_quantized_multiplier((int32_t)((uint32_t)v << 15), multiplier, shift);
}

/* gemmlowp's rounding right shift of an int16 value: halves away from zero. */
static int32_t pot_shift(int32_t v, int32_t shift) {
    return tml_rounding_divide_by_pot(v, -shift);
}

static int16_t addsub_one(const tml_s16_addsub_params_t *p, int op, int32_t a, int32_t b) {
    int32_t r;
    if (p->pot) {
        const int32_t sa = pot_shift(a, p->input1_shift), sb = pot_shift(b, p->input2_shift);
        if (op == OP_ADD) {
            /* The int16 fixed-point add saturates before the clamp. */
            r = tml_clamp(sa + sb, TML_S16_MIN, TML_S16_MAX);
        } else {
            r = sa - sb;
        }
    } else {
        const int32_t sa = scale_input(a, p->input1_multiplier, p->input1_shift);
        const int32_t sb = scale_input(b, p->input2_multiplier, p->input2_shift);
        /* Valid multipliers keep |sa|, |sb| <= 2^29; hostile ones may not. */
        const int32_t raw = op == OP_ADD ? tml_add_wrap(sa, sb) : (int32_t)((uint32_t)sa - (uint32_t)sb);
        r = tml_multiply_by_quantized_multiplier(raw, p->output_multiplier, p->output_shift);
    }
    return (int16_t)tml_clamp(r, p->act_min, p->act_max);
}

static int16_t mul_one(const tml_s16_mul_params_t *p, int32_t a, int32_t b) {
    /* |a * b| <= 2^30. */
    const int32_t r = tml_multiply_by_quantized_multiplier(a * b, p->output_multiplier, p->output_shift);
    return (int16_t)tml_clamp(r, p->act_min, p->act_max);
}

/* Walks the output in order; an input's stride along a dim is 0 where that
 * input has extent 1 there. */
static void binary(const void *p, int op, const int32_t da[4], const int16_t *a, const int32_t db[4],
    const int16_t *b, const int32_t dout[4], int16_t *out) {
    int32_t sa[4], sb[4];
    int32_t ea = 1, eb = 1;
    for (int i = 3; i >= 0; i--) {
        sa[i] = da[i] == 1 ? 0 : ea;
        sb[i] = db[i] == 1 ? 0 : eb;
        ea *= da[i];
        eb *= db[i];
    }
    int32_t o = 0;
    for (int32_t i0 = 0; i0 < dout[0]; i0++) {
        for (int32_t i1 = 0; i1 < dout[1]; i1++) {
            for (int32_t i2 = 0; i2 < dout[2]; i2++) {
                const int16_t *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const int16_t *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int32_t i3 = 0; i3 < dout[3]; i3++) {
                    const int32_t va = pa[i3 * sa[3]], vb = pb[i3 * sb[3]];
                    out[o++] = op == 2 ? mul_one((const tml_s16_mul_params_t *)p, va, vb)
                                       : addsub_one((const tml_s16_addsub_params_t *)p, op, va, vb);
                }
            }
        }
    }
}

void tml_s16_add(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out) {
    binary(p, OP_ADD, in1_dims, in1, in2_dims, in2, out_dims, out);
}

void tml_s16_sub(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out) {
    binary(p, OP_SUB, in1_dims, in1, in2_dims, in2, out_dims, out);
}

void tml_s16_mul(const tml_s16_mul_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out) {
    binary(p, 2, in1_dims, in1, in2_dims, in2, out_dims, out);
}

tml_status_t tml_s16_pool_check(const tml_s16_pool_params_t *p, const int32_t in_dims[4], int32_t out_h,
    int32_t out_w, const char **detail) {
    if (!act_ok(p->act_min, p->act_max)) {
        return fail(detail, "activation range outside int16 or empty", TML_ERR_BAD_PARAM);
    }
    if (p->stride_h < 1 || p->stride_w < 1 || p->filter_h < 1 || p->filter_w < 1
        || p->filter_h > 65535 || p->filter_w > 65535 || (int64_t)p->filter_h * p->filter_w > 65535) {
        return fail(detail, "strides and filter must be >= 1, filter area <= 65535", TML_ERR_BAD_PARAM);
    }
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_top >= p->filter_h || p->pad_left >= p->filter_w) {
        return fail(detail, "padding must be in [0, filter - 1]", TML_ERR_BAD_PARAM);
    }
    const int32_t od[4] = {in_dims[0], out_h, out_w, in_dims[3]};
    if (!dims_ok(in_dims) || !dims_ok(od)) {
        return fail(detail, "dims must be >= 1 with at most 2^31-1 elements", TML_ERR_BAD_SHAPE);
    }
    /* The last window must start inside the input (so every window, which
     * starts at most pad - 0 <= filter - 1 before cell 0, overlaps it). */
    if ((int64_t)(out_h - 1) * p->stride_h - p->pad_top >= in_dims[1]
        || (int64_t)(out_w - 1) * p->stride_w - p->pad_left >= in_dims[2]) {
        return fail(detail, "output window starts past the input", TML_ERR_BAD_SHAPE);
    }
    return TML_OK;
}

static void pool(const tml_s16_pool_params_t *p, int is_max, const int32_t d[4], const int16_t *in, int32_t out_h,
    int32_t out_w, int16_t *out) {
    const int32_t h = d[1], w = d[2], c = d[3];
    int32_t o = 0;
    for (int32_t n = 0; n < d[0]; n++) {
        const int16_t *img = in + n * h * w * c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ys = y0 < 0 ? 0 : y0;
            const int32_t ye = y0 + p->filter_h < h ? y0 + p->filter_h : h;
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t xs = x0 < 0 ? 0 : x0;
                const int32_t xe = x0 + p->filter_w < w ? x0 + p->filter_w : w;
                const int32_t count = (ye - ys) * (xe - xs);
                for (int32_t ch = 0; ch < c; ch++) {
                    int32_t acc = is_max ? TML_S16_MIN : 0;
                    for (int32_t y = ys; y < ye; y++) {
                        const int16_t *row = img + (y * w) * c + ch;
                        for (int32_t x = xs; x < xe; x++) {
                            const int32_t v = row[x * c];
                            if (is_max) {
                                acc = v > acc ? v : acc;
                            } else {
                                acc += v;
                            }
                        }
                    }
                    if (!is_max) {
                        /* Halves away from zero; C division truncates like
                         * TFLite's. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    out[o++] = (int16_t)tml_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tml_s16_avg_pool(const tml_s16_pool_params_t *p, const int32_t in_dims[4], const int16_t *in,
    int32_t out_h, int32_t out_w, int16_t *out) {
    pool(p, 0, in_dims, in, out_h, out_w, out);
}

void tml_s16_max_pool(const tml_s16_pool_params_t *p, const int32_t in_dims[4], const int16_t *in,
    int32_t out_h, int32_t out_w, int16_t *out) {
    pool(p, 1, in_dims, in, out_h, out_w, out);
}

tml_status_t tml_s16_mean_check(const tml_s16_mean_params_t *p, const int32_t in_dims[4], const char **detail) {
    if (!mult_ok(p->multiplier) || p->shift < -31 || p->shift > 30) {
        return fail(detail, "multiplier must be >= 0 and shift in [-31, 30]", TML_ERR_BAD_PARAM);
    }
    if (p->axis_mask < 0 || p->axis_mask > 15) {
        return fail(detail, "axis mask must name dims 0..3", TML_ERR_BAD_PARAM);
    }
    if (!dims_ok(in_dims)) {
        return fail(detail, "dims must be >= 1 with at most 2^31-1 elements", TML_ERR_BAD_SHAPE);
    }
    int64_t count = 1;
    for (int i = 0; i < 4; i++) {
        if (p->axis_mask & (1 << i)) {
            count *= in_dims[i];
        }
    }
    if (count > 65536) {
        return fail(detail, "more than 65536 values reduced into one output", TML_ERR_BAD_SHAPE);
    }
    return TML_OK;
}

void tml_s16_mean(const tml_s16_mean_params_t *p, const int32_t in_dims[4], const int16_t *in, int16_t *out) {
    int32_t stride[4], outer[4], inner[4];
    int32_t e = 1;
    for (int i = 3; i >= 0; i--) {
        stride[i] = e;
        e *= in_dims[i];
        const int reduced = (p->axis_mask >> i) & 1;
        outer[i] = reduced ? 1 : in_dims[i];
        inner[i] = reduced ? in_dims[i] : 1;
    }
    int32_t o = 0;
    for (int32_t a0 = 0; a0 < outer[0]; a0++) {
        for (int32_t a1 = 0; a1 < outer[1]; a1++) {
            for (int32_t a2 = 0; a2 < outer[2]; a2++) {
                for (int32_t a3 = 0; a3 < outer[3]; a3++) {
                    const int16_t *base = in + a0 * stride[0] + a1 * stride[1] + a2 * stride[2] + a3 * stride[3];
                    /* At most 65536 int16 values: the sum fits int32. */
                    int32_t sum = 0;
                    for (int32_t b0 = 0; b0 < inner[0]; b0++) {
                        for (int32_t b1 = 0; b1 < inner[1]; b1++) {
                            for (int32_t b2 = 0; b2 < inner[2]; b2++) {
                                const int16_t *q = base + b0 * stride[0] + b1 * stride[1] + b2 * stride[2];
                                for (int32_t b3 = 0; b3 < inner[3]; b3++) {
                                    sum += q[b3 * stride[3]];
                                }
                            }
                        }
                    }
                    const int32_t r = tml_multiply_by_quantized_multiplier(sum, p->multiplier, p->shift);
                    out[o++] = (int16_t)tml_clamp(r, TML_S16_MIN, TML_S16_MAX);
                }
            }
        }
    }
}
