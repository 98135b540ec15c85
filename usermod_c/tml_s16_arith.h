/* int16 (16x8 quantisation: int16 activations, zero point 0) kernels for
 * ADD, SUB, MUL, AVERAGE_POOL_2D, MAX_POOL_2D and MEAN, bit-exact with
 * TFLite 2.21's reference kernels. The param fields are what TFLite's
 * Prepare computes; converter/tinyml_converter/s16_arith.py computes them
 * from the tensors' float scales. Every tensor is NHWC (binary ops: up to
 * 4-D, shorter shapes padded with leading 1s by the caller).
 *
 * Each kernel has a *_check() companion that the loader calls once: it
 * rejects every param or dims value under which the kernel could overflow,
 * shift out of range or index outside its buffers, so that a hostile blob
 * cannot crash the runtime. The kernels themselves trust their params. */
#ifndef TML_S16_ARITH_H
#define TML_S16_ARITH_H

#include <stdint.h>

#include "tml_status.h"

/* ADD and SUB. Two forms, chosen in Prepare as TFLite does:
 *  pot == 0 (general): each input is shifted left by 15, rescaled by
 *    (input*_multiplier, input*_shift), the two summed (or subtracted) and
 *    the result rescaled by (output_multiplier, output_shift), all with
 *    TFLite's double-rounding MultiplyByQuantizedMultiplier.
 *    multipliers in [0, 2^31 - 1]; input shifts in [-31, 0]; output_shift
 *    in [-31, 0].
 *  pot != 0 (AddOptions/SubOptions pot_scale_int16 set and all three
 *    scales powers of two): input*_shift in [-15, 0] (at most one nonzero)
 *    is a rounding right shift of that input; the multipliers are unused.
 *    ADD saturates the int16 sum, SUB clamps the int32 difference.
 * act_min <= act_max, both within int16: the fused activation's clamp. */
typedef struct {
    int32_t pot;
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} tml_s16_addsub_params_t;

/* MUL: out = clamp(MBQM(a * b, output_multiplier, output_shift)),
 * output_multiplier in [0, 2^31 - 1], output_shift in [-31, 30]. */
typedef struct {
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} tml_s16_mul_params_t;

/* Shapes of binary ops: dims[4] each, N H W C order; every input dim is
 * 1 or the output's (NumPy broadcasting), every dim >= 1. */
tml_status_t tml_s16_add_check(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4],
    const int32_t in2_dims[4], const int32_t out_dims[4], const char **detail);
#define tml_s16_sub_check tml_s16_add_check
tml_status_t tml_s16_mul_check(const tml_s16_mul_params_t *p, const int32_t in1_dims[4],
    const int32_t in2_dims[4], const int32_t out_dims[4], const char **detail);

void tml_s16_add(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out);
void tml_s16_sub(const tml_s16_addsub_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out);
void tml_s16_mul(const tml_s16_mul_params_t *p, const int32_t in1_dims[4], const int16_t *in1,
    const int32_t in2_dims[4], const int16_t *in2, const int32_t out_dims[4], int16_t *out);

/* AVERAGE_POOL_2D and MAX_POOL_2D on NHWC. pad_top/pad_left are TFLite's
 * padding values (0 for VALID; SAME's floor(total / 2)); cells of the
 * window outside the input are skipped and not counted in the average.
 * strides and filter sizes >= 1, filter_h * filter_w <= 65535 (the int32
 * sum cannot overflow), pads in [0, filter - 1]. Input and output share one
 * scale (TFLite requires it). */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t filter_h;
    int32_t filter_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t act_min;
    int32_t act_max;
} tml_s16_pool_params_t;

/* in_dims = {N, H, W, C}; output is {N, out_h, out_w, C}. Every output
 * window must overlap the input in at least one cell. */
tml_status_t tml_s16_pool_check(const tml_s16_pool_params_t *p, const int32_t in_dims[4], int32_t out_h,
    int32_t out_w, const char **detail);
void tml_s16_avg_pool(const tml_s16_pool_params_t *p, const int32_t in_dims[4], const int16_t *in,
    int32_t out_h, int32_t out_w, int16_t *out);
void tml_s16_max_pool(const tml_s16_pool_params_t *p, const int32_t in_dims[4], const int16_t *in,
    int32_t out_h, int32_t out_w, int16_t *out);

/* MEAN over any subset of the 4 dims (axis_mask bit i = dim i reduced).
 * The output holds the kept dims in order (keepdims or not only changes its
 * shape, not its layout). multiplier/shift are TFLite's rescale
 * input_scale/output_scale already folded with 1/count, count being the
 * product of the reduced dims (<= 65536 so the int32 sum cannot overflow):
 * multiplier in [0, 2^31 - 1], shift in [-31, 30]. */
typedef struct {
    int32_t multiplier;
    int32_t shift;
    int32_t axis_mask;
} tml_s16_mean_params_t;

tml_status_t tml_s16_mean_check(const tml_s16_mean_params_t *p, const int32_t in_dims[4], const char **detail);
void tml_s16_mean(const tml_s16_mean_params_t *p, const int32_t in_dims[4], const int16_t *in, int16_t *out);

#endif /* TML_S16_ARITH_H */
