/* REDUCE_MAX, REDUCE_MIN, SUM, ARG_MAX, ARG_MIN on int8 (and the first two
 * on int16), bit exact with
 * TFLite 2.21's default kernels (reduce.cc EvalLogic and EvalSum, the latter
 * requantising through optimized_ops::QuantizedMeanOrSum) and
 * arg_min_max.cc. The converter has already turned any set of reduced axes
 * into one run: the input is [outer][reduced][inner] and each output is one
 * (outer, inner) pair, so a kernel walks the run with stride inner.
 *
 * SUM is TF 2.21's float32 requantisation of the raw sum, which the
 * converter turns into a table of 255 steps (tml_blob.h): the kernel adds
 * raw values and counts the steps at or below the sum, no floating point.
 *
 * Minimum and arg-minimum reuse the maximum loops on the bitwise complement:
 * ~x = -1 - x reverses the order of int8 values one to one, so the largest
 * ~x is the smallest x, and the first strictly larger ~x the first strictly
 * smaller x (ties keep the first index either way). */
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* SUM adds raw int8 values in int32: 2^23 of them stay within 2^30 in
 * magnitude. */
#define TML_SUM_MAX_TERMS (1 << 23)

tml_status_t tml_reduce_check(const tml_reduce_params_t *p, int is_sum,
    int32_t in_elements, int32_t out_elements, const char **detail) {
    if (p->outer < 1 || p->reduced < 1 || p->inner < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "reduce outer, reduced or inner < 1");
    }
    /* Each factor is below 2^31: the product of two fits 62 bits, and the
     * third is only multiplied in while the running product fits 31. */
    const int64_t kept = (int64_t)p->outer * p->inner;
    if (kept != out_elements) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output size != reduce outer * inner");
    }
    if (kept * p->reduced != in_elements) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "input size != reduce outer * reduced * inner");
    }
    if (!is_sum) {
        return p->steps == 0 ? TML_OK
            : tml_check_fail(detail, TML_ERR_BAD_PARAM, "a step table on a reduce other than SUM");
    }
    if (p->steps == 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "SUM without its step table");
    }
    if (p->reduced > TML_SUM_MAX_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "sum over more than 2^23 values");
    }
    for (int32_t k = 1; k < TML_SUM_STEPS; k++) {
        if (p->steps[k] < p->steps[k - 1]) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "sum steps decrease");
        }
    }
    return TML_OK;
}

/* flip 0: maximum; flip -1: minimum (through the complement). */
static void tml_reduce_extreme(const tml_reduce_params_t *p, int32_t flip, const int8_t *in, int8_t *out) {
    const int32_t inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        const int8_t *block = in + o * p->reduced * inner;
        for (int32_t i = 0; i < inner; i++) {
            int32_t best = block[i] ^ flip;
            for (int32_t r = 1; r < p->reduced; r++) {
                const int32_t v = block[r * inner + i] ^ flip;
                best = v > best ? v : best;
            }
            *out++ = (int8_t)(best ^ flip);
        }
    }
}

void tml_reduce_max_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out) {
    tml_reduce_extreme(p, 0, in, out);
}

void tml_reduce_min_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out) {
    tml_reduce_extreme(p, -1, in, out);
}

/* int16 (16x8): the same raw comparison, which is what TF 2.21's EvalLogic
 * does for int16 too; the complement orders int16 values in reverse alike. */
static void tml_reduce_extreme_s16(const tml_reduce_params_t *p, int32_t flip, const int16_t *in, int16_t *out) {
    const int32_t inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        const int16_t *block = in + o * p->reduced * inner;
        for (int32_t i = 0; i < inner; i++) {
            int32_t best = block[i] ^ flip;
            for (int32_t r = 1; r < p->reduced; r++) {
                const int32_t v = block[r * inner + i] ^ flip;
                best = v > best ? v : best;
            }
            *out++ = (int16_t)(best ^ flip);
        }
    }
}

void tml_reduce_max_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out) {
    tml_reduce_extreme_s16(p, 0, in, out);
}

void tml_reduce_min_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out) {
    tml_reduce_extreme_s16(p, -1, in, out);
}

static void tml_arg_extreme(const tml_reduce_params_t *p, int32_t flip, const int8_t *in, int32_t *out) {
    const int32_t inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        const int8_t *block = in + o * p->reduced * inner;
        for (int32_t i = 0; i < inner; i++) {
            int32_t best = block[i] ^ flip;
            int32_t index = 0;
            for (int32_t r = 1; r < p->reduced; r++) {
                const int32_t v = block[r * inner + i] ^ flip;
                if (v > best) {
                    best = v;
                    index = r;
                }
            }
            *out++ = index;
        }
    }
}

void tml_arg_max_s8(const tml_reduce_params_t *p, const int8_t *in, int32_t *out) {
    tml_arg_extreme(p, 0, in, out);
}

void tml_arg_min_s8(const tml_reduce_params_t *p, const int8_t *in, int32_t *out) {
    tml_arg_extreme(p, -1, in, out);
}

/* The number of steps <= sum, by bisection: 8 reads for 255 steps. */
static int32_t tml_steps_at_most(const int32_t *steps, int32_t sum) {
    int32_t lo = 0;
    int32_t hi = TML_SUM_STEPS;
    while (lo < hi) {
        const int32_t mid = (lo + hi) >> 1;
        if (steps[mid] <= sum) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

void tml_sum_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out) {
    const int32_t inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        const int8_t *block = in + o * p->reduced * inner;
        for (int32_t i = 0; i < inner; i++) {
            /* At most 2^23 terms (the check). */
            int32_t sum = 0;
            for (int32_t r = 0; r < p->reduced; r++) {
                sum += block[r * inner + i];
            }
            *out++ = (int8_t)(tml_steps_at_most(p->steps, sum) - 128);
        }
    }
}

/* ---- SUM on int16 ----------------------------------------------------------
 * TF 2.21's default kernel computes round(float(s) * scale) in float32 for
 * the raw sum s (16x8 zero points are 0), rounding half away from zero, then
 * clamps to int16. Emulated here in integers, so that no core needs a
 * floating-point unit and every one agrees: each float32 rounding (of s,
 * exact below 2^24, and of the product) is a round to 24 significant bits,
 * ties to even. */

tml_status_t tml_sum_s16_check(const tml_reduce_params_t *p, const char **detail) {
    if (p->reduced > TML_SUM_S16_MAX_TERMS) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "int16 sum over more than 2^16 values");
    }
    if (p->scale_mantissa < (1 << 23) || p->scale_mantissa >= (1 << 24)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "sum scale mantissa outside [2^23, 2^24)");
    }
    if (p->scale_exponent < -180 || p->scale_exponent > 100) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "sum scale exponent outside [-180, 100]");
    }
    return TML_OK;
}

/* v rounded to 24 significant bits, ties to even: v' * 2^(*exponent added). */
static uint64_t tml_round_to_24_bits(uint64_t v, int32_t *exponent) {
    const int32_t excess = tml_bit_length64(v) - 24;
    if (excess <= 0) {
        return v;
    }
    const uint64_t half = (uint64_t)1 << (excess - 1);
    const uint64_t rest = v & ((half << 1) - 1);
    uint64_t kept = v >> excess;
    if (rest > half || (rest == half && (kept & 1) != 0)) {
        kept++;
    }
    *exponent += excess;
    return kept;
}

static int16_t tml_sum_rescale_s16(const tml_reduce_params_t *p, int32_t sum) {
    const uint64_t magnitude = sum < 0 ? (uint64_t)(-(int64_t)sum) : (uint64_t)sum;
    int32_t exponent = p->scale_exponent;
    const uint64_t s = tml_round_to_24_bits(magnitude, &exponent);
    const uint64_t product = tml_round_to_24_bits(s * (uint64_t)p->scale_mantissa, &exponent);
    /* product * 2^exponent, product below 2^25: round half away to an integer,
     * saturating at 32768 (whose sign decides the clamp below). */
    uint32_t rounded;
    if (product == 0) {
        rounded = 0;
    } else if (exponent >= 0) {
        rounded = exponent >= 16 ? 32768u : (uint32_t)(product << exponent > 32768u ? 32768u : product << exponent);
    } else if (exponent < -26) {
        rounded = 0;
    } else {
        const uint64_t r = (product + ((uint64_t)1 << (-exponent - 1))) >> -exponent;
        rounded = r > 32768u ? 32768u : (uint32_t)r;
    }
    if (sum < 0) {
        return (int16_t)(-(int32_t)rounded);
    }
    return (int16_t)(rounded > 32767u ? 32767u : rounded);
}

void tml_sum_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out) {
    const int32_t inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        const int16_t *block = in + o * p->reduced * inner;
        for (int32_t i = 0; i < inner; i++) {
            /* At most 2^16 terms of magnitude at most 2^15 (the check). */
            int32_t sum = 0;
            for (int32_t r = 0; r < p->reduced; r++) {
                sum += block[r * inner + i];
            }
            *out++ = tml_sum_rescale_s16(p, sum);
        }
    }
}
