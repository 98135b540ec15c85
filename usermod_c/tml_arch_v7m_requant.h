/* The convolutions' rescale in armv7m assembly, shared by the Cortex-M3
 * and M4 paths (tml_arch_v7m.h, tml_arch_dsp.h). */
#ifndef TML_ARCH_V7M_REQUANT_H
#define TML_ARCH_V7M_REQUANT_H

/* Words from one pixel's accumulators to the next one's in
 * tml_requant_fold2_v7m() (tml_conv.c's TML_ACC_CHUNK). */
#define TML_REQUANT_PAIR_ACC_STEP 32

/* Inputs FULLY_CONNECTED_PAIRS sums in one piece: 240 * 128 * 128 keeps
 * the low row's sum under 2^22 in size (tml_fc.c). */
#define TML_FC_PAIRS_PIECE 240

#ifdef __ASSEMBLER__
/* The two dot products of a 64-bit SMLAL sum hi:lo of words a + b * 2^23
 * (the M3's conv quads, FULLY_CONNECTED_PAIRS), the sum started at 2^22:
 * a's sum plus 2^22 then lies in [0, 2^23), a field with no sign to
 * borrow. a's sum into `low`, b's into lo. */
    .macro tml_v7m_split low, lo, hi
    ubfx \low, \lo, #0, #23
    sub \low, \low, #0x400000
    lsr \lo, \lo, #23
    orr \lo, \lo, \hi, lsl #9
    .endm

/* A loop of `len` steps unrolled 8 times (tml_v7m_conv4, tml_fc_pairs_v7m),
 * entered where len % 8 steps remain of its first pass: `rest` holds len %
 * 8, TBB jumps to the step it names. The loop's test ends the last step. */
    .macro tml_v7m_steps8 rest, step
    tbb [pc, \rest]
0:
    .byte (10f - 0b) / 2, (17f - 0b) / 2, (16f - 0b) / 2, (15f - 0b) / 2
    .byte (14f - 0b) / 2, (13f - 0b) / 2, (12f - 0b) / 2, (11f - 0b) / 2
10:
    \step
11:
    \step
12:
    \step
13:
    \step
14:
    \step
15:
    \step
16:
    \step
17:
    \step
    .endm
#else
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

/* What tml_requant_fc_v7m() reads besides the sums, in LDM order. */
typedef struct {
    const int32_t *bias; /* NULL: none */
    const int32_t *multiplier, *shift;
    int32_t step_bytes;  /* from one output's multiplier and shift to the next one's: 4, or 0 per-tensor */
    int32_t fold_base;   /* 2 * output zero point + 1 */
    int32_t act_min;     /* with the zero point; act_max is 127 */
} tml_requant_fc_args_t;

/* tml_arch_v7m_requant.S. FULLY_CONNECTED's single rounding, out[i] =
 * clamp(((int64)(acc[i] + bias[i]) * multiplier + 2^(30 - shift)) >>
 * (31 - shift) + zero point, act_min, 127) for n > 0 outputs, every shift in
 * [-23, -2]. */
void tml_requant_fc_v7m(const int32_t *acc, int8_t *out, int32_t n, const tml_requant_fc_args_t *args);

/* tml_arch_v7m_requant.S. FULLY_CONNECTED_PAIRS's products (tml_fc.c):
 * acc[6g + r] += row r of group g . x over len (> 0) raw int8 inputs, for
 * g < groups (> 0), the groups' words from w on. */
void tml_fc_pairs_v7m(const int8_t *x, int32_t len, const uint32_t *w, int32_t groups, int32_t *acc);

/* What the folded rescales read besides the accumulators, in LDM order. */
typedef struct {
    int32_t out_step; /* second pixel's outputs from the first's (fold2) */
    const int32_t *multiplier, *shift;
    int32_t fold_base; /* 2 * output zero point + 1 */
    int32_t act_min;   /* with the zero point; act_max is 127 */
} tml_requant_fold_args_t;

/* tml_arch_v7m_requant.S. out[i] = clamp(tml_rescale_folded(acc[i], ...),
 * act_min, 127) for n > 0 outputs with per-channel multipliers, every
 * shift in [-23, -2]; fold2 also writes out[out_step + i] from
 * acc[TML_REQUANT_PAIR_ACC_STEP + i] with the same channels' constants. */
void tml_requant_fold1_v7m(const int32_t *acc, int8_t *out, int32_t n,
    const tml_requant_fold_args_t *args);
void tml_requant_fold2_v7m(const int32_t *acc, int8_t *out, int32_t n,
    const tml_requant_fold_args_t *args);
/* fold2 for four pixels: pixel p's sums at acc[p * TML_REQUANT_PAIR_ACC_STEP],
 * its outputs at out[p * out_step]. */
void tml_requant_fold4_v7m(const int32_t *acc, int8_t *out, int32_t n,
    const tml_requant_fold_args_t *args);
#endif

#endif /* TML_ARCH_V7M_REQUANT_H */
