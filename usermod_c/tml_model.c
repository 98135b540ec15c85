/* Loader, validator and executor of a tinyml blob (format in tml_blob.h).
 *
 * tml_model_init() is the only place that distrusts the blob: it checks the
 * header, the CRC, every section, every tensor and every op record, including
 * every constant an op points at and every shape relation its kernel relies
 * on, before a single kernel runs. It never reads a byte it has not first
 * proven to be inside [blob, blob + blob_size), and all size arithmetic on
 * blob values is done in 64 bits so no hostile count can wrap. After that,
 * tml_model_invoke() only resolves pointers and calls kernels. */
#include "tml_model.h"
#include "tml_kernels.h"

/* Element size per dtype; 0 marks an unknown dtype. */
static const uint8_t tml_dtype_size[] = {
    [TML_DTYPE_INT8] = 1,
    [TML_DTYPE_INT16] = 2,
    [TML_DTYPE_INT32] = 4,
};

#define TML_DTYPE_LIMIT (sizeof(tml_dtype_size) / sizeof(tml_dtype_size[0]))

/* Limits the kernels' int32 arithmetic rests on (each kernel states why and
 * refuses more itself); checking them here turns a refusal at the first
 * invoke into one at load time. A dot product of int8 weights with
 * (x - zero point) overflows int32 beyond 65536 terms; a mean sums at most
 * 2^24 int8 values; softmax sums at most 4096 exponentials in Q12. */
#define TML_MAX_ACC_TERMS (65536)
#define TML_MAX_MEAN_COUNT (1 << 24)
#define TML_MAX_SOFTMAX_DEPTH (4096)

/* Operand counts and params size each opcode's record must have. */
typedef struct {
    uint8_t inputs_min;
    uint8_t inputs_max;
    uint8_t outputs;
    uint16_t params_size;
} tml_op_spec_t;

static const tml_op_spec_t tml_op_specs[TML_OP_COUNT_] = {
    [TML_OP_CONV_2D] = {1, 1, 1, sizeof(tml_conv_params_t)},
    [TML_OP_DEPTHWISE_CONV_2D] = {1, 1, 1, sizeof(tml_conv_params_t)},
    [TML_OP_FULLY_CONNECTED] = {1, 1, 1, sizeof(tml_fc_params_t)},
    [TML_OP_AVERAGE_POOL_2D] = {1, 1, 1, sizeof(tml_pool_params_t)},
    [TML_OP_MAX_POOL_2D] = {1, 1, 1, sizeof(tml_pool_params_t)},
    [TML_OP_MEAN] = {1, 1, 1, sizeof(tml_mean_params_t)},
    [TML_OP_ADD] = {2, 2, 1, sizeof(tml_add_params_t)},
    [TML_OP_MUL] = {2, 2, 1, sizeof(tml_mul_params_t)},
    [TML_OP_CONCATENATION] = {1, 255, 1, sizeof(tml_concat_params_t)},
    [TML_OP_PAD] = {1, 1, 1, sizeof(tml_pad_params_t)},
    [TML_OP_SOFTMAX] = {1, 1, 1, sizeof(tml_softmax_params_t)},
    [TML_OP_LUT] = {1, 1, 1, sizeof(tml_lut_params_t)},
    [TML_OP_COPY] = {1, 1, 1, 0},
};

static const char *const tml_opcode_names[TML_OP_COUNT_] = {
    [TML_OP_CONV_2D] = "CONV_2D",
    [TML_OP_DEPTHWISE_CONV_2D] = "DEPTHWISE_CONV_2D",
    [TML_OP_FULLY_CONNECTED] = "FULLY_CONNECTED",
    [TML_OP_AVERAGE_POOL_2D] = "AVERAGE_POOL_2D",
    [TML_OP_MAX_POOL_2D] = "MAX_POOL_2D",
    [TML_OP_MEAN] = "MEAN",
    [TML_OP_ADD] = "ADD",
    [TML_OP_MUL] = "MUL",
    [TML_OP_CONCATENATION] = "CONCATENATION",
    [TML_OP_PAD] = "PAD",
    [TML_OP_SOFTMAX] = "SOFTMAX",
    [TML_OP_LUT] = "LUT",
    [TML_OP_COPY] = "COPY",
};

static const char *const tml_status_strs[TML_ERR_COUNT_] = {
    [TML_OK] = "ok",
    [TML_ERR_TRUNCATED] = "blob truncated",
    [TML_ERR_MAGIC] = "not a tinyml model (bad magic)",
    [TML_ERR_VERSION] = "model format newer than this runtime",
    [TML_ERR_CRC] = "checksum mismatch (corrupted model)",
    [TML_ERR_ALIGNMENT] = "misaligned data",
    [TML_ERR_BAD_OFFSET] = "offset or size out of range",
    [TML_ERR_BAD_SHAPE] = "invalid or inconsistent shape",
    [TML_ERR_BAD_PARAM] = "invalid op parameter",
    [TML_ERR_UNSUPPORTED_OP] = "unsupported op",
    [TML_ERR_ARENA_TOO_SMALL] = "arena too small",
    [TML_ERR_BAD_TENSOR] = "invalid tensor",
};

const char *tml_status_str(tml_status_t status) {
    if ((unsigned)status >= TML_ERR_COUNT_) {
        return "unknown status";
    }
    return tml_status_strs[status];
}

const char *tml_opcode_name(uint8_t opcode) {
    if (opcode >= TML_OP_COUNT_ || tml_opcode_names[opcode] == 0) {
        return "UNKNOWN";
    }
    return tml_opcode_names[opcode];
}

/* One op record, split into its parts. Records are 4-byte aligned and the
 * index list is padded to 4 bytes, so params can be read in place. */
typedef struct {
    const tml_op_header_t *h;
    const uint16_t *in;  /* h->input_count indices */
    const uint16_t *out; /* h->output_count indices */
    const void *params;
} tml_op_view_t;

static uint32_t tml_op_index_bytes(const tml_op_header_t *h) {
    return ((uint32_t)(h->input_count + h->output_count) * 2u + 3u) & ~3u;
}

static void tml_op_view(const uint8_t *record, tml_op_view_t *v) {
    v->h = (const tml_op_header_t *)record;
    v->in = (const uint16_t *)(record + sizeof(tml_op_header_t));
    v->out = v->in + v->h->input_count;
    v->params = record + sizeof(tml_op_header_t) + tml_op_index_bytes(v->h);
}

static tml_status_t tml_fail(tml_model_t *m, tml_status_t status, const char *detail) {
    m->error.status = status;
    m->error.detail = detail;
    return status;
}

static void tml_dims_of(const tml_tensor_t *t, tml_dims_t *d) {
    d->n = t->dims[0];
    d->h = t->dims[1];
    d->w = t->dims[2];
    d->c = t->dims[3];
}

/* Valid after init: dims were checked to multiply to at most INT32_MAX bytes. */
static int32_t tml_elements(const tml_tensor_t *t) {
    return t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3];
}

uint32_t tml_model_input_count(const tml_model_t *m) {
    return m->header->input_count;
}

uint32_t tml_model_output_count(const tml_model_t *m) {
    return m->header->output_count;
}

uint32_t tml_model_input_index(const tml_model_t *m, uint32_t i) {
    return m->io[i];
}

uint32_t tml_model_output_index(const tml_model_t *m, uint32_t i) {
    return m->io[m->header->input_count + i];
}

const tml_tensor_t *tml_model_tensor(const tml_model_t *m, uint32_t index) {
    return &m->tensors[index];
}

uint32_t tml_model_tensor_bytes(const tml_model_t *m, uint32_t index) {
    const tml_tensor_t *t = &m->tensors[index];
    return (uint32_t)tml_elements(t) * tml_dtype_size[t->dtype];
}

/* Constant tensors live in the (read-only) data section; the cast drops
 * const only so one accessor serves both kinds. Kernels never write them:
 * init refuses a constant tensor as any op's output. */
uint8_t *tml_model_tensor_data(const tml_model_t *m, uint32_t index) {
    const tml_tensor_t *t = &m->tensors[index];
    if (t->flags & TML_TENSOR_CONST) {
        return (uint8_t *)(uintptr_t)(m->data + t->offset);
    }
    if (m->arena == 0) {
        return 0;
    }
    return m->arena + t->offset;
}

const uint8_t *tml_model_meta(const tml_model_t *m, uint16_t type, uint32_t *length) {
    const tml_blob_header_t *h = m->header;
    if (h == 0 || h->meta_size == 0) {
        return 0;
    }
    const uint8_t *p = m->blob + h->meta_offset;
    uint32_t left = h->meta_size;
    /* Walked at init too; re-checked here because it costs nothing. */
    while (left >= sizeof(tml_meta_t)) {
        const tml_meta_t *rec = (const tml_meta_t *)p;
        uint32_t body = rec->length;
        uint32_t step = ((uint32_t)sizeof(tml_meta_t) + body + 3u) & ~3u;
        if ((uint32_t)sizeof(tml_meta_t) + body > left) {
            return 0;
        }
        if (rec->type == type) {
            if (length) {
                *length = body;
            }
            return p + sizeof(tml_meta_t);
        }
        if (step >= left) {
            return 0;
        }
        p += step;
        left -= step;
    }
    return 0;
}

/* ---- validation helpers ---------------------------------------------- */

/* A section [offset, offset + size) of the blob: after the header, inside
 * total_size, aligned. Empty sections are allowed anywhere (never read). */
static tml_status_t tml_check_section(tml_model_t *m, uint32_t offset, uint64_t size,
    uint32_t align, const char *detail) {
    const tml_blob_header_t *h = m->header;
    if (size == 0) {
        return TML_OK;
    }
    if (offset < h->header_size || (uint64_t)offset + size > h->total_size) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, detail);
    }
    if (offset % align != 0) {
        return tml_fail(m, TML_ERR_ALIGNMENT, detail);
    }
    return TML_OK;
}

static int tml_overlap(uint32_t a, uint64_t a_size, uint32_t b, uint64_t b_size) {
    if (a_size == 0 || b_size == 0) {
        return 0;
    }
    return (uint64_t)a < (uint64_t)b + b_size && (uint64_t)b < (uint64_t)a + a_size;
}

/* A constant array of `bytes` bytes at data offset `offset`, aligned to `align`. */
static tml_status_t tml_check_const(tml_model_t *m, uint32_t offset, uint64_t bytes,
    uint32_t align, const char *detail) {
    if (offset == TML_NONE || (uint64_t)offset + bytes > m->header->data_size) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, detail);
    }
    if (offset % align != 0) {
        return tml_fail(m, TML_ERR_ALIGNMENT, detail);
    }
    return TML_OK;
}

/* int32 requantisation arrays: in the data section, multipliers non-negative
 * Q31 values, shifts within what tml_multiply_by_quantized_multiplier takes. */
static tml_status_t tml_check_requant_arrays(tml_model_t *m, uint32_t multiplier,
    uint32_t shift, uint32_t count) {
    tml_status_t s = tml_check_const(m, multiplier, (uint64_t)count * 4u, 4,
        "multipliers outside data section");
    if (s != TML_OK) {
        return s;
    }
    s = tml_check_const(m, shift, (uint64_t)count * 4u, 4, "shifts outside data section");
    if (s != TML_OK) {
        return s;
    }
    const int32_t *mul = (const int32_t *)(m->data + multiplier);
    const int32_t *sh = (const int32_t *)(m->data + shift);
    for (uint32_t i = 0; i < count; i++) {
        if (mul[i] < 0) {
            return tml_fail(m, TML_ERR_BAD_PARAM, "negative multiplier");
        }
        if (sh[i] < -31 || sh[i] > 30) {
            return tml_fail(m, TML_ERR_BAD_PARAM, "shift outside [-31, 30]");
        }
    }
    return TML_OK;
}

static tml_status_t tml_check_scalar_requant(tml_model_t *m, int32_t multiplier, int32_t shift) {
    if (multiplier < 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "negative multiplier");
    }
    if (shift < -31 || shift > 30) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "shift outside [-31, 30]");
    }
    return TML_OK;
}

static tml_status_t tml_check_activation(tml_model_t *m, int32_t act_min, int32_t act_max) {
    if (act_min < -128 || act_max > 127 || act_min > act_max) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "activation range outside int8 or empty");
    }
    return TML_OK;
}

/* One spatial axis of a sliding window (conv or pool). TFLite's SAME and
 * VALID padding always give pad_before <= effective_kernel - 1 and make the
 * last window start inside the input; requiring both means every window
 * covers at least one input position for pools (no divide by zero in
 * average pooling) and no kernel strays further into padding than TFLite. */
static tml_status_t tml_check_window(tml_model_t *m, int32_t in, int32_t out,
    uint16_t kernel, uint16_t stride, uint16_t dilation, int16_t pad_before) {
    if (kernel == 0 || stride == 0 || dilation == 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "zero kernel, stride or dilation");
    }
    int64_t effective = ((int64_t)kernel - 1) * dilation + 1;
    if (pad_before < 0 || pad_before > effective - 1) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "padding outside [0, kernel - 1]");
    }
    if (((int64_t)out - 1) * stride > (int64_t)in - 1 + pad_before) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "output larger than the input and padding allow");
    }
    return TML_OK;
}

static tml_status_t tml_check_conv(tml_model_t *m, const tml_op_view_t *v) {
    const tml_conv_params_t *p = (const tml_conv_params_t *)v->params;
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    const int depthwise = v->h->opcode == TML_OP_DEPTHWISE_CONV_2D;
    const int32_t in_c = in->dims[3];
    const int32_t out_c = out->dims[3];
    tml_status_t s;

    if (in->dims[0] != out->dims[0]) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "batch of input and output differ");
    }
    if (depthwise) {
        if (p->depth_multiplier == 0 || (int64_t)in_c * p->depth_multiplier != out_c) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "output channels != input channels * depth_multiplier");
        }
    } else if (p->depth_multiplier != 1) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "depth_multiplier must be 1 for CONV_2D");
    }
    s = tml_check_window(m, in->dims[1], out->dims[1], p->kernel_h, p->stride_h, p->dilation_h, p->pad_top);
    if (s != TML_OK) {
        return s;
    }
    s = tml_check_window(m, in->dims[2], out->dims[2], p->kernel_w, p->stride_w, p->dilation_w, p->pad_left);
    if (s != TML_OK) {
        return s;
    }
    s = tml_check_activation(m, p->act_min, p->act_max);
    if (s != TML_OK) {
        return s;
    }
    const uint64_t taps = (uint64_t)p->kernel_h * p->kernel_w * (uint64_t)(depthwise ? 1 : in_c);
    if (taps > TML_MAX_ACC_TERMS) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "kernel longer than 65536 terms (int32 accumulator)");
    }
    /* taps <= 2^16 and out_c < 2^31: no 64-bit overflow. */
    const uint64_t weight_bytes = taps * (uint64_t)out_c;
    s = tml_check_const(m, p->weights, weight_bytes, 1, "weights outside data section");
    if (s != TML_OK) {
        return s;
    }
    if (p->bias != TML_NONE) {
        s = tml_check_const(m, p->bias, (uint64_t)out_c * 4u, 4, "bias outside data section");
        if (s != TML_OK) {
            return s;
        }
    }
    if (p->channel_quant != 1 && p->channel_quant != out_c) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output channels");
    }
    return tml_check_requant_arrays(m, p->multiplier, p->shift, p->channel_quant);
}

static tml_status_t tml_check_fc(tml_model_t *m, const tml_op_view_t *v) {
    const tml_fc_params_t *p = (const tml_fc_params_t *)v->params;
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    const int32_t out_features = out->dims[3];
    const int32_t batches = tml_elements(out) / out_features;
    tml_status_t s;

    if (tml_elements(in) % batches != 0) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "input elements not a multiple of the batch");
    }
    const int32_t in_features = tml_elements(in) / batches;
    if (in_features > TML_MAX_ACC_TERMS) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "more than 65536 input features (int32 accumulator)");
    }
    s = tml_check_activation(m, p->act_min, p->act_max);
    if (s != TML_OK) {
        return s;
    }
    s = tml_check_const(m, p->weights, (uint64_t)out_features * (uint64_t)in_features, 1,
        "weights outside data section");
    if (s != TML_OK) {
        return s;
    }
    if (p->bias != TML_NONE) {
        s = tml_check_const(m, p->bias, (uint64_t)out_features * 4u, 4, "bias outside data section");
        if (s != TML_OK) {
            return s;
        }
    }
    if (p->channel_quant != 1 && p->channel_quant != out_features) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "channel_quant is neither 1 nor output features");
    }
    return tml_check_requant_arrays(m, p->multiplier, p->shift, p->channel_quant);
}

static tml_status_t tml_check_pool(tml_model_t *m, const tml_op_view_t *v) {
    const tml_pool_params_t *p = (const tml_pool_params_t *)v->params;
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    tml_status_t s;

    if (in->dims[0] != out->dims[0] || in->dims[3] != out->dims[3]) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "batch or channels of input and output differ");
    }
    s = tml_check_window(m, in->dims[1], out->dims[1], p->filter_h, p->stride_h, 1, p->pad_top);
    if (s != TML_OK) {
        return s;
    }
    s = tml_check_window(m, in->dims[2], out->dims[2], p->filter_w, p->stride_w, 1, p->pad_left);
    if (s != TML_OK) {
        return s;
    }
    return tml_check_activation(m, p->act_min, p->act_max);
}

/* The kernel writes one output per combination of the kept axes, in order;
 * whether the reduced axes were kept as 1s or squeezed away by the converter
 * does not change that count. */
static tml_status_t tml_check_mean(tml_model_t *m, const tml_op_view_t *v) {
    const tml_mean_params_t *p = (const tml_mean_params_t *)v->params;
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];

    if (p->axis_mask == 0 || (p->axis_mask & ~0xFu) != 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "axis_mask outside the 4 dims");
    }
    int32_t kept = 1;
    int32_t count = 1;
    for (int i = 0; i < TML_MAX_RANK; i++) {
        if (!(p->axis_mask & (1u << i))) {
            kept *= in->dims[i];
        } else {
            count *= in->dims[i];
        }
    }
    if (count > TML_MAX_MEAN_COUNT) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "mean over more than 2^24 values");
    }
    if (kept != tml_elements(out)) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "output size != product of kept input dims");
    }
    /* Mode 0 (TFLite's old truncating mean) is reserved: TFLite no longer
     * uses it for int8 and the kernel does not implement it. */
    if (p->mode != 1) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "mean mode is not 1");
    }
    return tml_check_scalar_requant(m, p->multiplier, p->shift);
}

static tml_status_t tml_check_broadcast(tml_model_t *m, const tml_op_view_t *v) {
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    for (int k = 0; k < 2; k++) {
        const tml_tensor_t *in = &m->tensors[v->in[k]];
        for (int i = 0; i < TML_MAX_RANK; i++) {
            if (in->dims[i] != 1 && in->dims[i] != out->dims[i]) {
                return tml_fail(m, TML_ERR_BAD_SHAPE, "input dim neither 1 nor the output's");
            }
        }
    }
    return TML_OK;
}

static tml_status_t tml_check_add(tml_model_t *m, const tml_op_view_t *v) {
    const tml_add_params_t *p = (const tml_add_params_t *)v->params;
    tml_status_t s = tml_check_broadcast(m, v);
    if (s != TML_OK) {
        return s;
    }
    /* TFLite's Prepare uses left_shift 20 and input multipliers below one;
     * the kernel's no-overflow argument (sum of both scaled inputs below
     * 2^31) rests on exactly that. */
    if (p->left_shift < 0 || p->left_shift > 20) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "left_shift outside [0, 20]");
    }
    if (p->input1_shift > 0 || p->input2_shift > 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "ADD input multiplier above one");
    }
    s = tml_check_scalar_requant(m, p->input1_multiplier, p->input1_shift);
    if (s == TML_OK) {
        s = tml_check_scalar_requant(m, p->input2_multiplier, p->input2_shift);
    }
    if (s == TML_OK) {
        s = tml_check_scalar_requant(m, p->output_multiplier, p->output_shift);
    }
    if (s == TML_OK) {
        s = tml_check_activation(m, p->act_min, p->act_max);
    }
    return s;
}

static tml_status_t tml_check_mul(tml_model_t *m, const tml_op_view_t *v) {
    const tml_mul_params_t *p = (const tml_mul_params_t *)v->params;
    tml_status_t s = tml_check_broadcast(m, v);
    if (s == TML_OK) {
        s = tml_check_scalar_requant(m, p->output_multiplier, p->output_shift);
    }
    if (s == TML_OK) {
        s = tml_check_activation(m, p->act_min, p->act_max);
    }
    return s;
}

static tml_status_t tml_check_concat(tml_model_t *m, const tml_op_view_t *v) {
    const tml_concat_params_t *p = (const tml_concat_params_t *)v->params;
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    if (p->axis < 0 || p->axis >= TML_MAX_RANK) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "concatenation axis outside [0, 3]");
    }
    int64_t total = 0;
    for (uint32_t k = 0; k < v->h->input_count; k++) {
        const tml_tensor_t *in = &m->tensors[v->in[k]];
        for (int i = 0; i < TML_MAX_RANK; i++) {
            if (i != p->axis && in->dims[i] != out->dims[i]) {
                return tml_fail(m, TML_ERR_BAD_SHAPE, "concatenation inputs differ off the axis");
            }
        }
        total += in->dims[p->axis];
    }
    if (total != out->dims[p->axis]) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "concatenation inputs do not sum to the output");
    }
    return TML_OK;
}

static tml_status_t tml_check_pad(tml_model_t *m, const tml_op_view_t *v) {
    const tml_pad_params_t *p = (const tml_pad_params_t *)v->params;
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    for (int i = 0; i < TML_MAX_RANK; i++) {
        if (p->before[i] < 0 || p->after[i] < 0) {
            return tml_fail(m, TML_ERR_BAD_PARAM, "negative padding");
        }
        if ((int64_t)in->dims[i] + p->before[i] + p->after[i] != out->dims[i]) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "output dims != input dims + padding");
        }
    }
    if (p->pad_value < -128 || p->pad_value > 127) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "pad value outside int8");
    }
    return TML_OK;
}

static tml_status_t tml_check_same_dims(tml_model_t *m, const tml_op_view_t *v) {
    const tml_tensor_t *in = &m->tensors[v->in[0]];
    const tml_tensor_t *out = &m->tensors[v->out[0]];
    for (int i = 0; i < TML_MAX_RANK; i++) {
        if (in->dims[i] != out->dims[i]) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "input and output dims differ");
        }
    }
    return TML_OK;
}

static tml_status_t tml_check_softmax(tml_model_t *m, const tml_op_view_t *v) {
    const tml_softmax_params_t *p = (const tml_softmax_params_t *)v->params;
    tml_status_t s = tml_check_same_dims(m, v);
    if (s != TML_OK) {
        return s;
    }
    if (p->input_multiplier < 0 || p->input_left_shift < 0 || p->input_left_shift > 31
        || p->diff_min > 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "softmax scaling out of range");
    }
    if (m->tensors[v->in[0]].dims[3] > TML_MAX_SOFTMAX_DEPTH) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "softmax over more than 4096 values");
    }
    return TML_OK;
}

static tml_status_t tml_check_same_size(tml_model_t *m, const tml_op_view_t *v) {
    if (tml_elements(&m->tensors[v->in[0]]) != tml_elements(&m->tensors[v->out[0]])) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "input and output sizes differ");
    }
    return TML_OK;
}

static tml_status_t tml_check_lut(tml_model_t *m, const tml_op_view_t *v) {
    const tml_lut_params_t *p = (const tml_lut_params_t *)v->params;
    tml_status_t s = tml_check_same_size(m, v);
    if (s != TML_OK) {
        return s;
    }
    return tml_check_const(m, p->table, 256, 1, "table outside data section");
}

/* Record framing, operand indices and dtypes, then the op's own rules. The
 * caller has checked that the record header is inside the ops section. */
static tml_status_t tml_check_op(tml_model_t *m, const uint8_t *record, uint32_t left) {
    const tml_op_header_t *h = (const tml_op_header_t *)record;
    if (h->opcode == 0 || h->opcode >= TML_OP_COUNT_) {
        return tml_fail(m, TML_ERR_UNSUPPORTED_OP, "unknown opcode");
    }
    const tml_op_spec_t *spec = &tml_op_specs[h->opcode];
    if (h->size % 4 != 0 || h->size > left) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, "op record size not a multiple of 4 or past the ops section");
    }
    if (h->reserved != 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "op reserved byte not 0");
    }
    if (h->input_count < spec->inputs_min || h->input_count > spec->inputs_max
        || h->output_count != spec->outputs) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "wrong number of inputs or outputs for the op");
    }
    if (h->params_size != spec->params_size) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "params_size does not match the op");
    }
    if ((uint32_t)sizeof(tml_op_header_t) + tml_op_index_bytes(h) + h->params_size > h->size) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, "op record smaller than its contents");
    }
    tml_op_view_t v;
    tml_op_view(record, &v);
    for (uint32_t k = 0; k < (uint32_t)h->input_count + h->output_count; k++) {
        uint16_t index = v.in[k];
        if (index >= m->header->tensor_count) {
            return tml_fail(m, TML_ERR_BAD_TENSOR, "op tensor index out of range");
        }
        const tml_tensor_t *t = &m->tensors[index];
        if (t->dtype != TML_DTYPE_INT8) {
            return tml_fail(m, TML_ERR_BAD_TENSOR, "op operand is not int8");
        }
        if (k >= h->input_count && (t->flags & TML_TENSOR_CONST)) {
            return tml_fail(m, TML_ERR_BAD_TENSOR, "op output is a constant tensor");
        }
    }
    switch (h->opcode) {
        case TML_OP_CONV_2D:
        case TML_OP_DEPTHWISE_CONV_2D:
            return tml_check_conv(m, &v);
        case TML_OP_FULLY_CONNECTED:
            return tml_check_fc(m, &v);
        case TML_OP_AVERAGE_POOL_2D:
        case TML_OP_MAX_POOL_2D:
            return tml_check_pool(m, &v);
        case TML_OP_MEAN:
            return tml_check_mean(m, &v);
        case TML_OP_ADD:
            return tml_check_add(m, &v);
        case TML_OP_MUL:
            return tml_check_mul(m, &v);
        case TML_OP_CONCATENATION:
            return tml_check_concat(m, &v);
        case TML_OP_PAD:
            return tml_check_pad(m, &v);
        case TML_OP_SOFTMAX:
            return tml_check_softmax(m, &v);
        case TML_OP_LUT:
            return tml_check_lut(m, &v);
        default: /* TML_OP_COPY: the only opcode left after the range check */
            return tml_check_same_size(m, &v);
    }
}

static tml_status_t tml_check_tensor(tml_model_t *m, const tml_tensor_t *t) {
    const tml_blob_header_t *h = m->header;
    if (t->dtype >= TML_DTYPE_LIMIT || tml_dtype_size[t->dtype] == 0) {
        return tml_fail(m, TML_ERR_BAD_TENSOR, "unknown dtype");
    }
    if (t->rank < 1 || t->rank > TML_MAX_RANK) {
        return tml_fail(m, TML_ERR_BAD_SHAPE, "rank outside 1..4");
    }
    if ((t->flags & ~TML_TENSOR_CONST) != 0) {
        return tml_fail(m, TML_ERR_BAD_TENSOR, "unknown tensor flags");
    }
    const uint32_t size = tml_dtype_size[t->dtype];
    uint64_t bytes = size;
    for (int i = 0; i < TML_MAX_RANK; i++) {
        if (t->dims[i] < 1) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "dim < 1");
        }
        if (i < TML_MAX_RANK - t->rank && t->dims[i] != 1) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "dims not left-padded with 1s");
        }
        /* Checked every step, so the product never exceeds 2^31 * 2^31. */
        bytes *= (uint32_t)t->dims[i];
        if (bytes > INT32_MAX) {
            return tml_fail(m, TML_ERR_BAD_SHAPE, "tensor larger than 2^31 bytes");
        }
    }
    if (t->dtype == TML_DTYPE_INT8 && (t->zero_point < -128 || t->zero_point > 127)) {
        return tml_fail(m, TML_ERR_BAD_TENSOR, "zero point outside int8");
    }
    if (t->offset % size != 0) {
        return tml_fail(m, TML_ERR_ALIGNMENT, "tensor offset not aligned to its element size");
    }
    uint64_t limit = (t->flags & TML_TENSOR_CONST) ? h->data_size : h->arena_size;
    if ((uint64_t)t->offset + bytes > limit) {
        return tml_fail(m, TML_ERR_BAD_OFFSET,
            (t->flags & TML_TENSOR_CONST) ? "constant tensor outside data section"
            : "tensor outside the arena");
    }
    return TML_OK;
}

static tml_status_t tml_check_meta(tml_model_t *m) {
    const tml_blob_header_t *h = m->header;
    const uint8_t *p = m->blob + h->meta_offset;
    uint32_t left = h->meta_size;
    while (left > 0) {
        if (left < sizeof(tml_meta_t)) {
            return tml_fail(m, TML_ERR_BAD_OFFSET, "metadata record header past the section");
        }
        const tml_meta_t *rec = (const tml_meta_t *)p;
        uint32_t used = (uint32_t)sizeof(tml_meta_t) + rec->length;
        if (used > left) {
            return tml_fail(m, TML_ERR_BAD_OFFSET, "metadata record past the section");
        }
        uint32_t step = (used + 3u) & ~3u;
        if (step >= left) {
            break;
        }
        p += step;
        left -= step;
    }
    return TML_OK;
}

static tml_status_t tml_check_header(tml_model_t *m, const uint8_t *blob, uint32_t blob_size) {
    if (blob == 0 || ((uintptr_t)blob & 3u) != 0) {
        return tml_fail(m, TML_ERR_ALIGNMENT, "blob not 4-byte aligned");
    }
    const tml_blob_header_t *h = (const tml_blob_header_t *)blob;
    /* Magic and version first, so a foreign or newer file is named as such
     * even when its header is shorter or longer than ours. */
    if (blob_size < 4 || h->magic != TML_BLOB_MAGIC) {
        return tml_fail(m, blob_size < 4 ? TML_ERR_TRUNCATED : TML_ERR_MAGIC,
            blob_size < 4 ? "blob shorter than the magic" : "not a tinyml blob");
    }
    if (blob_size < 8) {
        return tml_fail(m, TML_ERR_TRUNCATED, "blob shorter than the version");
    }
    if (h->version > TML_BLOB_VERSION) {
        return tml_fail(m, TML_ERR_VERSION, "model format version newer than this runtime; update the firmware");
    }
    if (h->version == 0) {
        return tml_fail(m, TML_ERR_VERSION, "model format version 0");
    }
    if (blob_size < sizeof(tml_blob_header_t)) {
        return tml_fail(m, TML_ERR_TRUNCATED, "blob shorter than the header");
    }
    if (h->header_size != sizeof(tml_blob_header_t)) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, "header_size is not 64");
    }
    if (h->total_size > blob_size) {
        return tml_fail(m, TML_ERR_TRUNCATED, "blob shorter than total_size");
    }
    if (h->total_size < h->header_size) {
        return tml_fail(m, TML_ERR_BAD_OFFSET, "total_size smaller than the header");
    }
    if (tml_crc32(blob + 16, h->total_size - 16u) != h->crc32) {
        return tml_fail(m, TML_ERR_CRC, "CRC-32 mismatch: the model file is corrupted");
    }
    if (h->flags != 0 || h->reserved != 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "reserved header fields not 0");
    }
    m->header = h;
    return TML_OK;
}

static tml_status_t tml_check_sections(tml_model_t *m) {
    const tml_blob_header_t *h = m->header;
    const uint64_t tensors_size = (uint64_t)h->tensor_count * sizeof(tml_tensor_t);
    const uint64_t io_size = ((uint64_t)h->input_count + h->output_count) * 2u;
    tml_status_t s;

    if (h->input_count == 0 || h->output_count == 0) {
        return tml_fail(m, TML_ERR_BAD_TENSOR, "model without inputs or outputs");
    }
    s = tml_check_section(m, h->tensors_offset, tensors_size, 4, "tensor table outside the blob");
    if (s == TML_OK) {
        s = tml_check_section(m, h->io_offset, io_size, 4, "io table outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->ops_offset, h->ops_size, 4, "ops section outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->data_offset, h->data_size, 8, "data section outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->meta_offset, h->meta_size, 4, "metadata outside the blob");
    }
    if (s != TML_OK) {
        return s;
    }
    const uint32_t offsets[5] = {h->tensors_offset, h->io_offset, h->ops_offset, h->data_offset, h->meta_offset};
    const uint64_t sizes[5] = {tensors_size, io_size, h->ops_size, h->data_size, h->meta_size};
    for (int i = 0; i < 5; i++) {
        for (int j = i + 1; j < 5; j++) {
            if (tml_overlap(offsets[i], sizes[i], offsets[j], sizes[j])) {
                return tml_fail(m, TML_ERR_BAD_OFFSET, "sections overlap");
            }
        }
    }
    m->tensors = (const tml_tensor_t *)(m->blob + h->tensors_offset);
    m->io = (const uint16_t *)(m->blob + h->io_offset);
    m->ops = m->blob + h->ops_offset;
    m->data = m->blob + h->data_offset;
    return TML_OK;
}

tml_status_t tml_model_init(tml_model_t *m, const uint8_t *blob, uint32_t blob_size) {
    tml_status_t s;
    m->blob = blob;
    m->blob_size = blob_size;
    m->header = 0;
    m->tensors = 0;
    m->io = 0;
    m->ops = 0;
    m->data = 0;
    m->arena = 0;
    m->arena_size = 0;
    m->error.status = TML_OK;
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->error.detail = "";

    s = tml_check_header(m, blob, blob_size);
    if (s == TML_OK) {
        s = tml_check_sections(m);
    }
    if (s == TML_OK) {
        s = tml_check_meta(m);
    }
    if (s != TML_OK) {
        m->header = 0;
        return s;
    }
    const tml_blob_header_t *h = m->header;
    for (uint32_t i = 0; i < h->tensor_count && s == TML_OK; i++) {
        s = tml_check_tensor(m, &m->tensors[i]);
    }
    for (uint32_t i = 0; i < (uint32_t)h->input_count + h->output_count && s == TML_OK; i++) {
        uint16_t index = m->io[i];
        if (index >= h->tensor_count) {
            s = tml_fail(m, TML_ERR_BAD_TENSOR, "model input/output index out of range");
        } else if (m->tensors[index].flags & TML_TENSOR_CONST) {
            s = tml_fail(m, TML_ERR_BAD_TENSOR, "model input/output is a constant tensor");
        } else if (m->tensors[index].dtype != TML_DTYPE_INT8) {
            s = tml_fail(m, TML_ERR_BAD_TENSOR, "model input/output is not int8");
        }
    }
    uint32_t pos = 0;
    for (uint32_t i = 0; i < h->op_count && s == TML_OK; i++) {
        m->error.op_index = (int32_t)i;
        if (h->ops_size - pos < sizeof(tml_op_header_t)) {
            m->error.opcode = 0;
            s = tml_fail(m, TML_ERR_BAD_OFFSET, "op record past the ops section");
            break;
        }
        const tml_op_header_t *oh = (const tml_op_header_t *)(m->ops + pos);
        m->error.opcode = oh->opcode;
        s = tml_check_op(m, m->ops + pos, h->ops_size - pos);
        pos += oh->size;
    }
    if (s == TML_OK && pos != h->ops_size) {
        s = tml_fail(m, TML_ERR_BAD_OFFSET, "ops_size does not match the op records");
    }
    if (s != TML_OK) {
        m->header = 0;
        return s;
    }
    m->error.op_index = -1;
    m->error.opcode = 0;
    return TML_OK;
}

tml_status_t tml_model_set_arena(tml_model_t *m, uint8_t *arena, uint32_t arena_size) {
    if (m->header == 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "model not initialised");
    }
    if (arena == 0 || ((uintptr_t)arena & 7u) != 0) {
        return tml_fail(m, TML_ERR_ALIGNMENT, "arena not 8-byte aligned");
    }
    if (arena_size < m->header->arena_size) {
        return tml_fail(m, TML_ERR_ARENA_TOO_SMALL, "arena smaller than the model's arena_size");
    }
    m->arena = arena;
    m->arena_size = arena_size;
    return TML_OK;
}

/* ---- executor --------------------------------------------------------- */

static tml_requant_t tml_requant_of(const tml_model_t *m, const tml_tensor_t *in,
    const tml_tensor_t *out, uint32_t multiplier, uint32_t shift, uint16_t channel_quant) {
    tml_requant_t q;
    q.input_offset = -in->zero_point;
    q.output_offset = out->zero_point;
    q.multiplier = (const int32_t *)(m->data + multiplier);
    q.shift = (const int32_t *)(m->data + shift);
    q.channel_quant = channel_quant;
    return q;
}

static tml_status_t tml_run_op(tml_model_t *m, const tml_op_view_t *v) {
    const tml_tensor_t *t_in = &m->tensors[v->in[0]];
    const tml_tensor_t *t_out = &m->tensors[v->out[0]];
    const int8_t *in = (const int8_t *)tml_model_tensor_data(m, v->in[0]);
    int8_t *out = (int8_t *)tml_model_tensor_data(m, v->out[0]);
    tml_dims_t in_dims;
    tml_dims_t out_dims;
    tml_dims_of(t_in, &in_dims);
    tml_dims_of(t_out, &out_dims);

    switch (v->h->opcode) {
        case TML_OP_CONV_2D:
        case TML_OP_DEPTHWISE_CONV_2D: {
            const tml_conv_params_t *p = (const tml_conv_params_t *)v->params;
            tml_requant_t q = tml_requant_of(m, t_in, t_out, p->multiplier, p->shift, p->channel_quant);
            const int8_t *weights = (const int8_t *)(m->data + p->weights);
            const int32_t *bias = p->bias == TML_NONE ? 0 : (const int32_t *)(m->data + p->bias);
            if (v->h->opcode == TML_OP_CONV_2D) {
                return tml_conv_s8(p, &q, &in_dims, in, weights, bias, &out_dims, out);
            }
            return tml_depthwise_conv_s8(p, &q, &in_dims, in, weights, bias, &out_dims, out);
        }
        case TML_OP_FULLY_CONNECTED: {
            const tml_fc_params_t *p = (const tml_fc_params_t *)v->params;
            tml_requant_t q = tml_requant_of(m, t_in, t_out, p->multiplier, p->shift, p->channel_quant);
            const int32_t batches = tml_elements(t_out) / out_dims.c;
            const int32_t *bias = p->bias == TML_NONE ? 0 : (const int32_t *)(m->data + p->bias);
            return tml_fully_connected_s8(p, &q, batches, tml_elements(t_in) / batches, in,
                (const int8_t *)(m->data + p->weights), bias, out_dims.c, out);
        }
        case TML_OP_AVERAGE_POOL_2D:
            return tml_avg_pool_s8((const tml_pool_params_t *)v->params, &in_dims, in, &out_dims, out);
        case TML_OP_MAX_POOL_2D:
            return tml_max_pool_s8((const tml_pool_params_t *)v->params, &in_dims, in, &out_dims, out);
        case TML_OP_MEAN:
            return tml_mean_s8((const tml_mean_params_t *)v->params, t_in->zero_point,
                t_out->zero_point, &in_dims, in, &out_dims, out);
        case TML_OP_ADD:
        case TML_OP_MUL: {
            const tml_tensor_t *t_in2 = &m->tensors[v->in[1]];
            const int8_t *in2 = (const int8_t *)tml_model_tensor_data(m, v->in[1]);
            tml_dims_t in2_dims;
            tml_dims_of(t_in2, &in2_dims);
            if (v->h->opcode == TML_OP_ADD) {
                return tml_add_s8((const tml_add_params_t *)v->params, t_in->zero_point,
                    t_in2->zero_point, t_out->zero_point, &in_dims, in, &in2_dims, in2, &out_dims, out);
            }
            return tml_mul_s8((const tml_mul_params_t *)v->params, t_in->zero_point,
                t_in2->zero_point, t_out->zero_point, &in_dims, in, &in2_dims, in2, &out_dims, out);
        }
        case TML_OP_CONCATENATION: {
            const int32_t axis = ((const tml_concat_params_t *)v->params)->axis;
            int32_t start = 0;
            for (uint32_t k = 0; k < v->h->input_count; k++) {
                const tml_tensor_t *t = &m->tensors[v->in[k]];
                tml_dims_t d;
                tml_dims_of(t, &d);
                tml_status_t s = tml_concat_part_s8(axis, start, &d,
                    (const int8_t *)tml_model_tensor_data(m, v->in[k]), &out_dims, out);
                if (s != TML_OK) {
                    return s;
                }
                start += t->dims[axis];
            }
            return TML_OK;
        }
        case TML_OP_PAD:
            return tml_pad_s8((const tml_pad_params_t *)v->params, &in_dims, in, &out_dims, out);
        case TML_OP_SOFTMAX:
            return tml_softmax_s8((const tml_softmax_params_t *)v->params,
                tml_elements(t_in) / in_dims.c, in_dims.c, in, out);
        case TML_OP_LUT:
            return tml_lut_s8((const int8_t *)(m->data + ((const tml_lut_params_t *)v->params)->table),
                tml_elements(t_in), in, out);
        case TML_OP_COPY: {
            /* A RESHAPE the planner could not alias: same bytes, new dims. */
            if (in != out) {
                const int32_t count = tml_elements(t_in);
                for (int32_t i = 0; i < count; i++) {
                    out[i] = in[i];
                }
            }
            return TML_OK;
        }
        default:
            return TML_ERR_UNSUPPORTED_OP;
    }
}

tml_status_t tml_model_invoke(tml_model_t *m) {
    if (m->header == 0) {
        return tml_fail(m, TML_ERR_BAD_PARAM, "model not initialised");
    }
    if (m->arena == 0) {
        return tml_fail(m, TML_ERR_ARENA_TOO_SMALL, "no arena set");
    }
    m->error.status = TML_OK;
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->error.detail = "";
    const uint8_t *record = m->ops;
    for (uint32_t i = 0; i < m->header->op_count; i++) {
        tml_op_view_t v;
        tml_op_view(record, &v);
        tml_status_t s = tml_run_op(m, &v);
        if (s != TML_OK) {
            m->error.op_index = (int32_t)i;
            m->error.opcode = v.h->opcode;
            return tml_fail(m, s, "kernel refused its arguments");
        }
        record += v.h->size;
    }
    return TML_OK;
}
