/* The C around the Cortex-M0 and Cortex-M3 assembly loops, which differ
 * only in their instructions: the including header (tml_arch_m0.h,
 * tml_arch_v7m.h) names its routines TML_XVEC32_DOT4 and TML_XVEC32_CONV2,
 * both with the AAPCS arguments of tml_m0_dot4() and tml_m0_conv2().
 *
 * Prepared inputs are x + input_offset as int32, so one LDM both loads
 * values and steps the pointer: the input vector here (256 inputs keep the
 * buffer at 1 KB of stack; longer vectors go TML_XVEC_MAX at a time), the
 * pair of windows in the portable layout (tml_arch_portable.h), whose int8
 * dot products these paths keep too. */
#ifndef TML_ARCH_XVEC32_H
#define TML_ARCH_XVEC32_H

#include <stddef.h>
#include <stdint.h>

#define TML_ARCH_HAS_PREPARED (1)

typedef int32_t tml_xvec_t;
#define TML_XVEC_MAX (256)

static inline const tml_xvec_t *tml_xvec_prepare(const int8_t *x, int32_t len,
    int32_t input_offset, tml_xvec_t *buf) {
    for (int32_t i = 0; i < len; ++i) {
        buf[i] = x[i] + input_offset;
    }
    return buf;
}

/* acc[k] += sum_{i < len} w[k * w_stride + i] * (x[i] + input_offset) for
 * k = 0..3, x from tml_xvec_prepare(): the assembly loop takes pairs of
 * inputs, an odd last one is added here. */
static inline void tml_dot4_x(const tml_xvec_t *x, const int8_t *w, int32_t w_stride,
    int32_t len, int32_t input_offset, int32_t acc[4]) {
    const int32_t even = len & ~(int32_t)1;
    (void)input_offset;
    if (even > 0) {
        TML_XVEC32_DOT4(x, even, w, w_stride, acc);
    }
    if (even < len) {
        for (int32_t k = 0; k < 4; ++k) {
            acc[k] += w[(size_t)k * (size_t)w_stride + (size_t)even] * x[even];
        }
    }
}

/* One output channel of the same. */
static inline int32_t tml_dot1_x(const tml_xvec_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t acc = 0;
    (void)input_offset;
    for (int32_t i = 0; i < len; ++i) {
        acc += w[i] * x[i];
    }
    return acc;
}

/* Here, between the vector above (which its tml_dot4_groups_x() calls)
 * and the pairs below (whose layout it defines). */
#include "tml_arch_portable.h"

/* For the channel pairs k, k + 1 (k even, k < 2 * pairs), channel k's
 * weights at w + k * stride: acc_a[k] = src_a[k] + w_k . pixel 0,
 * acc_b[k] = src_b[k] + w_k . pixel 1 over len inputs of the prepared pair
 * x (a source may be the accumulators themselves). The assembly loop takes
 * pairs of inputs; an odd last one is added here. */
TML_NOINLINE static void tml_dot2x2_channels(const tml_xpair_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t pairs, const int32_t *src_a, const int32_t *src_b,
    int32_t *acc_a, int32_t *acc_b) {
    const int32_t steps = len >> 1, done = 2 * steps;
    const tml_xpair_t *const xa = x + 2 * done, *const xb = xa + 1;
    const int32_t x_step = 2;
    if (pairs > 0 && steps > 0) {
        TML_XVEC32_CONV2(x, steps, w, stride, pairs, acc_a, acc_b, src_a, src_b);
        src_a = acc_a;
        src_b = acc_b;
    }
    const int32_t rest = len - done;
    if (rest == 0) {
        return;
    }
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

#endif /* TML_ARCH_XVEC32_H */
