/* Rules shared by several ops' checks (tml_*_check in the kernel files).
 * Each returns TML_OK, or a status with *detail naming the rule. */
#ifndef TML_CHECK_H
#define TML_CHECK_H

#include <stdint.h>
#include "tml_status.h"

static inline tml_status_t tml_check_fail(const char **detail, tml_status_t status, const char *why) {
    *detail = TML_DETAIL(why);
    return status;
}

static inline tml_status_t tml_check_act_s8(int32_t act_min, int32_t act_max, const char **detail) {
    if (act_min < -128 || act_max > 127 || act_min > act_max) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "activation range outside int8 or empty");
    }
    return TML_OK;
}

static inline tml_status_t tml_check_act_s16(int32_t act_min, int32_t act_max, const char **detail) {
    if (act_min < -32768 || act_max > 32767 || act_min > act_max) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "activation range outside int16 or empty");
    }
    return TML_OK;
}

/* TFLite's MultiplyByQuantizedMultiplier takes a Q31 multiplier >= 0 and a
 * shift in [-31, 30]. */
static inline tml_status_t tml_check_requant(int32_t multiplier, int32_t shift, const char **detail) {
    if (multiplier < 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "negative multiplier");
    }
    if (shift < -31 || shift > 30) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "shift outside [-31, 30]");
    }
    return TML_OK;
}

/* One spatial axis of a sliding window (conv or pool). TFLite's SAME and
 * VALID padding always give pad_before <= effective_kernel - 1 and make the
 * last window start inside the input; requiring both means every window
 * covers at least one input position for pools (no divide by zero in
 * average pooling) and no kernel strays further into padding than TFLite. */
static inline tml_status_t tml_check_window(int32_t in, int32_t out, uint16_t kernel,
    uint16_t stride, uint16_t dilation, int16_t pad_before, const char **detail) {
    if (kernel == 0 || stride == 0 || dilation == 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "zero kernel, stride or dilation");
    }
    const int64_t effective = ((int64_t)kernel - 1) * dilation + 1;
    if (pad_before < 0 || pad_before > effective - 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "padding outside [0, kernel - 1]");
    }
    if (((int64_t)out - 1) * stride > (int64_t)in - 1 + pad_before) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "output larger than the input and padding allow");
    }
    return TML_OK;
}

#endif /* TML_CHECK_H */
