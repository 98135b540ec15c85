/* Public kernel API. One family per source file (tml_conv.c, tml_fc.c,
 * tml_pool.c, tml_elementwise.c, tml_softmax.c, ...). Layout is NHWC, int8
 * activations, TFLite int8 semantics bit for bit.
 *
 * Rules for every kernel: never allocate, never call into MicroPython, never
 * use floating point; validate nothing that tml_model_init() already checked,
 * but return TML_ERR_BAD_PARAM rather than misbehave if called with a shape
 * combination the kernel does not handle. Pointers are resolved by the
 * executor; dims are the tensors' 4-D padded dims. */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include <stdint.h>
#include "tml_blob.h"
#include "tml_status.h"

typedef struct {
    int32_t n, h, w, c;
} tml_dims_t;

/* Requantisation of an accumulator into the output tensor. */
typedef struct {
    int32_t input_offset;      /* -(input zero point) */
    int32_t output_offset;     /* output zero point */
    const int32_t *multiplier; /* channel_quant entries (1 = per-tensor) */
    const int32_t *shift;
    uint16_t channel_quant;
} tml_requant_t;

tml_status_t tml_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_depthwise_conv_s8(const tml_conv_params_t *p, const tml_requant_t *q,
    const tml_dims_t *in_dims, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_fully_connected_s8(const tml_fc_params_t *p, const tml_requant_t *q,
    int32_t batches, int32_t in_features, const int8_t *in,
    const int8_t *weights, const int32_t *bias,
    int32_t out_features, int8_t *out);

tml_status_t tml_avg_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_max_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_mean_s8(const tml_mean_params_t *p,
    int32_t input_zero_point, int32_t output_zero_point,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

/* ADD and MUL broadcast each input's dims (1 or equal to the output's). */
tml_status_t tml_add_s8(const tml_add_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_mul_s8(const tml_mul_params_t *p,
    int32_t input1_zero_point, int32_t input2_zero_point, int32_t output_zero_point,
    const tml_dims_t *in1_dims, const int8_t *in1,
    const tml_dims_t *in2_dims, const int8_t *in2,
    const tml_dims_t *out_dims, int8_t *out);

/* Copies one concatenation input into its slot of the output: axis_start is
 * the sum of the axis extents of the inputs before it. The executor calls it
 * once per input, so no pointer arrays are needed. */
tml_status_t tml_concat_part_s8(int32_t axis, int32_t axis_start,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

tml_status_t tml_pad_s8(const tml_pad_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out);

/* rows x depth, softmax along depth; TFLite's int8 output is scale 1/256, zero point -128. */
tml_status_t tml_softmax_s8(const tml_softmax_params_t *p,
    int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/* in may equal out. */
tml_status_t tml_lut_s8(const int8_t *table, int32_t count, const int8_t *in, int8_t *out);

#endif /* TML_KERNELS_H */
