/* The op table: one entry per opcode, the only place an op is registered.
 * Internal to the loader (tml_model.c) and the op glue (tml_ops.c).
 *
 * An entry says how many operands the op's blob record has and how big its
 * params are, how to turn that record into a tml_op_t in the model's state
 * (load: translate, resolve constants, run the kernel family's check), and
 * how to run it (run: call the kernel with what load built). */
#ifndef TML_OPS_H
#define TML_OPS_H

#include "tml_model.h"
#include "tml_s16_act.h"
#include "tml_s16_arith.h"

typedef struct {
    const int8_t *weights;
    const int32_t *bias;      /* NULL: no bias */
    tml_requant_t q;
    tml_conv_params_t p;
} tml_conv_op_t;

typedef struct {
    const int8_t *weights;
    const int32_t *bias;
    tml_requant_t q;
    tml_fc_params_t p;
    int32_t batches, in_features;
} tml_fc_op_t;

typedef struct {
    const int8_t *weights;
    const int32_t *bias;
    tml_requant_t q;
    tml_transpose_conv_params_t p;
} tml_transpose_conv_op_t;

typedef struct {
    const int8_t *weights;
    const int64_t *bias;
    tml_requant_t q;
    tml_conv_params_t p;
} tml_conv_s16_op_t;

typedef struct {
    const int8_t *weights;
    const int64_t *bias;
    tml_requant_t q;
    tml_transpose_conv_params_t p;
} tml_transpose_conv_s16_op_t;

typedef struct {
    const int8_t *weights;
    const int64_t *bias;
    const uint64_t *scale_bits;
    uint16_t channel_quant;
    tml_fc_params_t p;
    int32_t batches, in_features;
} tml_fc_s16_op_t;

/* The runtime form of one op record; what it costs in RAM is
 * sizeof(tml_op_t) plus 2 bytes per operand (docs/blob-format.md). */
typedef struct tml_op {
    uint8_t opcode;
    uint8_t input_count;
    uint8_t output_count;
    uint8_t members;           /* STAGE: the records after it it runs; invoke skips them */
    const uint16_t *operands;  /* in the state: inputs, then outputs */
    uint8_t *scratch;          /* arena + scratch_offset once the arena is set; NULL without */
    uint32_t scratch_offset;
    union {
        tml_conv_op_t conv;
        tml_fc_op_t fc;
        tml_pool_params_t pool;
        tml_mean_params_t mean;
        tml_add_params_t add;
        tml_mul_params_t mul;
        tml_pad_params_t pad;
        tml_softmax_params_t softmax;
        int32_t concat_axis;
        const int8_t *lut_table;
        const int16_t *lut_table_s16;
        tml_remap_params_t remap;
        tml_transpose_conv_op_t tconv;
        tml_reduce_params_t reduce;
        tml_squared_difference_params_t squared_difference;
        tml_prelu_params_t prelu;
        tml_log_softmax_params_t log_softmax;
        tml_resize_params_t resize;
        tml_batch_matmul_params_t batch_matmul;
        tml_lstm_params_t lstm;
        tml_svdf_params_t svdf;
        tml_tree_params_t tree;
        tml_linear_params_t linear;
        tml_gaussian_nb_params_t gaussian_nb;
        tml_knn_params_t knn;
        tml_svm_params_t svm;
        tml_fc_s16_op_t fc_s16;
        tml_conv_s16_op_t conv_s16;
        tml_transpose_conv_s16_op_t tconv_s16;
        tml_requantize_params_t requantize;
        tml_div_params_t div;
        tml_compare_params_t compare;
        tml_s16_addsub_params_t add_s16;
        tml_s16_mul_params_t mul_s16;
        tml_s16_pool_params_t pool_s16;
        tml_s16_mean_params_t mean_s16;
        uint32_t logical_kind;
        tml_s16_logistic_params_t logistic_s16;
        tml_s16_tanh_params_t tanh_s16;
        tml_s16_softmax_params_t softmax_s16;
        tml_blob_stage_t stage;
    } u;
} tml_op_t;

typedef enum {
    TML_OPERANDS_INT8 = 0,         /* every operand int8 */
    TML_OPERANDS_INT32_OUTPUT = 1, /* int8 inputs, int32 output (ARG_MAX, ARG_MIN) */
    TML_OPERANDS_OWN = 2,          /* the op's load checks each operand's dtype */
    TML_OPERANDS_FLOAT32 = 3,      /* every operand float32 (the scikit-learn ops) */
    TML_OPERANDS_INT16 = 4,        /* every operand int16 (the 16x8 ops) */
    TML_OPERANDS_SAME = 5,         /* one dtype for all operands, int8 or int16 (data movement) */
} tml_operand_types_t;

/* Or'ed into an op table entry's operand_types: the scratch only makes the
 * kernel faster; a record reserving less than scratch_size() runs without
 * it (scratch NULL) instead of being refused. */
#define TML_SCRATCH_OPTIONAL (0x80u)

/* A window of rows of an op's input and output: in_h rows at `in`, read
 * with top padding pad_top, giving out_h rows at `out`. A tiled stage
 * (tml_stage.c) runs its members on such windows (tml_op_rows); the op's
 * run works on the whole tensors without the window's copies of dims and
 * params, on the hot path of every invoke. */
typedef struct {
    const uint8_t *in;
    int32_t in_h, pad_top;
    uint8_t *out;
    int32_t out_h;
} tml_rows_t;

typedef struct {
    const char *name;
    uint8_t inputs_min, inputs_max, outputs;
    uint16_t params_size;  /* the on-disk params struct */
    /* params: the record's params, 4-byte aligned, params_size bytes. */
    tml_status_t (*load)(tml_model_t *m, const void *params, tml_op_t *op);
    void (*run)(const tml_model_t *m, const tml_op_t *op);
    /* Scratch bytes this build's kernel needs for a loaded op; NULL: none. */
    uint32_t (*scratch_size)(const tml_model_t *m, const tml_op_t *op);
    /* Which dtypes the loader requires of the operands (tml_operand_types_t),
     * with TML_SCRATCH_OPTIONAL or'ed in. */
    uint8_t operand_types;
} tml_op_def_t;

extern const tml_op_def_t tml_op_defs[TML_OP_COUNT_];

/* Per opcode, the op on a window of rows, for the ops a tiled stage may
 * hold (and this build keeps); NULL otherwise. */
typedef void (*tml_run_rows_t)(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *rows);
extern const tml_run_rows_t tml_op_rows[TML_OP_COUNT_];

/* For the loaders in tml_ops.c (defined in tml_model.c). */
tml_status_t (tml_load_fail)(tml_model_t *m, tml_status_t status, const char *detail);
/* A constant of `bytes` bytes at data-section offset `offset`, aligned. */
tml_status_t (tml_load_const)(tml_model_t *m, uint32_t offset, uint64_t bytes, uint32_t align,
    const char *detail, const void **out);
/* Through TML_DETAIL, so that a terse build drops the sentences. */
#define tml_load_fail(m, status, detail) (tml_load_fail)((m), (status), TML_DETAIL(detail))
#define tml_load_const(m, offset, bytes, align, detail, out) \
    (tml_load_const)((m), (offset), (bytes), (align), TML_DETAIL(detail), (out))

/* Tensors are below 2^31 bytes (checked at load), so this fits. */
static inline int32_t tml_elements(const tml_tensor_t *t) {
    return t->dims.n * t->dims.h * t->dims.w * t->dims.c;
}

/* Bytes per element: int8 1, int16 2, int32 and float32 4. */
static inline uint32_t tml_elem_size(const tml_tensor_t *t) {
    return t->dtype == TML_DTYPE_INT8 ? 1u : t->dtype == TML_DTYPE_INT16 ? 2u : 4u;
}

/* STAGE (tml_stage.c): its record's own check, its run (the members'
 * schedule), and the check of every stage once all records are loaded. */
tml_status_t tml_load_stage(tml_model_t *m, const void *params, tml_op_t *op);
void tml_run_stage(const tml_model_t *m, const tml_op_t *op);
tml_status_t tml_load_stages(tml_model_t *m);

static inline const tml_tensor_t *tml_op_tensor(const tml_model_t *m, const tml_op_t *op, uint32_t k) {
    return &m->tensors[op->operands[k]];
}

#endif /* TML_OPS_H */
