/* libFuzzer target over the portable C core: every input is a candidate
 * blob. It is loaded with tml_model_open() and tml_model_load(); when
 * accepted, an arena is set and the model is invoked once on deterministic
 * input bytes, then every byte of the blob is overwritten (as a caller may
 * reuse the buffer it loaded from) and the model is invoked again: what
 * invoke trusts lives in the model's state, so that must stay inside its
 * buffers too.
 *
 * Built with -fsanitize=fuzzer,address,undefined (mk/fuzz.mk), so a read
 * outside the blob, a write outside the arena or any undefined behaviour
 * aborts. Two more rules make a finding:
 *   - a blob the loader accepts must run: a refusal at invoke means the
 *     loader missed a rule a kernel relies on;
 *   - a refused blob must say why (status and a non-empty detail).
 *
 * The custom mutator below knows the blob layout (tml_blob.h): it changes
 * header fields, tensor records, io indices, op records, op params,
 * constants and metadata to boundary values, truncates and extends, and then
 * recomputes total_size and the CRC-32, so most mutants get past the
 * checksum and exercise the validator and the kernels rather than
 * tml_crc32(). A few are left with a stale CRC on purpose. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml_model.h"
#include "load_model.h"

/* The host has plenty of memory, but a board would answer MemoryError for a
 * huge arena: beyond this the blob is loaded and validated but not run. */
#define FUZZ_MAX_ARENA (4u << 20)

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* A finding that is not a sanitizer report: say which rule broke, then
 * abort so libFuzzer saves the input. */
static void fuzz_fail(const char *why) {
    fprintf(stderr, "fuzz_blob: %s\n", why);
    abort();
}

/* The inputs' buffers (malloc: 8-byte aligned) as the next invoke reads
 * them; an accepted blob's inputs are always bindable. */
static void bind_inputs(tml_model_t *m, uint8_t *const *inputs, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        uint32_t n = tml_model_tensor_bytes(m, tml_model_input_index(m, i));
        if (tml_model_bind_input(m, i, inputs[i], n) != TML_OK) {
            fuzz_fail("an accepted blob's input could not be bound");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > UINT32_MAX) {
        return 0;
    }
    /* An exactly-sized copy: ASan sees a read one byte past the blob.
     * malloc's alignment covers the blob's 4 bytes. */
    uint8_t *blob = malloc(size ? size : 1);
    if (blob == NULL) {
        return 0;
    }
    memcpy(blob, data, size);
    tml_model_t m;
    void *state;
    tml_status_t s = load_model(&m, blob, (uint32_t)size, &state);
    if (s != TML_OK) {
        if (m.error.status != s || m.error.detail == NULL || m.error.detail[0] == '\0') {
            fuzz_fail("refusal without a reason");
        }
        free(blob);
        return 0;
    }
    uint32_t arena_size = tml_model_arena_size(&m);
    if (arena_size <= FUZZ_MAX_ARENA) {
        uint8_t *arena = malloc(arena_size ? arena_size : 1);
        if (arena != NULL) {
            memset(arena, 0, arena_size);
            if (tml_model_set_arena(&m, arena, arena_size) != TML_OK) {
                fuzz_fail("set_arena refused the model's own arena_size");
            }
            /* One buffer per input, bound for each invoke (an input the
             * blob marks external is read in place, the others copied). */
            uint8_t *inputs[256] = { 0 };
            const uint32_t input_count = tml_model_input_count(&m);
            for (uint32_t i = 0; i < input_count; i++) {
                uint32_t n = tml_model_tensor_bytes(&m, tml_model_input_index(&m, i));
                inputs[i] = malloc(n ? n : 1);
                if (inputs[i] == NULL) {
                    fuzz_fail("out of memory for an input");
                }
                for (uint32_t k = 0; k < n; k++) {
                    inputs[i][k] = (uint8_t)(k * 37u + i);
                }
            }
            bind_inputs(&m, inputs, input_count);
            if (tml_model_invoke(&m) != TML_OK) {
                fuzz_fail("accepted blob refused by a kernel");
            }
            /* The outputs are what a caller reads next. */
            volatile uint8_t sink = 0;
            for (uint32_t i = 0; i < tml_model_output_count(&m); i++) {
                uint32_t index = tml_model_output_index(&m, i);
                const uint8_t *p = tml_model_tensor_data(&m, index);
                uint32_t n = tml_model_tensor_bytes(&m, index);
                for (uint32_t k = 0; k < n; k++) {
                    sink ^= p[k];
                }
            }
            (void)sink;
            /* Every constant may now hold anything: invoke must still stay
             * inside the arena and the blob (the sanitizers watch). */
            for (size_t k = 0; k < size; k++) {
                blob[k] = (uint8_t)(blob[k] * 167u + 13u);
            }
            bind_inputs(&m, inputs, input_count);
            if (tml_model_invoke(&m) != TML_OK) {
                fuzz_fail("a loaded model refused to run after its blob changed");
            }
            for (uint32_t i = 0; i < input_count; i++) {
                free(inputs[i]);
            }
            free(arena);
        }
    }
    for (uint16_t type = 0; type < 8; type++) {
        uint32_t length = 0;
        const uint8_t *p = tml_model_meta(&m, type, &length);
        if (p != NULL && (p < blob || p + length > blob + size)) {
            fuzz_fail("metadata record outside the blob");
        }
    }
    free(state);
    free(blob);
    return 0;
}

/* ---- structure-aware mutator ------------------------------------------ */

typedef struct {
    uint32_t state;
} fuzz_rng_t;

static uint32_t rnd(fuzz_rng_t *r, uint32_t n) {
    /* xorshift32: deterministic from libFuzzer's seed, so -seed=N replays. */
    uint32_t x = r->state ? r->state : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->state = x;
    return n ? x % n : 0;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put(uint8_t *data, size_t size, size_t pos, uint32_t value, uint32_t width) {
    for (uint32_t i = 0; i < width && pos + i < size; i++) {
        data[pos + i] = (uint8_t)(value >> (8 * i));
    }
}

static uint32_t get(const uint8_t *data, size_t size, size_t pos, uint32_t width) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < width && pos + i < size; i++) {
        v |= (uint32_t)data[pos + i] << (8 * i);
    }
    return v;
}

/* Values that sit on the edges of the validator's checks. */
static uint32_t interesting(fuzz_rng_t *r, uint32_t old, size_t size) {
    static const uint32_t fixed[] = {
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 255, 256, 4096, 4097,
        0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x10001, 46341, 65535 * 2, 0x01000000, 0x01000001,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFF80, 0xFFFFFFE1, 0x40000000,
    };
    switch (rnd(r, 8)) {
        case 0:
        case 1:
        case 2:
            return fixed[rnd(r, sizeof(fixed) / sizeof(fixed[0]))];
        case 3:
            return old + 1 + rnd(r, 8);
        case 4:
            return old - 1 - rnd(r, 8);
        case 5:
            return (uint32_t)size + rnd(r, 9) - 4;
        case 6:
            return old ^ (1u << rnd(r, 32));
        default:
            return rnd(r, 0xFFFFFFFFu) ^ (rnd(r, 0xFFFFFFFFu) << 16);
    }
}

/* Header fields: byte offset and width (tml_blob_header_t). */
static const uint8_t header_fields[][2] = {
    {4, 2}, {6, 2}, {8, 4}, {16, 4}, {20, 2}, {22, 2}, {24, 1}, {25, 1}, {26, 2},
    {28, 4}, {32, 4}, {36, 4}, {40, 4}, {44, 4}, {48, 4}, {52, 4}, {56, 4}, {60, 4},
};

/* tml_tensor_t fields: offset, dims[4], scale, zero_point, dtype, rank, flags. */
static const uint8_t tensor_fields[][2] = {
    {0, 4}, {4, 4}, {8, 4}, {12, 4}, {16, 4}, {20, 4}, {24, 4}, {28, 1}, {29, 1}, {30, 2},
};

#define OP_HEADER_BYTES ((uint32_t)sizeof(tml_blob_op_t))

/* Start of the k-th op record within the blob's ops section, or 0. */
static size_t op_record(const uint8_t *data, size_t size, uint32_t k) {
    uint32_t off = rd32(data + 36);
    uint32_t ops_size = rd32(data + 40);
    size_t pos = off;
    size_t end = (size_t)off + ops_size;
    if (end > size) {
        end = size;
    }
    for (uint32_t i = 0; pos + OP_HEADER_BYTES <= end; i++) {
        if (i == k) {
            return pos;
        }
        uint32_t rec = get(data, size, pos + 4, 2);
        if (rec < OP_HEADER_BYTES) {
            return 0;
        }
        pos += rec;
    }
    return 0;
}

static void fix_crc(uint8_t *data, size_t size) {
    uint32_t total = rd32(data + 8);
    if (total >= 16 && total <= size) {
        put(data, size, 12, tml_crc32(data + 16, total - 16u), 4);
    }
}

static void mutate_fields(uint8_t *data, size_t size, fuzz_rng_t *r) {
    const uint32_t tensors = rd32(data + 28);
    const uint32_t tensor_count = get(data, size, 20, 2);
    const uint32_t op_count = get(data, size, 22, 2);
    size_t pos = 0;
    uint32_t width = 4;
    switch (rnd(r, 10)) {
        case 0: { /* a header field */
            uint32_t f = rnd(r, sizeof(header_fields) / sizeof(header_fields[0]));
            pos = header_fields[f][0];
            width = header_fields[f][1];
            break;
        }
        case 1:
        case 2: { /* a tensor field */
            if (tensor_count == 0) {
                return;
            }
            uint32_t f = rnd(r, sizeof(tensor_fields) / sizeof(tensor_fields[0]));
            pos = (size_t)tensors + 32u * rnd(r, tensor_count) + tensor_fields[f][0];
            width = tensor_fields[f][1];
            break;
        }
        case 3: { /* two tensors made to overlap, or one aliased onto another */
            if (tensor_count < 2) {
                return;
            }
            size_t a = (size_t)tensors + 32u * rnd(r, tensor_count);
            size_t b = (size_t)tensors + 32u * rnd(r, tensor_count);
            put(data, size, a, get(data, size, b, 4) + 4u * rnd(r, 3), 4);
            return;
        }
        case 4: { /* a shape whose product overflows 32 bits */
            if (tensor_count == 0) {
                return;
            }
            static const uint32_t big[] = {65536, 65537, 46341, 0x7FFFFFFF, 2, 3, 1 << 20};
            size_t t = (size_t)tensors + 32u * rnd(r, tensor_count);
            for (uint32_t d = 0; d < 4; d++) {
                if (rnd(r, 2)) {
                    put(data, size, t + 4 + 4 * d, big[rnd(r, 7)], 4);
                }
            }
            return;
        }
        case 5:
        case 6:
        case 7: { /* an op record: header byte, operand index or params word */
            if (op_count == 0) {
                return;
            }
            size_t rec = op_record(data, size, rnd(r, op_count));
            if (rec == 0) {
                return;
            }
            uint32_t rec_size = get(data, size, rec + 4, 2);
            uint32_t what = rnd(r, 4);
            if (what == 0) {
                static const uint8_t op_fields[][2] = {
                    {0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 2}, {6, 2}, {8, 4}, {12, 4},
                };
                uint32_t f = rnd(r, sizeof(op_fields) / sizeof(op_fields[0]));
                pos = rec + op_fields[f][0];
                width = op_fields[f][1];
            } else if (what == 1) {
                uint32_t n = get(data, size, rec + 1, 1) + get(data, size, rec + 2, 1);
                if (n == 0) {
                    return;
                }
                pos = rec + OP_HEADER_BYTES + 2u * rnd(r, n);
                width = 2;
                /* Mostly another valid tensor index: a wrong but in-range
                 * operand tests the shape rules, not just the range check. */
                if (rnd(r, 2) && tensor_count > 0) {
                    put(data, size, pos, rnd(r, tensor_count), 2);
                    return;
                }
            } else {
                if (rec_size <= OP_HEADER_BYTES) {
                    return;
                }
                pos = rec + OP_HEADER_BYTES + 4u * rnd(r, (rec_size - OP_HEADER_BYTES) / 4);
                width = rnd(r, 3) ? 4 : 2;
            }
            break;
        }
        case 8: { /* a model input/output index */
            uint32_t n = get(data, size, 24, 1) + get(data, size, 25, 1);
            if (n == 0) {
                return;
            }
            pos = (size_t)rd32(data + 32) + 2u * rnd(r, n);
            width = 2;
            break;
        }
        default: { /* a word of constant data (multipliers, shifts, bias) or metadata */
            uint32_t off = rnd(r, 2) ? rd32(data + 44) : rd32(data + 52);
            uint32_t len = off == rd32(data + 44) ? rd32(data + 48) : rd32(data + 56);
            if (len < 4) {
                return;
            }
            pos = (size_t)off + 4u * rnd(r, len / 4);
            break;
        }
    }
    if (pos + width > size) {
        return;
    }
    put(data, size, pos, interesting(r, get(data, size, pos, width), size), width);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    fuzz_rng_t r = {seed};
    const int structured = size >= sizeof(tml_blob_header_t) && rd32(data) == TML_BLOB_MAGIC;
    uint32_t choice = rnd(&r, 16);
    if (!structured || choice < 3) {
        size = LLVMFuzzerMutate(data, size, max_size);
    } else if (choice < 5) {
        /* Truncate or extend, and say so in total_size (a copy cut short
         * with its header patched, or one with trailing garbage). */
        size_t new_size = rnd(&r, 2) ? rnd(&r, (uint32_t)size + 1) : size + 1 + rnd(&r, 64);
        if (new_size > max_size) {
            new_size = max_size;
        }
        for (size_t i = size; i < new_size; i++) {
            data[i] = (uint8_t)rnd(&r, 256);
        }
        size = new_size;
        if (size >= 12 && rnd(&r, 4)) {
            put(data, size, 8, (uint32_t)size, 4);
        }
    } else {
        uint32_t n = 1 + (rnd(&r, 4) == 0 ? rnd(&r, 4) : 0);
        for (uint32_t i = 0; i < n; i++) {
            mutate_fields(data, size, &r);
        }
    }
    if (size >= 16 && rnd(&r, 32) != 0) {
        fix_crc(data, size);
    }
    return size;
}
