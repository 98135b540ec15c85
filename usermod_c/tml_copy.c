/* Data movement kernels: CONCATENATION (one input at a time), PAD and REMAP, on the
 * tensors' 4-D padded NHWC dims, for elements of 1 or 2 bytes (int8, int16; REMAP
 * also 4). No arithmetic on values, only placement. */
#include "tml_check.h"
#include "tml_kernels.h"

/* The output is outer x out_dims[axis] x inner; this input fills the slab
 * [axis_start, axis_start + in_dims[axis]) of the middle dimension. */
tml_status_t tml_concat_part_check(int32_t axis, int32_t axis_start,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    int32_t id[TML_RANK];
    int32_t od[TML_RANK];
    if (axis < 0 || axis >= TML_RANK) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "concatenation axis outside [0, 3]");
    }
    tml_dims_to_array(in_dims, id);
    tml_dims_to_array(out_dims, od);
    for (int32_t i = 0; i < TML_RANK; i++) {
        if (i != axis && id[i] != od[i]) {
            return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "concatenation inputs differ off the axis");
        }
    }
    if ((int64_t)axis_start + id[axis] > od[axis]) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "concatenation inputs do not sum to the output");
    }
    return TML_OK;
}

void tml_concat_part(int32_t axis, int32_t axis_start, uint32_t elem_size,
    const tml_dims_t *in_dims, const uint8_t *in,
    const tml_dims_t *out_dims, uint8_t *out) {
    int32_t id[TML_RANK];
    int32_t od[TML_RANK];
    tml_dims_to_array(in_dims, id);
    tml_dims_to_array(out_dims, od);
    int32_t outer = 1;
    int32_t inner = 1;
    for (int32_t i = 0; i < TML_RANK; i++) {
        if (i < axis) {
            outer *= od[i];
        } else if (i > axis) {
            inner *= od[i];
        }
    }
    const uint32_t in_block = (uint32_t)(id[axis] * inner) * elem_size;
    const uint32_t out_block = (uint32_t)(od[axis] * inner) * elem_size;
    uint8_t *dst = out + (uint32_t)(axis_start * inner) * elem_size;
    for (int32_t o = 0; o < outer; o++) {
        for (uint32_t i = 0; i < in_block; i++) {
            dst[i] = in[i];
        }
        in += in_block;
        dst += out_block;
    }
}

/* Element by element, in the element's own type: int8 and int16 tensors. */
static void tml_fill(uint8_t *out, int32_t count, uint32_t elem_size, int32_t value) {
    if (elem_size == 2) {
        int16_t *o = (int16_t *)(void *)out;
        for (int32_t i = 0; i < count; i++) {
            o[i] = (int16_t)value;
        }
    } else {
        for (int32_t i = 0; i < count; i++) {
            out[i] = (uint8_t)(int8_t)value;
        }
    }
}

/* Walks the output row by row (a row being the innermost C values): rows whose
 * N, H or W falls in the padding are all pad_value, the others are
 * before[3] pad values, one input row, after[3] pad values. */
tml_status_t tml_pad_check(const tml_pad_params_t *p, uint32_t elem_size,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    int32_t id[TML_RANK];
    int32_t od[TML_RANK];
    tml_dims_to_array(in_dims, id);
    tml_dims_to_array(out_dims, od);
    for (int32_t i = 0; i < TML_RANK; i++) {
        if (p->before[i] < 0 || p->after[i] < 0) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "negative padding");
        }
        if ((int64_t)id[i] + p->before[i] + p->after[i] != od[i]) {
            return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output dims != input dims + padding");
        }
    }
    const int32_t limit = elem_size == 2 ? 32768 : 128;
    if (p->pad_value < -limit || p->pad_value > limit - 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "pad value outside the element type");
    }
    return TML_OK;
}

void tml_pad(const tml_pad_params_t *p, uint32_t elem_size,
    const tml_dims_t *in_dims, const uint8_t *in,
    const tml_dims_t *out_dims, uint8_t *out) {
    int32_t id[TML_RANK];
    int32_t od[TML_RANK];
    tml_dims_to_array(in_dims, id);
    tml_dims_to_array(out_dims, od);
    const int32_t c_before = p->before[3];
    const int32_t c_after = p->after[3];
    const uint32_t row_bytes = (uint32_t)od[3] * elem_size;
    for (int32_t n = 0; n < od[0]; n++) {
        const int32_t in_n = n - p->before[0];
        for (int32_t h = 0; h < od[1]; h++) {
            const int32_t in_h = h - p->before[1];
            for (int32_t w = 0; w < od[2]; w++) {
                const int32_t in_w = w - p->before[2];
                if (in_n < 0 || in_n >= id[0] || in_h < 0 || in_h >= id[1]
                    || in_w < 0 || in_w >= id[2]) {
                    tml_fill(out, od[3], elem_size, p->pad_value);
                } else {
                    const uint8_t *src = in + (uint32_t)(((in_n * id[1] + in_h) * id[2] + in_w) * id[3]) * elem_size;
                    tml_fill(out, c_before, elem_size, p->pad_value);
                    uint8_t *dst = out + (uint32_t)c_before * elem_size;
                    for (uint32_t b = 0; b < (uint32_t)id[3] * elem_size; b++) {
                        dst[b] = src[b];
                    }
                    tml_fill(dst + (uint32_t)id[3] * elem_size, c_after, elem_size, p->pad_value);
                }
                out += row_bytes;
            }
        }
    }
}

/* ---- REMAP ------------------------------------------------------------ */

tml_status_t tml_remap_check(tml_remap_params_t *p, const tml_dims_t *out_dims, const char **detail) {
    int32_t od[TML_RANK];
    tml_dims_to_array(out_dims, od);
    if (p->elem_size != 1 && p->elem_size != 2 && p->elem_size != 4) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "remap element size not 1, 2 or 4");
    }
    const int32_t *t = p->table;
    int64_t lowest = 0;
    int64_t highest = 0;
    for (int32_t d = 0; d < TML_RANK; d++) {
        int32_t lo = t[0];
        int32_t hi = t[0];
        for (int32_t i = 1; i < od[d]; i++) {
            lo = t[i] < lo ? t[i] : lo;
            hi = t[i] > hi ? t[i] : hi;
        }
        lowest += lo;
        highest += hi;
        t += od[d];
    }
    if (lowest < 0 || highest >= p->in_elements) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "remap table reaches outside the input");
    }
    const int32_t *inner = p->table + od[0] + od[1] + od[2];
    p->inner_run = 1;
    for (int32_t i = 1; i < od[3]; i++) {
        if (inner[i] != inner[0] + i) {
            p->inner_run = 0;
        }
    }
    return TML_OK;
}

static void tml_copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        dst[i] = src[i];
    }
}

static void tml_zero_bytes(uint8_t *dst, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        dst[i] = 0;
    }
}

/* Offsets are summed in uint32_t: a table changed after load may hold any
 * value, and unsigned wrap-around is defined; the one comparison with
 * in_elements then bounds the read. */
void tml_remap(const tml_remap_params_t *p, const uint8_t *in, const tml_dims_t *out_dims, uint8_t *out) {
    const uint32_t size = p->elem_size;
    const uint32_t limit = (uint32_t)p->in_elements;
    const uint32_t row = (uint32_t)out_dims->c;
    const int32_t *tn = p->table;
    const int32_t *th = tn + out_dims->n;
    const int32_t *tw = th + out_dims->h;
    const int32_t *tc = tw + out_dims->w;
    for (int32_t n = 0; n < out_dims->n; n++) {
        for (int32_t h = 0; h < out_dims->h; h++) {
            const uint32_t base_nh = (uint32_t)tn[n] + (uint32_t)th[h];
            for (int32_t w = 0; w < out_dims->w; w++, out += row * size) {
                const uint32_t base = base_nh + (uint32_t)tw[w];
                if (p->inner_run) {
                    const uint32_t start = base + (uint32_t)tc[0];
                    if (start <= limit && limit - start >= row) {
                        tml_copy_bytes(out, in + start * size, row * size);
                    } else {
                        tml_zero_bytes(out, row * size);
                    }
                } else if (size == 1) {
                    for (uint32_t c = 0; c < row; c++) {
                        const uint32_t at = base + (uint32_t)tc[c];
                        out[c] = at < limit ? in[at] : 0;
                    }
                } else {
                    for (uint32_t c = 0; c < row; c++) {
                        const uint32_t at = base + (uint32_t)tc[c];
                        if (at < limit) {
                            tml_copy_bytes(out + c * size, in + at * size, size);
                        } else {
                            tml_zero_bytes(out + c * size, size);
                        }
                    }
                }
            }
        }
    }
}
