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
    return origin >= 0 ? 0 : (dilation - 1 - origin) / dilation;
}

/* One past the largest tap k < taps with origin + k * dilation < size. */
static int32_t tml_end_tap(int32_t origin, int32_t dilation, int32_t size, int32_t taps) {
    int32_t last = size - 1 - origin;
    if (last < 0) {
        return 0;
    }
    int32_t end = last / dilation + 1;
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

/* Stack bytes for one gathered filter window (im2col of one output pixel).
 * Bounded so the kernel's stack use is known; windows of more taps are
 * summed run by run from the input instead. */
#define TML_IM2COL_MAX (512)

static inline int8_t tml_conv_requant(int32_t acc, const int32_t *bias, int32_t oc,
    int32_t multiplier, int32_t shift, int32_t lo, int32_t hi, int32_t output_offset) {
    if (bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)bias[oc]);
    }
    acc = tml_multiply_by_quantized_multiplier(acc, multiplier, shift);
    return (int8_t)(tml_clamp(acc, lo, hi) + output_offset);
}

/* All output channels of one pixel whose filter window is the contiguous
 * x[0, filter_size): a matrix-vector product, four channels at a time so
 * each input value is loaded and offset once per four products. */
static void tml_conv_pixel(const int8_t *x, int32_t filter_size,
    const int8_t *weights, const int32_t *bias, const tml_requant_t *q,
    int32_t out_c, int32_t lo, int32_t hi, int8_t *out) {
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    int32_t oc = 0;
    for (; oc + 4 <= out_c; oc += 4) {
        int32_t acc[4] = {0, 0, 0, 0};
        tml_dot4_s8(x, weights + (size_t)oc * (size_t)filter_size, filter_size, filter_size,
            q->input_offset, acc);
        for (int32_t k = 0; k < 4; ++k) {
            out[oc + k] = tml_conv_requant(acc[k], bias, oc + k, q->multiplier[(oc + k) * step],
                q->shift[(oc + k) * step], lo, hi, q->output_offset);
        }
    }
    for (; oc < out_c; ++oc) {
        const int32_t acc = tml_dot1_s8(x, weights + (size_t)oc * (size_t)filter_size,
            filter_size, q->input_offset);
        out[oc] = tml_conv_requant(acc, bias, oc, q->multiplier[oc * step], q->shift[oc * step],
            lo, hi, q->output_offset);
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
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    /* A window is one contiguous run of the input when it is whole, has no
     * column dilation and either one row or rows as wide as the image
     * (always for pointwise convolutions and Conv1D). */
    const int contiguous_rows = dilation_w == 1 && (kernel_h == 1 || kernel_w == in_w);
    const size_t x_run_step = (size_t)dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)dilation_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row_step = (size_t)kernel_w * (size_t)in_c;
    int8_t col[TML_IM2COL_MAX];

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
                if (whole && contiguous_rows) {
                    tml_conv_pixel(in_batch + x_first, filter_size, weights, bias, q, out_c,
                        lo, hi, out);
                    continue;
                }
                if (filter_size <= TML_IM2COL_MAX) {
                    /* Gather the window; taps in the padding hold the input
                     * zero point, so x + input_offset is 0 there, exactly as
                     * skipping them. */
                    const int8_t pad = (int8_t)(-q->input_offset);
                    int8_t *c = col;
                    for (int32_t ky = 0; ky < kernel_h; ++ky) {
                        const int32_t iy = iy0 + ky * dilation_h;
                        for (int32_t kx = 0; kx < kernel_w; ++kx) {
                            const int32_t ix = ix0 + kx * dilation_w;
                            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                                memcpy(c, in_batch + ((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c,
                                    (size_t)in_c);
                            } else {
                                memset(c, pad, (size_t)in_c);
                            }
                            c += in_c;
                        }
                    }
                    tml_conv_pixel(col, filter_size, weights, bias, q, out_c, lo, hi, out);
                    continue;
                }
                /* Large windows: sum the valid taps run by run. */
                const int32_t runs = dilation_w == 1 ? 1 : kx1 - kx0;
                const int32_t run_len = dilation_w == 1 ? (kx1 - kx0) * in_c : in_c;
                const size_t w_first = rows > 0 ? (size_t)(ky0 * kernel_w + kx0) * (size_t)in_c : 0;
                int32_t oc = 0;
                for (; oc + 4 <= out_c; oc += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    const int8_t *w_filter = weights + (size_t)oc * (size_t)filter_size + w_first;
                    for (int32_t r = 0; r < rows; ++r) {
                        for (int32_t run = 0; run < runs; ++run) {
                            tml_dot4_s8(in_batch + x_first + (size_t)r * x_row_step + (size_t)run * x_run_step,
                                w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)in_c,
                                filter_size, run_len, q->input_offset, acc);
                        }
                    }
                    for (int32_t k = 0; k < 4; ++k) {
                        out[oc + k] = tml_conv_requant(acc[k], bias, oc + k,
                            q->multiplier[(oc + k) * step], q->shift[(oc + k) * step],
                            lo, hi, q->output_offset);
                    }
                }
                for (; oc < out_c; ++oc) {
                    int32_t acc = 0;
                    const int8_t *w_filter = weights + (size_t)oc * (size_t)filter_size + w_first;
                    for (int32_t r = 0; r < rows; ++r) {
                        for (int32_t run = 0; run < runs; ++run) {
                            acc += tml_dot1_s8(in_batch + x_first + (size_t)r * x_row_step + (size_t)run * x_run_step,
                                w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)in_c,
                                run_len, q->input_offset);
                        }
                    }
                    out[oc] = tml_conv_requant(acc, bias, oc, q->multiplier[oc * step],
                        q->shift[oc * step], lo, hi, q->output_offset);
                }
            }
        }
    }
    return TML_OK;
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

    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t depth_multiplier = p->depth_multiplier;
    const int32_t kernel_w = p->kernel_w;
    const int32_t dilation_h = p->dilation_h, dilation_w = p->dilation_w;
    const int32_t input_offset = q->input_offset;
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t quant_step = q->channel_quant > 1 ? 1 : 0;
    /* Consecutive taps of one channel are a pixel apart in the input and a
     * kernel column apart in the weights. */
    const size_t x_tap_step = (size_t)dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)dilation_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row_step = (size_t)kernel_w * (size_t)out_c;

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_batch = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = tml_first_tap(iy0, dilation_h);
            const int32_t ky1 = tml_end_tap(iy0, dilation_h, in_h, p->kernel_h);
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = tml_first_tap(ix0, dilation_w);
                const int32_t kx1 = tml_end_tap(ix0, dilation_w, in_w, kernel_w);
                const int32_t rows = (ky1 > ky0 && kx1 > kx0) ? ky1 - ky0 : 0;
                const int32_t cols = kx1 - kx0;
                /* Index of the first valid tap of channel 0; only used when rows > 0. */
                const size_t x_first = rows > 0
                    ? ((size_t)(iy0 + ky0 * dilation_h) * (size_t)in_w
                       + (size_t)(ix0 + kx0 * dilation_w)) * (size_t)in_c
                    : 0;
                const size_t w_first = rows > 0
                    ? ((size_t)ky0 * (size_t)kernel_w + (size_t)kx0) * (size_t)out_c
                    : 0;
                const int32_t *multiplier = q->multiplier;
                const int32_t *shift = q->shift;

                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < depth_multiplier; ++m) {
                        const int32_t oc = ic * depth_multiplier + m;
                        int32_t acc = 0;
                        for (int32_t r = 0; r < rows; ++r) {
                            const int8_t *x = in_batch + x_first + (size_t)r * x_row_step + ic;
                            const int8_t *w = weights + w_first + (size_t)r * w_row_step + oc;
                            for (int32_t col = 0; col < cols; ++col) {
                                acc += (int32_t)w[(size_t)col * (size_t)out_c]
                                    * ((int32_t)x[(size_t)col * x_tap_step] + input_offset);
                            }
                        }
                        if (bias != NULL) {
                            acc = (int32_t)((uint32_t)acc + (uint32_t)bias[oc]);
                        }
                        acc = tml_multiply_by_quantized_multiplier(acc, *multiplier, *shift);
                        multiplier += quant_step;
                        shift += quant_step;
                        *out++ = (int8_t)(tml_clamp(acc, lo, hi) + q->output_offset);
                    }
                }
            }
        }
    }
    return TML_OK;
}
