/* RESIZE_BILINEAR, int8, bit exact with TFLite's integer resize
 * (reference_ops::ResizeBilinearInteger, which TF 2.21 runs for int8 with
 * its default double rounding).
 *
 * Source coordinates are in Q10: scale = round(1024 * in / out) (in - 1
 * over out - 1 with align_corners), the source of output index v is
 * v * scale, or v * scale + scale / 2 - 512 with half_pixel_centers. The
 * lower neighbour is that / 1024 (C division, so towards zero) but at least
 * 0, the upper one rounded up but at most in - 1, and the weight of the
 * upper one is the source minus 1024 * lower. Each output is
 *   round(sum of the four neighbours times their two weights / 2^20),
 * halves away from zero. All of it depends on shapes only, so the scales
 * are worked out at load and the coordinates once per output row and column.
 *
 * Why int32 suffices where TFLite sums in int64: the upper weight d of a
 * row lies in [-512, 1023] (negative only when the source is below 0, where
 * both neighbours are row 0), so |1024 - d| + |d| <= 2048 and the sum of
 * four int8 values times the weights is at most 128 * 2048 * 2048 = 2^29.
 * The weights of one row (column) sum to 1024, so the result of in-range
 * values is in-range: the rounded quotient always fits int8. */
#include <stddef.h>
#include "tml_check.h"
#include "tml_kernels.h"

/* Keeps every Q10 product below 2^31: scale <= 1024 * in + out / 2 and the
 * largest source is below 1024 * in + out. */
#define TML_RESIZE_MAX_DIM (1 << 16)

static int32_t tml_resize_scale(int32_t in, int32_t out, int align_corners) {
    if (align_corners && out > 1) {
        return (1024 * (in - 1) + (out - 1) / 2) / (out - 1);
    }
    return (1024 * in + out / 2) / out;
}

typedef struct {
    int32_t lower, upper, weight; /* weight of upper, Q10 */
} tml_resize_tap_t;

static tml_resize_tap_t tml_resize_tap(int32_t v, int32_t scale, int half_pixel, int32_t in) {
    const int32_t src = half_pixel ? v * scale + scale / 2 - 512 : v * scale;
    tml_resize_tap_t t;
    t.lower = src / 1024 > 0 ? src / 1024 : 0;
    t.upper = (src + 1023) / 1024 < in - 1 ? (src + 1023) / 1024 : in - 1;
    t.weight = src - 1024 * t.lower;
    return t;
}

tml_status_t tml_resize_bilinear_check(tml_resize_params_t *p, int align_corners,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    if (align_corners && p->half_pixel) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "resize with both align_corners and half_pixel_centers");
    }
    if (in_dims->n != out_dims->n || in_dims->c != out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "resize changes the batch or the channels");
    }
    if (in_dims->h > TML_RESIZE_MAX_DIM || in_dims->w > TML_RESIZE_MAX_DIM
        || out_dims->h > TML_RESIZE_MAX_DIM || out_dims->w > TML_RESIZE_MAX_DIM) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "resize height or width above 65536");
    }
    p->h_scale = tml_resize_scale(in_dims->h, out_dims->h, align_corners);
    p->w_scale = tml_resize_scale(in_dims->w, out_dims->w, align_corners);
    /* The lower neighbour grows with the output index and is not clamped
     * to the input: for some large upscales TFLite's own kernel reads past
     * the input, and there is nothing to be exact with. */
    if (tml_resize_tap(out_dims->h - 1, p->h_scale, p->half_pixel, in_dims->h).lower > in_dims->h - 1
        || tml_resize_tap(out_dims->w - 1, p->w_scale, p->half_pixel, in_dims->w).lower > in_dims->w - 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "resize source beyond the input (TFLite reads past it)");
    }
    return TML_OK;
}

/* int16: TFLite sums the four weighted taps in int64 (a value times 2^20
 * leaves int32), then divides by 2^20 rounding half away from zero. */
void tml_resize_bilinear_s16(const tml_resize_params_t *p,
    const tml_dims_t *in_dims, const int16_t *in,
    const tml_dims_t *out_dims, int16_t *out) {
    const int32_t depth = in_dims->c;
    const int32_t row = in_dims->w * depth;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int16_t *image = in + (size_t)n * (size_t)in_dims->h * (size_t)row;
        for (int32_t y = 0; y < out_dims->h; y++) {
            const tml_resize_tap_t ty = tml_resize_tap(y, p->h_scale, p->half_pixel, in_dims->h);
            const int16_t *top = image + (size_t)ty.lower * (size_t)row;
            const int16_t *bottom = image + (size_t)ty.upper * (size_t)row;
            for (int32_t x = 0; x < out_dims->w; x++, out += depth) {
                const tml_resize_tap_t tx = tml_resize_tap(x, p->w_scale, p->half_pixel, in_dims->w);
                const int32_t left = tx.lower * depth;
                const int32_t right = tx.upper * depth;
                const int64_t w_tl = (int64_t)(1024 - ty.weight) * (1024 - tx.weight);
                const int64_t w_bl = (int64_t)ty.weight * (1024 - tx.weight);
                const int64_t w_tr = (int64_t)(1024 - ty.weight) * tx.weight;
                const int64_t w_br = (int64_t)ty.weight * tx.weight;
                for (int32_t c = 0; c < depth; c++) {
                    const int64_t sum = top[left + c] * w_tl + bottom[left + c] * w_bl
                        + top[right + c] * w_tr + bottom[right + c] * w_br;
                    const int64_t half = sum > 0 ? (1 << 19) : -(1 << 19);
                    out[c] = (int16_t)((sum + half) / (1 << 20));
                }
            }
        }
    }
}

void tml_resize_bilinear_s8(const tml_resize_params_t *p,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out) {
    const int32_t depth = in_dims->c;
    const int32_t row = in_dims->w * depth;
    for (int32_t n = 0; n < out_dims->n; n++) {
        const int8_t *image = in + (size_t)n * (size_t)in_dims->h * (size_t)row;
        for (int32_t y = 0; y < out_dims->h; y++) {
            const tml_resize_tap_t ty = tml_resize_tap(y, p->h_scale, p->half_pixel, in_dims->h);
            const int8_t *top = image + (size_t)ty.lower * (size_t)row;
            const int8_t *bottom = image + (size_t)ty.upper * (size_t)row;
            for (int32_t x = 0; x < out_dims->w; x++, out += depth) {
                const tml_resize_tap_t tx = tml_resize_tap(x, p->w_scale, p->half_pixel, in_dims->w);
                const int32_t left = tx.lower * depth;
                const int32_t right = tx.upper * depth;
                const int32_t w_tl = (1024 - ty.weight) * (1024 - tx.weight);
                const int32_t w_bl = ty.weight * (1024 - tx.weight);
                const int32_t w_tr = (1024 - ty.weight) * tx.weight;
                const int32_t w_br = ty.weight * tx.weight;
                for (int32_t c = 0; c < depth; c++) {
                    const int32_t sum = top[left + c] * w_tl + bottom[left + c] * w_bl
                        + top[right + c] * w_tr + bottom[right + c] * w_br;
                    const int32_t half = sum > 0 ? (1 << 19) : -(1 << 19);
                    out[c] = (int8_t)((sum + half) / (1 << 20));
                }
            }
        }
    }
}
