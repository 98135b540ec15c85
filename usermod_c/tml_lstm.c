/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLite's integer kernel (int8 input and output,
 * int16 gates and cell state: lstm_eval.cc's EvalInteger8x8_16 with the
 * portable tensor_utils), bit for bit.
 *
 * Every rescale is MultiplyByQuantizedMultiplier (double rounding); the gate
 * activations are gemmlowp's int16 fixed-point logistic and tanh, written
 * out below for the integer formats the kernel uses. int16 sums that
 * gemmlowp leaves to wrap (its FixedPoint +, - and negation on int16) wrap
 * here too, through tml_wrap16(). */
#include <string.h>

#include "tml_arch.h"
#include "tml_kernels.h"
#include "tml_requant.h"

static inline int16_t tml_wrap16(int32_t x) {
    return (int16_t)((int32_t)(((uint32_t)x & 0xFFFFu) ^ 0x8000u) - 0x8000);
}

static inline int16_t tml_sat16(int32_t x) {
    return (int16_t)(x < -32768 ? -32768 : (x > 32767 ? 32767 : x));
}

/* gemmlowp's SaturatingRoundingDoublingHighMul on int16: Qa * Qb -> Q(a + b). */
static inline int16_t tml_fp16_mul(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * b + (1 << 14)) >> 15);
}

static inline int16_t tml_fp16_rounding_half_sum(int16_t a, int16_t b) {
    const int32_t sum = (int32_t)a + b;
    /* C division truncates like gemmlowp's. */
    return (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* x * 2^exponent, exponent in [1, 14], saturating to int16. */
static inline int16_t tml_fp16_shift_left(int16_t x, int32_t exponent) {
    const int32_t threshold = (1 << (15 - exponent)) - 1;
    if (x > threshold) {
        return INT16_MAX;
    }
    if (x < -threshold) {
        return INT16_MIN;
    }
    return (int16_t)(x * (1 << exponent));
}

static inline int16_t tml_fp16_rounding_divide_by_pot(int16_t x, int32_t exponent) {
    return (int16_t)tml_rounding_divide_by_pot(x, exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.15 in and out (gemmlowp's Taylor series around
 * -1/8, with its int32 constants rounded to 16 bits). */
static int16_t tml_fp16_exp_on_interval_minus_quarter_to_0(int16_t a) {
    const int16_t exp_minus_one_eighth = 28918; /* RoundingDivideByPOT(1895147668, 16) */
    const int16_t one_third = 10923;            /* RoundingDivideByPOT(715827883, 16) */
    const int16_t x = tml_wrap16(a + (1 << 12));
    const int16_t x2 = tml_fp16_mul(x, x);
    const int16_t x3 = tml_fp16_mul(x2, x);
    const int16_t x4 = tml_fp16_mul(x2, x2);
    const int16_t x4_over_4 = tml_fp16_rounding_divide_by_pot(x4, 2);
    const int16_t poly = tml_fp16_rounding_divide_by_pot(
        tml_wrap16(tml_fp16_mul(tml_wrap16(x4_over_4 + x3), one_third) + x2), 1);
    return tml_sat16(exp_minus_one_eighth + tml_fp16_mul(exp_minus_one_eighth, tml_wrap16(x + poly)));
}

/* exp(a) for a <= 0 in Q(integer_bits), integer_bits in [0, 12]; Q0.15 out. */
static int16_t tml_fp16_exp_on_negative_values(int16_t a, int32_t integer_bits) {
    /* exp(-2^k) for k = -2 .. 4, gemmlowp's Q0.31 constants rounded to 16 bits. */
    static const int16_t exp_of_minus_pot[7] = {25520, 19875, 12055, 4435, 600, 11, 0};
    const int32_t fractional_bits = 15 - integer_bits;
    const int16_t one_quarter = (int16_t)(1 << (fractional_bits - 2));
    const int16_t a_mod_quarter_minus_quarter = tml_wrap16((a & (one_quarter - 1)) - one_quarter);
    const int16_t rescaled = integer_bits == 0 ? a_mod_quarter_minus_quarter
        : tml_fp16_shift_left(a_mod_quarter_minus_quarter, integer_bits);
    int16_t result = tml_fp16_exp_on_interval_minus_quarter_to_0(rescaled);
    const uint16_t remainder = (uint16_t)tml_wrap16(a_mod_quarter_minus_quarter - a);
    for (int32_t k = -2; k <= 4; k++) {
        if (integer_bits > k && ((remainder >> (fractional_bits + k)) & 1u)) {
            result = tml_fp16_mul(result, exp_of_minus_pot[k + 2]);
        }
    }
    if (integer_bits > 5) {
        /* -32 in Q(integer_bits): exp below it is 0. */
        const int16_t clamp = (int16_t)-(1 << (20 - integer_bits));
        if (a < clamp) {
            result = 0;
        }
    }
    return a == 0 ? INT16_MAX : result;
}

/* Newton-Raphson on the half denominator (1 + a) / 2, in Q2.13; a in Q0.15.
 * Returns x ~ 1 / half_denominator. */
static int16_t tml_fp16_reciprocal_half_denominator(int16_t half_denominator) {
    const int16_t c48_over_17 = 23130;      /* RoundingDivideByPOT(1515870810, 16) */
    const int16_t c_neg_32_over_17 = -15420; /* RoundingDivideByPOT(-1010580540, 16) */
    const int16_t one_q2 = 1 << 13;
    int16_t x = tml_wrap16(c48_over_17 + tml_fp16_mul(half_denominator, c_neg_32_over_17));
    for (int i = 0; i < 3; i++) {
        const int16_t one_minus = tml_wrap16(one_q2 - tml_fp16_mul(half_denominator, x));
        x = tml_wrap16(x + tml_fp16_shift_left(tml_fp16_mul(x, one_minus), 2));
    }
    return x;
}

/* logistic(a), a in Q(integer_bits), result Q0.15. */
static int16_t tml_fp16_logistic(int16_t a, int32_t integer_bits) {
    if (a == 0) {
        return 1 << 14;
    }
    const int16_t abs_a = a > 0 ? a : tml_wrap16(-a);
    const int16_t e = tml_fp16_exp_on_negative_values(tml_wrap16(-abs_a), integer_bits);
    const int16_t x = tml_fp16_reciprocal_half_denominator(tml_fp16_rounding_half_sum(e, INT16_MAX));
    /* 1 / (1 + e) = x / 2: the same raw bits read as Q1, rescaled to Q0. */
    const int16_t positive = tml_fp16_shift_left(x, 1);
    return a > 0 ? positive : tml_wrap16(INT16_MAX - positive);
}

/* tanh(a), a in Q(integer_bits), result Q0.15. */
static int16_t tml_fp16_tanh(int16_t a, int32_t integer_bits) {
    if (a == 0) {
        return 0;
    }
    const int16_t n = a < 0 ? a : tml_wrap16(-a);
    /* exp(2n): the same raw value read with one more integer bit. */
    const int16_t e = tml_fp16_exp_on_negative_values(n, integer_bits + 1);
    const int16_t x = tml_fp16_reciprocal_half_denominator(tml_fp16_rounding_half_sum(e, INT16_MAX));
    /* (1 - e) / (1 + e) = x - 1, Q2 rescaled to Q0. */
    const int16_t t = tml_fp16_shift_left(tml_wrap16(x - (1 << 13)), 2);
    return a < 0 ? tml_wrap16(-t) : t;
}

/* ---- the pieces of one step ----------------------------------------------- */

static void tml_lstm_acc16(int16_t *gate, int32_t sum, int32_t bias, const int32_t *rescale) {
    /* The zero points are folded into the bias (the converter's effective bias). */
    const int32_t v = tml_multiply_by_quantized_multiplier(tml_add_wrap(sum, bias), rescale[0],
        rescale[1]);
    *gate = tml_sat16(tml_add_wrap(v, *gate));
}

/* gate[b][r] = sat16(gate[b][r] + rescale(bias[r] + sum_c x[b][c] w[r][c])):
 * FULLY_CONNECTED's shape, on its four-row dot products. */
static void tml_lstm_matmul_acc16(const int8_t *x, int32_t n_batch, int32_t depth, const int8_t *w,
    const int32_t *bias, int32_t rows, const int32_t *rescale, int16_t *gate) {
    for (int32_t b = 0; b < n_batch; b++) {
        const int8_t *xb = x + b * depth;
        int16_t *g = gate + b * rows;
        int32_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            int32_t acc[4] = {0, 0, 0, 0};
            tml_dot4_s8(xb, w + r * depth, depth, depth, 0, acc);
            for (int32_t k = 0; k < 4; k++) {
                tml_lstm_acc16(&g[r + k], acc[k], bias[r + k], rescale);
            }
        }
        for (; r < rows; r++) {
            tml_lstm_acc16(&g[r], tml_dot1_s8(xb, w + r * depth, depth, 0), bias[r], rescale);
        }
    }
}

typedef struct {
    const int8_t *w_input, *w_recurrent;
    const int32_t *bias_input, *bias_recurrent;
    const int32_t *rescale;   /* input, recurrent, cell: (multiplier, shift) each */
    const int16_t *peephole;  /* NULL: none */
} tml_lstm_gate_t;

/* Offsets into the constant block; see docs/blob-format.md. */
static uint32_t tml_lstm_pad4(uint32_t n) {
    return (n + 3u) & ~3u;
}

static int tml_lstm_gate_count(const tml_lstm_params_t *p) {
    return (p->flags & TML_LSTM_CIFG) ? 3 : 4;
}

uint32_t tml_lstm_constants_size(const tml_lstm_params_t *p) {
    const uint32_t gates = (uint32_t)tml_lstm_gate_count(p);
    const uint32_t cell = (uint32_t)p->n_cell, out = (uint32_t)p->n_output;
    uint32_t size = TML_LSTM_RESCALES * 8u + gates * 2u * cell * 4u;
    if (p->flags & TML_LSTM_PROJECTION) {
        size += out * 4u + tml_lstm_pad4(out * cell);
    }
    if (p->flags & TML_LSTM_PEEPHOLE) {
        size += tml_lstm_pad4((gates - 1u) * cell * 2u);
    }
    size += gates * (tml_lstm_pad4(cell * (uint32_t)p->n_input) + tml_lstm_pad4(cell * out));
    return size;
}

/* The gate g (0 input, 1 forget, 2 cell, 3 output) of a CIFG LSTM skips 0. */
static tml_lstm_gate_t tml_lstm_gate(const tml_lstm_params_t *p, int32_t g) {
    const uint8_t *base = p->constants;
    const int32_t *rescale = (const int32_t *)(const void *)base;
    const uint32_t gates = (uint32_t)tml_lstm_gate_count(p);
    const uint32_t k = (uint32_t)g - (gates == 3u ? 1u : 0u);
    const uint32_t cell = (uint32_t)p->n_cell, out = (uint32_t)p->n_output;
    tml_lstm_gate_t r;
    r.rescale = rescale + 6 * g;
    uint32_t pos = TML_LSTM_RESCALES * 8u;
    r.bias_input = (const int32_t *)(const void *)(base + pos + k * 2u * cell * 4u);
    r.bias_recurrent = r.bias_input + cell;
    pos += gates * 2u * cell * 4u;
    if (p->flags & TML_LSTM_PROJECTION) {
        pos += out * 4u;
    }
    r.peephole = 0;
    if (p->flags & TML_LSTM_PEEPHOLE) {
        /* cell_to_input (unless CIFG), cell_to_forget, cell_to_output. */
        if (g != 2) {
            const uint32_t j = (g == 3 ? gates - 2u : k);
            r.peephole = (const int16_t *)(const void *)(base + pos + j * cell * 2u);
        }
        pos += tml_lstm_pad4((gates - 1u) * cell * 2u);
    }
    const uint32_t in_bytes = tml_lstm_pad4(cell * (uint32_t)p->n_input);
    r.w_input = (const int8_t *)(base + pos + k * in_bytes);
    pos += gates * in_bytes;
    r.w_recurrent = (const int8_t *)(base + pos + k * tml_lstm_pad4(cell * out));
    return r;
}

static void tml_lstm_projection(const tml_lstm_params_t *p, const int32_t **bias, const int8_t **weights,
    const int32_t **rescale) {
    const uint8_t *base = p->constants;
    const uint32_t gates = (uint32_t)tml_lstm_gate_count(p);
    const uint32_t cell = (uint32_t)p->n_cell, out = (uint32_t)p->n_output;
    uint32_t pos = TML_LSTM_RESCALES * 8u + gates * 2u * cell * 4u;
    *bias = (const int32_t *)(const void *)(base + pos);
    pos += out * 4u;
    if (p->flags & TML_LSTM_PEEPHOLE) {
        pos += tml_lstm_pad4((gates - 1u) * cell * 2u);
    }
    pos += gates * (tml_lstm_pad4(cell * (uint32_t)p->n_input) + tml_lstm_pad4(cell * out));
    *weights = (const int8_t *)(base + pos);
    *rescale = (const int32_t *)(const void *)base + 2 * TML_LSTM_RESCALE_PROJECTION;
}

/* CalculateLstmGateInteger8x8_16 without layer norm. */
static void tml_lstm_gate_run(const tml_lstm_params_t *p, int32_t g, int32_t n_batch, const int8_t *input,
    const int8_t *output_state, const int16_t *cell_state, int16_t *gate) {
    const tml_lstm_gate_t k = tml_lstm_gate(p, g);
    const int32_t cells = n_batch * p->n_cell;
    memset(gate, 0, (size_t)cells * sizeof(int16_t));
    tml_lstm_matmul_acc16(input, n_batch, p->n_input, k.w_input, k.bias_input, p->n_cell, k.rescale, gate);
    tml_lstm_matmul_acc16(output_state, n_batch, p->n_output, k.w_recurrent, k.bias_recurrent, p->n_cell,
        k.rescale + 2, gate);
    if (k.peephole) {
        /* TFLite walks n_output weights per batch here, not n_cell (the
         * check keeps n_output <= n_cell with peepholes). */
        const int32_t n = n_batch * p->n_output;
        for (int32_t i = 0; i < n; i++) {
            const int32_t prod = tml_multiply_by_quantized_multiplier(
                (int32_t)k.peephole[i % p->n_output] * cell_state[i], k.rescale[4], k.rescale[5]);
            gate[i] = tml_sat16(tml_add_wrap(prod, gate[i]));
        }
    }
    if (g == 2) {
        for (int32_t i = 0; i < cells; i++) {
            gate[i] = tml_fp16_tanh(gate[i], 3);
        }
    } else {
        for (int32_t i = 0; i < cells; i++) {
            gate[i] = tml_fp16_logistic(gate[i], 3);
        }
    }
}

/* One time step for n_batch rows: LstmStepInteger8x8_16. */
static void tml_lstm_step(const tml_lstm_params_t *p, int32_t n_batch, const int8_t *input,
    int8_t *output_state, int32_t output_state_zp, int16_t *cell_state, int8_t *output, int16_t *scratch) {
    const int32_t cells = n_batch * p->n_cell;
    int16_t *input_gate = scratch;
    int16_t *forget_gate = scratch + cells;
    int16_t *cell_gate = scratch + 2 * cells;
    int16_t *output_gate = scratch + 3 * cells;
    int8_t *hidden = (int8_t *)(scratch + 4 * cells);
    const int cifg = (p->flags & TML_LSTM_CIFG) != 0;
    if (!cifg) {
        tml_lstm_gate_run(p, 0, n_batch, input, output_state, cell_state, input_gate);
    }
    tml_lstm_gate_run(p, 1, n_batch, input, output_state, cell_state, forget_gate);
    tml_lstm_gate_run(p, 2, n_batch, input, output_state, cell_state, cell_gate);
    /* UpdateLstmCellInteger. */
    const int32_t gate_shift = 30 + p->cell_scale;
    for (int32_t i = 0; i < cells; i++) {
        const int32_t kept = tml_rounding_divide_by_pot((int32_t)forget_gate[i] * cell_state[i], 15);
        const int32_t in = cifg ? (int32_t)tml_wrap16(INT16_MAX - forget_gate[i]) : input_gate[i];
        const int32_t added = tml_wrap16(tml_rounding_divide_by_pot(in * cell_gate[i], gate_shift));
        int32_t c = (int32_t)tml_wrap16(kept) + added;
        c = tml_sat16(c);
        if (p->cell_clip > 0) {
            c = tml_clamp(c, -p->cell_clip, p->cell_clip);
        }
        cell_state[i] = (int16_t)c;
    }
    tml_lstm_gate_run(p, 3, n_batch, input, output_state, cell_state, output_gate);
    /* CalculateLstmOutputInteger8x8_16. */
    const int32_t *rescale = (const int32_t *)(const void *)p->constants;
    const int32_t *hidden_rescale = rescale + 2 * TML_LSTM_RESCALE_HIDDEN;
    const int32_t tanh_bits = 15 + p->cell_scale;
    const int projection = (p->flags & TML_LSTM_PROJECTION) != 0;
    /* TFLite passes -hidden_zp here when projecting (its b/246629213). */
    /* Negated in unsigned arithmetic: a blob's hidden_zp may be INT32_MIN. */
    const int32_t hidden_zp = projection ? (int32_t)(0u - (uint32_t)p->hidden_zp) : p->hidden_zp;
    int8_t *h = projection ? hidden : output_state;
    /* TFLite's tanh covers 0 .. 6 integer bits and otherwise leaves its
     * output buffer as it was: the input gate, which then stands in for
     * tanh(cell). The check refuses the CIFG case, where that buffer holds
     * nothing defined. */
    const int tanh_defined = tanh_bits >= 0 && tanh_bits <= 6;
    for (int32_t i = 0; i < cells; i++) {
        const int32_t t = tanh_defined ? tml_fp16_tanh(cell_state[i], tanh_bits) : input_gate[i];
        const int32_t v = tml_add_wrap(tml_multiply_by_quantized_multiplier((int32_t)output_gate[i] * t,
            hidden_rescale[0], hidden_rescale[1]), hidden_zp);
        h[i] = (int8_t)tml_clamp(v, -128, 127);
    }
    if (projection) {
        const int32_t *bias, *proj_rescale;
        const int8_t *weights;
        tml_lstm_projection(p, &bias, &weights, &proj_rescale);
        for (int32_t b = 0; b < n_batch; b++) {
            for (int32_t r = 0; r < p->n_output; r++) {
                const int8_t *wr = weights + r * p->n_cell;
                uint32_t acc = (uint32_t)bias[r];
                for (int32_t c = 0; c < p->n_cell; c++) {
                    acc += (uint32_t)((int32_t)hidden[b * p->n_cell + c] * wr[c]);
                }
                int32_t v = tml_add_wrap(tml_multiply_by_quantized_multiplier((int32_t)acc, proj_rescale[0],
                    proj_rescale[1]), output_state_zp);
                v = tml_clamp(v, -128, 127);
                if (p->proj_clip > 0) {
                    v = tml_clamp(v, -p->proj_clip, p->proj_clip);
                }
                output_state[b * p->n_output + r] = (int8_t)v;
            }
        }
    }
    /* memmove: a hostile blob may overlap the two in the arena (wrong bytes,
     * never out of bounds). */
    memmove(output, output_state, (size_t)(n_batch * p->n_output));
}

/* ---- entry points ----------------------------------------------------------- */

tml_status_t tml_lstm_check(tml_lstm_params_t *p, const tml_dims_t *in, const tml_dims_t *output_state,
    const tml_dims_t *cell_state, const tml_dims_t *out, uint32_t constants_size, const char **detail) {
    /* Input [1][batch][time][features] (batch-major) or [1][time][batch][features]. */
    if (in->n != 1) {
        *detail = "LSTM input has rank 4";
        return TML_ERR_BAD_SHAPE;
    }
    const int time_major = (p->flags & TML_LSTM_TIME_MAJOR) != 0;
    p->n_batch = time_major ? in->w : in->h;
    p->n_time = time_major ? in->h : in->w;
    p->n_input = in->c;
    const int32_t state = output_state->n * output_state->h * output_state->w * output_state->c;
    const int32_t cells = cell_state->n * cell_state->h * cell_state->w * cell_state->c;
    if (state % p->n_batch != 0 || cells % p->n_batch != 0) {
        *detail = "LSTM state sizes not a multiple of the batch";
        return TML_ERR_BAD_SHAPE;
    }
    p->n_output = state / p->n_batch;
    p->n_cell = cells / p->n_batch;
    if (out->n != in->n || out->h != in->h || out->w != in->w || out->c != p->n_output) {
        *detail = "LSTM output shape is not [batch, time, output state]";
        return TML_ERR_BAD_SHAPE;
    }
    if (p->n_input > 65535 || p->n_cell > 65535 || p->n_output > 65535) {
        *detail = "LSTM with more than 65535 inputs, cells or outputs";
        return TML_ERR_BAD_SHAPE;
    }
    if ((p->flags & TML_LSTM_PEEPHOLE) && p->n_output > p->n_cell) {
        *detail = "LSTM with peepholes and more outputs than cells";
        return TML_ERR_BAD_SHAPE;
    }
    if (!(p->flags & TML_LSTM_PROJECTION) && p->n_output != p->n_cell) {
        *detail = "LSTM without projection whose output state and cell state differ in size";
        return TML_ERR_BAD_SHAPE;
    }
    /* Shifts by 30 + cell_scale must stay in [0, 31]; outside 2^-15 .. 2^-9
     * TFLite skips the tanh of the cell state (see tml_lstm_step). */
    if (p->cell_scale < -30 || p->cell_scale > 0
        || ((p->flags & TML_LSTM_CIFG) && (p->cell_scale < -15 || p->cell_scale > -9))) {
        *detail = "LSTM cell state scale outside 2^-30 .. 1 (2^-15 .. 2^-9 without an input gate)";
        return TML_ERR_BAD_PARAM;
    }
    if (constants_size != tml_lstm_constants_size(p)) {
        *detail = "LSTM constant block size does not match its shapes";
        return TML_ERR_BAD_PARAM;
    }
    return TML_OK;
}

uint32_t tml_lstm_scratch_size(const tml_lstm_params_t *p) {
    /* Four int16 gates and the int8 projection input, for the rows of one step. */
    const int32_t rows = (p->flags & TML_LSTM_TIME_MAJOR) ? p->n_batch : 1;
    return (uint32_t)rows * (uint32_t)p->n_cell * 9u;
}

void tml_lstm_s8(const tml_lstm_params_t *p, const int8_t *input, int8_t *output_state, int32_t output_state_zp,
    int16_t *cell_state, int8_t *output, void *scratch) {
    int16_t *s = (int16_t *)scratch;
    if (p->flags & TML_LSTM_TIME_MAJOR) {
        for (int32_t t = 0; t < p->n_time; t++) {
            tml_lstm_step(p, p->n_batch, input + t * p->n_batch * p->n_input, output_state, output_state_zp,
                cell_state, output + t * p->n_batch * p->n_output, s);
        }
        return;
    }
    for (int32_t b = 0; b < p->n_batch; b++) {
        for (int32_t t = 0; t < p->n_time; t++) {
            const int32_t step = b * p->n_time + t;
            tml_lstm_step(p, 1, input + step * p->n_input, output_state + b * p->n_output, output_state_zp,
                cell_state + b * p->n_cell, output + step * p->n_output, s);
        }
    }
}
