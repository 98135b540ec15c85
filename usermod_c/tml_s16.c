/* 16x8 quantisation: int16 activations (zero point 0), int8 weights, int64
 * bias. CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and the dtype changes of
 * QUANTIZE, bit-exact with TFLite 2.21's reference kernels.
 *
 * The two families rescale differently in TFLite, and so here:
 * - the convolutions take the int64 form of MultiplyByQuantizedMultiplier,
 *   whose multiplier is first cut to 16 bits (tml_rescale_s64);
 * - FULLY_CONNECTED rounds acc * (in_scale * w_scale / out_scale) in double
 *   precision, halves away from zero (tml_rescale_like_double, in integers),
 *   with the scale the converter computed in double from the three float32
 *   scales.
 * tests/host/test_s16.py tells the forms apart on cases where they differ.
 *
 * An int16 input times an int8 weight is below 2^22 in magnitude, so 65536
 * terms sum below 2^38, far inside int64; the bias is any int64 of the
 * blob and is added modulo 2^64, then clamped to TFLite's stated range of
 * the accumulator (+-2^47), which no valid model leaves. */
#include <stddef.h>
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

#define TML_S16_ACC_LIMIT ((int64_t)1 << 47)

static int64_t tml_add_bias_s64(int64_t acc, const int64_t *bias, int32_t channel) {
    if (bias == NULL) {
        return acc;
    }
    const int64_t sum = (int64_t)((uint64_t)acc + (uint64_t)bias[channel]);
    return sum < -TML_S16_ACC_LIMIT ? -TML_S16_ACC_LIMIT
        : (sum > TML_S16_ACC_LIMIT - 1 ? TML_S16_ACC_LIMIT - 1 : sum);
}

/* TFLite's int64 MultiplyByQuantizedMultiplier: the Q31 multiplier rounded
 * to Q15 (at most 0x7FFF), one rounding shift of 15 - shift bits, the result
 * truncated to int32 as TFLite's assignment does. The loader checks shift in
 * [-31, 7] (TFLite's own bound for this form) and multiplier >= 0; the
 * constants may change after load (the blob is the caller's buffer), so the
 * shift is also held to that range here, which keeps every value defined:
 * |x| <= 2^47 and |Q15| <= 2^15 bound the product by 2^62. */
static int32_t tml_rescale_s64(int64_t x, int32_t multiplier, int32_t shift) {
    const int64_t reduced = multiplier < 0x7FFF0000 ? ((int64_t)multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - (shift < -31 ? -31 : (shift > 7 ? 7 : shift));
    const int64_t rounded = x * reduced + ((int64_t)1 << (total_shift - 1));
    /* Arithmetic shift of a negative value: what every supported compiler does
     * and what TFLite's >> on int64 computes. */
    return (int32_t)(uint32_t)(uint64_t)(rounded >> total_shift);
}

tml_status_t tml_check_rescale_s64(const tml_requant_t *q, const char **detail) {
    for (uint32_t i = 0; i < q->channel_quant; i++) {
        if (q->multiplier[i] < 0 || q->shift[i] < -31 || q->shift[i] > 7) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "negative multiplier or shift outside [-31, 7]");
        }
    }
    return TML_OK;
}

/* ---- CONV_2D, DEPTHWISE_CONV_2D ------------------------------------------ */

static tml_status_t tml_check_conv_s16_common(const tml_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, int64_t acc_terms, const char **detail) {
    if (in_dims->n != out_dims->n) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch of input and output differ");
    }
    tml_status_t s = tml_check_window(in_dims->h, out_dims->h, p->kernel_h, p->stride_h,
        p->dilation_h, p->pad_top, detail);
    if (s == TML_OK) {
        s = tml_check_window(in_dims->w, out_dims->w, p->kernel_w, p->stride_w,
            p->dilation_w, p->pad_left, detail);
    }
    if (s == TML_OK) {
        s = tml_check_act_s16(p->act_min, p->act_max, detail);
    }
    if (s != TML_OK) {
        return s;
    }
    if (acc_terms > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "kernel longer than 65536 terms");
    }
    if (channel_quant != 1 && channel_quant != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output channels");
    }
    return TML_OK;
}

tml_status_t tml_conv_s16_check(const tml_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (p->depth_multiplier != 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "depth_multiplier must be 1 for CONV_2D");
    }
    return tml_check_conv_s16_common(p, channel_quant, in_dims, out_dims,
        (int64_t)p->kernel_h * p->kernel_w * in_dims->c, detail);
}

tml_status_t tml_depthwise_conv_s16_check(const tml_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (p->depth_multiplier == 0 || (int64_t)in_dims->c * p->depth_multiplier != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output channels != input channels * depth_multiplier");
    }
    return tml_check_conv_s16_common(p, channel_quant, in_dims, out_dims, (int64_t)p->kernel_h * p->kernel_w,
        detail);
}

static int16_t tml_conv_s16_output(int64_t acc, const tml_requant_t *q, const int64_t *bias, int32_t channel,
    const tml_conv_params_t *p) {
    const int32_t k = q->channel_quant > 1 ? channel : 0;
    const int32_t v = tml_rescale_s64(tml_add_bias_s64(acc, bias, channel), q->multiplier[k], q->shift[k]);
    return (int16_t)tml_clamp(v, p->act_min, p->act_max);
}

/* The window of output position o along one axis: input rows origin + t *
 * dilation for taps t in [first, end), those inside the input. */
static void tml_taps(int32_t o, int32_t stride, int32_t pad, int32_t dilation, int32_t kernel, int32_t size,
    int32_t *origin, int32_t *first, int32_t *end) {
    *origin = o * stride - pad;
    int32_t t0 = 0;
    while (t0 < kernel && *origin + t0 * dilation < 0) {
        t0++;
    }
    int32_t t1 = kernel;
    while (t1 > t0 && *origin + (t1 - 1) * dilation >= size) {
        t1--;
    }
    *first = t0;
    *end = t1;
}

void tml_conv_s16(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out) {
    const int32_t in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int16_t *image = in + (size_t)n * (size_t)in_dims->h * (size_t)in_dims->w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            int32_t y0, ky0, ky1;
            tml_taps(oy, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, in_dims->h, &y0, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                int32_t x0, kx0, kx1;
                tml_taps(ox, p->stride_w, p->pad_left, p->dilation_w, p->kernel_w, in_dims->w, &x0, &kx0, &kx1);
                for (int32_t oc = 0; oc < out_c; oc++) {
                    const int8_t *filter = weights + (size_t)oc * p->kernel_h * p->kernel_w * (size_t)in_c;
                    int64_t acc = 0;
                    for (int32_t ky = ky0; ky < ky1; ky++) {
                        const int32_t y = y0 + ky * p->dilation_h;
                        for (int32_t kx = kx0; kx < kx1; kx++) {
                            const int32_t x = x0 + kx * p->dilation_w;
                            const int16_t *src = image + ((size_t)y * in_dims->w + (size_t)x) * (size_t)in_c;
                            const int8_t *w = filter + ((size_t)ky * p->kernel_w + (size_t)kx) * (size_t)in_c;
                            /* 256 products sum below 2^30: int32 partial sums, then int64. */
                            int32_t row = 0;
                            for (int32_t c = 0; c < in_c; c++) {
                                row += (int32_t)src[c] * w[c];
                                if ((c & 255) == 255) {
                                    acc += row;
                                    row = 0;
                                }
                            }
                            acc += row;
                        }
                    }
                    *out++ = tml_conv_s16_output(acc, q, bias, oc, p);
                }
            }
        }
    }
}

void tml_depthwise_conv_s16(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out) {
    const int32_t in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t multiplier = p->depth_multiplier;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int16_t *image = in + (size_t)n * (size_t)in_dims->h * (size_t)in_dims->w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            int32_t y0, ky0, ky1;
            tml_taps(oy, p->stride_h, p->pad_top, p->dilation_h, p->kernel_h, in_dims->h, &y0, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                int32_t x0, kx0, kx1;
                tml_taps(ox, p->stride_w, p->pad_left, p->dilation_w, p->kernel_w, in_dims->w, &x0, &kx0, &kx1);
                for (int32_t oc = 0; oc < out_c; oc++) {
                    const int32_t ic = oc / multiplier;
                    int64_t acc = 0;
                    for (int32_t ky = ky0; ky < ky1; ky++) {
                        const int32_t y = y0 + ky * p->dilation_h;
                        for (int32_t kx = kx0; kx < kx1; kx++) {
                            const int32_t x = x0 + kx * p->dilation_w;
                            const int16_t v = image[((size_t)y * in_dims->w + (size_t)x) * (size_t)in_c + (size_t)ic];
                            acc += (int32_t)v * weights[((size_t)ky * p->kernel_w + (size_t)kx) * (size_t)out_c
                                + (size_t)oc];
                        }
                    }
                    *out++ = tml_conv_s16_output(acc, q, bias, oc, p);
                }
            }
        }
    }
}

/* ---- TRANSPOSE_CONV ------------------------------------------------------ */

tml_status_t tml_transpose_conv_s16_check(const tml_transpose_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (in_dims->n != out_dims->n) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch of input and output differ");
    }
    if (p->kernel_h == 0 || p->kernel_w == 0 || p->stride_h == 0 || p->stride_w == 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "zero kernel or stride");
    }
    if (p->pad_top < 0 || p->pad_top >= p->kernel_h || p->pad_left < 0 || p->pad_left >= p->kernel_w) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "padding outside [0, kernel - 1]");
    }
    if (out_dims->h > INT32_MAX - p->kernel_h || out_dims->w > INT32_MAX - p->kernel_w) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output too large");
    }
    if ((int64_t)p->kernel_h * p->kernel_w * in_dims->c > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "more than 65536 terms per output");
    }
    if (channel_quant != 1 && channel_quant != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output channels");
    }
    return tml_check_act_s16(p->act_min, p->act_max, detail);
}

/* Gathered rather than scattered (TFLite adds each input's products into
 * an int64 image of the output): output position o along an axis takes
 * tap t from input i when i * stride - pad + t = o, so no scratch is needed
 * and the sums are the same integers. */
void tml_transpose_conv_s16(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out) {
    const int32_t in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int16_t *image = in + (size_t)n * (size_t)in_dims->h * (size_t)in_dims->w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                for (int32_t oc = 0; oc < out_c; oc++) {
                    int64_t acc = 0;
                    for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                        const int32_t ry = oy + p->pad_top - ky;
                        if (ry < 0 || ry % p->stride_h != 0 || ry / p->stride_h >= in_dims->h) {
                            continue;
                        }
                        const int32_t iy = ry / p->stride_h;
                        for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                            const int32_t rx = ox + p->pad_left - kx;
                            if (rx < 0 || rx % p->stride_w != 0 || rx / p->stride_w >= in_dims->w) {
                                continue;
                            }
                            const int32_t ix = rx / p->stride_w;
                            const int16_t *src = image + ((size_t)iy * in_dims->w + (size_t)ix) * (size_t)in_c;
                            const int8_t *w = weights
                                + (((size_t)oc * p->kernel_h + (size_t)ky) * p->kernel_w + (size_t)kx) * (size_t)in_c;
                            int32_t row = 0;
                            for (int32_t c = 0; c < in_c; c++) {
                                row += (int32_t)src[c] * w[c];
                                if ((c & 255) == 255) {
                                    acc += row;
                                    row = 0;
                                }
                            }
                            acc += row;
                        }
                    }
                    const int32_t k = q->channel_quant > 1 ? oc : 0;
                    const int32_t v = tml_rescale_s64(tml_add_bias_s64(acc, bias, oc), q->multiplier[k], q->shift[k]);
                    *out++ = (int16_t)tml_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* ---- BATCH_MATMUL ---------------------------------------------------------- */

/* tml_batch_matmul_check has set rows, cols and depth and checked the
 * batch dims; the int64 rescale takes shifts up to 7 only. */
tml_status_t tml_batch_matmul_s16_check(const tml_batch_matmul_params_t *p, const char **detail) {
    if (p->shift > 7) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "shift above 7");
    }
    return TML_OK;
}

/* Both operands int16 with zero point 0, as TFLite's int16 BATCH_MATMUL
 * requires: plain int64 sums, no offsets, no clamp but the type's. */
void tml_batch_matmul_s16(const tml_batch_matmul_params_t *p,
    const tml_dims_t *lhs_dims, const int16_t *lhs, const tml_dims_t *rhs_dims, const int16_t *rhs,
    const tml_dims_t *out_dims, int16_t *out) {
    const int32_t rows = p->rows, cols = p->cols, depth = p->depth;
    const size_t lhs_matrix = (size_t)rows * (size_t)depth, rhs_matrix = (size_t)depth * (size_t)cols;
    /* A lhs element (i, k) and a rhs element (k, j) are at i * ls_i + k * ls_k
     * and k * rs_k + j * rs_j within their matrix. */
    const size_t ls_i = p->adj_x ? 1u : (size_t)depth, ls_k = p->adj_x ? (size_t)rows : 1u;
    const size_t rs_k = p->adj_y ? 1u : (size_t)cols, rs_j = p->adj_y ? (size_t)depth : 1u;
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            const size_t lb = (size_t)(lhs_dims->n > 1 ? n : 0) * (size_t)lhs_dims->h + (size_t)(lhs_dims->h > 1 ? h : 0);
            const size_t rb = (size_t)(rhs_dims->n > 1 ? n : 0) * (size_t)rhs_dims->h + (size_t)(rhs_dims->h > 1 ? h : 0);
            const int16_t *a = lhs + lb * lhs_matrix;
            const int16_t *b = rhs + rb * rhs_matrix;
            for (int32_t i = 0; i < rows; i++) {
                for (int32_t j = 0; j < cols; j++) {
                    int64_t acc = 0;
                    for (int32_t k = 0; k < depth; k++) {
                        /* One product is below 2^30: int64 sums are exact. */
                        acc += (int32_t)a[(size_t)i * ls_i + (size_t)k * ls_k] * b[(size_t)k * rs_k + (size_t)j * rs_j];
                    }
                    *out++ = (int16_t)tml_clamp(tml_rescale_s64(acc, p->multiplier, p->shift), -32768, 32767);
                }
            }
        }
    }
}

/* ---- FULLY_CONNECTED ----------------------------------------------------- */

/* TFLite 2.21 rescales FULLY_CONNECTED's int64 sum as
 * static_cast<int32_t>(round(double(acc) * scale)): one IEEE double product
 * (rounded to nearest, ties to even, at 53 bits), then rounded half away from
 * zero. The same is computed here in integers, so that cores without a
 * double-precision FPU (and the armv6m native module, which cannot link soft
 * double) get it exactly: scale is read as its bit pattern, mantissa m in
 * [2^52, 2^53) and exponent e (value m * 2^e), the product |acc| * m held in
 * 128 bits, rounded to 53 bits as the FPU would, then to an integer.
 * Outside int32 the answer is INT32_MIN, what the x86-64 oracle's
 * conversion gives (only a mis-calibrated model gets there). */

static int32_t tml_rescale_like_double(int64_t acc, uint64_t mantissa, int32_t exponent) {
    if (acc == 0) {
        return 0;
    }
    const int negative = acc < 0;
    /* |acc| <= 2^47 (tml_add_bias_s64 clamps it): 48 bits, mantissa 53. */
    const uint64_t a = negative ? (uint64_t)0 - (uint64_t)acc : (uint64_t)acc;
    const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
    const uint64_t m0 = mantissa & 0xFFFFFFFFu, m1 = mantissa >> 32;
    const uint64_t low_product = a0 * m0;
    const uint64_t middle = a0 * m1 + a1 * m0; /* below 2^54 */
    uint64_t lo = low_product + (middle << 32);
    uint64_t hi = a1 * m1 + (middle >> 32) + (lo < low_product ? 1u : 0u);
    const int length = hi != 0 ? 64 + tml_bit_length64(hi) : tml_bit_length64(lo);
    uint64_t m = lo;
    int32_t e = exponent;
    if (length > 53) {
        /* length <= 101, so 1 <= drop <= 48. */
        const int drop = length - 53;
        const uint64_t rest = lo & (((uint64_t)1 << drop) - 1u);
        const uint64_t half = (uint64_t)1 << (drop - 1);
        m = (lo >> drop) | (hi << (64 - drop));
        if (rest > half || (rest == half && (m & 1u) != 0)) {
            m++; /* m = 2^53 is still exact: no renormalising needed */
        }
        e += drop;
    }
    uint64_t q;
    if (e >= 0) {
        /* m >= 2^52 >> drop... at least 1: any e >= 31 leaves int32. */
        if (e >= 31 || m > ((uint64_t)INT32_MAX >> e)) {
            return INT32_MIN;
        }
        q = m << e;
    } else if (e <= -55) {
        return 0; /* below 2^54 * 2^-55 = 0.5 */
    } else {
        const int k = -e;
        q = m >> k;
        if (((m >> (k - 1)) & 1u) != 0) {
            q++; /* the first dropped bit is the half: ties away from zero */
        }
    }
    if (q > (uint64_t)INT32_MAX) {
        return INT32_MIN;
    }
    return negative ? -(int32_t)q : (int32_t)q;
}

/* Bits of a positive normal double: sign 0, exponent field 1..2046. */
tml_status_t tml_check_scales_double(const uint64_t *scale_bits, uint32_t count, const char **detail) {
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t field = (uint32_t)(scale_bits[i] >> 52);
        if (field == 0 || field >= 0x7FF) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "output scale not a positive normal double");
        }
    }
    return TML_OK;
}

tml_status_t tml_fully_connected_s16_check(const tml_fc_params_t *p, uint16_t channel_quant,
    int32_t batches, int32_t in_features, int32_t out_features, const char **detail) {
    if (batches < 1 || in_features < 1 || out_features < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "empty batch, input or output");
    }
    if (in_features > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "more than 65536 input features");
    }
    if (channel_quant != 1 && channel_quant != out_features) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output features");
    }
    return tml_check_act_s16(p->act_min, p->act_max, detail);
}

void tml_fully_connected_s16(const tml_fc_params_t *p, const uint64_t *scale_bits, uint16_t channel_quant,
    int32_t batches, int32_t in_features, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    int32_t out_features, int16_t *out) {
    for (int32_t b = 0; b < batches; b++) {
        const int16_t *x = in + (size_t)b * (size_t)in_features;
        const int8_t *w = weights;
        for (int32_t o = 0; o < out_features; o++, w += in_features) {
            int64_t acc = 0;
            int32_t part = 0;
            for (int32_t i = 0; i < in_features; i++) {
                part += (int32_t)x[i] * w[i];
                if ((i & 255) == 255) {
                    acc += part;
                    part = 0;
                }
            }
            acc = tml_add_bias_s64(acc + part, bias, o);
            const uint64_t bits = scale_bits[channel_quant > 1 ? o : 0];
            const int32_t v = tml_rescale_like_double(acc, (bits & 0xFFFFFFFFFFFFFu) | ((uint64_t)1 << 52),
                (int32_t)(bits >> 52) - 1075);
            *out++ = (int16_t)tml_clamp(v, p->act_min, p->act_max);
        }
    }
}


/* ---- QUANTIZE between int8 and int16 -------------------------------------- */

tml_status_t tml_requantize_check(const tml_requantize_params_t *p, uint32_t out_size, const char **detail) {
    tml_status_t s = tml_check_requant(p->multiplier, p->shift, detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->negative_multiplier, p->negative_shift, detail);
    }
    if (s == TML_OK && (p->input_offset < -32768 || p->input_offset > 32768
        || p->output_offset < -32768 || p->output_offset > 32767)) {
        s = tml_check_fail(detail, TML_ERR_BAD_PARAM, "zero point outside int16");
    }
    if (s == TML_OK) {
        s = out_size == 2 ? tml_check_act_s16(p->act_min, p->act_max, detail)
            : tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    return s;
}

/* TFLite's Requantize and ReluX: (x - input zero point) rescaled, plus the
 * output zero point, clamped; LEAKY_RELU's negative side has its own pair. */
/* A rescaled value plus the output zero point, clamped. Clamping before the
 * offset is added cannot overflow and gives the same value. */
static int32_t tml_requantize_output(const tml_requantize_params_t *p, int32_t rescaled) {
    return tml_clamp(rescaled, p->act_min - p->output_offset, p->act_max - p->output_offset) + p->output_offset;
}

static int32_t tml_requantize_one(const tml_requantize_params_t *p, int32_t x) {
    const int32_t centred = x + p->input_offset;
    return tml_requantize_output(p, centred >= 0
        ? tml_multiply_by_quantized_multiplier(centred, p->multiplier, p->shift)
        : tml_multiply_by_quantized_multiplier(centred, p->negative_multiplier, p->negative_shift));
}

/* TFLite's AbsEvalQuantized: the magnitude (at most 32768 for a zero point
 * in int16) rescaled when the scales differ. The converter passes 2^30, 1
 * for equal scales, which rescales by exactly one. */
void tml_abs_s16(const tml_requantize_params_t *p, int32_t count, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < count; i++) {
        const int32_t centred = in[i] + p->input_offset;
        const int32_t magnitude = centred < 0 ? -centred : centred;
        out[i] = (int16_t)tml_requantize_output(p, tml_multiply_by_quantized_multiplier(magnitude, p->multiplier,
            p->shift));
    }
}

void tml_requantize(const tml_requantize_params_t *p, int32_t count,
    uint32_t in_size, const void *in, uint32_t out_size, void *out) {
    const int8_t *in8 = (const int8_t *)in;
    const int16_t *in16 = (const int16_t *)in;
    int8_t *out8 = (int8_t *)out;
    int16_t *out16 = (int16_t *)out;
    for (int32_t i = 0; i < count; i++) {
        const int32_t x = in_size == 2 ? in16[i] : in8[i];
        const int32_t y = tml_requantize_one(p, x);
        if (out_size == 2) {
            out16[i] = (int16_t)y;
        } else {
            out8[i] = (int8_t)y;
        }
    }
}
