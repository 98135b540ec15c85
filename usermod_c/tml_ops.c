/* The op table and its glue: for each op, the translation of its blob record
 * into a tml_op_t (on-disk offsets become pointers to checked constants,
 * parameters are copied, the kernel family's check runs) and the call of its
 * kernel at invoke. The record's framing and operand dtypes are checked by
 * the loader before load() runs; the operand tensors are already built. */
#include "tml_check.h"
#include "tml_ops.h"

#ifdef TML_OPS_SUBSET
/* A firmware with ops left out (the op table at the end) defines their
 * loaders and runners and never uses them. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* The dims of a window of rows of the op's input and output. */
static void tml_rows_dims(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r, tml_dims_t *in,
    tml_dims_t *out) {
    *in = tml_op_tensor(m, op, 0)->dims;
    *out = tml_op_tensor(m, op, 1)->dims;
    in->h = r->in_h;
    out->h = r->out_h;
}

/* Runs a kernel family's check and reports its rule as the model's error. */
static tml_status_t tml_checked(tml_model_t *m, tml_status_t s, const char *const *detail) {
    return s == TML_OK ? TML_OK : tml_load_fail(m, s, *detail);
}

/* Per-channel (or per-tensor) multipliers and shifts: constants of the blob,
 * their values checked here once. */
static tml_status_t tml_load_requant_arrays(tml_model_t *m, uint32_t multiplier, uint32_t shift,
    tml_requant_t *q) {
    const void *mul;
    const void *sh;
    tml_status_t s = tml_load_const(m, multiplier, (uint64_t)q->channel_quant * 4u, 4,
        "multipliers outside data section", &mul);
    if (s == TML_OK) {
        s = tml_load_const(m, shift, (uint64_t)q->channel_quant * 4u, 4, "shifts outside data section", &sh);
    }
    if (s != TML_OK) {
        return s;
    }
    q->multiplier = (const int32_t *)mul;
    q->shift = (const int32_t *)sh;
    for (uint32_t i = 0; i < q->channel_quant; i++) {
        const char *detail = "";
        s = tml_check_requant(q->multiplier[i], q->shift[i], &detail);
        if (s != TML_OK) {
            return tml_load_fail(m, s, detail);
        }
    }
    return TML_OK;
}

static tml_requant_t tml_requant_between(const tml_tensor_t *in, const tml_tensor_t *out, uint16_t channel_quant) {
    tml_requant_t q;
    q.input_offset = -in->zero_point;
    q.output_offset = out->zero_point;
    q.multiplier = 0;
    q.shift = 0;
    q.channel_quant = channel_quant;
    return q;
}

/* weight_align: 1 for int8 weights, 4 for the words of
 * FULLY_CONNECTED_W16 and FULLY_CONNECTED_PAIRS (loaded by LDM). */
static tml_status_t tml_load_weights_bias(tml_model_t *m, uint32_t weights, uint64_t weight_bytes,
    uint32_t weight_align, uint32_t bias, int32_t out_c, const int8_t **w_out, const int32_t **b_out) {
    const void *w;
    const void *b = 0;
    tml_status_t s = tml_load_const(m, weights, weight_bytes, weight_align, "weights outside data section", &w);
    if (s == TML_OK && bias != TML_NONE) {
        s = tml_load_const(m, bias, (uint64_t)out_c * 4u, 4, "bias outside data section", &b);
    }
    *w_out = (const int8_t *)w;
    *b_out = (const int32_t *)b;
    return s;
}

/* ---- CONV_2D, DEPTHWISE_CONV_2D ---------------------------------------- */

static tml_status_t tml_load_conv_common(tml_model_t *m, const void *params, tml_op_t *op, int depthwise) {
    const tml_blob_conv_t *r = (const tml_blob_conv_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_conv_op_t *c = &op->u.conv;
    c->p.kernel_h = r->kernel_h;
    c->p.kernel_w = r->kernel_w;
    c->p.stride_h = r->stride_h;
    c->p.stride_w = r->stride_w;
    c->p.dilation_h = r->dilation_h;
    c->p.dilation_w = r->dilation_w;
    c->p.pad_top = r->pad_top;
    c->p.pad_left = r->pad_left;
    c->p.depth_multiplier = r->depth_multiplier;
    c->p.act_min = r->act_min;
    c->p.act_max = r->act_max;
    c->q = tml_requant_between(in, out, r->channel_quant);
    const char *detail = "";
    tml_status_t s = depthwise ? tml_depthwise_conv_check(&c->p, &c->q, &in->dims, &out->dims, &detail)
        : tml_conv_check(&c->p, &c->q, &in->dims, &out->dims, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    /* The check bounds the taps by 2^16 and out_c is below 2^31: no 64-bit overflow. */
    const uint64_t taps = (uint64_t)r->kernel_h * r->kernel_w * (uint64_t)(depthwise ? 1 : in->dims.c);
    s = tml_load_weights_bias(m, r->weights, taps * (uint64_t)out->dims.c, 1, r->bias, out->dims.c,
        &c->weights, &c->bias);
    if (s != TML_OK) {
        return s;
    }
    return tml_load_requant_arrays(m, r->multiplier, r->shift, &c->q);
}

static tml_status_t tml_load_conv(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_conv_common(m, params, op, 0);
}

static tml_status_t tml_load_depthwise(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_conv_common(m, params, op, 1);
}

static void tml_rows_conv(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    const tml_conv_op_t *c = &op->u.conv;
    tml_conv_params_t p = c->p;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_conv_s8(&p, &c->q, &in_dims, (const int8_t *)r->in, c->weights, c->bias, &out_dims, (int8_t *)r->out,
        op->scratch);
}

static void tml_run_conv(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_conv_op_t *c = &op->u.conv;
    tml_conv_s8(&c->p, &c->q, &in->dims, (const int8_t *)in->data, c->weights, c->bias,
        &out->dims, (int8_t *)out->data, op->scratch);
}

static uint32_t tml_scratch_conv(const tml_model_t *m, const tml_op_t *op) {
    return tml_conv_scratch_size(&op->u.conv.p, &tml_op_tensor(m, op, 0)->dims);
}

static void tml_rows_depthwise(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    const tml_conv_op_t *c = &op->u.conv;
    tml_conv_params_t p = c->p;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_depthwise_conv_s8(&p, &c->q, &in_dims, (const int8_t *)r->in, c->weights, c->bias, &out_dims,
        (int8_t *)r->out, op->scratch);
}

static void tml_run_depthwise(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_conv_op_t *c = &op->u.conv;
    tml_depthwise_conv_s8(&c->p, &c->q, &in->dims, (const int8_t *)in->data, c->weights, c->bias,
        &out->dims, (int8_t *)out->data, op->scratch);
}

static uint32_t tml_scratch_depthwise(const tml_model_t *m, const tml_op_t *op) {
    return tml_depthwise_conv_scratch_size(&op->u.conv.p, &tml_op_tensor(m, op, 0)->dims);
}

/* ---- FULLY_CONNECTED ---------------------------------------------------- */

/* FULLY_CONNECTED and its stored layouts (tml_fc.c): W16 (int16 weights,
 * in_features and out_features padded to four), PAIRS (two rows a word,
 * rows padded to groups of six); both word-aligned for LDM. */
typedef enum { TML_FC_INT8, TML_FC_W16, TML_FC_PAIRS } tml_fc_layout_t;

static tml_status_t tml_load_fc_common(tml_model_t *m, const void *params, tml_op_t *op,
    tml_fc_layout_t layout) {
    const tml_blob_fc_t *r = (const tml_blob_fc_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fc_op_t *f = &op->u.fc;
    const int32_t in_elements = tml_elements(in);
    const int32_t out_features = out->dims.c;
    f->batches = tml_elements(out) / out_features;
    if (in_elements % f->batches != 0) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input elements not a multiple of the batch");
    }
    f->in_features = in_elements / f->batches;
    f->p.act_min = r->act_min;
    f->p.act_max = r->act_max;
    f->q = tml_requant_between(in, out, r->channel_quant);
    const char *detail = "";
    tml_status_t s = tml_fully_connected_check(&f->p, &f->q, f->batches, f->in_features, out_features, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const uint64_t weight_bytes = layout == TML_FC_W16
        ? tml_fully_connected_w16_weight_bytes(f->in_features, out_features)
        : layout == TML_FC_PAIRS ? tml_fully_connected_pairs_weight_bytes(f->in_features, out_features)
        : (uint64_t)out_features * (uint64_t)f->in_features;
    s = tml_load_weights_bias(m, r->weights, weight_bytes, layout == TML_FC_INT8 ? 1u : 4u, r->bias,
        out_features, &f->weights, &f->bias);
    if (s != TML_OK) {
        return s;
    }
    return tml_load_requant_arrays(m, r->multiplier, r->shift, &f->q);
}

static tml_status_t tml_load_fc(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_fc_common(m, params, op, TML_FC_INT8);
}

static tml_status_t tml_load_fc_w16(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_fc_common(m, params, op, TML_FC_W16);
}

static tml_status_t tml_load_fc_pairs(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_fc_common(m, params, op, TML_FC_PAIRS);
}

static void tml_run_fc(const tml_model_t *m, const tml_op_t *op) {
    const tml_fc_op_t *f = &op->u.fc;
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fully_connected_s8(&f->p, &f->q, f->batches, f->in_features,
        (const int8_t *)tml_op_tensor(m, op, 0)->data, f->weights, f->bias, out->dims.c, (int8_t *)out->data,
        op->scratch);
}

static uint32_t tml_scratch_fc(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_fully_connected_scratch_size(op->u.fc.in_features);
}

static void tml_run_fc_w16(const tml_model_t *m, const tml_op_t *op) {
    const tml_fc_op_t *f = &op->u.fc;
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fully_connected_w16_s8(&f->p, &f->q, f->batches, f->in_features,
        (const int8_t *)tml_op_tensor(m, op, 0)->data, (const int16_t *)(const void *)f->weights, f->bias,
        out->dims.c, (int8_t *)out->data, op->scratch);
}

static uint32_t tml_scratch_fc_w16(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_fully_connected_w16_scratch_size(op->u.fc.in_features);
}

static void tml_run_fc_pairs(const tml_model_t *m, const tml_op_t *op) {
    const tml_fc_op_t *f = &op->u.fc;
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fully_connected_pairs_s8(&f->p, &f->q, f->batches, f->in_features,
        (const int8_t *)tml_op_tensor(m, op, 0)->data, (const uint32_t *)(const void *)f->weights, f->bias,
        out->dims.c, (int8_t *)out->data);
}

/* ---- pooling, MEAN ------------------------------------------------------ */

static tml_status_t tml_load_pool(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_pool_t *r = (const tml_blob_pool_t *)params;
    tml_pool_params_t *p = &op->u.pool;
    p->filter_h = r->filter_h;
    p->filter_w = r->filter_w;
    p->stride_h = r->stride_h;
    p->stride_w = r->stride_w;
    p->pad_top = r->pad_top;
    p->pad_left = r->pad_left;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    const char *detail = "";
    return tml_checked(m, tml_pool_check(p, &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &detail), &detail);
}

static void tml_rows_avg_pool(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_pool_params_t p = op->u.pool;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_avg_pool_s8(&p, &in_dims, (const int8_t *)r->in, &out_dims, (int8_t *)r->out, op->scratch);
}

static void tml_run_avg_pool(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_avg_pool_s8(&op->u.pool, &in->dims, (const int8_t *)in->data, &out->dims, (int8_t *)out->data,
        op->scratch);
}

static uint32_t tml_scratch_avg_pool(const tml_model_t *m, const tml_op_t *op) {
    return tml_avg_pool_scratch_size(&tml_op_tensor(m, op, 0)->dims);
}

static void tml_rows_max_pool(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_pool_params_t p = op->u.pool;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_max_pool_s8(&p, &in_dims, (const int8_t *)r->in, &out_dims, (int8_t *)r->out);
}

static void tml_run_max_pool(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_max_pool_s8(&op->u.pool, &in->dims, (const int8_t *)in->data, &out->dims, (int8_t *)out->data);
}

static tml_status_t tml_load_mean(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_mean_t *r = (const tml_blob_mean_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    /* Mode 0 (TFLite's old truncating mean) is reserved: TFLite no longer
     * uses it for int8 and no kernel implements it. */
    if (r->mode != 1) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "mean mode is not 1");
    }
    tml_mean_params_t *p = &op->u.mean;
    p->axis_mask = r->axis_mask;
    p->multiplier = r->multiplier;
    p->shift = r->shift;
    const char *detail = "";
    tml_status_t s = tml_mean_check(p, &in->dims, &tml_op_tensor(m, op, 1)->dims, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    tml_mean_prepare(p, &in->dims);
    return TML_OK;
}

static void tml_run_mean(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_mean_s8(&op->u.mean, in->zero_point, out->zero_point, &in->dims, (const int8_t *)in->data,
        &out->dims, (int8_t *)out->data, op->scratch);
}

static uint32_t tml_scratch_mean(const tml_model_t *m, const tml_op_t *op) {
    return tml_mean_scratch_size(&op->u.mean, &tml_op_tensor(m, op, 0)->dims);
}

/* ---- ADD, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, PRELU ----------------- */

static tml_status_t tml_load_add(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_add_t *r = (const tml_blob_add_t *)params;
    tml_add_params_t *p = &op->u.add;
    p->left_shift = r->left_shift;
    p->input1_multiplier = r->input1_multiplier;
    p->input1_shift = r->input1_shift;
    p->input2_multiplier = r->input2_multiplier;
    p->input2_shift = r->input2_shift;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    const char *detail = "";
    return tml_checked(m, tml_add_check(p, &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_add(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_add_s8(&op->u.add, a->zero_point, b->zero_point, out->zero_point, &a->dims, (const int8_t *)a->data,
        &b->dims, (const int8_t *)b->data, &out->dims, (int8_t *)out->data, op->scratch);
}

/* The tables are optional (TML_SCRATCH_OPTIONAL in the op table): the converter
 * reserves them where the arena does not grow. */
static uint32_t tml_scratch_add(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    (void)op;
    return TML_ADD_LUT_BYTES;
}

static tml_status_t tml_load_mul(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_mul_t *r = (const tml_blob_mul_t *)params;
    tml_mul_params_t *p = &op->u.mul;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    const char *detail = "";
    return tml_checked(m, tml_mul_check(p, &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_mul(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_mul_s8(&op->u.mul, a->zero_point, b->zero_point, out->zero_point, &a->dims, (const int8_t *)a->data,
        &b->dims, (const int8_t *)b->data, &out->dims, (int8_t *)out->data);
}

static tml_status_t tml_load_min_max(tml_model_t *m, const void *params, tml_op_t *op) {
    (void)params;
    const char *detail = "";
    return tml_checked(m, tml_min_max_check(&tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_maximum(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    if (out->dtype == TML_DTYPE_INT16) {
        tml_maximum_s16(&a->dims, (const int16_t *)(const void *)a->data, &b->dims,
            (const int16_t *)(const void *)b->data, &out->dims, (int16_t *)(void *)out->data);
    } else {
        tml_maximum_s8(&a->dims, (const int8_t *)a->data, &b->dims, (const int8_t *)b->data, &out->dims,
            (int8_t *)out->data);
    }
}

static void tml_run_minimum(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    if (out->dtype == TML_DTYPE_INT16) {
        tml_minimum_s16(&a->dims, (const int16_t *)(const void *)a->data, &b->dims,
            (const int16_t *)(const void *)b->data, &out->dims, (int16_t *)(void *)out->data);
    } else {
        tml_minimum_s8(&a->dims, (const int8_t *)a->data, &b->dims, (const int8_t *)b->data, &out->dims,
            (int8_t *)out->data);
    }
}

static tml_status_t tml_load_squared_difference(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_squared_difference_t *r = (const tml_blob_squared_difference_t *)params;
    tml_squared_difference_params_t *p = &op->u.squared_difference;
    p->left_shift = r->left_shift;
    p->input1_multiplier = r->input1_multiplier;
    p->input1_shift = r->input1_shift;
    p->input2_multiplier = r->input2_multiplier;
    p->input2_shift = r->input2_shift;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    const char *detail = "";
    return tml_checked(m, tml_squared_difference_check(p, &tml_op_tensor(m, op, 0)->dims,
        &tml_op_tensor(m, op, 1)->dims, &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_squared_difference(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_squared_difference_s8(&op->u.squared_difference, a->zero_point, b->zero_point, out->zero_point,
        &a->dims, (const int8_t *)a->data, &b->dims, (const int8_t *)b->data, &out->dims, (int8_t *)out->data);
}

static tml_status_t tml_load_prelu(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_prelu_t *r = (const tml_blob_prelu_t *)params;
    tml_prelu_params_t *p = &op->u.prelu;
    p->identity_multiplier = r->identity_multiplier;
    p->identity_shift = r->identity_shift;
    p->alpha_multiplier = r->alpha_multiplier;
    p->alpha_shift = r->alpha_shift;
    const char *detail = "";
    return tml_checked(m, tml_prelu_check(p, &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_prelu(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *alpha = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_prelu_s8(&op->u.prelu, in->zero_point, alpha->zero_point, out->zero_point, &in->dims,
        (const int8_t *)in->data, &alpha->dims, (const int8_t *)alpha->data, &out->dims, (int8_t *)out->data);
}

/* ---- CONCATENATION, PAD ------------------------------------------------- */

/* axis is in [0, 3]: the part check refuses any other. */
static int32_t tml_dim(const tml_dims_t *d, int32_t axis) {
    int32_t a[TML_RANK];
    tml_dims_to_array(d, a);
    return a[axis];
}

static tml_status_t tml_load_concat(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_concat_t *r = (const tml_blob_concat_t *)params;
    const tml_dims_t *out = &tml_op_tensor(m, op, op->input_count)->dims;
    op->u.concat_axis = r->axis;
    int32_t start = 0;
    for (uint32_t k = 0; k < op->input_count; k++) {
        const tml_dims_t *in = &tml_op_tensor(m, op, k)->dims;
        const char *detail = "";
        tml_status_t s = tml_concat_part_check(r->axis, start, in, out, &detail);
        if (s != TML_OK) {
            return tml_load_fail(m, s, detail);
        }
        start += tml_dim(in, r->axis);
    }
    if (start != tml_dim(out, r->axis)) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "concatenation inputs do not sum to the output");
    }
    return TML_OK;
}

static void tml_run_concat(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *out = tml_op_tensor(m, op, op->input_count);
    int32_t start = 0;
    for (uint32_t k = 0; k < op->input_count; k++) {
        const tml_tensor_t *in = tml_op_tensor(m, op, k);
        tml_concat_part(op->u.concat_axis, start, tml_elem_size(out), &in->dims, in->data,
            &out->dims, out->data);
        start += tml_dim(&in->dims, op->u.concat_axis);
    }
}

static tml_status_t tml_load_pad(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_pad_t *r = (const tml_blob_pad_t *)params;
    tml_pad_params_t *p = &op->u.pad;
    for (int i = 0; i < TML_RANK; i++) {
        p->before[i] = r->before[i];
        p->after[i] = r->after[i];
    }
    p->pad_value = r->pad_value;
    const char *detail = "";
    return tml_checked(m, tml_pad_check(p, tml_elem_size(tml_op_tensor(m, op, 1)), &tml_op_tensor(m, op, 0)->dims,
        &tml_op_tensor(m, op, 1)->dims, &detail), &detail);
}

static void tml_run_pad(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_pad(&op->u.pad, tml_elem_size(out), &in->dims, in->data, &out->dims, out->data);
}

/* ---- SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION, LUT, COPY: one input, one output of
 * the same size ------------------------------------------------------------ */

static tml_status_t tml_load_same_dims(tml_model_t *m, const tml_op_t *op) {
    const tml_dims_t *a = &tml_op_tensor(m, op, 0)->dims;
    const tml_dims_t *b = &tml_op_tensor(m, op, 1)->dims;
    if (a->n != b->n || a->h != b->h || a->w != b->w || a->c != b->c) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input and output dims differ");
    }
    return TML_OK;
}

static tml_status_t tml_load_softmax(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_softmax_t *r = (const tml_blob_softmax_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_status_t s = tml_load_same_dims(m, op);
    if (s != TML_OK) {
        return s;
    }
    tml_softmax_params_t *p = &op->u.softmax;
    p->input_multiplier = r->input_multiplier;
    p->input_left_shift = r->input_left_shift;
    p->diff_min = r->diff_min;
    const char *detail = "";
    return tml_checked(m, tml_softmax_check(p, in->dims.c, &detail), &detail);
}

static void tml_run_softmax(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_softmax_s8(&op->u.softmax, tml_elements(in) / in->dims.c, in->dims.c, (const int8_t *)in->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_log_softmax(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_log_softmax_t *r = (const tml_blob_log_softmax_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_status_t s = tml_load_same_dims(m, op);
    if (s != TML_OK) {
        return s;
    }
    tml_log_softmax_params_t *p = &op->u.log_softmax;
    p->input_multiplier = r->input_multiplier;
    p->input_left_shift = r->input_left_shift;
    p->reverse_multiplier = r->reverse_multiplier;
    p->reverse_shift = r->reverse_shift;
    p->diff_min = r->diff_min;
    const char *detail = "";
    return tml_checked(m, tml_log_softmax_check(p, in->dims.c, &detail), &detail);
}

static void tml_run_log_softmax(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_log_softmax_s8(&op->u.log_softmax, tml_elements(in) / in->dims.c, in->dims.c, (const int8_t *)in->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_l2_normalization(tml_model_t *m, const void *params, tml_op_t *op) {
    (void)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_status_t s = tml_load_same_dims(m, op);
    if (s != TML_OK) {
        return s;
    }
    const char *detail = "";
    return tml_checked(m, tml_l2_normalization_check(in->dims.c, &detail), &detail);
}

static void tml_run_l2_normalization(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_l2_normalization_s8(in->zero_point, tml_elements(in) / in->dims.c, in->dims.c, (const int8_t *)in->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

/* From the shapes, not `bytes`: a stage's band has none yet when its
 * members load (tml_load_stages() sets them). */
static tml_status_t tml_load_same_size(tml_model_t *m, tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    if ((int64_t)tml_elements(in) * tml_elem_size(in) != (int64_t)tml_elements(out) * tml_elem_size(out)) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input and output sizes differ");
    }
    return TML_OK;
}

static tml_status_t tml_load_lut(tml_model_t *m, const void *params, tml_op_t *op) {
    tml_status_t s = tml_load_same_size(m, op);
    if (s != TML_OK) {
        return s;
    }
    const void *table;
    s = tml_load_const(m, ((const tml_blob_lut_t *)params)->table, 256, 1, "table outside data section", &table);
    op->u.lut_table = (const int8_t *)table;
    return s;
}

/* Element-wise: the output's elements of the window (its input and output
 * are the same size, checked at load). */
static int32_t tml_rows_elements(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    const tml_dims_t *out = &tml_op_tensor(m, op, 1)->dims;
    return out->n * r->out_h * out->w * out->c;
}

static void tml_rows_lut(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_lut_s8(op->u.lut_table, tml_rows_elements(m, op, r), (const int8_t *)r->in, (int8_t *)r->out);
}

static void tml_run_lut(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_lut_s8(op->u.lut_table, tml_elements(in), (const int8_t *)in->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_lut_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    tml_status_t s = tml_load_same_size(m, op);
    if (s != TML_OK) {
        return s;
    }
    const void *table;
    s = tml_load_const(m, ((const tml_blob_lut_t *)params)->table, TML_LUT_S16_ENTRIES * 2, 2,
        "table outside data section", &table);
    op->u.lut_table_s16 = (const int16_t *)table;
    return s;
}

static void tml_rows_lut_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_lut_s16(op->u.lut_table_s16, tml_rows_elements(m, op, r), (const int16_t *)(const void *)r->in,
        (int16_t *)(void *)r->out);
}

static void tml_run_lut_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_lut_s16(op->u.lut_table_s16, tml_elements(in), (const int16_t *)in->data,
        (int16_t *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_copy(tml_model_t *m, const void *params, tml_op_t *op) {
    (void)params;
    return tml_load_same_size(m, op);
}

/* A RESHAPE the planner could not alias: same bytes, new dims. Byte by
 * byte, so even tensors a hostile blob made overlap are copied without
 * undefined behaviour. */
static void tml_run_copy(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    uint8_t *dst = tml_op_tensor(m, op, 1)->data;
    if (dst != in->data) {
        for (uint32_t i = 0; i < in->bytes; i++) {
            dst[i] = in->data[i];
        }
    }
}

/* ---- REMAP --------------------------------------------------------------- */

static tml_status_t tml_load_remap(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    if (in->dtype != out->dtype) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "remap input and output dtypes differ");
    }
    const tml_dims_t *od = &out->dims;
    /* Each dim is below 2^31 and there are four: no 64-bit overflow. */
    const uint64_t entries = (uint64_t)od->n + (uint64_t)od->h + (uint64_t)od->w + (uint64_t)od->c;
    const void *table;
    tml_status_t s = tml_load_const(m, ((const tml_blob_remap_t *)params)->table, entries * 4u, 4,
        "remap table outside data section", &table);
    if (s != TML_OK) {
        return s;
    }
    tml_remap_params_t *p = &op->u.remap;
    p->table = (const int32_t *)table;
    p->in_elements = tml_elements(in);
    p->elem_size = (uint8_t)(in->bytes / (uint32_t)p->in_elements);
    const char *detail = "";
    return tml_checked(m, tml_remap_check(p, od, &detail), &detail);
}

static void tml_run_remap(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_remap(&op->u.remap, tml_op_tensor(m, op, 0)->data, &out->dims, out->data);
}

/* ---- TRANSPOSE_CONV ------------------------------------------------------ */

static tml_status_t tml_load_transpose_conv(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_transpose_conv_t *r = (const tml_blob_transpose_conv_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_transpose_conv_op_t *c = &op->u.tconv;
    c->p.kernel_h = r->kernel_h;
    c->p.kernel_w = r->kernel_w;
    c->p.stride_h = r->stride_h;
    c->p.stride_w = r->stride_w;
    c->p.pad_top = r->pad_top;
    c->p.pad_left = r->pad_left;
    c->p.act_min = r->act_min;
    c->p.act_max = r->act_max;
    c->q = tml_requant_between(in, out, r->channel_quant);
    const char *detail = "";
    tml_status_t s = tml_transpose_conv_check(&c->p, &c->q, &in->dims, &out->dims, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    /* Each factor is below 2^31 and the first two below 2^16: no 64-bit overflow. */
    const uint64_t weight_bytes = (uint64_t)r->kernel_h * r->kernel_w * (uint64_t)in->dims.c
        * (uint64_t)out->dims.c;
    s = tml_load_weights_bias(m, r->weights, weight_bytes, 1, r->bias, out->dims.c, &c->weights, &c->bias);
    if (s != TML_OK) {
        return s;
    }
    return tml_load_requant_arrays(m, r->multiplier, r->shift, &c->q);
}

static void tml_run_transpose_conv(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_transpose_conv_op_t *c = &op->u.tconv;
    tml_transpose_conv_s8(&c->p, &c->q, &in->dims, (const int8_t *)in->data, c->weights, c->bias,
        &out->dims, (int8_t *)out->data);
}

/* ---- REDUCE_MAX, REDUCE_MIN, SUM, ARG_MAX, ARG_MIN ---------------------- */

static tml_status_t tml_load_reduce_common(tml_model_t *m, const void *params, tml_op_t *op, int is_sum) {
    const tml_blob_reduce_t *r = (const tml_blob_reduce_t *)params;
    tml_reduce_params_t *p = &op->u.reduce;
    p->outer = r->outer;
    p->reduced = r->reduced;
    p->inner = r->inner;
    p->steps = 0;
    if (r->table != TML_NONE) {
        const void *steps;
        tml_status_t s = tml_load_const(m, r->table, TML_SUM_STEPS * 4u, 4, "sum steps outside data section",
            &steps);
        if (s != TML_OK) {
            return s;
        }
        p->steps = (const int32_t *)steps;
    }
    const char *detail = "";
    return tml_checked(m, tml_reduce_check(p, is_sum, tml_elements(tml_op_tensor(m, op, 0)),
        tml_elements(tml_op_tensor(m, op, 1)), &detail), &detail);
}

static tml_status_t tml_load_reduce(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_reduce_common(m, params, op, 0);
}

static tml_status_t tml_load_sum(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_reduce_common(m, params, op, 1);
}

static void tml_run_reduce_max(const tml_model_t *m, const tml_op_t *op) {
    tml_reduce_max_s8(&op->u.reduce, (const int8_t *)tml_op_tensor(m, op, 0)->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_reduce_min(const tml_model_t *m, const tml_op_t *op) {
    tml_reduce_min_s8(&op->u.reduce, (const int8_t *)tml_op_tensor(m, op, 0)->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_sum_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_sum_s16_t *r = (const tml_blob_sum_s16_t *)params;
    tml_reduce_params_t *p = &op->u.reduce;
    p->outer = r->outer;
    p->reduced = r->reduced;
    p->inner = r->inner;
    p->steps = 0;
    p->scale_mantissa = r->scale_mantissa;
    p->scale_exponent = r->scale_exponent;
    const char *detail = "";
    tml_status_t s = tml_checked(m, tml_reduce_check(p, 0, tml_elements(tml_op_tensor(m, op, 0)),
        tml_elements(tml_op_tensor(m, op, 1)), &detail), &detail);
    if (s != TML_OK) {
        return s;
    }
    return tml_checked(m, tml_sum_s16_check(p, &detail), &detail);
}

static void tml_run_sum_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_sum_s16(&op->u.reduce, (const int16_t *)tml_op_tensor(m, op, 0)->data,
        (int16_t *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_reduce_max_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_reduce_max_s16(&op->u.reduce, (const int16_t *)tml_op_tensor(m, op, 0)->data,
        (int16_t *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_reduce_min_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_reduce_min_s16(&op->u.reduce, (const int16_t *)tml_op_tensor(m, op, 0)->data,
        (int16_t *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_sum(const tml_model_t *m, const tml_op_t *op) {
    tml_sum_s8(&op->u.reduce, (const int8_t *)tml_op_tensor(m, op, 0)->data,
        (int8_t *)tml_op_tensor(m, op, 1)->data);
}

/* The loader has checked the output is int32 and its offset 4-aligned. */
static void tml_run_arg_max(const tml_model_t *m, const tml_op_t *op) {
    tml_arg_max_s8(&op->u.reduce, (const int8_t *)tml_op_tensor(m, op, 0)->data,
        (int32_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_arg_min(const tml_model_t *m, const tml_op_t *op) {
    tml_arg_min_s8(&op->u.reduce, (const int8_t *)tml_op_tensor(m, op, 0)->data,
        (int32_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

/* ---- RESIZE_BILINEAR ------------------------------------------------------ */

static tml_status_t tml_load_resize_bilinear(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_resize_bilinear_t *r = (const tml_blob_resize_bilinear_t *)params;
    if (r->align_corners > 1 || r->half_pixel_centers > 1 || r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "resize flags not 0 or 1, or reserved not 0");
    }
    op->u.resize.half_pixel = r->half_pixel_centers;
    const char *detail = "";
    return tml_checked(m, tml_resize_bilinear_check(&op->u.resize, r->align_corners,
        &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims, &detail), &detail);
}

static void tml_run_resize_bilinear(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    if (in->dtype == TML_DTYPE_INT16) {
        tml_resize_bilinear_s16(&op->u.resize, &in->dims, (const int16_t *)(const void *)in->data, &out->dims,
            (int16_t *)(void *)out->data);
    } else {
        tml_resize_bilinear_s8(&op->u.resize, &in->dims, (const int8_t *)in->data, &out->dims, (int8_t *)out->data);
    }
}

/* ---- BATCH_MATMUL ---------------------------------------------------------- */

static tml_status_t tml_load_batch_matmul(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_batch_matmul_t *r = (const tml_blob_batch_matmul_t *)params;
    if (r->adj_x > 1 || r->adj_y > 1 || r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "batch matmul flags not 0 or 1, or reserved not 0");
    }
    tml_batch_matmul_params_t *p = &op->u.batch_matmul;
    p->multiplier = r->output_multiplier;
    p->shift = r->output_shift;
    p->adj_x = r->adj_x;
    p->adj_y = r->adj_y;
    const char *detail = "";
    return tml_checked(m, tml_batch_matmul_check(p, &tml_op_tensor(m, op, 0)->dims, &tml_op_tensor(m, op, 1)->dims,
        &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_batch_matmul(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_batch_matmul_s8(&op->u.batch_matmul, a->zero_point, b->zero_point, out->zero_point,
        &a->dims, (const int8_t *)a->data, &b->dims, (const int8_t *)b->data, &out->dims, (int8_t *)out->data,
        op->scratch);
}

static uint32_t tml_scratch_batch_matmul(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_batch_matmul_scratch_size(&op->u.batch_matmul);
}

/* ---- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------ */

static tml_status_t tml_load_lstm(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_lstm_t *r = (const tml_blob_lstm_t *)params;
    if ((r->flags & ~TML_LSTM_FLAGS) != 0 || r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "LSTM flags unknown, or reserved not 0");
    }
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *output_state = tml_op_tensor(m, op, 1);
    const tml_tensor_t *cell_state = tml_op_tensor(m, op, 2);
    const tml_tensor_t *out = tml_op_tensor(m, op, 3);
    if (in->dtype != TML_DTYPE_INT8 || out->dtype != TML_DTYPE_INT8 || output_state->dtype != TML_DTYPE_INT8
        || cell_state->dtype != TML_DTYPE_INT16) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "LSTM operands not int8 (input, output, output state) "
            "and int16 (cell state)");
    }
    if (!output_state->is_state || !cell_state->is_state) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "LSTM output or cell state is not a state tensor");
    }
    tml_lstm_params_t *p = &op->u.lstm;
    p->hidden_zp = r->hidden_zero_point;
    p->cell_clip = r->cell_clip;
    p->proj_clip = r->proj_clip;
    p->cell_scale = r->cell_scale;
    p->flags = (uint8_t)r->flags;
    const char *detail = "";
    tml_status_t s = tml_lstm_check(p, &in->dims, &output_state->dims, &cell_state->dims, &out->dims,
        r->constants_size, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const void *constants;
    s = tml_load_const(m, r->constants, r->constants_size, 4, "LSTM constants outside the data section",
        &constants);
    if (s != TML_OK) {
        return s;
    }
    p->constants = (const uint8_t *)constants;
    const int32_t *rescale = (const int32_t *)constants;
    for (uint32_t i = 0; i < TML_LSTM_RESCALES; i++) {
        s = tml_check_requant(rescale[2 * i], rescale[2 * i + 1], &detail);
        if (s != TML_OK) {
            return tml_load_fail(m, s, detail);
        }
    }
    return TML_OK;
}

static void tml_run_lstm(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *output_state = tml_op_tensor(m, op, 1);
    tml_lstm_s8(&op->u.lstm, (const int8_t *)tml_op_tensor(m, op, 0)->data, (int8_t *)output_state->data,
        output_state->zero_point, (int16_t *)(void *)tml_op_tensor(m, op, 2)->data,
        (int8_t *)tml_op_tensor(m, op, 3)->data, op->scratch);
}

static uint32_t tml_scratch_lstm(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_lstm_scratch_size(&op->u.lstm);
}

/* ---- SVDF ----------------------------------------------------------------- */

static tml_status_t tml_load_svdf(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_svdf_t *r = (const tml_blob_svdf_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *state = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    if (in->dtype != TML_DTYPE_INT8 || out->dtype != TML_DTYPE_INT8 || state->dtype != TML_DTYPE_INT16) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "SVDF input and output not int8, or state not int16");
    }
    if (!state->is_state) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "SVDF state is not a state tensor");
    }
    tml_svdf_params_t *p = &op->u.svdf;
    p->rank = r->rank;
    p->feature_multiplier = r->feature_multiplier;
    p->feature_shift = r->feature_shift;
    p->time_multiplier = r->time_multiplier;
    p->time_shift = r->time_shift;
    const char *detail = "";
    tml_status_t s = tml_svdf_check(p, &in->dims, &state->dims, &out->dims, &detail);
    if (s == TML_OK) {
        s = tml_check_requant(p->feature_multiplier, p->feature_shift, &detail);
    }
    if (s == TML_OK) {
        s = tml_check_requant(p->time_multiplier, p->time_shift, &detail);
    }
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const void *c;
    s = tml_load_const(m, r->weights_feature, (uint64_t)p->n_filter * (uint64_t)p->n_input, 1,
        "SVDF feature weights outside the data section", &c);
    if (s != TML_OK) {
        return s;
    }
    p->weights_feature = (const int8_t *)c;
    s = tml_load_const(m, r->weights_time, (uint64_t)p->n_filter * (uint64_t)p->n_memory * 2u, 2,
        "SVDF time weights outside the data section", &c);
    if (s != TML_OK) {
        return s;
    }
    p->weights_time = (const int16_t *)c;
    p->bias = 0;
    if (r->bias != TML_NONE) {
        s = tml_load_const(m, r->bias, (uint64_t)p->n_unit * 4u, 4, "SVDF bias outside the data section", &c);
        p->bias = (const int32_t *)c;
    }
    return s;
}

static void tml_run_svdf(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_svdf_s8(&op->u.svdf, (const int8_t *)in->data, in->zero_point,
        (int16_t *)(void *)tml_op_tensor(m, op, 1)->data, (int8_t *)out->data, out->zero_point);
}

/* The scikit-learn ops compute in double. The armv6m native module leaves
 * them out (TML_NO_CLASSIC): MicroPython's mpy_ld cannot link libgcc's
 * soft-double routines for Thumb-1 (absolute relocations). */
#ifndef TML_NO_CLASSIC
/* ---- TREE_ENSEMBLE, LINEAR: float32 rows of features in, one row of outputs out
 * per row ---------------------------------------------------------------------- */

/* Features are the input's last dim; rows the rest, the output's too. */
static tml_status_t tml_load_classic_shape(tml_model_t *m, const tml_op_t *op, uint16_t outputs,
    uint32_t *features, int32_t *rows) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    *features = (uint32_t)in->dims.c;
    *rows = tml_elements(in) / in->dims.c;
    if (out->dims.c != (int32_t)outputs || tml_elements(out) / out->dims.c != *rows) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "output is not [rows of the input, outputs]");
    }
    return TML_OK;
}

static tml_status_t tml_load_tree_ensemble(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_tree_ensemble_t *r = (const tml_blob_tree_ensemble_t *)params;
    tml_tree_params_t *p = &op->u.tree;
    if (r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "tree ensemble reserved field not 0");
    }
    p->node_count = r->node_count;
    p->tree_count = r->tree_count;
    p->leaf_values = r->leaf_values;
    p->raw = r->raw;
    p->leaf_width = r->leaf_width;
    p->flags = r->flags;
    p->post = r->post;
    p->outputs = (uint16_t)tml_op_tensor(m, op, 1)->dims.c;
    p->base = 0;
    p->post_params = 0;
    const uint32_t value_bytes = (r->flags & TML_TREE_F64) != 0 ? 8u : 4u;
    int32_t rows;
    if (tml_op_tensor(m, op, 1)->dims.c > 0xFFFF) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "more than 65535 outputs");
    }
    tml_status_t s = tml_load_classic_shape(m, op, p->outputs, &p->features, &rows);
    const void *nodes, *roots, *leaves, *base, *post_params;
    if (s == TML_OK) {
        s = tml_load_const(m, r->nodes, (uint64_t)r->node_count * ((r->flags & TML_TREE_WIDE) != 0 ? 12u : 8u), 4,
            "tree nodes outside data section", &nodes);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->roots, (uint64_t)r->tree_count * 4u, 4, "tree roots outside data section", &roots);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->leaves, (uint64_t)r->leaf_values * value_bytes, 4,
            "leaf values outside data section", &leaves);
    }
    if (s == TML_OK && r->base != TML_NONE) {
        s = tml_load_const(m, r->base, (uint64_t)r->raw * value_bytes, 4, "tree base values outside data section",
            &base);
        p->base = (const uint8_t *)base;
    }
    if (s == TML_OK && r->post_params != TML_NONE) {
        s = tml_load_const(m, r->post_params, 16u, 4, "post parameters outside data section", &post_params);
        p->post_params = (const uint8_t *)post_params;
    }
    if (s != TML_OK) {
        return s;
    }
    p->nodes = (const uint8_t *)nodes;
    p->roots = (const uint32_t *)roots;
    p->leaves = (const uint8_t *)leaves;
    const char *detail = "";
    return tml_checked(m, tml_tree_ensemble_check(p, &detail), &detail);
}

static void tml_run_tree_ensemble(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_tree_ensemble_f32(&op->u.tree, tml_elements(in) / in->dims.c, (const float *)(const void *)in->data,
        (float *)(void *)tml_op_tensor(m, op, 1)->data, op->scratch);
}

static uint32_t tml_scratch_tree_ensemble(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_classic_scratch_size(op->u.tree.raw);
}

static tml_status_t tml_load_linear(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_linear_t *r = (const tml_blob_linear_t *)params;
    tml_linear_params_t *p = &op->u.linear;
    if (r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "linear reserved field not 0");
    }
    if (tml_op_tensor(m, op, 1)->dims.c > 0xFFFF) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "more than 65535 outputs");
    }
    p->raw = r->raw;
    p->post = r->post;
    p->outputs = (uint16_t)tml_op_tensor(m, op, 1)->dims.c;
    int32_t rows;
    tml_status_t s = tml_load_classic_shape(m, op, p->outputs, &p->features, &rows);
    const void *weights, *bias;
    if (s == TML_OK) {
        /* features < 2^31 and raw < 2^16: no 64-bit overflow. */
        s = tml_load_const(m, r->weights, (uint64_t)r->raw * p->features * 8u, 4, "weights outside data section",
            &weights);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->bias, (uint64_t)r->raw * 8u, 4, "bias outside data section", &bias);
    }
    if (s != TML_OK) {
        return s;
    }
    p->weights = (const uint8_t *)weights;
    p->bias = (const uint8_t *)bias;
    const char *detail = "";
    return tml_checked(m, tml_linear_check(p, &detail), &detail);
}

static void tml_run_linear(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_linear_f32(&op->u.linear, tml_elements(in) / in->dims.c, (const float *)(const void *)in->data,
        (float *)(void *)tml_op_tensor(m, op, 1)->data, op->scratch);
}

static uint32_t tml_scratch_linear(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_classic_scratch_size(op->u.linear.raw);
}

static tml_status_t tml_load_gaussian_nb(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_gaussian_nb_t *r = (const tml_blob_gaussian_nb_t *)params;
    tml_gaussian_nb_params_t *p = &op->u.gaussian_nb;
    if (r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "gaussian nb reserved field not 0");
    }
    if (tml_op_tensor(m, op, 1)->dims.c > 0xFFFF) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "more than 65535 outputs");
    }
    p->raw = r->raw;
    p->outputs = (uint16_t)tml_op_tensor(m, op, 1)->dims.c;
    int32_t rows;
    tml_status_t s = tml_load_classic_shape(m, op, p->outputs, &p->features, &rows);
    /* features < 2^31 and raw < 2^16: no 64-bit overflow. */
    const uint64_t table = (uint64_t)r->raw * p->features * 8u;
    const void *theta, *var, *bias;
    if (s == TML_OK) {
        s = tml_load_const(m, r->theta, table, 4, "class means outside data section", &theta);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->var, table, 4, "class variances outside data section", &var);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->bias, (uint64_t)r->raw * 8u, 4, "class constants outside data section", &bias);
    }
    if (s != TML_OK) {
        return s;
    }
    p->theta = (const uint8_t *)theta;
    p->var = (const uint8_t *)var;
    p->bias = (const uint8_t *)bias;
    const char *detail = "";
    return tml_checked(m, tml_gaussian_nb_check(p, &detail), &detail);
}

static void tml_run_gaussian_nb(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_gaussian_nb_f32(&op->u.gaussian_nb, tml_elements(in) / in->dims.c, (const float *)(const void *)in->data,
        (float *)(void *)tml_op_tensor(m, op, 1)->data, op->scratch);
}

static uint32_t tml_scratch_gaussian_nb(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_classic_scratch_size(op->u.gaussian_nb.raw);
}

static tml_status_t tml_load_knn(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_knn_t *r = (const tml_blob_knn_t *)params;
    tml_knn_params_t *p = &op->u.knn;
    if (r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "knn reserved field not 0");
    }
    if (tml_op_tensor(m, op, 1)->dims.c > 0xFFFF) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "more than 65535 outputs");
    }
    p->count = r->count;
    p->k = r->k;
    p->raw = r->raw;
    p->weights = r->weights;
    p->regression = r->regression;
    p->outputs = (uint16_t)tml_op_tensor(m, op, 1)->dims.c;
    p->scale = 0;
    int32_t rows;
    tml_status_t s = tml_load_classic_shape(m, op, p->outputs, &p->features, &rows);
    const void *points, *targets, *scale;
    if (s == TML_OK) {
        /* count < 2^32 and features < 2^31: no 64-bit overflow. */
        s = tml_load_const(m, r->points, (uint64_t)r->count * p->features * 8u, 4,
            "training points outside data section", &points);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->targets, (uint64_t)r->count * 8u, 4, "training targets outside data section",
            &targets);
    }
    if (s == TML_OK && r->scale != TML_NONE) {
        s = tml_load_const(m, r->scale, (uint64_t)p->features * 8u, 4, "feature scales outside data section", &scale);
        p->scale = (const uint8_t *)scale;
    }
    if (s != TML_OK) {
        return s;
    }
    p->points = (const uint8_t *)points;
    p->targets = (const uint8_t *)targets;
    const char *detail = "";
    return tml_checked(m, tml_knn_check(p, &detail), &detail);
}

static void tml_run_knn(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_knn_f32(&op->u.knn, tml_elements(in) / in->dims.c, (const float *)(const void *)in->data,
        (float *)(void *)tml_op_tensor(m, op, 1)->data, op->scratch);
}

static uint32_t tml_scratch_knn(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_knn_scratch_size(&op->u.knn);
}

static tml_status_t tml_load_svm_rbf(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_svm_rbf_t *r = (const tml_blob_svm_rbf_t *)params;
    tml_svm_params_t *p = &op->u.svm;
    if (r->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "svm reserved field not 0");
    }
    if (tml_op_tensor(m, op, 1)->dims.c > 0xFFFF) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "more than 65535 outputs");
    }
    p->count = r->count;
    p->classes = r->classes;
    p->outputs = (uint16_t)tml_op_tensor(m, op, 1)->dims.c;
    int32_t rows;
    tml_status_t s = tml_load_classic_shape(m, op, p->outputs, &p->features, &rows);
    if (s == TML_OK && (r->classes < 2 || r->classes > TML_SVM_MAX_CLASSES)) {
        s = tml_load_fail(m, TML_ERR_BAD_PARAM, "svm classes not 2..64");
    }
    const void *support, *coef, *intercept, *starts, *gamma, *scale;
    p->scale = 0;
    if (s == TML_OK) {
        /* count < 2^32, features < 2^31, classes < 2^7: no 64-bit overflow. */
        s = tml_load_const(m, r->support, (uint64_t)r->count * p->features * 8u, 4,
            "support vectors outside data section", &support);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->coef, (uint64_t)(r->classes - 1u) * r->count * 8u, 4,
            "dual coefficients outside data section", &coef);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->intercept, (uint64_t)r->classes * (r->classes - 1u) / 2u * 8u, 4,
            "intercepts outside data section", &intercept);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->starts, ((uint64_t)r->classes + 1u) * 4u, 4, "class starts outside data section",
            &starts);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->gamma, 8u, 4, "gamma outside data section", &gamma);
    }
    if (s == TML_OK && r->scale != TML_NONE) {
        s = tml_load_const(m, r->scale, (uint64_t)p->features * 8u, 4, "feature scales outside data section", &scale);
        p->scale = (const uint8_t *)scale;
    }
    if (s != TML_OK) {
        return s;
    }
    p->support = (const uint8_t *)support;
    p->coef = (const uint8_t *)coef;
    p->intercept = (const uint8_t *)intercept;
    p->starts = (const uint32_t *)starts;
    p->gamma = (const uint8_t *)gamma;
    const char *detail = "";
    return tml_checked(m, tml_svm_rbf_check(p, &detail), &detail);
}

static void tml_run_svm_rbf(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_svm_rbf_f32(&op->u.svm, tml_elements(in) / in->dims.c, (const float *)(const void *)in->data,
        (float *)(void *)tml_op_tensor(m, op, 1)->data, op->scratch);
}

static uint32_t tml_scratch_svm_rbf(const tml_model_t *m, const tml_op_t *op) {
    (void)m;
    return tml_svm_rbf_scratch_size(&op->u.svm);
}

#endif /* TML_NO_CLASSIC */

/* ---- 16x8: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, REQUANTIZE -------- */

static tml_status_t tml_load_bias_s64(tml_model_t *m, uint32_t bias, int32_t count, const int64_t **out) {
    const void *b = 0;
    tml_status_t s = TML_OK;
    if (bias != TML_NONE) {
        s = tml_load_const(m, bias, (uint64_t)count * 8u, 8, "bias outside data section", &b);
    }
    *out = (const int64_t *)b;
    return s;
}

static tml_status_t tml_load_conv_s16_common(tml_model_t *m, const void *params, tml_op_t *op, int depthwise) {
    const tml_blob_conv_t *r = (const tml_blob_conv_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_conv_s16_op_t *c = &op->u.conv_s16;
    c->p.kernel_h = r->kernel_h;
    c->p.kernel_w = r->kernel_w;
    c->p.stride_h = r->stride_h;
    c->p.stride_w = r->stride_w;
    c->p.dilation_h = r->dilation_h;
    c->p.dilation_w = r->dilation_w;
    c->p.pad_top = r->pad_top;
    c->p.pad_left = r->pad_left;
    c->p.depth_multiplier = r->depth_multiplier;
    c->p.act_min = r->act_min;
    c->p.act_max = r->act_max;
    c->q = tml_requant_between(in, out, r->channel_quant);
    if (in->zero_point != 0 || out->zero_point != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
    }
    const char *detail = "";
    tml_status_t s = depthwise ? tml_depthwise_conv_s16_check(&c->p, r->channel_quant, &in->dims, &out->dims, &detail)
        : tml_conv_s16_check(&c->p, r->channel_quant, &in->dims, &out->dims, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const uint64_t taps = (uint64_t)r->kernel_h * r->kernel_w * (uint64_t)(depthwise ? 1 : in->dims.c);
    const void *w;
    s = tml_load_const(m, r->weights, taps * (uint64_t)out->dims.c, 1, "weights outside data section", &w);
    c->weights = (const int8_t *)w;
    if (s == TML_OK) {
        s = tml_load_bias_s64(m, r->bias, out->dims.c, &c->bias);
    }
    if (s == TML_OK) {
        s = tml_load_requant_arrays(m, r->multiplier, r->shift, &c->q);
    }
    if (s == TML_OK) {
        s = tml_checked(m, tml_check_rescale_s64(&c->q, &detail), &detail);
    }
    return s;
}

static tml_status_t tml_load_conv_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_conv_s16_common(m, params, op, 0);
}

static tml_status_t tml_load_depthwise_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    return tml_load_conv_s16_common(m, params, op, 1);
}

static void tml_rows_conv_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    const tml_conv_s16_op_t *c = &op->u.conv_s16;
    tml_conv_params_t p = c->p;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_conv_s16(&p, &c->q, &in_dims, (const int16_t *)(const void *)r->in, c->weights, c->bias, &out_dims,
        (int16_t *)(void *)r->out);
}

static void tml_run_conv_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_conv_s16_op_t *c = &op->u.conv_s16;
    tml_conv_s16(&c->p, &c->q, &in->dims, (const int16_t *)(const void *)in->data, c->weights, c->bias,
        &out->dims, (int16_t *)(void *)out->data);
}

static void tml_rows_depthwise_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    const tml_conv_s16_op_t *c = &op->u.conv_s16;
    tml_conv_params_t p = c->p;
    tml_dims_t in_dims, out_dims;
    p.pad_top = (int16_t)r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_depthwise_conv_s16(&p, &c->q, &in_dims, (const int16_t *)(const void *)r->in, c->weights, c->bias,
        &out_dims, (int16_t *)(void *)r->out);
}

static void tml_run_depthwise_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_conv_s16_op_t *c = &op->u.conv_s16;
    tml_depthwise_conv_s16(&c->p, &c->q, &in->dims, (const int16_t *)(const void *)in->data, c->weights, c->bias,
        &out->dims, (int16_t *)(void *)out->data);
}

static tml_status_t tml_load_transpose_conv_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_transpose_conv_t *r = (const tml_blob_transpose_conv_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_transpose_conv_s16_op_t *c = &op->u.tconv_s16;
    c->p.kernel_h = r->kernel_h;
    c->p.kernel_w = r->kernel_w;
    c->p.stride_h = r->stride_h;
    c->p.stride_w = r->stride_w;
    c->p.pad_top = r->pad_top;
    c->p.pad_left = r->pad_left;
    c->p.act_min = r->act_min;
    c->p.act_max = r->act_max;
    c->q = tml_requant_between(in, out, r->channel_quant);
    if (in->zero_point != 0 || out->zero_point != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
    }
    const char *detail = "";
    tml_status_t s = tml_transpose_conv_s16_check(&c->p, r->channel_quant, &in->dims, &out->dims, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const uint64_t weight_bytes = (uint64_t)r->kernel_h * r->kernel_w * (uint64_t)in->dims.c
        * (uint64_t)out->dims.c;
    const void *w;
    s = tml_load_const(m, r->weights, weight_bytes, 1, "weights outside data section", &w);
    c->weights = (const int8_t *)w;
    if (s == TML_OK) {
        s = tml_load_bias_s64(m, r->bias, out->dims.c, &c->bias);
    }
    if (s == TML_OK) {
        s = tml_load_requant_arrays(m, r->multiplier, r->shift, &c->q);
    }
    if (s == TML_OK) {
        s = tml_checked(m, tml_check_rescale_s64(&c->q, &detail), &detail);
    }
    return s;
}

static void tml_run_transpose_conv_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    const tml_transpose_conv_s16_op_t *c = &op->u.tconv_s16;
    tml_transpose_conv_s16(&c->p, &c->q, &in->dims, (const int16_t *)(const void *)in->data, c->weights, c->bias,
        &out->dims, (int16_t *)(void *)out->data);
}

static tml_status_t tml_load_batch_matmul_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    for (uint32_t k = 0; k < 3; k++) {
        if (tml_op_tensor(m, op, k)->zero_point != 0) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
        }
    }
    tml_status_t s = tml_load_batch_matmul(m, params, op);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_batch_matmul_s16_check(&op->u.batch_matmul, &detail), &detail);
}

static void tml_run_batch_matmul_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_batch_matmul_s16(&op->u.batch_matmul, &a->dims, (const int16_t *)(const void *)a->data,
        &b->dims, (const int16_t *)(const void *)b->data, &out->dims, (int16_t *)(void *)out->data);
}

static tml_status_t tml_load_fc_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_fc_s16_t *r = (const tml_blob_fc_s16_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fc_s16_op_t *f = &op->u.fc_s16;
    const int32_t out_features = out->dims.c;
    f->batches = tml_elements(out) / out_features;
    if (tml_elements(in) % f->batches != 0) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input elements not a multiple of the batch");
    }
    if (in->zero_point != 0 || out->zero_point != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
    }
    f->in_features = tml_elements(in) / f->batches;
    f->p.act_min = r->act_min;
    f->p.act_max = r->act_max;
    f->channel_quant = r->channel_quant;
    const char *detail = "";
    tml_status_t s = tml_fully_connected_s16_check(&f->p, r->channel_quant, f->batches, f->in_features,
        out_features, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    const void *w;
    const void *scale;
    s = tml_load_const(m, r->weights, (uint64_t)out_features * (uint64_t)f->in_features, 1,
        "weights outside data section", &w);
    f->weights = (const int8_t *)w;
    if (s == TML_OK) {
        s = tml_load_bias_s64(m, r->bias, out_features, &f->bias);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->scale, (uint64_t)r->channel_quant * 8u, 8, "scales outside data section", &scale);
    }
    if (s != TML_OK) {
        return s;
    }
    f->scale_bits = (const uint64_t *)scale;
    return tml_checked(m, tml_check_scales_double(f->scale_bits, r->channel_quant, &detail), &detail);
}

static void tml_run_fc_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_fc_s16_op_t *f = &op->u.fc_s16;
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_fully_connected_s16(&f->p, f->scale_bits, f->channel_quant, f->batches, f->in_features,
        (const int16_t *)(const void *)tml_op_tensor(m, op, 0)->data, f->weights, f->bias, out->dims.c,
        (int16_t *)(void *)out->data);
}

static tml_status_t tml_load_div(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_div_t *r = (const tml_blob_div_t *)params;
    tml_div_params_t *p = &op->u.div;
    p->input1_offset = -tml_op_tensor(m, op, 0)->zero_point;
    p->input2_offset = -tml_op_tensor(m, op, 1)->zero_point;
    p->output_offset = tml_op_tensor(m, op, 2)->zero_point;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    const char *detail = "";
    return tml_checked(m, tml_div_check(p, tml_elem_size(tml_op_tensor(m, op, 2)), &tml_op_tensor(m, op, 0)->dims,
        &tml_op_tensor(m, op, 1)->dims, &tml_op_tensor(m, op, 2)->dims, &detail), &detail);
}

static void tml_run_div(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_div(&op->u.div, tml_elem_size(out), &a->dims, a->data, &b->dims, b->data, &out->dims, out->data);
}

/* ---- COMPARE, SELECT, LOGICAL -------------------------------------------- */

static int tml_is_int(const tml_tensor_t *t) {
    return t->dtype == TML_DTYPE_INT8 || t->dtype == TML_DTYPE_INT16;
}

static tml_status_t tml_load_compare(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_compare_t *r = (const tml_blob_compare_t *)params;
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    if (!tml_is_int(a) || a->dtype != b->dtype || out->dtype != TML_DTYPE_BOOL) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "comparison inputs not both int8 or int16, or output not bool");
    }
    tml_compare_params_t *p = &op->u.compare;
    p->kind = r->kind;
    p->left_shift = r->left_shift;
    p->input1_offset = -a->zero_point;
    p->input1_multiplier = r->input1_multiplier;
    p->input1_shift = r->input1_shift;
    p->input2_offset = -b->zero_point;
    p->input2_multiplier = r->input2_multiplier;
    p->input2_shift = r->input2_shift;
    const char *detail = "";
    return tml_checked(m, tml_compare_check(p, &a->dims, &b->dims, &out->dims, &detail), &detail);
}

static void tml_run_compare(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_compare(&op->u.compare, tml_elem_size(a), &a->dims, a->data, &b->dims, b->data, &out->dims, out->data);
}

static tml_status_t tml_load_select(tml_model_t *m, const void *params, tml_op_t *op) {
    (void)params;
    const tml_tensor_t *cond = tml_op_tensor(m, op, 0);
    const tml_tensor_t *a = tml_op_tensor(m, op, 1);
    const tml_tensor_t *b = tml_op_tensor(m, op, 2);
    const tml_tensor_t *out = tml_op_tensor(m, op, 3);
    if (cond->dtype != TML_DTYPE_BOOL || !tml_is_int(a) || a->dtype != b->dtype || a->dtype != out->dtype) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "select condition not bool, or values not one int8 or int16 dtype");
    }
    const char *detail = "";
    return tml_checked(m, tml_select_check(&cond->dims, &a->dims, &b->dims, &out->dims, &detail), &detail);
}

static void tml_run_select(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *cond = tml_op_tensor(m, op, 0);
    const tml_tensor_t *a = tml_op_tensor(m, op, 1);
    const tml_tensor_t *b = tml_op_tensor(m, op, 2);
    const tml_tensor_t *out = tml_op_tensor(m, op, 3);
    tml_select(tml_elem_size(out), &cond->dims, cond->data, &a->dims, a->data, &b->dims, b->data, &out->dims,
        out->data);
}

static tml_status_t tml_load_logical(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_logical_t *r = (const tml_blob_logical_t *)params;
    for (uint32_t k = 0; k < (uint32_t)op->input_count + op->output_count; k++) {
        if (tml_op_tensor(m, op, k)->dtype != TML_DTYPE_BOOL) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "logical op operand is not bool");
        }
    }
    if ((r->kind == TML_LOGICAL_NOT) != (op->input_count == 1)) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "LOGICAL_NOT takes one input, AND and OR two");
    }
    op->u.logical_kind = r->kind;
    const tml_tensor_t *out = tml_op_tensor(m, op, op->input_count);
    const char *detail = "";
    return tml_checked(m, tml_logical_check(r->kind, &tml_op_tensor(m, op, 0)->dims,
        &tml_op_tensor(m, op, op->input_count - 1u)->dims, &out->dims, &detail), &detail);
}

static void tml_run_logical(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *a = tml_op_tensor(m, op, 0);
    const tml_tensor_t *b = tml_op_tensor(m, op, op->input_count - 1u);
    const tml_tensor_t *out = tml_op_tensor(m, op, op->input_count);
    tml_logical(op->u.logical_kind, &a->dims, a->data, &b->dims, b->data, &out->dims, out->data);
}

static tml_status_t tml_load_requantize(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_requantize_t *r = (const tml_blob_requantize_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    if ((in->dtype != TML_DTYPE_INT8 && in->dtype != TML_DTYPE_INT16)
        || (out->dtype != TML_DTYPE_INT8 && out->dtype != TML_DTYPE_INT16)) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "requantize operand is not int8 or int16");
    }
    if (tml_elements(in) != tml_elements(out)) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input and output sizes differ");
    }
    tml_requantize_params_t *p = &op->u.requantize;
    p->input_offset = -in->zero_point;
    p->output_offset = out->zero_point;
    p->multiplier = r->multiplier;
    p->shift = r->shift;
    p->negative_multiplier = r->negative_multiplier;
    p->negative_shift = r->negative_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    const char *detail = "";
    return tml_checked(m, tml_requantize_check(p, tml_elem_size(out), &detail), &detail);
}

static void tml_run_abs_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_abs_s16(&op->u.requantize, tml_elements(in), (const int16_t *)in->data,
        (int16_t *)tml_op_tensor(m, op, 1)->data);
}

static void tml_run_requantize(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_requantize(&op->u.requantize, tml_elements(in), tml_elem_size(in), in->data, tml_elem_size(out), out->data);
}

/* ---- 16x8 LOGISTIC, TANH, SOFTMAX ---------------------------------------- */

static tml_status_t tml_load_prescale_s16(tml_model_t *m, const void *params, tml_op_t *op,
    int32_t *multiplier, int32_t *left_shift) {
    const tml_blob_s16_prescale_t *r = (const tml_blob_s16_prescale_t *)params;
    if (tml_op_tensor(m, op, 0)->zero_point != 0 || tml_op_tensor(m, op, 1)->zero_point != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
    }
    *multiplier = r->input_multiplier;
    *left_shift = r->input_left_shift;
    return tml_load_same_dims(m, op);
}

static tml_status_t tml_load_logistic_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    tml_s16_logistic_params_t *p = &op->u.logistic_s16;
    tml_status_t s = tml_load_prescale_s16(m, params, op, &p->input_multiplier, &p->input_left_shift);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_s16_logistic_check(p, &detail), &detail);
}

static void tml_run_logistic_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_s16_logistic(&op->u.logistic_s16, tml_elements(in), (const int16_t *)(const void *)in->data,
        (int16_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_tanh_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    tml_s16_tanh_params_t *p = &op->u.tanh_s16;
    tml_status_t s = tml_load_prescale_s16(m, params, op, &p->input_multiplier, &p->input_left_shift);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_s16_tanh_check(p, &detail), &detail);
}

static void tml_run_tanh_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_s16_tanh(&op->u.tanh_s16, tml_elements(in), (const int16_t *)(const void *)in->data,
        (int16_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

static tml_status_t tml_load_softmax_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_softmax_s16_t *r = (const tml_blob_softmax_s16_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    if (in->zero_point != 0 || tml_op_tensor(m, op, 1)->zero_point != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
    }
    tml_status_t s = tml_load_same_dims(m, op);
    const void *exp_lut = 0;
    const void *recip_lut = 0;
    if (s == TML_OK) {
        s = tml_load_const(m, r->exp_lut, TML_S16_LUT_SIZE * 2u, 2, "softmax table outside data section", &exp_lut);
    }
    if (s == TML_OK) {
        s = tml_load_const(m, r->one_over_one_plus_x_lut, TML_S16_LUT_SIZE * 2u, 2,
            "softmax table outside data section", &recip_lut);
    }
    if (s != TML_OK) {
        return s;
    }
    tml_s16_softmax_params_t *p = &op->u.softmax_s16;
    p->input_multiplier = r->input_multiplier;
    p->input_shift = r->input_shift;
    p->exp_lut = (const int16_t *)exp_lut;
    p->one_over_one_plus_x_lut = (const int16_t *)recip_lut;
    const char *detail = "";
    return tml_checked(m, tml_s16_softmax_check(p, in->dims.c, &detail), &detail);
}

static void tml_run_softmax_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    tml_s16_softmax(&op->u.softmax_s16, tml_elements(in) / in->dims.c, in->dims.c,
        (const int16_t *)(const void *)in->data, (int16_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

/* ---- 16x8 ADD, SUB, MUL, pools, MEAN (tml_s16_arith.c) -------------------- */

static tml_status_t tml_require_zero_points(tml_model_t *m, const tml_op_t *op) {
    for (uint32_t k = 0; k < (uint32_t)op->input_count + op->output_count; k++) {
        if (tml_op_tensor(m, op, k)->zero_point != 0) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "16x8 tensors need zero point 0");
        }
    }
    return TML_OK;
}

static tml_status_t tml_load_add_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_add_s16_t *r = (const tml_blob_add_s16_t *)params;
    tml_s16_addsub_params_t *p = &op->u.add_s16;
    p->pot = r->pot;
    p->input1_multiplier = r->input1_multiplier;
    p->input1_shift = r->input1_shift;
    p->input2_multiplier = r->input2_multiplier;
    p->input2_shift = r->input2_shift;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    int32_t a[TML_RANK], b[TML_RANK], o[TML_RANK];
    tml_dims_to_array(&tml_op_tensor(m, op, 0)->dims, a);
    tml_dims_to_array(&tml_op_tensor(m, op, 1)->dims, b);
    tml_dims_to_array(&tml_op_tensor(m, op, 2)->dims, o);
    tml_status_t s = tml_require_zero_points(m, op);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_s16_add_check(p, a, b, o, &detail), &detail);
}

static void tml_run_add_sub_s16(const tml_model_t *m, const tml_op_t *op, int sub) {
    int32_t a[TML_RANK], b[TML_RANK], o[TML_RANK];
    const tml_tensor_t *x = tml_op_tensor(m, op, 0);
    const tml_tensor_t *y = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_dims_to_array(&x->dims, a);
    tml_dims_to_array(&y->dims, b);
    tml_dims_to_array(&out->dims, o);
    (sub ? tml_s16_sub : tml_s16_add)(&op->u.add_s16, a, (const int16_t *)(const void *)x->data, b,
        (const int16_t *)(const void *)y->data, o, (int16_t *)(void *)out->data);
}

static void tml_run_add_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_run_add_sub_s16(m, op, 0);
}

static void tml_run_sub_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_run_add_sub_s16(m, op, 1);
}

static tml_status_t tml_load_mul_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_mul_t *r = (const tml_blob_mul_t *)params;
    tml_s16_mul_params_t *p = &op->u.mul_s16;
    p->output_multiplier = r->output_multiplier;
    p->output_shift = r->output_shift;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    int32_t a[TML_RANK], b[TML_RANK], o[TML_RANK];
    tml_dims_to_array(&tml_op_tensor(m, op, 0)->dims, a);
    tml_dims_to_array(&tml_op_tensor(m, op, 1)->dims, b);
    tml_dims_to_array(&tml_op_tensor(m, op, 2)->dims, o);
    tml_status_t s = tml_require_zero_points(m, op);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_s16_mul_check(p, a, b, o, &detail), &detail);
}

static void tml_run_mul_s16(const tml_model_t *m, const tml_op_t *op) {
    int32_t a[TML_RANK], b[TML_RANK], o[TML_RANK];
    const tml_tensor_t *x = tml_op_tensor(m, op, 0);
    const tml_tensor_t *y = tml_op_tensor(m, op, 1);
    const tml_tensor_t *out = tml_op_tensor(m, op, 2);
    tml_dims_to_array(&x->dims, a);
    tml_dims_to_array(&y->dims, b);
    tml_dims_to_array(&out->dims, o);
    tml_s16_mul(&op->u.mul_s16, a, (const int16_t *)(const void *)x->data, b,
        (const int16_t *)(const void *)y->data, o, (int16_t *)(void *)out->data);
}

static tml_status_t tml_load_pool_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_pool_t *r = (const tml_blob_pool_t *)params;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    tml_s16_pool_params_t *p = &op->u.pool_s16;
    p->stride_h = r->stride_h;
    p->stride_w = r->stride_w;
    p->filter_h = r->filter_h;
    p->filter_w = r->filter_w;
    p->pad_top = r->pad_top;
    p->pad_left = r->pad_left;
    p->act_min = r->act_min;
    p->act_max = r->act_max;
    if (in->dims.n != out->dims.n || in->dims.c != out->dims.c) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "pool changes the batch or the channels");
    }
    int32_t d[TML_RANK];
    tml_dims_to_array(&in->dims, d);
    tml_status_t s = tml_require_zero_points(m, op);
    const char *detail = "";
    return s != TML_OK ? s : tml_checked(m, tml_s16_pool_check(p, d, out->dims.h, out->dims.w, &detail), &detail);
}

static void tml_rows_pool_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r, int average) {
    tml_s16_pool_params_t p = op->u.pool_s16;
    tml_dims_t in_dims, out_dims;
    int32_t d[TML_RANK];
    p.pad_top = r->pad_top;
    tml_rows_dims(m, op, r, &in_dims, &out_dims);
    tml_dims_to_array(&in_dims, d);
    (average ? tml_s16_avg_pool : tml_s16_max_pool)(&p, d, (const int16_t *)(const void *)r->in,
        out_dims.h, out_dims.w, (int16_t *)(void *)r->out);
}

static void tml_rows_avg_pool_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_rows_pool_s16(m, op, r, 1);
}

static void tml_rows_max_pool_s16(const tml_model_t *m, const tml_op_t *op, const tml_rows_t *r) {
    tml_rows_pool_s16(m, op, r, 0);
}

static void tml_run_pool_s16(const tml_model_t *m, const tml_op_t *op, int average) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    const tml_tensor_t *out = tml_op_tensor(m, op, 1);
    int32_t d[TML_RANK];
    tml_dims_to_array(&in->dims, d);
    (average ? tml_s16_avg_pool : tml_s16_max_pool)(&op->u.pool_s16, d, (const int16_t *)(const void *)in->data,
        out->dims.h, out->dims.w, (int16_t *)(void *)out->data);
}

static void tml_run_avg_pool_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_run_pool_s16(m, op, 1);
}

static void tml_run_max_pool_s16(const tml_model_t *m, const tml_op_t *op) {
    tml_run_pool_s16(m, op, 0);
}

static tml_status_t tml_load_mean_s16(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_mean_s16_t *r = (const tml_blob_mean_s16_t *)params;
    tml_s16_mean_params_t *p = &op->u.mean_s16;
    p->multiplier = r->multiplier;
    p->shift = r->shift;
    p->axis_mask = r->axis_mask;
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    int32_t d[TML_RANK];
    tml_dims_to_array(&in->dims, d);
    tml_status_t s = tml_require_zero_points(m, op);
    const char *detail = "";
    if (s == TML_OK) {
        s = tml_checked(m, tml_s16_mean_check(p, d, &detail), &detail);
    }
    if (s != TML_OK) {
        return s;
    }
    /* The kernel writes the kept dims' product of values. */
    int64_t kept = 1;
    for (int i = 0; i < TML_RANK; i++) {
        kept *= (r->axis_mask & (1 << i)) ? 1 : d[i];
    }
    if (kept != tml_elements(tml_op_tensor(m, op, 1))) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "mean output is not the kept dims of the input");
    }
    return TML_OK;
}

static void tml_run_mean_s16(const tml_model_t *m, const tml_op_t *op) {
    const tml_tensor_t *in = tml_op_tensor(m, op, 0);
    int32_t d[TML_RANK];
    tml_dims_to_array(&in->dims, d);
    tml_s16_mean(&op->u.mean_s16, d, (const int16_t *)(const void *)in->data,
        (int16_t *)(void *)tml_op_tensor(m, op, 1)->data);
}

/* A firmware can leave ops out to save flash: with TML_OPS_SUBSET naming a
 * header (`tinyml inspect MODEL --ops-header FILE` writes one) that defines
 * TML_WITH_<op> as 1 or 0 for every op. A left-out op keeps its name, so a
 * blob that needs it is refused as UNSUPPORTED_OP naming that op, and its
 * kernels, referenced from nowhere else, are dropped by the linker. */
#ifdef TML_OPS_SUBSET
#include TML_OPS_SUBSET
#define TML_OP_ENTRY_1(op, ...) [TML_OP_##op] = {#op, __VA_ARGS__}
#define TML_OP_ENTRY_0(op, ...) [TML_OP_##op] = {#op, 0, 0, 0, 0, 0, 0, 0, 0}
#define TML_OP_ENTRY_PICK(with, op, ...) TML_OP_ENTRY_##with(op, __VA_ARGS__)
#define TML_OP_ENTRY_WITH(with, op, ...) TML_OP_ENTRY_PICK(with, op, __VA_ARGS__)
#define TML_OP_ENTRY(op, ...) TML_OP_ENTRY_WITH(TML_WITH_##op, op, __VA_ARGS__)
#else
#define TML_OP_ENTRY(op, ...) [TML_OP_##op] = {#op, __VA_ARGS__}
#endif

const tml_op_def_t tml_op_defs[TML_OP_COUNT_] = {
    TML_OP_ENTRY(CONV_2D, 1, 1, 1, sizeof(tml_blob_conv_t), tml_load_conv, tml_run_conv,
        tml_scratch_conv, 0),
    TML_OP_ENTRY(DEPTHWISE_CONV_2D, 1, 1, 1, sizeof(tml_blob_conv_t),
        tml_load_depthwise, tml_run_depthwise, tml_scratch_depthwise, 0),
    TML_OP_ENTRY(FULLY_CONNECTED, 1, 1, 1, sizeof(tml_blob_fc_t), tml_load_fc, tml_run_fc,
        tml_scratch_fc, 0),
    TML_OP_ENTRY(AVERAGE_POOL_2D, 1, 1, 1, sizeof(tml_blob_pool_t), tml_load_pool,
        tml_run_avg_pool, tml_scratch_avg_pool, 0),
    TML_OP_ENTRY(MAX_POOL_2D, 1, 1, 1, sizeof(tml_blob_pool_t), tml_load_pool, tml_run_max_pool, 0, 0),
    TML_OP_ENTRY(MEAN, 1, 1, 1, sizeof(tml_blob_mean_t), tml_load_mean, tml_run_mean, tml_scratch_mean, 0),
    TML_OP_ENTRY(ADD, 2, 2, 1, sizeof(tml_blob_add_t), tml_load_add, tml_run_add, tml_scratch_add, TML_SCRATCH_OPTIONAL),
    TML_OP_ENTRY(MUL, 2, 2, 1, sizeof(tml_blob_mul_t), tml_load_mul, tml_run_mul, 0, 0),
    TML_OP_ENTRY(CONCATENATION, 1, 255, 1, sizeof(tml_blob_concat_t), tml_load_concat,
        tml_run_concat, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(PAD, 1, 1, 1, sizeof(tml_blob_pad_t), tml_load_pad, tml_run_pad, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(SOFTMAX, 1, 1, 1, sizeof(tml_blob_softmax_t), tml_load_softmax, tml_run_softmax, 0, 0),
    TML_OP_ENTRY(LUT, 1, 1, 1, sizeof(tml_blob_lut_t), tml_load_lut, tml_run_lut, 0, 0),
    TML_OP_ENTRY(COPY, 1, 1, 1, 0, tml_load_copy, tml_run_copy, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(REMAP, 1, 1, 1, sizeof(tml_blob_remap_t), tml_load_remap, tml_run_remap, 0,
        TML_OPERANDS_SAME),
    TML_OP_ENTRY(MAXIMUM, 2, 2, 1, 0, tml_load_min_max, tml_run_maximum, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(MINIMUM, 2, 2, 1, 0, tml_load_min_max, tml_run_minimum, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(TRANSPOSE_CONV, 1, 1, 1, sizeof(tml_blob_transpose_conv_t),
        tml_load_transpose_conv, tml_run_transpose_conv, 0, 0),
    TML_OP_ENTRY(REDUCE_MAX, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce,
        tml_run_reduce_max, 0, 0),
    TML_OP_ENTRY(REDUCE_MIN, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce,
        tml_run_reduce_min, 0, 0),
    TML_OP_ENTRY(SUM, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_sum, tml_run_sum, 0, 0),
    TML_OP_ENTRY(ARG_MAX, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce, tml_run_arg_max, 0, 1),
    TML_OP_ENTRY(ARG_MIN, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce, tml_run_arg_min, 0, 1),
    TML_OP_ENTRY(SQUARED_DIFFERENCE, 2, 2, 1, sizeof(tml_blob_squared_difference_t),
        tml_load_squared_difference, tml_run_squared_difference, 0, 0),
    TML_OP_ENTRY(PRELU, 2, 2, 1, sizeof(tml_blob_prelu_t), tml_load_prelu, tml_run_prelu, 0, 0),
    TML_OP_ENTRY(LOG_SOFTMAX, 1, 1, 1, sizeof(tml_blob_log_softmax_t), tml_load_log_softmax,
        tml_run_log_softmax, 0, 0),
    TML_OP_ENTRY(L2_NORMALIZATION, 1, 1, 1, 0, tml_load_l2_normalization,
        tml_run_l2_normalization, 0, 0),
    TML_OP_ENTRY(RESIZE_BILINEAR, 1, 1, 1, sizeof(tml_blob_resize_bilinear_t),
        tml_load_resize_bilinear, tml_run_resize_bilinear, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(BATCH_MATMUL, 2, 2, 1, sizeof(tml_blob_batch_matmul_t), tml_load_batch_matmul,
        tml_run_batch_matmul, tml_scratch_batch_matmul, 0),
    TML_OP_ENTRY(UNIDIRECTIONAL_SEQUENCE_LSTM, 3, 3, 1, sizeof(tml_blob_lstm_t),
        tml_load_lstm, tml_run_lstm, tml_scratch_lstm, TML_OPERANDS_OWN),
    TML_OP_ENTRY(SVDF, 2, 2, 1, sizeof(tml_blob_svdf_t), tml_load_svdf, tml_run_svdf, 0, TML_OPERANDS_OWN),
    TML_OP_ENTRY(CONV_2D_S16, 1, 1, 1, sizeof(tml_blob_conv_t), tml_load_conv_s16, tml_run_conv_s16,
        0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(DEPTHWISE_CONV_2D_S16, 1, 1, 1, sizeof(tml_blob_conv_t),
        tml_load_depthwise_s16, tml_run_depthwise_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(FULLY_CONNECTED_S16, 1, 1, 1, sizeof(tml_blob_fc_s16_t), tml_load_fc_s16,
        tml_run_fc_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(REQUANTIZE, 1, 1, 1, sizeof(tml_blob_requantize_t), tml_load_requantize,
        tml_run_requantize, 0, TML_OPERANDS_OWN),
    TML_OP_ENTRY(TRANSPOSE_CONV_S16, 1, 1, 1, sizeof(tml_blob_transpose_conv_t),
        tml_load_transpose_conv_s16, tml_run_transpose_conv_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(BATCH_MATMUL_S16, 2, 2, 1, sizeof(tml_blob_batch_matmul_t),
        tml_load_batch_matmul_s16, tml_run_batch_matmul_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(DIV, 2, 2, 1, sizeof(tml_blob_div_t), tml_load_div, tml_run_div, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(COMPARE, 2, 2, 1, sizeof(tml_blob_compare_t), tml_load_compare, tml_run_compare, 0,
        TML_OPERANDS_OWN),
    TML_OP_ENTRY(SELECT, 3, 3, 1, 0, tml_load_select, tml_run_select, 0, TML_OPERANDS_OWN),
    TML_OP_ENTRY(LOGICAL, 1, 2, 1, sizeof(tml_blob_logical_t), tml_load_logical, tml_run_logical, 0,
        TML_OPERANDS_OWN),
    TML_OP_ENTRY(ADD_S16, 2, 2, 1, sizeof(tml_blob_add_s16_t), tml_load_add_s16, tml_run_add_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(SUB_S16, 2, 2, 1, sizeof(tml_blob_add_s16_t), tml_load_add_s16, tml_run_sub_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(MUL_S16, 2, 2, 1, sizeof(tml_blob_mul_t), tml_load_mul_s16, tml_run_mul_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(AVERAGE_POOL_2D_S16, 1, 1, 1, sizeof(tml_blob_pool_t), tml_load_pool_s16,
        tml_run_avg_pool_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(MAX_POOL_2D_S16, 1, 1, 1, sizeof(tml_blob_pool_t), tml_load_pool_s16,
        tml_run_max_pool_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(SUM_S16, 1, 1, 1, sizeof(tml_blob_sum_s16_t), tml_load_sum_s16, tml_run_sum_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(ABS_S16, 1, 1, 1, sizeof(tml_blob_requantize_t), tml_load_requantize, tml_run_abs_s16,
        0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(LUT_S16, 1, 1, 1, sizeof(tml_blob_lut_t), tml_load_lut_s16, tml_run_lut_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(REDUCE_MAX_S16, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce,
        tml_run_reduce_max_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(REDUCE_MIN_S16, 1, 1, 1, sizeof(tml_blob_reduce_t), tml_load_reduce,
        tml_run_reduce_min_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(MEAN_S16, 1, 1, 1, sizeof(tml_blob_mean_s16_t), tml_load_mean_s16, tml_run_mean_s16, 0,
        TML_OPERANDS_INT16),
    TML_OP_ENTRY(LOGISTIC_S16, 1, 1, 1, sizeof(tml_blob_s16_prescale_t), tml_load_logistic_s16,
        tml_run_logistic_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(TANH_S16, 1, 1, 1, sizeof(tml_blob_s16_prescale_t), tml_load_tanh_s16,
        tml_run_tanh_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(SOFTMAX_S16, 1, 1, 1, sizeof(tml_blob_softmax_s16_t), tml_load_softmax_s16,
        tml_run_softmax_s16, 0, TML_OPERANDS_INT16),
    TML_OP_ENTRY(STAGE, 1, 1, 1, sizeof(tml_blob_stage_t), tml_load_stage, tml_run_stage, 0, TML_OPERANDS_SAME),
    TML_OP_ENTRY(FULLY_CONNECTED_W16, 1, 1, 1, sizeof(tml_blob_fc_t), tml_load_fc_w16, tml_run_fc_w16,
        tml_scratch_fc_w16, 0),
    TML_OP_ENTRY(FULLY_CONNECTED_PAIRS, 1, 1, 1, sizeof(tml_blob_fc_t), tml_load_fc_pairs, tml_run_fc_pairs,
        0, 0),
#ifndef TML_NO_CLASSIC
    TML_OP_ENTRY(TREE_ENSEMBLE, 1, 1, 1, sizeof(tml_blob_tree_ensemble_t), tml_load_tree_ensemble,
        tml_run_tree_ensemble, tml_scratch_tree_ensemble, TML_OPERANDS_FLOAT32),
    TML_OP_ENTRY(LINEAR, 1, 1, 1, sizeof(tml_blob_linear_t), tml_load_linear, tml_run_linear,
        tml_scratch_linear, TML_OPERANDS_FLOAT32),
    TML_OP_ENTRY(GAUSSIAN_NB, 1, 1, 1, sizeof(tml_blob_gaussian_nb_t), tml_load_gaussian_nb,
        tml_run_gaussian_nb, tml_scratch_gaussian_nb, TML_OPERANDS_FLOAT32),
    TML_OP_ENTRY(KNN, 1, 1, 1, sizeof(tml_blob_knn_t), tml_load_knn, tml_run_knn, tml_scratch_knn, TML_OPERANDS_FLOAT32),
    TML_OP_ENTRY(SVM_RBF, 1, 1, 1, sizeof(tml_blob_svm_rbf_t), tml_load_svm_rbf, tml_run_svm_rbf,
        tml_scratch_svm_rbf, TML_OPERANDS_FLOAT32),
#endif
};

/* The ops a tiled stage may hold, on a window of rows (tml_stage.c); the
 * same ops leave the table as the op table leaves them. */
#ifdef TML_OPS_SUBSET
#define TML_ROWS_ENTRY_1(op, fn) [TML_OP_##op] = fn
#define TML_ROWS_ENTRY_0(op, fn) [TML_OP_##op] = 0
#define TML_ROWS_ENTRY_PICK(with, op, fn) TML_ROWS_ENTRY_##with(op, fn)
#define TML_ROWS_ENTRY_WITH(with, op, fn) TML_ROWS_ENTRY_PICK(with, op, fn)
#define TML_ROWS_ENTRY(op, fn) TML_ROWS_ENTRY_WITH(TML_WITH_##op, op, fn)
#else
#define TML_ROWS_ENTRY(op, fn) [TML_OP_##op] = fn
#endif

const tml_run_rows_t tml_op_rows[TML_OP_COUNT_] = {
    TML_ROWS_ENTRY(CONV_2D, tml_rows_conv),
    TML_ROWS_ENTRY(DEPTHWISE_CONV_2D, tml_rows_depthwise),
    TML_ROWS_ENTRY(AVERAGE_POOL_2D, tml_rows_avg_pool),
    TML_ROWS_ENTRY(MAX_POOL_2D, tml_rows_max_pool),
    TML_ROWS_ENTRY(LUT, tml_rows_lut),
    TML_ROWS_ENTRY(CONV_2D_S16, tml_rows_conv_s16),
    TML_ROWS_ENTRY(DEPTHWISE_CONV_2D_S16, tml_rows_depthwise_s16),
    TML_ROWS_ENTRY(AVERAGE_POOL_2D_S16, tml_rows_avg_pool_s16),
    TML_ROWS_ENTRY(MAX_POOL_2D_S16, tml_rows_max_pool_s16),
    TML_ROWS_ENTRY(LUT_S16, tml_rows_lut_s16),
};
