/* Checks the C core against outputs TFLite computed, in a process of its own
 * so it can run under AddressSanitizer and UBSan (which cannot be loaded into
 * the TensorFlow process). tests/host/test_sanitized_parity.py writes the
 * cases file and reads this program's report.
 *
 * Cases file, little-endian, records back to back, each starting with its
 * length in bytes (u32, not counting itself), then:
 *   u32 name length, name, u32 blob length, blob, padded to 4,
 *   u32 number of input sets, then per set: every input tensor's bytes (in
 *   the blob's input order), then every output tensor's expected bytes (in
 *   the blob's output order). Tensor sizes come from the blob itself.
 *
 * Report, one line per case: "<name> ok <sets>", "<name> load <status>:
 * <detail>", "<name> invoke <set> <status>: <detail>" or "<name> diff <set>
 * <output> <differing bytes> <first index> <expected> <got>". Exit status 0
 * when the file was read to the end (the report says what matched), 2 on a
 * malformed cases file; a sanitizer finding aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml_model.h"
#include "load_model.h"

typedef struct {
    const uint8_t *p;
    size_t left;
} reader_t;

static int read_u32(reader_t *r, uint32_t *v) {
    if (r->left < 4) {
        return 0;
    }
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return 1;
}

static const uint8_t *take(reader_t *r, size_t n) {
    if (r->left < n) {
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

/* One case record (without its length); returns 0 when it is malformed. */
static int run_case(reader_t *r) {
    uint32_t name_len;
    uint32_t blob_len;
    uint32_t sets;
    if (!read_u32(r, &name_len)) {
        return 0;
    }
    const uint8_t *name = take(r, name_len);
    if (name == NULL || !read_u32(r, &blob_len)) {
        return 0;
    }
    const uint8_t *blob_in = take(r, ((size_t)blob_len + 3) & ~(size_t)3);
    if (blob_in == NULL || !read_u32(r, &sets)) {
        return 0;
    }
    /* Exactly-sized copies, so the sanitizer sees one byte past either. */
    uint8_t *blob = malloc(blob_len ? blob_len : 1);
    if (blob == NULL) {
        return 0;
    }
    memcpy(blob, blob_in, blob_len);
    printf("%.*s ", (int)name_len, (const char *)name);
    tml_model_t m;
    void *state;
    if (load_model(&m, blob, blob_len, &state) != TML_OK) {
        printf("load %s: %s\n", tml_status_str(m.error.status), m.error.detail);
        free(blob);
        return 1;
    }
    uint32_t arena_size = tml_model_arena_size(&m);
    uint8_t *arena = malloc(arena_size ? arena_size : 1);
    if (arena == NULL || tml_model_set_arena(&m, arena, arena_size) != TML_OK) {
        printf("load cannot set the arena\n");
        free(arena);
        free(state);
        free(blob);
        return 0;
    }
    int ok = 1;
    int good = 1;
    /* An input the blob marks external is read in place for one invoke:
     * each gets its own aligned copy, kept until the invoke returns. */
    enum { MAX_INPUTS = 256 };
    void *bound[MAX_INPUTS] = { 0 };
    if (tml_model_input_count(&m) > MAX_INPUTS) {
        ok = 0;
    }
    for (uint32_t s = 0; s < sets && ok; s++) {
        for (uint32_t i = 0; i < tml_model_input_count(&m) && ok; i++) {
            uint32_t index = tml_model_input_index(&m, i);
            uint32_t n = tml_model_tensor_bytes(&m, index);
            const uint8_t *x = take(r, n);
            free(bound[i]);
            bound[i] = x == NULL ? NULL : malloc(n ? n : 1);
            if (bound[i] == NULL) {
                ok = 0;
            } else {
                memcpy(bound[i], x, n);
                ok = tml_model_bind_input(&m, i, bound[i], n) == TML_OK;
            }
        }
        if (!ok) {
            break;
        }
        tml_status_t st = tml_model_invoke(&m);
        if (st != TML_OK && good) {
            printf("invoke %u %s: %s\n", (unsigned)s, tml_status_str(st), m.error.detail);
            good = 0;
        }
        for (uint32_t o = 0; o < tml_model_output_count(&m) && ok; o++) {
            uint32_t index = tml_model_output_index(&m, o);
            uint32_t n = tml_model_tensor_bytes(&m, index);
            const uint8_t *want = take(r, n);
            if (want == NULL) {
                ok = 0;
                break;
            }
            const uint8_t *got = tml_model_tensor_data(&m, index);
            uint32_t differ = 0;
            uint32_t first = 0;
            for (uint32_t k = 0; k < n; k++) {
                if (got[k] != want[k]) {
                    if (differ == 0) {
                        first = k;
                    }
                    differ++;
                }
            }
            if (differ && good) {
                printf("diff %u %u %u %u %d %d\n", (unsigned)s, (unsigned)o, (unsigned)differ,
                    (unsigned)first, (int)(int8_t)want[first], (int)(int8_t)got[first]);
                good = 0;
            }
        }
    }
    if (ok && good) {
        printf("ok %u\n", (unsigned)sets);
    }
    for (uint32_t i = 0; i < MAX_INPUTS; i++) {
        free(bound[i]);
    }
    free(arena);
    free(state);
    free(blob);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASES\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *all = malloc(size > 0 ? (size_t)size : 1);
    if (all == NULL || fread(all, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(f);
    reader_t r = {all, (size_t)size};
    while (r.left > 0) {
        uint32_t case_len = 0;
        reader_t one = {NULL, 0};
        if (read_u32(&r, &case_len)) {
            one.p = take(&r, case_len);
            one.left = case_len;
        }
        /* A case must use its record exactly: anything else is a writer bug. */
        if (one.p == NULL || !run_case(&one) || one.left != 0) {
            fprintf(stderr, "%s: malformed cases file at byte %ld\n", argv[1], size - (long)r.left);
            free(all);
            return 2;
        }
    }
    free(all);
    return 0;
}
