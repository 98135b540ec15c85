/* x86-64 (the unix port, the host tests, the x64 native module): SSE2 is
 * part of the base ISA, and PMADDWD is SMLAD four lanes wide. GCC at -O2
 * leaves the portable int8 dot products unvectorised, which put the host's
 * FULLY_CONNECTED at 1.5x TFLite's reference kernels; these replace them,
 * and everything else is the portable C. CONV_2D takes one pixel at a time
 * here (tml_conv.c), where this loop is faster than the pairs. */
#ifndef TML_ARCH_SSE2_H
#define TML_ARCH_SSE2_H

#include <stdint.h>
#include <emmintrin.h>
#include "tml_arch_tails.h"

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

#define TML_ARCH_HAS_DOT_S8 (1)

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
    tml_dot4_tail_s8(x, w0, w1, w2, w3, i, len, input_offset, a0, a1, a2, a3, acc);
}

/* One output channel: sum_{i < len} w[i] * (x[i] + input_offset). */
static inline int32_t tml_dot1_s8(const int8_t *x, const int8_t *w, int32_t len,
    int32_t input_offset) {
    int32_t i = 0;
    const __m128i offset8 = _mm_set1_epi16((int16_t)input_offset);
    __m128i s = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16) {
        __m128i xlo, xhi;
        tml_sse_load_s8x16(x + i, &xlo, &xhi);
        s = tml_sse_mac16(s, w + i, _mm_add_epi16(xlo, offset8), _mm_add_epi16(xhi, offset8));
    }
    int32_t acc = tml_sse_hsum(s);
    for (; i < len; ++i) {
        acc += w[i] * (x[i] + input_offset);
    }
    return acc;
}

#include "tml_arch_portable.h"

#endif /* TML_ARCH_SSE2_H */
