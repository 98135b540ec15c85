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
 * refused by the checks. The bias is an arbitrary int32 chosen by the
 * quantiser; it is added modulo 2^32, which is what TFLite's plain int32
 * addition does on every target it runs on, without C's signed-overflow
 * undefined behaviour.
 */
#include <stddef.h>
#include <string.h>
#include "tml_arch.h"
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

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

/* Both convolutions: the batch carries through, each spatial axis is a
 * valid window, the reduction fits the int32 accumulator (acc_terms) and
 * the rescale is per-tensor or per output channel. */
static tml_status_t tml_check_conv_common(const tml_conv_params_t *p, const tml_requant_t *q,
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
        s = tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    if (s != TML_OK) {
        return s;
    }
    if (acc_terms > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "kernel longer than 65536 terms (int32 accumulator)");
    }
    if (q->channel_quant != 1 && q->channel_quant != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output channels");
    }
    return TML_OK;
}

tml_status_t tml_conv_check(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (p->depth_multiplier != 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "depth_multiplier must be 1 for CONV_2D");
    }
    return tml_check_conv_common(p, q, in_dims, out_dims,
        (int64_t)p->kernel_h * p->kernel_w * in_dims->c, detail);
}

tml_status_t tml_depthwise_conv_check(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (p->depth_multiplier == 0 || (int64_t)in_dims->c * p->depth_multiplier != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output channels != input channels * depth_multiplier");
    }
    return tml_check_conv_common(p, q, in_dims, out_dims, (int64_t)p->kernel_h * p->kernel_w, detail);
}

/* Inputs in one gathered filter window (im2col of one output pixel).
 * Bounded so the kernel's scratch is; larger windows are summed
 * run by run from the input instead. */
#define TML_IM2COL_MAX (576)

/* Channels per requantisation row: accumulators are collected for this
 * many channels, then rescaled in one tight loop (tml_requant_row()). */
#define TML_ACC_CHUNK (32)
#if (TML_ARCH_V7M || TML_ARCH_DSP) && TML_ACC_CHUNK != TML_REQUANT_PAIR_ACC_STEP
#error "tml_requant_fold2_v7m() finds the second pixel's accumulators TML_ACC_CHUNK words on"
#endif
#if TML_ARCH_M0 && TML_ACC_CHUNK != 32
#error "tml_m0_conv4() finds pixel p's accumulators 32 * p words on"
#endif

/* Pixels are computed in pairs (tml_dot2x2_channels()) on the portable
 * path, one at a time on x86-64 (the SSE2 loop is faster), and four at a
 * time on the Arm cores (tml_dot4px_channels()), the last two or one as a
 * pair. */
#define TML_CONV_PAIRS (!TML_ARCH_SSE2)
#ifndef TML_CONV_QUADS
#define TML_CONV_QUADS (0)
#define TML_XQUAD_MAX (0)
#define TML_XQUAD_INPUT_BYTES (0)
#endif
#define TML_CONV_GROUP (TML_CONV_QUADS ? 4 : TML_CONV_PAIRS ? 2 : 1)

/* The gather's copies of a window row: a few bytes (9 for a 3x3 stem over
 * RGB), where the C library's memcpy costs a call and on unaligned rows a
 * byte loop. Inline, a word at a time, where words load from any
 * alignment (Cortex-M3/M4). */
static inline void tml_copy_row(int8_t *dst, const int8_t *src, size_t n) {
#if TML_ARCH_V7M || TML_ARCH_DSP
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        uint32_t v;
        memcpy(&v, src, sizeof(v));
        memcpy(dst, &v, sizeof(v));
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
#else
    memcpy(dst, src, n);
#endif
}

static uint32_t tml_align8(uint32_t n) {
    return (n + 7u) & ~7u;
}

/* The conv kernel's scratch, in this order: the prepared pixels (a pair's
 * or a quad's; for single pixels, the prepared window), on the pair path
 * the accumulators of TML_CONV_GROUP pixels, then TML_CONV_GROUP gather
 * buffers, used when a window of at most TML_IM2COL_MAX inputs is not one
 * run of the input (never for a 1x1 kernel, whose window is one run or all
 * padding). */
#define TML_CONV_ACC_BYTES (TML_CONV_PAIRS ? TML_CONV_GROUP * TML_ACC_CHUNK * sizeof(int32_t) : 0u)

static uint32_t tml_conv_gather_bytes(const tml_conv_params_t *p, const tml_dims_t *in_dims) {
    const uint32_t filter_size = (uint32_t)p->kernel_h * p->kernel_w * (uint32_t)in_dims->c;
    return filter_size <= TML_IM2COL_MAX && p->kernel_h * p->kernel_w > 1 ? tml_align8(filter_size) : 0u;
}

/* The prepared pixels of windows of filter_size inputs: a pair's and a
 * quad's pieces (TML_XPAIR_MAX, TML_XQUAD_MAX inputs, the last block
 * padded), only as long as the layer's windows; for single pixels, the
 * prepared window. */
static uint32_t tml_conv_xbuf_bytes(int32_t filter_size) {
#if TML_CONV_PAIRS
    const int32_t pair_len = filter_size < TML_XPAIR_MAX ? filter_size : TML_XPAIR_MAX;
    const int32_t quad_len = filter_size < TML_XQUAD_MAX ? filter_size : TML_XQUAD_MAX;
    const uint32_t pair = 2u * (uint32_t)((pair_len + 3) & ~3) * (uint32_t)sizeof(tml_xpair_t);
    const uint32_t quad = (uint32_t)((quad_len + 3) & ~3) * TML_XQUAD_INPUT_BYTES;
    return tml_align8(pair > quad ? pair : quad);
#else
    (void)filter_size;
    return tml_align8((uint32_t)(TML_XVEC_MAX * sizeof(tml_xvec_t)));
#endif
}

uint32_t tml_conv_scratch_size(const tml_conv_params_t *p, const tml_dims_t *in_dims) {
    const int32_t filter_size = (int32_t)p->kernel_h * p->kernel_w * in_dims->c;
    return tml_conv_xbuf_bytes(filter_size) + TML_CONV_ACC_BYTES
        + TML_CONV_GROUP * tml_conv_gather_bytes(p, in_dims);
}

static inline int8_t tml_requant_one(int32_t acc, int32_t multiplier, int32_t shift,
    int32_t lo, int32_t hi, int32_t output_offset) {
    acc = tml_multiply_by_quantized_multiplier(acc, multiplier, shift);
    return (int8_t)(tml_clamp(acc, lo, hi) + output_offset);
}

/* out[i] = the int8 of acc[i] for n > 0 consecutive channels whose
 * accumulators already hold the bias, with multiplier[i * step],
 * shift[i * step] (step 0: per-tensor). All outputs of the convolutions
 * are rescaled here, out of the accumulation loops, so that both keep
 * their values in registers. `mode` is tml_rescale_mode(). */
static void tml_requant_row(const int32_t *acc, int32_t n,
    const int32_t *multiplier, const int32_t *shift, int32_t step, int mode,
    int32_t lo, int32_t hi, int32_t output_offset, int8_t *out) {
#if TML_ARCH_V7M || TML_ARCH_DSP
    if (tml_rescale_folds(mode, hi, output_offset) && step == 1) {
        const tml_requant_fold_args_t args = {
            0, multiplier, shift, 2 * output_offset + 1, lo + output_offset,
        };
        tml_requant_fold1_v7m(acc, out, n, &args);
        return;
    }
    if (mode != TML_RESCALE_ANY && step == 1) {
        const tml_requant_row_args_t args = {
            multiplier, shift, 1 + 2 * output_offset, lo + output_offset, hi + output_offset,
        };
        tml_requant_row_v7m(acc, out, n, &args);
        return;
    }
#endif
#ifndef TML_REQUANT_HALVES
    if (mode == TML_RESCALE_FOLDED) {
        for (int32_t i = 0; i < n; ++i, multiplier += step, shift += step) {
            const int32_t v = tml_rescale_folded(acc[i], *multiplier,
                tml_rescale_fold(output_offset, *shift), *shift);
            out[i] = (int8_t)tml_clamp(v, lo + output_offset, hi + output_offset);
        }
        return;
    }
#endif
#if TML_ARCH_M0
    if (mode != TML_RESCALE_ANY && step == 1) {
        const tml_requant_row_m0_args_t args = {
            multiplier, shift, lo + output_offset, hi + output_offset, 1 + 2 * output_offset,
        };
        tml_requant_row_m0(acc, out, n, &args);
        return;
    }
    if (mode != TML_RESCALE_ANY) {
        const tml_requant_pt_m0_args_t args = tml_requant_pt_m0_args(*multiplier, *shift,
            lo + output_offset, hi + output_offset, output_offset);
        tml_requant_pt_m0(acc, out, n, &args);
        return;
    }
#endif
    if (mode != TML_RESCALE_ANY) {
        for (int32_t i = 0; i < n; ++i, multiplier += step, shift += step) {
            const int32_t v = tml_rescale_down_by(acc[i], *multiplier, -*shift - 1);
            out[i] = (int8_t)(tml_clamp(v, lo, hi) + output_offset);
        }
        return;
    }
    for (int32_t i = 0; i < n; ++i, multiplier += step, shift += step) {
        out[i] = tml_requant_one(acc[i], *multiplier, *shift, lo, hi, output_offset);
    }
}

/* acc[i] += bias[i] modulo 2^32 for n channels (nothing without a bias). */
static void tml_acc_add_bias(int32_t *acc, const int32_t *bias, int32_t n) {
    if (bias != NULL) {
        for (int32_t i = 0; i < n; ++i) {
            acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)bias[i]);
        }
    }
}

/* Everything the per-pixel functions share. */
typedef struct {
    const int8_t *weights;
    const int32_t *bias;
    const tml_requant_t *q;
    int32_t filter_size, out_c, lo, hi;
    int mode; /* tml_rescale_mode(q) */
    /* Quads only: the bytes of a window row when each window comes with
     * the step from one of its rows to the next (read in place); 0 when
     * every window is one run. */
    int32_t row_len;
    uint32_t xbuf_bytes; /* tml_conv_xbuf_bytes(): the accumulators follow */
} tml_conv_ctx_t;

static void tml_conv_rows(const tml_conv_ctx_t *c, int32_t c0, int32_t n, const int32_t *acc,
    int8_t *out) {
    const int32_t step = c->q->channel_quant > 1 ? 1 : 0;
    tml_requant_row(acc, n, c->q->multiplier + c0 * step, c->q->shift + c0 * step, step, c->mode,
        c->lo, c->hi, c->q->output_offset, out + c0);
}

#if TML_CONV_PAIRS
/* tml_conv_rows() for two pixels whose accumulators are TML_ACC_CHUNK
 * apart: each channel's constants loaded once for both on Cortex-M3/M4. */
static void tml_conv_rows2(const tml_conv_ctx_t *c, int32_t c0, int32_t n, const int32_t *acc,
    int8_t *out_a, int8_t *out_b) {
#if TML_ARCH_V7M || TML_ARCH_DSP
    const tml_requant_t *q = c->q;
    if (tml_rescale_folds(c->mode, c->hi, q->output_offset) && q->channel_quant > 1) {
        const tml_requant_fold_args_t args = {
            (int32_t)(out_b - out_a), q->multiplier + c0, q->shift + c0, 2 * q->output_offset + 1,
            c->lo + q->output_offset,
        };
        tml_requant_fold2_v7m(acc, out_a + c0, n, &args);
        return;
    }
#endif
    tml_conv_rows(c, c0, n, acc, out_a);
    tml_conv_rows(c, c0, n, acc + TML_ACC_CHUNK, out_b);
}

/* The accumulators' start for convolutions without a bias. */
static const int32_t tml_zero_acc[TML_ACC_CHUNK];

/* Two output pixels from their int8 windows (the same window twice for an
 * odd pixel out), two channels at a time; an odd last channel is computed
 * as both of a pair. Windows longer than the prepared buffer are taken TML_XPAIR_MAX
 * inputs at a time, the accumulators carried from chunk to chunk. */
static void tml_conv_pixel_pair(const tml_conv_ctx_t *c, const int8_t *win_a,
    const int8_t *win_b, tml_xpair_t *xbuf, int8_t *out_a, int8_t *out_b) {
    /* The accumulators follow the prepared pair in the scratch. */
    int32_t *const acc_a = (int32_t *)(void *)((uint8_t *)xbuf + c->xbuf_bytes);
    int32_t *const acc_b = acc_a + TML_ACC_CHUNK;
    const int32_t filter_size = c->filter_size, out_c = c->out_c;
    const int32_t input_offset = c->q->input_offset;
    const int once = filter_size <= TML_XPAIR_MAX;
    if (once) {
        tml_xpair_prepare(win_a, win_b, filter_size, input_offset, xbuf);
    }
    for (int32_t c0 = 0; c0 < out_c; c0 += TML_ACC_CHUNK) {
        const int32_t n = out_c - c0 < TML_ACC_CHUNK ? out_c - c0 : TML_ACC_CHUNK;
        for (int32_t f0 = 0; f0 < filter_size; f0 += TML_XPAIR_MAX) {
            const int32_t len = filter_size - f0 < TML_XPAIR_MAX ? filter_size - f0 : TML_XPAIR_MAX;
            if (!once) {
                tml_xpair_prepare(win_a + f0, win_b + f0, len, input_offset, xbuf);
            }
            const int8_t *w = c->weights + (size_t)c0 * (size_t)filter_size + (size_t)f0;
            /* The accumulators start from the bias. */
            const int32_t *start = c->bias != NULL ? c->bias + c0 : tml_zero_acc;
            const int32_t *src_a = f0 == 0 ? start : acc_a, *src_b = f0 == 0 ? start : acc_b;
            tml_dot2x2_channels(xbuf, len, w, filter_size, n >> 1, src_a, src_b, acc_a, acc_b);
            if (n & 1) {
                /* The odd last channel as both of a pair (stride 0). */
                const int32_t k = n - 1;
                const int32_t start_a[2] = {src_a[k], src_a[k]}, start_b[2] = {src_b[k], src_b[k]};
                int32_t last_a[2], last_b[2];
                tml_dot2x2_channels(xbuf, len, w + (size_t)k * (size_t)filter_size, 0, 1,
                    start_a, start_b, last_a, last_b);
                acc_a[k] = last_a[0];
                acc_b[k] = last_b[0];
            }
        }
        tml_conv_rows2(c, c0, n, acc_a, out_a, out_b);
    }
}

#if TML_CONV_QUADS
/* Four output pixels from their int8 windows, one channel at a time
 * (tml_dot4px_channels()), TML_XQUAD_MAX inputs at a time. */
static void tml_conv_pixel_quad(const tml_conv_ctx_t *c, const int8_t *const *win, const size_t *step,
    tml_xquad_t *xbuf, int8_t *const *out) {
    int32_t *const acc = (int32_t *)(void *)((uint8_t *)xbuf + c->xbuf_bytes);
    const int32_t filter_size = c->filter_size, out_c = c->out_c;
    const int once = filter_size <= TML_XQUAD_MAX;
    /* Four consecutive pixels (all but an unfinished last group): one
     * rescale call for the four. */
    const int uniform = out[1] - out[0] == out[2] - out[1] && out[3] - out[2] == out[1] - out[0]
        && out[1] != out[0];
    if (once) {
        tml_xquad_prepare(win, step, c->row_len, 0, filter_size, c->q->input_offset, xbuf);
    }
    for (int32_t c0 = 0; c0 < out_c; c0 += TML_ACC_CHUNK) {
        const int32_t n = out_c - c0 < TML_ACC_CHUNK ? out_c - c0 : TML_ACC_CHUNK;
        for (int32_t f0 = 0; f0 < filter_size; f0 += TML_XQUAD_MAX) {
            const int32_t len = filter_size - f0 < TML_XQUAD_MAX ? filter_size - f0 : TML_XQUAD_MAX;
            if (!once) {
                tml_xquad_prepare(win, step, c->row_len, f0, len, c->q->input_offset, xbuf);
            }
            /* The accumulators start from the bias. */
            const int32_t *start = f0 != 0 ? NULL : c->bias != NULL ? c->bias + c0 : tml_zero_acc;
            tml_dot4px_channels(xbuf, len, c->weights + (size_t)c0 * (size_t)filter_size + (size_t)f0,
                filter_size, n, acc, start);
        }
#if TML_ARCH_V7M || TML_ARCH_DSP
        const tml_requant_t *q = c->q;
        if (uniform && tml_rescale_folds(c->mode, c->hi, q->output_offset) && q->channel_quant > 1) {
            const tml_requant_fold_args_t args = {
                (int32_t)(out[1] - out[0]), q->multiplier + c0, q->shift + c0, 2 * q->output_offset + 1,
                c->lo + q->output_offset,
            };
            tml_requant_fold4_v7m(acc, out[0] + c0, n, &args);
            continue;
        }
#else
        (void)uniform;
#endif
        tml_conv_rows2(c, c0, n, acc, out[0], out[1]);
        tml_conv_rows2(c, c0, n, acc + 2 * TML_ACC_CHUNK, out[2], out[3]);
    }
}
#endif

/* The pixels of one group, count of them (1 <= count <= TML_CONV_GROUP):
 * four as a quad, three as a quad with the last twice, fewer as a pair
 * (whose windows are runs: tml_conv_s8 gathers any read in place first). */
static void tml_conv_pixel_group(const tml_conv_ctx_t *c, const int8_t **win, size_t *step, void *xbuf,
    int8_t **out, int32_t count) {
#if TML_CONV_QUADS
    if (count >= 3) {
        win[3] = win[count - 1];
        step[3] = step[count - 1];
        out[3] = out[count - 1];
        tml_conv_pixel_quad(c, win, step, (tml_xquad_t *)xbuf, out);
        return;
    }
#else
    (void)step;
#endif
    tml_conv_pixel_pair(c, win[0], win[count - 1], (tml_xpair_t *)xbuf, out[0], out[count - 1]);
}
#endif

#if !TML_CONV_PAIRS
/* All output channels of one pixel from its prepared window x (see
 * tml_xvec_prepare()): a matrix-vector product, four channels at a time so
 * each input value is loaded once per four products. */
static void tml_conv_pixel_x(const tml_conv_ctx_t *c, const tml_xvec_t *x, int8_t *out) {
    const int32_t filter_size = c->filter_size, out_c = c->out_c;
    const int32_t input_offset = c->q->input_offset;
    int32_t acc[TML_ACC_CHUNK];
    for (int32_t c0 = 0; c0 < out_c; c0 += TML_ACC_CHUNK) {
        const int32_t n = out_c - c0 < TML_ACC_CHUNK ? out_c - c0 : TML_ACC_CHUNK;
        const int8_t *w = c->weights + (size_t)c0 * (size_t)filter_size;
        int32_t k = 0;
        for (; k + 4 <= n; k += 4, w += 4 * (size_t)filter_size) {
            acc[k] = acc[k + 1] = acc[k + 2] = acc[k + 3] = 0;
            tml_dot4_x(x, w, filter_size, filter_size, input_offset, acc + k);
        }
        for (; k < n; ++k, w += filter_size) {
            acc[k] = tml_dot1_x(x, w, filter_size, input_offset);
        }
        tml_acc_add_bias(acc, c->bias != NULL ? c->bias + c0 : NULL, n);
        tml_conv_rows(c, c0, n, acc, out);
    }
}
#endif

/* Rarely taken paths (windows too large to gather, the one-channel-at-a-
 * time depthwise: depth multipliers above 1, channels left over from
 * groups of four) are built for size: this file is compiled at -O2, which
 * would otherwise inline and unroll them too. */
#if defined(__GNUC__)
#define TML_COLD __attribute__((cold, noinline))
#define TML_OUT_OF_LINE __attribute__((noinline))
#else
#define TML_COLD
#define TML_OUT_OF_LINE
#endif

/* One output pixel whose window is too large to gather or prepare (3x3
 * over more than 56 channels, for one): the valid taps, rows x runs runs
 * of run_len inputs, summed straight from the input, four channels at a
 * time. */
TML_COLD static void tml_conv_pixel_runs(const tml_conv_ctx_t *c, const int8_t *x, size_t x_row_step,
    size_t x_run_step, int32_t rows, int32_t runs, int32_t run_len, const int8_t *w_first,
    size_t w_row_step, int32_t w_run_step, int8_t *out) {
    const int32_t filter_size = c->filter_size, out_c = c->out_c;
    const int32_t input_offset = c->q->input_offset;
    int32_t acc[TML_ACC_CHUNK];
    for (int32_t c0 = 0; c0 < out_c; c0 += TML_ACC_CHUNK) {
        const int32_t n = out_c - c0 < TML_ACC_CHUNK ? out_c - c0 : TML_ACC_CHUNK;
        int32_t k = 0;
        for (; k + 4 <= n; k += 4) {
            const int8_t *w_filter = w_first + (size_t)(c0 + k) * (size_t)filter_size;
            acc[k] = acc[k + 1] = acc[k + 2] = acc[k + 3] = 0;
            for (int32_t r = 0; r < rows; ++r) {
                for (int32_t run = 0; run < runs; ++run) {
                    tml_dot4_s8(x + (size_t)r * x_row_step + (size_t)run * x_run_step,
                        w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)w_run_step,
                        filter_size, run_len, input_offset, acc + k);
                }
            }
        }
        for (; k < n; ++k) {
            const int8_t *w_filter = w_first + (size_t)(c0 + k) * (size_t)filter_size;
            int32_t a = 0;
            for (int32_t r = 0; r < rows; ++r) {
                for (int32_t run = 0; run < runs; ++run) {
                    a += tml_dot1_s8(x + (size_t)r * x_row_step + (size_t)run * x_run_step,
                        w_filter + (size_t)r * w_row_step + (size_t)run * (size_t)w_run_step,
                        run_len, input_offset);
                }
            }
            acc[k] = a;
        }
        tml_acc_add_bias(acc, c->bias != NULL ? c->bias + c0 : NULL, n);
        tml_conv_rows(c, c0, n, acc, out);
    }
}

/* What tml_gather_window() needs of a layer. */
typedef struct {
    int32_t in_h, in_w, in_c, kernel_h, kernel_w, dilation_h, dilation_w;
    int8_t pad; /* the input zero point */
} tml_gather_geometry_t;

/* One pixel's window (origin iy0, ix0; valid columns of taps [kx0, kx1))
 * into `col`: taps in the padding hold the input zero point, so x +
 * input_offset is 0 there, exactly as skipping them. Out of line on
 * Cortex-M3/M4 (built at -O2), so that neither it nor the pixel loop spills
 * the other's values; inlined elsewhere, where that was measured faster. */
#if TML_ARCH_V7M || TML_ARCH_DSP
#define TML_GATHER_INLINE TML_OUT_OF_LINE
#else
#define TML_GATHER_INLINE inline
#endif
TML_GATHER_INLINE static void tml_gather_window(const tml_gather_geometry_t *g, const int8_t *in_batch,
    int32_t iy0, int32_t ix0, int32_t kx0, int32_t kx1, int8_t *col) {
    const int32_t in_h = g->in_h, in_c = g->in_c, kernel_w = g->kernel_w;
    const size_t in_row_bytes = (size_t)g->in_w * (size_t)in_c;
    const int8_t pad = g->pad;
    /* Without column dilation the valid taps of a row are one run [a, b):
     * one copy per row, not one per tap. */
    const int32_t a = kx0 < kernel_w ? kx0 : kernel_w;
    const int32_t b = kx1 > a ? kx1 : a;
    const size_t row_len = (size_t)kernel_w * (size_t)in_c;
    int8_t *c = col;
    if (g->dilation_w == 1 && a == 0 && b == kernel_w && iy0 >= 0
        && iy0 + (g->kernel_h - 1) * g->dilation_h < in_h) {
        /* Inside the image (most windows): a run a row. */
        const int8_t *src = in_batch + (size_t)iy0 * in_row_bytes + (size_t)ix0 * (size_t)in_c;
        const size_t src_step = (size_t)g->dilation_h * in_row_bytes;
        for (int32_t ky = 0; ky < g->kernel_h; ++ky, c += row_len, src += src_step) {
            tml_copy_row(c, src, row_len);
        }
        return;
    }
    for (int32_t ky = 0; ky < g->kernel_h; ++ky, c += row_len) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        if (iy < 0 || iy >= in_h) {
            memset(c, pad, row_len);
            continue;
        }
        const int8_t *in_row = in_batch + (size_t)iy * in_row_bytes;
        if (g->dilation_w == 1) {
            /* Most pixels have no padding at all: no empty calls for them. */
            if (a > 0) {
                memset(c, pad, (size_t)a * (size_t)in_c);
            }
            if (b > a) {
                tml_copy_row(c + (size_t)a * (size_t)in_c, in_row + (size_t)(ix0 + a) * (size_t)in_c,
                    (size_t)(b - a) * (size_t)in_c);
            }
            if (b < kernel_w) {
                memset(c + (size_t)b * (size_t)in_c, pad, (size_t)(kernel_w - b) * (size_t)in_c);
            }
            continue;
        }
        for (int32_t kx = 0; kx < kernel_w; ++kx) {
            const int32_t ix = ix0 + kx * g->dilation_w;
            if (ix >= 0 && ix < g->in_w) {
                memcpy(c + (size_t)kx * (size_t)in_c, in_row + (size_t)ix * (size_t)in_c, (size_t)in_c);
            } else {
                memset(c + (size_t)kx * (size_t)in_c, pad, (size_t)in_c);
            }
        }
    }
}

void tml_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out, void *scratch) {

    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t out_c = out_dims->c;
    const int32_t kernel_h = p->kernel_h, kernel_w = p->kernel_w;
    const int32_t dilation_h = p->dilation_h, dilation_w = p->dilation_w;
    const int32_t filter_size = kernel_h * kernel_w * in_c;
    /* The scratch (tml_conv_scratch_size()), 8-byte aligned. */
    uint8_t *const base = TML_SCRATCH(scratch);
    tml_conv_ctx_t ctx = {
        weights, bias, q, filter_size, out_c,
        /* Clamping before adding the output offset gives the same int8
         * result and cannot overflow. */
        p->act_min - q->output_offset, p->act_max - q->output_offset,
        tml_rescale_mode(q), 0, tml_conv_xbuf_bytes(filter_size),
    };
    /* A window is one contiguous run of the input when it is whole, has no
     * column dilation (or one column) and either one row or undilated rows
     * as wide as the image (always for pointwise convolutions and Conv1D). */
    const int contiguous_rows = (dilation_w == 1 || kernel_w == 1)
        && (kernel_h == 1 || (kernel_w == in_w && dilation_h == 1));
    const size_t x_run_step = (size_t)dilation_w * (size_t)in_c;
    const size_t x_row_step = (size_t)dilation_h * (size_t)in_w * (size_t)in_c;
    const size_t w_row_step = (size_t)kernel_w * (size_t)in_c;
    /* The gather buffers (TML_CONV_GROUP of them, each of
     * tml_conv_gather_bytes()). */
    int8_t *const col0 = (int8_t *)(base + ctx.xbuf_bytes + TML_CONV_ACC_BYTES);
    const uint32_t gather_bytes = tml_conv_gather_bytes(p, in_dims);
    const tml_gather_geometry_t geometry = {
        in_h, in_w, in_c, kernel_h, kernel_w, dilation_h, dilation_w, (int8_t)(-q->input_offset),
    };
#if TML_CONV_QUADS
    /* Quads prepare a window row by row (tml_xquad_prepare()): one inside
     * the image is read in place rather than gathered when its rows are
     * runs of whole blocks of four inputs. */
    ctx.row_len = !contiguous_rows && dilation_w == 1 && w_row_step % 4 == 0 && gather_bytes != 0
        ? (int32_t)w_row_step : 0;
#endif
#if TML_CONV_PAIRS
    /* Pixels in groups; those of an unfinished group wait in `pending`,
     * each window in its own gather buffer if it had to be gathered, with
     * the step between its rows (ctx.row_len: a gathered window's rows
     * follow each other). */
    const int8_t *pending_window[TML_CONV_GROUP];
    size_t pending_step[TML_CONV_GROUP];
    int8_t *pending[TML_CONV_GROUP];
    int32_t pending_count = 0;
    /* The pairs take any window, TML_XPAIR_MAX inputs at a time. */
    const int preparable = 1;
#else
    /* The single-pixel path prepares windows up to TML_XVEC_MAX; longer
     * ones are summed from the input. */
    const int preparable = TML_XVEC_MAX == 1 || filter_size <= TML_XVEC_MAX;
    tml_xvec_t *const xvec = (tml_xvec_t *)(void *)base;
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
#if TML_CONV_PAIRS
                int8_t *const gather = col0 + (size_t)pending_count * gather_bytes;
#else
                int8_t *const gather = col0;
#endif
                size_t step = (size_t)ctx.row_len;
                if (preparable && whole && contiguous_rows) {
                    window = in_batch + x_first;
                } else if (ctx.row_len != 0 && whole) {
                    window = in_batch + x_first;
                    step = x_row_step;
                } else if (preparable && gather_bytes != 0) {
                    tml_gather_window(&geometry, in_batch, iy0, ix0, kx0, kx1, gather);
                    window = gather;
                }
                if (window != NULL) {
#if TML_CONV_PAIRS
                    pending[pending_count] = out;
                    pending_window[pending_count] = window;
                    pending_step[pending_count] = step;
                    if (++pending_count == TML_CONV_GROUP) {
                        tml_conv_pixel_group(&ctx, pending_window, pending_step, base, pending, pending_count);
                        pending_count = 0;
                    }
#else
                    (void)step;
                    tml_conv_pixel_x(&ctx, tml_xvec_prepare(window, filter_size, q->input_offset,
                        xvec), out);
#endif
                    continue;
                }
                /* Large windows: sum the valid taps run by run. */
                tml_conv_pixel_runs(&ctx, in_batch + x_first, x_row_step, x_run_step, rows,
                    dilation_w == 1 ? 1 : kx1 - kx0,
                    dilation_w == 1 ? (kx1 - kx0) * in_c : in_c,
                    weights + (rows > 0 ? (size_t)(ky0 * kernel_w + kx0) * (size_t)in_c : 0),
                    w_row_step, in_c, out);
            }
        }
    }
#if TML_CONV_PAIRS
    if (pending_count != 0) {
        /* An unfinished group: its last window taken again for what is
         * missing, the results written to that pixel's output again. A
         * pair reads runs: windows read in place are gathered for it. */
        for (int32_t k = 0; pending_count < 3 && k < pending_count; ++k) {
            if (ctx.row_len == 0 || pending_step[k] == (size_t)ctx.row_len) {
                continue;
            }
            int8_t *const gather = col0 + (size_t)k * gather_bytes;
            for (int32_t ky = 0; ky < kernel_h; ++ky) {
                tml_copy_row(gather + (size_t)ky * w_row_step, pending_window[k] + (size_t)ky * pending_step[k],
                    w_row_step);
            }
            pending_window[k] = gather;
            pending_step[k] = w_row_step;
        }
        tml_conv_pixel_group(&ctx, pending_window, pending_step, base, pending, pending_count);
    }
#endif
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
                    if (bias != NULL) {
                        acc = tml_add_wrap(acc, bias[oc]);
                    }
                    out[oc] = tml_requant_one(acc, q->multiplier[oc * quant_step],
                        q->shift[oc * quant_step], c->lo, c->hi, q->output_offset);
                }
            }
        }
    }
}

/* Channels per pass of the grouped depthwise kernel and the largest kernel
 * window it takes; with the widened weights they bound its scratch (at most
 * about 0.6 KB, 2 KB on the Arm cores). */
#define TML_DW_CHUNK (64)
#define TML_DW_MAX_TAPS (32)
/* Widened weights (Cortex-M0/M3/M4): at most 1152 bytes, a 3x3 kernel's
 * 64 channels on DSP cores, 32 on Cortex-M0/M3. */
#define TML_DW_WIDE_MAX (288)
#ifndef TML_DW_WIDE_WORDS
#define TML_DW_WIDE_WORDS (0)
#endif
/* With widened weights pixels are computed in pairs on Cortex-M3/M4,
 * whose outputs are rescaled together (tml_requant_fold2_v7m()): the
 * second pixel's sums TML_ACC_CHUNK words after the first's, which bounds
 * a pass to that many channels (on the Cortex-M0 too, which shares the
 * layout). */
#if TML_DW_WIDE_WORDS
#define TML_DW_PAIR_CHUNK (TML_ACC_CHUNK)
#else
#define TML_DW_PAIR_CHUNK (0)
#endif

/* Where the grouped depthwise kernel keeps its tables in the scratch, for a
 * layer of `grouped` channels (a multiple of 4) and `taps` taps: per pass of
 * `chunk` channels the sums and (Arm cores) the widened weights, then
 * the tap pointers and offsets and a row of input zero points that padding
 * taps point at. */
typedef struct {
    int32_t chunk;
    uint32_t acc, wide, tap, tap_offset, zero_point, size;
} tml_dw_layout_t;

static tml_dw_layout_t tml_dw_layout(int32_t grouped, int32_t taps) {
    tml_dw_layout_t l;
    const int32_t group_words = taps * TML_DW_WIDE_WORDS;
    const int32_t groups = TML_DW_WIDE_WORDS ? TML_DW_WIDE_MAX / (group_words ? group_words : 1) : TML_DW_CHUNK;
#if TML_DW_WIDE_WORDS
    l.chunk = 4 * (groups < TML_DW_PAIR_CHUNK / 4 ? groups : TML_DW_PAIR_CHUNK / 4);
#else
    l.chunk = groups;
#endif
    const uint32_t n = (uint32_t)(grouped < l.chunk ? grouped : l.chunk);
    l.acc = 0;
    l.wide = l.acc + 4u * (TML_DW_WIDE_WORDS ? TML_DW_PAIR_CHUNK + n : n);
    l.tap = tml_align8(l.wide + 4u * (n / 4u) * (uint32_t)group_words);
    l.tap_offset = tml_align8(l.tap + (uint32_t)taps * (uint32_t)sizeof(const int8_t *));
    l.zero_point = l.tap_offset + (uint32_t)taps * (uint32_t)sizeof(size_t);
    l.size = grouped > 0 ? tml_align8(l.zero_point + n) : 0u;
    return l;
}

/* The grouped kernel takes channels in fours and windows up to
 * TML_DW_MAX_TAPS; what it leaves goes one channel at a time. */
static int32_t tml_dw_grouped(const tml_conv_params_t *p, int32_t channels) {
    return p->depth_multiplier == 1 && (int32_t)p->kernel_h * p->kernel_w <= TML_DW_MAX_TAPS
        ? channels & ~(int32_t)3 : 0;
}

uint32_t tml_depthwise_conv_scratch_size(const tml_conv_params_t *p, const tml_dims_t *in_dims) {
    return tml_dw_layout(tml_dw_grouped(p, in_dims->c), (int32_t)p->kernel_h * p->kernel_w).size;
}

/* Depth multiplier 1, four neighbouring channels at a time: in NHWC they are
 * four neighbouring bytes of every tap, so one pass over the taps feeds four
 * accumulators. The input offset is folded into the bias by the converter
 * (the kernel API's contract for these channels, tml_kernels.h):
 *   bias + sum w * (x + offset) = (bias + offset * sum w) + sum w * x
 * (all arithmetic modulo 2^32, as the plain form). Taps in the padding read
 * the input zero point (-offset), where w * (x + offset) is 0 as TFLite's
 * skipped taps are, so border pixels need no other path: only their tap
 * table differs. */
static const int32_t tml_zero_dw[TML_DW_CHUNK];

/* Kept out of tml_depthwise_conv_s8(): inlined, its pixel loop loses
 * registers to the caller's (about 25 instructions a pixel on Cortex-M3). */
/* Where the taps of a depthwise window lie (tml_dw_taps()). */
typedef struct {
    const size_t *tap_offset; /* each tap from the window's first, for windows inside the image */
    const int8_t *zero_point; /* a row of input zero points for taps in the padding */
    size_t row_bytes;
    int32_t in_h, in_w, ch, kernel_h, kernel_w, dilation_h, dilation_w, y_last, x_last, taps;
} tml_dw_taps_t;

/* tap[t] = the first of this pass's channels of tap t of the window at
 * (iy0, ix0); `in` is the input's first channel of the pass. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void tml_dw_taps(const tml_dw_taps_t *g, const int8_t *in, int32_t iy0, int32_t ix0,
    const int8_t **tap) {
    if (iy0 >= 0 && iy0 + g->y_last < g->in_h && ix0 >= 0 && ix0 + g->x_last < g->in_w) {
        /* Inside the image: fixed offsets from the window's first tap. */
        const int8_t *first = in + (size_t)iy0 * g->row_bytes + (size_t)ix0 * (size_t)g->ch;
        for (int32_t t = 0; t < g->taps; ++t) {
            tap[t] = first + g->tap_offset[t];
        }
        return;
    }
    int32_t t = 0;
    for (int32_t ky = 0; ky < g->kernel_h; ++ky) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        for (int32_t kx = 0; kx < g->kernel_w; ++kx, ++t) {
            const int32_t ix = ix0 + kx * g->dilation_w;
            tap[t] = (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)
                ? in + (size_t)iy * g->row_bytes + (size_t)ix * (size_t)g->ch
                : g->zero_point;
        }
    }
}

#if TML_ARCH_DSP
#define TML_DW_PIXEL tml_dw_pixel_dsp
#elif TML_ARCH_V7M
#define TML_DW_PIXEL tml_dw_pixel_v7m
#endif

TML_OUT_OF_LINE static void tml_dw_groups4(const tml_dw_ctx_t *c, const int8_t *in_batch,
    const int8_t *weights, const int32_t *bias, int32_t channels, int8_t *out_batch, uint8_t *scratch) {
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
    const int mode = tml_rescale_mode(q);

    if (channels == 0) {
        /* Nothing grouped: the window may be longer than the tables. */
        return;
    }
    const tml_dw_layout_t l = tml_dw_layout(channels, taps);
    int32_t *const acc = (int32_t *)(void *)(scratch + l.acc);
    const int8_t **const tap = (const int8_t **)(void *)(scratch + l.tap);
    int8_t *const zero_point = (int8_t *)(scratch + l.zero_point);
    /* Where each tap lies from the window's first one, and that tap's
     * last row and column: pixels whose window is inside the image use
     * these instead of testing every tap. */
    size_t *const tap_offset = (size_t *)(void *)(scratch + l.tap_offset);
    const int32_t y_last = (kernel_h - 1) * p->dilation_h, x_last = (kernel_w - 1) * p->dilation_w;
    for (int32_t t = 0; t < taps; ++t) {
        tap_offset[t] = ((size_t)(t / kernel_w * p->dilation_h) * (size_t)in_w
            + (size_t)(t % kernel_w * p->dilation_w)) * (size_t)ch;
    }
    const tml_dw_taps_t taps_at = {
        tap_offset, zero_point, (size_t)in_w * (size_t)ch, in_h, in_w, ch, kernel_h, kernel_w,
        p->dilation_h, p->dilation_w, y_last, x_last, taps,
    };

#if TML_DW_WIDE_WORDS
    /* The chunk's weights widened once (tml_dw_widen4()): taps x words per
     * group of four channels. */
    uint32_t *const wide = (uint32_t *)(void *)(scratch + l.wide);
    const int32_t group_words = taps * TML_DW_WIDE_WORDS;
#endif
    const int32_t chunk = l.chunk;
#if TML_ARCH_M0
    /* Every tap row word-aligned (Thumb-1 loads no unaligned words): the
     * assembly pixel. The zero-point row is. */
    const int words = (((uintptr_t)in_batch | (uintptr_t)ch) & 3u) == 0;
#endif

    memset(zero_point, -q->input_offset, (size_t)(channels < chunk ? channels : chunk));
    for (int32_t c0 = 0; c0 < channels; c0 += chunk) {
        const int32_t n = channels - c0 < chunk ? channels - c0 : chunk;
        /* The sums start from the folded bias. */
        const int32_t *const folded = bias != NULL ? bias + c0 : tml_zero_dw;
        const int8_t *w_chunk = weights + c0;
#if TML_DW_WIDE_WORDS
        for (int32_t g = 0; g < n; g += 4) {
            for (int32_t t = 0; t < taps; ++t) {
                tml_dw_widen4(w_chunk + (size_t)t * w_tap_step + (size_t)g,
                    wide + (g / 4) * group_words + t * TML_DW_WIDE_WORDS);
            }
        }
#endif
        int8_t *out = out_batch + c0;
#if TML_ARCH_DSP || TML_ARCH_V7M
        /* Pixel pairs share each channel's rescale constants where the
         * folded rescale applies. */
        const int pairs = tml_rescale_folds(mode, hi, output_offset) && quant_step == 1;
        const tml_requant_fold_args_t fold_args = {
            ch, multiplier + c0, shifts + c0, 2 * output_offset + 1, lo + output_offset,
        };
#endif
        /* Pixels in output order, a pair across the end of a row too:
         * their outputs are consecutive either way. */
        const int32_t out_w = c->out_dims->w, pixels = c->out_dims->h * out_w;
        int32_t oy = 0, ox = 0;
        for (int32_t px = 0; px < pixels; ++px, out += ch) {
            tml_dw_taps(&taps_at, in_batch + c0, oy * p->stride_h - p->pad_top,
                ox * p->stride_w - p->pad_left, tap);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
#if TML_ARCH_DSP || TML_ARCH_V7M
            TML_DW_PIXEL(tap, taps, n, wide, folded, acc);
            if (pairs && px + 1 < pixels) {
                tml_dw_taps(&taps_at, in_batch + c0, oy * p->stride_h - p->pad_top,
                    ox * p->stride_w - p->pad_left, tap);
                if (++ox == out_w) {
                    ox = 0;
                    ++oy;
                }
                TML_DW_PIXEL(tap, taps, n, wide, folded, acc + TML_REQUANT_PAIR_ACC_STEP);
                tml_requant_fold2_v7m(acc, out, n, &fold_args);
                ++px;
                out += ch;
                continue;
            }
#else
#if TML_ARCH_M0
            if (words) {
                tml_dw_pixel_m0(tap, taps, n, wide, folded, acc);
                tml_requant_row(acc, n, multiplier + c0 * quant_step,
                    shifts + c0 * quant_step, quant_step, mode, lo, hi, output_offset, out);
                continue;
            }
#endif
            for (int32_t g = 0; g < n; g += 4) {
                /* Scalars, not an array, so they stay in registers; the
                 * sums start from the folded bias. */
                int32_t a0 = folded[g], a1 = folded[g + 1], a2 = folded[g + 2], a3 = folded[g + 3];
                const int8_t *w = w_chunk + g;
                for (int32_t i = 0; i < taps; ++i, w += w_tap_step) {
                    tml_mac4_s8(tap[i] + g, w, &a0, &a1, &a2, &a3);
                }
                acc[g] = a0;
                acc[g + 1] = a1;
                acc[g + 2] = a2;
                acc[g + 3] = a3;
            }
#endif
            tml_requant_row(acc, n, multiplier + c0 * quant_step,
                shifts + c0 * quant_step, quant_step, mode, lo, hi, output_offset, out);
        }
    }
}

void tml_depthwise_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out, void *scratch) {
    const tml_dw_ctx_t ctx = {
        p, q, in_dims, out_dims, p->act_min - q->output_offset, p->act_max - q->output_offset,
    };
    const int32_t grouped = tml_dw_grouped(p, in_dims->c);
    const size_t in_size = (size_t)in_dims->h * (size_t)in_dims->w * (size_t)in_dims->c;
    const size_t out_size = (size_t)out_dims->h * (size_t)out_dims->w * (size_t)out_dims->c;

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_batch = in + (size_t)b * in_size;
        int8_t *out_batch = out + (size_t)b * out_size;
        tml_dw_groups4(&ctx, in_batch, weights, bias, grouped, out_batch, TML_SCRATCH(scratch));
        if (grouped < in_dims->c) {
            tml_dw_channels(&ctx, in_batch, weights, bias, grouped, out_batch);
        }
    }
}
