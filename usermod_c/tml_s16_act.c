/* int16 LOGISTIC, TANH and SOFTMAX; see tml_s16_act.h for the arithmetic and
 * the parameters' ranges. */
#include <stddef.h>
#include "tml_s16_act.h"
#include "tml_check.h"
#include "tml_requant.h"

/* sigmoid(i / 24) in Q0.16 for i = 0 .. 255, the table TFLite 2.21
 * interpolates. The entries are not plain roundings of the function (they
 * are tuned for linear interpolation), so they were read back from the
 * interpreter's own TANH outputs at input scale 1/6144 (prescaled input
 * 2x), where the input 128 i lands exactly on entry i; the last entry is only
 * an interpolation end point, pinned down by the outputs just below it.
 * tests/host/test_s16_act_kernels.py checks all 65536 inputs. */
static const uint16_t tml_s16_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535
};

/* TFLite stores its int16 intermediates with C++ conversions, which keep the
 * low 16 bits; the C conversion of an out-of-range value is only
 * implementation-defined, so the wrap is spelled out. Real tables never
 * reach it; a corrupted one must still be defined C. */
static inline int16_t tml_s16_wrap(int32_t x) {
    return (int16_t)((int32_t)(((uint32_t)x & 0xFFFFu) ^ 0x8000u) - 0x8000);
}

/* The rescale shared by LOGISTIC and TANH. The int32 product and sum wrap in
 * TFLite (input scales above 2.67, shift 31); in unsigned arithmetic here. */
static inline int32_t tml_s16_prescale(int32_t x, int32_t multiplier, int32_t left_shift) {
    const uint32_t round = left_shift > 0 ? 1u << (left_shift - 1) : 0u;
    const int32_t v = (int32_t)((uint32_t)x * (uint32_t)multiplier + round);
    return v >> left_shift;
}

/* |x| as unsigned: INT32_MIN (a wrapped product) maps to 2^31, as the
 * int-to-unsigned conversion of TFLite's abs() gives on its targets. */
static inline uint32_t tml_s16_abs(int32_t x) {
    return x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
}

static tml_status_t tml_s16_check_prescale(int32_t multiplier, int32_t left_shift, const char **detail) {
    if (multiplier < 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "negative input multiplier");
    }
    if (left_shift < 0 || left_shift > 31) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "input shift outside [0, 31]");
    }
    return TML_OK;
}

tml_status_t tml_s16_logistic_check(const tml_s16_logistic_params_t *p, const char **detail) {
    return tml_s16_check_prescale(p->input_multiplier, p->input_left_shift, detail);
}

tml_status_t tml_s16_tanh_check(const tml_s16_tanh_params_t *p, const char **detail) {
    return tml_s16_check_prescale(p->input_multiplier, p->input_left_shift, detail);
}

/* The prescaled input x counts 1/(3 * 2^12) per step; the table steps by
 * 1/24 = 2^9 such steps, so bits 9 and up index it and the low 9 bits
 * interpolate, giving sigmoid(|x|) in Q16.9. From |x| >= 255 * 2^9 on the
 * result is the table's ceiling. Negative inputs use 1 - sigmoid(|x|); the
 * result (at most 2^25) is then rounded to Q0.15, within [1, 32767]. */
void tml_s16_logistic(const tml_s16_logistic_params_t *p, int32_t n, const int16_t *in, int16_t *out) {
    const int32_t multiplier = p->input_multiplier;
    const int32_t left_shift = p->input_left_shift & 31;
    for (int32_t i = 0; i < n; i++) {
        const int32_t x = tml_s16_prescale(in[i], multiplier, left_shift);
        const uint32_t ax = tml_s16_abs(x);
        const uint32_t index = ax >> 9;
        uint32_t sig;
        if (index >= 255u) {
            sig = 0x7FFFu << 10;
        } else {
            const uint32_t lo = tml_s16_sigmoid_table[index];
            const uint32_t hi = tml_s16_sigmoid_table[index + 1u];
            sig = (lo << 9) + (ax & 0x1FFu) * (hi - lo); /* the table rises: hi >= lo */
        }
        sig = x >= 0 ? sig + (1u << 9) : (1u << 25) - sig + (1u << 9) - 1u;
        out[i] = (int16_t)(sig >> 10);
    }
}

/* tanh(y) = 2 sigmoid(2y) - 1: the same table indexed by bits 8 and up of
 * the prescaled input (which doubles it), sigmoid in Q16.8, then
 * 2 sigmoid - 1 in Q0.15 rounded, within [-32767, 32767]. */
void tml_s16_tanh(const tml_s16_tanh_params_t *p, int32_t n, const int16_t *in, int16_t *out) {
    const int32_t multiplier = p->input_multiplier;
    const int32_t left_shift = p->input_left_shift & 31;
    for (int32_t i = 0; i < n; i++) {
        const int32_t x = tml_s16_prescale(in[i], multiplier, left_shift);
        const uint32_t ax = tml_s16_abs(x);
        const uint32_t index = ax >> 8;
        int32_t sig;
        if (index >= 255u) {
            sig = 0xFFFF << 8;
        } else {
            const uint32_t lo = tml_s16_sigmoid_table[index];
            const uint32_t hi = tml_s16_sigmoid_table[index + 1u];
            sig = (int32_t)((lo << 8) + (ax & 0xFFu) * (hi - lo)); /* < 2^24 */
        }
        const int32_t half = 1 << 23;
        const int32_t t = x >= 0 ? sig - half + (1 << 7) : half - sig + (1 << 7) - 1;
        out[i] = (int16_t)(t >> 8); /* floor: |t| < 2^23 */
    }
}

tml_status_t tml_s16_softmax_check(const tml_s16_softmax_params_t *p, int32_t depth, const char **detail) {
    tml_status_t s = tml_check_requant(p->input_multiplier, p->input_shift, detail);
    if (s != TML_OK) {
        return s;
    }
    if (p->exp_lut == NULL || p->one_over_one_plus_x_lut == NULL) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "softmax table missing");
    }
    if (depth < 1 || depth > TML_S16_SOFTMAX_MAX_DEPTH) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "softmax depth outside [1, 65536]");
    }
    return TML_OK;
}

/* The interpolated table lookup of TFLite's int16 LUT ops: the top 9 bits of
 * v pick one of 512 intervals, the low 7 bits interpolate, rounded. */
static int16_t tml_s16_lut(const int16_t *lut, int32_t v) {
    const int32_t index = 256 + (v >> 7); /* v in [-32768, 32767]: index in [0, 511] */
    const int32_t offset = v & 0x7F;
    const int32_t slope = tml_s16_wrap(lut[index + 1] - lut[index]);
    const int32_t delta = (slope * offset + 64) >> 7;
    return tml_s16_wrap(lut[index] + delta);
}

static int32_t tml_s16_count_leading_zeros(uint32_t x) {
    int32_t n = 0;
    while (n < 32 && (x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
}

void tml_s16_softmax(const tml_s16_softmax_params_t *p, int32_t rows, int32_t depth,
    const int16_t *in, int16_t *out) {
    const int32_t multiplier = p->input_multiplier;
    const int32_t shift = p->input_shift;
    for (int32_t r = 0; r < rows; r++) {
        const int16_t *row_in = in + r * depth;
        int16_t *row_out = out + r * depth;
        int32_t row_max = INT16_MIN;
        for (int32_t c = 0; c < depth; c++) {
            if (row_in[c] > row_max) {
                row_max = row_in[c];
            }
        }
        /* The exps wait in the output row (each input value is read before
         * its own output slot is written, so in == out works). The sum wraps
         * like TFLite's int32 one; with TFLite's tables it stays below
         * 32767 * 65536 < 2^31. */
        uint32_t sum = 0;
        for (int32_t c = 0; c < depth; c++) {
            /* diff in [-65535, 0]; TFLite's exp table spans [-10, 0] over
             * [-65535, 0] after the rescale, recentred onto int16. A large
             * positive shift wraps diff as TFLite's does. */
            const int32_t scaled = tml_multiply_by_quantized_multiplier(row_in[c] - row_max, multiplier, shift);
            const int32_t centred = tml_clamp(tml_add_wrap(scaled, 32767), INT16_MIN, INT16_MAX);
            const int16_t e = tml_s16_lut(p->exp_lut, centred);
            row_out[c] = e;
            sum += (uint32_t)(int32_t)e;
        }
        /* sum = 2^(32 - clz) * (1 + x) with x in [0, 1): x in Q0.16, rounded,
         * recentred onto int16 for the 1 / (1 + x) table (Q0.15). With
         * TFLite's tables the row maximum alone gives sum >= 32767, so
         * clz is in [1, 17]; other values would make TFLite's shifts
         * undefined, and give a row of zeros here. */
        const int32_t clz = tml_s16_count_leading_zeros(sum);
        if (clz < 1 || clz > 30) {
            for (int32_t c = 0; c < depth; c++) {
                row_out[c] = 0;
            }
            continue;
        }
        const int32_t normalised = (int32_t)(((sum << (clz - 1)) + (1u << 13)) >> 14); /* < 2^17 + 1 */
        const int32_t x = tml_clamp(normalised - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX);
        const int32_t reciprocal = tml_s16_lut(p->one_over_one_plus_x_lut, x);
        /* exp * reciprocal / 2^(31 - clz): |product| <= 2^30, so int32 holds
         * it and the rounding term (right_shift in [1, 30]). */
        const int32_t right_shift = 31 - clz;
        const int32_t round = 1 << (right_shift - 1);
        for (int32_t c = 0; c < depth; c++) {
            const int32_t prob = (row_out[c] * reciprocal + round) >> right_shift;
            row_out[c] = (int16_t)tml_clamp(prob, 0, INT16_MAX);
        }
    }
}
