/* FULLY_CONNECTED, int8, bit-exact with TFLite 2.21's reference kernel
 * (BUILTIN_REF), per-tensor and per-channel.
 *
 * out[b][o] = clamp(requant(bias[o] + sum_i w[o][i] * (in[b][i] + input_offset)) + output_offset)
 *
 * Unlike the convolutions, TFLite rescales FULLY_CONNECTED with a single
 * rounding (tml_multiply_by_quantized_multiplier_single_round); with the
 * double rounding about 0.2% of outputs come out one too high or low.
 *
 * Weights are symmetric int8 (zero point 0, as TFLite requires for int8
 * filters), so no weights offset appears.
 *
 * Why the int32 accumulator cannot overflow: input values and zero points are
 * int8, so |in + input_offset| <= 255; weights are int8, so |w| <= 128 (TFLite
 * itself emits [-127, 127]). One product is at most 255 * 128 = 32640 in
 * magnitude, and TML_MAX_ACC_TERMS = 65536 of them at most 2139095040, below
 * INT32_MAX = 2147483647. Longer reductions are refused with
 * TML_ERR_BAD_PARAM. The bias is an arbitrary int32 chosen by the quantiser;
 * it is added modulo 2^32, which is what TFLite's plain int32 addition does on
 * every target it runs on, without C's signed-overflow undefined behaviour.
 */
#include <stddef.h>
#include "tml_arch.h"
#include "tml_kernels.h"
#include "tml_requant.h"

#define TML_MAX_ACC_TERMS (65536)

static inline int8_t tml_fc_requant(int32_t acc, const int32_t *bias, int32_t o,
    int32_t multiplier, int32_t shift, int32_t lo, int32_t hi, int32_t output_offset) {
    if (bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)bias[o]);
    }
    acc = tml_multiply_by_quantized_multiplier_single_round(acc, multiplier, shift);
    return (int8_t)(tml_clamp(acc, lo, hi) + output_offset);
}

tml_status_t tml_fully_connected_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out) {
    if (batches < 0 || in_features < 1 || out_features < 1) {
        return TML_ERR_BAD_SHAPE;
    }
    if (in_features > TML_MAX_ACC_TERMS) {
        return TML_ERR_BAD_PARAM;
    }
    if (q->channel_quant != p->channel_quant
        || (q->channel_quant != 1 && q->channel_quant != out_features)) {
        return TML_ERR_BAD_PARAM;
    }
    if (p->act_min > p->act_max || p->act_min < INT8_MIN || p->act_max > INT8_MAX) {
        return TML_ERR_BAD_PARAM;
    }

    /* Clamping before adding the output offset gives the same int8 result
     * and cannot overflow when the requantised value is near INT32_MAX. */
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t input_offset = q->input_offset;
    const int32_t step = q->channel_quant > 1 ? 1 : 0;

    const int32_t output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shift = q->shift;
    /* The prepared input vector (tml_arch.h) when the row fits it, else the
     * int8 row with the offset added in the loop. */
    const int prepared = TML_XVEC_MAX == 1 || in_features <= TML_XVEC_MAX;
    tml_xvec_t buf[TML_XVEC_MAX];

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)in_features;
        const tml_xvec_t *xv = prepared ? tml_xvec_prepare(x, in_features, input_offset, buf) : NULL;
        /* Four output rows at a time share each input value (tml_arch.h). */
        int32_t o = 0;
        for (; o + 4 <= out_features; o += 4) {
            int32_t acc[4] = {0, 0, 0, 0};
            const int8_t *w = weights + (size_t)o * (size_t)in_features;
            if (prepared) {
                tml_dot4_x(xv, w, in_features, in_features, input_offset, acc);
            } else {
                tml_dot4_s8(x, w, in_features, in_features, input_offset, acc);
            }
            for (int32_t k = 0; k < 4; ++k) {
                out[o + k] = tml_fc_requant(acc[k], bias, o + k, multiplier[(o + k) * step],
                    shift[(o + k) * step], lo, hi, output_offset);
            }
        }
        for (; o < out_features; ++o) {
            const int8_t *w = weights + (size_t)o * (size_t)in_features;
            const int32_t acc = prepared ? tml_dot1_x(xv, w, in_features, input_offset)
                : tml_dot1_s8(x, w, in_features, input_offset);
            out[o] = tml_fc_requant(acc, bias, o, multiplier[o * step], shift[o * step],
                lo, hi, output_offset);
        }
        out += out_features;
    }
    return TML_OK;
}
