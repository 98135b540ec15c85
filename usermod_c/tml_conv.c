/* CONV_2D and DEPTHWISE_CONV_2D, int8 NHWC, bit-exact with TFLite's
 * reference_integer_ops ConvPerChannel and DepthwiseConvPerChannel (per-tensor
 * quantisation is the per-channel kernel with one multiplier for all).
 *
 * For each output value:
 *   acc = bias[oc] + sum over the taps inside the image of w * (x + input_offset)
 *   out = clamp(requant(acc) + output_offset, act_min, act_max)
 * with requant the double-rounding tml_multiply_by_quantized_multiplier
 * (TFLite's FULLY_CONNECTED rounds once; the convolutions do not).
 * Taps that fall into the padding are skipped, which is the same as padding
 * with the input zero point. Instead of testing every tap, the range of kernel
 * rows and columns that land inside the image is computed once per output
 * pixel, so the inner loops have no bounds checks, no division and no branch.
 *
 * Why the int32 accumulator cannot overflow: input values and zero points are
 * int8, so |x + input_offset| <= 255; weights are int8, so |w| <= 128 (TFLite
 * itself emits [-127, 127]). One product is at most 255 * 128 = 32640 in
 * magnitude, and TML_MAX_ACC_TERMS = 65536 of them at most 2139095040, below
 * INT32_MAX = 2147483647. The reduction length is kernel_h * kernel_w * in_c
 * for CONV_2D and kernel_h * kernel_w for DEPTHWISE_CONV_2D; longer ones are
 * refused with TML_ERR_BAD_PARAM. The bias is an arbitrary int32 chosen by the
 * quantiser; it is added modulo 2^32, which is what TFLite's plain int32
 * addition does on every target it runs on, without C's signed-overflow
 * undefined behaviour.
 */
#include <stddef.h>
#include <string.h>
#include "tml_arch.h"
#include "tml_kernels.h"
#include "tml_requant.h"

#define TML_MAX_ACC_TERMS (65536)

/* Smallest tap k >= 0 with origin + k * dilation >= 0. */
static int32_t tml_first_tap(int32_t origin, int32_t dilation) {
    if (origin >= 0) {
        return 0;
    }
    /* Undilated kernels need no division (a library call on Cortex-M0, once
     * per output pixel). */
    return dilation == 1 ? -origin : (dilation - 1 - origin) / dilation;
}

/* One past the largest tap k < taps with origin + k * dilation < size. */
static int32_t tml_end_tap(int32_t origin, int32_t dilation, int32_t size, int32_t taps) {
    int32_t last = size - 1 - origin;
    if (last < 0) {
        return 0;
    }
    int32_t end = (dilation == 1 ? last : last / dilation) + 1;
    return end < taps ? end : taps;
}

static tml_status_t tml_check_conv(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, int64_t acc_terms) {
    if (in_dims->n < 1 || in_dims->h < 1 || in_dims->w < 1 || in_dims->c < 1
        || out_dims->n != in_dims->n || out_dims->h < 1 || out_dims->w < 1 || out_dims->c < 1) {
        return TML_ERR_BAD_SHAPE;
    }
    if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1
        || p->dilation_h < 1 || p->dilation_w < 1) {
        return TML_ERR_BAD_PARAM;
    }
    if (acc_terms > TML_MAX_ACC_TERMS) {
        return TML_ERR_BAD_PARAM;
    }
    if (q->channel_quant != p->channel_quant
        || (q->channel_quant != 1 && q->channel_quant != out_dims->c)) {
        return TML_ERR_BAD_PARAM;
    }
    if (p->act_min > p->act_max || p->act_min < INT8_MIN || p->act_max > INT8_MAX) {
        return TML_ERR_BAD_PARAM;
    }
    return TML_OK;
}

/* Inputs in one gathered filter window (im2col of one output pixel), also
 * the most tml_conv_s8() prepares on DSP cores (TML_XVEC_MAX). Bounded
 * so the kernel's stack use is known; larger windows are summed run by run
 * from the input instead. */
#define TML_IM2COL_MAX (512)

static inline int8_t tml_conv_requant(int32_t acc, const int32_t *bias, int32_t oc,
    int32_t multiplier, int32_t shift, int32_t lo, int32_t hi, int32_t output_offset) {
    if (bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)bias[oc]);
    }
    acc = tml_multiply_by_quantized_multiplier(acc, multiplier, shift);
    return (int8_t)(tml_clamp(acc, lo, hi) + output_offset);
}

static void tml_conv_pixel_runs(const int8_t *x, size_t x_row_step, size_t x_run_step,
    int32_t rows, int32_t runs, int32_t run_len, const int8_t *w, size_t w_row_step,
    int32_t w_run_step, int32_t filter_size, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out);

/* All output channels of one pixel from its prepared window x (see
 * tml_xvec_prepare()): a matrix-vector product, four channels at a time so
 * each input value is loaded once per four products. */
static void tml_conv_pixel_x(const tml_xvec_t *x, int32_t filter_size,
    const int8_t *weights, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out) {
    /* Locals, because every int8 store may alias *q and would force a
     * reload per output. */
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    const int32_t input_offset = q->input_offset, output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shift = q->shift;
    int32_t oc = 0;
    for (; oc + 4 <= out_c; oc += 4) {
        int32_t acc[4] = {0, 0, 0, 0};
        tml_dot4_x(x, weights + (size_t)oc * (size_t)filter_size, filter_size, filter_size,
            input_offset, acc);
        for (int32_t k = 0; k < 4; ++k) {
            out[oc + k] = tml_conv_requant(acc[k], bias, oc + k, multiplier[(oc + k) * step],
                shift[(oc + k) * step], lo, hi, output_offset);
        }
    }
    for (; oc < out_c; ++oc) {
        const int32_t acc = tml_dot1_x(x, weights + (size_t)oc * (size_t)filter_size,
            filter_size, input_offset);
        out[oc] = tml_conv_requant(acc, bias, oc, multiplier[oc * step], shift[oc * step],
            lo, hi, output_offset);
    }
}

#if TML_ARCH_DSP
/* The windows of two pixels interleaved for tml_conv_pixel2_x(): per block
 * of four inputs, pixel 0's x0 x2 x1 x3 then pixel 1's (each x + offset in
 * int16, the order SXTB16 gives the weights), so one pointer walks both and
 * a block is four consecutive words. The last len % 4 inputs follow in
 * plain order, pixel 0's four slots then pixel 1's. This writes pixel
 * `which` (0 or 1) of the pair. */
static void tml_xvec_prepare_pair(const int8_t *x, int32_t len, int32_t input_offset,
    int32_t which, tml_xvec_t *buf) {
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    tml_xvec_t *dst = buf + 4 * which;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4, dst += 8) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const uint32_t x02 = __sadd16(__sxtb16(xv), offset2);
        const uint32_t x13 = __sadd16(tml_sxtb16_ror8(xv), offset2);
        memcpy(dst, &x02, sizeof(x02));
        memcpy(dst + 2, &x13, sizeof(x13));
    }
    for (int32_t k = 0; i < len; ++i, ++k) {
        dst[k] = (int16_t)(x[i] + input_offset);
    }
}

/* Two output pixels from their interleaved windows (above), two channels
 * at a time: every weight word is widened once and feeds both pixels,
 * every input word feeds both channels: 16 products cost 6 loads,
 * 4 SXTB16 and 8 SMLAD, about 22 instructions with the loop against 27 in
 * tml_dot4_x() (CMSIS-NN's two im2col columns). */
static void tml_conv_pixel2_x(const tml_xvec_t *x, int32_t filter_size,
    const int8_t *weights, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out_a, int8_t *out_b) {
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    const int32_t output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shift = q->shift;
    const int32_t blocks = filter_size >> 2, tail = filter_size & 3;
    const tml_xvec_t *const x_tail = x + 8 * blocks;
    for (int32_t oc = 0; oc < out_c; oc += 2) {
        /* An odd last channel is computed twice into the same output. */
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = weights + (size_t)oc * (size_t)filter_size;
        const int8_t *w1 = weights + (size_t)oc1 * (size_t)filter_size;
        const int8_t *const w0_end = w0 + 4 * blocks;
        const uint32_t *xp = (const uint32_t *)(const void *)x;
        int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
        while (w0 != w0_end) {
            const uint32_t xa02 = xp[0], xa13 = xp[1], xb02 = xp[2], xb13 = xp[3];
            xp += 4;
            uint32_t wv = tml_read_s8x4(w0);
            w0 += 4;
            int32_t w02 = (int32_t)__sxtb16(wv), w13 = (int32_t)tml_sxtb16_ror8(wv);
            a0 = __smlad(w02, (int32_t)xa02, a0);
            a0 = __smlad(w13, (int32_t)xa13, a0);
            b0 = __smlad(w02, (int32_t)xb02, b0);
            b0 = __smlad(w13, (int32_t)xb13, b0);
            wv = tml_read_s8x4(w1);
            w1 += 4;
            w02 = (int32_t)__sxtb16(wv);
            w13 = (int32_t)tml_sxtb16_ror8(wv);
            a1 = __smlad(w02, (int32_t)xa02, a1);
            a1 = __smlad(w13, (int32_t)xa13, a1);
            b1 = __smlad(w02, (int32_t)xb02, b1);
            b1 = __smlad(w13, (int32_t)xb13, b1);
        }
        for (int32_t k = 0; k < tail; ++k) {
            a0 += w0[k] * x_tail[k];
            a1 += w1[k] * x_tail[k];
            b0 += w0[k] * x_tail[4 + k];
            b1 += w1[k] * x_tail[4 + k];
        }
        const int32_t m0 = multiplier[oc * step], s0 = shift[oc * step];
        const int32_t m1 = multiplier[oc1 * step], s1 = shift[oc1 * step];
        out_a[oc] = tml_conv_requant(a0, bias, oc, m0, s0, lo, hi, output_offset);
        out_b[oc] = tml_conv_requant(b0, bias, oc, m0, s0, lo, hi, output_offset);
        out_a[oc1] = tml_conv_requant(a1, bias, oc1, m1, s1, lo, hi, output_offset);
        out_b[oc1] = tml_conv_requant(b1, bias, oc1, m1, s1, lo, hi, output_offset);
    }
}
#else
/* All output channels of one pixel whose filter window is the contiguous
 * x[0, filter_size). */
static void tml_conv_pixel(const int8_t *x_s8, int32_t filter_size,
    const int8_t *weights, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out) {
    if (TML_XVEC_MAX > 1 && filter_size > TML_XVEC_MAX) {
        /* A gathered window longer than the prepared buffer (M0 keeps it
         * at 256 inputs): one run straight from the int8 window. */
        tml_conv_pixel_runs(x_s8, 0, 0, 1, 1, filter_size, weights, 0, 0, filter_size, bias,
            q, out_c, lo, hi, out);
        return;
    }
    tml_xvec_t buf[TML_XVEC_MAX];
    tml_conv_pixel_x(tml_xvec_prepare(x_s8, filter_size, q->input_offset, buf), filter_size,
        weights, bias, q, out_c, lo, hi, out);
}
#endif

/* One output pixel whose window is too large to gather (3x3 over more than
 * 56 channels, for one): the valid taps, rows x runs runs of run_len
 * inputs, summed straight from the input, four channels at a time. */
static void tml_conv_pixel_runs(const int8_t *x, size_t x_row_step, size_t x_run_step,
    int32_t rows, int32_t runs, int32_t run_len, const int8_t *w, size_t w_row_step,
    int32_t w_run_step, int32_t filter_size, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out) {
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    const int32_t input_offset = q->input_offset, output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shift = q->shift;
    int32_t oc = 0;
    for (; oc + 4 <= out_c; oc += 4) {
        int32_t acc[4] = {0, 0, 0, 0};
        const int8_t *w_filter = w + (size_t)oc * (size_t)filter_size;
        for (int32_t r = 0; r < rows; ++r) {
            for (int32_t run = 0; run < runs; ++run) {
                tml_dot4_s8(x + (size_t)r * x_row_step + (size_t)run * x_run_step,
                    w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)w_run_step,
                    filter_size, run_len, input_offset, acc);
            }
        }
        for (int32_t k = 0; k < 4; ++k) {
            out[oc + k] = tml_conv_requant(acc[k], bias, oc + k, multiplier[(oc + k) * step],
                shift[(oc + k) * step], lo, hi, output_offset);
        }
    }
    for (; oc < out_c; ++oc) {
        const int8_t *w_filter = w + (size_t)oc * (size_t)filter_size;
        int32_t acc = 0;
        for (int32_t r = 0; r < rows; ++r) {
            for (int32_t run = 0; run < runs; ++run) {
                acc += tml_dot1_s8(x + (size_t)r * x_row_step + (size_t)run * x_run_step,
                    w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)w_run_step,
                    run_len, input_offset);
            }
        }
        out[oc] = tml_conv_requant(acc, bias, oc, multiplier[oc * step], shift[oc * step],
            lo, hi, output_offset);
    }
}

tml_status_t tml_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out) {
    if (p->depth_multiplier != 1) {
        return TML_ERR_BAD_PARAM;
    }
    const int64_t acc_terms = (int64_t)p->kernel_h * p->kernel_w * in_dims->c;
    tml_status_t status = tml_check_conv(p, q, in_dims, out_dims, acc_terms);
    if (status != TML_OK) {
        return status;
    }

    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t kernel_h = p->kernel_h, kernel_w = p->kernel_w;
    const int32_t dilation_h = p->dilation_h, dilation_w = p->dilation_w;
    const int32_t filter_size = kernel_h * kernel_w * in_c;
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    /* A window is one contiguous run of the input when it is whole, has no
     * column dilation and either one row or rows as wide as the image
     * (always for pointwise convolutions and Conv1D). */
    const int contiguous_rows = dilation_w == 1 && (kernel_h == 1 || kernel_w == in_w);
    const size_t x_run_step = (size_t)dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)dilation_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row_step = (size_t)kernel_w * (size_t)in_c;
    int8_t col[TML_IM2COL_MAX];
#if TML_ARCH_DSP
    /* The interleaved windows of two pixels computed together (or one
     * prepared window when two do not fit). Pixels pair up across rows and
     * batches too: each keeps its own output. Word aligned for the loads. */
    uint32_t xbuf_words[TML_XVEC_MAX / 2];
    tml_xvec_t *const xbuf = (tml_xvec_t *)(void *)xbuf_words;
    const int32_t pair_len = 2 * ((filter_size + 3) & ~(int32_t)3);
    const int pair = pair_len <= TML_XVEC_MAX;
    int8_t *pending = NULL;
#endif

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_batch = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = tml_first_tap(iy0, dilation_h);
            const int32_t ky1 = tml_end_tap(iy0, dilation_h, in_h, kernel_h);
            for (int32_t ox = 0; ox < out_dims->w; ++ox, out += out_c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = tml_first_tap(ix0, dilation_w);
                const int32_t kx1 = tml_end_tap(ix0, dilation_w, in_w, kernel_w);
                const int32_t rows = (ky1 > ky0 && kx1 > kx0) ? ky1 - ky0 : 0;
                const int whole = rows == kernel_h && kx1 - kx0 == kernel_w;
                /* Index of the first valid tap; only used when rows > 0. */
                const size_t x_first = rows > 0
                    ? ((size_t)(iy0 + ky0 * dilation_h) * (size_t)in_w
                       + (size_t)(ix0 + kx0 * dilation_w)) * (size_t)in_c
                    : 0;
                const int8_t *window = NULL;
                if (whole && contiguous_rows && (TML_XVEC_MAX == 1 || filter_size <= TML_XVEC_MAX)) {
                    window = in_batch + x_first;
                } else if (filter_size <= TML_IM2COL_MAX) {
                    /* Gather the window; taps in the padding hold the input
                     * zero point, so x + input_offset is 0 there, exactly as
                     * skipping them. */
                    const int8_t pad = (int8_t)(-q->input_offset);
                    int8_t *c = col;
                    /* Without column dilation the valid taps of a row are
                     * one run [a, b): one copy per row, not one per tap. */
                    const int32_t a = kx0 < kernel_w ? kx0 : kernel_w;
                    const int32_t b = kx1 > a ? kx1 : a;
                    const size_t row_len = (size_t)kernel_w * (size_t)in_c;
                    for (int32_t ky = 0; ky < kernel_h; ++ky, c += row_len) {
                        const int32_t iy = iy0 + ky * dilation_h;
                        if (iy < 0 || iy >= in_h) {
                            memset(c, pad, row_len);
                            continue;
                        }
                        const int8_t *in_row = in_batch + (size_t)iy * (size_t)in_w * (size_t)in_c;
                        if (dilation_w == 1) {
                            memset(c, pad, (size_t)a * (size_t)in_c);
                            if (b > a) {
                                memcpy(c + (size_t)a * (size_t)in_c, in_row + (size_t)(ix0 + a) * (size_t)in_c,
                                    (size_t)(b - a) * (size_t)in_c);
                            }
                            memset(c + (size_t)b * (size_t)in_c, pad, (size_t)(kernel_w - b) * (size_t)in_c);
                            continue;
                        }
                        for (int32_t kx = 0; kx < kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * dilation_w;
                            if (ix >= 0 && ix < in_w) {
                                memcpy(c + (size_t)kx * (size_t)in_c, in_row + (size_t)ix * (size_t)in_c,
                                    (size_t)in_c);
                            } else {
                                memset(c + (size_t)kx * (size_t)in_c, pad, (size_t)in_c);
                            }
                        }
                    }
                    window = col;
                }
                if (window != NULL) {
#if TML_ARCH_DSP
                    if (!pair) {
                        tml_conv_pixel_x(tml_xvec_prepare(window, filter_size, q->input_offset,
                            xbuf), filter_size, weights, bias, q, out_c, lo, hi, out);
                    } else if (pending == NULL) {
                        tml_xvec_prepare_pair(window, filter_size, q->input_offset, 0, xbuf);
                        pending = out;
                    } else {
                        tml_xvec_prepare_pair(window, filter_size, q->input_offset, 1, xbuf);
                        tml_conv_pixel2_x(xbuf, filter_size, weights, bias, q, out_c,
                            lo, hi, pending, out);
                        pending = NULL;
                    }
#else
                    tml_conv_pixel(window, filter_size, weights, bias, q, out_c, lo, hi, out);
#endif
                    continue;
                }
                /* Large windows: sum the valid taps run by run. */
                tml_conv_pixel_runs(in_batch + x_first, x_row_step, x_run_step, rows,
                    dilation_w == 1 ? 1 : kx1 - kx0,
                    dilation_w == 1 ? (kx1 - kx0) * in_c : in_c,
                    weights + (rows > 0 ? (size_t)(ky0 * kernel_w + kx0) * (size_t)in_c : 0),
                    w_row_step, in_c, filter_size, bias, q, out_c, lo, hi, out);
            }
        }
    }
#if TML_ARCH_DSP
    if (pending != NULL) {
        /* An odd pixel out: its own window as the pair's second too, both
         * results written to its output. */
        for (int32_t i = 0; i < pair_len; i += 8) {
            memcpy(xbuf + i + 4, xbuf + i, 4 * sizeof(tml_xvec_t));
        }
        tml_conv_pixel2_x(xbuf, filter_size, weights, bias, q, out_c, lo, hi, pending, pending);
    }
#endif
    return TML_OK;
}

/* Geometry of one depthwise call, shared by the channel-group kernels. */
typedef struct {
    const tml_conv_params_t *p;
    const tml_requant_t *q;
    const tml_dims_t *in_dims;
    const tml_dims_t *out_dims;
    int32_t lo, hi;
} tml_dw_ctx_t;

/* The valid taps of one output pixel: rows x cols of them, the first at
 * x_first in the input and w_first in the weights (both channel 0). */
typedef struct {
    size_t x_first, w_first;
    int32_t rows, cols;
} tml_dw_window_t;

static void tml_dw_window(const tml_dw_ctx_t *c, int32_t oy, int32_t ox, tml_dw_window_t *win) {
    const tml_conv_params_t *p = c->p;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int32_t ky0 = tml_first_tap(iy0, p->dilation_h);
    const int32_t ky1 = tml_end_tap(iy0, p->dilation_h, c->in_dims->h, p->kernel_h);
    const int32_t kx0 = tml_first_tap(ix0, p->dilation_w);
    const int32_t kx1 = tml_end_tap(ix0, p->dilation_w, c->in_dims->w, p->kernel_w);
    win->rows = (ky1 > ky0 && kx1 > kx0) ? ky1 - ky0 : 0;
    win->cols = win->rows > 0 ? kx1 - kx0 : 0;
    win->x_first = win->rows > 0
        ? ((size_t)(iy0 + ky0 * p->dilation_h) * (size_t)c->in_dims->w
           + (size_t)(ix0 + kx0 * p->dilation_w)) * (size_t)c->in_dims->c
        : 0;
    win->w_first = win->rows > 0
        ? ((size_t)ky0 * (size_t)p->kernel_w + (size_t)kx0) * (size_t)c->out_dims->c
        : 0;
}

/* Any depth multiplier, one output channel at a time, input channels from
 * ic_begin on: the general path, and the leftover channels of the grouped
 * one. */
TML_COLD static void tml_dw_channels(const tml_dw_ctx_t *c, const int8_t *in_batch,
    const int8_t *weights, const int32_t *bias, int32_t ic_begin, int8_t *out_batch) {
    const tml_conv_params_t *p = c->p;
    const tml_requant_t *q = c->q;
    const int32_t in_c = c->in_dims->c, out_c = c->out_dims->c;
    const int32_t depth_multiplier = p->depth_multiplier;
    const int32_t input_offset = q->input_offset;
    const int32_t quant_step = q->channel_quant > 1 ? 1 : 0;
    const size_t x_tap_step = (size_t)p->dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)p->dilation_h * (size_t)c->in_dims->w * (size_t)in_c;
    const size_t w_row_step = (size_t)p->kernel_w * (size_t)out_c;
    int8_t *out = out_batch;

    for (int32_t oy = 0; oy < c->out_dims->h; ++oy) {
        for (int32_t ox = 0; ox < c->out_dims->w; ++ox, out += out_c) {
            tml_dw_window_t win;
            tml_dw_window(c, oy, ox, &win);
            for (int32_t ic = ic_begin; ic < in_c; ++ic) {
                for (int32_t m = 0; m < depth_multiplier; ++m) {
                    const int32_t oc = ic * depth_multiplier + m;
                    int32_t acc = 0;
                    for (int32_t r = 0; r < win.rows; ++r) {
                        const int8_t *x = in_batch + win.x_first + (size_t)r * x_row_step + ic;
                        const int8_t *w = weights + win.w_first + (size_t)r * w_row_step + oc;
                        for (int32_t col = 0; col < win.cols; ++col) {
                            acc += (int32_t)w[(size_t)col * (size_t)out_c]
                                * ((int32_t)x[(size_t)col * x_tap_step] + input_offset);
                        }
                    }
                    out[oc] = tml_conv_requant(acc, bias, oc, q->multiplier[oc * quant_step],
                        q->shift[oc * quant_step], c->lo, c->hi, q->output_offset);
                }
            }
        }
    }
}

/* Channels per pass of the grouped depthwise kernel and the largest kernel
 * window it takes; both bound its stack (about 0.5 KB). */
#define TML_DW_CHUNK (64)
#define TML_DW_MAX_TAPS (32)

/* Depth multiplier 1, four neighbouring channels at a time: in NHWC they are
 * four neighbouring bytes of every tap, so one pass over the taps feeds four
 * accumulators. The input offset is folded into the bias once per pass:
 *   bias + sum w * (x + offset) = (bias + offset * sum w) + sum w * x
 * (all arithmetic modulo 2^32, as the plain form). Taps in the padding read
 * the input zero point (-offset), where w * (x + offset) is 0 as TFLite's
 * skipped taps are, so border pixels need no other path: only their tap
 * table differs. */
static void tml_dw_groups4(const tml_dw_ctx_t *c, const int8_t *in_batch,
    const int8_t *weights, const int32_t *bias, int32_t channels, int8_t *out_batch) {
    const tml_conv_params_t *p = c->p;
    const tml_requant_t *q = c->q;
    const int32_t ch = c->in_dims->c, in_h = c->in_dims->h, in_w = c->in_dims->w;
    const int32_t kernel_h = p->kernel_h, kernel_w = p->kernel_w;
    const int32_t taps = kernel_h * kernel_w;
    const int32_t quant_step = q->channel_quant > 1 ? 1 : 0;
    const size_t w_tap_step = (size_t)ch;
    /* Locals, because every int8 store may alias the structs they come from
     * and would force a reload per output. */
    const int32_t lo = c->lo, hi = c->hi, output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shifts = q->shift;
    int32_t folded[TML_DW_CHUNK];
    int8_t zero_point[TML_DW_CHUNK];
    const int8_t *tap[TML_DW_MAX_TAPS];

    memset(zero_point, -q->input_offset, sizeof(zero_point));
    for (int32_t c0 = 0; c0 < channels; c0 += TML_DW_CHUNK) {
        const int32_t n = channels - c0 < TML_DW_CHUNK ? channels - c0 : TML_DW_CHUNK;
        for (int32_t k = 0; k < n; ++k) {
            int32_t wsum = 0;
            for (int32_t t = 0; t < taps; ++t) {
                wsum += weights[(size_t)t * w_tap_step + (size_t)(c0 + k)];
            }
            folded[k] = (int32_t)((bias != NULL ? (uint32_t)bias[c0 + k] : 0u)
                + (uint32_t)q->input_offset * (uint32_t)wsum);
        }
        const int8_t *w_chunk = weights + c0;
        int8_t *out = out_batch + c0;
        for (int32_t oy = 0; oy < c->out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < c->out_dims->w; ++ox, out += ch) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t t = 0;
                for (int32_t ky = 0; ky < kernel_h; ++ky) {
                    const int32_t iy = iy0 + ky * p->dilation_h;
                    for (int32_t kx = 0; kx < kernel_w; ++kx, ++t) {
                        const int32_t ix = ix0 + kx * p->dilation_w;
                        tap[t] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                            ? in_batch + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)ch + c0
                            : zero_point;
                    }
                }
                for (int32_t g = 0; g < n; g += 4) {
                    /* Scalars, not an array, so they stay in registers. */
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    const int8_t *w = w_chunk + g;
                    for (int32_t i = 0; i < taps; ++i, w += w_tap_step) {
                        tml_mac4_s8(tap[i] + g, w, &a0, &a1, &a2, &a3);
                    }
                    const int32_t oc = c0 + g;
                    const int32_t *mult = multiplier + oc * quant_step;
                    const int32_t *shift = shifts + oc * quant_step;
                    out[g] = tml_conv_requant(a0, folded, g, mult[0], shift[0],
                        lo, hi, output_offset);
                    out[g + 1] = tml_conv_requant(a1, folded, g + 1, mult[quant_step],
                        shift[quant_step], lo, hi, output_offset);
                    out[g + 2] = tml_conv_requant(a2, folded, g + 2, mult[2 * quant_step],
                        shift[2 * quant_step], lo, hi, output_offset);
                    out[g + 3] = tml_conv_requant(a3, folded, g + 3, mult[3 * quant_step],
                        shift[3 * quant_step], lo, hi, output_offset);
                }
            }
        }
    }
}

tml_status_t tml_depthwise_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out) {
    if (p->depth_multiplier < 1
        || (int64_t)out_dims->c != (int64_t)in_dims->c * p->depth_multiplier) {
        return TML_ERR_BAD_PARAM;
    }
    const int64_t acc_terms = (int64_t)p->kernel_h * p->kernel_w;
    tml_status_t status = tml_check_conv(p, q, in_dims, out_dims, acc_terms);
    if (status != TML_OK) {
        return status;
    }
    const tml_dw_ctx_t ctx = {
        p, q, in_dims, out_dims, p->act_min - q->output_offset, p->act_max - q->output_offset,
    };
    /* The grouped kernel takes channels in fours and windows up to
     * TML_DW_MAX_TAPS; what it leaves goes one channel at a time. */
    const int32_t grouped = p->depth_multiplier == 1 && acc_terms <= TML_DW_MAX_TAPS
        ? in_dims->c & ~(int32_t)3 : 0;
    const size_t in_size = (size_t)in_dims->h * (size_t)in_dims->w * (size_t)in_dims->c;
    const size_t out_size = (size_t)out_dims->h * (size_t)out_dims->w * (size_t)out_dims->c;

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_batch = in + (size_t)b * in_size;
        int8_t *out_batch = out + (size_t)b * out_size;
        tml_dw_groups4(&ctx, in_batch, weights, bias, grouped, out_batch);
        if (grouped < in_dims->c) {
            tml_dw_channels(&ctx, in_batch, weights, bias, grouped, out_batch);
        }
    }
    return TML_OK;
}
