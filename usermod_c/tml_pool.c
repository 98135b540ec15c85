/* AVERAGE_POOL_2D and MAX_POOL_2D on NHWC int8, bit exact with TFLite's
 * reference_integer_ops pooling. Input and output share scale and zero point
 * (TFLite requires it), so no requantisation: only the window clipping at the
 * borders and the average's rounding matter. */
#include <string.h>
#include "tml_arch.h"
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* Channels summed together by the average pool, in its scratch. */
#define TML_POOL_CHUNK (64)

/* The part of the filter window that lies inside the input, as [start, end)
 * offsets into the window. Padded positions are skipped, not counted. */
typedef struct {
    int32_t origin;
    int32_t start, end;
} tml_window_t;

static tml_window_t tml_pool_window(int32_t out_pos, int32_t stride, int32_t pad,
    int32_t filter, int32_t in_size) {
    tml_window_t w;
    w.origin = out_pos * stride - pad;
    w.start = w.origin < 0 ? -w.origin : 0;
    w.end = in_size - w.origin < filter ? in_size - w.origin : filter;
    return w;
}

/* Every window overlaps the input (tml_check_window), so an average never
 * divides by zero and a max always has a first tap. */
tml_status_t tml_pool_check(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (in_dims->n != out_dims->n || in_dims->c != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch or channels of input and output differ");
    }
    tml_status_t s = tml_check_window(in_dims->h, out_dims->h, p->filter_h, p->stride_h, 1, p->pad_top, detail);
    if (s == TML_OK) {
        s = tml_check_window(in_dims->w, out_dims->w, p->filter_w, p->stride_w, 1, p->pad_left, detail);
    }
    if (s == TML_OK) {
        s = tml_check_act_s8(p->act_min, p->act_max, detail);
    }
    return s;
}

uint32_t tml_avg_pool_scratch_size(const tml_dims_t *in_dims) {
    return 4u * (uint32_t)(in_dims->c < TML_POOL_CHUNK ? in_dims->c : TML_POOL_CHUNK);
}

void tml_avg_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out, void *scratch) {
    int32_t *const sums = (int32_t *)(void *)TML_SCRATCH(scratch);
    const int32_t depth = in_dims->c;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_batch = in + b * in_dims->h * in_dims->w * depth;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            tml_window_t wy = tml_pool_window(oy, p->stride_h, p->pad_top, p->filter_h, in_dims->h);
            for (int32_t ox = 0; ox < out_dims->w; ox++) {
                tml_window_t wx = tml_pool_window(ox, p->stride_w, p->pad_left, p->filter_w, in_dims->w);
                const int32_t count = (wy.end - wy.start) * (wx.end - wx.start);
                /* Tap by tap over a chunk of contiguous channels (NHWC).
                 * |sum| <= 128 * count and count <= h * w of the input:
                 * int32 (as in TFLite) holds any window below 2^24 cells. */
                for (int32_t c0 = 0; c0 < depth; c0 += TML_POOL_CHUNK) {
                    const int32_t n = depth - c0 < TML_POOL_CHUNK ? depth - c0 : TML_POOL_CHUNK;
                    for (int32_t c = 0; c < n; c++) {
                        sums[c] = 0;
                    }
                    for (int32_t fy = wy.start; fy < wy.end; fy++) {
                        const int8_t *in_row = in_batch + ((wy.origin + fy) * in_dims->w) * depth + c0;
                        for (int32_t fx = wx.start; fx < wx.end; fx++) {
                            const int8_t *x = in_row + (wx.origin + fx) * depth;
                            for (int32_t c = 0; c < n; c++) {
                                sums[c] += x[c];
                            }
                        }
                    }
                    for (int32_t c = 0; c < n; c++) {
                        /* Round half away from zero; C division truncates. */
                        const int32_t acc = sums[c];
                        const int32_t avg = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                        *out++ = (int8_t)tml_clamp(avg, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/* out[c] = max(out[c], x[c]) for c < depth. */
static void tml_max_into(int8_t *out, const int8_t *x, int32_t depth) {
    int32_t c = 0;
#if TML_ARCH_DSP
    /* Four channels an iteration. */
    for (; c + 4 <= depth; c += 4) {
        const uint32_t mv = tml_max_s8x4(tml_read_s8x4(x + c), tml_read_s8x4(out + c));
        memcpy(out + c, &mv, sizeof(mv));
    }
#endif
    for (; c < depth; c++) {
        if (x[c] > out[c]) {
            out[c] = x[c];
        }
    }
}

void tml_max_pool_s8(const tml_pool_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out) {
    const int32_t depth = in_dims->c;
    const int clamped = p->act_min > INT8_MIN || p->act_max < INT8_MAX;
    for (int32_t b = 0; b < out_dims->n; b++) {
        const int8_t *in_batch = in + b * in_dims->h * in_dims->w * depth;
        for (int32_t oy = 0; oy < out_dims->h; oy++) {
            tml_window_t wy = tml_pool_window(oy, p->stride_h, p->pad_top, p->filter_h, in_dims->h);
            for (int32_t ox = 0; ox < out_dims->w; ox++, out += depth) {
                tml_window_t wx = tml_pool_window(ox, p->stride_w, p->pad_left, p->filter_w, in_dims->w);
                /* Tap by tap over all channels (contiguous in NHWC), the
                 * first tap copied; an empty window yields -128 before the
                 * clamp, as in TFLite. */
                int first = 1;
                for (int32_t fy = wy.start; fy < wy.end; fy++) {
                    const int8_t *in_row = in_batch + ((wy.origin + fy) * in_dims->w) * depth;
                    for (int32_t fx = wx.start; fx < wx.end; fx++) {
                        const int8_t *x = in_row + (wx.origin + fx) * depth;
                        if (first) {
                            /* memmove: a hostile blob may overlap the
                             * tensors (the loader checks bounds, not that). */
                            memmove(out, x, (size_t)depth);
                            first = 0;
                        } else {
                            tml_max_into(out, x, depth);
                        }
                    }
                }
                if (first) {
                    memset(out, INT8_MIN, (size_t)depth);
                }
                if (clamped) {
                    for (int32_t c = 0; c < depth; c++) {
                        out[c] = (int8_t)tml_clamp(out[c], p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
