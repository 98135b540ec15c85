/* LOGISTIC, TANH and SOFTMAX on int16 tensors (16x8 quantisation: int16
 * activations, zero point 0), bit exact with TFLite 2.21's reference int16
 * kernels (BUILTIN_REF).
 *
 * LOGISTIC and TANH rescale the input to 1/(3 * 4096) per step (so that
 * +/-2^17 spans +/-10.67) and interpolate a 256-entry table of sigmoid(i / 24)
 * (tanh(x) = 2 sigmoid(2x) - 1). Output scale is 2^-15 for both: LOGISTIC
 * gives [1, 32767], TANH [-32767, 32767].
 *
 * SOFTMAX works per row of `depth` values: differences from the row maximum
 * are rescaled so that [-65535, 0] covers [-10, 0], looked up in an
 * interpolated exp table, summed, and divided through an interpolated
 * 1 / (1 + x) table. Output scale 2^-15, values in [0, 32767]. Both tables
 * (TML_S16_LUT_SIZE int16 each) come from the converter
 * (tinyml_converter/s16_act.py), since they are constants of TFLite's Prepare.
 *
 * The converter fills the params from the tensors' float scales exactly as
 * TFLite's Prepare does; tml_s16_*_check() then guarantees that no value a
 * corrupted blob could hold makes a kernel's C undefined. All kernels may run
 * in place (in == out). */
#ifndef TML_S16_ACT_H
#define TML_S16_ACT_H

#include <stdint.h>
#include "tml_status.h"

/* Entries of each softmax table: 512 interpolation intervals plus the end
 * point of the last one. */
#define TML_S16_LUT_SIZE (513)

/* Longest softmax row: the int32 sum of `depth` exps of at most 32767 each
 * must not overflow (TFLite's sum is a plain int32). */
#define TML_S16_SOFTMAX_MAX_DEPTH (65536)

/* x -> (x * input_multiplier + 2^(input_left_shift - 1)) >> input_left_shift
 * with the int32 product wrapping as TFLite's does on its targets (only for
 * input scales above about 2.67, where the true product passes 2^31).
 * input_multiplier: >= 0 (TFLite's are in [0, 32767] for input scales up to
 * 2.67, larger beyond). input_left_shift: [0, 31]. For the power-of-two
 * scales TFLite special-cases (2^-12 for LOGISTIC; 2^-12 and 2^-11 for TANH;
 * each within a factor 2^0.001, CheckedLog2's tolerance) the converter
 * stores multiplier 3 resp. 6 and shift 0, which TFLite uses in place of its
 * multiplier 0 there. */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
} tml_s16_logistic_params_t;

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
} tml_s16_tanh_params_t;

/* input_multiplier (Q31, >= 0) and input_shift ([-31, 30], > 0 shifts left)
 * rescale the difference from the row maximum as TFLite's double-rounding
 * MultiplyByQuantizedMultiplier: the pair TFLite's QuantizeMultiplier makes
 * of input_scale * beta * 65535 / 10. exp_lut holds exp(x) on [-10, 0],
 * one_over_one_plus_x_lut 1 / (1 + x) on [0, 1], TML_S16_LUT_SIZE entries
 * each over the int16 range, values in units of 2^-15 (1.0 saturating to
 * 32767). Any table contents give defined results (wrong ones unless the
 * tables are TFLite's). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_shift;
    const int16_t *exp_lut;
    const int16_t *one_over_one_plus_x_lut;
} tml_s16_softmax_params_t;

tml_status_t tml_s16_logistic_check(const tml_s16_logistic_params_t *p, const char **detail);
tml_status_t tml_s16_tanh_check(const tml_s16_tanh_params_t *p, const char **detail);
/* depth: the innermost dimension the kernel will see, [1, TML_S16_SOFTMAX_MAX_DEPTH]. */
tml_status_t tml_s16_softmax_check(const tml_s16_softmax_params_t *p, int32_t depth, const char **detail);

/* n elements; n <= 0 does nothing. */
void tml_s16_logistic(const tml_s16_logistic_params_t *p, int32_t n, const int16_t *in, int16_t *out);
void tml_s16_tanh(const tml_s16_tanh_params_t *p, int32_t n, const int16_t *in, int16_t *out);

/* rows x depth values, row-major; the softmax is over each row. */
void tml_s16_softmax(const tml_s16_softmax_params_t *p, int32_t rows, int32_t depth,
    const int16_t *in, int16_t *out);

#endif /* TML_S16_ACT_H */
