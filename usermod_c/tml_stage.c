/* STAGE: a chain of spatial ops run as a sliding window over rows, so that
 * only a band of each tensor between them is ever in the arena (the
 * converter plans it: converter/tinyml_converter/tiling.py).
 *
 * Tensor t of a stage of n members: t = 0 is the stage's input, t = k + 1
 * member k's output, t = n the stage's output; 0 and n are whole in the
 * arena (or 0 external), 1 .. n-1 are bands. The last member produces its
 * rows band_rows at a time, pulling from the members before it only the
 * rows its window lacks (tml_stage_walk()), so no row is computed twice and
 * a band holds about one window of the member that reads it.
 *
 * Each call is the ordinary kernel on a window of rows: the input view
 * starts at the first row the window reads (or at row 0 with the top
 * padding left over), the output view at the first missing row. Every
 * view's rows are all the real rows the kernel's windows touch, so a
 * kernel's clipping at the view's edges is its clipping at the tensor's,
 * and the bytes equal whole-tensor execution.
 *
 * One walk serves the loader and invoke: the loader's run proves every call
 * passes the kernel's own window check and measures each band's height,
 * which becomes the band tensor's size; the arena bounds are checked on
 * those sizes. A blob can only choose a schedule that computes other
 * values (the converter's tests pin the bytes), never one that reaches
 * outside a buffer. */
#include <string.h>

#include "tml_check.h"
#include "tml_ops.h"

/* A member's rows: kernel taps, stride, dilation and top padding. */
typedef struct {
    int32_t kernel, stride, dilation, pad;
} tml_rows_window_t;

/* A stage's load walks its whole schedule: bounded, so a hostile blob
 * cannot make load take minutes. */
#define TML_STAGE_MAX_ROWS (65536)

/* The member's rows (0: an op no stage may hold, or one this build leaves out). */
static int tml_stage_window(const tml_op_t *op, tml_rows_window_t *w) {
    const tml_conv_params_t *c = 0;
    if (tml_op_rows[op->opcode] == 0) {
        return 0;
    }
    switch (op->opcode) {
        case TML_OP_CONV_2D:
        case TML_OP_DEPTHWISE_CONV_2D:
            c = &op->u.conv.p;
            break;
        case TML_OP_CONV_2D_S16:
        case TML_OP_DEPTHWISE_CONV_2D_S16:
            c = &op->u.conv_s16.p;
            break;
        case TML_OP_AVERAGE_POOL_2D:
        case TML_OP_MAX_POOL_2D:
            *w = (tml_rows_window_t){ op->u.pool.filter_h, op->u.pool.stride_h, 1, op->u.pool.pad_top };
            return 1;
        case TML_OP_AVERAGE_POOL_2D_S16:
        case TML_OP_MAX_POOL_2D_S16:
            *w = (tml_rows_window_t){ op->u.pool_s16.filter_h, op->u.pool_s16.stride_h, 1,
                op->u.pool_s16.pad_top };
            return 1;
        case TML_OP_LUT:
        case TML_OP_LUT_S16:
            /* Element-wise: each output row is its input row (the stage's
             * load checks the shapes are one). */
            *w = (tml_rows_window_t){ 1, 1, 1, 0 };
            return 1;
        default:
            return 0;
    }
    *w = (tml_rows_window_t){ c->kernel_h, c->stride_h, c->dilation_h, c->pad_top };
    return 1;
}

static int32_t tml_min32(int32_t a, int32_t b) {
    return a < b ? a : b;
}

static int32_t tml_max32(int32_t a, int32_t b) {
    return a > b ? a : b;
}

static uint32_t tml_row_bytes(const tml_tensor_t *t) {
    return (uint32_t)t->dims.w * (uint32_t)t->dims.c * tml_elem_size(t);
}

/* The stage's schedule, once. With band_height (the loader) no kernel runs:
 * every call's window is checked and band_height[t] gets the most rows band
 * t ever holds. Without it (invoke), the kernels run; the loader's walk has
 * proven every view inside its buffer.
 *
 * Rows are pulled: the consumer at `t` wants rows [goal[t], goal[t] +
 * band_rows) of its output; if its input lacks rows of that window, it
 * descends to its producer with goal = the input's first missing row still
 * read (rows no window reads, when the stride is above the kernel, are
 * skipped), and climbs back when they are there. Before it descends or
 * computes, its input drops the rows above its window: a band holds about
 * one window of its consumer. */
static tml_status_t tml_stage_walk(const tml_model_t *m, const tml_op_t *stage, int32_t *band_height,
    const char **detail) {
    const int32_t n = stage->u.stage.member_count;
    const int32_t band = stage->u.stage.band_rows;
    const tml_op_t *member = stage + 1;
    const tml_tensor_t *tensor[TML_STAGE_MAX_MEMBERS + 1];
    int32_t have[TML_STAGE_MAX_MEMBERS + 1]; /* rows computed so far */
    int32_t base[TML_STAGE_MAX_MEMBERS + 1]; /* the row at the start of the buffer */
    int32_t goal[TML_STAGE_MAX_MEMBERS + 1]; /* the first row being produced */
    tensor[0] = tml_op_tensor(m, member, 0);
    for (int32_t t = 0; t <= n; t++) {
        if (t > 0) {
            tensor[t] = tml_op_tensor(m, &member[t - 1], 1);
        }
        have[t] = t == 0 ? tensor[0]->dims.h : 0;
        base[t] = 0;
        goal[t] = 0;
    }
    int32_t t = n;
    for (;;) {
        tml_rows_window_t w;
        tml_stage_window(&member[t - 1], &w);
        const tml_tensor_t *in = tensor[t - 1];
        const tml_tensor_t *out = tensor[t];
        const int32_t end = band > out->dims.h - goal[t] ? out->dims.h : goal[t] + band;
        const int32_t first = goal[t] * w.stride - w.pad;
        const int32_t lo = tml_max32(first, 0);
        const int32_t hi = tml_min32((end - 1) * w.stride - w.pad + (w.kernel - 1) * w.dilation + 1, in->dims.h);
        if (t > 1 && lo > base[t - 1]) {
            const int32_t held = have[t - 1] - lo;
            if (held > 0 && band_height == 0) {
                const uint32_t rb = tml_row_bytes(in);
                memmove(in->data, in->data + (uint32_t)(lo - base[t - 1]) * rb, (uint32_t)held * rb);
            }
            base[t - 1] = lo;
        }
        if (have[t - 1] < hi) {
            t--;
            goal[t] = tml_max32(have[t], lo);
            if (goal[t] > have[t]) {
                base[t] = goal[t]; /* every row it holds is above the window */
            }
            continue;
        }
        const int32_t view = tml_max32(lo, base[t - 1]);
        const int32_t in_h = have[t - 1] - view;
        const int32_t out_base = t < n ? base[t] : 0;
        if (band_height != 0) {
            tml_status_t s = in_h < 1 ? tml_check_fail(detail, TML_ERR_BAD_PARAM, "stage member reads no row")
                : tml_check_window(in_h, end - goal[t], (uint16_t)w.kernel, (uint16_t)w.stride,
                    (uint16_t)w.dilation, (int16_t)(view - first), detail);
            if (s != TML_OK) {
                return s;
            }
            band_height[t] = tml_max32(band_height[t], end - out_base);
        } else {
            const tml_rows_t rows = {
                in->data + (uint32_t)(view - base[t - 1]) * tml_row_bytes(in), in_h, view - first,
                out->data + (uint32_t)(goal[t] - out_base) * tml_row_bytes(out), end - goal[t],
            };
            tml_op_rows[member[t - 1].opcode](m, &member[t - 1], &rows);
        }
        have[t] = end;
        if (t < n) {
            t++;
        } else if (end < out->dims.h) {
            goal[n] = end;
        } else {
            return TML_OK;
        }
    }
}

void tml_run_stage(const tml_model_t *m, const tml_op_t *op) {
    const char *detail = "";
    tml_stage_walk(m, op, 0, &detail);
}

tml_status_t tml_load_stage(tml_model_t *m, const void *params, tml_op_t *op) {
    const tml_blob_stage_t *r = (const tml_blob_stage_t *)params;
    if (r->member_count < 2 || r->member_count > TML_STAGE_MAX_MEMBERS || r->band_rows < 1) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "stage of fewer than 2 or more than 32 members, or no band rows");
    }
    op->u.stage = *r;
    return TML_OK;
}

static int tml_tensor_is(const tml_model_t *m, const tml_op_t *op, uint32_t k, const tml_tensor_t *t) {
    return tml_op_tensor(m, op, k) == t;
}

/* One stage at index i: its members form the chain, bands only between
 * them; then its walk sizes the bands, which must fit the arena and miss
 * the members' scratch. */
static tml_status_t tml_load_one_stage(tml_model_t *m, uint32_t i) {
    tml_op_t *stage = &m->ops[i];
    const uint32_t n = stage->u.stage.member_count;
    if (n >= m->header.op_count - i) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "stage members past the last op");
    }
    if (tml_op_tensor(m, stage, 0)->role >= TML_ROLE_BAND || tml_op_tensor(m, stage, 1)->role >= TML_ROLE_BAND) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "a stage's input or output is a band");
    }
    const tml_op_t *member = stage + 1;
    for (uint32_t k = 0; k < n; k++) {
        const tml_op_t *op = &member[k];
        tml_rows_window_t w;
        m->error.op_index = (int32_t)(i + 1 + k);
        m->error.opcode = op->opcode;
        if (!tml_stage_window(op, &w)) {
            return tml_load_fail(m, TML_ERR_BAD_PARAM, "op cannot be a stage member");
        }
        const tml_tensor_t *in = tml_op_tensor(m, op, 0);
        const tml_tensor_t *out = tml_op_tensor(m, op, 1);
        if (in->dims.n != 1 || out->dims.h > TML_STAGE_MAX_ROWS) {
            return tml_load_fail(m, TML_ERR_BAD_SHAPE, "stage member with a batch other than 1, or over 65536 rows");
        }
        if ((op->opcode == TML_OP_LUT || op->opcode == TML_OP_LUT_S16)
            && (in->dims.h != out->dims.h || in->dims.w != out->dims.w || in->dims.c != out->dims.c)) {
            return tml_load_fail(m, TML_ERR_BAD_SHAPE, "element-wise stage member whose output is not its input's shape");
        }
        const int chained = k == 0 ? tml_tensor_is(m, stage, 0, in) : tml_tensor_is(m, &member[k - 1], 1, in);
        if (!chained || (k + 1 == n) != tml_tensor_is(m, stage, 1, out)) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "stage members do not form a chain from its input to its output");
        }
        if ((k + 1 < n) != (out->role == TML_ROLE_BAND)) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR,
                "a stage tensor between members is not a band, or its output is one, or a band is in two stages");
        }
    }
    m->error.op_index = (int32_t)i;
    m->error.opcode = TML_OP_STAGE;
    int32_t height[TML_STAGE_MAX_MEMBERS + 1] = { 0 };
    const char *detail = "";
    tml_status_t s = tml_stage_walk(m, stage, height, &detail);
    if (s != TML_OK) {
        return tml_load_fail(m, s, detail);
    }
    for (uint32_t k = 0; k + 1 < n; k++) {
        tml_tensor_t *band = &m->tensors[member[k].operands[1]];
        const uint64_t bytes = (uint64_t)height[k + 1] * tml_row_bytes(band);
        if ((uint64_t)band->offset + bytes > m->header.arena_size) {
            return tml_load_fail(m, TML_ERR_BAD_OFFSET, "stage band outside the arena");
        }
        band->bytes = (uint32_t)bytes;
        band->role = TML_ROLE_BAND_CLAIMED;
    }
    /* The member loads saw the bands without their bytes. */
    for (uint32_t k = 0; k < n; k++) {
        const tml_op_t *op = &member[k];
        const tml_op_def_t *def = &tml_op_defs[op->opcode];
        const uint32_t need = op->scratch_offset == TML_NONE || def->scratch_size == 0 ? 0 : def->scratch_size(m, op);
        for (uint32_t j = 0; j < 2 && need != 0; j++) {
            const tml_tensor_t *t = tml_op_tensor(m, op, j);
            if (t->role == TML_ROLE_BAND_CLAIMED && (uint64_t)op->scratch_offset < (uint64_t)t->offset + t->bytes
                && (uint64_t)t->offset < (uint64_t)op->scratch_offset + need) {
                m->error.op_index = (int32_t)(i + 1 + k);
                m->error.opcode = op->opcode;
                return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op scratch overlaps one of its tensors");
            }
        }
    }
    return TML_OK;
}

tml_status_t tml_load_stages(tml_model_t *m) {
    for (uint32_t i = 0; i < m->header.op_count; i++) {
        tml_op_t *op = &m->ops[i];
        if (op->opcode == TML_OP_STAGE) {
            tml_status_t s = tml_load_one_stage(m, i);
            if (s != TML_OK) {
                return s;
            }
            op->members = (uint8_t)op->u.stage.member_count;
            i += op->members;
            continue;
        }
        for (uint32_t k = 0; k < (uint32_t)op->input_count + op->output_count; k++) {
            if (tml_op_tensor(m, op, k)->role >= TML_ROLE_BAND) {
                m->error.op_index = (int32_t)i;
                m->error.opcode = op->opcode;
                return tml_load_fail(m, TML_ERR_BAD_TENSOR, "a band tensor outside its stage");
            }
        }
    }
    for (uint32_t i = 0; i < m->header.tensor_count; i++) {
        if (m->tensors[i].role == TML_ROLE_BAND) {
            m->error.op_index = -1;
            m->error.opcode = 0;
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "a band tensor no stage uses");
        }
    }
    return TML_OK;
}
