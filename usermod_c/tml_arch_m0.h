/* Cortex-M0/M0+ (armv6m, the RP2040): Thumb-1 multiplies and loads only
 * reach r0-r7, and GCC spills the portable loops' accumulators to high
 * registers, about 6 instructions per product. The Thumb-1 loops of
 * tml_arch_m0.S keep everything in registers, behind the C of
 * tml_arch_xvec32.h; the rest is the portable C. */
#ifndef TML_ARCH_M0_H
#define TML_ARCH_M0_H

#include <stddef.h>
#include <stdint.h>

/* tml_arch_m0.S. acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3
 * over `count` prepared inputs, a non-zero multiple of two. */
void tml_m0_dot4(const int32_t *x, int32_t count, const int8_t *w, int32_t stride, int32_t *acc);

/* tml_arch_m0.S. For k < 2 * pairs (pairs > 0), channel k's weights at
 * w + k * stride: acc_a[k] = src_a[k] + w_k . pixel 0 and acc_b[k] =
 * src_b[k] + w_k . pixel 1 over `steps` (> 0) pairs of inputs of the
 * prepared pair x. */
void tml_m0_conv2(const int32_t *x, int32_t steps, const int8_t *w, int32_t stride,
    int32_t pairs, int32_t *acc_a, int32_t *acc_b, const int32_t *src_a, const int32_t *src_b);

/* tml_arch_m0.S. One depthwise output pixel of the grouped kernel
 * (tml_conv.c) from 4-byte aligned tap rows: acc[c] = folded[c] + sum_t
 * tap[t][c] * w[t][c] for n channels (a multiple of four, > 0), the
 * weights widened into `wide` as [group of four channels][tap][4 words]. */
void tml_dw_pixel_m0(const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc);

/* tml_arch_m0.S: tml_conv.c's rescale of a row of per-channel outputs
 * whose shifts are all in [-31, -2]; lo and hi with the zero point zp. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t lo, hi, one_plus_2zp;
} tml_requant_row_m0_args_t;
void tml_requant_row_m0(const int32_t *acc, int8_t *out, int32_t n, const tml_requant_row_m0_args_t *args);

/* tml_arch_m0.S: the same for one multiplier and shift, in [-31, -2], over
 * every output (per-tensor), as the element-wise kernels rescale: args
 * hold the multiplier's halves, the clamp with the zero point, 1 + 2 zp and
 * k = -shift - 1. */
typedef struct {
    int32_t multiplier_low, multiplier_high, lo, hi, one_plus_2zp, k;
} tml_requant_pt_m0_args_t;
void tml_requant_pt_m0(const int32_t *acc, int8_t *out, int32_t n, const tml_requant_pt_m0_args_t *args);

/* Its args for a multiplier and shift, the clamp [lo, hi] with the zero
 * point zp: k is -1 (the routine does not apply) for a shift outside
 * [-31, -2]. */
static inline tml_requant_pt_m0_args_t tml_requant_pt_m0_args(int32_t multiplier, int32_t shift,
    int32_t lo, int32_t hi, int32_t zp) {
    const tml_requant_pt_m0_args_t args = {
        multiplier & 0xFFFF, multiplier >> 16, lo, hi, 1 + 2 * zp, shift >= -31 && shift <= -2 ? -shift - 1 : -1,
    };
    return args;
}

/* tml_arch_m0.S: sums[i] = tables[0][a[i]] + tables[1][b[i]] for n > 0
 * elements, each table indexed by an int8 value (-128..127). */
void tml_add_sums_m0(const int8_t *a, const int8_t *b, int32_t *sums, int32_t n,
    const int32_t *const tables[2]);

/* Four output pixels at a time (tml_conv.c's main loop; the last one or
 * two of a layer go as a pair), one channel at a time: each weight is
 * loaded once for the four, and MULS may overwrite the inputs, which the
 * next channel loads again (tml_m0_conv4). Prepared inputs are x +
 * input_offset as int32, the four pixels' values of an input side by
 * side, TML_XQUAD_MAX inputs at a time (a buffer of at most 1 KB, the
 * Cortex-M4's for windows of 128 inputs and more). */
#define TML_CONV_QUADS (1)
#define TML_XQUAD_MAX (64)
#define TML_XQUAD_INPUT_BYTES (16)

/* tml_xquad_prepare()'s run of n inputs (tml_arch_xvec32.h), in
 * tml_arch_m0.S: dst[4 i + p] = src[p][i] + input_offset for i < n (n > 0),
 * p < 4. */
void tml_m0_quad_fill(const int8_t *const *src, int32_t n, uint32_t *dst, int32_t input_offset);

static inline void tml_xquad_fill(const int8_t *const *src, int32_t n, uint32_t *dst, int32_t input_offset) {
    tml_m0_quad_fill(src, n, dst, input_offset);
}

#define TML_XVEC32_DOT4 tml_m0_dot4
#define TML_XVEC32_CONV2 tml_m0_conv2
#include "tml_arch_xvec32.h"

/* tml_arch_m0.S. For k < channels (> 0), channel k's weights at w + k *
 * stride, pixel p's accumulator at acc[p * 32 + k] (p < 4) becomes
 * start[k] (start != NULL: the bias) or its own value, plus w_k . pixel p
 * over len (> 0) inputs of the prepared quad x. */
void tml_m0_conv4(const tml_xquad_t *x, int32_t len, const int8_t *w, int32_t stride,
    int32_t channels, int32_t *acc, const int32_t *start);

static inline void tml_dot4px_channels(const tml_xquad_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) {
    tml_m0_conv4(x, len, w, stride, channels, acc, start);
}

#endif /* TML_ARCH_M0_H */
