/* The C core on a Cortex-M33 (armv8-m.main with DSP, the RP2350's Arm core)
 * under QEMU's mps2-an505, without MicroPython, whose qemu port has no
 * board for that machine. The job QEMU's loader puts at _job is a header
 * (magic, blob size, offset of the inputs, input count) then one of the
 * payloads scripts/gen_mpy_tests.py writes (the blob, then its inputs back
 * to back). Each output of each invoke is printed in hex on its own line
 * through semihosting, as the generated MicroPython scripts print them, so
 * scripts/m33_test.py compares both with the same TFLite outputs. */
#include <stdint.h>
#include <string.h>

#include "tml_arch.h"
#include "tml_model.h"

#define SYS_WRITE0 (0x04)
#define SYS_EXIT (0x18)
#define ADP_STOPPED_APPLICATION_EXIT (0x20026)
#define ADP_STOPPED_RUN_TIME_ERROR (0x20023)
#define JOB_MAGIC (0x33336d74u) /* "tm33" */

typedef struct {
    uint32_t magic;
    uint32_t blob_size;
    uint32_t inputs_offset;
    uint32_t input_count;
} job_t;

extern const job_t _job;
extern uint32_t _sdata, _edata, _sbss, _ebss, _etext, _estack;

/* The model's state and arena, 8-byte aligned as the loader wants. */
static uint64_t pool[(1536 * 1024) / 8];

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

static void put(const char *s) {
    semihost(SYS_WRITE0, s);
}

static void __attribute__((noreturn)) stop(uint32_t reason) {
    semihost(SYS_EXIT, (const void *)(uintptr_t)reason);
    for (;;) {
    }
}

static void fail(const char *what, const tml_model_t *m) {
    put("M33_ERR ");
    put(what);
    if (m) {
        put(": ");
        put(tml_model_error(m)->detail);
    }
    put("\n");
    stop(ADP_STOPPED_RUN_TIME_ERROR);
}

static void put_hex(const uint8_t *p, uint32_t n) {
    static const char digits[] = "0123456789abcdef";
    char chunk[65];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        chunk[k++] = digits[p[i] >> 4];
        chunk[k++] = digits[p[i] & 15];
        if (k == 64 || i + 1 == n) {
            chunk[k] = 0;
            put(chunk);
            k = 0;
        }
    }
    put("\n");
}

int main(void) {
    const job_t *job = &_job;
    if (job->magic != JOB_MAGIC) {
        fail("no job at _job", 0);
    }
    const uint8_t *payload = (const uint8_t *)(job + 1);
    put("M33_ARCH " TML_ARCH_NAME "\n");
    tml_model_t m;
    if (tml_model_open(&m, payload, job->blob_size) != TML_OK) {
        fail("open", &m);
    }
    uint8_t *free_mem = (uint8_t *)pool;
    uint32_t state_size = (tml_model_state_size(&m) + 7u) & ~7u;
    uint32_t arena_size = tml_model_arena_size(&m);
    if ((uint64_t)state_size + arena_size > sizeof pool) {
        fail("model larger than the harness's pool", 0);
    }
    if (tml_model_load(&m, free_mem, state_size) != TML_OK) {
        fail("load", &m);
    }
    if (tml_model_set_arena(&m, free_mem + state_size, arena_size) != TML_OK) {
        fail("arena", &m);
    }
    uint32_t in = tml_model_input_index(&m, 0);
    uint32_t in_bytes = tml_model_tensor_bytes(&m, in);
    /* Inputs follow each other at 8-byte aligned offsets (scripts/gen_mpy_tests.py),
     * so one read in place (an external input) is aligned as the loader needs. */
    const uint32_t in_stride = (in_bytes + 7u) & ~7u;
    for (uint32_t k = 0; k < job->input_count; k++) {
        if (tml_model_bind_input(&m, 0, payload + job->inputs_offset + k * in_stride, in_bytes) != TML_OK) {
            fail("input", &m);
        }
        if (tml_model_invoke(&m) != TML_OK) {
            fail("invoke", &m);
        }
        for (uint32_t o = 0; o < tml_model_output_count(&m); o++) {
            uint32_t out = tml_model_output_index(&m, o);
            put_hex(tml_model_tensor_data(&m, out), tml_model_tensor_bytes(&m, out));
        }
    }
    stop(ADP_STOPPED_APPLICATION_EXIT);
}

void __attribute__((noreturn)) reset_handler(void) {
    uint32_t *src = &_etext;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    main();
    stop(ADP_STOPPED_APPLICATION_EXIT);
}

static void __attribute__((noreturn)) fault_handler(void) {
    put("M33_ERR fault\n");
    stop(ADP_STOPPED_RUN_TIME_ERROR);
}

/* Initial stack, reset, NMI, HardFault, MemManage, BusFault, UsageFault, SecureFault. */
__attribute__((section(".vectors"), used)) static const void *const vectors[8] = {
    &_estack, reset_handler, fault_handler, fault_handler, fault_handler, fault_handler, fault_handler,
    fault_handler,
};
