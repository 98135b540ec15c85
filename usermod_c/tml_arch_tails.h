/* What every architecture path finishes in plain C: the inputs its SIMD or
 * assembly blocks leave over. One definition, included by each path header
 * (and, for the channel-pair tail, after that path's tml_xpair_t), so the
 * paths cannot drift apart in the few inputs they all handle alike. Always
 * inlined: the callers keep their sums in registers. */
#ifndef TML_ARCH_TAILS_H
#define TML_ARCH_TAILS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TML_TAIL static inline __attribute__((always_inline))
#else
#define TML_TAIL static inline
#endif

/* acc[k] = a_k + sum over i in [from, len) of w_k[i] * (x[i] + input_offset),
 * k < 4: the end of every path's four-channel dot product. */
TML_TAIL void tml_dot4_tail_s8(const int8_t *x, const int8_t *w0, const int8_t *w1,
    const int8_t *w2, const int8_t *w3, int32_t from, int32_t len, int32_t input_offset,
    int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t *acc) {
    for (int32_t i = from; i < len; ++i) {
        const int32_t xi = x[i] + input_offset;
        a0 += w0[i] * xi;
        a1 += w1[i] * xi;
        a2 += w2[i] * xi;
        a3 += w3[i] * xi;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#endif /* TML_ARCH_TAILS_H */

/* The channel-pair tail needs the including path's tml_xpair_t. */
#if defined(TML_XPAIR_MAX) && !defined(TML_ARCH_TAILS_XPAIR)
#define TML_ARCH_TAILS_XPAIR

/* For the channel pairs k, k + 1 (k even, k < 2 * pairs) from w, channel
 * k's weights at w + k * stride: the last `rest` prepared inputs of pixel 0
 * (xa) and pixel 1 (xb), x_step apart, taken from input `done` on, added to
 * src_a/src_b into acc_a/acc_b (modulo 2^32, as TFLite's int32 sums). */
TML_TAIL void tml_dot2x2_tail(const tml_xpair_t *xa, const tml_xpair_t *xb, int32_t x_step,
    int32_t done, int32_t rest, const int8_t *w, int32_t stride, int32_t pairs,
    const int32_t *src_a, const int32_t *src_b, int32_t *acc_a, int32_t *acc_b) {
    for (int32_t k = 0; k < 2 * pairs; k += 2, w += 2 * (size_t)stride) {
        const int8_t *const w0 = w + done, *const w1 = w0 + stride;
        uint32_t a0 = (uint32_t)src_a[k], a1 = (uint32_t)src_a[k + 1];
        uint32_t b0 = (uint32_t)src_b[k], b1 = (uint32_t)src_b[k + 1];
        for (int32_t i = 0; i < rest; ++i) {
            const int32_t va = xa[i * x_step], vb = xb[i * x_step];
            a0 += (uint32_t)(w0[i] * va);
            a1 += (uint32_t)(w1[i] * va);
            b0 += (uint32_t)(w0[i] * vb);
            b1 += (uint32_t)(w1[i] * vb);
        }
        acc_a[k] = (int32_t)a0;
        acc_a[k + 1] = (int32_t)a1;
        acc_b[k] = (int32_t)b0;
        acc_b[k + 1] = (int32_t)b1;
    }
}
#endif
