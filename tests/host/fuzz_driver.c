/* Runs a corpus of blobs through tml_model_open and _load and, when a blob is
 * accepted, tml_model_invoke, printing "<init status> <invoke status>" per
 * blob (-1 when invoke was not reached). Used by test_model_loader.py in a
 * subprocess so a crash fails a test instead of killing pytest, and built a
 * second time with -fsanitize=address,undefined so that any read past the
 * blob or write past the arena aborts.
 *
 * Corpus file: records of uint32 length (little-endian) then that many bytes,
 * padded to 4. Every blob is copied into its own exactly-sized allocation,
 * so the sanitizer sees a read one byte past the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tml_model.h"
#include "../fuzz/load_model.h"

static int run_one(const uint8_t *bytes, uint32_t len) {
    /* malloc is at least 8-byte aligned, as the blob (4) and arena (8) need. */
    uint8_t *blob = malloc(len ? len : 1);
    if (blob == NULL) {
        return 1;
    }
    memcpy(blob, bytes, len);
    tml_model_t m;
    void *state;
    tml_status_t s = load_model(&m, blob, len, &state);
    int inv = -1;
    if (s == TML_OK) {
        uint32_t arena_size = tml_model_arena_size(&m);
        uint8_t *arena = malloc(arena_size ? arena_size : 1);
        if (arena == NULL) {
            free(state);
            free(blob);
            return 1;
        }
        if (tml_model_set_arena(&m, arena, arena_size) == TML_OK) {
            /* One pattern buffer per input, bound (an external input is read
             * in place) or copied into the arena. */
            uint8_t *inputs[256] = { 0 };
            int bound = 1;
            for (uint32_t i = 0; i < tml_model_input_count(&m) && bound; i++) {
                uint32_t index = tml_model_input_index(&m, i);
                uint32_t n = tml_model_tensor_bytes(&m, index);
                inputs[i] = malloc(n ? n : 1);
                if (inputs[i] == NULL) {
                    bound = 0;
                    break;
                }
                for (uint32_t k = 0; k < n; k++) {
                    inputs[i][k] = (uint8_t)(k * 37u + i);
                }
                bound = tml_model_bind_input(&m, i, inputs[i], n) == TML_OK;
            }
            inv = bound ? (int)tml_model_invoke(&m) : -1;
            for (uint32_t i = 0; i < 256; i++) {
                free(inputs[i]);
            }
        }
        free(arena);
        free(state);
    }
    printf("%d %d\n", (int)s, inv);
    free(blob);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s corpus\n", argv[0]);
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
    long pos = 0;
    while (pos + 4 <= size) {
        uint32_t len = (uint32_t)all[pos] | (uint32_t)all[pos + 1] << 8
            | (uint32_t)all[pos + 2] << 16 | (uint32_t)all[pos + 3] << 24;
        pos += 4;
        if (pos + (long)len > size) {
            fprintf(stderr, "corpus truncated\n");
            return 2;
        }
        if (run_one(all + pos, len) != 0) {
            return 3;
        }
        pos += ((long)len + 3) & ~3L;
    }
    free(all);
    return 0;
}
