// stackprobe: the C stack high-water mark of a stretch of Python code on our
// qemu boards, by painting. paint() fills the free stack with a pattern;
// used() finds the deepest word overwritten since and returns how many bytes
// below paint()'s frame that is:
//
//     stackprobe.paint()
//     m.invoke(x, out)
//     print(stackprobe.used())
//
// Why the figure is invoke's own: the bytecode VM keeps one C frame per
// Python frame for as long as that frame runs, so two calls made from the
// same Python frame start from the same VM frame at the same address. paint()
// takes its reference point a fixed distance below it (MicroPython's dispatch
// of a 0-argument builtin, then paint()'s own frame: the same code, so the
// same distance, before and after a change to our module); Model.invoke then
// runs below that same VM frame. So used() is invoke's depth below the VM
// frame, minus a constant, and two builds' figures differ by exactly the
// difference in what their invoke (binding, executor, kernels) puts on the
// stack. Between the calls the VM only looks names up, which goes far less
// deep than an invoke.
//
// Limits: painting sees words written, not words reserved, so a stack buffer
// an invoke declares but never fills in full counts only as far as it is
// written (-fstack-usage gives the reserved size); figures at or below
// MARGIN_BYTES mean "at most that". One word that happens to equal the
// pattern at the very bottom reads as unwritten (a 4-byte under-count).
// These boards take no interrupts; on a board that does, an interrupt
// arriving in the measured stretch would count too.
#include <stdint.h>

#include "py/runtime.h"

// The port's linker scripts (mcu/arm/mps2.ld, nrf51.ld) start the stack at
// _estack, the top of RAM, growing down, with .bss the last section below
// it. The port links with -nostdlib (no malloc, no sbrk) and keeps the GC
// heap as a static array in .bss, so every word from _ebss up to the stack
// pointer is free stack: that is the floor paint() stops at.
extern uint32_t _ebss;

#define PAINT (0xa5a5a5a5u)

// paint()'s reference is the address of one of its locals, as MicroPython
// measures its own stack (py/stackctrl.c); the rest of paint()'s frame (the
// compiler lays it out as it likes) may lie below that local, so painting
// starts this far below it.
#define MARGIN_BYTES (64)

// An address, not a pointer: it outlives the local it was taken from.
static uintptr_t reference;

static uint32_t *paint_top(void) {
    return (uint32_t *)((reference - MARGIN_BYTES) & ~(uintptr_t)3);
}

static mp_obj_t stackprobe_paint(void) {
    volatile uint32_t here;
    reference = (uintptr_t)&here;
    for (uint32_t *p = &_ebss, *top = paint_top(); p < top; p++) {
        *p = PAINT;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(stackprobe_paint_obj, stackprobe_paint);

static mp_obj_t stackprobe_used(void) {
    if (reference == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("stackprobe.paint() has not been called"));
    }
    const uint32_t *p = &_ebss, *top = paint_top();
    while (p < top && *p == PAINT) {
        p++;
    }
    if (p == &_ebss) {
        // The floor itself was written: the stack may have run into .bss.
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("the stack reached _ebss"));
    }
    return mp_obj_new_int(reference - (uintptr_t)p);
}
static MP_DEFINE_CONST_FUN_OBJ_0(stackprobe_used_obj, stackprobe_used);

static const mp_rom_map_elem_t stackprobe_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_stackprobe) },
    { MP_ROM_QSTR(MP_QSTR_paint), MP_ROM_PTR(&stackprobe_paint_obj) },
    { MP_ROM_QSTR(MP_QSTR_used), MP_ROM_PTR(&stackprobe_used_obj) },
};
static MP_DEFINE_CONST_DICT(stackprobe_module_globals, stackprobe_module_globals_table);

const mp_obj_module_t stackprobe_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&stackprobe_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_stackprobe, stackprobe_module);
