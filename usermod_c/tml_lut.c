/* LUT: every per-tensor unary int8 op (LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU,
 * RELU*, requantising QUANTIZE ...) is a pure function of one int8 value, so
 * the converter tabulates it by running TFLite on all 256 inputs and this one
 * kernel replaces them all, bit exact by construction. */
#include "tml_kernels.h"

void tml_lut_s8(const int8_t *table, int32_t count, const int8_t *in, int8_t *out) {
    /* Reads element i before writing it, so in == out is fine. */
    for (int32_t i = 0; i < count; i++) {
        out[i] = table[(uint8_t)(in[i] + 128)];
    }
}

/* TFLite's int16 table lookup for the unary ops it tabulates itself (EXP,
 * LOG, RSQRT, GELU): the top 9 bits of the value pick one of 512 segments,
 * the low 7 interpolate linearly towards the next entry, rounding half up.
 * The converter reads TFLite's own table back, so the lookup is the whole
 * op. Reads element i before writing it: in may equal out. */
void tml_lut_s16(const int16_t *table, int32_t count, const int16_t *in, int16_t *out) {
    for (int32_t i = 0; i < count; i++) {
        /* Offset to 0..65535: the segment and the fraction are then the
         * top 9 and low 7 bits whatever the sign. */
        const int32_t v = in[i] + 32768;
        const int32_t segment = v >> 7;
        const int32_t fraction = v & 0x7f;
        const int32_t base = table[segment];
        const int32_t slope = table[segment + 1] - base;
        /* A negative slope shifts arithmetically, as in TFLite (the core
         * assumes it throughout, tml_requant.h). */
        out[i] = (int16_t)(base + ((slope * fraction + 64) >> 7));
    }
}
