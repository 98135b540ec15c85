/* The rescale of the convolutions' outputs in armv7m assembly, which the
 * Cortex-M3 and M4 paths share (declared in tml_arch_v7m_requant.h).
 * Assembled to nothing on other paths (tml_arch.h). */
#include "tml_arch.h"

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

#endif
