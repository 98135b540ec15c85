/* The one place that picks the architecture path for the int8 dot products
 * all matrix-style kernels (CONV_2D, pointwise CONV_2D, FULLY_CONNECTED) are
 * built on. TML_ARCH_DSP is 1 when the compiler targets an Arm core with the
 * DSP extension (Cortex-M4/M7/M33 with DSP: SXTB16, SADD16, SMLAD), else the
 * portable C below is used. Defining TML_FORCE_PORTABLE selects the portable
 * path everywhere, so both paths can be built and compared on one machine.
 *
 * Both paths compute exactly the same integers: every product and partial
 * sum fits in int32 (see the overflow argument in tml_conv.c), so the order
 * of the additions cannot change the result.
 *
 * tml_dot4_s8() is the hot loop: four output channels share each input value,
 * so x + input_offset is formed once per four multiply-accumulates. */
#ifndef TML_ARCH_H
#define TML_ARCH_H

#include <stdint.h>
#include <string.h>

#if !defined(TML_FORCE_PORTABLE) && defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TML_ARCH_DSP (1)
#else
#define TML_ARCH_DSP (0)
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
#else
    /* Pointers walk (post-increment loads on Thumb-2); two inputs per
     * iteration halve the loop overhead without running out of registers. */
    const int8_t *xp = x;
    for (int32_t n = len >> 1; n > 0; --n) {
        const int32_t xa = *xp++ + input_offset;
        const int32_t xb = *xp++ + input_offset;
        a0 += *w0++ * xa;
        a1 += *w1++ * xa;
        a2 += *w2++ * xa;
        a3 += *w3++ * xa;
        a0 += *w0++ * xb;
        a1 += *w1++ * xb;
        a2 += *w2++ * xb;
        a3 += *w3++ * xb;
    }
    i = len & ~(int32_t)1;
    w0 -= i;
    w1 -= i;
    w2 -= i;
    w3 -= i;
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
#endif
    for (; i < len; ++i) {
        acc += w[i] * (x[i] + input_offset);
    }
    return acc;
}

#endif /* TML_ARCH_H */
