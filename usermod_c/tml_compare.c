/* Comparisons of int8 or int16 tensors into bool ones, SELECT / SELECT_V2
 * and the logical ops, with NHWC broadcasting, bit exact with TFLite 2.21's
 * reference kernels: a comparison brings both inputs to a common scale
 * first (each offset value times 2^left_shift, rescaled by its own scale
 * as a Q31 multiplier; ComparisonWithScaling), then compares; SELECT copies
 * raw values, so its operands share one quantisation. bool is one byte,
 * 0 or 1; any other byte a blob or a caller leaves there counts as true. */
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

typedef struct {
    int32_t n, h, w, c;
} tml_compare_strides_t;

static void tml_compare_strides(const tml_dims_t *in, tml_compare_strides_t *s) {
    s->c = in->c == 1 ? 0 : 1;
    s->w = in->w == 1 ? 0 : in->c;
    s->h = in->h == 1 ? 0 : in->w * in->c;
    s->n = in->n == 1 ? 0 : in->h * in->w * in->c;
}

static int tml_compare_broadcasts(const tml_dims_t *in, const tml_dims_t *out) {
    return (in->n == out->n || in->n == 1) && (in->h == out->h || in->h == 1)
        && (in->w == out->w || in->w == 1) && (in->c == out->c || in->c == 1);
}

/* The element index of output position (n, h, w, c) in a broadcast input. */
static int32_t tml_compare_at(const tml_compare_strides_t *s, int32_t n, int32_t h, int32_t w, int32_t c) {
    return n * s->n + h * s->h + w * s->w + c * s->c;
}

static int32_t tml_compare_load(const uint8_t *base, uint32_t elem_size, int32_t index) {
    return elem_size == 2 ? ((const int16_t *)(const void *)base)[index] : ((const int8_t *)(const void *)base)[index];
}

tml_status_t tml_compare_check(const tml_compare_params_t *p, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail) {
    if (!tml_compare_broadcasts(in1, out) || !tml_compare_broadcasts(in2, out)) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
    }
    if (p->kind > TML_COMPARE_GREATER_EQUAL) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "unknown comparison");
    }
    /* TFLite's rescale here divides (a shift <= 0) after an 8-bit left shift
     * of values below 2^17: no overflow. */
    if (p->left_shift != 8 || p->input1_shift > 0 || p->input2_shift > 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "comparison left shift not 8, or an input scale above one");
    }
    tml_status_t s = tml_check_requant(p->input1_multiplier, p->input1_shift, detail);
    return s == TML_OK ? tml_check_requant(p->input2_multiplier, p->input2_shift, detail) : s;
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: the doubling high
 * multiply, then a rounding division by 2^-shift (shift in [-31, 0]). */
static int32_t tml_compare_scale(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t exponent = -shift;
    return tml_rounding_divide_by_pot(tml_saturating_rounding_doubling_high_mul(x, multiplier),
        exponent < 0 ? 0 : (exponent > 31 ? 31 : exponent));
}

void tml_compare(const tml_compare_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out) {
    tml_compare_strides_t s1, s2;
    tml_compare_strides(in1_dims, &s1);
    tml_compare_strides(in2_dims, &s2);
    const int32_t shift = p->left_shift & 15;
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            for (int32_t w = 0; w < out_dims->w; w++) {
                for (int32_t c = 0; c < out_dims->c; c++) {
                    /* Offset values are below 2^17 in magnitude, so << 8 fits. */
                    const int32_t a = tml_compare_load(in1, elem_size, tml_compare_at(&s1, n, h, w, c)) + p->input1_offset;
                    const int32_t b = tml_compare_load(in2, elem_size, tml_compare_at(&s2, n, h, w, c)) + p->input2_offset;
                    const int32_t x = tml_compare_scale((int32_t)((uint32_t)a << shift), p->input1_multiplier,
                        p->input1_shift);
                    const int32_t y = tml_compare_scale((int32_t)((uint32_t)b << shift), p->input2_multiplier,
                        p->input2_shift);
                    int result;
                    switch (p->kind) {
                        case TML_COMPARE_EQUAL: result = x == y; break;
                        case TML_COMPARE_NOT_EQUAL: result = x != y; break;
                        case TML_COMPARE_LESS: result = x < y; break;
                        case TML_COMPARE_LESS_EQUAL: result = x <= y; break;
                        case TML_COMPARE_GREATER: result = x > y; break;
                        default: result = x >= y; break;
                    }
                    *out++ = (uint8_t)result;
                }
            }
        }
    }
}

tml_status_t tml_select_check(const tml_dims_t *cond, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail) {
    if (!tml_compare_broadcasts(cond, out) || !tml_compare_broadcasts(in1, out) || !tml_compare_broadcasts(in2, out)) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
    }
    return TML_OK;
}

void tml_select(uint32_t elem_size, const tml_dims_t *cond_dims, const uint8_t *cond,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out) {
    tml_compare_strides_t sc, s1, s2;
    tml_compare_strides(cond_dims, &sc);
    tml_compare_strides(in1_dims, &s1);
    tml_compare_strides(in2_dims, &s2);
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            for (int32_t w = 0; w < out_dims->w; w++) {
                for (int32_t c = 0; c < out_dims->c; c++) {
                    const int take_first = cond[tml_compare_at(&sc, n, h, w, c)] != 0;
                    const uint8_t *src = take_first ? in1 : in2;
                    const int32_t at = tml_compare_at(take_first ? &s1 : &s2, n, h, w, c);
                    for (uint32_t k = 0; k < elem_size; k++) {
                        *out++ = src[(uint32_t)at * elem_size + k];
                    }
                }
            }
        }
    }
}

tml_status_t tml_logical_check(uint32_t kind, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail) {
    if (kind > TML_LOGICAL_NOT) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "unknown logical op");
    }
    if (!tml_compare_broadcasts(in1, out) || !tml_compare_broadcasts(in2, out)) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
    }
    return TML_OK;
}

/* LOGICAL_NOT passes its one input as both. */
void tml_logical(uint32_t kind, const tml_dims_t *in1_dims, const uint8_t *in1,
    const tml_dims_t *in2_dims, const uint8_t *in2, const tml_dims_t *out_dims, uint8_t *out) {
    tml_compare_strides_t s1, s2;
    tml_compare_strides(in1_dims, &s1);
    tml_compare_strides(in2_dims, &s2);
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            for (int32_t w = 0; w < out_dims->w; w++) {
                for (int32_t c = 0; c < out_dims->c; c++) {
                    const int a = in1[tml_compare_at(&s1, n, h, w, c)] != 0;
                    const int b = in2[tml_compare_at(&s2, n, h, w, c)] != 0;
                    *out++ = (uint8_t)(kind == TML_LOGICAL_AND ? (a && b) : kind == TML_LOGICAL_OR ? (a || b) : !a);
                }
            }
        }
    }
}
