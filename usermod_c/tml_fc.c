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
 * INT32_MAX = 2147483647. Longer reductions are refused by the check.
 * The bias is an arbitrary int32 chosen by the quantiser;
 * it is added modulo 2^32, which is what TFLite's plain int32 addition does on
 * every target it runs on, without C's signed-overflow undefined behaviour.
 */
#include <stddef.h>
#include <string.h>
#include "tml_arch.h"
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* Outputs whose sums are collected while a long input row is taken piece
 * by piece. */
#define TML_FC_CHUNK (32)

/* acc already holds the bias (added modulo 2^32). */
static inline int8_t tml_fc_requant(uint32_t acc, int32_t multiplier, int32_t shift,
    int32_t lo, int32_t hi, int32_t output_offset) {
    const int32_t v = tml_multiply_by_quantized_multiplier_single_round((int32_t)acc, multiplier, shift);
    return (int8_t)(tml_clamp(v, lo, hi) + output_offset);
}

tml_status_t tml_fully_connected_check(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, int32_t out_features, const char **detail) {
    if (batches < 1 || in_features < 1 || out_features < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "empty batch, input or output");
    }
    if (in_features > TML_MAX_ACC_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "more than 65536 input features (int32 accumulator)");
    }
    if (q->channel_quant != 1 && q->channel_quant != out_features) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output features");
    }
    return tml_check_act_s8(p->act_min, p->act_max, detail);
}

/* The prepared input vector, TML_XVEC_MAX inputs at most (none on paths
 * that read the int8 input directly). */
uint32_t tml_fully_connected_scratch_size(int32_t in_features) {
    const uint32_t n = (uint32_t)(in_features < TML_XVEC_MAX ? in_features : TML_XVEC_MAX);
    return TML_XVEC_MAX == 1 ? 0u : (n * (uint32_t)sizeof(tml_xvec_t) + 7u) & ~7u;
}

void tml_fully_connected_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out, void *scratch) {
    /* Clamping before adding the output offset gives the same int8 result
     * and cannot overflow when the requantised value is near INT32_MAX. */
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t input_offset = q->input_offset;
    const int32_t step = q->channel_quant > 1 ? 1 : 0;

    const int32_t output_offset = q->output_offset;
    const int32_t *const multiplier = q->multiplier, *const shift = q->shift;
    /* The input vector is prepared (tml_arch.h) TML_XVEC_MAX inputs at a
     * time, once per row when it fits, else once per chunk of
     * TML_FC_CHUNK outputs whose sums are carried from piece to piece. */
    const int32_t piece = TML_XVEC_MAX == 1 ? in_features
        : (in_features < TML_XVEC_MAX ? in_features : TML_XVEC_MAX);
    const int once = piece == in_features;
    tml_xvec_t *const buf = (tml_xvec_t *)(void *)TML_SCRATCH(scratch);
    int32_t acc[TML_FC_CHUNK];

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * (size_t)in_features;
        const tml_xvec_t *xv = once ? tml_xvec_prepare(x, in_features, input_offset, buf) : NULL;
        for (int32_t o0 = 0; o0 < out_features; o0 += TML_FC_CHUNK) {
            const int32_t n = out_features - o0 < TML_FC_CHUNK ? out_features - o0 : TML_FC_CHUNK;
            memset(acc, 0, (size_t)n * sizeof(acc[0]));
            for (int32_t f0 = 0; f0 < in_features; f0 += piece) {
                const int32_t len = in_features - f0 < piece ? in_features - f0 : piece;
                if (!once) {
                    xv = tml_xvec_prepare(x + f0, len, input_offset, buf);
                }
                const int8_t *w = weights + (size_t)o0 * (size_t)in_features + (size_t)f0;
                /* Four output rows at a time share each input value. */
                const int32_t groups = n / 4;
                tml_dot4_groups_x(xv, len, w, in_features, groups, input_offset, acc);
                w += 4 * (size_t)groups * (size_t)in_features;
                for (int32_t k = 4 * groups; k < n; ++k, w += in_features) {
                    acc[k] += tml_dot1_x(xv, w, len, input_offset);
                }
            }
            /* One loop each way, not a bias test per output. */
            if (bias != NULL) {
                for (int32_t k = 0; k < n; ++k) {
                    const int32_t o = o0 + k;
                    out[o] = tml_fc_requant((uint32_t)acc[k] + (uint32_t)bias[o], multiplier[o * step],
                        shift[o * step], lo, hi, output_offset);
                }
            } else {
                for (int32_t k = 0; k < n; ++k) {
                    const int32_t o = o0 + k;
                    out[o] = tml_fc_requant((uint32_t)acc[k], multiplier[o * step], shift[o * step],
                        lo, hi, output_offset);
                }
            }
        }
        out += out_features;
    }
}
