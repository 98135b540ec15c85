/* Loader and executor of a tinyml blob. No MicroPython headers: the same code
 * runs in the firmware, in the native module and in the host tests.
 *
 * Usage:
 *   tml_model_t m;
 *   if (tml_model_init(&m, blob, blob_size) != TML_OK) report(m.error);
 *   arena = caller_alloc(m.header->arena_size);      (8-byte aligned)
 *   tml_model_set_arena(&m, arena, size);
 *   copy input bytes to tml_model_tensor_data(&m, tml_model_input_index(&m, 0));
 *   tml_model_invoke(&m);
 *
 * tml_model_init() validates the whole blob (header, CRC, every tensor, every
 * op record and every constant it points at) so that invoke() can trust it. */
#ifndef TML_MODEL_H
#define TML_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "tml_blob.h"
#include "tml_status.h"

typedef struct {
    tml_status_t status;
    int32_t op_index;   /* op being checked or run, -1 if none */
    uint8_t opcode;     /* its opcode, 0 if none */
    const char *detail; /* static string saying what was wrong */
} tml_error_t;

typedef struct {
    const uint8_t *blob;
    uint32_t blob_size;
    const tml_blob_header_t *header;
    const tml_tensor_t *tensors;
    const uint16_t *io;       /* input indices then output indices */
    const uint8_t *ops;
    const uint8_t *data;
    uint8_t *arena;
    uint32_t arena_size;
    tml_error_t error;
} tml_model_t;

tml_status_t tml_model_init(tml_model_t *m, const uint8_t *blob, uint32_t blob_size);
tml_status_t tml_model_set_arena(tml_model_t *m, uint8_t *arena, uint32_t arena_size);
tml_status_t tml_model_invoke(tml_model_t *m);

uint32_t tml_model_input_count(const tml_model_t *m);
uint32_t tml_model_output_count(const tml_model_t *m);
/* Tensor index of input/output i (i < count). */
uint32_t tml_model_input_index(const tml_model_t *m, uint32_t i);
uint32_t tml_model_output_index(const tml_model_t *m, uint32_t i);
const tml_tensor_t *tml_model_tensor(const tml_model_t *m, uint32_t index);
/* Bytes of a tensor (elements times element size); valid after init. */
uint32_t tml_model_tensor_bytes(const tml_model_t *m, uint32_t index);
/* Pointer to a tensor's bytes in the arena (or data section); needs the arena. */
uint8_t *tml_model_tensor_data(const tml_model_t *m, uint32_t index);

/* Metadata record of the given type, or NULL; *length receives its size. */
const uint8_t *tml_model_meta(const tml_model_t *m, uint16_t type, uint32_t *length);

const char *tml_status_str(tml_status_t status);
const char *tml_opcode_name(uint8_t opcode);

/* CRC-32 (IEEE, as zlib.crc32). */
uint32_t tml_crc32(const uint8_t *data, size_t length);

#endif /* TML_MODEL_H */
