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

/* Pointwise convolution without padding or stride is a matrix product: every
 * pixel is one dot product of in_c values per output channel, with no window
 * to compute. (Not a call to the FULLY_CONNECTED kernel: TFLite rounds the
 * two ops differently.) */
static void tml_conv_pointwise_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out) {
    const int32_t pixels = in_dims->n * in_dims->h * in_dims->w;
    const int32_t in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t input_offset = q->input_offset;
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t quant_step = q->channel_quant > 1 ? 1 : 0;

    for (int32_t px = 0; px < pixels; ++px) {
        const int8_t *x = in + (size_t)px * (size_t)in_c;
        const int8_t *w = weights;
        const int32_t *multiplier = q->multiplier;
        const int32_t *shift = q->shift;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            int32_t acc = 0;
            for (int32_t i = 0; i < in_c; ++i) {
                acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
            }
            w += in_c;
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
    if (p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1
        && p->pad_top == 0 && p->pad_left == 0
        && out_dims->h == in_dims->h && out_dims->w == in_dims->w) {
        tml_conv_pointwise_s8(p, q, in_dims, in, weights, bias, out_dims, out);
        return TML_OK;
    }

    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t kernel_h = p->kernel_h, kernel_w = p->kernel_w;
    const int32_t dilation_h = p->dilation_h, dilation_w = p->dilation_w;
    const int32_t filter_size = kernel_h * kernel_w * in_c;
    const int32_t input_offset = q->input_offset;
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t quant_step = q->channel_quant > 1 ? 1 : 0;
    /* With no column dilation the valid taps of a kernel row are contiguous
     * in both the input row and the weights: one run of in_c * columns. */
    const size_t x_run_step = (size_t)dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)dilation_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row_step = (size_t)kernel_w * (size_t)in_c;

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_batch = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = tml_first_tap(iy0, dilation_h);
            const int32_t ky1 = tml_end_tap(iy0, dilation_h, in_h, kernel_h);
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = tml_first_tap(ix0, dilation_w);
                const int32_t kx1 = tml_end_tap(ix0, dilation_w, in_w, kernel_w);
                const int32_t rows = (ky1 > ky0 && kx1 > kx0) ? ky1 - ky0 : 0;
                const int32_t runs = dilation_w == 1 ? 1 : kx1 - kx0;
                const int32_t run_len = dilation_w == 1 ? (kx1 - kx0) * in_c : in_c;
                /* Indices of the first valid tap; only used when rows > 0. */
                const size_t x_first = rows > 0
                    ? ((size_t)(iy0 + ky0 * dilation_h) * (size_t)in_w
                       + (size_t)(ix0 + kx0 * dilation_w)) * (size_t)in_c
                    : 0;
                const size_t w_first = rows > 0 ? (size_t)(ky0 * kernel_w + kx0) * (size_t)in_c : 0;
                const int32_t *multiplier = q->multiplier;
                const int32_t *shift = q->shift;

                for (int32_t oc = 0; oc < out_c; ++oc) {
                    int32_t acc = 0;
                    const int8_t *w_filter = weights + (size_t)oc * (size_t)filter_size + w_first;
                    for (int32_t r = 0; r < rows; ++r) {
                        const int8_t *x_row = in_batch + x_first + (size_t)r * x_row_step;
                        const int8_t *w_row = w_filter + (size_t)r * w_row_step;
                        for (int32_t run = 0; run < runs; ++run) {
                            const int8_t *x = x_row + (size_t)run * x_run_step;
                            const int8_t *w = w_row + (size_t)run * (size_t)in_c;
                            for (int32_t i = 0; i < run_len; ++i) {
                                acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
                            }
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
