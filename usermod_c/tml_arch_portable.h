/* The portable C of the kernels' inner loops: the whole path of a portable
 * build (tml_arch.h), and what the x86-64, Cortex-M0 and Cortex-M3 paths
 * keep of it. Their headers include this one after saying which of its two
 * replaceable groups they bring themselves:
 *   TML_ARCH_HAS_DOT_S8    tml_dot4_s8(), tml_dot1_s8() (x86-64: SSE2)
 *   TML_ARCH_HAS_PREPARED  the prepared input vector and the products over
 *                          prepared inputs (Cortex-M0, M3: int32 inputs and
 *                          assembly loops, tml_arch_xvec32.h)
 * The Cortex-M4 path replaces all of it (tml_arch_dsp.h).
 *
 * The primitives:
 * - CONV_2D: the windows of two output pixels prepared together
 *   (tml_xpair_prepare()), then two channels at a time for both pixels
 *   (tml_dot2x2_channels());
 * - FULLY_CONNECTED (and CONV_2D on x86-64): one prepared input vector
 *   (tml_xvec_prepare()), four channels at a time (tml_dot4_groups_x();
 *   tml_dot4_x() for CONV_2D on x86-64);
 * - windows too large to prepare: four channels straight from the int8
 *   input (tml_dot4_s8());
 * - DEPTHWISE_CONV_2D: four channels of one tap (tml_mac4_s8()). */
#ifndef TML_ARCH_PORTABLE_H
#define TML_ARCH_PORTABLE_H

#include <stdint.h>
#include <string.h>
#include "tml_arch_tails.h"

/* Out of line for flash; `unused` since not every file including this
 * header calls them. */
#if defined(__GNUC__)
#define TML_NOINLINE __attribute__((noinline, unused))
#else
#define TML_NOINLINE
#endif

#ifndef TML_ARCH_HAS_DOT_S8
/* acc[k] += sum_{i < len} w[k * w_stride + i] * (x[i] + input_offset) for
 * k = 0..3. */
static inline void tml_dot4_s8(const int8_t *x, const int8_t *w, int32_t w_stride,
    int32_t len, int32_t input_offset, int32_t acc[4]) {
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + w_stride;
    const int8_t *w2 = w1 + w_stride;
    const int8_t *w3 = w2 + w_stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
    /* Four inputs per iteration, addressed from the row starts with
     * constant offsets, so one index update serves sixteen products. */
    for (; i + 4 <= len; i += 4) {
        const int8_t *xi = x + i;
        const int8_t *v0 = w0 + i, *v1 = w1 + i, *v2 = w2 + i, *v3 = w3 + i;
        int32_t xv = xi[0] + input_offset;
        a0 += v0[0] * xv;
        a1 += v1[0] * xv;
        a2 += v2[0] * xv;
        a3 += v3[0] * xv;
        xv = xi[1] + input_offset;
        a0 += v0[1] * xv;
        a1 += v1[1] * xv;
        a2 += v2[1] * xv;
        a3 += v3[1] * xv;
        xv = xi[2] + input_offset;
        a0 += v0[2] * xv;
        a1 += v1[2] * xv;
        a2 += v2[2] * xv;
        a3 += v3[2] * xv;
        xv = xi[3] + input_offset;
        a0 += v0[3] * xv;
        a1 += v1[3] * xv;
        a2 += v2[3] * xv;
        a3 += v3[3] * xv;
    }
    tml_dot4_tail_s8(x, w0, w1, w2, w3, i, len, input_offset, a0, a1, a2, a3, acc);
}

/* One output channel: sum_{i < len} w[i] * (x[i] + input_offset). */
static inline int32_t tml_dot1_s8(const int8_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t acc = 0;
    for (int32_t i = 0; i < len; ++i) {
        acc += w[i] * (x[i] + input_offset);
    }
    return acc;
}
#endif

/* Two output pixels by two output channels (tml_conv.c's main loop): the
 * windows of both pixels are prepared together by tml_xpair_prepare(),
 * then every loaded weight feeds both pixels and every loaded input both
 * channels. Layout: int32 x + offset, pixel 0's and pixel 1's value of
 * each input side by side, so one LDM/LDRD fetches a step's inputs of both
 * pixels on the Arm cores. TML_XPAIR_MAX bounds the inputs prepared at a
 * time (a buffer of at most 1 KB of the op's scratch). */
typedef int32_t tml_xpair_t;
#define TML_XPAIR_MAX (256)

/* Writes both pixels of the pair into buf (2 * TML_XPAIR_MAX entries), in
 * one pass. Called once per pixel pair, not per product: kept out of line
 * for flash. */
TML_NOINLINE static void tml_xpair_prepare(const int8_t *xa, const int8_t *xb, int32_t len,
    int32_t input_offset, tml_xpair_t *buf) {
    tml_xpair_t *dst = buf;
    int32_t i = 0;
#if TML_ARCH_V7M
    /* A word of each window at a time (the Cortex-M3 loads words from any
     * alignment), its bytes taken apart by SBFX: half the loads. */
    for (; i + 4 <= len; i += 4, dst += 8) {
        uint32_t va, vb;
        memcpy(&va, xa + i, sizeof(va));
        memcpy(&vb, xb + i, sizeof(vb));
        dst[0] = (int8_t)va + input_offset;
        dst[1] = (int8_t)vb + input_offset;
        dst[2] = (int8_t)(va >> 8) + input_offset;
        dst[3] = (int8_t)(vb >> 8) + input_offset;
        dst[4] = (int8_t)(va >> 16) + input_offset;
        dst[5] = (int8_t)(vb >> 16) + input_offset;
        dst[6] = (int8_t)(va >> 24) + input_offset;
        dst[7] = (int8_t)(vb >> 24) + input_offset;
    }
#endif
    for (; i < len; ++i, dst += 2) {
        dst[0] = xa[i] + input_offset;
        dst[1] = xb[i] + input_offset;
    }
}

#ifndef TML_ARCH_HAS_PREPARED
/* The input vector of a matrix-vector product (one conv window, one FC
 * row), prepared once and read by every output channel: here the int8
 * input itself, the offset added in the loop, so nothing is buffered. */
typedef int8_t tml_xvec_t;
#define TML_XVEC_MAX (1)

static inline const tml_xvec_t *tml_xvec_prepare(const int8_t *x, int32_t len,
    int32_t input_offset, tml_xvec_t *buf) {
    (void)len;
    (void)input_offset;
    (void)buf;
    return x;
}

/* acc[k] += sum_{i < len} w[k * w_stride + i] * (x[i] + input_offset) for
 * k = 0..3, x from tml_xvec_prepare(). */
static inline void tml_dot4_x(const tml_xvec_t *x, const int8_t *w, int32_t w_stride,
    int32_t len, int32_t input_offset, int32_t acc[4]) {
    tml_dot4_s8(x, w, w_stride, len, input_offset, acc);
}

/* One output channel of the same. */
static inline int32_t tml_dot1_x(const tml_xvec_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    return tml_dot1_s8(x, w, len, input_offset);
}

/* acc[0] += w0 . x_pixel0, acc[1] += w1 . x_pixel0, acc[2] += w0 . x_pixel1,
 * acc[3] += w1 . x_pixel1 over len inputs in the int32 layout of
 * tml_xpair_prepare(), modulo 2^32 (the sums start from the bias, wrapping
 * as TFLite's int32 does). */
static inline void tml_dot2x2(const tml_xpair_t *x, const int8_t *w0, const int8_t *w1,
    int32_t len, int32_t acc[4]) {
    uint32_t a0 = (uint32_t)acc[0], a1 = (uint32_t)acc[1], b0 = (uint32_t)acc[2], b1 = (uint32_t)acc[3];
    int32_t i = 0;
    /* Two inputs per iteration: one index update serves eight products. */
    for (; i + 2 <= len; i += 2) {
        const tml_xpair_t *xi = x + 2 * i;
        const int32_t u0 = w0[i], u1 = w1[i], v0 = w0[i + 1], v1 = w1[i + 1];
        a0 += (uint32_t)(u0 * xi[0]);
        a1 += (uint32_t)(u1 * xi[0]);
        b0 += (uint32_t)(u0 * xi[1]);
        b1 += (uint32_t)(u1 * xi[1]);
        a0 += (uint32_t)(v0 * xi[2]);
        a1 += (uint32_t)(v1 * xi[2]);
        b0 += (uint32_t)(v0 * xi[3]);
        b1 += (uint32_t)(v1 * xi[3]);
    }
    if (i < len) {
        a0 += (uint32_t)(w0[i] * x[2 * i]);
        a1 += (uint32_t)(w1[i] * x[2 * i]);
        b0 += (uint32_t)(w0[i] * x[2 * i + 1]);
        b1 += (uint32_t)(w1[i] * x[2 * i + 1]);
    }
    acc[0] = (int32_t)a0;
    acc[1] = (int32_t)a1;
    acc[2] = (int32_t)b0;
    acc[3] = (int32_t)b1;
}

/* tml_dot2x2() for the channel pairs k, k + 1 (k even, k < 2 * pairs),
 * channel k's weights at w + k * stride: acc_a[k] = src_a[k] + the sum
 * for pixel 0, acc_b[k] = src_b[k] + the sum for pixel 1 (a source may be
 * the accumulators themselves). */
TML_NOINLINE static void tml_dot2x2_channels(const tml_xpair_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t pairs, const int32_t *src_a, const int32_t *src_b,
    int32_t *acc_a, int32_t *acc_b) {
    for (int32_t k = 0; k < 2 * pairs; k += 2, w += 2 * (size_t)stride) {
        int32_t acc[4] = {src_a[k], src_a[k + 1], src_b[k], src_b[k + 1]};
        tml_dot2x2(x, w, w + stride, len, acc);
        acc_a[k] = acc[0];
        acc_a[k + 1] = acc[1];
        acc_b[k] = acc[2];
        acc_b[k + 1] = acc[3];
    }
}
#endif

/* acc[k] += w_k . x over len prepared inputs for k < 4 * groups, channel
 * k's weights at w + k * stride (FULLY_CONNECTED's rows, four at a time). */
static inline void tml_dot4_groups_x(const tml_xvec_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t groups, int32_t input_offset, int32_t *acc) {
    for (int32_t g = 0; g < groups; ++g, w += 4 * (size_t)stride) {
        tml_dot4_x(x, w, stride, len, input_offset, acc + 4 * g);
    }
}

/* a0..a3 += w[k] * x[k] for k = 0..3 (modulo 2^32): four channels of one
 * depthwise tap, the input offset already folded into the bias (Cortex-M3
 * and M4 run tml_dw_pixel_*() instead). */
static inline void tml_mac4_s8(const int8_t *x, const int8_t *w,
    int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3) {
    /* Modulo 2^32 as TFLite's int32: the sums start from the bias. */
    *a0 = (int32_t)((uint32_t)*a0 + (uint32_t)(w[0] * x[0]));
    *a1 = (int32_t)((uint32_t)*a1 + (uint32_t)(w[1] * x[1]));
    *a2 = (int32_t)((uint32_t)*a2 + (uint32_t)(w[2] * x[2]));
    *a3 = (int32_t)((uint32_t)*a3 + (uint32_t)(w[3] * x[3]));
}

#endif /* TML_ARCH_PORTABLE_H */
