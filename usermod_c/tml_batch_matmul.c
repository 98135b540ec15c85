/* BATCH_MATMUL, int8, bit exact with TFLite 2.21's reference kernel
 * (batch_matmul.cc, EvalInt8Int8):
 *
 * out[b][i][j] = clamp(requant(sum_k (lhs[b][i][k] - lhs_zp) * (rhs[b][k][j] - rhs_zp)) + out_zp)
 *
 * with one per-tensor multiplier, TFLite's double-rounding rescale (not
 * FULLY_CONNECTED's single rounding: on the same sums the two differ in a
 * 2 of 700 outputs measured), no fused activation, and the batch dims
 * (n, h of the 4-D padded shapes) broadcast. adj_x / adj_y read lhs / rhs
 * with their last two dims swapped.
 *
 * The products run on FULLY_CONNECTED's inner loops (tml_arch.h): a
 * prepared lhs row against rows of rhs^T, four outputs at a time. Those
 * loops take raw weights, while both operands here carry a zero point (TF
 * quantises even a constant rhs asymmetrically), so the rhs one is split
 * off:
 *   sum_k (x_k - lhs_zp) (r_k - rhs_zp)
 *     = sum_k (x_k - lhs_zp) r_k  -  rhs_zp * sum_k (x_k - lhs_zp),
 * the second term once per lhs row. rhs^T is rhs itself with adj_y, else a
 * transposed copy in the scratch (as TFLite makes one); an adj_x lhs row is
 * gathered into the scratch.
 *
 * Why int32 is exact: |x - lhs_zp| and |r - rhs_zp| are at most 255, so the
 * true sum is below 255 * 255 * depth <= 2^31 - 1 for depth <= 32768 (the
 * check's limit; beyond it TFLite's int32 sum could overflow). The first
 * term is at most 255 * 128 * depth < 2^31 in every partial sum, and the
 * two terms are added modulo 2^32, which gives the true sum because it
 * fits. */
#include <stddef.h>
#include <string.h>
#include "tml_arch.h"
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

#define TML_BATCH_MATMUL_MAX_DEPTH (32768)

/* Outputs whose sums are collected while a long lhs row is taken piece by
 * piece (as in tml_fc.c). */
#define TML_BATCH_MATMUL_CHUNK (32)

static uint32_t tml_align8(uint32_t n) {
    return (n + 7u) & ~7u;
}

static uint32_t tml_batch_matmul_xvec_bytes(int32_t depth) {
    const uint32_t n = (uint32_t)(depth < TML_XVEC_MAX ? depth : TML_XVEC_MAX);
    return TML_XVEC_MAX == 1 ? 0u : tml_align8(n * (uint32_t)sizeof(tml_xvec_t));
}

static tml_status_t tml_check_batch_dim(int32_t lhs, int32_t rhs, int32_t out, const char **detail) {
    if ((lhs != 1 && lhs != out) || (rhs != 1 && rhs != out) || (lhs == 1 && rhs == 1 && out != 1)) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch matmul batch dims do not broadcast to the output");
    }
    return TML_OK;
}

tml_status_t tml_batch_matmul_check(tml_batch_matmul_params_t *p, const tml_dims_t *lhs_dims,
    const tml_dims_t *rhs_dims, const tml_dims_t *out_dims, const char **detail) {
    tml_status_t s = tml_check_requant(p->multiplier, p->shift, detail);
    if (s == TML_OK) {
        s = tml_check_batch_dim(lhs_dims->n, rhs_dims->n, out_dims->n, detail);
    }
    if (s == TML_OK) {
        s = tml_check_batch_dim(lhs_dims->h, rhs_dims->h, out_dims->h, detail);
    }
    if (s != TML_OK) {
        return s;
    }
    p->rows = p->adj_x ? lhs_dims->c : lhs_dims->w;
    p->depth = p->adj_x ? lhs_dims->w : lhs_dims->c;
    p->cols = p->adj_y ? rhs_dims->w : rhs_dims->c;
    const int32_t rhs_depth = p->adj_y ? rhs_dims->c : rhs_dims->w;
    if (rhs_depth != p->depth || out_dims->w != p->rows || out_dims->c != p->cols) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "batch matmul operand and output dims disagree");
    }
    if (p->depth > TML_BATCH_MATMUL_MAX_DEPTH) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "batch matmul over more than 32768 (int32 sums)");
    }
    return TML_OK;
}

/* depth * cols is one rhs matrix, below 2^31 bytes. */
static uint32_t tml_batch_matmul_transposed_bytes(const tml_batch_matmul_params_t *p) {
    return p->adj_y ? 0u : tml_align8((uint32_t)p->depth * (uint32_t)p->cols);
}

/* The prepared lhs row, then rhs^T (without adj_y), then the gathered lhs
 * row (with adj_x). */
uint32_t tml_batch_matmul_scratch_size(const tml_batch_matmul_params_t *p) {
    const uint32_t gathered = p->adj_x ? tml_align8((uint32_t)p->depth) : 0u;
    return tml_batch_matmul_xvec_bytes(p->depth) + tml_batch_matmul_transposed_bytes(p) + gathered;
}

/* One output row: x is the lhs row (depth values), w rhs^T (cols rows of
 * depth). */
static void tml_batch_matmul_row(const tml_batch_matmul_params_t *p, const int8_t *x, const int8_t *w,
    int32_t lhs_offset, int32_t rhs_offset, int32_t output_offset, tml_xvec_t *buf, int8_t *out) {
    const int32_t depth = p->depth;
    uint32_t row_sum = 0;
    for (int32_t k = 0; k < depth; ++k) {
        row_sum += (uint32_t)(x[k] + lhs_offset);
    }
    const uint32_t correction = (uint32_t)rhs_offset * row_sum;
    /* Clamping before adding the output offset gives the same int8 result
     * and cannot overflow near INT32_MAX. */
    const int32_t lo = -128 - output_offset;
    const int32_t hi = 127 - output_offset;
    const int32_t piece = TML_XVEC_MAX == 1 ? depth : (depth < TML_XVEC_MAX ? depth : TML_XVEC_MAX);
    const int once = piece == depth;
    const tml_xvec_t *xv = once ? tml_xvec_prepare(x, depth, lhs_offset, buf) : NULL;
    int32_t acc[TML_BATCH_MATMUL_CHUNK];
    for (int32_t o0 = 0; o0 < p->cols; o0 += TML_BATCH_MATMUL_CHUNK) {
        const int32_t n = p->cols - o0 < TML_BATCH_MATMUL_CHUNK ? p->cols - o0 : TML_BATCH_MATMUL_CHUNK;
        memset(acc, 0, (size_t)n * sizeof(acc[0]));
        for (int32_t f0 = 0; f0 < depth; f0 += piece) {
            const int32_t len = depth - f0 < piece ? depth - f0 : piece;
            if (!once) {
                xv = tml_xvec_prepare(x + f0, len, lhs_offset, buf);
            }
            const int8_t *wr = w + (size_t)o0 * (size_t)depth + (size_t)f0;
            const int32_t groups = n / 4;
            tml_dot4_groups_x(xv, len, wr, depth, groups, lhs_offset, acc);
            wr += 4 * (size_t)groups * (size_t)depth;
            for (int32_t k = 4 * groups; k < n; ++k, wr += depth) {
                acc[k] += tml_dot1_x(xv, wr, len, lhs_offset);
            }
        }
        for (int32_t k = 0; k < n; ++k) {
            const int32_t total = (int32_t)((uint32_t)acc[k] + correction);
            const int32_t v = tml_multiply_by_quantized_multiplier(total, p->multiplier, p->shift);
            out[o0 + k] = (int8_t)(tml_clamp(v, lo, hi) + output_offset);
        }
    }
}

static const int8_t *tml_batch_matrix(const int8_t *base, const tml_dims_t *d, int32_t b0, int32_t b1) {
    const size_t index = (size_t)(d->n == 1 ? 0 : b0) * (size_t)d->h + (size_t)(d->h == 1 ? 0 : b1);
    return base + index * (size_t)d->w * (size_t)d->c;
}

void tml_batch_matmul_s8(const tml_batch_matmul_params_t *p,
    int32_t lhs_zero_point, int32_t rhs_zero_point, int32_t output_zero_point,
    const tml_dims_t *lhs_dims, const int8_t *lhs,
    const tml_dims_t *rhs_dims, const int8_t *rhs,
    const tml_dims_t *out_dims, int8_t *out, void *scratch) {
    const int32_t rows = p->rows, cols = p->cols, depth = p->depth;
    uint8_t *const s = TML_SCRATCH(scratch);
    tml_xvec_t *const buf = (tml_xvec_t *)(void *)s;
    const uint32_t xvec_bytes = tml_batch_matmul_xvec_bytes(depth);
    int8_t *const transposed = p->adj_y ? NULL : (int8_t *)(s + xvec_bytes);
    int8_t *const gathered = p->adj_x ? (int8_t *)(s + xvec_bytes + tml_batch_matmul_transposed_bytes(p)) : NULL;
    /* A broadcast rhs is transposed once for all the lhs matrices it meets. */
    const int8_t *in_transposed = NULL;
    for (int32_t b0 = 0; b0 < out_dims->n; ++b0) {
        for (int32_t b1 = 0; b1 < out_dims->h; ++b1) {
            const int8_t *l = tml_batch_matrix(lhs, lhs_dims, b0, b1);
            const int8_t *r = tml_batch_matrix(rhs, rhs_dims, b0, b1);
            if (!p->adj_y) {
                if (r != in_transposed) {
                    int8_t *dst = transposed;
                    for (int32_t j = 0; j < cols; ++j) {
                        for (int32_t k = 0; k < depth; ++k) {
                            *dst++ = r[(size_t)k * (size_t)cols + (size_t)j];
                        }
                    }
                    in_transposed = r;
                }
                r = transposed;
            }
            for (int32_t i = 0; i < rows; ++i, out += cols) {
                const int8_t *x = l + (size_t)i * (size_t)depth;
                if (p->adj_x) {
                    for (int32_t k = 0; k < depth; ++k) {
                        gathered[k] = l[(size_t)k * (size_t)rows + (size_t)i];
                    }
                    x = gathered;
                }
                tml_batch_matmul_row(p, x, r, -lhs_zero_point, -rhs_zero_point, output_zero_point, buf, out);
            }
        }
    }
}
