/* The armv7m assembly the Cortex-M3 and M4 paths share (declared in
 * tml_arch_v7m_requant.h): the rescale of the convolutions' and
 * FULLY_CONNECTED's outputs, and FULLY_CONNECTED_PAIRS's products.
 * Assembled to nothing on other paths (tml_arch.h). */
#include "tml_arch.h"
#include "tml_arch_v7m_requant.h"

/* No executable stack, also for the files that assemble to nothing: an
 * object without the note makes the linker ask for one (the host's x86-64
 * library and the unix port link them all). */
#if defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
#if TML_ARCH_V7M || TML_ARCH_DSP

    .syntax unified
    .thumb

/* One output up to the clamp: accumulator r9, multiplier r10, k = -shift
 * - 1 in lr; the 64-bit nudge (2^30, or -2^30 for negative values) in
 * r11:r12 from r2 = 2^30; the result ((2 * high >> k) + 1 + 2 zp) >> 1 in
 * r12. */
    .macro tml_requant_row_rescale
    ldr r9, [r0], #4
    ldr r10, [r3], #4
    ldr lr, [r4], #4
    asr r12, r9, #31
    eor r11, r2, r12, lsl #31
    smlal r11, r12, r9, r10
    mvn lr, lr
    lsl r12, r12, #1
    asr r12, r12, lr
    add r12, r12, r6
    asr r12, r12, #1
    .endm

/* out[i] = clamp(tml_rescale_down(acc[i], multiplier[i], shift[i]) + zero
 * point, act_min, act_max) for n > 0 outputs whose accumulators already
 * hold the bias, per-channel multipliers and every shift <= -2:
 * tml_requant.h's single multiply-accumulate form in 20 instructions an
 * output (18 when the activation's upper bound is 127), where GCC's code
 * spills and takes about 30. The output offset rides on the final
 * rounding: ((t + 1) >> 1) + zp = (t + 1 + 2 zp) >> 1.
 * void tml_requant_row_v7m(const int32_t *acc, int8_t *out, int32_t n,
 *     const tml_requant_row_args_t *args) */
    .section .text.tml_requant_row_v7m, "ax", %progbits
    .align 1
    .global tml_requant_row_v7m
    .type tml_requant_row_v7m, %function
    .thumb_func
tml_requant_row_v7m:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    add r5, r1, r2
    ldm r3, {r3, r4, r6, r7, r8}
    mov r2, #0x40000000
    /* Activations with no upper bound below 127 (none, ReLU) clamp
     * with SSAT and one compare instead of two. */
    cmp r8, #127
    beq 2f
1:
    tml_requant_row_rescale
    cmp r12, r7
    it lt
    movlt r12, r7
    cmp r12, r8
    it gt
    movgt r12, r8
    strb r12, [r1], #1
    cmp r1, r5
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
2:
    tml_requant_row_rescale
    ssat r12, #8, r12
    cmp r12, r7
    it lt
    movlt r12, r7
    strb r12, [r1], #1
    cmp r1, r5
    bne 2b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_requant_row_v7m, . - tml_requant_row_v7m

/* One FULLY_CONNECTED output from its sum (r0), bias (r3), multiplier and
 * shift (r4, r5 at offset r9, then r9 += r6): TFLite's single rounding at
 * bit 31 - shift >= 33 of the product acts on its high word alone, and the
 * output offset rides on it: (high + (2 zp + 1) << (k - 1)) >> k = the
 * rounded value + zp, k = -shift - 1 in [1, 22], |high| <= 2^30 and the
 * fold (r7 = 2 zp + 1, shifted) under 2^29, so nothing overflows. */
    .macro tml_requant_fc_one bias clamp
    ldr r10, [r0], #4
    .if \bias
    ldr r11, [r3], #4
    add r10, r10, r11
    .endif
    ldr r11, [r4, r9]
    smull r12, r10, r10, r11
    ldr r11, [r5, r9]
    add r9, r9, r6
    mvn r11, r11
    sub r12, r11, #1
    lsl r12, r7, r12
    add r10, r10, r12
    asr r10, r10, r11
    ssat r10, #8, r10
    .if \clamp
    cmp r10, r8
    it lt
    movlt r10, r8
    .endif
    strb r10, [r1], #1
    .endm

    .macro tml_requant_fc_loop bias clamp
1:
    tml_requant_fc_one \bias, \clamp
    cmp r1, r2
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .endm

/* 14 to 19 instructions an output (GCC's loop took about 30); a loop for
 * each of with or without bias, act_min -128 or above.
 * void tml_requant_fc_v7m(const int32_t *acc, int8_t *out, int32_t n,
 *     const tml_requant_fc_args_t *args) */
    .section .text.tml_requant_fc_v7m, "ax", %progbits
    .align 1
    .global tml_requant_fc_v7m
    .type tml_requant_fc_v7m, %function
    .thumb_func
tml_requant_fc_v7m:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    add r2, r1, r2
    ldm r3, {r3, r4, r5, r6, r7, r8}
    mov r9, #0
    cmn r8, #128
    beq 3f
    cbz r3, 2f
    tml_requant_fc_loop 1, 1
2:
    tml_requant_fc_loop 0, 1
3:
    cbz r3, 4f
    tml_requant_fc_loop 1, 0
4:
    tml_requant_fc_loop 0, 0
    .size tml_requant_fc_v7m, . - tml_requant_fc_v7m

/* The folded rescale (tml_requant.h's tml_rescale_folded()) of one output:
 * accumulator r11, multiplier r8, e - 1 in r9 (e = -shift), the fold in
 * r10; the clamped int8 in lr. The nudge's low word is 2^30, and for a
 * negative accumulator 2^31 more with one less in the high word (-2^30 as
 * 64 bits). The `clamp` variant takes act_min (r7) above -128. */
    .macro tml_requant_fold_one clamp
    and r12, r11, #0x80000000
    orr r12, r12, #0x40000000
    add lr, r10, r11, asr #31
    smlal r12, lr, r11, r8
    asr lr, lr, r9
    ssat lr, #8, lr
    .if \clamp
    cmp lr, r7
    it lt
    movlt lr, r7
    .endif
    .endm

/* One channel's multiplier and shift into r8 and r9 = e - 1, its fold
 * ((2 zp + 1) << (e - 2), 2 zp + 1 in r6) into r10. */
    .macro tml_requant_fold_channel
    ldr r8, [r4], #4
    ldr r9, [r5], #4
    mvn r9, r9
    sub r10, r9, #1
    lsl r10, r6, r10
    .endm

/* out[i] = clamp(rescale(acc[i]) + zp, act_min, 127) for n > 0 outputs of
 * consecutive channels with per-channel multipliers, every shift in
 * [-23, -2]: 8 instructions an output (11 with act_min above -128) and 7 a
 * channel, where tml_requant_row_v7m() takes 18 to 20.
 * void tml_requant_fold1_v7m(const int32_t *acc, int8_t *out, int32_t n,
 *     const tml_requant_fold_args_t *args) */
    .macro tml_requant_fold1_loop clamp
1:
    tml_requant_fold_channel
    ldr r11, [r0], #4
    tml_requant_fold_one \clamp
    strb lr, [r1], #1
    cmp r1, r2
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .endm

/* The same for two pixels' outputs sharing each channel's constants: the
 * second pixel's accumulators TML_REQUANT_PAIR_ACC_STEP words after the
 * first's, its outputs out_step bytes after (r3): 11.5 instructions an
 * output. */
    .macro tml_requant_fold2_loop clamp
1:
    tml_requant_fold_channel
    ldr r11, [r0, #4 * TML_REQUANT_PAIR_ACC_STEP]
    tml_requant_fold_one \clamp
    strb lr, [r1, r3]
    ldr r11, [r0], #4
    tml_requant_fold_one \clamp
    strb lr, [r1], #1
    cmp r1, r2
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .endm

/* The same for four pixels' outputs, out_step apart (the quads of
 * Cortex-M4 convolutions): each channel's constants serve four. */
    .macro tml_requant_fold4_loop clamp
1:
    tml_requant_fold_channel
    ldr r11, [r0, #12 * TML_REQUANT_PAIR_ACC_STEP]
    tml_requant_fold_one \clamp
    add r12, r3, r3, lsl #1
    strb lr, [r1, r12]
    ldr r11, [r0, #8 * TML_REQUANT_PAIR_ACC_STEP]
    tml_requant_fold_one \clamp
    strb lr, [r1, r3, lsl #1]
    ldr r11, [r0, #4 * TML_REQUANT_PAIR_ACC_STEP]
    tml_requant_fold_one \clamp
    strb lr, [r1, r3]
    ldr r11, [r0], #4
    tml_requant_fold_one \clamp
    strb lr, [r1], #1
    cmp r1, r2
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .endm

    .macro tml_requant_fold_routine name, loop
    .section .text.\name, "ax", %progbits
    .align 1
    .global \name
    .type \name, %function
    .thumb_func
\name:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    add r2, r1, r2
    ldm r3, {r3, r4, r5, r6, r7}
    cmn r7, #128
    bne 2f
    \loop 0
2:
    \loop 1
    .size \name, . - \name
    .endm

    tml_requant_fold_routine tml_requant_fold1_v7m, tml_requant_fold1_loop
    tml_requant_fold_routine tml_requant_fold2_v7m, tml_requant_fold2_loop
    tml_requant_fold_routine tml_requant_fold4_v7m, tml_requant_fold4_loop


/* One input of six rows: three words, each two rows' weights, multiplied
 * by the input into the three 64-bit sums; 6 products in 5 instructions. */
    .macro tml_fc_pairs_step
    ldrsb r11, [r0], #1
    ldmia r1!, {r8, r9, r10}
    smlal r2, r3, r8, r11
    smlal r4, r5, r9, r11
    smlal r6, r7, r10, r11
    .endm

/* acc[k] += sum (r3 scratch), lr the group's accumulators. */
    .macro tml_fc_pairs_add sum, k
    ldr r3, [lr, #4 * \k]
    add \sum, \sum, r3
    str \sum, [lr, #4 * \k]
    .endm

/* tml_fc_pairs_v7m (tml_arch_v7m_requant.h): a group at a time, its input
 * in pieces of TML_FC_PAIRS_PIECE, each piece's sums split and added to
 * acc. The weights are read in their stored order, one walk from w on.
 * Eight steps an iteration, entered part-way (TBB).
 * void tml_fc_pairs_v7m(const int8_t *x, int32_t len, const uint32_t *w,
 *     int32_t groups, int32_t *acc) */
    .set L_X, 0            /* x */
    .set L_X_END, 4        /* x + len */
    .set L_GROUPS, 8       /* groups left */
    .set LOCALS, 12
    .set ARG_ACC, LOCALS + 9 * 4
    .section .text.tml_fc_pairs_v7m, "ax", %progbits
    .align 1
    .global tml_fc_pairs_v7m
    .type tml_fc_pairs_v7m, %function
    .thumb_func
tml_fc_pairs_v7m:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    add r0, r0, r1
    str r0, [sp, #L_X_END]
    str r3, [sp, #L_GROUPS]
    mov r1, r2
    ldr lr, [sp, #ARG_ACC]
1:
    ldr r0, [sp, #L_X]
2:
    ldr r12, [sp, #L_X_END]
    sub r11, r12, r0
    cmp r11, #TML_FC_PAIRS_PIECE
    itt hi
    addhi r12, r0, #TML_FC_PAIRS_PIECE
    movhi r11, #TML_FC_PAIRS_PIECE
    and r11, r11, #7
    mov r2, #0x400000
    mov r3, #0
    mov r4, #0x400000
    mov r5, #0
    mov r6, #0x400000
    mov r7, #0
    tml_v7m_steps8 r11, tml_fc_pairs_step
    cmp r0, r12
    bne 10b
    tml_v7m_split r8, r2, r3
    tml_v7m_split r9, r4, r5
    tml_v7m_split r10, r6, r7
    tml_fc_pairs_add r8, 0
    tml_fc_pairs_add r2, 1
    tml_fc_pairs_add r9, 2
    tml_fc_pairs_add r4, 3
    tml_fc_pairs_add r10, 4
    tml_fc_pairs_add r6, 5
    ldr r3, [sp, #L_X_END]
    cmp r0, r3
    bne 2b
    add lr, lr, #24
    ldr r3, [sp, #L_GROUPS]
    subs r3, r3, #1
    str r3, [sp, #L_GROUPS]
    bne 1b
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_fc_pairs_v7m, . - tml_fc_pairs_v7m

#endif
