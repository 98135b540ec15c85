/* The one place that picks the architecture path of the kernels' inner
 * loops, from compiler macros:
 *   TML_ARCH_DSP  Cortex-M4/M7/M33 with the DSP extension (SXTB16, SMLAD)
 *   TML_ARCH_V7M  Cortex-M3 (armv7m: MLA, post-indexed sign-extending loads)
 *   TML_ARCH_M0   Cortex-M0/M0+ (armv6m, the RP2040: Thumb-1)
 *   TML_ARCH_SSE2 x86-64 (the unix port, the host tests)
 * else the portable C, which TML_FORCE_PORTABLE selects everywhere so that
 * both can be built and compared on one machine.
 *
 * The primitives, each with its portable form here:
 * - CONV_2D: the windows of two output pixels prepared together
 *   (tml_xpair_prepare()), then two channels at a time for both pixels
 *   (tml_dot2x2_channels(): assembly on the three Arm cores);
 * - FULLY_CONNECTED (and CONV_2D on x86-64): one prepared input vector
 *   (tml_xvec_prepare()), four channels at a time (tml_dot4_groups_x():
 *   assembly on the three Arm cores; tml_dot4_x() for CONV_2D on x86-64);
 * - DEPTHWISE_CONV_2D: four channels of one tap (tml_mac4_s8()), on
 *   Cortex-M3/M4 with the weights widened once per layer and a pixel's
 *   channel groups in one assembly loop (tml_dw_pixel_*());
 * - the rescale of the convolutions' outputs (tml_requant_row_v7m()).
 *
 * Every path computes exactly the same integers: every product and partial
 * sum of the reduction fits in int32 (see the overflow argument in
 * tml_conv.c), and sums that start from the bias wrap modulo 2^32 as
 * TFLite's int32 does, so neither the order of the additions nor the
 * instructions change the result. */
#ifndef TML_ARCH_H
#define TML_ARCH_H

#include <stdint.h>
#include <string.h>

#if !defined(TML_FORCE_PORTABLE) && defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TML_ARCH_DSP (1)
#else
#define TML_ARCH_DSP (0)
#endif

/* Cortex-M0/M0+ (armv6m, the RP2040): Thumb-1 multiplies and loads only
 * reach r0-r7, and GCC spills the portable loop's accumulators to high
 * registers, about 6 instructions per product. The Thumb-1 loops in
 * tml_m0_conv2() (convolutions) and tml_m0_dot4() (FULLY_CONNECTED) keep
 * everything in registers. */
#if !defined(TML_FORCE_PORTABLE) && defined(__ARM_ARCH_6M__) && defined(__GNUC__)
#define TML_ARCH_M0 (1)
#else
#define TML_ARCH_M0 (0)
#endif

/* Cortex-M3 (armv7m without DSP): Thumb-2 with MLA and post-indexed
 * sign-extending loads, used by the assembly kernels below. */
#if !defined(TML_FORCE_PORTABLE) && defined(__ARM_ARCH_7M__) && defined(__GNUC__)
#define TML_ARCH_V7M (1)
#else
#define TML_ARCH_V7M (0)
#endif

/* x86-64 (the unix port, the host tests, the x64 native module): SSE2 is
 * part of the base ISA, and PMADDWD is SMLAD four lanes wide. GCC at -O2
 * leaves the scalar loops below unvectorised, which put the host's
 * FULLY_CONNECTED at 1.5x TFLite's reference kernels. */
#if !defined(TML_FORCE_PORTABLE) && !TML_ARCH_DSP && defined(__SSE2__)
#define TML_ARCH_SSE2 (1)
#else
#define TML_ARCH_SSE2 (0)
#endif

/* Rarely taken paths (the one-channel-at-a-time depthwise: depth
 * multipliers above 1, channels left over from groups of four) are built
 * for size: the matrix kernels are compiled at -O2, which would otherwise
 * inline and unroll them too. */
#if defined(__GNUC__)
#define TML_COLD __attribute__((cold, noinline))
/* Out of line for flash; `unused` since not every file including this
 * header calls them. */
#define TML_NOINLINE __attribute__((noinline, unused))
#else
#define TML_COLD
#define TML_NOINLINE
#endif

#if TML_ARCH_DSP
#include <arm_acle.h>

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
#endif

#if TML_ARCH_SSE2
#include <emmintrin.h>

/* Sixteen int8 from any alignment, sign-extended to two vectors of eight
 * int16 (SSE2 has no PMOVSXBW: the byte is put in the high half and
 * shifted back down arithmetically). */
static inline void tml_sse_load_s8x16(const int8_t *p, __m128i *lo, __m128i *hi) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    *lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
    *hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
}

/* s += the sixteen products w[0..15] * x, x as two int16 vectors. Each
 * PMADDWD lane adds two products, at most 2 * 32640 in magnitude. */
static inline __m128i tml_sse_mac16(__m128i s, const int8_t *w, __m128i xlo, __m128i xhi) {
    __m128i wlo, whi;
    tml_sse_load_s8x16(w, &wlo, &whi);
    s = _mm_add_epi32(s, _mm_madd_epi16(wlo, xlo));
    return _mm_add_epi32(s, _mm_madd_epi16(whi, xhi));
}

static inline int32_t tml_sse_hsum(__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
#endif

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
#if TML_ARCH_DSP
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
#elif TML_ARCH_SSE2
    /* Sixteen inputs, widened and offset once, serve 64 products; the lane
     * sums are partial sums of the same bounded series, so they fit. */
    const __m128i offset8 = _mm_set1_epi16((int16_t)input_offset);
    __m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
    for (; i + 16 <= len; i += 16) {
        __m128i xlo, xhi;
        tml_sse_load_s8x16(x + i, &xlo, &xhi);
        xlo = _mm_add_epi16(xlo, offset8);
        xhi = _mm_add_epi16(xhi, offset8);
        s0 = tml_sse_mac16(s0, w0 + i, xlo, xhi);
        s1 = tml_sse_mac16(s1, w1 + i, xlo, xhi);
        s2 = tml_sse_mac16(s2, w2 + i, xlo, xhi);
        s3 = tml_sse_mac16(s3, w3 + i, xlo, xhi);
    }
    a0 += tml_sse_hsum(s0);
    a1 += tml_sse_hsum(s1);
    a2 += tml_sse_hsum(s2);
    a3 += tml_sse_hsum(s3);
#else
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
#endif
    for (; i < len; ++i) {
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

/* One output channel: sum_{i < len} w[i] * (x[i] + input_offset). */
static inline int32_t tml_dot1_s8(const int8_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t acc = 0;
    int32_t i = 0;
#if TML_ARCH_DSP
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const uint32_t wv = tml_read_s8x4(w + i);
        acc = __smlad((int32_t)__sxtb16(wv), (int32_t)__sadd16(__sxtb16(xv), offset2), acc);
        acc = __smlad((int32_t)tml_sxtb16_ror8(wv), (int32_t)__sadd16(tml_sxtb16_ror8(xv), offset2), acc);
    }
#elif TML_ARCH_SSE2
    const __m128i offset8 = _mm_set1_epi16((int16_t)input_offset);
    __m128i s = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16) {
        __m128i xlo, xhi;
        tml_sse_load_s8x16(x + i, &xlo, &xhi);
        s = tml_sse_mac16(s, w + i, _mm_add_epi16(xlo, offset8), _mm_add_epi16(xhi, offset8));
    }
    acc = tml_sse_hsum(s);
#endif
    for (; i < len; ++i) {
        acc += w[i] * (x[i] + input_offset);
    }
    return acc;
}

/* The input vector of a matrix-vector product (one conv window, one FC
 * row), prepared once and read by every output channel.
 *
 * DSP: x + input_offset as int16, each block of four stored as x0 x2 x1 x3
 * so a word load gives the two lanes SXTB16 makes of the weights; the
 * offset is added once per input instead of once per four products, and the
 * input needs no unpacking in the hot loop. At most TML_XVEC_MAX inputs.
 * Portable: the int8 input itself, the offset added in the loop. */
#if TML_ARCH_DSP
typedef int16_t tml_xvec_t;
#define TML_XVEC_MAX (512)
#elif TML_ARCH_M0 || TML_ARCH_V7M
/* M0 and M3: x + input_offset as int32, so one LDM both loads values and
 * steps the pointer; 256 inputs keep the buffer at 1 KB of stack like the
 * DSP one. Longer vectors use the unprepared int8 path. */
typedef int32_t tml_xvec_t;
#define TML_XVEC_MAX (256)
#else
typedef int8_t tml_xvec_t;
#define TML_XVEC_MAX (1)
#endif

static inline const tml_xvec_t *tml_xvec_prepare(const int8_t *x, int32_t len,
    int32_t input_offset, tml_xvec_t *buf) {
#if TML_ARCH_DSP
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
#elif TML_ARCH_M0 || TML_ARCH_V7M
    for (int32_t i = 0; i < len; ++i) {
        buf[i] = x[i] + input_offset;
    }
    return buf;
#else
    (void)len;
    (void)input_offset;
    (void)buf;
    return x;
#endif
}

#if TML_ARCH_M0
/* One input of tml_m0_dot4's loop: load it, multiply it by the four
 * channels' weights, accumulate. */
#define TML_M0_DOT4_STEP \
    "ldmia r0!, {r5}\n" \
    "ldrsb r7, [r2, r6]\n" \
    "muls r7, r5\n" \
    "add r8, r7\n" \
    "ldrsb r7, [r3, r6]\n" \
    "muls r7, r5\n" \
    "add r9, r7\n" \
    "ldrsb r7, [r4, r6]\n" \
    "muls r7, r5\n" \
    "add r10, r7\n" \
    "ldrsb r7, [r1, r6]\n" \
    "muls r7, r5\n" \
    "add r11, r7\n" \
    "adds r6, #1\n"

/* acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3 over `count`
 * inputs, a non-zero multiple of two: four channels share each loaded
 * input, 3.6 instructions per product. Loads and MULS reach only r0-r7, so
 * the loop needs all eight (r7 included, which GCC keeps for the frame
 * pointer) and the accumulators live in r8-r11: a whole function in
 * assembly. */
__attribute__((naked, noinline)) static void tml_m0_dot4(const int32_t *x, int32_t count,
    const int8_t *w, int32_t stride, int32_t *acc) {
    (void)x;
    (void)count;
    (void)w;
    (void)stride;
    (void)acc;
    __asm__ volatile (
        ".syntax unified\n"
        "push {r4, r5, r6, r7, lr}\n"
        "mov r4, r8\n"
        "mov r5, r9\n"
        "mov r6, r10\n"
        "mov r7, r11\n"
        "push {r4, r5, r6, r7}\n"
        /* r12 = the end of x; r2..r4, r1 = the four channels' weights. */
        "lsls r1, r1, #2\n"
        "adds r1, r0, r1\n"
        "mov r12, r1\n"
        "adds r4, r3, r3\n"
        "adds r1, r4, r3\n"
        "adds r1, r2, r1\n"
        "adds r4, r2, r4\n"
        "adds r3, r2, r3\n"
        /* acc: the fifth argument, above the nine saved registers. */
        "ldr r5, [sp, #36]\n"
        "ldr r6, [r5]\n"
        "mov r8, r6\n"
        "ldr r6, [r5, #4]\n"
        "mov r9, r6\n"
        "ldr r6, [r5, #8]\n"
        "mov r10, r6\n"
        "ldr r6, [r5, #12]\n"
        "mov r11, r6\n"
        "movs r6, #0\n"
        "1:\n"
        TML_M0_DOT4_STEP TML_M0_DOT4_STEP
        "cmp r0, r12\n"
        "bne 1b\n"
        "ldr r5, [sp, #36]\n"
        "mov r6, r8\n"
        "str r6, [r5]\n"
        "mov r6, r9\n"
        "str r6, [r5, #4]\n"
        "mov r6, r10\n"
        "str r6, [r5, #8]\n"
        "mov r6, r11\n"
        "str r6, [r5, #12]\n"
        "pop {r4, r5, r6, r7}\n"
        "mov r8, r4\n"
        "mov r9, r5\n"
        "mov r10, r6\n"
        "mov r11, r7\n"
        "pop {r4, r5, r6, r7, pc}\n");
}
#endif

#if TML_ARCH_V7M
/* Two inputs of tml_v7m_dot4's loop: LDM loads both, each of the four
 * channels' weights comes from w0 plus a stride (r9 = 1, r10 = 2, r11 = 3
 * strides), w0 itself stepping with the last load of each input. */
#define TML_V7M_DOT4_STEP \
    "ldmia r0!, {r4, r5}\n" \
    "ldrsb r12, [r2, r9]\n" \
    "mla r6, r12, r4, r6\n" \
    "ldrsb r12, [r2, r10]\n" \
    "mla r7, r12, r4, r7\n" \
    "ldrsb r12, [r2, r11]\n" \
    "mla r8, r12, r4, r8\n" \
    "ldrsb r12, [r2], #1\n" \
    "mla r3, r12, r4, r3\n" \
    "ldrsb r12, [r2, r9]\n" \
    "mla r6, r12, r5, r6\n" \
    "ldrsb r12, [r2, r10]\n" \
    "mla r7, r12, r5, r7\n" \
    "ldrsb r12, [r2, r11]\n" \
    "mla r8, r12, r5, r8\n" \
    "ldrsb r12, [r2], #1\n" \
    "mla r3, r12, r5, r3\n"

/* acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3 over `count`
 * inputs, a non-zero multiple of two: 16 products in 17 instructions plus
 * the loop. */
__attribute__((naked, noinline)) static void tml_v7m_dot4(const int32_t *x, int32_t count,
    const int8_t *w, int32_t stride, int32_t *acc) {
    (void)x;
    (void)count;
    (void)w;
    (void)stride;
    (void)acc;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "add lr, r0, r1, lsl #2\n"
        "mov r9, r3\n"
        "add r10, r3, r3\n"
        "add r11, r10, r3\n"
        "ldr r1, [sp, #36]\n"
        "ldm r1, {r3, r6, r7, r8}\n"
        "1:\n"
        TML_V7M_DOT4_STEP
        "cmp r0, lr\n"
        "bne 1b\n"
        "ldr r1, [sp, #36]\n"
        "stm r1, {r3, r6, r7, r8}\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#endif

#if !TML_ARCH_DSP
/* acc[k] += sum_{i < len} w[k * w_stride + i] * (x[i] + input_offset) for
 * k = 0..3, x from tml_xvec_prepare(). (DSP cores take four rows in
 * tml_dsp_fc4() instead.) */
static inline void tml_dot4_x(const tml_xvec_t *x, const int8_t *w, int32_t w_stride,
    int32_t len, int32_t input_offset, int32_t acc[4]) {
#if TML_ARCH_M0 || TML_ARCH_V7M
    const int32_t even = len & ~(int32_t)1;
    (void)input_offset;
    if (even > 0) {
#if TML_ARCH_M0
        tml_m0_dot4(x, even, w, w_stride, acc);
#else
        tml_v7m_dot4(x, even, w, w_stride, acc);
#endif
    }
    if (even < len) {
        for (int32_t k = 0; k < 4; ++k) {
            acc[k] += w[(size_t)k * (size_t)w_stride + (size_t)even] * x[even];
        }
    }
#else
    tml_dot4_s8(x, w, w_stride, len, input_offset, acc);
#endif
}
#endif

/* One output channel of the same. */
static inline int32_t tml_dot1_x(const tml_xvec_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
#if TML_ARCH_DSP
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
#elif TML_ARCH_M0 || TML_ARCH_V7M
    int32_t acc = 0;
    (void)input_offset;
    for (int32_t i = 0; i < len; ++i) {
        acc += w[i] * x[i];
    }
    return acc;
#else
    return tml_dot1_s8(x, w, len, input_offset);
#endif
}

#if TML_ARCH_DSP
/* acc[k] += w_k . x over `blocks` (> 0) blocks of four prepared inputs
 * (x0 x2 x1 x3 as int16, tml_xvec_prepare()) for k < 4 * groups (groups
 * > 0), channel k's weights at w + k * stride: four channels at a time,
 * one LDM of the block's two input words feeding all four; 16 products in
 * 21 instructions. The loop over the groups is here too. Frame: [sp] x,
 * [sp + 4] end of x, [sp + 8] from the end of a group's first row to the
 * next group's, [sp + 12] stride; groups and acc stacked above the nine
 * saved registers at [sp + 52] and [sp + 56]. */
__attribute__((naked, noinline)) static void tml_dsp_fc4(const tml_xvec_t *x,
    int32_t blocks, const int8_t *w, int32_t stride, int32_t groups, int32_t *acc) {
    (void)x;
    (void)blocks;
    (void)w;
    (void)stride;
    (void)groups;
    (void)acc;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "sub sp, sp, #16\n"
        "str r0, [sp]\n"
        "add r4, r0, r1, lsl #3\n"
        "str r4, [sp, #4]\n"
        "lsl r4, r1, #2\n"
        "rsb r4, r4, r3, lsl #2\n"
        "str r4, [sp, #8]\n"
        "str r3, [sp, #12]\n"
        "1:\n"
        "ldr r0, [sp]\n"
        "ldr r1, [sp, #4]\n"
        "ldr r6, [sp, #12]\n"
        "add r3, r2, r6\n"
        "add r4, r3, r6\n"
        "add r5, r4, r6\n"
        "ldr r6, [sp, #56]\n"
        "ldm r6, {r10, r11, r12, lr}\n"
        "2:\n"
        "ldmia r0!, {r6, r7}\n"
        "ldr r8, [r2], #4\n"
        "sxtb16 r9, r8\n"
        "sxtb16 r8, r8, ror #8\n"
        "smlad r10, r9, r6, r10\n"
        "smlad r10, r8, r7, r10\n"
        "ldr r8, [r3], #4\n"
        "sxtb16 r9, r8\n"
        "sxtb16 r8, r8, ror #8\n"
        "smlad r11, r9, r6, r11\n"
        "smlad r11, r8, r7, r11\n"
        "ldr r8, [r4], #4\n"
        "sxtb16 r9, r8\n"
        "sxtb16 r8, r8, ror #8\n"
        "smlad r12, r9, r6, r12\n"
        "smlad r12, r8, r7, r12\n"
        "ldr r8, [r5], #4\n"
        "sxtb16 r9, r8\n"
        "sxtb16 r8, r8, ror #8\n"
        "smlad lr, r9, r6, lr\n"
        "smlad lr, r8, r7, lr\n"
        "cmp r0, r1\n"
        "bne 2b\n"
        "ldr r6, [sp, #56]\n"
        "stmia r6!, {r10, r11, r12, lr}\n"
        "str r6, [sp, #56]\n"
        "ldr r6, [sp, #8]\n"
        "add r2, r2, r6\n"
        "ldr r6, [sp, #52]\n"
        "subs r6, r6, #1\n"
        "str r6, [sp, #52]\n"
        "bne 1b\n"
        "add sp, sp, #16\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#endif

/* acc[k] += w_k . x over len prepared inputs for k < 4 * groups, channel
 * k's weights at w + k * stride (FULLY_CONNECTED's rows, four at a time). */
static inline void tml_dot4_groups_x(const tml_xvec_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t groups, int32_t input_offset, int32_t *acc) {
#if TML_ARCH_DSP
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
#else
    for (int32_t g = 0; g < groups; ++g, w += 4 * (size_t)stride) {
        tml_dot4_x(x, w, stride, len, input_offset, acc + 4 * g);
    }
#endif
}

/* Two output pixels by two output channels (tml_conv.c's main loop): the
 * windows of both pixels are prepared together by tml_xpair_prepare(),
 * then every loaded weight feeds both pixels and every loaded input both
 * channels. Layouts:
 * DSP: per block of four inputs, pixel 0's x0 x2 x1 x3 then pixel 1's, as
 * int16 with the offset added (the lane order SXTB16 gives the weights),
 * so one pointer walks both and a block is four consecutive words; the
 * last len % 4 inputs follow in plain order, pixel 0's four slots then
 * pixel 1's.
 * Others: int32 x + offset, pixel 0's and pixel 1's value of each input
 * side by side, so one LDM/LDRD fetches a step's inputs of both pixels.
 * TML_XPAIR_MAX bounds the window length (the buffer is 1 KB of stack). */
#if TML_ARCH_DSP
typedef int16_t tml_xpair_t;
#define TML_XPAIR_MAX (256)
#else
typedef int32_t tml_xpair_t;
#define TML_XPAIR_MAX (128)
#endif

/* Writes pixel `which` (0 or 1) of the pair into buf (2 * TML_XPAIR_MAX
 * entries). */
/* Called once per pixel, not per product: kept out of line for flash. */
TML_NOINLINE static void tml_xpair_prepare(const int8_t *x, int32_t len, int32_t input_offset,
    int32_t which, tml_xpair_t *buf) {
#if TML_ARCH_DSP
    const uint32_t offset2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    tml_xpair_t *dst = buf + 4 * which;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4, dst += 8) {
        const uint32_t xv = tml_read_s8x4(x + i);
        const uint32_t x02 = __sadd16(__sxtb16(xv), offset2);
        const uint32_t x13 = __sadd16(tml_sxtb16_ror8(xv), offset2);
        memcpy(dst, &x02, sizeof(x02));
        memcpy(dst + 2, &x13, sizeof(x13));
    }
    for (int32_t k = 0; i < len; ++i, ++k) {
        dst[k] = (int16_t)(x[i] + input_offset);
    }
#else
    tml_xpair_t *dst = buf + which;
    for (int32_t i = 0; i < len; ++i, dst += 2) {
        *dst = x[i] + input_offset;
    }
#endif
}

#if TML_ARCH_M0
/* One input of tml_m0_conv2's loop: both pixels' values (r4, r5), each
 * weight multiplied by both and added to the accumulators r8-r11. MULS
 * overwrites its operand, hence one copy per weight. */
#define TML_M0_DOT2X2_STEP \
    "ldmia r0!, {r4, r5}\n" \
    "ldrsb r6, [r2, r1]\n" \
    "mov r7, r6\n" \
    "muls r7, r4\n" \
    "add r8, r7\n" \
    "muls r6, r5\n" \
    "add r10, r6\n" \
    "ldrsb r6, [r3, r1]\n" \
    "mov r7, r6\n" \
    "muls r7, r4\n" \
    "add r9, r7\n" \
    "muls r6, r5\n" \
    "add r11, r6\n" \
    "adds r1, #1\n"

/* tml_v7m_conv2() for Cortex-M0 (below: same arguments, same frame),
 * `steps` pairs of inputs. Loads and MULS reach only r0-r7, so the inner
 * loop needs all eight low registers (r7 included, which GCC keeps for the
 * frame pointer) and the accumulators live in r8-r11: 3.5 instructions
 * per product. */
__attribute__((naked, noinline)) static void tml_m0_conv2(const int32_t *x,
    int32_t steps, const int8_t *w, int32_t stride, int32_t pairs, int32_t *acc_a,
    int32_t *acc_b, const int32_t *src_a, const int32_t *src_b) {
    (void)x;
    (void)steps;
    (void)w;
    (void)stride;
    (void)pairs;
    (void)acc_a;
    (void)acc_b;
    (void)src_a;
    (void)src_b;
    __asm__ volatile (
        ".syntax unified\n"
        "push {r4, r5, r6, r7, lr}\n"
        "mov r4, r8\n"
        "mov r5, r9\n"
        "mov r6, r10\n"
        "mov r7, r11\n"
        "push {r4, r5, r6, r7}\n"
        "sub sp, #16\n"
        "str r0, [sp]\n"
        "lsls r1, r1, #4\n"
        "str r1, [sp, #4]\n"
        "str r3, [sp, #8]\n"
        "1:\n"
        "ldr r0, [sp]\n"
        "ldr r1, [sp, #4]\n"
        "adds r1, r0, r1\n"
        "mov r12, r1\n"
        "ldr r4, [sp, #64]\n"
        "ldmia r4!, {r5, r6}\n"
        "str r4, [sp, #64]\n"
        "mov r8, r5\n"
        "mov r9, r6\n"
        "ldr r4, [sp, #68]\n"
        "ldmia r4!, {r5, r6}\n"
        "str r4, [sp, #68]\n"
        "mov r10, r5\n"
        "mov r11, r6\n"
        "ldr r3, [sp, #8]\n"
        "adds r3, r2, r3\n"
        "movs r1, #0\n"
        "2:\n"
        TML_M0_DOT2X2_STEP TML_M0_DOT2X2_STEP
        "cmp r0, r12\n"
        "bne 2b\n"
        "ldr r4, [sp, #56]\n"
        "mov r5, r8\n"
        "mov r6, r9\n"
        "stmia r4!, {r5, r6}\n"
        "str r4, [sp, #56]\n"
        "ldr r4, [sp, #60]\n"
        "mov r5, r10\n"
        "mov r6, r11\n"
        "stmia r4!, {r5, r6}\n"
        "str r4, [sp, #60]\n"
        "ldr r4, [sp, #8]\n"
        "lsls r4, r4, #1\n"
        "adds r2, r2, r4\n"
        "ldr r4, [sp, #52]\n"
        "subs r4, #1\n"
        "str r4, [sp, #52]\n"
        "bne 1b\n"
        "add sp, #16\n"
        "pop {r4, r5, r6, r7}\n"
        "mov r8, r4\n"
        "mov r9, r5\n"
        "mov r10, r6\n"
        "mov r11, r7\n"
        "pop {r4, r5, r6, r7, pc}\n");
}
#endif

#if TML_ARCH_DSP
/* One block of four inputs: LDM fetches both pixels' prepared words, each
 * weight word is widened once (SXTB16) and feeds four SMLAD; 16 products
 * in 15 instructions. */
#define TML_V7M_CONV2_STEP \
    "ldmia r0!, {r4, r5, r6, r7}\n" \
    "ldr r8, [r2], #4\n" \
    "sxtb16 r9, r8\n" \
    "sxtb16 r8, r8, ror #8\n" \
    "smlad r10, r9, r4, r10\n" \
    "smlad r10, r8, r5, r10\n" \
    "smlad r12, r9, r6, r12\n" \
    "smlad r12, r8, r7, r12\n" \
    "ldr r8, [r3], #4\n" \
    "sxtb16 r9, r8\n" \
    "sxtb16 r8, r8, ror #8\n" \
    "smlad r11, r9, r4, r11\n" \
    "smlad r11, r8, r5, r11\n" \
    "smlad lr, r9, r6, lr\n" \
    "smlad lr, r8, r7, lr\n"
/* Weight bytes per step, as a shift. */
#define TML_V7M_CONV2_UNIT "2"
#elif TML_ARCH_V7M
/* Two inputs: LDM fetches both pixels' values of both, each weight is
 * loaded once and multiplied into both pixels; 8 products in 13
 * instructions. */
#define TML_V7M_CONV2_STEP \
    "ldmia r0!, {r4, r5, r6, r7}\n" \
    "ldrsb r8, [r2], #1\n" \
    "mla r10, r8, r4, r10\n" \
    "mla r12, r8, r5, r12\n" \
    "ldrsb r8, [r3], #1\n" \
    "mla r11, r8, r4, r11\n" \
    "mla lr, r8, r5, lr\n" \
    "ldrsb r8, [r2], #1\n" \
    "mla r10, r8, r6, r10\n" \
    "mla r12, r8, r7, r12\n" \
    "ldrsb r8, [r3], #1\n" \
    "mla r11, r8, r6, r11\n" \
    "mla lr, r8, r7, lr\n"
#define TML_V7M_CONV2_UNIT "1"
#endif

#ifdef TML_V7M_CONV2_STEP
/* For k < 2 * pairs (pairs > 0), channel k's weights at w + k * stride:
 * acc_a[k] = src_a[k] + w_k . pixel 0, acc_b[k] = src_b[k] + w_k . pixel 1
 * over `steps` (> 0) steps of TML_V7M_CONV2_STEP from the prepared pair x
 * (the sources are the bias for a first pass, the accumulators after).
 * The loop over the channel pairs is here too, since setting up each pair
 * in C cost about as much as a 64-input dot product. Fourteen registers in
 * the inner loop, more than GCC gives inline asm, hence a whole function;
 * the outer loop's state lives in a 16-byte frame:
 *   [sp] x, [sp + 4] bytes of weights the steps consume,
 *   [sp + 8] from the end of one pair's w0 to the next pair's w0,
 *   [sp + 12] stride; the stacked arguments pairs, acc_a, acc_b, src_a,
 *   src_b above the nine saved registers at [sp + 52] ... [sp + 68]. */
__attribute__((naked, noinline)) static void tml_v7m_conv2(const tml_xpair_t *x,
    int32_t steps, const int8_t *w, int32_t stride, int32_t pairs, int32_t *acc_a,
    int32_t *acc_b, const int32_t *src_a, const int32_t *src_b) {
    (void)x;
    (void)steps;
    (void)w;
    (void)stride;
    (void)pairs;
    (void)acc_a;
    (void)acc_b;
    (void)src_a;
    (void)src_b;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "sub sp, sp, #16\n"
        "str r0, [sp]\n"
        "lsl r1, r1, #" TML_V7M_CONV2_UNIT "\n"
        "str r1, [sp, #4]\n"
        "rsb r4, r1, r3, lsl #1\n"
        "str r4, [sp, #8]\n"
        "str r3, [sp, #12]\n"
        "1:\n"
        "ldr r0, [sp]\n"
        "ldr r4, [sp, #64]\n"
        "ldrd r10, r11, [r4], #8\n"
        "str r4, [sp, #64]\n"
        "ldr r5, [sp, #68]\n"
        "ldrd r12, lr, [r5], #8\n"
        "str r5, [sp, #68]\n"
        "ldr r3, [sp, #12]\n"
        "add r3, r2, r3\n"
        "ldr r4, [sp, #4]\n"
        "add r1, r2, r4\n"
        /* Four steps an iteration, entered part-way (TBB) so that the
         * first pass does steps % 4 of them. */
        "lsr r4, r4, #" TML_V7M_CONV2_UNIT "\n"
        "and r4, r4, #3\n"
        "tbb [pc, r4]\n"
        "0:\n"
        ".byte (4f - 0b) / 2, (7f - 0b) / 2, (6f - 0b) / 2, (5f - 0b) / 2\n"
        "4:\n"
        TML_V7M_CONV2_STEP
        "5:\n"
        TML_V7M_CONV2_STEP
        "6:\n"
        TML_V7M_CONV2_STEP
        "7:\n"
        TML_V7M_CONV2_STEP
        "cmp r2, r1\n"
        "bne 4b\n"
        "ldr r4, [sp, #56]\n"
        "strd r10, r11, [r4], #8\n"
        "str r4, [sp, #56]\n"
        "ldr r5, [sp, #60]\n"
        "strd r12, lr, [r5], #8\n"
        "str r5, [sp, #60]\n"
        "ldr r4, [sp, #8]\n"
        "add r2, r2, r4\n"
        "ldr r4, [sp, #52]\n"
        "subs r4, r4, #1\n"
        "str r4, [sp, #52]\n"
        "bne 1b\n"
        "add sp, sp, #16\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#endif

#if TML_ARCH_DSP || TML_ARCH_V7M
#define TML_ARCH_REQUANT_ROW (1)
/* What tml_requant_row_v7m() reads besides the accumulators, in the
 * order its LDM loads them. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t round_offset; /* 1 + 2 * output zero point */
    int32_t act_min, act_max;
} tml_requant_row_args_t;

/* One output of tml_requant_row_v7m() up to the clamp: accumulator r9,
 * multiplier r10, k = -shift - 1 in lr; the 64-bit nudge (2^30, or -2^30
 * for negative values) in r11:r12 from r2 = 2^30; the result
 * ((2 * high >> k) + 1 + 2 zp) >> 1 in r12. */
#define TML_REQUANT_ROW_RESCALE \
    "ldr r9, [r0], #4\n" \
    "ldr r10, [r3], #4\n" \
    "ldr lr, [r4], #4\n" \
    "asr r12, r9, #31\n" \
    "eor r11, r2, r12, lsl #31\n" \
    "smlal r11, r12, r9, r10\n" \
    "mvn lr, lr\n" \
    "lsl r12, r12, #1\n" \
    "asr r12, r12, lr\n" \
    "add r12, r12, r6\n" \
    "asr r12, r12, #1\n"

/* out[i] = clamp(tml_rescale_down(acc[i], multiplier[i], shift[i]) + zero
 * point, act_min, act_max) for n > 0 outputs whose accumulators already
 * hold the bias, per-channel multipliers and every shift <= -2:
 * tml_requant.h's single multiply-accumulate form in 20 instructions an
 * output (18 when the activation's upper bound is 127), where GCC's code
 * spills and takes about 30. The output offset
 * rides on the final rounding: ((t + 1) >> 1) + zp = (t + 1 + 2 zp) >> 1. */
__attribute__((naked, noinline, unused)) static void tml_requant_row_v7m(const int32_t *acc,
    int8_t *out, int32_t n, const tml_requant_row_args_t *args) {
    (void)acc;
    (void)out;
    (void)n;
    (void)args;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "add r5, r1, r2\n"
        "ldm r3, {r3, r4, r6, r7, r8}\n"
        "mov r2, #0x40000000\n"
        /* Activations with no upper bound below 127 (none, ReLU) clamp
         * with SSAT and one compare instead of two. */
        "cmp r8, #127\n"
        "beq 2f\n"
        "1:\n"
        TML_REQUANT_ROW_RESCALE
        "cmp r12, r7\n"
        "it lt\n"
        "movlt r12, r7\n"
        "cmp r12, r8\n"
        "it gt\n"
        "movgt r12, r8\n"
        "strb r12, [r1], #1\n"
        "cmp r1, r5\n"
        "bne 1b\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
        "2:\n"
        TML_REQUANT_ROW_RESCALE
        "ssat r12, #8, r12\n"
        "cmp r12, r7\n"
        "it lt\n"
        "movlt r12, r7\n"
        "strb r12, [r1], #1\n"
        "cmp r1, r5\n"
        "bne 2b\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#else
#define TML_ARCH_REQUANT_ROW (0)
#endif

#if !TML_ARCH_DSP && !TML_ARCH_V7M && !TML_ARCH_M0
/* acc[0] += w0 . x_pixel0, acc[1] += w1 . x_pixel0, acc[2] += w0 . x_pixel1,
 * acc[3] += w1 . x_pixel1 over len inputs in the int32 layout of
 * tml_xpair_prepare(): the portable form of the assembly loops above,
 * modulo 2^32 (the sums start from the bias, wrapping as TFLite's int32
 * does). */
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
#endif

/* tml_dot2x2() for the channel pairs k, k + 1 (k even, k < 2 * pairs),
 * channel k's weights at w + k * stride: acc_a[k] = src_a[k] + the sum
 * for pixel 0, acc_b[k] = src_b[k] + the sum for pixel 1 (a source may be
 * the accumulators themselves). */
TML_NOINLINE static void tml_dot2x2_channels(const tml_xpair_t *x, int32_t len, const int8_t *w,
    int32_t stride, int32_t pairs, const int32_t *src_a, const int32_t *src_b,
    int32_t *acc_a, int32_t *acc_b) {
#if defined(TML_V7M_CONV2_STEP) || TML_ARCH_M0
    /* The assembly loop takes whole steps; the few inputs after them (one
     * input, three at most on DSP cores) are added here. */
#if TML_ARCH_DSP
    const int32_t steps = len >> 2, done = 4 * steps;
    /* The last inputs: pixel 0's four slots then pixel 1's (tml_arch.h). */
    const tml_xpair_t *const xa = x + 8 * steps, *const xb = xa + 4;
    const int32_t x_step = 1;
#else
    const int32_t steps = len >> 1, done = 2 * steps;
    const tml_xpair_t *const xa = x + 2 * done, *const xb = xa + 1;
    const int32_t x_step = 2;
#endif
    if (pairs > 0 && steps > 0) {
#if TML_ARCH_M0
        tml_m0_conv2(x, steps, w, stride, pairs, acc_a, acc_b, src_a, src_b);
#else
        tml_v7m_conv2(x, steps, w, stride, pairs, acc_a, acc_b, src_a, src_b);
#endif
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
#else
    for (int32_t k = 0; k < 2 * pairs; k += 2, w += 2 * (size_t)stride) {
        int32_t acc[4] = {src_a[k], src_a[k + 1], src_b[k], src_b[k + 1]};
        tml_dot2x2(x, w, w + stride, len, acc);
        acc_a[k] = acc[0];
        acc_a[k + 1] = acc[1];
        acc_b[k] = acc[2];
        acc_b[k + 1] = acc[3];
    }
#endif
}

/* Depthwise weights widened once per layer (tml_dw_widen4()), so that the
 * per-pixel assembly loops (tml_dw_pixel_dsp(), tml_dw_pixel_v7m()) only
 * widen the inputs: on DSP cores the four weights of one tap as two words
 * of int16 lanes, (w0, w2) and (w1, w3), the pairs SXTB16 makes of the
 * inputs. TML_DW_WIDE_WORDS is the words per tap, 0 where weights are
 * read in place. */
#if TML_ARCH_DSP
#define TML_DW_WIDE_WORDS (2)

static inline void tml_dw_widen4(const int8_t *w, uint32_t *wide) {
    const uint32_t wv = tml_read_s8x4(w);
    wide[0] = __sxtb16(wv);
    wide[1] = tml_sxtb16_ror8(wv);
}

/* One depthwise output pixel, all n channels (a multiple of four, > 0),
 * taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] * w[t][c], the
 * weights widened into `wide` as [group of four channels][tap][2 words]
 * (tml_dw_widen4()). Per tap of a group: LDR the tap's address, LDR four
 * inputs, LDRD their widened weights, two SXTB16 and four 16x16 MACs; 11
 * instructions for 4 products where GCC's loop takes 13, and the loop over
 * the groups costs 9 more per four channels. Frame: [sp] tap, [sp + 4]
 * taps * 4, [sp + 8] n; folded and acc stacked above the nine saved
 * registers. */
__attribute__((naked, noinline, unused)) static void tml_dw_pixel_dsp(
    const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc) {
    (void)tap;
    (void)taps;
    (void)n;
    (void)wide;
    (void)folded;
    (void)acc;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "sub sp, sp, #12\n"
        "str r0, [sp]\n"
        "lsl r1, r1, #2\n"
        "str r1, [sp, #4]\n"
        "str r2, [sp, #8]\n"
        "mov r7, r3\n"
        "ldr r12, [sp, #48]\n"
        "ldr lr, [sp, #52]\n"
        "movs r6, #0\n"
        "2:\n"
        "ldmia r12!, {r0, r1, r2, r3}\n"
        "ldr r4, [sp]\n"
        "ldr r5, [sp, #4]\n"
        "add r5, r4, r5\n"
        "1:\n"
        "ldr r8, [r4], #4\n"
        "ldr r8, [r8, r6]\n"
        "ldrd r10, r11, [r7], #8\n"
        "sxtb16 r9, r8\n"
        "sxtb16 r8, r8, ror #8\n"
        "smlabb r0, r9, r10, r0\n"
        "smlatt r2, r9, r10, r2\n"
        "smlabb r1, r8, r11, r1\n"
        "smlatt r3, r8, r11, r3\n"
        "cmp r4, r5\n"
        "bne 1b\n"
        "stmia lr!, {r0, r1, r2, r3}\n"
        "add r6, r6, #4\n"
        "ldr r8, [sp, #8]\n"
        "cmp r6, r8\n"
        "blt 2b\n"
        "add sp, sp, #12\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}

#elif TML_ARCH_V7M
/* Cortex-M3: the four weights of one tap as int32, loaded by one LDM. */
#define TML_DW_WIDE_WORDS (4)

static inline void tml_dw_widen4(const int8_t *w, uint32_t *wide) {
    for (int32_t k = 0; k < 4; ++k) {
        wide[k] = (uint32_t)(int32_t)w[k];
    }
}

/* tml_dw_pixel_dsp() for Cortex-M3 (same arguments and layout, 4 words a
 * tap): per tap of a group, the tap's address, one LDM of the four
 * weights, four LDRSB and four MLA; 13 instructions for 4 products.
 * Frame: [sp] tap, [sp + 4] taps * 4, [sp + 8] n, [sp + 12] folded,
 * [sp + 16] acc. */
__attribute__((naked, noinline, unused)) static void tml_dw_pixel_v7m(
    const int8_t *const *tap, int32_t taps, int32_t n, const uint32_t *wide,
    const int32_t *folded, int32_t *acc) {
    (void)tap;
    (void)taps;
    (void)n;
    (void)wide;
    (void)folded;
    (void)acc;
    __asm__ volatile (
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "sub sp, sp, #20\n"
        "str r0, [sp]\n"
        "lsl r1, r1, #2\n"
        "str r1, [sp, #4]\n"
        "str r2, [sp, #8]\n"
        "mov r7, r3\n"
        "ldr r8, [sp, #56]\n"
        "str r8, [sp, #12]\n"
        "ldr r8, [sp, #60]\n"
        "str r8, [sp, #16]\n"
        "movs r6, #0\n"
        "2:\n"
        "ldr r8, [sp, #12]\n"
        "ldmia r8!, {r0, r1, r2, r3}\n"
        "str r8, [sp, #12]\n"
        "ldr r4, [sp]\n"
        "ldr r5, [sp, #4]\n"
        "add r5, r4, r5\n"
        "1:\n"
        "ldr r8, [r4], #4\n"
        "add r8, r8, r6\n"
        "ldmia r7!, {r10, r11, r12, lr}\n"
        "ldrsb r9, [r8]\n"
        "mla r0, r9, r10, r0\n"
        "ldrsb r9, [r8, #1]\n"
        "mla r1, r9, r11, r1\n"
        "ldrsb r9, [r8, #2]\n"
        "mla r2, r9, r12, r2\n"
        "ldrsb r9, [r8, #3]\n"
        "mla r3, r9, lr, r3\n"
        "cmp r4, r5\n"
        "bne 1b\n"
        "ldr r8, [sp, #16]\n"
        "stmia r8!, {r0, r1, r2, r3}\n"
        "str r8, [sp, #16]\n"
        "add r6, r6, #4\n"
        "ldr r8, [sp, #8]\n"
        "cmp r6, r8\n"
        "blt 2b\n"
        "add sp, sp, #20\n"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#else
#define TML_DW_WIDE_WORDS (0)
#endif

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

#endif /* TML_ARCH_H */
