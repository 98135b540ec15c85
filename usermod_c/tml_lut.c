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
