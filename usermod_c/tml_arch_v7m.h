/* Cortex-M3 (armv7m without DSP): the assembly loops of tml_arch_v7m.S
 * (Thumb-2 MLA and post-indexed sign-extending loads) behind the C of
 * tml_arch_xvec32.h, the depthwise weights widened once per layer, and the
 * rescale loop shared with the M4; the rest is the portable C. */
#ifndef TML_ARCH_V7M_H
#define TML_ARCH_V7M_H

#include <stdint.h>
#include "tml_arch_v7m_requant.h"

/* tml_arch_v7m.S. acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3
 * over `count` prepared inputs, a non-zero multiple of two. */
void tml_v7m_dot4(const int32_t *x, int32_t count, const int8_t *w, int32_t stride, int32_t *acc);

/* tml_arch_v7m.S. For k < 2 * pairs (pairs > 0), channel k's weights at
 * w + k * stride: acc_a[k] = src_a[k] + w_k . pixel 0 and acc_b[k] =
 * src_b[k] + w_k . pixel 1 over `steps` (> 0) pairs of inputs of the
 * prepared pair x. */
void tml_v7m_conv2(const int32_t *x, int32_t steps, const int8_t *w, int32_t stride,
    int32_t pairs, int32_t *acc_a, int32_t *acc_b, const int32_t *src_a, const int32_t *src_b);

#define TML_XVEC32_DOT4 tml_v7m_dot4
#define TML_XVEC32_CONV2 tml_v7m_conv2
#include "tml_arch_xvec32.h"

/* Depthwise weights widened once per layer (tml_dw_widen4()), so that the
 * per-pixel assembly loop (tml_dw_pixel_v7m()) only loads the inputs: the
 * four weights of one tap as int32, loaded by one LDM. TML_DW_WIDE_WORDS
 * is the words per tap. */
#define TML_DW_WIDE_WORDS (4)

static inline void tml_dw_widen4(const int8_t *w, uint32_t *wide) {
    for (int32_t k = 0; k < 4; ++k) {
        wide[k] = (uint32_t)(int32_t)w[k];
    }
}

/* tml_arch_v7m.S. One depthwise output pixel, all n channels (a multiple
 * of four, > 0), taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] *
 * w[t][c], the weights widened into `wide` as [group of four channels]
 * [tap][4 words]. */
void tml_dw_pixel_v7m(const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc);

#endif /* TML_ARCH_V7M_H */
