/* Public kernel API, at the level of tensors and parameters: nothing here
 * knows the blob format (the loader, tml_ops.c, translates on-disk records
 * into these structs). One family per source file (tml_conv.c, tml_fc.c,
 * tml_pool.c, tml_elementwise.c, tml_softmax.c, ...). Layout is NHWC, int8
 * activations, TFLite int8 semantics bit for bit.
 *
 * Each family exports a check and its kernels. The check is the one place
 * where that op's rules live: it returns TML_OK or a status and a static
 * string saying which rule failed. The loader calls it once, at load; the
 * kernels then trust their arguments, never allocate, never call into
 * MicroPython and never use floating point. Dims are the tensors' 4-D
 * padded dims, every one >= 1 (the loader checks that for every tensor).
 *
 * Scratch: a kernel that needs working memory takes it from the caller
 * (`scratch`, 8-byte aligned, contents not kept between calls) rather than
 * from the C stack, which on a board is a few KB shared with the
 * interpreter. Its `_scratch_size()` companion says how many bytes this
 * build's kernel needs for the given shapes (0: scratch may be NULL); the
 * converter plans an upper bound for every build in the arena, and the
 * loader checks that this build's need fits. No kernel keeps more than
 * about 256 bytes on the stack. */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include <stdint.h>
#include "tml_status.h"

/* A kernel's scratch as bytes, 8-byte aligned as the loader guarantees;
 * telling the compiler so keeps the word and double-word stores it used on
 * stack buffers. */
#if defined(__GNUC__)
#define TML_SCRATCH(p) ((uint8_t *)__builtin_assume_aligned((p), 8))
#else
#define TML_SCRATCH(p) ((uint8_t *)(p))
#endif

/* Every kernel tensor has four dims: NHWC, lower ranks left-padded with 1s. */
#define TML_RANK (4)

/* The longest int8 dot product with int32 sums: a product of an int8 weight
 * (|w| <= 128) and an offset int8 input (|x + input_offset| <= 255) is at
 * most 32640 in magnitude, and 65536 of them at most 2139095040, below
 * INT32_MAX. Longer reductions are refused by the checks. */
#define TML_MAX_ACC_TERMS (65536)

typedef struct {
    int32_t n, h, w, c;
} tml_dims_t;

static inline void tml_dims_to_array(const tml_dims_t *d, int32_t a[TML_RANK]) {
    a[0] = d->n;
    a[1] = d->h;
    a[2] = d->w;
    a[3] = d->c;
}

/* Requantisation of an accumulator into the output tensor (TFLite's
 * MultiplyByQuantizedMultiplier: multiplier Q31 >= 0, shift in [-31, 30],
 * positive = left). The arrays are constants of the model. */
typedef struct {
    int32_t input_offset;      /* -(input zero point) */
    int32_t output_offset;     /* output zero point */
    const int32_t *multiplier; /* channel_quant entries (1 = per-tensor) */
    const int32_t *shift;
    uint16_t channel_quant;
} tml_requant_t;

/* How the convolutions and FULLY_CONNECTED may rescale: whether every
 * output channel rescales by under 1/4 with a valid shift (-31 <= shift
 * <= -2), the form tml_requant_row_v7m() and the short loops of
 * tml_requant_row() (tml_conv.c) and tml_fc_requant_chunk() (tml_fc.c)
 * take, and among those with every shift in [-23, -2], the folded one
 * (tml_rescale_folded()). Checked once per layer and invoke, because the
 * shifts are constants of the blob, which may have changed since load. */
enum { TML_RESCALE_ANY, TML_RESCALE_DOWN, TML_RESCALE_FOLDED };

static inline int tml_rescale_mode(const tml_requant_t *q) {
    int mode = TML_RESCALE_FOLDED;
    for (uint32_t i = 0; i < q->channel_quant; ++i) {
        if (q->shift[i] > -2 || q->shift[i] < -31) {
            return TML_RESCALE_ANY;
        }
        if (q->shift[i] < -23) {
            mode = TML_RESCALE_DOWN;
        }
    }
    return mode;
}

/* Whether the Cortex-M3/M4 folded rescales (tml_requant_fold*_v7m,
 * tml_requant_fc_v7m) apply: every shift in [-23, -2], and no clamp above
 * 127, since those routines saturate to int8 for the upper bound and clamp
 * only the lower one. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int tml_rescale_folds(int mode, int32_t hi, int32_t output_offset) {
    return mode == TML_RESCALE_FOLDED && hi + output_offset == 127;
}

/* act_min/act_max everywhere: the clamp in the output's quantised domain
 * (fused RELU/RELU6 included). */

/* CONV_2D (depth_multiplier 1) and DEPTHWISE_CONV_2D. Weights int8
 * [out_c][kh][kw][in_c] for CONV_2D, [kh][kw][in_c * depth_multiplier] for
 * depthwise; bias int32[out_c] or NULL. pad_bottom/right follow from the
 * output shape.
 *
 * Depthwise bias, folded: for a depth multiplier of 1 and at most 32 taps,
 * the first in_c & ~3 channels (the grouped kernel's) take
 *   bias[c] + input_offset * (sum over taps of w[t][c])   (modulo 2^32)
 * in place of TFLite's bias, computed once by the converter rather than at
 * every invoke; the other channels take TFLite's bias as it is. */
typedef struct {
    uint16_t kernel_h, kernel_w;
    uint16_t stride_h, stride_w;
    uint16_t dilation_h, dilation_w;
    int16_t pad_top, pad_left;
    uint16_t depth_multiplier;
    int32_t act_min, act_max;
} tml_conv_params_t;

/* TRANSPOSE_CONV: weights int8 [out_c][kh][kw][in_c] (TFLite's OHWI), bias
 * int32[out_c] or NULL. Output position in * stride - pad + tap receives
 * input position in through kernel tap `tap`; the output's size is its own
 * (TFLite's output_shape operand), positions no tap reaches take the bias. */
typedef struct {
    uint16_t kernel_h, kernel_w;
    uint16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int32_t act_min, act_max;
} tml_transpose_conv_params_t;

/* FULLY_CONNECTED: input [batches][in_features], weights int8
 * [out_features][in_features], bias int32[out_features] or NULL. */
typedef struct {
    int32_t act_min, act_max;
} tml_fc_params_t;

typedef struct {
    uint16_t filter_h, filter_w;
    uint16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int32_t act_min, act_max;
} tml_pool_params_t;

/* MEAN over the dims set in axis_mask (bit i = dim i of the 4-D shape),
 * rescaled by multiplier/shift = QuantizeMultiplier(in_scale / out_scale)
 * as TFLite's QuantizedMeanOrSum. */
typedef struct {
    uint32_t axis_mask;
    int32_t multiplier;
    int32_t shift;
} tml_mean_params_t;

/* ADD: TFLite int8 add (inputs scaled to a common Q(left_shift) domain).
 * SUB is the same op with input2_multiplier negated, as TFLite's own
 * Prepare does (sub.cc, op_sign); the kernel then negates the second input
 * instead, so every multiply keeps a non-negative multiplier and rounds
 * exactly as TFLite's does on the same product. */
typedef struct {
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_add_params_t;

typedef struct {
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_mul_params_t;

/* SQUARED_DIFFERENCE: TFLite's int8 Prepare values (tml_blob.h). */
typedef struct {
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
} tml_squared_difference_params_t;

/* PRELU: TFLite's Prepare values (tml_blob.h). */
typedef struct {
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
} tml_prelu_params_t;

/* PAD: output[i] = input[i - before] inside, pad_value elsewhere. */
typedef struct {
    int32_t before[TML_RANK];
    int32_t after[TML_RANK];
    int32_t pad_value;
} tml_pad_params_t;

/* REMAP (tml_blob.h): four offset tables back to back, one per output dim.
 * inner_run marks a table of the last dim that counts up by one (a run of
 * contiguous input), found at load. The tables stay in the blob, which may
 * change after load: the kernel bounds every offset it reads by
 * in_elements, so a changed table changes answers, never memory safety. */
typedef struct {
    const int32_t *table;
    int32_t in_elements;
    uint8_t elem_size;
    uint8_t inner_run;
} tml_remap_params_t;

/* REDUCE_MAX, REDUCE_MIN, SUM, ARG_MAX, ARG_MIN (tml_blob.h): the input as
 * [outer][reduced][inner], one output per (outer, inner). Only SUM has
 * steps. The steps stay in the blob, which may change after
 * load: the kernel's search reads the 255 entries whatever they hold, so a
 * changed table changes answers, never memory safety. */
typedef struct {
    int32_t outer, reduced, inner;
    const int32_t *steps;    /* SUM: TML_SUM_STEPS non-decreasing raw sums; NULL for the others */
    int32_t scale_mantissa, scale_exponent;  /* SUM_S16 only */
} tml_reduce_params_t;

/* A SUM's output is -128 plus the count of its steps <= the raw sum. */
#define TML_SUM_STEPS (255)
/* RESIZE_BILINEAR: the Q10 scales of TFLite's integer resize, worked out
 * from the shapes by the check. */
typedef struct {
    int32_t h_scale, w_scale;
    uint8_t half_pixel;
} tml_resize_params_t;

/* BATCH_MATMUL: the output rescale (TFLite's double rounding) and the
 * transposition flags; rows, cols and depth are set by the check. */
typedef struct {
    int32_t multiplier, shift;
    int32_t rows, cols, depth;
    uint8_t adj_x, adj_y;
} tml_batch_matmul_params_t;

/* SOFTMAX over the last axis: TFLite's Prepare values (PreprocessSoftmaxScaling
 * with 5 integer bits, CalculateInputRadius). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tml_softmax_params_t;

/* LOG_SOFTMAX over the last axis: TFLite's reference Prepare values (tml_blob.h). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t reverse_multiplier;
    int32_t reverse_shift;
    int32_t diff_min;
} tml_log_softmax_params_t;

/* ---- convolutions (tml_conv.c) ---------------------------------------- */

tml_status_t tml_conv_check(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);
tml_status_t tml_depthwise_conv_check(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

uint32_t tml_conv_scratch_size(const tml_conv_params_t *p, const tml_dims_t *in_dims);
uint32_t tml_depthwise_conv_scratch_size(const tml_conv_params_t *p, const tml_dims_t *in_dims);

void tml_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out, void *scratch);

void tml_depthwise_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out, void *scratch);

/* ---- TRANSPOSE_CONV (tml_transpose_conv.c): no scratch ----------------- */

tml_status_t tml_transpose_conv_check(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

void tml_transpose_conv_s8(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out);

/* ---- FULLY_CONNECTED (tml_fc.c) --------------------------------------- */

tml_status_t tml_fully_connected_check(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, int32_t out_features, const char **detail);

uint32_t tml_fully_connected_scratch_size(int32_t in_features);

void tml_fully_connected_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out, void *scratch);

/* FULLY_CONNECTED_W16: the same op with the weights pre-widened to int16
 * (tml_fc.c describes the layout), rows and inputs padded to a multiple of
 * TML_FC_W16_PAD(). Checked by tml_fully_connected_check(). */
#define TML_FC_W16_PAD(n) (((n) + 3) & ~3)

uint64_t tml_fully_connected_w16_weight_bytes(int32_t in_features, int32_t out_features);

uint32_t tml_fully_connected_w16_scratch_size(int32_t in_features);

void tml_fully_connected_w16_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int16_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out, void *scratch);

/* FULLY_CONNECTED_PAIRS: the same op with two rows' weights in each word
 * and the input offset folded into the bias (tml_fc.c describes both);
 * rows in groups of TML_FC_PAIRS_ROWS, zero-padded. bias may be NULL
 * (all zero). Checked by tml_fully_connected_check(). */
#define TML_FC_PAIRS_ROWS (6)

uint64_t tml_fully_connected_pairs_weight_bytes(int32_t in_features, int32_t out_features);

void tml_fully_connected_pairs_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const uint32_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out);

/* ---- pooling (tml_pool.c) and MEAN (tml_mean.c) ----------------------- */

tml_status_t tml_pool_check(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

uint32_t tml_avg_pool_scratch_size(const tml_dims_t *in_dims);

void tml_avg_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out, void *scratch);

void tml_max_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_mean_check(const tml_mean_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

/* Folds MEAN's 1 / count into multiplier and shift, once, after the check. */
void tml_mean_prepare(tml_mean_params_t *p, const tml_dims_t *in_dims);

uint32_t tml_mean_scratch_size(const tml_mean_params_t *p, const tml_dims_t *in_dims);

void tml_mean_s8(const tml_mean_params_t *p,
    int32_t input_zero_point, int32_t output_zero_point,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out, void *scratch);

/* ---- REDUCE_MAX, REDUCE_MIN, SUM, ARG_MAX, ARG_MIN (tml_reduce.c) ------ */

/* outer * reduced * inner equals in_elements, outer * inner out_elements;
 * a SUM has steps, non-decreasing, and at most 2^23 terms; the other ops
 * have no steps. */
tml_status_t tml_reduce_check(const tml_reduce_params_t *p, int is_sum,
    int32_t in_elements, int32_t out_elements, const char **detail);

void tml_reduce_max_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out);
void tml_reduce_min_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out);
void tml_reduce_max_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out);
/* int16 SUM: at most 2^16 terms (the sum fits int32), the scale's mantissa
 * in [2^23, 2^24) and exponent in [-180, 100]. */
#define TML_SUM_S16_MAX_TERMS (1 << 16)
tml_status_t tml_sum_s16_check(const tml_reduce_params_t *p, const char **detail);
void tml_sum_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out);
void tml_reduce_min_s16(const tml_reduce_params_t *p, const int16_t *in, int16_t *out);

void tml_sum_s8(const tml_reduce_params_t *p, const int8_t *in, int8_t *out);

/* Ties give the first index, as TFLite's strict comparison does. */
void tml_arg_max_s8(const tml_reduce_params_t *p, const int8_t *in, int32_t *out);
void tml_arg_min_s8(const tml_reduce_params_t *p, const int8_t *in, int32_t *out);

/* ---- ADD, MUL (tml_elementwise.c): each input's dims broadcast (1 or equal
 * to the output's). ------------------------------------------------------- */

tml_status_t tml_add_check(const tml_add_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail);

/* lut: NULL, or TML_ADD_LUT_BYTES of 8-byte aligned scratch, which an ADD
 * at TFLite's left shift of 20 fills with each input's rescaled values
 * (two lookups an element instead of two rescales); the result is the
 * same either way. */
#define TML_ADD_LUT_BYTES (2u * 256u * 4u)
void tml_add_s8(const tml_add_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out, void *lut);

tml_status_t tml_mul_check(const tml_mul_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail);

void tml_mul_s8(const tml_mul_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out);

/* MAXIMUM, MINIMUM on raw int8 values (inputs and output quantised alike). */
tml_status_t tml_min_max_check(const tml_dims_t *in1_dims, const tml_dims_t *in2_dims,
    const tml_dims_t *out_dims, const char **detail);

void tml_maximum_s8(const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2, const tml_dims_t *out_dims, int8_t *out);

void tml_minimum_s8(const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2, const tml_dims_t *out_dims, int8_t *out);
void tml_maximum_s16(const tml_dims_t *in1_dims, const int16_t *in1,
    const tml_dims_t *in2_dims, const int16_t *in2, const tml_dims_t *out_dims, int16_t *out);
void tml_minimum_s16(const tml_dims_t *in1_dims, const int16_t *in1,
    const tml_dims_t *in2_dims, const int16_t *in2, const tml_dims_t *out_dims, int16_t *out);

/* SQUARED_DIFFERENCE: ((a - zp1) * 2^left_shift * m1 - (b - zp2) *
 * 2^left_shift * m2)^2 requantised, as TFLite's int8 kernel. */
tml_status_t tml_squared_difference_check(const tml_squared_difference_params_t *p,
    const tml_dims_t *in1_dims, const tml_dims_t *in2_dims, const tml_dims_t *out_dims,
    const char **detail);

void tml_squared_difference_s8(const tml_squared_difference_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out);

/* PRELU: alpha broadcast to the input, whose dims are the output's. */
tml_status_t tml_prelu_check(const tml_prelu_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *alpha_dims, const tml_dims_t *out_dims,
    const char **detail);

void tml_prelu_s8(const tml_prelu_params_t *p,
    int32_t input_zero_point, int32_t alpha_zero_point, int32_t output_zero_point,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *alpha_dims, const int8_t *alpha,
    const tml_dims_t *out_dims, int8_t *out);

/* ---- data movement (tml_copy.c) --------------------------------------- */

/* One CONCATENATION input against the output: same dims off the axis and
 * room for it at axis_start. Whether the inputs fill the output exactly is
 * the caller's sum. */
tml_status_t tml_concat_part_check(int32_t axis, int32_t axis_start,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

/* Copies one concatenation input into its slot of the output: axis_start is
 * the sum of the axis extents of the inputs before it. Called once per
 * input, so no pointer arrays are needed. */
void tml_concat_part(int32_t axis, int32_t axis_start, uint32_t elem_size,
    const tml_dims_t *in_dims, const uint8_t *in,
    const tml_dims_t *out_dims, uint8_t *out);

/* elem_size 1 (int8) or 2 (int16); pad_value is checked to fit it. */
tml_status_t tml_pad_check(const tml_pad_params_t *p, uint32_t elem_size,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

void tml_pad(const tml_pad_params_t *p, uint32_t elem_size,
    const tml_dims_t *in_dims, const uint8_t *in,
    const tml_dims_t *out_dims, uint8_t *out);

/* Every output element's input offset (the sum of its four table entries)
 * lies in [0, in_elements). Sets p->inner_run. */
tml_status_t tml_remap_check(tml_remap_params_t *p, const tml_dims_t *out_dims, const char **detail);

/* Copies elem_size bytes per element; an offset a changed table puts out of
 * range yields zero bytes. */
void tml_remap(const tml_remap_params_t *p, const uint8_t *in, const tml_dims_t *out_dims, uint8_t *out);

/* ---- SOFTMAX (tml_softmax.c): rows x depth, along depth; TFLite's int8
 * output is scale 1/256, zero point -128. -------------------------------- */

tml_status_t tml_softmax_check(const tml_softmax_params_t *p, int32_t depth, const char **detail);

void tml_softmax_s8(const tml_softmax_params_t *p,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/* ---- LOG_SOFTMAX, L2_NORMALIZATION (tml_normalize.c): rows x depth, along
 * depth; TFLite's int8 outputs are scale 16/256, zero point 127 (LOG_SOFTMAX)
 * and scale 1/128, zero point 0 (L2_NORMALIZATION). ---------------------- */

tml_status_t tml_log_softmax_check(const tml_log_softmax_params_t *p, int32_t depth, const char **detail);

void tml_log_softmax_s8(const tml_log_softmax_params_t *p,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

tml_status_t tml_l2_normalization_check(int32_t depth, const char **detail);

void tml_l2_normalization_s8(int32_t input_zero_point,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/* ---- LUT (tml_lut.c): out[i] = table[in[i] + 128]; in may equal out. --- */

void tml_lut_s8(const int8_t *table, int32_t count, const int8_t *in, int8_t *out);

/* int16: 513 entries, TFLite's interpolation (LUTLookup); in may equal out. */
#define TML_LUT_S16_ENTRIES 513
void tml_lut_s16(const int16_t *table, int32_t count, const int16_t *in, int16_t *out);

/* ---- RESIZE_BILINEAR (tml_resize.c): NHWC, same batch and channels, one
 * quantisation for input and output (values are interpolated, never
 * requantised). ----------------------------------------------------------- */

/* Sets the scales from the dims and align_corners; p->half_pixel is set by
 * the caller. */
tml_status_t tml_resize_bilinear_check(tml_resize_params_t *p, int align_corners,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);

void tml_resize_bilinear_s8(const tml_resize_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);
void tml_resize_bilinear_s16(const tml_resize_params_t *p,
    const tml_dims_t *in_dims, const int16_t *in,
    const tml_dims_t *out_dims, int16_t *out);

/* ---- BATCH_MATMUL (tml_batch_matmul.c): lhs [n][h][rows][depth] times rhs
 * [n][h][depth][cols] (the last two dims swapped with adj_x / adj_y), the
 * n and h of each operand 1 or the output's. ------------------------------ */

tml_status_t tml_batch_matmul_check(tml_batch_matmul_params_t *p, const tml_dims_t *lhs_dims,
    const tml_dims_t *rhs_dims, const tml_dims_t *out_dims, const char **detail);

/* rhs^T without adj_y, a gathered lhs row with adj_x, and the prepared
 * lhs row of the FULLY_CONNECTED loops. */
uint32_t tml_batch_matmul_scratch_size(const tml_batch_matmul_params_t *p);

void tml_batch_matmul_s8(const tml_batch_matmul_params_t *p,
    int32_t lhs_zero_point, int32_t rhs_zero_point, int32_t output_zero_point,
    const tml_dims_t *lhs_dims, const int8_t *lhs,
    const tml_dims_t *rhs_dims, const int8_t *rhs,
    const tml_dims_t *out_dims, int8_t *out, void *scratch);

/* ---- UNIDIRECTIONAL_SEQUENCE_LSTM (tml_lstm.c): TFLite's integer LSTM, int8
 * input, output and output state, int16 gates and cell state. The constants
 * (rescales, effective biases, peepholes, weights) are one block in the blob,
 * laid out as docs/blob-format.md says; the check sets the sizes. --------- */

#define TML_LSTM_TIME_MAJOR (1u << 0)
#define TML_LSTM_CIFG (1u << 1)       /* no input gate: 1 - forget gate */
#define TML_LSTM_PEEPHOLE (1u << 2)
#define TML_LSTM_PROJECTION (1u << 3)
#define TML_LSTM_FLAGS (0x0Fu)
/* (multiplier, shift) pairs: per gate (input, forget, cell, output) the
 * input, recurrent and peephole rescales, then projection, then hidden. */
#define TML_LSTM_RESCALES (14u)
#define TML_LSTM_RESCALE_PROJECTION (12u)
#define TML_LSTM_RESCALE_HIDDEN (13u)

typedef struct {
    const uint8_t *constants;   /* 4-byte aligned, tml_lstm_constants_size() bytes */
    int32_t n_batch, n_time, n_input, n_cell, n_output;
    int32_t hidden_zp;
    int16_t cell_clip;          /* quantised; 0: none */
    int8_t proj_clip;           /* quantised; 0: none */
    int8_t cell_scale;          /* log2 of the cell state's scale */
    uint8_t flags;              /* TML_LSTM_* */
} tml_lstm_params_t;

/* Sets n_batch .. n_cell from the shapes. */
tml_status_t tml_lstm_check(tml_lstm_params_t *p, const tml_dims_t *in, const tml_dims_t *output_state,
    const tml_dims_t *cell_state, const tml_dims_t *out, uint32_t constants_size, const char **detail);

uint32_t tml_lstm_constants_size(const tml_lstm_params_t *p);

uint32_t tml_lstm_scratch_size(const tml_lstm_params_t *p);

/* All time steps; output_state and cell_state carry over between calls. */
void tml_lstm_s8(const tml_lstm_params_t *p, const int8_t *input, int8_t *output_state, int32_t output_state_zp,
    int16_t *cell_state, int8_t *output, void *scratch);

/* ---- SVDF (tml_svdf.c): TFLite's integer SVDF, int8 input and output, int16
 * state [batch][memory * filters] kept across invokes. ------------------- */

typedef struct {
    const int8_t *weights_feature;  /* [filters][inputs] */
    const int16_t *weights_time;    /* [filters][memory] */
    const int32_t *bias;            /* [units], or NULL */
    int32_t rank;
    int32_t feature_multiplier, feature_shift, time_multiplier, time_shift;
    int32_t n_batch, n_input, n_unit, n_filter, n_memory;  /* set by the check */
} tml_svdf_params_t;

tml_status_t tml_svdf_check(tml_svdf_params_t *p, const tml_dims_t *in, const tml_dims_t *state,
    const tml_dims_t *out, const char **detail);

void tml_svdf_s8(const tml_svdf_params_t *p, const int8_t *input, int32_t input_zp, int16_t *state,
    int8_t *output, int32_t output_zp);
/* ---- scikit-learn models (tml_classic.c): float32 in and out ----------
 * Unlike the int8 families these compute in floating point: tree walks
 * compare integer keys of the float32 features (tml_blob.h), and the sums
 * and output functions are double, soft-float where the core has no FPU.
 * Node, root, leaf and weight arrays stay in the blob, which may change
 * after load: the walk bounds every index it reads, so a changed array
 * changes answers, never memory safety. */
typedef struct {
    const uint8_t *nodes;    /* node_count records of 8 (narrow) or 12 (wide) bytes */
    const uint32_t *roots;
    const uint8_t *leaves;   /* leaf_values float32 or float64 (flags) */
    const uint8_t *base;     /* raw of the same type, or NULL: raw starts at 0 */
    const uint8_t *post_params; /* ISOLATION: float64[2]; NULL otherwise */
    uint32_t node_count, tree_count, leaf_values;
    uint32_t features;
    uint16_t raw, leaf_width, outputs;
    uint8_t flags, post;
} tml_tree_params_t;

typedef struct {
    const uint8_t *weights;  /* float64 [raw][features] */
    const uint8_t *bias;     /* float64 [raw] */
    uint32_t features;
    uint16_t raw, outputs;
    uint8_t post;
} tml_linear_params_t;

typedef struct {
    const uint8_t *theta;    /* float64 [raw][features] */
    const uint8_t *var;      /* float64 [raw][features] */
    const uint8_t *bias;     /* float64 [raw] */
    uint32_t features;
    uint16_t raw, outputs;
} tml_gaussian_nb_params_t;

typedef struct {
    const uint8_t *points;   /* float64 [count][features] */
    const uint8_t *targets;  /* float64 [count] */
    const uint8_t *scale;    /* float64 [features], or NULL */
    uint32_t count, features;
    uint16_t k, raw, outputs;
    uint8_t weights, regression;
} tml_knn_params_t;

typedef struct {
    const uint8_t *support;  /* float64 [count][features] */
    const uint8_t *coef;     /* float64 [classes - 1][count] */
    const uint8_t *intercept; /* float64 [pairs] */
    const uint32_t *starts;  /* [classes + 1] */
    const uint8_t *gamma;    /* float64 [1] */
    const uint8_t *scale;    /* float64 [features], or NULL */
    uint32_t count, features;
    uint16_t classes, outputs;
} tml_svm_params_t;

/* The node records (children forward and inside the array, features below
 * `features`, leaf values inside `leaves`), the roots, and the raw / output
 * counts the post-processing implies. */
tml_status_t tml_tree_ensemble_check(const tml_tree_params_t *p, const char **detail);
tml_status_t tml_linear_check(const tml_linear_params_t *p, const char **detail);
tml_status_t tml_gaussian_nb_check(const tml_gaussian_nb_params_t *p, const char **detail);
tml_status_t tml_knn_check(const tml_knn_params_t *p, const char **detail);
/* The raw doubles, then k distances and k point indices. */
uint32_t tml_knn_scratch_size(const tml_knn_params_t *p);
/* Classes from 2 to 64, the class starts non-decreasing from 0 to count. */
tml_status_t tml_svm_rbf_check(const tml_svm_params_t *p, const char **detail);
/* Kernel values, pair decisions, outputs and votes, all double. */
uint32_t tml_svm_rbf_scratch_size(const tml_svm_params_t *p);

/* Both take `rows` rows of `features` float32 in, `outputs` float32 out per
 * row, and scratch for raw doubles (tml_classic_scratch_size). */
uint32_t tml_classic_scratch_size(uint16_t raw);

void tml_tree_ensemble_f32(const tml_tree_params_t *p, int32_t rows, const float *in, float *out,
    void *scratch);

void tml_linear_f32(const tml_linear_params_t *p, int32_t rows, const float *in, float *out, void *scratch);

void tml_gaussian_nb_f32(const tml_gaussian_nb_params_t *p, int32_t rows, const float *in, float *out,
    void *scratch);

void tml_knn_f32(const tml_knn_params_t *p, int32_t rows, const float *in, float *out, void *scratch);

void tml_svm_rbf_f32(const tml_svm_params_t *p, int32_t rows, const float *in, float *out, void *scratch);

/* ---- 16x8: int16 activations (zero point 0), int8 weights (tml_s16.c) ----
 *
 * CONV_2D and DEPTHWISE_CONV_2D: the int8 ops' params, act_min/act_max in
 * int16, bias int64[out_c] or NULL, multiplier/shift in q (offsets unused)
 * with shift in [-31, 7]. FULLY_CONNECTED: bias int64[out_features] or NULL,
 * scale_bits[channel_quant]: the IEEE binary64 bits of in_scale * w_scale /
 * out_scale, computed in double. */
tml_status_t tml_conv_s16_check(const tml_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);
tml_status_t tml_depthwise_conv_s16_check(const tml_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);
tml_status_t tml_check_rescale_s64(const tml_requant_t *q, const char **detail);
void tml_conv_s16(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out);
void tml_depthwise_conv_s16(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out);

tml_status_t tml_transpose_conv_s16_check(const tml_transpose_conv_params_t *p, uint16_t channel_quant,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail);
void tml_transpose_conv_s16(const tml_transpose_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    const tml_dims_t *out_dims, int16_t *out);

tml_status_t tml_batch_matmul_s16_check(const tml_batch_matmul_params_t *p, const char **detail);
void tml_batch_matmul_s16(const tml_batch_matmul_params_t *p,
    const tml_dims_t *lhs_dims, const int16_t *lhs, const tml_dims_t *rhs_dims, const int16_t *rhs,
    const tml_dims_t *out_dims, int16_t *out);

tml_status_t tml_fully_connected_s16_check(const tml_fc_params_t *p, uint16_t channel_quant,
    int32_t batches, int32_t in_features, int32_t out_features, const char **detail);
tml_status_t tml_check_scales_double(const uint64_t *scale_bits, uint32_t count, const char **detail);
void tml_fully_connected_s16(const tml_fc_params_t *p, const uint64_t *scale_bits, uint16_t channel_quant,
    int32_t batches, int32_t in_features, const int16_t *in,
    const int8_t *weights, const int64_t *bias,
    int32_t out_features, int16_t *out);

/* From int8 or int16 to int8 or int16 (element sizes 1 or 2):
 * out = clamp(MultiplyByQuantizedMultiplier(in + input_offset) + output_offset,
 * act_min, act_max), with the negative_ pair where in + input_offset < 0. */
typedef struct {
    int32_t input_offset, output_offset;
    int32_t multiplier, shift;
    int32_t negative_multiplier, negative_shift;
    int32_t act_min, act_max;
} tml_requantize_params_t;

/* DIV (tml_div.c) on int8 or int16 (elem_size 1 or 2), broadcasting:
 * offsets from the tensors' zero points, output_multiplier/shift =
 * QuantizeMultiplier(in1_scale / (in2_scale * out_scale)). */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_div_params_t;

tml_status_t tml_div_check(const tml_div_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1, const tml_dims_t *in2, const tml_dims_t *out, const char **detail);
void tml_div(const tml_div_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out);

/* Comparisons, SELECT and the logical ops (tml_compare.c), broadcasting;
 * bool is one byte (0 or 1 written, non-zero read as true). */
enum {
    TML_COMPARE_EQUAL = 0, TML_COMPARE_NOT_EQUAL, TML_COMPARE_LESS, TML_COMPARE_LESS_EQUAL,
    TML_COMPARE_GREATER, TML_COMPARE_GREATER_EQUAL
};
enum { TML_LOGICAL_AND = 0, TML_LOGICAL_OR, TML_LOGICAL_NOT };

/* Offsets from the tensors' zero points; multiplier/shift QuantizeMultiplier
 * of each input's scale (below one); left_shift 8, as TFLite. */
typedef struct {
    uint32_t kind;
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
} tml_compare_params_t;

tml_status_t tml_compare_check(const tml_compare_params_t *p, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail);
void tml_compare(const tml_compare_params_t *p, uint32_t elem_size,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out);
tml_status_t tml_select_check(const tml_dims_t *cond, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail);
void tml_select(uint32_t elem_size, const tml_dims_t *cond_dims, const uint8_t *cond,
    const tml_dims_t *in1_dims, const uint8_t *in1, const tml_dims_t *in2_dims, const uint8_t *in2,
    const tml_dims_t *out_dims, uint8_t *out);
tml_status_t tml_logical_check(uint32_t kind, const tml_dims_t *in1, const tml_dims_t *in2,
    const tml_dims_t *out, const char **detail);
void tml_logical(uint32_t kind, const tml_dims_t *in1_dims, const uint8_t *in1,
    const tml_dims_t *in2_dims, const uint8_t *in2, const tml_dims_t *out_dims, uint8_t *out);

tml_status_t tml_requantize_check(const tml_requantize_params_t *p, uint32_t out_size, const char **detail);
/* int16 ABS: |in + input_offset| through the multiplier/shift pair (the
 * negative one is not used), plus output_offset, clamped. */
void tml_abs_s16(const tml_requantize_params_t *p, int32_t count, const int16_t *in, int16_t *out);
void tml_requantize(const tml_requantize_params_t *p, int32_t count,
    uint32_t in_size, const void *in, uint32_t out_size, void *out);

#endif /* TML_KERNELS_H */
