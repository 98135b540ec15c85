// Clock for the `time` module on our qemu boards, from the emulated SoC's own
// timer. Under `qemu-system-* -icount shift=0` virtual time advances one
// nanosecond per instruction, so ticks_us()/ticks_cpu() become deterministic
// instruction counts, which is what the benchmarks rely on.
#include <stdint.h>

#include "py/mphal.h"

#if defined(QEMU_SOC_MPS2)
// CMSDK APB timer 0: a 32-bit down-counter clocked at 25 MHz.
#define TIMER_CTRL (*(volatile uint32_t *)0x40000000)
#define TIMER_VALUE (*(volatile uint32_t *)0x40000004)
#define TIMER_RELOAD (*(volatile uint32_t *)0x40000008)
#define TICKS_PER_US (25)

static uint32_t timer_elapsed(void) {
    static uint32_t last;
    if (!(TIMER_CTRL & 1)) {
        TIMER_RELOAD = 0xffffffff;
        TIMER_VALUE = 0xffffffff;
        TIMER_CTRL = 1;
        last = 0xffffffff;
    }
    uint32_t now = TIMER_VALUE;
    uint32_t delta = last - now; // down-counter, wrap-safe
    last = now;
    return delta;
}

#elif defined(QEMU_SOC_NRF51)
// nRF51 TIMER0 in 32-bit timer mode with prescaler 4: counts at 1 MHz.
#define TIMER_REG(off) (*(volatile uint32_t *)(0x40008000 + (off)))
#define TICKS_PER_US (1)

static uint32_t timer_elapsed(void) {
    static uint32_t last;
    static uint32_t started;
    if (!started) {
        TIMER_REG(0x504) = 0; // MODE: timer
        TIMER_REG(0x508) = 3; // BITMODE: 32 bit
        TIMER_REG(0x510) = 4; // PRESCALER: 16 MHz / 2^4
        TIMER_REG(0x000) = 1; // TASKS_START
        started = 1;
    }
    TIMER_REG(0x040) = 1; // TASKS_CAPTURE[0]
    uint32_t now = TIMER_REG(0x540); // CC[0]
    uint32_t delta = now - last;
    last = now;
    return delta;
}

#elif defined(QEMU_SOC_VIRT)
// The CLINT's mtime: a 64-bit up-counter at the virt machine's 10 MHz
// timebase. Its low word, read alone, wraps like the others.
#define MTIME_LOW (*(volatile uint32_t *)0x0200bff8)
#define TICKS_PER_US (10)

static uint32_t timer_elapsed(void) {
    static uint32_t last;
    uint32_t now = MTIME_LOW;
    uint32_t delta = now - last;
    last = now;
    return delta;
}

#else
#error "qemu_ticks.c: unknown SoC"
#endif

// MicroPython keeps only 30 bits of each tick counter, so 32-bit counters
// that wrap are exact; they also keep 64-bit division (a libgcc call the
// port's linker scripts cannot place) out of the firmware.
static uint32_t ticks_cpu, ticks_us, ticks_ms, sub_us, sub_ms;

static void advance(void) {
    uint32_t delta = timer_elapsed();
    ticks_cpu += delta;
    sub_us += delta % TICKS_PER_US;
    uint32_t us = delta / TICKS_PER_US + sub_us / TICKS_PER_US;
    sub_us %= TICKS_PER_US;
    ticks_us += us;
    sub_ms += us % 1000;
    ticks_ms += us / 1000 + sub_ms / 1000;
    sub_ms %= 1000;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    advance();
    return ticks_cpu;
}

mp_uint_t mp_hal_ticks_us(void) {
    advance();
    return ticks_us;
}

mp_uint_t mp_hal_ticks_ms(void) {
    advance();
    return ticks_ms;
}

void mp_hal_delay_us(mp_uint_t us) {
    uint32_t start = mp_hal_ticks_us();
    while ((uint32_t)(mp_hal_ticks_us() - start) < us) {
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    uint32_t start = mp_hal_ticks_ms();
    while ((uint32_t)(mp_hal_ticks_ms() - start) < ms) {
    }
}
