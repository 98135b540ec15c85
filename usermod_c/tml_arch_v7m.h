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

/* Four output pixels at a time (tml_conv.c's main loop; the last one or
 * two of a layer go as a pair). SMLAL multiplies a weight into a word that
 * holds two pixels' inputs, x_a + x_b * 2^23 (each + input_offset, so at
 * most 255 in size and the word is exact in 32 bits), and its 64-bit sum
 * keeps both dot products apart: pixel a's in the low 23 bits, as long as
 * it stays under 2^22 in size, which TML_XQUAD_MAX (128 inputs of 255 *
 * 128 at most) guarantees; pixel b's is the rest, shifted down. Two such
 * words an input (pixels 0-1 and 2-3): each weight feeds four pixels in
 * two instructions. TML_XQUAD_INPUT_BYTES is the buffer's bytes an input. */
#define TML_CONV_QUADS (1)
#define TML_XQUAD_MAX (128)
#define TML_XQUAD_INPUT_BYTES (8)

/* tml_arch_v7m.S. n (> 0) inputs of the four pixels from src[p] on, as
 * the two words of each input (offsets: both input offsets). */
void tml_v7m_quad_prepare(const int8_t *const *src, int32_t n, uint32_t *dst, uint32_t offsets);

/* tml_xquad_prepare()'s run of n inputs (tml_arch_xvec32.h): both offsets of
 * a word in one constant. */
static inline void tml_xquad_fill(const int8_t *const *src, int32_t n, uint32_t *dst, int32_t input_offset) {
    tml_v7m_quad_prepare(src, n, dst, (uint32_t)input_offset * ((1u << 23) + 1u));
}

#define TML_XVEC32_DOT4 tml_v7m_dot4
#define TML_XVEC32_CONV2 tml_v7m_conv2
#include "tml_arch_xvec32.h"

/* tml_arch_v7m.S. For k < channels (> 0), channel k's weights at w + k *
 * stride, pixel p's accumulator at acc[p * TML_REQUANT_PAIR_ACC_STEP + k]
 * (p < 4) becomes start[k] (start != NULL: the bias) or its own value,
 * plus w_k . pixel p over len (1..TML_XQUAD_MAX) inputs of the prepared
 * quad x. */
void tml_v7m_conv4(const tml_xquad_t *x, int32_t len, const int8_t *w, int32_t stride,
    int32_t channels, int32_t *acc, const int32_t *start);

static inline void tml_dot4px_channels(const tml_xquad_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) {
    tml_v7m_conv4(x, len, w, stride, channels, acc, start);
}

/* tml_arch_v7m.S. One depthwise output pixel, all n channels (a multiple
 * of four, > 0), taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] *
 * w[t][c], the weights widened into `wide` as [group of four channels]
 * [tap][4 words]. */
void tml_dw_pixel_v7m(const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc);

#endif /* TML_ARCH_V7M_H */
