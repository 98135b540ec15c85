/* MEAN over any subset of the four (padded) dims, int8, bit exact with
 * TFLite 2.21's reference_ops::QuantizedMeanOrSum (params mode 1, the only
 * one TFLite uses for int8): the sum of (x - input zero point) times
 * input_scale / output_scale / count, rounded, where the 1 / count factor is
 * folded into the multiplier once, at load (tml_mean_prepare). */
#include "tml_check.h"
#include "tml_kernels.h"
#include "tml_requant.h"

/* Channels summed together when the channel dim is kept, in the scratch. */
#define TML_MEAN_CHUNK (64)

/* Sum of the int8 values in the box of extents ext starting at base. */
static int32_t tml_mean_box_sum(const int8_t *base, const int32_t ext[4], const int32_t stride[4]) {
    int32_t sum = 0;
    for (int32_t i0 = 0; i0 < ext[0]; i0++) {
        for (int32_t i1 = 0; i1 < ext[1]; i1++) {
            for (int32_t i2 = 0; i2 < ext[2]; i2++) {
                const int8_t *row = base + i0 * stride[0] + i1 * stride[1] + i2 * stride[2];
                for (int32_t i3 = 0; i3 < ext[3]; i3++) {
                    sum += row[i3 * stride[3]];
                }
            }
        }
    }
    return sum;
}

/* floor(log2(x)) for x >= 1. */
static int32_t tml_floor_log2(uint32_t x) {
    int32_t n = -1;
    while (x != 0u) {
        x >>= 1;
        n++;
    }
    return n;
}

/* 64-by-32 unsigned division by shift-and-subtract, run once per load. It
 * keeps libgcc's 64-bit division out of the firmware: slow on Cortex-M0, and
 * its unwind tables break the link with the qemu port's linker scripts. */
static uint64_t tml_udiv64_32(uint64_t numerator, uint32_t divisor) {
    uint64_t quotient = 0;
    uint64_t remainder = 0;
    for (int bit = 63; bit >= 0; bit--) {
        remainder = (remainder << 1) | ((numerator >> bit) & 1u);
        if (remainder >= divisor) {
            remainder -= divisor;
            quotient |= (uint64_t)1 << bit;
        }
    }
    return quotient;
}

/* Extents of the kept dims (1 where reduced) and of the reduced dims (1
 * where kept); returns the count of values averaged into each output. */
static int32_t tml_mean_extents(uint32_t axis_mask, const int32_t dims[4], int32_t outer[4], int32_t inner[4]) {
    int32_t count = 1;
    for (int32_t i = 0; i < 4; i++) {
        const int32_t reduced = (axis_mask >> i) & 1u;
        outer[i] = reduced ? 1 : dims[i];
        inner[i] = reduced ? dims[i] : 1;
        count *= inner[i];
    }
    return count;
}

/* The kernel writes one output per combination of the kept dims, in order;
 * whether the reduced dims were kept as 1s or squeezed away by the
 * converter does not change that count. A sum of int8 values stays well
 * inside int32 for up to 2^24 of them. */
tml_status_t tml_mean_check(const tml_mean_params_t *p,
    const tml_dims_t *in_dims, const tml_dims_t *out_dims, const char **detail) {
    int32_t dims[4], outer[4], inner[4];
    if (p->axis_mask == 0 || (p->axis_mask & ~0xFu) != 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "axis_mask outside the 4 dims");
    }
    tml_dims_to_array(in_dims, dims);
    /* Products of a tensor's dims fit int32: tensors are below 2^31 bytes. */
    if (tml_mean_extents(p->axis_mask, dims, outer, inner) > (1 << 24)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "mean over more than 2^24 values");
    }
    if (outer[0] * outer[1] * outer[2] * outer[3] != out_dims->n * out_dims->h * out_dims->w * out_dims->c) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output size != product of kept input dims");
    }
    return tml_check_requant(p->multiplier, p->shift, detail);
}

/* TFLite folds 1 / count into the multiplier at every Eval; it depends only
 * on the shapes, so it is done once here: scale the multiplier up by the
 * largest power of two not above count (keeping shift >= -31), divide by
 * count; the result stays below 2^31. */
void tml_mean_prepare(tml_mean_params_t *p, const tml_dims_t *in_dims) {
    int32_t dims[4], outer[4], inner[4];
    tml_dims_to_array(in_dims, dims);
    const int32_t count = tml_mean_extents(p->axis_mask, dims, outer, inner);
    int32_t extra = tml_floor_log2((uint32_t)count);
    if (extra > 31 + p->shift) {
        extra = 31 + p->shift;
    }
    p->multiplier = (int32_t)tml_udiv64_32((uint64_t)p->multiplier << extra, (uint32_t)count);
    p->shift -= extra;
}

/* Only the path that keeps the channel dim sums into the scratch. */
uint32_t tml_mean_scratch_size(const tml_mean_params_t *p, const tml_dims_t *in_dims) {
    const int32_t channels = in_dims->c < TML_MEAN_CHUNK ? in_dims->c : TML_MEAN_CHUNK;
    return p->axis_mask != 0u && (p->axis_mask & 0x8u) == 0u ? 4u * (uint32_t)channels : 0u;
}

void tml_mean_s8(const tml_mean_params_t *p,
    int32_t input_zero_point, int32_t output_zero_point,
    const tml_dims_t *in_dims, const int8_t *in,
    const tml_dims_t *out_dims, int8_t *out, void *scratch) {
    int32_t dims[4], outer[4], inner[4];
    tml_dims_to_array(in_dims, dims);
    const int32_t stride[4] = { dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1 };
    const int32_t count = tml_mean_extents(p->axis_mask, dims, outer, inner);
    const int32_t multiplier = p->multiplier;
    const int32_t shift = p->shift;
    (void)out_dims;

    if (p->axis_mask != 0u && (p->axis_mask & 0x8u) == 0u) {
        /* Channels kept (global average pooling, for one): the reduced
         * positions are summed a row of contiguous channels at a time. */
        const int32_t channels = dims[3];
        int32_t *const sums = (int32_t *)(void *)TML_SCRATCH(scratch);
        for (int32_t o0 = 0; o0 < outer[0]; o0++) {
            for (int32_t o1 = 0; o1 < outer[1]; o1++) {
                for (int32_t o2 = 0; o2 < outer[2]; o2++) {
                    const int8_t *base = in + o0 * stride[0] + o1 * stride[1] + o2 * stride[2];
                    for (int32_t c0 = 0; c0 < channels; c0 += TML_MEAN_CHUNK) {
                        const int32_t n = channels - c0 < TML_MEAN_CHUNK ? channels - c0 : TML_MEAN_CHUNK;
                        for (int32_t c = 0; c < n; c++) {
                            sums[c] = 0;
                        }
                        for (int32_t i0 = 0; i0 < inner[0]; i0++) {
                            for (int32_t i1 = 0; i1 < inner[1]; i1++) {
                                for (int32_t i2 = 0; i2 < inner[2]; i2++) {
                                    const int8_t *row = base + i0 * stride[0] + i1 * stride[1]
                                        + i2 * stride[2] + c0;
                                    for (int32_t c = 0; c < n; c++) {
                                        sums[c] += row[c];
                                    }
                                }
                            }
                        }
                        for (int32_t c = 0; c < n; c++) {
                            const int32_t value = tml_multiply_by_quantized_multiplier(
                                sums[c] - input_zero_point * count, multiplier, shift) + output_zero_point;
                            *out++ = (int8_t)tml_clamp(value, INT8_MIN, INT8_MAX);
                        }
                    }
                }
            }
        }
        return;
    }

    for (int32_t o0 = 0; o0 < outer[0]; o0++) {
        for (int32_t o1 = 0; o1 < outer[1]; o1++) {
            for (int32_t o2 = 0; o2 < outer[2]; o2++) {
                for (int32_t o3 = 0; o3 < outer[3]; o3++) {
                    const int8_t *base = in + o0 * stride[0] + o1 * stride[1] + o2 * stride[2] + o3;
                    /* |sum| <= 128 * count: fits for any count below 2^24. */
                    int32_t sum = tml_mean_box_sum(base, inner, stride);
                    int32_t value = sum;
                    /* With no axis TFLite copies the input unchanged. */
                    if (p->axis_mask != 0u) {
                        value = tml_multiply_by_quantized_multiplier(
                            sum - input_zero_point * count, multiplier, shift) + output_zero_point;
                    }
                    *out++ = (int8_t)tml_clamp(value, INT8_MIN, INT8_MAX);
                }
            }
        }
    }
}
