/* Cortex-M4/M7/M33 with the DSP extension: SXTB16 widens bytes 0 and 2 (or
 * 1 and 3) of a word to two int16 lanes and SMLAD multiplies and adds two
 * lane pairs, so the inputs are prepared as offset int16 in the lane order
 * SXTB16 gives the weights, and the matrix loops are the assembly of
 * tml_arch_dsp.S. Every primitive is this path's own; the rescale loop is
 * the Cortex-M3's (tml_arch_v7m_requant.h). */
#ifndef TML_ARCH_DSP_H
#define TML_ARCH_DSP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arm_acle.h>
#include "tml_arch_tails.h"
#include "tml_arch_v7m_requant.h"

/* Four int8 from any alignment (the cores with DSP load unaligned words). */
static inline uint32_t tml_read_s8x4(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Bytes 1 and 3 sign-extended to two int16 lanes. Written out because GCC
 * does not always fold the rotation into SXTB16. */
static inline uint32_t tml_sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc's two int16 lanes plus bytes 0 and 2 (or 1 and 3) of v, sign-
 * extended: SADD16 of SXTB16 in one instruction. */
static inline uint32_t tml_sxtab16(uint32_t acc, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(v));
    return r;
}

static inline uint32_t tml_sxtab16_ror8(uint32_t acc, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(v));
    return r;
}

/* The bytewise maximum of four int8 lanes: SSUB8 sets a GE flag per byte
 * lane where a >= b, SEL takes those lanes from a. One asm statement, so
 * that nothing can come between the flags and their use. */
static inline uint32_t tml_max_s8x4(uint32_t a, uint32_t b) {
    uint32_t m;
    __asm__("ssub8 %[m], %[a], %[b]\n\tsel %[m], %[a], %[b]" : [m] "=&r"(m) : [a] "r"(a), [b] "r"(b) : "cc");
    return m;
}

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
    /* Offset in both int16 lanes; |x + offset| <= 255 fits a lane. */
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const int32_t x02 = (int32_t)__sadd16(__sxtb16(xv), offset2);
        const int32_t x13 = (int32_t)__sadd16(tml_sxtb16_ror8(xv), offset2);
        uint32_t wv = tml_read_s8x4(w0 + i);
        a0 = __smlad((int32_t)__sxtb16(wv), x02, a0);
        a0 = __smlad((int32_t)tml_sxtb16_ror8(wv), x13, a0);
        wv = tml_read_s8x4(w1 + i);
        a1 = __smlad((int32_t)__sxtb16(wv), x02, a1);
        a1 = __smlad((int32_t)tml_sxtb16_ror8(wv), x13, a1);
        wv = tml_read_s8x4(w2 + i);
        a2 = __smlad((int32_t)__sxtb16(wv), x02, a2);
        a2 = __smlad((int32_t)tml_sxtb16_ror8(wv), x13, a2);
        wv = tml_read_s8x4(w3 + i);
        a3 = __smlad((int32_t)__sxtb16(wv), x02, a3);
        a3 = __smlad((int32_t)tml_sxtb16_ror8(wv), x13, a3);
    }
    tml_dot4_tail_s8(x, w0, w1, w2, w3, i, len, input_offset, a0, a1, a2, a3, acc);
}

/* One output channel: sum_{i < len} w[i] * (x[i] + input_offset). */
static inline int32_t tml_dot1_s8(const int8_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t acc = 0;
    int32_t i = 0;
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const uint32_t wv = tml_read_s8x4(w + i);
        acc = __smlad((int32_t)__sxtb16(wv), (int32_t)__sadd16(__sxtb16(xv), offset2), acc);
        acc = __smlad((int32_t)tml_sxtb16_ror8(wv), (int32_t)__sadd16(tml_sxtb16_ror8(xv), offset2), acc);
    }
    for (; i < len; ++i) {
        acc += w[i] * (x[i] + input_offset);
    }
    return acc;
}

/* The input vector of a matrix-vector product (one conv window, one FC
 * row), prepared once and read by every output channel: x + input_offset
 * as int16, each block of four stored as x0 x2 x1 x3 so a word load gives
 * the two lanes SXTB16 makes of the weights; the offset is added once per
 * input instead of once per four products, and the input needs no
 * unpacking in the hot loop. At most TML_XVEC_MAX inputs. */
typedef int16_t tml_xvec_t;
#define TML_XVEC_MAX (512)

static inline const tml_xvec_t *tml_xvec_prepare(const int8_t *x, int32_t len,
    int32_t input_offset, tml_xvec_t *buf) {
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const uint32_t x02 = __sadd16(__sxtb16(xv), offset2);
        const uint32_t x13 = __sadd16(tml_sxtb16_ror8(xv), offset2);
        memcpy(buf + i, &x02, sizeof(x02));
        memcpy(buf + i + 2, &x13, sizeof(x13));
    }
    for (; i < len; ++i) {
        buf[i] = (int16_t)(x[i] + input_offset);
    }
    return buf;
}

/* tml_xvec_prepare() with the last len % 4 inputs as one more block in
 * the same lane order, its padding the offset alone (FULLY_CONNECTED_W16
 * meets it with zero weights): TML_FC_W16_PAD(len) entries. */
static inline void tml_xvec_prepare_padded(const int8_t *x, int32_t len, int32_t input_offset,
    tml_xvec_t *buf) {
    const int32_t whole = len & ~3;
    tml_xvec_prepare(x, whole, input_offset, buf);
    if (whole < len) {
        int8_t last[4] = {0, 0, 0, 0};
        memcpy(last, x + whole, (size_t)(len - whole));
        tml_xvec_prepare(last, 4, input_offset, buf + whole);
    }
}

/* One output channel: sum_{i < len} w[i] * (x[i] + input_offset), x from
 * tml_xvec_prepare(). */
static inline int32_t tml_dot1_x(const tml_xvec_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t acc = 0;
    int32_t i = 0;
    (void)input_offset;
    for (; i + 4 <= len; i += 4) {
        uint32_t x02, x13;
        memcpy(&x02, x + i, sizeof(x02));
        memcpy(&x13, x + i + 2, sizeof(x13));
        const uint32_t wv = tml_read_s8x4(w + i);
        acc = __smlad((int32_t)__sxtb16(wv), (int32_t)x02, acc);
        acc = __smlad((int32_t)tml_sxtb16_ror8(wv), (int32_t)x13, acc);
    }
    for (; i < len; ++i) {
        acc += w[i] * x[i];
    }
    return acc;
}

/* tml_arch_dsp.S. acc[k] += w_k . x over `blocks` (> 0) blocks of four
 * prepared inputs for k < 4 * groups (groups > 0), channel k's weights at
 * w + k * stride. */
void tml_dsp_fc4(const tml_xvec_t *x, int32_t blocks, const int8_t *w, int32_t stride,
    int32_t groups, int32_t *acc);

/* tml_arch_dsp.S. acc[k] += w_k . x over `blocks` (> 0) blocks of four
 * prepared inputs for k < 4 * groups (groups > 0), the pre-widened weights
 * of FULLY_CONNECTED_W16 (tml_fc.c): a group's blocks from w on, the next
 * group's group_stride bytes further; w word-aligned. */
void tml_dsp_fc4_w16(const tml_xvec_t *x, int32_t blocks, const int16_t *w, int32_t group_stride,
    int32_t groups, int32_t *acc);

/* acc[k] += w_k . x over len prepared inputs for k < 4 * groups, channel
 * k's weights at w + k * stride (FULLY_CONNECTED's rows, four at a time). */
static inline void tml_dot4_groups_x(const tml_xvec_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t groups, int32_t input_offset, int32_t *acc) {
    const int32_t blocks = len >> 2;
    if (groups > 0 && blocks > 0) {
        tml_dsp_fc4(x, blocks, w, stride, groups, acc);
    }
    /* The last len % 4 inputs, in plain order after the blocks. */
    for (int32_t i = 4 * blocks; i < len; ++i) {
        for (int32_t k = 0; k < 4 * groups; ++k) {
            acc[k] += w[(size_t)k * (size_t)stride + (size_t)i] * x[i];
        }
    }
    (void)input_offset;
}

/* Two output pixels by two output channels (tml_conv.c's main loop): the
 * windows of both pixels are prepared together by tml_xpair_prepare(),
 * then every loaded weight feeds both pixels and every loaded input both
 * channels. Layout: per block of four inputs, pixel 0's x0 x2 x1 x3 then
 * pixel 1's, as int16 with the offset added (the lane order SXTB16 gives
 * the weights), so one pointer walks both and a block is four consecutive
 * words; the last len % 4 inputs follow in plain order, pixel 0's four
 * slots then pixel 1's. TML_XPAIR_MAX bounds the inputs prepared at a
 * time (a buffer of at most 1 KB of the op's scratch). */
typedef int16_t tml_xpair_t;
#define TML_XPAIR_MAX (256)
#include "tml_arch_tails.h" /* now with tml_dot2x2_tail() */

/* Writes both pixels of the pair into buf (2 * TML_XPAIR_MAX entries), in
 * one pass. Called once per pixel pair, not per product: kept out of line
 * for flash (`unused`: not every file including this header calls it). */
__attribute__((noinline, unused)) static void tml_xpair_prepare(const int8_t *xa, const int8_t *xb,
    int32_t len, int32_t input_offset, tml_xpair_t *buf) {
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    tml_xpair_t *dst = buf;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4, dst += 8) {
        const uint32_t va = tml_read_s8x4(xa + i);
        const uint32_t vb = tml_read_s8x4(xb + i);
        const uint32_t a02 = __sadd16(__sxtb16(va), offset2);
        const uint32_t a13 = __sadd16(tml_sxtb16_ror8(va), offset2);
        const uint32_t b02 = __sadd16(__sxtb16(vb), offset2);
        const uint32_t b13 = __sadd16(tml_sxtb16_ror8(vb), offset2);
        memcpy(dst, &a02, sizeof(a02));
        memcpy(dst + 2, &a13, sizeof(a13));
        memcpy(dst + 4, &b02, sizeof(b02));
        memcpy(dst + 6, &b13, sizeof(b13));
    }
    for (int32_t k = 0; i < len; ++i, ++k) {
        dst[k] = (int16_t)(xa[i] + input_offset);
        dst[4 + k] = (int16_t)(xb[i] + input_offset);
    }
}

/* tml_arch_dsp.S. For k < 2 * pairs (pairs > 0), channel k's weights at
 * w + k * stride: acc_a[k] = src_a[k] + w_k . pixel 0 and acc_b[k] =
 * src_b[k] + w_k . pixel 1 over `steps` (> 0) blocks of four inputs of the
 * prepared pair x. */
void tml_dsp_conv2(const tml_xpair_t *x, int32_t steps, const int8_t *w, int32_t stride,
    int32_t pairs, int32_t *acc_a, int32_t *acc_b, const int32_t *src_a, const int32_t *src_b);

/* The same over len inputs (a source may be the accumulators themselves):
 * the assembly loop takes blocks of four, the last len % 4 inputs are
 * added here. Out of line, as tml_xpair_prepare(). */
__attribute__((noinline, unused)) static void tml_dot2x2_channels(const tml_xpair_t *x,
    int32_t len, const int8_t *w, int32_t stride, int32_t pairs, const int32_t *src_a,
    const int32_t *src_b, int32_t *acc_a, int32_t *acc_b) {
    const int32_t steps = len >> 2, done = 4 * steps;
    /* The last inputs: pixel 0's four slots then pixel 1's. */
    const tml_xpair_t *const xa = x + 8 * steps, *const xb = xa + 4;
    const int32_t x_step = 1;
    if (pairs > 0 && steps > 0) {
        tml_dsp_conv2(x, steps, w, stride, pairs, acc_a, acc_b, src_a, src_b);
        src_a = acc_a;
        src_b = acc_b;
    }
    const int32_t rest = len - done;
    if (rest == 0) {
        return;
    }
    tml_dot2x2_tail(xa, xb, x_step, done, rest, w, stride, pairs, src_a, src_b, acc_a, acc_b);
}

/* Four output pixels for one channel at a time (tml_conv.c's main loop on
 * this path): each weight word, widened once, feeds the four pixels. The
 * windows of the four are prepared together by tml_xquad_prepare(): per
 * block of four inputs, each pixel's x0 x2 and x1 x3 as offset int16 (the
 * pair layout of tml_xpair_prepare() for four pixels), the last len % 4
 * inputs after the blocks as one more, zeros in place of the missing.
 * TML_XQUAD_MAX bounds the inputs prepared at a time: a 3x3x16 window
 * (ResNet's first stage) in one piece, the weights' walk per channel
 * unbroken; the buffer is as long as the layer's windows need, 2 KB at
 * most. */
#define TML_CONV_QUADS (1)
#define TML_XQUAD_MAX (256)
#define TML_XQUAD_INPUT_BYTES (8)
typedef int16_t tml_xquad_t;

/* tml_arch_dsp.S. `blocks` (> 0) blocks of four inputs of each of the
 * four pixels, from src[p] (any alignment), into the prepared quad at dst,
 * offset2 the input offset in both halves. */
void tml_dsp_quad_prepare4(const int8_t *const *src, int32_t blocks, int16_t *dst, uint32_t offset2);

/* Inputs [from, from + len) of the four windows. With row_len 0 each
 * window is one run from win[p]; otherwise its rows of row_len inputs (a
 * multiple of four, as from and len then are) start step[p] bytes apart,
 * so a window inside the image is read in place rather than gathered. */
__attribute__((noinline, unused)) static void tml_xquad_prepare(const int8_t *const *win, const size_t *step,
    int32_t row_len, int32_t from, int32_t len, int32_t input_offset, tml_xquad_t *buf) {
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t blocks = len >> 2;
    const int8_t *src[4];
    if (row_len == 0) {
        for (int32_t p = 0; p < 4; ++p) {
            src[p] = win[p] + from;
        }
        if (blocks > 0) {
            tml_dsp_quad_prepare4(src, blocks, buf, offset2);
        }
    } else {
        /* Row by row, the four pixels together. */
        const int8_t *row[4];
        int32_t col = from % row_len;
        for (int32_t p = 0; p < 4; ++p) {
            row[p] = win[p] + (size_t)(from / row_len) * step[p];
        }
        for (int32_t done = 0; done < blocks; col = 0) {
            const int32_t left = (row_len - col) >> 2;
            const int32_t run = left < blocks - done ? left : blocks - done;
            for (int32_t p = 0; p < 4; ++p) {
                src[p] = row[p] + col;
                row[p] += step[p];
            }
            tml_dsp_quad_prepare4(src, run, buf + 16 * done, offset2);
            done += run;
        }
    }
    if (len & 3) {
        /* The last one to three inputs (of windows that are one run) as a
         * block whose missing inputs are 0 (as their weights will be). */
        for (int32_t p = 0; p < 4; ++p) {
            const int8_t *const last_in = src[p] + 4 * blocks;
            int16_t last[4] = {0, 0, 0, 0};
            for (int32_t k = 0; k < (len & 3); ++k) {
                last[k] = (int16_t)(last_in[k] + input_offset);
            }
            int16_t *const dst = buf + 16 * blocks + 4 * p;
            dst[0] = last[0];
            dst[1] = last[2];
            dst[2] = last[1];
            dst[3] = last[3];
        }
    }
}

/* tml_arch_dsp.S: see there. */
void tml_dsp_conv4(const int16_t *x, int32_t steps, const int8_t *w, int32_t stride,
    int32_t channels, int32_t *acc, const int32_t *start);

/* For k < channels: pixel p's acc[p * TML_REQUANT_PAIR_ACC_STEP + k] =
 * (start != NULL ? start[k] : its own value) + w_k . pixel p over len
 * inputs of the prepared quad x, channel k's weights at w + k * stride. */
__attribute__((noinline, unused)) static void tml_dot4px_channels(const tml_xquad_t *x, int32_t len,
    const int8_t *w, int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) {
    const int32_t steps = len >> 2, done = 4 * steps, rest = len - done;
    if (steps > 0) {
        tml_dsp_conv4(x, steps, w, stride, channels, acc, start);
    } else {
        for (int32_t p = 0; p < 4 && start != NULL; ++p) {
            memcpy(acc + p * TML_REQUANT_PAIR_ACC_STEP, start, (size_t)channels * sizeof(int32_t));
        }
    }
    if (rest == 0) {
        return;
    }
    /* The last block: its one to three weights a channel assembled into a
     * word with zeros above, each pixel's two words loaded once. */
    uint32_t x02[4], x13[4];
    const int16_t *const tail = x + 16 * steps;
    for (int32_t p = 0; p < 4; ++p) {
        memcpy(&x02[p], tail + 4 * p, sizeof(x02[p]));
        memcpy(&x13[p], tail + 4 * p + 2, sizeof(x13[p]));
    }
    for (int32_t k = 0; k < channels; ++k) {
        const uint8_t *const wk = (const uint8_t *)w + (size_t)k * (size_t)stride + done;
        uint32_t wv = wk[0];
        if (rest > 1) {
            wv |= (uint32_t)wk[1] << 8;
        }
        if (rest > 2) {
            wv |= (uint32_t)wk[2] << 16;
        }
        const int32_t w02 = (int32_t)__sxtb16(wv), w13 = (int32_t)tml_sxtb16_ror8(wv);
        for (int32_t p = 0; p < 4; ++p) {
            int32_t *const a = acc + p * TML_REQUANT_PAIR_ACC_STEP + k;
            *a = __smlad(w13, (int32_t)x13[p], __smlad(w02, (int32_t)x02[p], *a));
        }
    }
}

/* Depthwise weights widened once per layer (tml_dw_widen4()), so that the
 * per-pixel assembly loop (tml_dw_pixel_dsp()) only widens the inputs: the
 * four weights of one tap as two words of int16 lanes, (w0, w2) and (w1,
 * w3), the pairs SXTB16 makes of the inputs. TML_DW_WIDE_WORDS is the
 * words per tap. */
#define TML_DW_WIDE_WORDS (2)

static inline void tml_dw_widen4(const int8_t *w, uint32_t *wide) {
    const uint32_t wv = tml_read_s8x4(w);
    wide[0] = __sxtb16(wv);
    wide[1] = tml_sxtb16_ror8(wv);
}

/* tml_arch_dsp.S. One depthwise output pixel, all n channels (a multiple
 * of four, > 0), taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] *
 * w[t][c], the weights widened into `wide` as [group of four channels]
 * [tap][2 words]. */
void tml_dw_pixel_dsp(const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc);

#endif /* TML_ARCH_DSP_H */
