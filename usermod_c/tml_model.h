/* Loader and executor of a tinyml blob. No MicroPython headers: the same code
 * runs in the firmware, in the native module and in the host tests.
 *
 * Usage (the core never allocates: the caller gives it memory twice):
 *   tml_model_t m;
 *   if (tml_model_open(&m, blob, blob_size) != TML_OK) report(m.error);
 *   state = caller_alloc(tml_model_state_size(&m));           (8-byte aligned)
 *   if (tml_model_load(&m, state, size) != TML_OK) report(m.error);
 *   arena = caller_alloc(tml_model_arena_size(&m));           (8-byte aligned)
 *   tml_model_set_arena(&m, arena, size);
 *   copy input bytes to tml_model_tensor_data(&m, tml_model_input_index(&m, 0));
 *   tml_model_invoke(&m);
 *
 * open() checks the header, the CRC and the section bounds and copies the
 * header. load() translates the tensor table and every op record into the
 * state, memory the caller owns on the model's behalf, and validates what it
 * built there: shapes, placements, parameters and every constant an op
 * points at. From then on invoke() reads only the state and the constant
 * bytes of the blob (weights, biases, rescale arrays, tables), which may
 * hold any value without making it read or write outside its buffers: the
 * blob may be changed after load (a reused bytearray) and answers change,
 * never safety. */
#ifndef TML_MODEL_H
#define TML_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "tml_blob.h"
#include "tml_kernels.h"
#include "tml_status.h"

typedef struct {
    tml_status_t status;
    int32_t op_index;   /* op being checked or run, -1 if none */
    uint8_t opcode;     /* its opcode, 0 if none */
    const char *detail; /* static string saying what was wrong */
} tml_error_t;

typedef enum {
    TML_ROLE_ARENA = 0,    /* whole in the arena, or a constant */
    TML_ROLE_EXTERNAL = 1, /* a model input read from the caller's buffer (TML_TENSOR_EXTERNAL) */
    TML_ROLE_BAND = 2,     /* rows of a stage's intermediate (TML_TENSOR_BAND), not yet claimed by its stage */
    TML_ROLE_BAND_CLAIMED = 3,
} tml_tensor_role_t;

/* A tensor as load() built it, in the state. */
typedef struct {
    uint8_t *data;      /* arena + offset (NULL until the arena is set), or the constant */
    tml_dims_t dims;    /* 4-D, left-padded with 1s */
    uint32_t offset;    /* into the arena, or into the blob's data section */
    uint32_t bytes;
    float scale;
    int32_t zero_point;
    uint8_t dtype;      /* tml_dtype_t */
    uint8_t rank;       /* the original rank, for input_shape/output_shape */
    uint8_t is_const;
    uint8_t is_state;   /* 0; 1 kept across invokes (TML_TENSOR_STATE); 2 reset at each invoke too */
    uint8_t role;       /* tml_tensor_role_t */
} tml_tensor_t;

struct tml_op;

typedef struct {
    const uint8_t *blob;
    uint32_t blob_size;
    tml_blob_header_t header; /* a copy: nothing reads the blob's own header after open */
    uint32_t operand_count;   /* tensor indices of all op records, counted at open */
    const uint8_t *data;      /* the blob's constant data section */
    /* In the state, after load: */
    tml_tensor_t *tensors;
    struct tml_op *ops;
    uint16_t *operands;       /* inputs then outputs of every op, then the model's io */
    uint16_t *io;
    uint8_t *arena;
    uint32_t arena_size;
    uint8_t stage;            /* 0 nothing, 1 opened, 2 loaded */
    uint8_t has_reset_state;  /* some state tensor restarts at every invoke */
    uint8_t has_external;     /* some tensor reads a caller's buffer (TML_TENSOR_EXTERNAL) */
    tml_error_t error;
} tml_model_t;

tml_status_t tml_model_open(tml_model_t *m, const uint8_t *blob, uint32_t blob_size);
/* Bytes of state load() needs; valid after open. */
uint32_t tml_model_state_size(const tml_model_t *m);
tml_status_t tml_model_load(tml_model_t *m, void *state, uint32_t state_size);
/* Bytes of arena the offline plan needs; valid after open. */
uint32_t tml_model_arena_size(const tml_model_t *m);
tml_status_t tml_model_set_arena(tml_model_t *m, uint8_t *arena, uint32_t arena_size);
/* A model input the blob marks external is read in place from `data`
 * (8-byte aligned, exactly the tensor's bytes) during the next invoke, which
 * unbinds it; an input in the arena is copied there. */
tml_status_t tml_model_bind_input(tml_model_t *m, uint32_t input, const void *data, uint32_t bytes);
int tml_model_input_is_external(const tml_model_t *m, uint32_t input);
tml_status_t tml_model_invoke(tml_model_t *m);
/* Sets every state tensor (TML_TENSOR_STATE) to its start value, as
 * set_arena() does: an LSTM then starts a new sequence. Needs the arena. */
tml_status_t tml_model_reset_state(tml_model_t *m);

/* The rest are valid after load. */
uint32_t tml_model_input_count(const tml_model_t *m);
uint32_t tml_model_output_count(const tml_model_t *m);
/* Tensor index of input/output i (i < count). */
uint32_t tml_model_input_index(const tml_model_t *m, uint32_t i);
uint32_t tml_model_output_index(const tml_model_t *m, uint32_t i);
const tml_tensor_t *tml_model_tensor(const tml_model_t *m, uint32_t index);
uint32_t tml_model_tensor_bytes(const tml_model_t *m, uint32_t index);
/* Pointer to a tensor's bytes in the arena (or the blob); needs the arena. */
uint8_t *tml_model_tensor_data(const tml_model_t *m, uint32_t index);

uint32_t tml_model_op_count(const tml_model_t *m);
/* Op i's opcode and its first output tensor (i < op_count). */
uint8_t tml_model_op_opcode(const tml_model_t *m, uint32_t i);
uint32_t tml_model_op_output(const tml_model_t *m, uint32_t i);

/* Metadata record of the given type, or NULL; *length receives its size.
 * Read from the blob each time, within the bounds open() checked. */
const uint8_t *tml_model_meta(const tml_model_t *m, uint16_t type, uint32_t *length);

const tml_error_t *tml_model_error(const tml_model_t *m);
/* sizeof(tml_model_t), for callers that only hold it as bytes (ctypes). */
uint32_t tml_model_struct_size(void);

const char *tml_status_str(tml_status_t status);
/* Name of an opcode ("UNKNOWN" outside the op table). */
const char *tml_opcode_name(uint8_t opcode);

/* CRC-32 (IEEE, as zlib.crc32). */
uint32_t tml_crc32(const uint8_t *data, size_t length);

#endif /* TML_MODEL_H */
