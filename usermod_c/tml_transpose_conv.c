/* TRANSPOSE_CONV, int8 NHWC, bit-exact with TFLite's
 * reference_integer_ops::TransposeConv (per-channel, or per-tensor as one
 * multiplier for all channels).
 *
 * TFLite scatters: every input pixel adds w * (x + input_offset) into an
 * int32 buffer the size of the output, at output position
 * in * stride - pad + tap, dropping positions outside the output; then it
 * adds the bias, rescales, adds the output offset and clamps. Here each
 * output value is gathered instead: output row oy receives kernel row fy
 * from input row iy exactly when iy * stride_h - pad_top + fy = oy, i.e.
 * fy = (oy + pad_top) mod stride_h plus multiples of stride_h, each one
 * stride further down the kernel meaning one input row further up. The
 * same pairs (input, tap, output) are summed, only in another order, and
 * int32 sums that cannot overflow do not depend on the order; so the result
 * is TFLite's without its output-sized int32 buffer (4 bytes per output
 * value of arena).
 *
 * Why the int32 accumulator cannot overflow: one product is at most
 * 255 * 128 = 32640 in magnitude (tml_conv.c), and an output value sums at
 * most min(ceil(kernel_h / stride_h), in_h) * min(ceil(kernel_w / stride_w),
 * in_w) * in_c of them, which the check bounds by TML_MAX_ACC_TERMS. The
 * bias is added modulo 2^32, as TFLite's int32 addition behaves.
 */
#include "tml_arch.h"
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* Kernel rows (or columns) that can meet one output row: the taps one
 * stride apart, at most the input's extent. In 32 bits: a 64-bit division
 * is a libgcc call the qemu ports' linker scripts cannot place. */
static int64_t tml_tconv_taps(uint16_t kernel, uint16_t stride, int32_t in) {
    const uint32_t taps = ((uint32_t)kernel + stride - 1u) / stride;
    return in > 0 && taps > (uint32_t)in ? in : (int64_t)taps;
}

tml_status_t tml_transpose_conv_check(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (in_dims->n != out_dims->n) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch of input and output differ");
    }
    if (p->kernel_h == 0 || p->kernel_w == 0 || p->stride_h == 0 || p->stride_w == 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "zero kernel or stride");
    }
    /* TFLite's SAME padding is at most kernel - 1; more would only add
     * output rows no tap reaches, which TFLite never asks for. */
    if (p->pad_top < 0 || p->pad_top >= p->kernel_h || p->pad_left < 0 || p->pad_left >= p->kernel_w) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "padding outside [0, kernel - 1]");
    }
    /* oy + pad_top and ox + pad_left are computed in int32. */
    if (out_dims->h > INT32_MAX - p->kernel_h || out_dims->w > INT32_MAX - p->kernel_w) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output too large");
    }
    tml_status_t s = tml_check_act_s8(p->act_min, p->act_max, detail);
    if (s != TML_OK) {
        return s;
    }
    const int64_t terms = tml_tconv_taps(p->kernel_h, p->stride_h, in_dims->h)
        * tml_tconv_taps(p->kernel_w, p->stride_w, in_dims->w) * in_dims->c;
    if (terms > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "more than 65536 terms per output (int32 accumulator)");
    }
    if (q->channel_quant != 1 && q->channel_quant != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output channels");
    }
    return TML_OK;
}

/* The taps along one axis that meet output position o: tap t = first + j *
 * stride reads input position base - j, for j in [lo, hi). */
typedef struct {
    int32_t first, base, lo, hi;
} tml_tconv_span_t;

/* pos = o + pad; first and base are pos mod stride and pos / stride. */
static void tml_tconv_span(tml_tconv_span_t *s, int32_t kernel, int32_t stride, int32_t in) {
    s->lo = s->base - in + 1 > 0 ? s->base - in + 1 : 0;
    const int32_t reach = s->first < kernel ? (kernel - s->first + stride - 1) / stride : 0;
    s->hi = s->base + 1 < reach ? s->base + 1 : reach;
}

static inline int8_t tml_tconv_requant(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    int32_t acc, const int32_t *bias, int32_t oc) {
    if (bias) {
        acc = tml_add_wrap(acc, bias[oc]);
    }
    const int32_t k = q->channel_quant != 1 ? oc : 0;
    acc = tml_multiply_by_quantized_multiplier(acc, q->multiplier[k], q->shift[k]) + q->output_offset;
    return (int8_t)tml_clamp(acc, p->act_min, p->act_max);
}

void tml_transpose_conv_s8(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out) {
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, sh = p->stride_h, sw = p->stride_w;
    const int32_t out_c = out_dims->c;
    const int32_t input_offset = q->input_offset;
    const int32_t filter_stride = kh * kw * in_c;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int8_t *image = in + (int64_t)n * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            tml_tconv_span_t y;
            y.first = (oy + p->pad_top) % sh;
            y.base = (oy + p->pad_top) / sh;
            tml_tconv_span(&y, kh, sh, in_h);
            /* Columns advance by one position per output pixel: the
             * remainder and quotient are carried, no division per pixel. */
            tml_tconv_span_t x;
            x.first = p->pad_left % sw;
            x.base = p->pad_left / sw;
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                tml_tconv_span(&x, kw, sw, in_w);
                /* Four output channels at a time through the FC/conv dot
                 * products of this arch's path: every tap's input pixel is
                 * read once for the four weight rows. */
                int32_t oc = 0;
                for (; oc + 4 <= out_c; oc += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    for (int32_t jy = y.lo; jy < y.hi; jy++) {
                        const int32_t fy = y.first + jy * sh;
                        const int8_t *row = image + (y.base - jy) * in_w * in_c;
                        const int8_t *wrow = weights + ((int64_t)oc * kh + fy) * kw * in_c;
                        for (int32_t jx = x.lo; jx < x.hi; jx++) {
                            tml_dot4_s8(row + (x.base - jx) * in_c, wrow + (x.first + jx * sw) * in_c,
                                filter_stride, in_c, input_offset, acc);
                        }
                    }
                    for (int32_t k = 0; k < 4; k++) {
                        *out++ = tml_tconv_requant(p, q, acc[k], bias, oc + k);
                    }
                }
                for (; oc < out_c; oc++) {
                    int32_t acc = 0;
                    for (int32_t jy = y.lo; jy < y.hi; jy++) {
                        const int32_t fy = y.first + jy * sh;
                        const int8_t *row = image + (y.base - jy) * in_w * in_c;
                        const int8_t *wrow = weights + ((int64_t)oc * kh + fy) * kw * in_c;
                        for (int32_t jx = x.lo; jx < x.hi; jx++) {
                            acc += tml_dot1_s8(row + (x.base - jx) * in_c, wrow + (x.first + jx * sw) * in_c,
                                in_c, input_offset);
                        }
                    }
                    *out++ = tml_tconv_requant(p, q, acc, bias, oc);
                }
                if (++x.first == sw) {
                    x.first = 0;
                    x.base++;
                }
            }
        }
    }
}
