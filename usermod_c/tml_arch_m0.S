/* The Cortex-M0/M0+ (armv6m, the RP2040) assembly loops, declared in
 * tml_arch_m0.h. Thumb-1 loads and MULS reach only r0-r7, so these loops
 * need all eight low registers (r7 included, which GCC keeps for the frame
 * pointer) with the accumulators in r8-r11: whole functions in assembly,
 * AAPCS calls. Assembled to nothing on other paths (tml_arch.h). */
#include "tml_arch.h"

/* No executable stack, also for the files that assemble to nothing: an
 * object without the note makes the linker ask for one (the host's x86-64
 * library and the unix port link them all). */
#if defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
#if TML_ARCH_M0

    .syntax unified
    .thumb

/* Every routine here but the short ones keeps values in r8-r11, which
 * Thumb-1 pushes only through low registers: r4-r11 and lr saved in two
 * pushes (SAVED bytes), and restored the same way on return. */
    .macro tml_m0_enter
    push {r4, r5, r6, r7, lr}
    mov r4, r8
    mov r5, r9
    mov r6, r10
    mov r7, r11
    push {r4, r5, r6, r7}
    .endm

    .macro tml_m0_return
    pop {r4, r5, r6, r7}
    mov r8, r4
    mov r9, r5
    mov r10, r6
    mov r11, r7
    pop {r4, r5, r6, r7, pc}
    .endm

/* The caller's stacked arguments start this far above, after tml_m0_enter. */
    .set SAVED, 9 * 4

/* One input of tml_m0_dot4's loop: load it, multiply it by the four
 * channels' weights, accumulate. */
    .macro tml_m0_dot4_step
    ldmia r0!, {r5}
    ldrsb r7, [r2, r6]
    muls r7, r5
    add r8, r7
    ldrsb r7, [r3, r6]
    muls r7, r5
    add r9, r7
    ldrsb r7, [r4, r6]
    muls r7, r5
    add r10, r7
    ldrsb r7, [r1, r6]
    muls r7, r5
    add r11, r7
    adds r6, #1
    .endm

/* acc[k] += sum_i w[k * stride + i] * x[i] for k = 0..3 over `count`
 * inputs, a non-zero multiple of two: four channels share each loaded
 * input, 3.6 instructions per product.
 * void tml_m0_dot4(const int32_t *x, int32_t count, const int8_t *w,
 *     int32_t stride, int32_t *acc) */
    .set ARG_ACC, SAVED
    .section .text.tml_m0_dot4, "ax", %progbits
    .align 1
    .global tml_m0_dot4
    .type tml_m0_dot4, %function
    .thumb_func
tml_m0_dot4:
    tml_m0_enter
    /* r12 = the end of x; r2..r4, r1 = the four channels' weights. */
    lsls r1, r1, #2
    adds r1, r0, r1
    mov r12, r1
    adds r4, r3, r3
    adds r1, r4, r3
    adds r1, r2, r1
    adds r4, r2, r4
    adds r3, r2, r3
    ldr r5, [sp, #ARG_ACC]
    ldr r6, [r5]
    mov r8, r6
    ldr r6, [r5, #4]
    mov r9, r6
    ldr r6, [r5, #8]
    mov r10, r6
    ldr r6, [r5, #12]
    mov r11, r6
    movs r6, #0
1:
    tml_m0_dot4_step
    tml_m0_dot4_step
    cmp r0, r12
    bne 1b
    ldr r5, [sp, #ARG_ACC]
    mov r6, r8
    str r6, [r5]
    mov r6, r9
    str r6, [r5, #4]
    mov r6, r10
    str r6, [r5, #8]
    mov r6, r11
    str r6, [r5, #12]
    tml_m0_return
    .size tml_m0_dot4, . - tml_m0_dot4

/* One input of tml_m0_conv2's loop: both pixels' values (r4, r5), each
 * weight multiplied by both and added to the accumulators r8-r11. MULS
 * overwrites its operand, hence one copy per weight. */
    .macro tml_m0_dot2x2_step
    ldmia r0!, {r4, r5}
    ldrsb r6, [r2, r1]
    mov r7, r6
    muls r7, r4
    add r8, r7
    muls r6, r5
    add r10, r6
    ldrsb r6, [r3, r1]
    mov r7, r6
    muls r7, r4
    add r9, r7
    muls r6, r5
    add r11, r6
    adds r1, #1
    .endm

/* For k < 2 * pairs (pairs > 0), channel k's weights at w + k * stride:
 * acc_a[k] = src_a[k] + w_k . pixel 0, acc_b[k] = src_b[k] + w_k . pixel 1
 * over `steps` (> 0) pairs of inputs of the prepared pair x (the sources
 * are the bias for a first pass, the accumulators after); 3.5
 * instructions per product. The loop over the channel pairs is here too,
 * its state in a frame of LOCALS bytes below the saved registers.
 * void tml_m0_conv2(const int32_t *x, int32_t steps, const int8_t *w,
 *     int32_t stride, int32_t pairs, int32_t *acc_a, int32_t *acc_b,
 *     const int32_t *src_a, const int32_t *src_b) */
    .set L_X, 0            /* x */
    .set L_X_BYTES, 4      /* bytes of x one pass over the steps reads */
    .set L_STRIDE, 8       /* stride */
    .set LOCALS, 16
    .set ARG_PAIRS, LOCALS + SAVED
    .set ARG_ACC_A, ARG_PAIRS + 4
    .set ARG_ACC_B, ARG_PAIRS + 8
    .set ARG_SRC_A, ARG_PAIRS + 12
    .set ARG_SRC_B, ARG_PAIRS + 16
    .section .text.tml_m0_conv2, "ax", %progbits
    .align 1
    .global tml_m0_conv2
    .type tml_m0_conv2, %function
    .thumb_func
tml_m0_conv2:
    tml_m0_enter
    sub sp, #LOCALS
    str r0, [sp, #L_X]
    lsls r1, r1, #4
    str r1, [sp, #L_X_BYTES]
    str r3, [sp, #L_STRIDE]
1:
    ldr r0, [sp, #L_X]
    ldr r1, [sp, #L_X_BYTES]
    adds r1, r0, r1
    mov r12, r1
    ldr r4, [sp, #ARG_SRC_A]
    ldmia r4!, {r5, r6}
    str r4, [sp, #ARG_SRC_A]
    mov r8, r5
    mov r9, r6
    ldr r4, [sp, #ARG_SRC_B]
    ldmia r4!, {r5, r6}
    str r4, [sp, #ARG_SRC_B]
    mov r10, r5
    mov r11, r6
    ldr r3, [sp, #L_STRIDE]
    adds r3, r2, r3
    movs r1, #0
2:
    tml_m0_dot2x2_step
    tml_m0_dot2x2_step
    cmp r0, r12
    bne 2b
    ldr r4, [sp, #ARG_ACC_A]
    mov r5, r8
    mov r6, r9
    stmia r4!, {r5, r6}
    str r4, [sp, #ARG_ACC_A]
    ldr r4, [sp, #ARG_ACC_B]
    mov r5, r10
    mov r6, r11
    stmia r4!, {r5, r6}
    str r4, [sp, #ARG_ACC_B]
    ldr r4, [sp, #L_STRIDE]
    lsls r4, r4, #1
    adds r2, r2, r4
    ldr r4, [sp, #ARG_PAIRS]
    subs r4, #1
    str r4, [sp, #ARG_PAIRS]
    bne 1b
    add sp, #LOCALS
    tml_m0_return
    .size tml_m0_conv2, . - tml_m0_conv2

/* One input of four pixels for one channel: LDM brings the four pixels'
 * prepared values, the weight is loaded once (r7 counts up from -len to
 * 0, so the ADDS that steps it also ends the loop) and MULS overwrites
 * each value, which the next channel loads again; 4 products in 11
 * instructions. */
    .macro tml_m0_conv4_step
    ldmia r0!, {r2, r3, r4, r5}
    ldrsb r6, [r1, r7]
    muls r2, r6
    add r8, r2
    muls r3, r6
    add r9, r3
    muls r4, r6
    add r10, r4
    muls r5, r6
    add r11, r5
    adds r7, #1
    .endm

/* For k < channels (> 0), channel k's weights at w + k * stride, pixel p's
 * accumulator at acc[p * 32 + k] (p < 4) becomes start[k] (start != NULL:
 * the bias) or its own value, plus w_k . pixel p over len (> 0) inputs of
 * the prepared quad x (four int32 an input, the offset added). Two steps
 * an iteration, an odd first one alone.
 * void tml_m0_conv4(const int32_t *x, int32_t len, const int8_t *w,
 *     int32_t stride, int32_t channels, int32_t *acc, const int32_t *start) */
    .set L_X, 0            /* x */
    .set L_LEN, 4          /* len */
    .set L_STRIDE, 8       /* stride */
    .set LOCALS, 16
    .set ARG_CHANNELS, LOCALS + SAVED
    .set ARG_ACC, ARG_CHANNELS + 4
    .set ARG_START, ARG_CHANNELS + 8
    .set ACC_STEP, 4 * 32
    .section .text.tml_m0_conv4, "ax", %progbits
    .align 1
    .global tml_m0_conv4
    .type tml_m0_conv4, %function
    .thumb_func
tml_m0_conv4:
    tml_m0_enter
    sub sp, #LOCALS
    str r0, [sp, #L_X]
    str r1, [sp, #L_LEN]
    str r3, [sp, #L_STRIDE]
    /* r1: the end of channel k's weights. */
    adds r1, r2, r1
1:
    ldr r2, [sp, #ARG_START]
    cmp r2, #0
    beq 3f
    ldmia r2!, {r3}
    str r2, [sp, #ARG_START]
    mov r8, r3
    mov r9, r3
    mov r10, r3
    mov r11, r3
    b 4f
3:
    ldr r2, [sp, #ARG_ACC]
    ldr r3, [r2]
    mov r8, r3
    adds r2, #ACC_STEP
    ldr r3, [r2]
    mov r9, r3
    adds r2, #ACC_STEP
    ldr r3, [r2]
    mov r10, r3
    adds r2, #ACC_STEP
    ldr r3, [r2]
    mov r11, r3
4:
    ldr r0, [sp, #L_X]
    ldr r7, [sp, #L_LEN]
    rsbs r7, r7, #0
    lsrs r2, r7, #1
    bcc 2f
    tml_m0_conv4_step
    beq 5f
2:
    tml_m0_conv4_step
    tml_m0_conv4_step
    bne 2b
5:
    ldr r2, [sp, #ARG_ACC]
    adds r3, r2, #4
    str r3, [sp, #ARG_ACC]
    mov r3, r8
    str r3, [r2]
    mov r3, r9
    adds r2, #ACC_STEP
    str r3, [r2]
    mov r3, r10
    adds r2, #ACC_STEP
    str r3, [r2]
    mov r3, r11
    adds r2, #ACC_STEP
    str r3, [r2]
    ldr r2, [sp, #L_STRIDE]
    adds r1, r1, r2
    ldr r2, [sp, #ARG_CHANNELS]
    subs r2, #1
    str r2, [sp, #ARG_CHANNELS]
    bne 1b
    add sp, #LOCALS
    tml_m0_return
    .size tml_m0_conv4, . - tml_m0_conv4

/* One depthwise output pixel, all n channels (a multiple of four, > 0),
 * taps (> 0) taps, every tap row 4-byte aligned: acc[c] = folded[c] +
 * sum_t tap[t][c] * w[t][c], the weights widened into `wide` as [group of
 * four channels][tap][4 words] (tml_dw_widen4()). Per tap of a group: the
 * tap's address, one word of inputs, one LDM of the four weights, the
 * inputs' bytes sign-extended by shifts, four MULS into the weights; 20
 * instructions for 4 products (27 from int8 weights).
 * void tml_dw_pixel_m0(const int8_t *const *tap, int32_t taps, int32_t n,
 *     const uint32_t *wide, const int32_t *folded, int32_t *acc) */
    .set L_TAP, 0          /* tap */
    .set L_N, 4            /* n */
    .set LOCALS, 8
    .set ARG_FOLDED, LOCALS + SAVED
    .set ARG_ACC, ARG_FOLDED + 4
    .section .text.tml_dw_pixel_m0, "ax", %progbits
    .align 1
    .global tml_dw_pixel_m0
    .type tml_dw_pixel_m0, %function
    .thumb_func
tml_dw_pixel_m0:
    tml_m0_enter
    sub sp, sp, #LOCALS
    str r0, [sp, #L_TAP]
    str r2, [sp, #L_N]
    /* r12 the end of the tap table, lr the group's first channel, r1
     * the widened weights (read in order, never rewound). */
    lsls r1, r1, #2
    adds r1, r0, r1
    mov r12, r1
    mov r1, r3
    movs r2, #0
    mov lr, r2
2:
    ldr r5, [sp, #ARG_FOLDED]
    ldmia r5!, {r3, r4, r6, r7}
    str r5, [sp, #ARG_FOLDED]
    mov r8, r3
    mov r9, r4
    mov r10, r6
    mov r11, r7
    ldr r0, [sp, #L_TAP]
1:
    ldmia r0!, {r3}
    mov r2, lr
    ldr r3, [r3, r2]
    ldmia r1!, {r4, r5, r6, r7}
    sxtb r2, r3
    muls r4, r2
    add r8, r4
    lsls r2, r3, #16
    asrs r2, r2, #24
    muls r5, r2
    add r9, r5
    lsls r2, r3, #8
    asrs r2, r2, #24
    muls r6, r2
    add r10, r6
    asrs r2, r3, #24
    muls r7, r2
    add r11, r7
    cmp r0, r12
    bne 1b
    ldr r7, [sp, #ARG_ACC]
    mov r3, r8
    mov r4, r9
    mov r5, r10
    mov r6, r11
    stmia r7!, {r3, r4, r5, r6}
    str r7, [sp, #ARG_ACC]
    mov r2, lr
    adds r2, r2, #4
    mov lr, r2
    ldr r3, [sp, #L_N]
    cmp r2, r3
    blt 2b
    add sp, sp, #LOCALS
    tml_m0_return
    .size tml_dw_pixel_m0, . - tml_dw_pixel_m0

/* The rescales' product: from a = ah 2^16 + al (r2 = ah, r3 = al) and the
 * multiplier b = bh 2^16 + bl (r4 = bh, r6 = bl), r2 = v + (v >> 31) for
 * v = floor((a b + 2^30) / 2^31) = 2 hh + (m1 >> 15) + (m2 >> 15) + the
 * carry of their low 15 bits, ll's high half and 2^14, by 2^15: the u of
 * tml_round_shift_away(), ready for the rounding by 2^(k + 1). Uses r3,
 * r4, r6, r7. */
    .macro tml_m0_q31_product
    mov r7, r3
    muls r7, r6              /* ll = al bl */
    muls r6, r2              /* m1 = ah bl */
    muls r3, r4              /* m2 = al bh */
    muls r2, r4              /* hh = ah bh */
    lsrs r7, r7, #16
    lsls r4, r6, #17
    lsrs r4, r4, #17
    adds r7, r7, r4
    lsls r4, r3, #17
    lsrs r4, r4, #17
    adds r7, r7, r4
    lsrs r7, r7, #14
    adds r7, r7, #1
    lsrs r7, r7, #1
    lsls r2, r2, #1
    asrs r6, r6, #15
    adds r2, r2, r6
    lsrs r3, r3, #15
    adds r2, r2, r3
    adds r2, r2, r7
    asrs r3, r2, #31
    adds r2, r2, r3
    .endm

/* The rescales' end, from the product's u (r2) and k (r5): out = clamp(((u
 * >> k) + 1 + 2 zp) >> 1, lo, hi), the rounded value plus the zero point
 * zp with the clamp's bounds including it (r12 1 + 2 zp, r10 lo, r11 hi),
 * stored at r1, which steps on; the loop at 1: goes on until r1 reaches
 * lr. */
    .macro tml_m0_rescale_store
    asrs r2, r5
    add r2, r12
    asrs r2, r2, #1
    cmp r2, r10
    bge 2f
    mov r2, r10
2:
    cmp r2, r11
    ble 3f
    mov r2, r11
3:
    strb r2, [r1]
    adds r1, r1, #1
    cmp r1, lr
    bne 1b
    .endm

/* out[i] = clamp(rescale(acc[i]) + zp, lo, hi) for n > 0 outputs of
 * consecutive channels with per-channel multipliers (>= 0) and shifts in
 * [-31, -2]: tml_requant.h's tml_rescale_down_by() with its 32x32 -> high
 * product from four 16-bit MULS (TML_REQUANT_HALVES), every value in a
 * register, the zero point folded into the final rounding: 44
 * instructions an output, where GCC's loop and call take 56.
 * void tml_requant_row_m0(const int32_t *acc, int8_t *out, int32_t n,
 *     const tml_requant_row_m0_args_t *args) */
    .section .text.tml_requant_row_m0, "ax", %progbits
    .align 1
    .global tml_requant_row_m0
    .type tml_requant_row_m0, %function
    .thumb_func
tml_requant_row_m0:
    tml_m0_enter
    mov r4, r12
    push {r4}
    /* r8, r9: the multipliers and shifts from the next accumulator (each
     * loaded from r0 plus it, after LDMIA has stepped r0 past the output's
     * accumulator); r10 lo, r11 hi, r12 1 + 2 zp, lr the end of out. */
    adds r2, r1, r2
    mov lr, r2
    ldr r4, [r3]
    subs r4, r4, r0
    subs r4, #4
    mov r8, r4
    ldr r4, [r3, #4]
    subs r4, r4, r0
    subs r4, #4
    mov r9, r4
    ldr r4, [r3, #8]
    mov r10, r4
    ldr r4, [r3, #12]
    mov r11, r4
    ldr r4, [r3, #16]
    mov r12, r4
1:
    ldmia r0!, {r2}
    mov r4, r8
    ldr r4, [r0, r4]
    /* a = ah 2^16 + al, b = bh 2^16 + bl. */
    uxth r3, r2
    asrs r2, r2, #16
    uxth r6, r4
    lsrs r4, r4, #16
    tml_m0_q31_product
    mov r5, r9
    ldr r5, [r0, r5]
    mvns r5, r5
    tml_m0_rescale_store
    pop {r4}
    mov r12, r4
    tml_m0_return
    .size tml_requant_row_m0, . - tml_requant_row_m0

/* The quads' prepared inputs: dst[4 i + p] = src[p][i] + input_offset for
 * i < n (n > 0) and p < 4. The four rows are read at one index, which
 * counts up from -n to 0, so its ADDS also ends the loop; the offset is
 * added from r12 (ADD takes a high register), leaving two low registers
 * for one STM of two values: 12 instructions an input, where GCC's loop,
 * short of registers for four row pointers, took 35.
 * void tml_m0_quad_fill(const int8_t *const *src, int32_t n, uint32_t *dst,
 *     int32_t input_offset) */
    .section .text.tml_m0_quad_fill, "ax", %progbits
    .align 1
    .global tml_m0_quad_fill
    .type tml_m0_quad_fill, %function
    .thumb_func
tml_m0_quad_fill:
    push {r4, r5, r6, r7, lr}
    mov r12, r3
    mov r7, r2
    rsbs r4, r1, #0
    mov r6, r1
    mov r5, r0
    ldr r0, [r5, #0]
    ldr r1, [r5, #4]
    ldr r2, [r5, #8]
    ldr r3, [r5, #12]
    adds r0, r0, r6
    adds r1, r1, r6
    adds r2, r2, r6
    adds r3, r3, r6
1:
    ldrsb r5, [r0, r4]
    add r5, r12
    ldrsb r6, [r1, r4]
    add r6, r12
    stmia r7!, {r5, r6}
    ldrsb r5, [r2, r4]
    add r5, r12
    ldrsb r6, [r3, r4]
    add r6, r12
    stmia r7!, {r5, r6}
    adds r4, #1
    bne 1b
    pop {r4, r5, r6, r7, pc}
    .size tml_m0_quad_fill, . - tml_m0_quad_fill

/* out[i] = clamp(rescale(acc[i]) + zp, lo, hi) for n > 0 outputs, all with
 * one multiplier (>= 0) and one shift in [-31, -2]: tml_requant_row_m0's
 * arithmetic with the multiplier's halves and the shift's k = -shift - 1
 * computed once: 40 instructions an output.
 * void tml_requant_pt_m0(const int32_t *acc, int8_t *out, int32_t n,
 *     const tml_requant_pt_m0_args_t *args) */
    .section .text.tml_requant_pt_m0, "ax", %progbits
    .align 1
    .global tml_requant_pt_m0
    .type tml_requant_pt_m0, %function
    .thumb_func
tml_requant_pt_m0:
    tml_m0_enter
    mov r4, r12
    push {r4}
    /* r8, r9 the multiplier's low and high halves, r10 lo, r11 hi, r12
     * 1 + 2 zp, lr the end of out; k on the stack. */
    adds r2, r1, r2
    mov lr, r2
    ldr r4, [r3, #20]
    push {r4}
    ldr r4, [r3, #0]
    mov r8, r4
    ldr r4, [r3, #4]
    mov r9, r4
    ldr r4, [r3, #8]
    mov r10, r4
    ldr r4, [r3, #12]
    mov r11, r4
    ldr r4, [r3, #16]
    mov r12, r4
1:
    ldmia r0!, {r2}
    uxth r3, r2
    asrs r2, r2, #16
    mov r6, r8
    mov r4, r9
    tml_m0_q31_product
    ldr r5, [sp, #0]
    tml_m0_rescale_store
    add sp, sp, #4
    pop {r4}
    mov r12, r4
    tml_m0_return
    .size tml_requant_pt_m0, . - tml_requant_pt_m0

/* sums[i] = scaled1[a[i]] + scaled2[b[i]] for n > 0 consecutive elements,
 * the tables indexed by the int8 values (-128..127): the sums of an ADD or
 * SUB whose inputs' rescales are tables (tml_elementwise.c), 10
 * instructions an element; its index counts up from -n to 0.
 * void tml_add_sums_m0(const int8_t *a, const int8_t *b, int32_t *sums,
 *     int32_t n, const int32_t *const tables[2]) */
    .section .text.tml_add_sums_m0, "ax", %progbits
    .align 1
    .global tml_add_sums_m0
    .type tml_add_sums_m0, %function
    .thumb_func
tml_add_sums_m0:
    push {r4, r5, r6, r7, lr}
    ldr r7, [sp, #20]
    ldr r4, [r7, #0]
    ldr r5, [r7, #4]
    adds r0, r0, r3
    adds r1, r1, r3
    rsbs r3, r3, #0
1:
    ldrsb r6, [r0, r3]
    lsls r6, r6, #2
    ldr r6, [r4, r6]
    ldrsb r7, [r1, r3]
    lsls r7, r7, #2
    ldr r7, [r5, r7]
    adds r6, r6, r7
    stmia r2!, {r6}
    adds r3, #1
    bne 1b
    pop {r4, r5, r6, r7, pc}
    .size tml_add_sums_m0, . - tml_add_sums_m0

#endif
