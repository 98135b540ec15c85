/* The Cortex-M3 (armv7m without DSP) assembly loops, declared in
 * tml_arch_v7m.h: Thumb-2 with MLA and post-indexed sign-extending loads.
 * AAPCS calls. Assembled to nothing on other paths (tml_arch.h); the
 * rescale loop the M3 shares with the M4 is in tml_arch_v7m_requant.S. */
#include "tml_arch.h"

/* No executable stack, also for the files that assemble to nothing: an
 * object without the note makes the linker ask for one (the host's x86-64
 * library and the unix port link them all). */
#if defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
#if TML_ARCH_V7M

    .syntax unified
    .thumb

/* Every routine saves r4-r11 and lr: the caller's stacked arguments start
 * this far above the routine's own frame. */
    .set SAVED, 9 * 4
#include "tml_arch_conv2.inc"

/* Two inputs of tml_v7m_dot4's loop: LDM loads both, each of the four
 * channels' weights comes from w0 plus a stride (r9 = 1, r10 = 2, r11 = 3
 * strides), w0 itself stepping with the last load of each input. */
    .macro tml_v7m_dot4_step
    ldmia r0!, {r4, r5}
    ldrsb r12, [r2, r9]
    mla r6, r12, r4, r6
    ldrsb r12, [r2, r10]
    mla r7, r12, r4, r7
    ldrsb r12, [r2, r11]
    mla r8, r12, r4, r8
    ldrsb r12, [r2], #1
    mla r3, r12, r4, r3
    ldrsb r12, [r2, r9]
    mla r6, r12, r5, r6
    ldrsb r12, [r2, r10]
    mla r7, r12, r5, r7
    ldrsb r12, [r2, r11]
    mla r8, r12, r5, r8
    ldrsb r12, [r2], #1
    mla r3, r12, r5, r3
    .endm

/* acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3 over `count`
 * inputs, a non-zero multiple of two: a step of two inputs is 8 products
 * in 17 instructions, two steps an iteration.
 * void tml_v7m_dot4(const int32_t *x, int32_t count, const int8_t *w,
 *     int32_t stride, int32_t *acc) */
    .set ARG_ACC, SAVED
    .section .text.tml_v7m_dot4, "ax", %progbits
    .align 1
    .global tml_v7m_dot4
    .type tml_v7m_dot4, %function
    .thumb_func
tml_v7m_dot4:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    add lr, r0, r1, lsl #2
    mov r9, r3
    add r10, r3, r3
    add r11, r10, r3
    ldr r1, [sp, #ARG_ACC]
    ldm r1, {r3, r6, r7, r8}
    /* Two steps an iteration; an odd one first. */
    sub r1, lr, r0
    tst r1, #8
    beq 1f
    tml_v7m_dot4_step
    cmp r0, lr
    beq 2f
1:
    tml_v7m_dot4_step
    tml_v7m_dot4_step
    cmp r0, lr
    bne 1b
2:
    ldr r1, [sp, #ARG_ACC]
    stm r1, {r3, r6, r7, r8}
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_v7m_dot4, . - tml_v7m_dot4

/* Two inputs: LDM fetches both pixels' values of both, each weight is
 * loaded once and multiplied into both pixels; 8 products in 13
 * instructions. */
    .macro tml_v7m_conv2_step
    ldmia r0!, {r4, r5, r6, r7}
    ldrsb r8, [r2], #1
    mla r10, r8, r4, r10
    mla r12, r8, r5, r12
    ldrsb r8, [r3], #1
    mla r11, r8, r4, r11
    mla lr, r8, r5, lr
    ldrsb r8, [r2], #1
    mla r10, r8, r6, r10
    mla r12, r8, r7, r12
    ldrsb r8, [r3], #1
    mla r11, r8, r6, r11
    mla lr, r8, r7, lr
    .endm

/* tml_v7m_conv2: the channel-pair routine of tml_arch_conv2.inc, 2 inputs a step. */
    tml_conv2_routine tml_v7m_conv2, tml_v7m_conv2_step, 1

/* One depthwise output pixel, all n channels (a multiple of four, > 0),
 * taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] * w[t][c], the
 * weights widened into `wide` as [group of four channels][tap][4 words]
 * (tml_dw_widen4()). Per tap of a group: the tap's address, one LDM of the
 * four weights, four LDRSB and four MLA; 13 instructions for 4 products.
 * void tml_dw_pixel_v7m(const int8_t *const *tap, int32_t taps, int32_t n,
 *     const uint32_t *wide, const int32_t *folded, int32_t *acc) */
    .set L_TAP, 0          /* tap */
    .set L_TAP_BYTES, 4    /* taps * 4 */
    .set L_N, 8            /* n */
    .set L_FOLDED, 12      /* folded, stepping a group at a time */
    .set L_ACC, 16         /* acc, likewise */
    .set LOCALS, 20
    .set ARG_FOLDED, LOCALS + SAVED
    .set ARG_ACC, ARG_FOLDED + 4
    .section .text.tml_dw_pixel_v7m, "ax", %progbits
    .align 1
    .global tml_dw_pixel_v7m
    .type tml_dw_pixel_v7m, %function
    .thumb_func
tml_dw_pixel_v7m:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_TAP]
    lsl r1, r1, #2
    str r1, [sp, #L_TAP_BYTES]
    str r2, [sp, #L_N]
    mov r7, r3
    ldr r8, [sp, #ARG_FOLDED]
    str r8, [sp, #L_FOLDED]
    ldr r8, [sp, #ARG_ACC]
    str r8, [sp, #L_ACC]
    movs r6, #0
2:
    ldr r8, [sp, #L_FOLDED]
    ldmia r8!, {r0, r1, r2, r3}
    str r8, [sp, #L_FOLDED]
    ldr r4, [sp, #L_TAP]
    ldr r5, [sp, #L_TAP_BYTES]
    add r5, r4, r5
1:
    ldr r8, [r4], #4
    add r8, r8, r6
    ldmia r7!, {r10, r11, r12, lr}
    ldrsb r9, [r8]
    mla r0, r9, r10, r0
    ldrsb r9, [r8, #1]
    mla r1, r9, r11, r1
    ldrsb r9, [r8, #2]
    mla r2, r9, r12, r2
    ldrsb r9, [r8, #3]
    mla r3, r9, lr, r3
    cmp r4, r5
    bne 1b
    ldr r8, [sp, #L_ACC]
    stmia r8!, {r0, r1, r2, r3}
    str r8, [sp, #L_ACC]
    add r6, r6, #4
    ldr r8, [sp, #L_N]
    cmp r6, r8
    blt 2b
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_dw_pixel_v7m, . - tml_dw_pixel_v7m

#endif
