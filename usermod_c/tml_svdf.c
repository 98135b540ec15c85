/* SVDF, TFLite's fully integer kernel (reference_ops::EvalIntegerSVDF): int8
 * input and output, int8 feature weights, int16 time weights and state,
 * bit for bit. The state holds the last `memory` feature values of every
 * filter; each invoke shifts it by one and appends the newest. */
#include <string.h>

#include "tml_kernels.h"
#include "tml_requant.h"

tml_status_t tml_svdf_check(tml_svdf_params_t *p, const tml_dims_t *in, const tml_dims_t *state,
    const tml_dims_t *out, const char **detail) {
    /* Input [batch][inputs], state [batch][memory * filters], output [batch][units]. */
    if (in->n != 1 || in->h != 1 || state->n != 1 || state->h != 1 || out->n != 1 || out->h != 1) {
        *detail = "SVDF operands are not 2-D";
        return TML_ERR_BAD_SHAPE;
    }
    p->n_batch = in->w;
    p->n_input = in->c;
    p->n_unit = out->c;
    if (state->w != p->n_batch || out->w != p->n_batch) {
        *detail = "SVDF input, state and output batches differ";
        return TML_ERR_BAD_SHAPE;
    }
    if (p->rank < 1 || p->rank > 65535 || p->n_unit > 65535 / p->rank) {
        *detail = "SVDF rank outside 1..65535, or units x rank above 65535";
        return TML_ERR_BAD_PARAM;
    }
    p->n_filter = p->n_unit * p->rank;
    if (state->c % p->n_filter != 0) {
        *detail = "SVDF state is not memory x filters per batch";
        return TML_ERR_BAD_SHAPE;
    }
    p->n_memory = state->c / p->n_filter;
    return TML_OK;
}

void tml_svdf_s8(const tml_svdf_params_t *p, const int8_t *input, int32_t input_zp, int16_t *state,
    int8_t *output, int32_t output_zp) {
    const int32_t filters = p->n_filter, memory = p->n_memory;
    const int32_t total = p->n_batch * memory * filters;
    memmove(state, state + 1, (size_t)(total - 1) * sizeof(int16_t));
    for (int32_t b = 0; b < p->n_batch; b++) {
        const int8_t *x = input + b * p->n_input;
        int16_t *s = state + b * memory * filters;
        const int8_t *w = p->weights_feature;
        for (int32_t f = 0; f < filters; f++) {
            /* Unsigned: the sums wrap as TFLite's int32 ones do, defined C
             * whatever a hostile blob holds. */
            uint32_t sum = 0;
            for (int32_t c = 0; c < p->n_input; c++) {
                sum += (uint32_t)((int32_t)*w++ * ((int32_t)x[c] - input_zp));
            }
            const int32_t dot = tml_multiply_by_quantized_multiplier((int32_t)sum, p->feature_multiplier,
                p->feature_shift);
            s[f * memory + memory - 1] = (int16_t)tml_clamp(dot, INT16_MIN, INT16_MAX);
        }
        /* Time weights against each filter's memory, summed over the rank
         * (unsigned: TFLite's int32 sums wrap). */
        for (int32_t u = 0; u < p->n_unit; u++) {
            uint32_t acc = p->bias ? (uint32_t)p->bias[u] : 0u;
            for (int32_t r = 0; r < p->rank; r++) {
                const int32_t f = u * p->rank + r;
                const int16_t *wt = p->weights_time + f * memory;
                const int16_t *sf = s + f * memory;
                uint32_t dot = 0;
                for (int32_t k = 0; k < memory; k++) {
                    dot += (uint32_t)((int32_t)wt[k] * sf[k]);
                }
                acc += dot;
            }
            const int32_t v = tml_add_wrap(tml_multiply_by_quantized_multiplier((int32_t)acc,
                p->time_multiplier, p->time_shift), output_zp);
            output[b * p->n_unit + u] = (int8_t)tml_clamp(v, -128, 127);
        }
    }
}
