/* The Cortex-M3 (armv7m without DSP) assembly loops, declared in
 * tml_arch_v7m.h: Thumb-2 with MLA and post-indexed sign-extending loads.
 * AAPCS calls. Assembled to nothing on other paths (tml_arch.h); the
 * rescale loop the M3 shares with the M4 is in tml_arch_v7m_requant.S. */
#include "tml_arch.h"
#include "tml_arch_v7m_requant.h"

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

/* One input of four pixels for two channels: LDRD brings the input's two
 * prepared words (pixels 0-1, 2-3), each channel's weight is loaded once
 * and multiplied into both by SMLAL; 8 products in 7 instructions. */
    .macro tml_v7m_conv4_step
    ldrd r4, r5, [r0], #8
    ldrsb r3, [r1], #1
    smlal r6, r7, r4, r3
    smlal r8, r9, r5, r3
    ldrsb r3, [r2], #1
    smlal r10, r11, r4, r3
    smlal r12, lr, r5, r3
    .endm

/* One channel's four sums (pixels 0-3) into the accumulators at r0, which
 * steps to the next channel: each plus the bias at r2 (stepping) when r2
 * is not NULL, else plus its own value. Uses r3. */
    .macro tml_v7m_conv4_put s0, s1, s2, s3
    cbz r2, 21f
    ldr r3, [r2], #4
    add \s0, \s0, r3
    add \s1, \s1, r3
    add \s2, \s2, r3
    add \s3, \s3, r3
    b 22f
21:
    ldr r3, [r0]
    add \s0, \s0, r3
    ldr r3, [r0, #ACC_STEP]
    add \s1, \s1, r3
    ldr r3, [r0, #2 * ACC_STEP]
    add \s2, \s2, r3
    ldr r3, [r0, #3 * ACC_STEP]
    add \s3, \s3, r3
22:
    str \s1, [r0, #ACC_STEP]
    str \s2, [r0, #2 * ACC_STEP]
    str \s3, [r0, #3 * ACC_STEP]
    str \s0, [r0], #4
    .endm

/* tml_v7m_conv4 (tml_arch_v7m.h): two channels at a time, an odd last one
 * as a pair with itself whose second half is dropped. The 64-bit sums
 * start at 2^22 (tml_v7m_split). Eight steps an iteration, entered
 * part-way (TBB) so the first pass does len % 8 of them; the loop ends on
 * the input pointer, whose end is in the frame (no register is left).
 * void tml_v7m_conv4(const uint32_t *x, int32_t len, const int8_t *w,
 *     int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) */
    .set L_X, 0            /* x */
    .set L_X_END, 4        /* x + 2 * len */
    .set L_NEXT, 8         /* from the end of one pair's first weights to the next pair's */
    .set L_STRIDE, 12      /* stride */
    .set L_ENTRY, 16       /* len % 8 */
    .set LOCALS, 20
    .set ARG_CHANNELS, LOCALS + SAVED
    .set ARG_ACC, ARG_CHANNELS + 4
    .set ARG_START, ARG_CHANNELS + 8
    .set ACC_STEP, 4 * TML_REQUANT_PAIR_ACC_STEP
    .section .text.tml_v7m_conv4, "ax", %progbits
    .align 1
    .global tml_v7m_conv4
    .type tml_v7m_conv4, %function
    .thumb_func
tml_v7m_conv4:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    add r4, r0, r1, lsl #3
    str r4, [sp, #L_X_END]
    rsb r4, r1, r3, lsl #1
    str r4, [sp, #L_NEXT]
    str r3, [sp, #L_STRIDE]
    and r4, r1, #7
    str r4, [sp, #L_ENTRY]
    mov r1, r2
1:
    ldr r0, [sp, #L_X]
    ldr r2, [sp, #L_STRIDE]
    ldr r3, [sp, #ARG_CHANNELS]
    cmp r3, #1
    it eq
    moveq r2, #0
    add r2, r1, r2
    mov r6, #0x400000
    mov r7, #0
    mov r8, #0x400000
    mov r9, #0
    mov r10, #0x400000
    mov r11, #0
    mov r12, #0x400000
    mov lr, #0
    ldr r3, [sp, #L_ENTRY]
    tml_v7m_steps8 r3, tml_v7m_conv4_step
    ldr r3, [sp, #L_X_END]
    cmp r0, r3
    bne 10b
    tml_v7m_split r4, r6, r7
    tml_v7m_split r5, r8, r9
    tml_v7m_split r7, r10, r11
    tml_v7m_split r9, r12, lr
    ldr r0, [sp, #ARG_ACC]
    ldr r2, [sp, #ARG_START]
    tml_v7m_conv4_put r4, r6, r5, r8
    ldr lr, [sp, #ARG_CHANNELS]
    subs lr, lr, #1
    beq 2f
    tml_v7m_conv4_put r7, r10, r9, r12
    str r0, [sp, #ARG_ACC]
    str r2, [sp, #ARG_START]
    ldr r4, [sp, #L_NEXT]
    add r1, r1, r4
    subs lr, lr, #1
    str lr, [sp, #ARG_CHANNELS]
    bne 1b
2:
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_v7m_conv4, . - tml_v7m_conv4

/* tml_v7m_quad_prepare (tml_arch_v7m.h): per input, the four pixels'
 * bytes by post-indexed LDRSB, two words x_a + x_b * 2^23 + offsets, one
 * STRD; 9 instructions an input where GCC's loop took about 15.
 * void tml_v7m_quad_prepare(const int8_t *const *src, int32_t n,
 *     uint32_t *dst, uint32_t offsets) */
    .section .text.tml_v7m_quad_prepare, "ax", %progbits
    .align 1
    .global tml_v7m_quad_prepare
    .type tml_v7m_quad_prepare, %function
    .thumb_func
tml_v7m_quad_prepare:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    ldm r0, {r4, r5, r6, r7}
    add lr, r2, r1, lsl #3
1:
    ldrsb r8, [r4], #1
    ldrsb r9, [r5], #1
    ldrsb r10, [r6], #1
    ldrsb r11, [r7], #1
    add r8, r8, r9, lsl #23
    add r8, r8, r3
    add r10, r10, r11, lsl #23
    add r10, r10, r3
    strd r8, r10, [r2], #8
    cmp r2, lr
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_v7m_quad_prepare, . - tml_v7m_quad_prepare

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
