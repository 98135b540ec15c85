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

static inline int8_t tml_fc_requant(int32_t acc, int32_t multiplier, int32_t shift,
    int32_t lo, int32_t hi, int32_t output_offset) {
    const int32_t v = tml_multiply_by_quantized_multiplier_single_round(acc, multiplier, shift);
    return (int8_t)(tml_clamp(v, lo, hi) + output_offset);
}

/* out[k] for k < n from the sums acc[k] plus bias[k] (added modulo 2^32;
 * no bias: NULL), channel k's multiplier and shift at [k * step]; `mode`
 * is tml_fc_rescale_mode(). */
static inline void tml_fc_requant_chunk(const int32_t *acc, const int32_t *bias, int32_t n,
    const int32_t *multiplier, const int32_t *shift, int32_t step, int mode, int32_t lo, int32_t hi,
    int32_t output_offset, int8_t *out) {
#if TML_ARCH_V7M || TML_ARCH_DSP
    if (tml_rescale_folds(mode, hi, output_offset)) {
        const tml_requant_fc_args_t args = {bias, multiplier, shift, 4 * step, 2 * output_offset + 1,
            lo + output_offset};
        tml_requant_fc_v7m(acc, out, n, &args);
        return;
    }
#else
    (void)mode;
#endif
    /* One loop each way, not a bias test per output. */
    if (bias != NULL) {
        for (int32_t k = 0; k < n; ++k) {
            const int32_t sum = (int32_t)((uint32_t)acc[k] + (uint32_t)bias[k]);
            out[k] = tml_fc_requant(sum, multiplier[k * step], shift[k * step], lo, hi, output_offset);
        }
    } else {
        for (int32_t k = 0; k < n; ++k) {
            out[k] = tml_fc_requant(acc[k], multiplier[k * step], shift[k * step], lo, hi, output_offset);
        }
    }
}

/* tml_fc_requant_chunk()'s `mode` where it uses one. */
static int tml_fc_rescale_mode(const tml_requant_t *q) {
#if TML_ARCH_V7M || TML_ARCH_DSP
    return tml_rescale_mode(q);
#else
    (void)q;
    return TML_RESCALE_ANY;
#endif
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
    const int mode = tml_fc_rescale_mode(q);
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
            tml_fc_requant_chunk(acc, bias != NULL ? bias + o0 : NULL, n, multiplier + o0 * step,
                shift + o0 * step, step, mode, lo, hi, output_offset, out + o0);
        }
        out += out_features;
    }
}

/* ---- weights pre-widened to int16 (FULLY_CONNECTED_W16) ----------------
 *
 * The converter's --fc-weights int16 stores each weight as int16, rows in
 * groups of four and inputs in blocks of four, both zero-padded to a
 * multiple of four: group by group, block by block, the four rows' blocks
 * one after the other, each block's weights in the order w0 w2 w1 w3. That
 * is the lane order in which tml_xvec_prepare() leaves the inputs, so a
 * word of weights meets a word of inputs in one SMLAD with nothing to
 * widen: twice the weight bytes for about half the instructions on the
 * DSP path. Other paths read the same layout in plain C. */

uint64_t tml_fully_connected_w16_weight_bytes(int32_t in_features, int32_t out_features) {
    return 2u * (uint64_t)TML_FC_W16_PAD(out_features) * (uint64_t)TML_FC_W16_PAD(in_features);
}

uint32_t tml_fully_connected_w16_scratch_size(int32_t in_features) {
#if TML_ARCH_DSP
    const int32_t n = in_features < TML_XVEC_MAX ? in_features : TML_XVEC_MAX;
    return ((uint32_t)TML_FC_W16_PAD(n) * (uint32_t)sizeof(tml_xvec_t) + 7u) & ~7u;
#else
    (void)in_features;
    return 0;
#endif
}

#if TML_ARCH_DSP
/* acc[k] += row k . x for the 4 * groups rows whose first block is at w
 * (group_stride int16 from one group to the next) over the first len
 * inputs of x, prepared here piece by piece into buf. */
static void tml_fc_w16_groups(const int8_t *x, int32_t len, int32_t input_offset, const int16_t *w,
    int32_t group_stride, int32_t groups, int32_t *acc, void *scratch) {
    tml_xvec_t *const buf = (tml_xvec_t *)scratch;
    for (int32_t f0 = 0; f0 < len; f0 += TML_XVEC_MAX) {
        const int32_t n = len - f0 < TML_XVEC_MAX ? len - f0 : TML_XVEC_MAX;
        tml_xvec_prepare_padded(x + f0, n, input_offset, buf);
        tml_dsp_fc4_w16(buf, TML_FC_W16_PAD(n) / 4, w + 4 * f0, 2 * group_stride, groups, acc);
    }
}
#else
static void tml_fc_w16_groups(const int8_t *x, int32_t len, int32_t input_offset, const int16_t *w,
    int32_t group_stride, int32_t groups, int32_t *acc, void *scratch) {
    (void)scratch;
    for (int32_t g = 0; g < groups; ++g, w += group_stride, acc += 4) {
        const int16_t *wb = w;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int32_t i = 0; i < len; i += 4, wb += 16) {
            /* The block's inputs in the weights' lane order (x0 x2 x1
             * x3); past len, zeros (they meet zero weights). */
            int32_t l0, l1, l2, l3;
            if (i + 4 <= len) {
                l0 = x[i] + input_offset;
                l1 = x[i + 2] + input_offset;
                l2 = x[i + 1] + input_offset;
                l3 = x[i + 3] + input_offset;
            } else {
                l0 = x[i] + input_offset;
                l1 = i + 2 < len ? x[i + 2] + input_offset : 0;
                l2 = i + 1 < len ? x[i + 1] + input_offset : 0;
                l3 = 0;
            }
            a0 += wb[0] * l0 + wb[1] * l1 + wb[2] * l2 + wb[3] * l3;
            a1 += wb[4] * l0 + wb[5] * l1 + wb[6] * l2 + wb[7] * l3;
            a2 += wb[8] * l0 + wb[9] * l1 + wb[10] * l2 + wb[11] * l3;
            a3 += wb[12] * l0 + wb[13] * l1 + wb[14] * l2 + wb[15] * l3;
        }
        acc[0] += a0;
        acc[1] += a1;
        acc[2] += a2;
        acc[3] += a3;
    }
}
#endif

/* ---- two rows a word (FULLY_CONNECTED_PAIRS) ---------------------------
 *
 * The converter's --fc-weights pairs stores rows in groups of six (zero
 * rows pad the last), group by group, input by input, the three words
 * w[2j][i] + w[2j + 1][i] * 2^23 (j < 3) of the group's rows; and the bias
 * as bias + input_offset * sum_i w[o][i] (modulo 2^32), so the products
 * take the raw int8 inputs. One SMLAL multiplies an input into a word: its
 * 64-bit sum holds both rows' dot products, the first in the low 23 bits
 * while it stays under 2^22 in size (TML_FC_PAIRS_PIECE inputs of at most
 * 128 * 128), the second above: two products an instruction on the
 * Cortex-M3, with no widening. Other paths take the words apart in C. */

uint64_t tml_fully_connected_pairs_weight_bytes(int32_t in_features, int32_t out_features) {
    /* In 32 bits: a 64-bit division would pull in a library routine. */
    const uint32_t groups = ((uint32_t)out_features + TML_FC_PAIRS_ROWS - 1u) / TML_FC_PAIRS_ROWS;
    return (uint64_t)groups * (TML_FC_PAIRS_ROWS / 2u) * 4u * (uint64_t)in_features;
}

/* Outputs rescaled together: whole groups. */
#define TML_FC_PAIRS_CHUNK (6 * TML_FC_PAIRS_ROWS)

#if TML_ARCH_V7M || TML_ARCH_DSP
#define tml_fc_pairs_groups tml_fc_pairs_v7m
#else
/* acc[6g + r] = row r of group g . x over len inputs, for g < groups, the
 * groups' words from w on. */
static void tml_fc_pairs_groups(const int8_t *x, int32_t len, const uint32_t *w, int32_t groups,
    int32_t *acc) {
    for (int32_t g = 0; g < groups; ++g, acc += TML_FC_PAIRS_ROWS) {
        int32_t sum[TML_FC_PAIRS_ROWS] = {0, 0, 0, 0, 0, 0};
        for (int32_t i = 0; i < len; ++i, w += TML_FC_PAIRS_ROWS / 2) {
            const int32_t xi = x[i];
            for (int32_t j = 0; j < TML_FC_PAIRS_ROWS / 2; ++j) {
                /* The low field sign-extended from 23 bits; the high
                 * one rounded, the low being far under 2^22 in size
                 * (arithmetic shifts, as everywhere in the core). */
                const int32_t lo = (int32_t)(w[j] << 9) >> 9;
                const int32_t hi = (int32_t)(w[j] + 0x400000u) >> 23;
                sum[2 * j] += lo * xi;
                sum[2 * j + 1] += hi * xi;
            }
        }
        memcpy(acc, sum, sizeof(sum));
    }
}
#endif

void tml_fully_connected_pairs_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const uint32_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out) {
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    const int mode = tml_fc_rescale_mode(q);
    const size_t group_words = (TML_FC_PAIRS_ROWS / 2) * (size_t)in_features;
    int32_t acc[TML_FC_PAIRS_CHUNK];

    for (int32_t b = 0; b < batches; ++b, in += in_features, out += out_features) {
        for (int32_t o0 = 0; o0 < out_features; o0 += TML_FC_PAIRS_CHUNK) {
            const int32_t n = out_features - o0 < TML_FC_PAIRS_CHUNK ? out_features - o0 : TML_FC_PAIRS_CHUNK;
            const int32_t groups = (n + TML_FC_PAIRS_ROWS - 1) / TML_FC_PAIRS_ROWS;
            memset(acc, 0, sizeof(acc));
            tml_fc_pairs_groups(in, in_features, weights + (size_t)(o0 / TML_FC_PAIRS_ROWS) * group_words,
                groups, acc);
            tml_fc_requant_chunk(acc, bias != NULL ? bias + o0 : NULL, n, q->multiplier + o0 * step,
                q->shift + o0 * step, step, mode, lo, hi, q->output_offset, out + o0);
        }
    }
}

void tml_fully_connected_w16_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int16_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out, void *scratch) {
    const int32_t lo = p->act_min - q->output_offset;
    const int32_t hi = p->act_max - q->output_offset;
    const int32_t step = q->channel_quant > 1 ? 1 : 0;
    const int mode = tml_fc_rescale_mode(q);
    const int32_t group_stride = 4 * TML_FC_W16_PAD(in_features);
    int32_t acc[TML_FC_CHUNK];

    for (int32_t b = 0; b < batches; ++b, in += in_features, out += out_features) {
        for (int32_t o0 = 0; o0 < out_features; o0 += TML_FC_CHUNK) {
            const int32_t n = out_features - o0 < TML_FC_CHUNK ? out_features - o0 : TML_FC_CHUNK;
            const int32_t groups = TML_FC_W16_PAD(n) / 4;
            memset(acc, 0, sizeof(acc));
            tml_fc_w16_groups(in, in_features, q->input_offset, weights + (size_t)(o0 / 4) * (size_t)group_stride,
                group_stride, groups, acc, (void *)TML_SCRATCH(scratch));
            tml_fc_requant_chunk(acc, bias != NULL ? bias + o0 : NULL, n, q->multiplier + o0 * step,
                q->shift + o0 * step, step, mode, lo, hi, q->output_offset, out + o0);
        }
    }
}
