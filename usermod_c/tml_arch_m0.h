/* Cortex-M0/M0+ (armv6m, the RP2040): Thumb-1 multiplies and loads only
 * reach r0-r7, and GCC spills the portable loops' accumulators to high
 * registers, about 6 instructions per product. The Thumb-1 loops of
 * tml_arch_m0.S keep everything in registers, behind the C of
 * tml_arch_xvec32.h; the rest is the portable C. */
#ifndef TML_ARCH_M0_H
#define TML_ARCH_M0_H

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
 * (tml_conv.c) from 4-byte aligned tap rows and weights. */
void tml_dw_pixel_m0(const int8_t *const *tap, int32_t taps, int32_t n, const int8_t *w,
    int32_t w_step, const int32_t *folded, int32_t *acc);

/* tml_arch_m0.S: tml_conv.c's rescale of a row of per-channel outputs
 * whose shifts are all in [-31, -2]; lo and hi without the zero point. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t lo, hi, output_offset;
} tml_requant_row_m0_args_t;
void tml_requant_row_m0(const int32_t *acc, int8_t *out, int32_t n, const tml_requant_row_m0_args_t *args);

#define TML_XVEC32_DOT4 tml_m0_dot4
#define TML_XVEC32_CONV2 tml_m0_conv2
#include "tml_arch_xvec32.h"

#endif /* TML_ARCH_M0_H */
