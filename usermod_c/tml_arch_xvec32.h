/* The C around the Cortex-M0 and Cortex-M3 assembly loops, which differ
 * only in their instructions: the including header (tml_arch_m0.h,
 * tml_arch_v7m.h) names its routines TML_XVEC32_DOT4 and TML_XVEC32_CONV2,
 * both with the AAPCS arguments of tml_m0_dot4() and tml_m0_conv2().
 *
 * Prepared inputs are x + input_offset as int32, so one LDM both loads
 * values and steps the pointer: the input vector here (256 inputs keep the
 * buffer at 1 KB of scratch; longer vectors go TML_XVEC_MAX at a time), the
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
#include "tml_arch_tails.h" /* with tml_dot2x2_tail(), now that tml_xpair_t is known */

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
    tml_dot2x2_tail(xa, xb, x_step, done, rest, w, stride, pairs, src_a, src_b, acc_a, acc_b);
}

/* Depthwise weights widened once per layer (tml_dw_widen4()): a tap's four
 * weights as int32, so that the per-pixel assembly loop (the including
 * header's tml_dw_pixel_m0() or tml_dw_pixel_v7m()) loads them by one LDM
 * and multiplies them as they are. TML_DW_WIDE_WORDS is the words per tap. */
#define TML_DW_WIDE_WORDS (4)

static inline void tml_dw_widen4(const int8_t *w, uint32_t *wide) {
    for (int32_t k = 0; k < 4; ++k) {
        wide[k] = (uint32_t)(int32_t)w[k];
    }
}

/* The quads (TML_CONV_QUADS): TML_XQUAD_INPUT_BYTES an input, each input's
 * words written by the including header's tml_xquad_fill(). Inputs [from,
 * from + len) of the four windows: with row_len 0 each window is one run
 * from win[p]; otherwise its rows of row_len inputs start step[p] bytes
 * apart, so a window inside the image is read in place rather than
 * gathered. */
typedef uint32_t tml_xquad_t;

__attribute__((noinline, unused)) static void tml_xquad_prepare(const int8_t *const *win, const size_t *step,
    int32_t row_len, int32_t from, int32_t len, int32_t input_offset, tml_xquad_t *buf) {
    const int32_t words = TML_XQUAD_INPUT_BYTES / (int32_t)sizeof(tml_xquad_t);
    const int32_t whole = row_len != 0 ? row_len : from + len;
    const int8_t *row[4];
    int32_t col = from % whole;
    for (int32_t p = 0; p < 4; ++p) {
        row[p] = win[p] + (size_t)(from / whole) * (row_len != 0 ? step[p] : 0);
    }
    for (int32_t done = 0; done < len; col = 0) {
        const int32_t run = whole - col < len - done ? whole - col : len - done;
        const int8_t *const src[4] = {row[0] + col, row[1] + col, row[2] + col, row[3] + col};
        tml_xquad_fill(src, run, buf + words * done, input_offset);
        for (int32_t p = 0; p < 4; ++p) {
            row[p] += row_len != 0 ? step[p] : 0;
        }
        done += run;
    }
}

#endif /* TML_ARCH_XVEC32_H */
