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
 * inputs, a non-zero multiple of two: 16 products in 17 instructions plus
 * the loop.
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
1:
    tml_v7m_dot4_step
    cmp r0, lr
    bne 1b
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

/* For k < 2 * pairs (pairs > 0), channel k's weights at w + k * stride:
 * acc_a[k] = src_a[k] + w_k . pixel 0, acc_b[k] = src_b[k] + w_k . pixel 1
 * over `steps` (> 0) steps of tml_v7m_conv2_step (two inputs) from the
 * prepared pair x (the sources are the bias for a first pass, the
 * accumulators after).
 * The loop over the channel pairs is here too, since setting up each pair
 * in C cost about as much as a 64-input dot product. Fourteen registers in
 * the inner loop, more than GCC gives inline asm, hence a whole function;
 * the outer loop's state lives in a frame of LOCALS bytes.
 * void tml_v7m_conv2(const int32_t *x, int32_t steps, const int8_t *w,
 *     int32_t stride, int32_t pairs, int32_t *acc_a, int32_t *acc_b,
 *     const int32_t *src_a, const int32_t *src_b) */
    .set L_X, 0            /* x */
    .set L_W_BYTES, 4      /* bytes of weights the steps consume */
    .set L_NEXT, 8         /* from the end of one pair's w0 to the next pair's w0 */
    .set L_STRIDE, 12      /* stride */
    .set LOCALS, 16
    .set ARG_PAIRS, LOCALS + SAVED
    .set ARG_ACC_A, ARG_PAIRS + 4
    .set ARG_ACC_B, ARG_PAIRS + 8
    .set ARG_SRC_A, ARG_PAIRS + 12
    .set ARG_SRC_B, ARG_PAIRS + 16
    .section .text.tml_v7m_conv2, "ax", %progbits
    .align 1
    .global tml_v7m_conv2
    .type tml_v7m_conv2, %function
    .thumb_func
tml_v7m_conv2:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    lsl r1, r1, #1
    str r1, [sp, #L_W_BYTES]
    rsb r4, r1, r3, lsl #1
    str r4, [sp, #L_NEXT]
    str r3, [sp, #L_STRIDE]
1:
    ldr r0, [sp, #L_X]
    ldr r4, [sp, #ARG_SRC_A]
    ldrd r10, r11, [r4], #8
    str r4, [sp, #ARG_SRC_A]
    ldr r5, [sp, #ARG_SRC_B]
    ldrd r12, lr, [r5], #8
    str r5, [sp, #ARG_SRC_B]
    ldr r3, [sp, #L_STRIDE]
    add r3, r2, r3
    ldr r4, [sp, #L_W_BYTES]
    add r1, r2, r4
    /* Four steps an iteration, entered part-way (TBB) so that the
     * first pass does steps % 4 of them. */
    lsr r4, r4, #1
    and r4, r4, #3
    tbb [pc, r4]
0:
    .byte (4f - 0b) / 2, (7f - 0b) / 2, (6f - 0b) / 2, (5f - 0b) / 2
4:
    tml_v7m_conv2_step
5:
    tml_v7m_conv2_step
6:
    tml_v7m_conv2_step
7:
    tml_v7m_conv2_step
    cmp r2, r1
    bne 4b
    ldr r4, [sp, #ARG_ACC_A]
    strd r10, r11, [r4], #8
    str r4, [sp, #ARG_ACC_A]
    ldr r5, [sp, #ARG_ACC_B]
    strd r12, lr, [r5], #8
    str r5, [sp, #ARG_ACC_B]
    ldr r4, [sp, #L_NEXT]
    add r2, r2, r4
    ldr r4, [sp, #ARG_PAIRS]
    subs r4, r4, #1
    str r4, [sp, #ARG_PAIRS]
    bne 1b
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_v7m_conv2, . - tml_v7m_conv2

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
