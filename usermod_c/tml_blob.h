/*
 * tinyml blob format, version 2: the on-disk (and in-flash) layout of a
 * converted model. This header is the single source of truth for the layout;
 * docs/blob-format.md explains it in prose and
 * converter/tinyml_converter/blob_layout.py mirrors it for the writer
 * (tests/host/test_layout.py checks that the two agree).
 *
 * Every multi-byte field is little-endian. The runtime reads the structs in
 * place, so the blob must start on a 4-byte boundary (the Python loader copies
 * an unaligned buffer once) and every section and record below is 4-byte
 * aligned; the constant data section is 8-byte aligned.
 *
 * Nothing in here is trusted: tml_model_init() checks every count, offset and
 * size against total_size before any kernel runs.
 */
#ifndef TML_BLOB_H
#define TML_BLOB_H

#include <stdint.h>

#define TML_BLOB_MAGIC (0x424C4D54u) /* "TMLB" read as a little-endian u32 */
#define TML_BLOB_VERSION (2u)
#define TML_NONE (0xFFFFFFFFu)       /* "no such constant" (e.g. no bias) */
#define TML_MAX_RANK (4)

/* Byte 0 of the blob. CRC-32 is the IEEE/zlib polynomial over bytes
 * [16, total_size), i.e. everything after the crc32 field. */
typedef struct {
    uint32_t magic;
    uint16_t version;        /* refused when > TML_BLOB_VERSION */
    uint16_t header_size;    /* sizeof(tml_blob_header_t) == 64 */
    uint32_t total_size;     /* bytes in the whole blob */
    uint32_t crc32;
    uint32_t arena_size;     /* bytes of the activation arena (offline plan) */
    uint16_t tensor_count;
    uint16_t op_count;
    uint8_t input_count;
    uint8_t output_count;
    uint16_t flags;          /* reserved, 0 */
    uint32_t tensors_offset; /* tml_blob_tensor_t[tensor_count] */
    uint32_t io_offset;      /* uint16_t[input_count + output_count] tensor indices, inputs first */
    uint32_t ops_offset;     /* op records back to back, op_count of them */
    uint32_t ops_size;
    uint32_t data_offset;    /* constant data, 8-byte aligned */
    uint32_t data_size;
    uint32_t meta_offset;    /* metadata records (tml_meta_t), may be empty */
    uint32_t meta_size;
    uint32_t reserved;       /* 0 */
} tml_blob_header_t;

typedef enum {
    TML_DTYPE_INT8 = 1,
    TML_DTYPE_INT16 = 2,
    TML_DTYPE_INT32 = 3,
    TML_DTYPE_FLOAT32 = 4, /* IEEE binary32: inputs and outputs of the scikit-learn ops only */
    TML_DTYPE_BOOL = 5,    /* one byte, 0 or 1: comparisons' outputs, SELECT's condition */
} tml_dtype_t;

#define TML_TENSOR_CONST (1u << 0) /* offset is into the data section, not the arena */
/* An arena tensor that keeps its value from one invoke to the next (an LSTM's
 * output and cell state, TFLite's variable tensors): the plan gives it bytes
 * no other tensor uses, and load and reset set it to its zero point (int8)
 * or 0, as TFLite's ResetVariableTensor does. */
#define TML_TENSOR_STATE (1u << 1)
/* With STATE: set to its start value at the start of every invoke too (a
 * Keras LSTM with stateful=False: each input is a whole sequence). */
#define TML_TENSOR_RESET (1u << 2)
/* A model input read in place from the caller's buffer for the length of
 * one invoke (tml_model_bind_input()), or another name of one (a reshape):
 * no arena bytes; the offset is the index of the model input it reads. Never
 * constant, state or written by an op. */
#define TML_TENSOR_EXTERNAL (1u << 3)
/* The output of a STAGE member that the next member reads: the arena holds
 * a band of its rows, not the whole tensor (offset is the band's start; the
 * loader works out the band's height from the stage's schedule). */
#define TML_TENSOR_BAND (1u << 4)

/* A tensor that ops read or write: activations, model inputs/outputs and the
 * occasional constant operand (e.g. the second input of an ADD). Weights, bias
 * and requantisation tables are not tensors: ops point at them directly. */
typedef struct {
    uint32_t offset;        /* arena offset, or data-section offset if TML_TENSOR_CONST */
    int32_t dims[TML_MAX_RANK]; /* left-padded with 1s to 4: NHWC for images, [1,1,1,N] for vectors */
    float scale;            /* only used by predict() at the model's edges */
    int32_t zero_point;
    uint8_t dtype;          /* tml_dtype_t */
    uint8_t rank;           /* the original rank (1..4), for input_shape/output_shape */
    uint16_t flags;         /* TML_TENSOR_* */
} tml_blob_tensor_t;

typedef enum {
    TML_OP_CONV_2D = 1,
    TML_OP_DEPTHWISE_CONV_2D = 2,
    TML_OP_FULLY_CONNECTED = 3,
    TML_OP_AVERAGE_POOL_2D = 4,
    TML_OP_MAX_POOL_2D = 5,
    TML_OP_MEAN = 6,
    TML_OP_ADD = 7,
    TML_OP_MUL = 8,
    TML_OP_CONCATENATION = 9,
    TML_OP_PAD = 10,
    TML_OP_SOFTMAX = 11,
    TML_OP_LUT = 12,   /* any per-tensor unary int8 op: LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU*, int8 QUANTIZE ... */
    TML_OP_COPY = 13,  /* RESHAPE the planner could not alias */
    TML_OP_REMAP = 14, /* any op whose output elements are input elements: SLICE, SPLIT, TRANSPOSE, TILE ... */
    TML_OP_MAXIMUM = 15,
    TML_OP_MINIMUM = 16,
    TML_OP_TRANSPOSE_CONV = 17,
    TML_OP_SQUARED_DIFFERENCE = 18,
    TML_OP_PRELU = 19,
    TML_OP_LOG_SOFTMAX = 20,
    TML_OP_L2_NORMALIZATION = 21,
    TML_OP_REDUCE_MAX = 22,
    TML_OP_REDUCE_MIN = 23,
    TML_OP_SUM = 24,
    TML_OP_ARG_MAX = 25, /* int32 output */
    TML_OP_ARG_MIN = 26, /* int32 output */
    TML_OP_RESIZE_BILINEAR = 27,
    TML_OP_BATCH_MATMUL = 28,
    TML_OP_TREE_ENSEMBLE = 29, /* scikit-learn trees and forests: float32 in and out */
    TML_OP_LINEAR = 30,        /* scikit-learn linear models: float32 in and out */
    TML_OP_GAUSSIAN_NB = 31,   /* scikit-learn GaussianNB: float32 in and out */
    TML_OP_KNN = 32,           /* scikit-learn k-nearest neighbours: float32 in and out */
    TML_OP_SVM_RBF = 33,       /* scikit-learn SVC with an RBF kernel: float32 in and out */
    TML_OP_UNIDIRECTIONAL_SEQUENCE_LSTM = 36,
    TML_OP_SVDF = 37,
    TML_OP_CONV_2D_S16 = 38,           /* 16x8: int16 activations, int8 weights, int64 bias */
    TML_OP_DEPTHWISE_CONV_2D_S16 = 39,
    TML_OP_FULLY_CONNECTED_S16 = 40,
    TML_OP_REQUANTIZE = 41,            /* QUANTIZE from int16; int16 RELU*, LEAKY_RELU */
    TML_OP_LOGISTIC_S16 = 42,
    TML_OP_TANH_S16 = 43,
    TML_OP_SOFTMAX_S16 = 44,
    TML_OP_TRANSPOSE_CONV_S16 = 45,    /* transpose conv params, bias int64, shifts in [-31, 7] */
    TML_OP_BATCH_MATMUL_S16 = 46,      /* batch matmul params, int64 sums, shift in [-31, 7] */
    TML_OP_DIV = 47,                   /* int8 or int16, broadcasting */
    TML_OP_COMPARE = 48,               /* EQUAL ... GREATER_EQUAL: int8 or int16 in, bool out */
    TML_OP_SELECT = 49,                /* SELECT, SELECT_V2: bool condition, int8 or int16 values */
    TML_OP_LOGICAL = 50,               /* LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT on bool */
    TML_OP_ADD_S16 = 51,               /* 16x8 ADD, broadcasting */
    TML_OP_SUB_S16 = 52,
    TML_OP_MUL_S16 = 53,               /* mul params */
    TML_OP_AVERAGE_POOL_2D_S16 = 54,   /* pool params */
    TML_OP_MAX_POOL_2D_S16 = 55,
    TML_OP_MEAN_S16 = 56,
    TML_OP_REDUCE_MAX_S16 = 57,        /* reduce params */
    TML_OP_REDUCE_MIN_S16 = 58,
    TML_OP_LUT_S16 = 59,               /* lut params: 513 int16 entries */
    TML_OP_ABS_S16 = 60,               /* requantize params (the negative pair unused) */
    TML_OP_SUM_S16 = 61,               /* sum_s16 params */
    TML_OP_STAGE = 62,                 /* stage params: the next member_count records run band by band */
    TML_OP_FULLY_CONNECTED_W16 = 63,   /* fc params, weights pre-widened to int16 (tml_fc.c's layout) */
    TML_OP_FULLY_CONNECTED_PAIRS = 64, /* fc params, two rows' weights a word, bias folded (tml_fc.c) */
    TML_OP_COUNT_
} tml_opcode_t;

/* Each op record: this header, then uint16_t tensor indices (inputs then
 * outputs) padded with zeros to a multiple of 4 bytes, then params_size bytes
 * of the op's params struct below. size covers all of it and is a multiple
 * of 4, so the next record starts at (this record + size).
 *
 * Scratch (format 2): the arena bytes [scratch_offset, scratch_offset +
 * scratch_size) are the op's working memory while it runs, planned by the
 * converter like a tensor that lives for that one op; scratch_size 0 means
 * none. The converter reserves what the most demanding build's kernel needs
 * for the op's shapes; the loader refuses a record reserving less than
 * this build's kernel needs. */
typedef struct {
    uint8_t opcode;         /* tml_opcode_t */
    uint8_t input_count;
    uint8_t output_count;
    uint8_t reserved;       /* 0 */
    uint16_t size;
    uint16_t params_size;   /* must equal sizeof() of the opcode's params struct */
    uint32_t scratch_offset; /* arena offset, 8-byte aligned */
    uint32_t scratch_size;
} tml_blob_op_t;

/* STAGE: inputs [first member's input], outputs [last member's output];
 * no scratch. The member_count records after it form a chain (member k+1
 * reads member k's output, every tensor between them TML_TENSOR_BAND) of
 * CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, LUT or their
 * _S16 forms (a LUT keeping its input's shape), batch 1. They run as a sliding window over rows: at step j the
 * last member's output rows up to (j + 1) * band_rows are completed, each
 * member computing only the rows of its output the next one still lacks,
 * and each band keeping only the rows a later step still reads
 * (tml_stage.c has the exact schedule, which the converter mirrors in
 * tiling.py). Every kernel call is the whole-tensor kernel on a window of
 * rows, so the bytes equal whole-tensor execution. */
typedef struct {
    uint16_t member_count;       /* 2 .. TML_STAGE_MAX_MEMBERS */
    uint16_t band_rows;          /* >= 1 */
} tml_blob_stage_t;

#define TML_STAGE_MAX_MEMBERS (32)

/* Requantisation everywhere follows TFLite: multiplier is Q31, shift is
 * TFLite's signed shift (positive = left), applied by
 * MultiplyByQuantizedMultiplier semantics. Input/output offsets come from the
 * tensors' zero points, not from the params. act_min/act_max are the clamp
 * in the output's quantised domain (fused RELU/RELU6 included). */

/* CONV_2D: inputs [input], outputs [output]; weights int8 [out_c][kh][kw][in_c].
 * DEPTHWISE_CONV_2D: weights int8 [kh][kw][in_c * depth_multiplier].
 * channel_quant: 1 (per-tensor) or out_c (per-channel) entries in multiplier/shift. */
typedef struct {
    uint16_t kernel_h, kernel_w;
    uint16_t stride_h, stride_w;
    uint16_t dilation_h, dilation_w;
    int16_t pad_top, pad_left;   /* bottom/right follow from the output shape */
    uint16_t depth_multiplier;   /* 1 for CONV_2D */
    uint16_t channel_quant;
    int32_t act_min, act_max;
    uint32_t weights;            /* data offset */
    uint32_t bias;               /* data offset of int32[out_c], or TML_NONE */
    uint32_t multiplier;         /* data offset of int32[channel_quant] */
    uint32_t shift;              /* data offset of int32[channel_quant] */
} tml_blob_conv_t;

/* FULLY_CONNECTED: input [..., in_features] (batch = elements / in_features),
 * output [batch, out_features]; weights int8 [out_features][in_features]. */
typedef struct {
    uint16_t channel_quant;      /* 1 or out_features */
    uint16_t reserved;
    int32_t act_min, act_max;
    uint32_t weights;
    uint32_t bias;               /* int32[out_features] or TML_NONE */
    uint32_t multiplier;
    uint32_t shift;
} tml_blob_fc_t;

/* CONV_2D_S16 and DEPTHWISE_CONV_2D_S16 take tml_blob_conv_t with an int64
 * bias (8-byte aligned) and shifts in [-31, 7]; their tensors are int16 with
 * zero point 0. FULLY_CONNECTED_S16 rescales by double scales (in_scale *
 * w_scale / out_scale, channel_quant of them, 8-byte aligned). */
typedef struct {
    uint16_t channel_quant;      /* 1 or out_features */
    uint16_t reserved;
    int32_t act_min, act_max;
    uint32_t weights;            /* int8 [out_features][in_features] */
    uint32_t bias;               /* int64[out_features] or TML_NONE */
    uint32_t scale;              /* double[channel_quant] */
} tml_blob_fc_s16_t;

/* REQUANTIZE: int8 or int16 in, int8 or int16 out, offsets from the
 * tensors' zero points: QUANTIZE, and TFLite's int16 RELU family and
 * LEAKY_RELU. Inputs at or above the input zero point are rescaled by
 * multiplier/shift (QuantizeMultiplier(in_scale / out_scale)), those below
 * it by negative_multiplier/negative_shift (LEAKY_RELU's alpha; the same
 * pair otherwise); the result is clamped to [act_min, act_max]. */
typedef struct {
    int32_t multiplier;
    int32_t shift;
    int32_t negative_multiplier;
    int32_t negative_shift;
    int32_t act_min, act_max;
} tml_blob_requantize_t;

/* LOGISTIC_S16, TANH_S16: TFLite's int16 input rescale
 * (x * input_multiplier) >> input_left_shift, rounded, then its 256-entry
 * table with interpolation (tml_s16_act.c). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
} tml_blob_s16_prescale_t;

/* SOFTMAX_S16 over the last dim: differences from the row maximum rescaled
 * by input_multiplier/shift, then TFLite's exp and 1/(1+x) tables, each
 * int16[TML_S16_LUT_SIZE] at a data offset (2-byte aligned). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_shift;
    uint32_t exp_lut;
    uint32_t one_over_one_plus_x_lut;
} tml_blob_softmax_s16_t;

/* DIV: inputs [a, b] broadcast NHWC to the output; all three int8 or all
 * int16; output_multiplier/shift = QuantizeMultiplier(a_scale / (b_scale *
 * out_scale)). */
typedef struct {
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_blob_div_t;

/* COMPARE: inputs [a, b] (int8 or int16, the same), output bool, broadcast.
 * kind: 0 EQUAL, 1 NOT_EQUAL, 2 LESS, 3 LESS_EQUAL, 4 GREATER, 5
 * GREATER_EQUAL; left_shift 8 and each input's QuantizeMultiplier(scale),
 * below one, as TFLite's ComparisonWithScaling. */
typedef struct {
    uint32_t kind;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
} tml_blob_compare_t;

/* LOGICAL: kind 0 AND, 1 OR (two bool inputs), 2 NOT (one). SELECT has no
 * params: inputs [condition bool, a, b], a, b and the output one dtype and
 * quantisation. */
typedef struct {
    uint32_t kind;
} tml_blob_logical_t;

/* ADD_S16, SUB_S16: TFLite's int16 add/sub (tml_s16_arith.h). pot != 0:
 * its power-of-two path, each input shifted right by -input*_shift (at most
 * one of them non-zero); otherwise both inputs << 15, rescaled by their
 * multipliers, summed, rescaled by the output's (every shift <= 0). */
typedef struct {
    int32_t pot;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_blob_add_s16_t;

/* MEAN_S16 over the dims set in axis_mask (bit i = dim i of the 4-D
 * shape), the output the kept dims in order; multiplier/shift: TFLite's
 * in_scale / out_scale rescale with 1 / (reduced count) folded in. */
typedef struct {
    int32_t multiplier, shift;
    int32_t axis_mask;
} tml_blob_mean_s16_t;

/* AVERAGE_POOL_2D, MAX_POOL_2D on NHWC. */
typedef struct {
    uint16_t filter_h, filter_w;
    uint16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int32_t act_min, act_max;
} tml_blob_pool_t;

/* MEAN over the axes set in axis_mask (bit i = dim i of the 4-D padded shape).
 * mode must be 1: requantising mean with multiplier/shift =
 * QuantizeMultiplier(input_scale / output_scale) (TFLite's QuantizedMeanOrSum,
 * which TF 2.21 uses for every int8 MEAN, equal input/output quantisation
 * included). 0 is reserved: TFLite's old truncating integer mean, which
 * BUILTIN_REF no longer uses for int8; the kernel refuses it. */
typedef struct {
    uint32_t axis_mask;
    uint32_t mode;
    int32_t multiplier;
    int32_t shift;
} tml_blob_mean_t;

/* ADD: inputs [a, b] broadcast NHWC to the output shape (TFLite int8 add). */
typedef struct {
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_blob_add_t;

/* MUL: inputs [a, b] broadcast to the output shape. */
typedef struct {
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_blob_mul_t;

/* CONCATENATION: inputs share the output's scale and zero point (TFLite
 * requires it for int8; the converter checks). axis is in the padded 4-D shape. */
typedef struct {
    int32_t axis;
} tml_blob_concat_t;

/* PAD: output[i] = input[i - before] inside, pad_value elsewhere (4-D padded). */
typedef struct {
    int32_t before[TML_MAX_RANK];
    int32_t after[TML_MAX_RANK];
    int32_t pad_value;
} tml_blob_pad_t;

/* SOFTMAX over the last axis; parameters as TFLite's Prepare computes them
 * (PreprocessSoftmaxScaling with 5 integer bits, CalculateInputRadius). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tml_blob_softmax_t;

/* LUT: output = table[(uint8_t)(input + 128)], table is 256 int8 in the data section. */
typedef struct {
    uint32_t table;
} tml_blob_lut_t;

/* REMAP: output element [i0][i1][i2][i3] (the output's 4-D padded dims) is
 * input element table[i0] + table[d0 + i1] + table[d0 + d1 + i2] +
 * table[d0 + d1 + d2 + i3]: one int32 per output index along each dim, the
 * input element offset that index contributes. Input and output have one
 * dtype; values are copied, never requantised. */
typedef struct {
    uint32_t table;          /* data offset of int32[d0 + d1 + d2 + d3] */
} tml_blob_remap_t;

/* MAXIMUM, MINIMUM: inputs [a, b] broadcast to the output shape, all three
 * quantised alike (the converter checks), so raw int8 values compare. No
 * params. */

/* TRANSPOSE_CONV: inputs [input], outputs [output] (TFLite's output_shape
 * operand is the output tensor's shape); weights int8 [out_c][kh][kw][in_c].
 * Output position in * stride - pad + tap receives input position in
 * through tap `tap`, for both spatial axes; pad_top/pad_left are TFLite's
 * padding computed on the output size (SAME: (out - 1) rounded down to a
 * multiple of the stride, plus kernel, minus out, at least 0, halved;
 * VALID: 0). */
typedef struct {
    uint16_t kernel_h, kernel_w;
    uint16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    uint16_t channel_quant;      /* 1 or out_c */
    uint16_t reserved;           /* 0 */
    int32_t act_min, act_max;
    uint32_t weights;            /* data offset */
    uint32_t bias;               /* int32[out_c] or TML_NONE */
    uint32_t multiplier;         /* int32[channel_quant] */
    uint32_t shift;              /* int32[channel_quant] */
} tml_blob_transpose_conv_t;

/* REDUCE_MAX, REDUCE_MIN, SUM, ARG_MAX, ARG_MIN: the input read as
 * [outer][reduced][inner] (row-major, its elements in order), one output per
 * (outer, inner) pair, in that order; outer * reduced * inner is the input's
 * element count and outer * inner the output's. The converter merges the
 * reduced axes into that one run (a REMAP in front moves them together when
 * they are not adjacent). REDUCE_MAX, REDUCE_MIN: input and output quantised
 * alike (TFLite requires it), raw int8 values compare; table is TML_NONE.
 * SUM: TF 2.21's kernel requantises the raw sum s in float32 (round(s *
 * in/out scale + bias) + output zero point, clamped), equal quantisations
 * included: that is a non-decreasing step function of s, and table holds its
 * 255 steps, int32, non-decreasing: step k is the smallest s giving at least
 * -127 + k, so the output is -128 plus the count of steps <= s; reduced is
 * at most 2^23. ARG_MAX, ARG_MIN: int32 output, the index along the reduced
 * run of the first largest (smallest) value; table is TML_NONE. */
typedef struct {
    int32_t outer, reduced, inner;
    uint32_t table;          /* SUM: data offset of int32[255]; TML_NONE otherwise */
} tml_blob_reduce_t;

/* SUM_S16: the reduce layout, and TF 2.21's float32 rescale of the raw sum
 * by in_scale / out_scale (a float32), given as scale_mantissa in
 * [2^23, 2^24) times 2^scale_exponent. */
typedef struct {
    int32_t outer, reduced, inner;
    int32_t scale_mantissa, scale_exponent;
} tml_blob_sum_s16_t;
/* SQUARED_DIFFERENCE: inputs [a, b] broadcast to the output shape; TFLite's
 * int8 Prepare (squared_difference.cc): left_shift 7, both inputs brought to
 * 2 * the larger input scale, the squared difference requantised by
 * output_multiplier/output_shift (below one). No activation. */
typedef struct {
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
} tml_blob_squared_difference_t;

/* PRELU: inputs [input, alpha], alpha (a constant, with its own scale and
 * zero point) broadcast to the input's shape, which is the output's. An
 * input at or above its zero point is requantised by identity_*, one below
 * it is multiplied by (alpha - alpha zero point) and requantised by alpha_*:
 * QuantizeMultiplier of s_in / s_out and s_in * s_alpha / s_out, both in
 * float32, as TFLite's PreluPrepare (activations.cc). */
typedef struct {
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
} tml_blob_prelu_t;

/* LOG_SOFTMAX over the last axis (beta 1); parameters as TFLite's reference
 * LogSoftmaxPrepare computes them (PreprocessLogSoftmaxScalingExp with 5
 * integer bits, CalculateInputRadius). reverse_multiplier/reverse_shift
 * (shift <= 0, TFLite's signed convention) undo the input scaling. The int8
 * output has scale 16/256 and zero point 127. */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t reverse_multiplier;
    int32_t reverse_shift;
    int32_t diff_min;
} tml_blob_log_softmax_t;

/* L2_NORMALIZATION over the last axis: no params. The int8 output has scale
 * 1/128 and zero point 0 (TFLite fixes both); the input's zero point comes
 * from its tensor. */
/* RESIZE_BILINEAR: input NHWC, output [n, out_h, out_w, c], one
 * quantisation (the converter checks). The coordinates and weights are
 * TFLite's integer ones, worked out from the shapes and these flags. */
typedef struct {
    uint8_t align_corners;       /* 0 or 1 */
    uint8_t half_pixel_centers;  /* 0 or 1, not both */
    uint16_t reserved;           /* 0 */
} tml_blob_resize_bilinear_t;

/* BATCH_MATMUL: inputs [lhs, rhs] (activations or constants, each with its
 * own zero point), output [..., rows, cols]; batch dims broadcast. The
 * multiplier is QuantizeMultiplier(lhs_scale * rhs_scale / out_scale) in
 * double, rescaled with TFLite's double rounding; no fused activation. */
typedef struct {
    int32_t output_multiplier, output_shift;
    uint8_t adj_x, adj_y;        /* 0 or 1: lhs / rhs stored with the last two dims swapped */
    uint16_t reserved;           /* 0 */
} tml_blob_batch_matmul_t;

/* UNIDIRECTIONAL_SEQUENCE_LSTM: inputs [input, output state, cell state],
 * outputs [output]; input and output [batch][time][.] (or [time][batch][.]
 * with TML_LSTM_TIME_MAJOR), the two states TML_TENSOR_STATE tensors (int8
 * [batch][outputs] and int16 [batch][cells]). `constants` is the data-section
 * offset of the block docs/blob-format.md lays out. */
typedef struct {
    uint32_t constants, constants_size;
    int32_t hidden_zero_point;  /* TFLite's intermediate 4 */
    int16_t cell_clip;          /* quantised; 0: none */
    int8_t proj_clip;           /* quantised; 0: none */
    int8_t cell_scale;          /* log2 of the cell state's scale, -15 .. -9 */
    uint16_t flags;             /* TML_LSTM_* of tml_kernels.h */
    uint16_t reserved;          /* 0 */
} tml_blob_lstm_t;

/* SVDF: inputs [input, state], outputs [output]; input [batch][inputs],
 * state a TML_TENSOR_STATE int16 [batch][memory * filters], output
 * [batch][units], filters = units x rank. Constants: int8 feature weights
 * [filters][inputs], int16 time weights [filters][memory], int32 bias [units]
 * (or TML_NONE). Multipliers are QuantizeMultiplier of TFLite's float
 * products input x feature / state and state x time / output. */
typedef struct {
    uint32_t weights_feature, weights_time, bias;
    int32_t rank;
    int32_t feature_multiplier, feature_shift, time_multiplier, time_shift;
} tml_blob_svdf_t;
/* ---- scikit-learn models (tml_classic.c) ----------------------------------
 * TREE_ENSEMBLE and LINEAR read a float32 input [rows, features] (rows =
 * elements / features) and write a float32 output [rows, outputs]; every
 * operand of theirs is float32, and no other op takes float32. Their float64
 * constants are little-endian IEEE binary64, 4-byte aligned like every
 * constant (the kernels read each as two 32-bit words, never as one
 * 8-byte load).
 *
 * Both work out `raw` decision values per row in double, then `post` turns
 * them into the outputs (TML_CLASSIC_POST_*); raw = outputs except for
 * LOGISTIC and SIGN2, whose one raw value gives two outputs. When two
 * outputs of a row round to the same float32 though their doubles differ,
 * the first largest double's output is raised by one ulp, so that the first
 * largest output is the class the doubles pick (sklearn's argmax). */
typedef enum {
    TML_CLASSIC_POST_NONE = 0,      /* y = raw */
    TML_CLASSIC_POST_AVERAGE = 1,   /* y = raw / tree_count (forests) */
    TML_CLASSIC_POST_LOGISTIC = 2,  /* p = 1 / (1 + exp(-raw[0])), y = [1 - p, p] */
    TML_CLASSIC_POST_SOFTMAX = 3,   /* y = exp(raw - max) / sum */
    TML_CLASSIC_POST_ISOLATION = 4, /* y = -2^(-raw / a) - b, (a, b) = post_params (IsolationForest) */
    TML_CLASSIC_POST_SIGN2 = 5,     /* y = [-raw[0], raw[0]] (binary decision_function) */
    TML_CLASSIC_POST_COUNT_
} tml_classic_post_t;

/* TREE_ENSEMBLE: raw starts at base (or 0) and each tree, in order, adds the
 * leaf_width values of the leaf x reaches to raw[(t % (raw / leaf_width)) *
 * leaf_width ...] (a forest: leaf_width = raw, every tree adds to all;
 * gradient boosting with K classes: leaf_width 1, tree t to class t % K).
 * Leaf values and base are float64 with TML_TREE_F64 (what sklearn adds, so
 * the sums are sklearn's), else float32 (the converter's choice when every
 * value is a float32).
 *
 * Nodes are in depth-first order: a node's left child is the next node, its
 * right child `right` nodes further on (right >= 1), so every walk moves
 * forward and ends. A node goes left when key(x[feature]) <= threshold, where
 * key() maps float32 bits to int32 in the order of the values (negative
 * floats have their 31 low bits flipped; -0.0 orders just below +0.0): the
 * converter rounds each float64 threshold t down to the key of the largest
 * float32 <= t (+0.0 when that is a zero), so integer compares decide
 * exactly what sklearn's `float32(x) <= t` decides. A NaN goes left when the
 * node's NAN_LEFT bit is set, right otherwise. A leaf has feature LEAF and
 * its threshold field is the index of its first value in `leaves`. */
typedef struct {
    int32_t threshold;       /* key, or a leaf's value index */
    uint16_t feature;        /* bits 0-14 the feature, bit 15 NAN_LEFT; 0xFFFF a leaf */
    uint16_t right;
} tml_tree_node16_t;

typedef struct {
    int32_t threshold;
    uint32_t feature;        /* bits 0-30 the feature, bit 31 NAN_LEFT; 0xFFFFFFFF a leaf */
    uint32_t right;
} tml_tree_node32_t;

#define TML_TREE_LEAF16 (0xFFFFu)
#define TML_TREE_NAN_LEFT16 (0x8000u)
#define TML_TREE_LEAF32 (0xFFFFFFFFu)
#define TML_TREE_NAN_LEFT32 (0x80000000u)
#define TML_TREE_WIDE (1u << 0)      /* tml_tree_node32_t records, else tml_tree_node16_t */
#define TML_TREE_F64 (1u << 1)       /* leaves and base float64, else float32 */

typedef struct {
    uint32_t nodes;          /* data offset of node_count node records */
    uint32_t node_count;
    uint32_t roots;          /* data offset of uint32[tree_count]: each tree's first node */
    uint32_t tree_count;
    uint32_t leaves;         /* data offset of leaf_values float32 or float64 */
    uint32_t leaf_values;
    uint32_t base;           /* data offset of raw float32 or float64, or TML_NONE for zeros */
    uint32_t post_params;    /* ISOLATION: data offset of float64[2]; TML_NONE otherwise */
    uint16_t raw;
    uint16_t leaf_width;     /* 1..raw, dividing raw */
    uint8_t flags;           /* TML_TREE_WIDE | TML_TREE_F64 */
    uint8_t post;            /* tml_classic_post_t */
    uint16_t reserved;       /* 0 */
} tml_blob_tree_ensemble_t;

/* LINEAR: raw[c] = bias[c] + sum over j = 0, 1, ... of weights[c][j] * x[j],
 * in double, in that order (weights and bias float64). */
typedef struct {
    uint32_t weights;        /* data offset of float64[raw][features] */
    uint32_t bias;           /* data offset of float64[raw] */
    uint16_t raw;
    uint8_t post;            /* tml_classic_post_t, not AVERAGE or ISOLATION */
    uint8_t reserved;        /* 0 */
} tml_blob_linear_t;

/* GAUSSIAN_NB: raw[c] = bias[c] - 0.5 * sum over j = 0, 1, ... of
 * (x[j] - theta[c][j])^2 / var[c][j], in double, then SOFTMAX (sklearn's
 * predict_proba); bias[c] = log(prior[c]) - 0.5 * sum_j log(2 pi var[c][j]),
 * worked out by the converter. All float64. */
typedef struct {
    uint32_t theta;          /* data offset of float64[raw][features] */
    uint32_t var;            /* data offset of float64[raw][features] */
    uint32_t bias;           /* data offset of float64[raw] */
    uint16_t raw;            /* classes, = outputs */
    uint16_t reserved;       /* 0 */
} tml_blob_gaussian_nb_t;

/* KNN: the k training points nearest x in Euclidean distance, d^2 = sum over
 * j = 0, 1, ... of (scale[j] * (x[j] - points[i][j]))^2 in double (scale
 * TML_NONE: 1), nearest first, the earlier point first among equal
 * distances. Each neighbour weighs 1 (weights 0, uniform) or 1 / d
 * (weights 1, distance; when some d is 0, those weigh 1 and the others 0).
 * A classifier (raw = classes) outputs each class's share of the weight,
 * targets[i] being point i's class index; a regressor (raw 1) the weighted
 * mean of the targets. */
typedef struct {
    uint32_t points;         /* data offset of float64[count][features] */
    uint32_t targets;        /* data offset of float64[count]: class index or value */
    uint32_t scale;          /* data offset of float64[features], or TML_NONE */
    uint32_t count;
    uint16_t k;              /* 1..TML_KNN_MAX_K, <= count */
    uint16_t raw;            /* classes, or 1 for a regressor */
    uint8_t weights;         /* 0 uniform, 1 distance */
    uint8_t regression;      /* 0 classifier, 1 regressor */
    uint16_t reserved;       /* 0 */
} tml_blob_knn_t;

#define TML_KNN_MAX_K (256)

/* SVM_RBF: libsvm's one-vs-one SVC. k_i = exp(-gamma * d^2) for every
 * support vector, d^2 = sum over j = 0, 1, ... of (scale[j] * (x[j] -
 * sv_i[j]))^2 in double (scale TML_NONE: 1), then for
 * each class pair (a, b), a < b, in order p = 0, 1, ...: dec_p =
 * intercept[p] + sum over the vectors i of class a of coef[b - 1][i] * k_i +
 * sum over those of class b of coef[a][i] * k_i (libsvm's dual coefficients
 * and intercepts, before sklearn flips a binary model's signs). Two classes:
 * outputs [dec_0, -dec_0] (sklearn's decision_function d = -dec_0 as [-d,
 * d]); more: sklearn's one-vs-rest decision_function, votes[c] + s[c] / (3
 * (|s[c]| + 1)), a pair voting a when dec_p >= 0, else b, and s[a] +=
 * dec_p, s[b] -= dec_p. */
typedef struct {
    uint32_t support;        /* data offset of float64[count][features] */
    uint32_t coef;           /* data offset of float64[classes - 1][count] */
    uint32_t intercept;      /* data offset of float64[classes * (classes - 1) / 2] */
    uint32_t starts;         /* data offset of uint32[classes + 1]: each class's first vector, then count */
    uint32_t gamma;          /* data offset of float64[1] */
    uint32_t scale;          /* data offset of float64[features], or TML_NONE */
    uint32_t count;          /* support vectors */
    uint16_t classes;        /* 2..TML_SVM_MAX_CLASSES, = outputs */
    uint16_t reserved;       /* 0 */
} tml_blob_svm_rbf_t;

#define TML_SVM_MAX_CLASSES (64)

/* Metadata records, back to back in [meta_offset, meta_offset + meta_size):
 * a header then `length` bytes, the next record starting 4-byte aligned. */
typedef struct {
    uint16_t type;
    uint16_t length;
} tml_meta_t;

typedef enum {
    TML_META_NAME = 1,          /* UTF-8 model name */
    TML_META_LABELS = 2,        /* UTF-8 labels separated by '\n' */
    TML_META_NORMALIZE = 3,     /* float32 mean[n] then float32 std[n], n = length / 8 */
    TML_META_CONVERTER = 4,     /* UTF-8 converter version */
    TML_META_SOURCE_SHA256 = 5, /* 32 bytes: SHA-256 of the source model file */
    TML_META_EMBEDDING = 8,     /* u16: index of the output that is an embedding, not a result */
} tml_meta_type_t;

#endif /* TML_BLOB_H */
