/* The convolutions' rescale in armv7m assembly, shared by the Cortex-M3
 * and M4 paths (tml_arch_v7m.h, tml_arch_dsp.h). */
#ifndef TML_ARCH_V7M_REQUANT_H
#define TML_ARCH_V7M_REQUANT_H

#include <stdint.h>

/* What tml_requant_row_v7m() reads besides the accumulators, in the
 * order its LDM loads them. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t round_offset; /* 1 + 2 * output zero point */
    int32_t act_min, act_max;
} tml_requant_row_args_t;

/* tml_arch_v7m_requant.S. out[i] = clamp(tml_rescale_down(acc[i],
 * multiplier[i], shift[i]) + zero point, act_min, act_max) for n > 0
 * outputs whose accumulators already hold the bias, per-channel
 * multipliers and every shift <= -2 (tml_requant.h's single
 * multiply-accumulate form). */
void tml_requant_row_v7m(const int32_t *acc, int8_t *out, int32_t n,
    const tml_requant_row_args_t *args);

#endif /* TML_ARCH_V7M_REQUANT_H */
