/* The Cortex-M4/M7/M33 (armv7em with the DSP extension) assembly loops,
 * declared in tml_arch_dsp.h: SXTB16 widens two int8 lanes of a word,
 * SMLAD multiplies and adds two int16 pairs. AAPCS calls. Assembled to
 * nothing on other paths (tml_arch.h); the rescale loop is the M3's
 * (tml_arch_v7m_requant.S). */
#include "tml_arch.h"
#include "tml_arch_v7m_requant.h"

/* No executable stack, also for the files that assemble to nothing: an
 * object without the note makes the linker ask for one (the host's x86-64
 * library and the unix port link them all). */
#if defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
#if TML_ARCH_DSP

    .syntax unified
    .thumb

/* Every routine saves r4-r11 and lr: the caller's stacked arguments start
 * this far above the routine's own frame. */
    .set SAVED, 9 * 4
#include "tml_arch_conv2.inc"

/* One block of four inputs for the four rows (r2-r5), sums in r10-r12, lr. */
    .macro tml_dsp_fc4_block
    ldmia r0!, {r6, r7}
    ldr r8, [r2], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad r10, r9, r6, r10
    smlad r10, r8, r7, r10
    ldr r8, [r3], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad r11, r9, r6, r11
    smlad r11, r8, r7, r11
    ldr r8, [r4], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad r12, r9, r6, r12
    smlad r12, r8, r7, r12
    ldr r8, [r5], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad lr, r9, r6, lr
    smlad lr, r8, r7, lr
    .endm

/* The loop over groups of four rows of tml_dsp_fc4 and tml_dsp_fc4_w16:
 * `rows` sets up a group's row pointers from r2, `block` takes one block
 * of four inputs (from r0, ending at r1) for the group's sums (r10-r12,
 * lr), two blocks an iteration, an odd one first; then the sums go back to
 * acc and r2 moves on by L_NEXT. */
    .macro tml_dsp_fc_groups rows, block
1:
    ldr r0, [sp, #L_X]
    ldr r1, [sp, #L_X_END]
    \rows
    ldr r6, [sp, #ARG_ACC]
    ldm r6, {r10, r11, r12, lr}
    sub r6, r1, r0
    tst r6, #8
    beq 3f
    \block
    cmp r0, r1
    beq 4f
3:
    \block
    \block
    cmp r0, r1
    bne 3b
4:
    ldr r6, [sp, #ARG_ACC]
    stmia r6!, {r10, r11, r12, lr}
    str r6, [sp, #ARG_ACC]
    ldr r6, [sp, #L_NEXT]
    add r2, r2, r6
    ldr r6, [sp, #ARG_GROUPS]
    subs r6, r6, #1
    str r6, [sp, #ARG_GROUPS]
    bne 1b
    .endm

    .macro tml_dsp_fc4_rows
    ldr r6, [sp, #L_STRIDE]
    add r3, r2, r6
    add r4, r3, r6
    add r5, r4, r6
    .endm

/* acc[k] += w_k . x over `blocks` (> 0) blocks of four prepared inputs
 * (x0 x2 x1 x3 as int16, tml_xvec_prepare()) for k < 4 * groups (groups
 * > 0), channel k's weights at w + k * stride: four channels at a time,
 * one LDM of the block's two input words feeding all four; 16 products in
 * 21 instructions, two blocks an iteration. The loop over the groups is
 * here too.
 * void tml_dsp_fc4(const int16_t *x, int32_t blocks, const int8_t *w,
 *     int32_t stride, int32_t groups, int32_t *acc) */
    .set L_X, 0            /* x */
    .set L_X_END, 4        /* end of x */
    .set L_NEXT, 8         /* from where a group's walk of r2 ends to the next group's start */
    .set L_STRIDE, 12      /* stride */
    .set LOCALS, 16
    .set ARG_GROUPS, LOCALS + SAVED
    .set ARG_ACC, ARG_GROUPS + 4
    .section .text.tml_dsp_fc4, "ax", %progbits
    .align 1
    .global tml_dsp_fc4
    .type tml_dsp_fc4, %function
    .thumb_func
tml_dsp_fc4:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    add r4, r0, r1, lsl #3
    str r4, [sp, #L_X_END]
    lsl r4, r1, #2
    rsb r4, r4, r3, lsl #2
    str r4, [sp, #L_NEXT]
    str r3, [sp, #L_STRIDE]
    tml_dsp_fc_groups tml_dsp_fc4_rows, tml_dsp_fc4_block
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_dsp_fc4, . - tml_dsp_fc4

/* One block of four inputs for the four rows of a group (sums in r10-r12,
 * lr): the weights are int16 already, so one LDM fetches two rows' words
 * and each word meets an input word in one SMLAD; 16 products in 11
 * instructions. */
    .macro tml_dsp_fc4_w16_block
    ldmia r0!, {r6, r7}
    ldmia r2!, {r3, r4, r5, r8}
    smlad r10, r3, r6, r10
    smlad r10, r4, r7, r10
    smlad r11, r5, r6, r11
    smlad r11, r8, r7, r11
    ldmia r2!, {r3, r4, r5, r8}
    smlad r12, r3, r6, r12
    smlad r12, r4, r7, r12
    smlad lr, r5, r6, lr
    smlad lr, r8, r7, lr
    .endm

    .macro tml_dsp_fc4_w16_rows
    .endm

/* void tml_dsp_fc4_w16(const int16_t *x, int32_t blocks, const int16_t *w,
 *     int32_t group_stride, int32_t groups, int32_t *acc): tml_dsp_fc4's
 * loops over FULLY_CONNECTED_W16's layout (one pointer walks every row). */
    .section .text.tml_dsp_fc4_w16, "ax", %progbits
    .align 1
    .global tml_dsp_fc4_w16
    .type tml_dsp_fc4_w16, %function
    .thumb_func
tml_dsp_fc4_w16:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    sub r3, r3, r1, lsl #5
    str r3, [sp, #L_NEXT]
    add r1, r0, r1, lsl #3
    str r1, [sp, #L_X_END]
    tml_dsp_fc_groups tml_dsp_fc4_w16_rows, tml_dsp_fc4_w16_block
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_dsp_fc4_w16, . - tml_dsp_fc4_w16

/* One block of four inputs: LDM fetches both pixels' prepared words, each
 * weight word is widened once (SXTB16) and feeds four SMLAD; 16 products
 * in 15 instructions. */
    .macro tml_dsp_conv2_step
    ldmia r0!, {r4, r5, r6, r7}
    ldr r8, [r2], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad r10, r9, r4, r10
    smlad r10, r8, r5, r10
    smlad r12, r9, r6, r12
    smlad r12, r8, r7, r12
    ldr r8, [r3], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlad r11, r9, r4, r11
    smlad r11, r8, r5, r11
    smlad lr, r9, r6, lr
    smlad lr, r8, r7, lr
    .endm

/* tml_dsp_conv2: the channel-pair routine of tml_arch_conv2.inc, 4 inputs a step. */
    tml_conv2_routine tml_dsp_conv2, tml_dsp_conv2_step, 2

/* One block of four inputs of four pixels for one channel: the weight word
 * is widened once and feeds eight SMLAD, two LDM bring the four pixels'
 * prepared words; 16 products in 13 instructions. */
    .macro tml_dsp_conv4_step
    ldr r8, [r2], #4
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    ldmia r0!, {r4, r5, r6, r7}
    smlad r10, r9, r4, r10
    smlad r10, r8, r5, r10
    smlad r11, r9, r6, r11
    smlad r11, r8, r7, r11
    ldmia r0!, {r4, r5, r6, r7}
    smlad r12, r9, r4, r12
    smlad r12, r8, r5, r12
    smlad lr, r9, r6, lr
    smlad lr, r8, r7, lr
    .endm

/* For k < channels (> 0), channel k's weights at w + k * stride, pixel p's
 * accumulator at acc[p * TML_REQUANT_PAIR_ACC_STEP + k] (p < 4): it becomes
 * start[k] (start != NULL: the bias, the same for the four pixels) or its
 * own value, plus w_k . pixel p over `steps` (> 0) blocks of four inputs
 * of the prepared quad x (tml_xquad_prepare()). Four steps an iteration,
 * entered part-way as tml_conv2_routine does.
 * void tml_dsp_conv4(const int16_t *x, int32_t steps, const int8_t *w,
 *     int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) */
    .set L_X, 0            /* x */
    .set L_W_BYTES, 4      /* bytes of weights the steps consume */
    .set L_NEXT, 8         /* from the end of one channel's weights to the next's */
    .set LOCALS, 16
    .set ARG_CHANNELS, LOCALS + SAVED
    .set ARG_ACC, ARG_CHANNELS + 4
    .set ARG_START, ARG_CHANNELS + 8
    .set ACC_STEP, 4 * TML_REQUANT_PAIR_ACC_STEP
    .section .text.tml_dsp_conv4, "ax", %progbits
    .align 1
    .global tml_dsp_conv4
    .type tml_dsp_conv4, %function
    .thumb_func
tml_dsp_conv4:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_X]
    lsl r1, r1, #2
    str r1, [sp, #L_W_BYTES]
    sub r4, r3, r1
    str r4, [sp, #L_NEXT]
    ldr r3, [sp, #ARG_ACC]
1:
    ldr r0, [sp, #L_X]
    ldr r4, [sp, #ARG_START]
    cbz r4, 3f
    ldr r10, [r4], #4
    str r4, [sp, #ARG_START]
    mov r11, r10
    mov r12, r10
    mov lr, r10
    b 8f
3:
    ldr r10, [r3]
    ldr r11, [r3, #ACC_STEP]
    ldr r12, [r3, #2 * ACC_STEP]
    ldr lr, [r3, #3 * ACC_STEP]
8:
    ldr r4, [sp, #L_W_BYTES]
    add r1, r2, r4
    lsr r4, r4, #2
    and r4, r4, #3
    tbb [pc, r4]
0:
    .byte (4f - 0b) / 2, (7f - 0b) / 2, (6f - 0b) / 2, (5f - 0b) / 2
4:
    tml_dsp_conv4_step
5:
    tml_dsp_conv4_step
6:
    tml_dsp_conv4_step
7:
    tml_dsp_conv4_step
    cmp r2, r1
    bne 4b
    str r11, [r3, #ACC_STEP]
    str r12, [r3, #2 * ACC_STEP]
    str lr, [r3, #3 * ACC_STEP]
    str r10, [r3], #4
    ldr r4, [sp, #L_NEXT]
    add r2, r2, r4
    ldr r4, [sp, #ARG_CHANNELS]
    subs r4, r4, #1
    str r4, [sp, #ARG_CHANNELS]
    bne 1b
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_dsp_conv4, . - tml_dsp_conv4

/* One block of four inputs from r7 (any alignment) into a pixel's lanes
 * at r8 (the next block's 32 bytes on), the offset pair in r3. */
    .macro tml_dsp_quad_block
    ldr r4, [r7], #4
    sxtab16 r5, r3, r4
    sxtab16 r6, r3, r4, ror #8
    strd r5, r6, [r8], #32
    .endm

/* `blocks` (> 0) blocks of four inputs of each of the four pixels, from
 * src[p], into the prepared quad at dst (tml_xquad_prepare()): each block
 * as x0 x2, x1 x3 plus the offset; two blocks an iteration, 5 instructions
 * a block where GCC's loop took 8, one call for the four pixels.
 * void tml_dsp_quad_prepare4(const int8_t *const *src, int32_t blocks,
 *     int16_t *dst, uint32_t offset2) */
    .section .text.tml_dsp_quad_prepare4, "ax", %progbits
    .align 1
    .global tml_dsp_quad_prepare4
    .type tml_dsp_quad_prepare4, %function
    .thumb_func
tml_dsp_quad_prepare4:
    push {r4, r5, r6, r7, r8, r9, lr}
    mov r12, #4
1:
    ldr r7, [r0], #4
    mov r8, r2
    mov r9, r1
    tst r9, #1
    beq 2f
    tml_dsp_quad_block
    subs r9, r9, #1
    beq 3f
2:
    tml_dsp_quad_block
    tml_dsp_quad_block
    subs r9, r9, #2
    bne 2b
3:
    add r2, r2, #8
    subs r12, r12, #1
    bne 1b
    pop {r4, r5, r6, r7, r8, r9, pc}
    .size tml_dsp_quad_prepare4, . - tml_dsp_quad_prepare4

/* One depthwise output pixel, all n channels (a multiple of four, > 0),
 * taps (> 0) taps: acc[c] = folded[c] + sum_t tap[t][c] * w[t][c], the
 * weights widened into `wide` as [group of four channels][tap][2 words]
 * (tml_dw_widen4()). Per tap of a group: LDR the tap's address, LDR four
 * inputs, LDRD their widened weights, two SXTB16 and four 16x16 MACs; 11
 * instructions for 4 products where GCC's loop takes 13, and the loop over
 * the groups costs 9 more per four channels.
 * void tml_dw_pixel_dsp(const int8_t *const *tap, int32_t taps, int32_t n,
 *     const uint32_t *wide, const int32_t *folded, int32_t *acc) */
    .set L_TAP, 0          /* tap */
    .set L_TAP_BYTES, 4    /* taps * 4 */
    .set L_N, 8            /* n */
    .set LOCALS, 12
    .set ARG_FOLDED, LOCALS + SAVED
    .set ARG_ACC, ARG_FOLDED + 4
    .section .text.tml_dw_pixel_dsp, "ax", %progbits
    .align 1
    .global tml_dw_pixel_dsp
    .type tml_dw_pixel_dsp, %function
    .thumb_func
tml_dw_pixel_dsp:
    push {r4, r5, r6, r7, r8, r9, r10, r11, lr}
    sub sp, sp, #LOCALS
    str r0, [sp, #L_TAP]
    lsl r1, r1, #2
    str r1, [sp, #L_TAP_BYTES]
    str r2, [sp, #L_N]
    mov r7, r3
    ldr r12, [sp, #ARG_FOLDED]
    ldr lr, [sp, #ARG_ACC]
    movs r6, #0
2:
    ldmia r12!, {r0, r1, r2, r3}
    ldr r4, [sp, #L_TAP]
    ldr r5, [sp, #L_TAP_BYTES]
    add r5, r4, r5
1:
    ldr r8, [r4], #4
    ldr r8, [r8, r6]
    ldrd r10, r11, [r7], #8
    sxtb16 r9, r8
    sxtb16 r8, r8, ror #8
    smlabb r0, r9, r10, r0
    smlatt r2, r9, r10, r2
    smlabb r1, r8, r11, r1
    smlatt r3, r8, r11, r3
    cmp r4, r5
    bne 1b
    stmia lr!, {r0, r1, r2, r3}
    add r6, r6, #4
    ldr r8, [sp, #L_N]
    cmp r6, r8
    blt 2b
    add sp, sp, #LOCALS
    pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}
    .size tml_dw_pixel_dsp, . - tml_dw_pixel_dsp

#endif
