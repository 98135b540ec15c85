/* Loader, validator and executor of a tinyml blob (format in tml_blob.h).
 *
 * The loader is the only code that distrusts the blob. open() checks the
 * header, the CRC and every section against the blob's length and keeps a
 * copy of the header. load() builds the model's state (tensors, ops and
 * their operand lists) from the blob's tables and checks what it built:
 * every tensor, every op record's framing and operands, and through the op
 * table (tml_ops.c) every op's parameters and constants. It never reads a
 * byte it has not first proven to be inside [blob, blob + blob_size), and
 * all size arithmetic on blob values is done in 64 bits so no hostile count
 * can wrap. invoke() reads only the state, and the constants through the
 * pointers load() checked. */
#include <string.h>

#include "tml_model.h"
#include "tml_ops.h"

_Static_assert(TML_MAX_RANK == TML_RANK, "blob tensors and kernel dims have the same rank");

/* Element size per dtype; 0 marks an unknown dtype. */
static const uint8_t tml_dtype_size[] = {
    [TML_DTYPE_INT8] = 1,
    [TML_DTYPE_INT16] = 2,
    [TML_DTYPE_INT32] = 4,
    [TML_DTYPE_FLOAT32] = 4,
    [TML_DTYPE_BOOL] = 1,
};

#define TML_DTYPE_LIMIT (sizeof(tml_dtype_size) / sizeof(tml_dtype_size[0]))

static const char *const tml_status_strs[TML_ERR_COUNT_] = {
    [TML_OK] = "ok",
    [TML_ERR_TRUNCATED] = "blob truncated",
    [TML_ERR_MAGIC] = "not a tinyml model (bad magic)",
    [TML_ERR_VERSION] = "unsupported model format version",
    [TML_ERR_CRC] = "checksum mismatch (corrupted model)",
    [TML_ERR_ALIGNMENT] = "misaligned data",
    [TML_ERR_BAD_OFFSET] = "offset or size out of range",
    [TML_ERR_BAD_SHAPE] = "invalid or inconsistent shape",
    [TML_ERR_BAD_PARAM] = "invalid op parameter",
    [TML_ERR_UNSUPPORTED_OP] = "unsupported op",
    [TML_ERR_ARENA_TOO_SMALL] = "arena too small",
    [TML_ERR_BAD_TENSOR] = "invalid tensor",
};

const char *tml_status_str(tml_status_t status) {
    if ((unsigned)status >= TML_ERR_COUNT_) {
        return "unknown status";
    }
    return tml_status_strs[status];
}

const char *tml_opcode_name(uint8_t opcode) {
    if (opcode >= TML_OP_COUNT_ || tml_op_defs[opcode].name == 0) {
        return "UNKNOWN";
    }
    return tml_op_defs[opcode].name;
}

tml_status_t (tml_load_fail)(tml_model_t *m, tml_status_t status, const char *detail) {
    m->error.status = status;
    m->error.detail = detail;
    return status;
}

const tml_error_t *tml_model_error(const tml_model_t *m) {
    return &m->error;
}

uint32_t tml_model_struct_size(void) {
    return (uint32_t)sizeof(tml_model_t);
}

/* ---- accessors ---------------------------------------------------------- */

uint32_t tml_model_input_count(const tml_model_t *m) {
    return m->header.input_count;
}

uint32_t tml_model_output_count(const tml_model_t *m) {
    return m->header.output_count;
}

uint32_t tml_model_input_index(const tml_model_t *m, uint32_t i) {
    return m->io[i];
}

uint32_t tml_model_output_index(const tml_model_t *m, uint32_t i) {
    return m->io[m->header.input_count + i];
}

const tml_tensor_t *tml_model_tensor(const tml_model_t *m, uint32_t index) {
    return &m->tensors[index];
}

uint32_t tml_model_tensor_bytes(const tml_model_t *m, uint32_t index) {
    return m->tensors[index].bytes;
}

uint8_t *tml_model_tensor_data(const tml_model_t *m, uint32_t index) {
    return m->tensors[index].data;
}

uint32_t tml_model_op_count(const tml_model_t *m) {
    return m->header.op_count;
}

uint8_t tml_model_op_opcode(const tml_model_t *m, uint32_t i) {
    return m->ops[i].opcode;
}

uint32_t tml_model_op_output(const tml_model_t *m, uint32_t i) {
    return m->ops[i].operands[m->ops[i].input_count];
}

uint32_t tml_model_arena_size(const tml_model_t *m) {
    return m->header.arena_size;
}

const uint8_t *tml_model_meta(const tml_model_t *m, uint16_t type, uint32_t *length) {
    if (m->stage == 0 || m->header.meta_size == 0) {
        return 0;
    }
    const uint8_t *p = m->blob + m->header.meta_offset;
    uint32_t left = m->header.meta_size;
    /* The record lengths are the blob's, which may have changed since open:
     * every step is checked against the section open() checked. */
    while (left >= sizeof(tml_meta_t)) {
        const tml_meta_t *rec = (const tml_meta_t *)p;
        uint32_t body = rec->length;
        uint32_t step = ((uint32_t)sizeof(tml_meta_t) + body + 3u) & ~3u;
        if ((uint32_t)sizeof(tml_meta_t) + body > left) {
            return 0;
        }
        if (rec->type == type) {
            if (length) {
                *length = body;
            }
            return p + sizeof(tml_meta_t);
        }
        if (step >= left) {
            return 0;
        }
        p += step;
        left -= step;
    }
    return 0;
}

/* ---- open: header, CRC, sections ----------------------------------------- */

/* A section [offset, offset + size) of the blob: after the header, inside
 * total_size, aligned. Empty sections are allowed anywhere (never read). */
static tml_status_t tml_check_section(tml_model_t *m, uint32_t offset, uint64_t size,
    uint32_t align, const char *detail) {
    const tml_blob_header_t *h = &m->header;
    if (size == 0) {
        return TML_OK;
    }
    if (offset < h->header_size || (uint64_t)offset + size > h->total_size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, detail);
    }
    if (offset % align != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, detail);
    }
    return TML_OK;
}

static int tml_overlap(uint32_t a, uint64_t a_size, uint32_t b, uint64_t b_size) {
    if (a_size == 0 || b_size == 0) {
        return 0;
    }
    return (uint64_t)a < (uint64_t)b + b_size && (uint64_t)b < (uint64_t)a + a_size;
}

static tml_status_t tml_check_header(tml_model_t *m, const uint8_t *blob, uint32_t blob_size) {
    if (blob == 0 || ((uintptr_t)blob & 3u) != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, "blob not 4-byte aligned");
    }
    const tml_blob_header_t *in_blob = (const tml_blob_header_t *)blob;
    /* Magic and version first, so a foreign or newer file is named as such
     * even when its header is shorter or longer than ours. */
    if (blob_size < 4 || in_blob->magic != TML_BLOB_MAGIC) {
        return tml_load_fail(m, blob_size < 4 ? TML_ERR_TRUNCATED : TML_ERR_MAGIC,
            blob_size < 4 ? "blob shorter than the magic" : "not a tinyml blob");
    }
    if (blob_size < 8) {
        return tml_load_fail(m, TML_ERR_TRUNCATED, "blob shorter than the version");
    }
    const uint16_t version = in_blob->version;
    if (version > TML_BLOB_VERSION) {
        return tml_load_fail(m, TML_ERR_VERSION, "model format version newer than this runtime; update the firmware");
    }
    if (version < TML_BLOB_VERSION) {
        /* Format 1 kept no scratch for the kernels: its models need the
         * converter's new plan, not a guess at load. */
        return tml_load_fail(m, TML_ERR_VERSION,
            "model format version older than this runtime reads; re-convert it with tinyml convert");
    }
    if (blob_size < sizeof(tml_blob_header_t)) {
        return tml_load_fail(m, TML_ERR_TRUNCATED, "blob shorter than the header");
    }
    m->header = *in_blob;
    const tml_blob_header_t *h = &m->header;
    if (h->header_size != sizeof(tml_blob_header_t)) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "header_size is not 64");
    }
    if (h->total_size > blob_size) {
        return tml_load_fail(m, TML_ERR_TRUNCATED, "blob shorter than total_size");
    }
    if (h->total_size < h->header_size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "total_size smaller than the header");
    }
    if (tml_crc32(blob + 16, h->total_size - 16u) != h->crc32) {
        return tml_load_fail(m, TML_ERR_CRC, "CRC-32 mismatch: the model file is corrupted");
    }
    if (h->flags != 0 || h->reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "reserved header fields not 0");
    }
    return TML_OK;
}

static tml_status_t tml_check_sections(tml_model_t *m) {
    const tml_blob_header_t *h = &m->header;
    const uint64_t tensors_size = (uint64_t)h->tensor_count * sizeof(tml_blob_tensor_t);
    const uint64_t io_size = ((uint64_t)h->input_count + h->output_count) * 2u;
    tml_status_t s;

    if (h->input_count == 0 || h->output_count == 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "model without inputs or outputs");
    }
    s = tml_check_section(m, h->tensors_offset, tensors_size, 4, "tensor table outside the blob");
    if (s == TML_OK) {
        s = tml_check_section(m, h->io_offset, io_size, 4, "io table outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->ops_offset, h->ops_size, 4, "ops section outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->data_offset, h->data_size, 8, "data section outside the blob");
    }
    if (s == TML_OK) {
        s = tml_check_section(m, h->meta_offset, h->meta_size, 4, "metadata outside the blob");
    }
    if (s != TML_OK) {
        return s;
    }
    const uint32_t offsets[5] = {h->tensors_offset, h->io_offset, h->ops_offset, h->data_offset, h->meta_offset};
    const uint64_t sizes[5] = {tensors_size, io_size, h->ops_size, h->data_size, h->meta_size};
    for (int i = 0; i < 5; i++) {
        for (int j = i + 1; j < 5; j++) {
            if (tml_overlap(offsets[i], sizes[i], offsets[j], sizes[j])) {
                return tml_load_fail(m, TML_ERR_BAD_OFFSET, "sections overlap");
            }
        }
    }
    m->data = m->blob + h->data_offset;
    return TML_OK;
}

static tml_status_t tml_check_meta(tml_model_t *m) {
    const tml_blob_header_t *h = &m->header;
    const uint8_t *p = m->blob + h->meta_offset;
    uint32_t left = h->meta_size;
    while (left > 0) {
        if (left < sizeof(tml_meta_t)) {
            return tml_load_fail(m, TML_ERR_BAD_OFFSET, "metadata record header past the section");
        }
        const tml_meta_t *rec = (const tml_meta_t *)p;
        uint32_t used = (uint32_t)sizeof(tml_meta_t) + rec->length;
        if (used > left) {
            return tml_load_fail(m, TML_ERR_BAD_OFFSET, "metadata record past the section");
        }
        uint32_t step = (used + 3u) & ~3u;
        if (step >= left) {
            break;
        }
        p += step;
        left -= step;
    }
    return TML_OK;
}

/* Bytes of an op record's tensor index list, padded to 4. */
static uint32_t tml_record_index_bytes(uint32_t input_count, uint32_t output_count) {
    return ((input_count + output_count) * 2u + 3u) & ~3u;
}

/* The framing of op records: record i at pos is inside the ops section and
 * big enough for its header and index list (its params are load's to
 * check). Sets the error's op fields. */
static tml_status_t tml_record_at(tml_model_t *m, uint32_t i, uint32_t pos, tml_blob_op_t *rec) {
    const uint32_t ops_size = m->header.ops_size;
    m->error.op_index = (int32_t)i;
    m->error.opcode = 0;
    if (ops_size - pos < sizeof(tml_blob_op_t)) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op record past the ops section");
    }
    *rec = *(const tml_blob_op_t *)(m->blob + m->header.ops_offset + pos);
    m->error.opcode = rec->opcode;
    if (rec->size % 4 != 0 || rec->size > ops_size - pos) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op record size not a multiple of 4 or past the ops section");
    }
    if ((uint32_t)sizeof(tml_blob_op_t) + tml_record_index_bytes(rec->input_count, rec->output_count) > rec->size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op record smaller than its contents");
    }
    return TML_OK;
}

/* Walks the op records once for their operand count, which sizes the state. */
static tml_status_t tml_count_operands(tml_model_t *m) {
    uint32_t pos = 0;
    uint32_t operands = 0;
    for (uint32_t i = 0; i < m->header.op_count; i++) {
        tml_blob_op_t rec;
        tml_status_t s = tml_record_at(m, i, pos, &rec);
        if (s != TML_OK) {
            return s;
        }
        operands += (uint32_t)rec.input_count + rec.output_count;
        pos += rec.size;
    }
    if (pos != m->header.ops_size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "ops_size does not match the op records");
    }
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->operand_count = operands;
    return TML_OK;
}

static void tml_reset(tml_model_t *m, const uint8_t *blob, uint32_t blob_size) {
    m->blob = blob;
    m->blob_size = blob_size;
    m->operand_count = 0;
    m->has_reset_state = 0;
    m->has_external = 0;
    m->data = 0;
    m->tensors = 0;
    m->ops = 0;
    m->operands = 0;
    m->io = 0;
    m->arena = 0;
    m->arena_size = 0;
    m->stage = 0;
    m->error.status = TML_OK;
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->error.detail = "";
}

tml_status_t tml_model_open(tml_model_t *m, const uint8_t *blob, uint32_t blob_size) {
    tml_reset(m, blob, blob_size);
    tml_status_t s = tml_check_header(m, blob, blob_size);
    if (s == TML_OK) {
        s = tml_check_sections(m);
    }
    if (s == TML_OK) {
        s = tml_check_meta(m);
    }
    if (s == TML_OK) {
        s = tml_count_operands(m);
    }
    if (s == TML_OK) {
        m->stage = 1;
    }
    return s;
}

/* ---- load: the state ------------------------------------------------------ */

static uint32_t tml_align8(uint32_t n) {
    return (n + 7u) & ~7u;
}

/* Bytes of each part of the state, in order; counts are at most 65535
 * tensors and ops and 2^31 operands (the ops section's length bounds them),
 * so the sums stay far below 2^32. */
static uint32_t tml_state_tensors_bytes(const tml_model_t *m) {
    return tml_align8((uint32_t)m->header.tensor_count * (uint32_t)sizeof(tml_tensor_t));
}

static uint32_t tml_state_ops_bytes(const tml_model_t *m) {
    return tml_align8((uint32_t)m->header.op_count * (uint32_t)sizeof(tml_op_t));
}

uint32_t tml_model_state_size(const tml_model_t *m) {
    if (m->stage == 0) {
        return 0;
    }
    const uint32_t indices = m->operand_count + m->header.input_count + m->header.output_count;
    return tml_state_tensors_bytes(m) + tml_state_ops_bytes(m) + tml_align8(indices * 2u);
}

tml_status_t (tml_load_const)(tml_model_t *m, uint32_t offset, uint64_t bytes, uint32_t align,
    const char *detail, const void **out) {
    if (offset == TML_NONE || (uint64_t)offset + bytes > m->header.data_size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, detail);
    }
    if (offset % align != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, detail);
    }
    *out = m->data + offset;
    return TML_OK;
}

static tml_status_t tml_load_tensor(tml_model_t *m, const tml_blob_tensor_t *t, tml_tensor_t *out) {
    const tml_blob_header_t *h = &m->header;
    if (t->dtype >= TML_DTYPE_LIMIT || tml_dtype_size[t->dtype] == 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "unknown dtype");
    }
    if (t->rank < 1 || t->rank > TML_MAX_RANK) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "rank outside 1..4");
    }
    if ((t->flags & ~(TML_TENSOR_CONST | TML_TENSOR_STATE | TML_TENSOR_RESET | TML_TENSOR_EXTERNAL
            | TML_TENSOR_BAND)) != 0
        || ((t->flags & TML_TENSOR_RESET) != 0 && (t->flags & TML_TENSOR_STATE) == 0)) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "unknown tensor flags, or RESET without STATE");
    }
    const uint16_t placed = t->flags & (TML_TENSOR_CONST | TML_TENSOR_STATE | TML_TENSOR_EXTERNAL | TML_TENSOR_BAND);
    if ((placed & (placed - 1u)) != 0) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "tensor more than one of constant, state, external and band");
    }
    if ((t->flags & TML_TENSOR_STATE) != 0
        && ((t->flags & TML_TENSOR_CONST) != 0 || (t->dtype != TML_DTYPE_INT8 && t->dtype != TML_DTYPE_INT16))) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "state tensor is constant, or not int8 or int16");
    }
    const uint32_t size = tml_dtype_size[t->dtype];
    uint64_t bytes = size;
    for (int i = 0; i < TML_MAX_RANK; i++) {
        if (t->dims[i] < 1) {
            return tml_load_fail(m, TML_ERR_BAD_SHAPE, "dim < 1");
        }
        if (i < TML_MAX_RANK - t->rank && t->dims[i] != 1) {
            return tml_load_fail(m, TML_ERR_BAD_SHAPE, "dims not left-padded with 1s");
        }
        /* Checked every step, so the product never exceeds 2^31 * 2^31. */
        bytes *= (uint32_t)t->dims[i];
        if (bytes > INT32_MAX) {
            return tml_load_fail(m, TML_ERR_BAD_SHAPE, "tensor larger than 2^31 bytes");
        }
    }
    if (t->dtype == TML_DTYPE_INT8 && (t->zero_point < -128 || t->zero_point > 127)) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "zero point outside int8");
    }
    if (t->dtype == TML_DTYPE_INT16 && (t->zero_point < -32768 || t->zero_point > 32767)) {
        return tml_load_fail(m, TML_ERR_BAD_TENSOR, "zero point outside int16");
    }
    if (t->offset % size != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, "tensor offset not aligned to its element size");
    }
    const int is_const = (t->flags & TML_TENSOR_CONST) != 0;
    out->role = (t->flags & TML_TENSOR_EXTERNAL) ? TML_ROLE_EXTERNAL
        : (t->flags & TML_TENSOR_BAND) ? TML_ROLE_BAND : TML_ROLE_ARENA;
    /* An external tensor's offset names the model input it reads (tml_check_external()). */
    if (out->role == TML_ROLE_ARENA && (uint64_t)t->offset + bytes > (is_const ? h->data_size : h->arena_size)) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET,
            is_const ? "constant tensor outside data section" : "tensor outside the arena");
    }
    out->data = is_const ? (uint8_t *)(uintptr_t)(m->data + t->offset) : 0;
    out->dims.n = t->dims[0];
    out->dims.h = t->dims[1];
    out->dims.w = t->dims[2];
    out->dims.c = t->dims[3];
    out->offset = t->offset;
    /* A band's bytes are its stage's to set (tml_load_stages()). */
    out->bytes = out->role == TML_ROLE_BAND ? 0 : (uint32_t)bytes;
    out->scale = t->scale;
    out->zero_point = t->zero_point;
    out->dtype = t->dtype;
    out->rank = t->rank;
    out->is_const = (uint8_t)is_const;
    out->is_state = (uint8_t)((t->flags & TML_TENSOR_STATE) == 0 ? 0 : (t->flags & TML_TENSOR_RESET) ? 2 : 1);
    if (out->is_state == 2) {
        m->has_reset_state = 1;
    }
    if (out->role == TML_ROLE_EXTERNAL) {
        m->has_external = 1;
    }
    return TML_OK;
}

static tml_status_t tml_load_io(tml_model_t *m) {
    const uint16_t *in_blob = (const uint16_t *)(m->blob + m->header.io_offset);
    const uint32_t count = (uint32_t)m->header.input_count + m->header.output_count;
    for (uint32_t i = 0; i < count; i++) {
        const uint16_t index = in_blob[i];
        if (index >= m->header.tensor_count) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "model input/output index out of range");
        }
        if (m->tensors[index].is_const || m->tensors[index].is_state || m->tensors[index].role >= TML_ROLE_BAND) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "model input/output is a constant, state or band tensor");
        }
        if (m->tensors[index].role == TML_ROLE_EXTERNAL && i >= m->header.input_count) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "model output is external (only inputs can be)");
        }
        /* int16 for 16x8 models; an output may also be int32: the indices
         * of ARG_MAX / ARG_MIN; inputs and outputs of the scikit-learn ops
         * are float32 (whether they feed such an op is the op's operand check). */
        const uint8_t dtype = m->tensors[index].dtype;
        if (dtype != TML_DTYPE_INT8 && dtype != TML_DTYPE_INT16 && dtype != TML_DTYPE_FLOAT32
            && (i < m->header.input_count || dtype != TML_DTYPE_INT32)) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR,
                "model input is not int8, int16 or float32, or output not int8, int16, int32 or float32");
        }
        m->io[i] = index;
    }
    return TML_OK;
}

/* The op table's dtype rule for operand k (tml_operand_types_t); first is
 * the dtype of operand 0, which TML_OPERANDS_SAME holds the others to. */
static tml_status_t tml_check_operand_dtype(tml_model_t *m, uint8_t rule, uint32_t k, uint32_t input_count,
    uint8_t dtype, uint8_t first) {
    switch (rule) {
        case TML_OPERANDS_OWN:
            return TML_OK;
        case TML_OPERANDS_FLOAT32:
            return dtype == TML_DTYPE_FLOAT32 ? TML_OK
                : tml_load_fail(m, TML_ERR_BAD_TENSOR, "op operand is not float32");
        case TML_OPERANDS_INT16:
            return dtype == TML_DTYPE_INT16 ? TML_OK
                : tml_load_fail(m, TML_ERR_BAD_TENSOR, "op operand is not int16");
        case TML_OPERANDS_SAME:
            return (dtype == TML_DTYPE_INT8 || dtype == TML_DTYPE_INT16) && dtype == first ? TML_OK
                : tml_load_fail(m, TML_ERR_BAD_TENSOR, "op operands are not all int8 or all int16");
        case TML_OPERANDS_INT32_OUTPUT:
            if (k >= input_count) {
                return dtype == TML_DTYPE_INT32 ? TML_OK
                    : tml_load_fail(m, TML_ERR_BAD_TENSOR, "op output is not int32");
            }
            break;
        default:
            break;
    }
    return dtype == TML_DTYPE_INT8 ? TML_OK : tml_load_fail(m, TML_ERR_BAD_TENSOR, "op operand is not int8");
}

/* Record i at pos: its framing, arity and operands, then the op's own load.
 * *operands is where its operand list goes in the state, `room` entries
 * left there. */
static tml_status_t tml_load_op(tml_model_t *m, uint32_t i, uint32_t pos, uint16_t *operands,
    uint32_t room, tml_op_t *op, uint32_t *record_size) {
    tml_blob_op_t rec;
    tml_status_t s = tml_record_at(m, i, pos, &rec);
    if (s != TML_OK) {
        return s;
    }
    *record_size = rec.size;
    if (rec.opcode == 0 || rec.opcode >= TML_OP_COUNT_ || tml_op_defs[rec.opcode].load == 0) {
        return tml_load_fail(m, TML_ERR_UNSUPPORTED_OP, "unknown opcode, or an op this build leaves out");
    }
    const tml_op_def_t *def = &tml_op_defs[rec.opcode];
    if (rec.reserved != 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "op reserved byte not 0");
    }
    if (rec.input_count < def->inputs_min || rec.input_count > def->inputs_max
        || rec.output_count != def->outputs) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "wrong number of inputs or outputs for the op");
    }
    if (rec.params_size != def->params_size) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "params_size does not match the op");
    }
    const uint32_t index_bytes = tml_record_index_bytes(rec.input_count, rec.output_count);
    if ((uint32_t)sizeof(tml_blob_op_t) + index_bytes + rec.params_size > rec.size) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op record smaller than its contents");
    }
    const uint32_t count = (uint32_t)rec.input_count + rec.output_count;
    if (count > room) {
        /* Only if the blob changed between open and load. */
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op records changed during load");
    }
    const uint8_t *record = m->blob + m->header.ops_offset + pos;
    const uint16_t *indices = (const uint16_t *)(record + sizeof(tml_blob_op_t));
    for (uint32_t k = 0; k < count; k++) {
        const uint16_t index = indices[k];
        if (index >= m->header.tensor_count) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "op tensor index out of range");
        }
        const tml_tensor_t *t = &m->tensors[index];
        const tml_status_t dtype_status = tml_check_operand_dtype(m, def->operand_types & ~TML_SCRATCH_OPTIONAL, k, rec.input_count,
            t->dtype, m->tensors[indices[0]].dtype);
        if (dtype_status != TML_OK) {
            return dtype_status;
        }
        if (k >= rec.input_count && t->is_const) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "op output is a constant tensor");
        }
        operands[k] = index;
    }
    op->opcode = rec.opcode;
    op->input_count = rec.input_count;
    op->output_count = rec.output_count;
    op->members = 0;
    op->operands = operands;
    op->scratch = 0;
    op->scratch_offset = rec.scratch_offset;
    s = def->load(m, record + sizeof(tml_blob_op_t) + index_bytes, op);
    if (s != TML_OK) {
        return s;
    }
    if (rec.scratch_size != 0 && (rec.scratch_offset % 8u != 0
        || (uint64_t)rec.scratch_offset + rec.scratch_size > m->header.arena_size)) {
        return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op scratch outside the arena or not 8-byte aligned");
    }
    if (def->scratch_size != 0 && def->scratch_size(m, op) > rec.scratch_size) {
        if (!(def->operand_types & TML_SCRATCH_OPTIONAL)) {
            return tml_load_fail(m, TML_ERR_BAD_PARAM,
                "op scratch smaller than this firmware's kernel needs; re-convert the model");
        }
        rec.scratch_size = 0;
    }
    /* The kernels copy between their tensors and the scratch with memcpy. */
    for (uint32_t k = 0; k < count && rec.scratch_size != 0; k++) {
        const tml_tensor_t *t = &m->tensors[operands[k]];
        if (!t->is_const && t->role != TML_ROLE_EXTERNAL
            && tml_overlap(rec.scratch_offset, rec.scratch_size, t->offset, t->bytes)) {
            return tml_load_fail(m, TML_ERR_BAD_OFFSET, "op scratch overlaps one of its tensors");
        }
    }
    if (rec.scratch_size == 0) {
        op->scratch_offset = TML_NONE;
    }
    return TML_OK;
}

/* External tensors are model inputs, and nothing writes them: the caller's
 * buffer is only read. */
static tml_status_t tml_check_external(tml_model_t *m) {
    for (uint32_t k = 0; k < m->header.input_count; k++) {
        const tml_tensor_t *in = &m->tensors[m->io[k]];
        if (in->role == TML_ROLE_EXTERNAL && in->offset != k) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "external model input whose offset is not its input index");
        }
    }
    /* Any other external tensor is another name (a reshape) of the input its
     * offset names: bound with it, so of its dtype and size. */
    for (uint32_t i = 0; i < m->header.tensor_count; i++) {
        const tml_tensor_t *t = &m->tensors[i];
        if (t->role != TML_ROLE_EXTERNAL) {
            continue;
        }
        const tml_tensor_t *in = t->offset < m->header.input_count ? &m->tensors[m->io[t->offset]] : 0;
        if (in == 0 || in->role != TML_ROLE_EXTERNAL || in->offset != t->offset || in->dtype != t->dtype
            || in->bytes != t->bytes) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR,
                "external tensor that is no model input nor of the dtype and size of the external input it names");
        }
    }
    for (uint32_t i = 0; i < m->header.op_count; i++) {
        const tml_op_t *op = &m->ops[i];
        for (uint32_t k = op->input_count; k < (uint32_t)op->input_count + op->output_count; k++) {
            if (m->tensors[op->operands[k]].role == TML_ROLE_EXTERNAL) {
                m->error.op_index = (int32_t)i;
                m->error.opcode = op->opcode;
                return tml_load_fail(m, TML_ERR_BAD_TENSOR, "op writes an external input");
            }
        }
    }
    return TML_OK;
}

tml_status_t tml_model_load(tml_model_t *m, void *state, uint32_t state_size) {
    if (m->stage != 1) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "model not opened, or already loaded");
    }
    if (state == 0 || ((uintptr_t)state & 7u) != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, "state not 8-byte aligned");
    }
    if (state_size < tml_model_state_size(m)) {
        return tml_load_fail(m, TML_ERR_ARENA_TOO_SMALL, "state smaller than tml_model_state_size()");
    }
    const tml_blob_header_t *h = &m->header;
    uint8_t *p = (uint8_t *)state;
    m->tensors = (tml_tensor_t *)p;
    p += tml_state_tensors_bytes(m);
    m->ops = (tml_op_t *)(void *)p;
    p += tml_state_ops_bytes(m);
    m->operands = (uint16_t *)(void *)p;
    m->io = m->operands + m->operand_count;

    const tml_blob_tensor_t *tensors = (const tml_blob_tensor_t *)(m->blob + h->tensors_offset);
    tml_status_t s = TML_OK;
    for (uint32_t i = 0; i < h->tensor_count && s == TML_OK; i++) {
        s = tml_load_tensor(m, &tensors[i], &m->tensors[i]);
    }
    if (s == TML_OK) {
        s = tml_load_io(m);
    }
    uint32_t pos = 0;
    uint32_t used = 0;
    for (uint32_t i = 0; i < h->op_count && s == TML_OK; i++) {
        uint32_t size = 0;
        s = tml_load_op(m, i, pos, m->operands + used, m->operand_count - used, &m->ops[i], &size);
        if (s == TML_OK) {
            used += (uint32_t)m->ops[i].input_count + m->ops[i].output_count;
            pos += size;
        }
    }
    if (s == TML_OK) {
        s = tml_load_stages(m);
    }
    if (s == TML_OK) {
        s = tml_check_external(m);
    }
    if (s != TML_OK) {
        m->stage = 0;
        return s;
    }
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->stage = 2;
    return TML_OK;
}

tml_status_t tml_model_set_arena(tml_model_t *m, uint8_t *arena, uint32_t arena_size) {
    if (m->stage != 2) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "model not loaded");
    }
    if (arena == 0 || ((uintptr_t)arena & 7u) != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, "arena not 8-byte aligned");
    }
    if (arena_size < m->header.arena_size) {
        return tml_load_fail(m, TML_ERR_ARENA_TOO_SMALL, "arena smaller than the model's arena_size");
    }
    for (uint32_t i = 0; i < m->header.tensor_count; i++) {
        tml_tensor_t *t = &m->tensors[i];
        if (!t->is_const) {
            t->data = t->role == TML_ROLE_EXTERNAL ? 0 : arena + t->offset;
        }
    }
    for (uint32_t i = 0; i < m->header.op_count; i++) {
        tml_op_t *op = &m->ops[i];
        op->scratch = op->scratch_offset == TML_NONE ? 0 : arena + op->scratch_offset;
    }
    m->arena = arena;
    m->arena_size = arena_size;
    return tml_model_reset_state(m);
}

/* State tensors with is_state >= level back to TFLite's start value. */
static void tml_reset_states(tml_model_t *m, uint8_t level) {
    for (uint32_t i = 0; i < m->header.tensor_count; i++) {
        const tml_tensor_t *t = &m->tensors[i];
        if (t->is_state >= level) {
            memset(t->data, t->dtype == TML_DTYPE_INT8 ? (int)(int8_t)t->zero_point : 0, t->bytes);
        }
    }
}

tml_status_t tml_model_reset_state(tml_model_t *m) {
    if (m->stage != 2 || m->arena == 0) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "model not loaded, or no arena set");
    }
    tml_reset_states(m, 1);
    return TML_OK;
}

/* ---- invoke --------------------------------------------------------------- */

/* The external tensors reading input `input` (every one for TML_NONE) point at data. */
static void tml_bind_external(tml_model_t *m, uint32_t input, uint8_t *data) {
    for (uint32_t i = 0; i < m->header.tensor_count; i++) {
        tml_tensor_t *t = &m->tensors[i];
        if (t->role == TML_ROLE_EXTERNAL && (input == TML_NONE || t->offset == input)) {
            t->data = data;
        }
    }
}

tml_status_t tml_model_invoke(tml_model_t *m) {
    if (m->stage != 2) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "model not loaded");
    }
    if (m->arena == 0) {
        return tml_load_fail(m, TML_ERR_ARENA_TOO_SMALL, "no arena set");
    }
    m->error.status = TML_OK;
    m->error.op_index = -1;
    m->error.opcode = 0;
    m->error.detail = "";
    for (uint32_t i = 0; m->has_external && i < m->header.input_count; i++) {
        if (m->tensors[m->io[i]].role == TML_ROLE_EXTERNAL && m->tensors[m->io[i]].data == 0) {
            return tml_load_fail(m, TML_ERR_BAD_TENSOR, "external model input not bound (tml_model_bind_input)");
        }
    }
    if (m->has_reset_state) {
        tml_reset_states(m, 2);
    }
    const tml_op_t *op = m->ops;
    for (uint32_t i = 0; i < m->header.op_count; i++, op++) {
        tml_op_defs[op->opcode].run(m, op);
        i += op->members;
        op += op->members;
    }
    /* The caller's buffers are ours for this invoke only. */
    if (m->has_external) {
        tml_bind_external(m, TML_NONE, 0);
    }
    return TML_OK;
}

int tml_model_input_is_external(const tml_model_t *m, uint32_t input) {
    return m->tensors[m->io[input]].role == TML_ROLE_EXTERNAL;
}

tml_status_t tml_model_bind_input(tml_model_t *m, uint32_t input, const void *data, uint32_t bytes) {
    if (m->stage != 2 || m->arena == 0 || input >= m->header.input_count) {
        return tml_load_fail(m, TML_ERR_BAD_PARAM, "model not loaded, no arena set, or no such input");
    }
    tml_tensor_t *t = &m->tensors[m->io[input]];
    if (bytes != t->bytes) {
        return tml_load_fail(m, TML_ERR_BAD_SHAPE, "input buffer not the input tensor's size");
    }
    if (t->role != TML_ROLE_EXTERNAL) {
        memcpy(t->data, data, bytes);
        return TML_OK;
    }
    if (((uintptr_t)data & 7u) != 0) {
        return tml_load_fail(m, TML_ERR_ALIGNMENT, "input buffer not 8-byte aligned (the model reads it in place)");
    }
    tml_bind_external(m, input, (uint8_t *)(uintptr_t)data);
    return TML_OK;
}
