/*
 * _tinyml: the MicroPython binding of the portable tinyml core.
 *
 * This file and modtinyml_audio.c are the only ones that include MicroPython
 * headers. It turns core status codes into exceptions, owns the model's
 * state and arena and keeps the model buffer alive; everything numeric happens in the tml_* core. The friendly API
 * (tinyml.load, Model.predict, shapes, labels) lives in python_lib/tinyml.
 *
 * The same file builds the native module (usermod_c/natmod/): there the ROM
 * tables and MP_REGISTER_MODULE are left out (#if !MICROPY_ENABLE_DYNRUNTIME)
 * and tinyml_natmod.c fills RAM copies in mpy_init, both from the lists in
 * modtinyml.h. AudioFeatures is in modtinyml_audio.c.
 */
#include <math.h>
#include <string.h>

#include "py/runtime.h"
#include "py/obj.h"
#include "py/binary.h"
#include "py/objstr.h"

#include "modtinyml.h"
#include "tml_arch.h"
#include "tml_model.h"

#define TINYML_CORE_VERSION "0.1.0"

// bytes report 'B', bytearray BYTEARRAY_TYPECODE, array('b') 'b': all int8-sized.
static bool tinyml_is_byte_buffer(const mp_buffer_info_t *buf) {
    return buf->typecode == 'b' || buf->typecode == 'B' || buf->typecode == BYTEARRAY_TYPECODE;
}

typedef struct _tinyml_model_obj_t {
    mp_obj_base_t base;
    mp_obj_t blob_obj;     // the caller's buffer, kept alive while we point into it
    uint8_t *blob_copy;    // our own aligned copy when the caller's buffer was unaligned
    uint8_t *state;        // what invoke trusts: tensors and ops, built from the blob at load
    uint8_t *arena_alloc;  // start of the GC block, so the collector sees the arena as used
    size_t arena_alloc_size;
    bool closed;
    tml_model_t core;
} tinyml_model_obj_t;

static NORETURN void tinyml_raise_error(const tml_model_t *core) {
    const tml_error_t *e = &core->error;
    const char *detail = e->detail ? e->detail : "";
    // A terse build (TML_TERSE_ERRORS) has no sentences: no dangling colon then.
    const char *sep = detail[0] ? ": " : "";
    if (e->status == TML_ERR_ARENA_TOO_SMALL) {
        mp_raise_msg_varg(&mp_type_MemoryError, MP_ERROR_TEXT("tinyml: %s%s%s"),
            tml_status_str(e->status), sep, detail);
    }
    if (e->op_index >= 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: op %d (%s): %s%s%s"),
            (int)e->op_index, tml_opcode_name(e->opcode), tml_status_str(e->status), sep, detail);
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: invalid model: %s%s%s"),
        tml_status_str(e->status), sep, detail);
}

static tinyml_model_obj_t *tinyml_get_open_model(mp_obj_t self_in) {
    tinyml_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->closed) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: model is closed"));
    }
    return self;
}

static mp_obj_t tinyml_model_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_buffer_info_t blob;
    mp_get_buffer_raise(args[0], &blob, MP_BUFFER_READ);

    tinyml_model_obj_t *self = mp_obj_malloc(tinyml_model_obj_t, type);
    self->blob_obj = args[0];
    self->blob_copy = NULL;
    self->state = NULL;
    self->arena_alloc = NULL;
    self->arena_alloc_size = 0;
    self->closed = false;

    const uint8_t *blob_data = blob.buf;
    // The core reads int32 fields in place; Cortex-M0 faults on unaligned
    // word loads, so an unaligned buffer (e.g. a memoryview slice) is copied
    // once. GC blocks are always aligned, so the copy is.
    if (((uintptr_t)blob_data & 3) != 0) {
        self->blob_copy = m_new(uint8_t, blob.len);
        memcpy(self->blob_copy, blob.buf, blob.len);
        blob_data = self->blob_copy;
    }
    if (blob.len > UINT32_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: model buffer larger than 4 GB"));
    }
    if (tml_model_open(&self->core, blob_data, (uint32_t)blob.len) != TML_OK) {
        tinyml_raise_error(&self->core);
    }
    // GC blocks are at least 8-byte aligned, as the state needs.
    uint32_t state_size = tml_model_state_size(&self->core);
    self->state = m_malloc_maybe(state_size);
    if (self->state == NULL) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("tinyml: the model's tensor and op tables need %u bytes, which do not fit in the heap"),
            (unsigned)state_size);
    }
    if (tml_model_load(&self->core, self->state, state_size) != TML_OK) {
        tinyml_raise_error(&self->core);
    }

    uint32_t arena_size = tml_model_arena_size(&self->core);
    size_t alloc_size = (size_t)arena_size + 8;
    // On a 32-bit port a hostile arena_size near 4 GB wraps alloc_size to a
    // few bytes, which the heap would happily give: refuse it as too big.
    self->arena_alloc = alloc_size > arena_size ? m_malloc_maybe(alloc_size) : NULL;
    if (self->arena_alloc == NULL) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("tinyml: the model needs a %u byte arena, which does not fit in the heap"),
            (unsigned)arena_size);
    }
    self->arena_alloc_size = alloc_size;
    uint8_t *arena = (uint8_t *)(((uintptr_t)self->arena_alloc + 7) & ~(uintptr_t)7);
    if (tml_model_set_arena(&self->core, arena, arena_size) != TML_OK) {
        tinyml_raise_error(&self->core);
    }
    return MP_OBJ_FROM_PTR(self);
}

// An input or output's array typecode: 'b', 'h' for 16x8 models, 'i' for
// the int32 indices of ARG_MAX / ARG_MIN, 'f' for the float32 tensors of
// scikit-learn models.
static char tinyml_typecode(const tml_tensor_t *t) {
    return t->dtype == TML_DTYPE_INT32 ? 'i' : t->dtype == TML_DTYPE_FLOAT32 ? 'f'
        : t->dtype == TML_DTYPE_INT16 ? 'h' : 'b';
}

static void tinyml_copy_in(tinyml_model_obj_t *self, uint32_t input, mp_obj_t buf_obj) {
    uint32_t index = tml_model_input_index(&self->core, input);
    uint32_t nbytes = tml_model_tensor_bytes(&self->core, index);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_obj, &buf, MP_BUFFER_READ);
    // A float32 (int16) input also takes an array('f') (array('h')); its
    // length is still counted in bytes.
    const char typecode = tinyml_typecode(tml_model_tensor(&self->core, index));
    if (!tinyml_is_byte_buffer(&buf) && !(typecode != 'b' && buf.typecode == typecode)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            typecode == 'f' ? MP_ERROR_TEXT("tinyml: input %u must be an array('f') or its bytes, got typecode '%c'")
            : typecode == 'h' ? MP_ERROR_TEXT("tinyml: input %u must be an array('h') or its bytes, got typecode '%c'")
                     : MP_ERROR_TEXT("tinyml: input %u must be an int8 buffer (bytes, bytearray, array('b')), got typecode '%c'"),
            (unsigned)input, buf.typecode);
    }
    if (buf.len != nbytes) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: input %u: expected %u bytes, got %u"),
            (unsigned)input, (unsigned)nbytes, (unsigned)buf.len);
    }
    // An external input (convert --ram-budget) is read in place during this
    // invoke; the others are copied into the arena.
    if (tml_model_bind_input(&self->core, input, buf.buf, nbytes) != TML_OK) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: input %u is read in place and must start at an 8-byte aligned address "
                "(a bytearray or array does)"), (unsigned)input);
    }
}

static void tinyml_copy_out(tinyml_model_obj_t *self, uint32_t output, mp_obj_t buf_obj) {
    uint32_t index = tml_model_output_index(&self->core, output);
    uint32_t nbytes = tml_model_tensor_bytes(&self->core, index);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_obj, &buf, MP_BUFFER_WRITE);
    // An int32 (float32, int16) output also fills an array('i') (array('f'),
    // array('h')); its length is still counted in bytes.
    const char typecode = tinyml_typecode(tml_model_tensor(&self->core, index));
    const bool int32_out = typecode == 'i';
    if (!tinyml_is_byte_buffer(&buf) && !(typecode != 'b' && buf.typecode == typecode)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            int32_out ? MP_ERROR_TEXT("tinyml: output %u must be a bytearray or array('i'), got typecode '%c'")
            : typecode == 'f' ? MP_ERROR_TEXT("tinyml: output %u must be a bytearray or array('f'), got typecode '%c'")
            : typecode == 'h' ? MP_ERROR_TEXT("tinyml: output %u must be a bytearray or array('h'), got typecode '%c'")
                      : MP_ERROR_TEXT("tinyml: output %u must be an int8 buffer (bytearray, array('b')), got typecode '%c'"),
            (unsigned)output, buf.typecode);
    }
    if (buf.len != nbytes) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: output %u: expected %u bytes, got %u"),
            (unsigned)output, (unsigned)nbytes, (unsigned)buf.len);
    }
    memcpy(buf.buf, tml_model_tensor_data(&self->core, index), nbytes);
}

// Several inputs or outputs travel as a tuple or list of exactly that many buffers.
static mp_obj_t *tinyml_get_items(mp_obj_t obj, uint32_t count, const char *what) {
    size_t len;
    mp_obj_t *items;
    if (!mp_obj_is_type(obj, &mp_type_tuple) && !mp_obj_is_type(obj, &mp_type_list)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("tinyml: this model has %u %ss: pass a tuple of buffers"),
            (unsigned)count, what);
    }
    mp_obj_get_array(obj, &len, &items);
    if (len != count) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: expected %u %ss, got %u"),
            (unsigned)count, what, (unsigned)len);
    }
    return items;
}

// invoke(inp, out=None): raw int8 tensors in, raw tensors out (int8, or
// little-endian int32 for ARG_MAX / ARG_MIN indices).
static mp_obj_t tinyml_model_invoke(size_t n_args, const mp_obj_t *args) {
    tinyml_model_obj_t *self = tinyml_get_open_model(args[0]);
    mp_obj_t out_obj = n_args > 2 ? args[2] : mp_const_none;
    uint32_t n_in = tml_model_input_count(&self->core);
    uint32_t n_out = tml_model_output_count(&self->core);

    if (n_in == 1) {
        tinyml_copy_in(self, 0, args[1]);
    } else {
        mp_obj_t *items = tinyml_get_items(args[1], n_in, "input");
        for (uint32_t i = 0; i < n_in; i++) {
            tinyml_copy_in(self, i, items[i]);
        }
    }
    // Validate `out` before running so a bad argument costs no inference.
    mp_obj_t *out_items = NULL;
    if (out_obj != mp_const_none && n_out > 1) {
        out_items = tinyml_get_items(out_obj, n_out, "output");
    }

    if (tml_model_invoke(&self->core) != TML_OK) {
        tinyml_raise_error(&self->core);
    }

    if (out_obj == mp_const_none) {
        mp_obj_t results[n_out];
        for (uint32_t i = 0; i < n_out; i++) {
            uint32_t index = tml_model_output_index(&self->core, i);
            results[i] = mp_obj_new_bytearray(tml_model_tensor_bytes(&self->core, index),
                tml_model_tensor_data(&self->core, index));
        }
        return n_out == 1 ? results[0] : mp_obj_new_tuple(n_out, results);
    }
    if (n_out == 1) {
        tinyml_copy_out(self, 0, out_obj);
    } else {
        for (uint32_t i = 0; i < n_out; i++) {
            tinyml_copy_out(self, i, out_items[i]);
        }
    }
    return out_obj;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(tinyml_model_invoke_obj, 2, 3, tinyml_model_invoke);

// reset(): the model's state (an LSTM's output and cell state, which carry
// over from one invoke to the next) back to its start.
static mp_obj_t tinyml_model_reset(mp_obj_t self_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    if (tml_model_reset_state(&self->core) != TML_OK) {
        tinyml_raise_error(&self->core);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_reset_obj, tinyml_model_reset);

// A tensor's shape at its original rank, batch included.
static mp_obj_t tinyml_shape(const tml_tensor_t *t) {
    const int32_t dims[TML_RANK] = { t->dims.n, t->dims.h, t->dims.w, t->dims.c };
    mp_obj_t shape[TML_RANK];
    for (int d = 0; d < t->rank; d++) {
        shape[d] = mp_obj_new_int(dims[TML_RANK - t->rank + d]);
    }
    return mp_obj_new_tuple(t->rank, shape);
}

// tensor(kind, i) -> (shape, scale, zero_point, nbytes, typecode); kind 0 =
// input, 1 = output; typecode is the array typecode of its elements, 'b', 'h', 'i' or 'f'.
static mp_obj_t tinyml_model_tensor(mp_obj_t self_in, mp_obj_t kind_in, mp_obj_t i_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    mp_int_t kind = mp_obj_get_int(kind_in);
    mp_int_t i = mp_obj_get_int(i_in);
    uint32_t count = kind == 0 ? tml_model_input_count(&self->core) : tml_model_output_count(&self->core);
    if ((kind != 0 && kind != 1) || i < 0 || (uint32_t)i >= count) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: no such tensor"));
    }
    uint32_t index = kind == 0 ? tml_model_input_index(&self->core, (uint32_t)i)
                               : tml_model_output_index(&self->core, (uint32_t)i);
    const tml_tensor_t *t = tml_model_tensor(&self->core, index);
    const char typecode = tinyml_typecode(t);
    mp_obj_t info[5] = {
        tinyml_shape(t),
        mp_obj_new_float((mp_float_t)t->scale),
        mp_obj_new_int(t->zero_point),
        mp_obj_new_int_from_uint(tml_model_tensor_bytes(&self->core, index)),
        mp_obj_new_str(&typecode, 1),
    };
    return mp_obj_new_tuple(5, info);
}
static MP_DEFINE_CONST_FUN_OBJ_3(tinyml_model_tensor_obj, tinyml_model_tensor);

// io_count() -> (inputs, outputs)
static mp_obj_t tinyml_model_io_count(mp_obj_t self_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    mp_obj_t counts[2] = {
        MP_OBJ_NEW_SMALL_INT(tml_model_input_count(&self->core)),
        MP_OBJ_NEW_SMALL_INT(tml_model_output_count(&self->core)),
    };
    return mp_obj_new_tuple(2, counts);
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_io_count_obj, tinyml_model_io_count);

static mp_obj_t tinyml_model_arena_size(mp_obj_t self_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    return mp_obj_new_int_from_uint(tml_model_arena_size(&self->core));
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_arena_size_obj, tinyml_model_arena_size);

// in_place() -> True when the model reads its weights from the caller's
// buffer (flash, for a ROMFS file), False when load had to copy an
// unaligned buffer into the heap.
static mp_obj_t tinyml_model_in_place(mp_obj_t self_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    return mp_obj_new_bool(self->blob_copy == NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_in_place_obj, tinyml_model_in_place);

// ops() -> [(op name, output shape, output bytes)] in execution order, from
// the tables load() built (the blob itself is not read again).
static mp_obj_t tinyml_model_ops(mp_obj_t self_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    uint32_t count = tml_model_op_count(&self->core);
    mp_obj_t rows = mp_obj_new_list(0, NULL);
    for (uint32_t i = 0; i < count; i++) {
        const char *name = tml_opcode_name(tml_model_op_opcode(&self->core, i));
        uint32_t out = tml_model_op_output(&self->core, i);
        mp_obj_t row[3] = {
            mp_obj_new_str(name, strlen(name)),
            tinyml_shape(tml_model_tensor(&self->core, out)),
            mp_obj_new_int_from_uint(tml_model_tensor_bytes(&self->core, out)),
        };
        mp_obj_list_append(rows, mp_obj_new_tuple(3, row));
    }
    return rows;
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_ops_obj, tinyml_model_ops);

// meta(type) -> bytes, or None when the blob has no such record.
static mp_obj_t tinyml_model_meta(mp_obj_t self_in, mp_obj_t type_in) {
    tinyml_model_obj_t *self = tinyml_get_open_model(self_in);
    uint32_t length = 0;
    const uint8_t *data = tml_model_meta(&self->core, (uint16_t)mp_obj_get_int(type_in), &length);
    if (data == NULL) {
        return mp_const_none;
    }
    return mp_obj_new_bytes(data, length);
}
static MP_DEFINE_CONST_FUN_OBJ_2(tinyml_model_meta_obj, tinyml_model_meta);

// close(): give the arena back now rather than at the next collection.
static mp_obj_t tinyml_model_close(mp_obj_t self_in) {
    tinyml_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!self->closed) {
        m_del(uint8_t, self->arena_alloc, self->arena_alloc_size);
        self->arena_alloc = NULL;
        self->state = NULL;
        self->blob_copy = NULL;
        self->blob_obj = mp_const_none;
        self->closed = true;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_close_obj, tinyml_model_close);

#if !MICROPY_ENABLE_DYNRUNTIME
static const mp_rom_map_elem_t tinyml_model_locals_table[] = {
    TINYML_MODEL_METHODS(TINYML_ROM_ENTRY)
};
static MP_DEFINE_CONST_DICT(tinyml_model_locals_dict, tinyml_model_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    tinyml_model_type,
    MP_QSTR_Model,
    MP_TYPE_FLAG_NONE,
    make_new, tinyml_model_make_new,
    locals_dict, &tinyml_model_locals_dict
    );
#endif

// The armv6m native module cannot link libgcc's soft-float division (the
// mpy_ld of MicroPython 1.25 rejects its jump table): tinyml_natmod.c then
// supplies a tinyml_divide that has the firmware divide.
#ifndef tinyml_divide
#define tinyml_divide(a, b) ((a) / (b))
#endif

// Round half away from zero, as C's round() and TFLite's QUANTIZE do, but
// without libm, which the native module does not link. Values beyond +-2^17
// saturate int16 (and int8) whatever the zero point, so they are clamped
// first to keep the conversion defined; truncation toward zero is then exact
// and so is the remainder q - t.
static mp_int_t tinyml_round(mp_float_t q) {
    if (q > 131072) {
        q = 131072;
    } else if (q < -131072) {
        q = -131072;
    }
    mp_int_t t = (mp_int_t)q;
    mp_float_t rest = q - (mp_float_t)t;
    if (rest >= (mp_float_t)0.5) {
        t += 1;
    } else if (rest <= (mp_float_t)-0.5) {
        t -= 1;
    }
    return t;
}

// quantize(values, scale, zero_point, out): floats (any iterable or
// array('f')) to int8 into `out` (to int16 when `out` is an array('h')),
// rounding half away from zero as TFLite's QUANTIZE does. Non-finite values
// are refused rather than saturated.
static mp_obj_t tinyml_quantize(size_t n_args, const mp_obj_t *args) {
    mp_float_t scale = mp_obj_get_float(args[1]);
    mp_int_t zero_point = mp_obj_get_int(args[2]);
    mp_buffer_info_t out;
    mp_get_buffer_raise(args[3], &out, MP_BUFFER_WRITE);
    const bool wide = out.typecode == 'h';
    if (!tinyml_is_byte_buffer(&out) && !wide) {
        mp_raise_TypeError(MP_ERROR_TEXT("tinyml: quantize output must be an int8 buffer or an array('h')"));
    }
    if (!(scale > 0)) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: scale must be positive"));
    }
    const mp_int_t lo = wide ? -32768 : -128;
    const mp_int_t hi = wide ? 32767 : 127;
    if (zero_point < lo || zero_point > hi) {
        mp_raise_ValueError(wide ? MP_ERROR_TEXT("tinyml: an int16 zero point must be in -32768..32767")
            : MP_ERROR_TEXT("tinyml: an int8 zero point must be in -128..127"));
    }
    const size_t count = wide ? out.len / 2 : out.len;
    size_t n = 0;
    mp_obj_iter_buf_t iter_buf;
    mp_obj_t iterable = mp_getiter(args[0], &iter_buf);
    mp_obj_t item;
    while ((item = mp_iternext(iterable)) != MP_OBJ_STOP_ITERATION) {
        if (n >= count) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: expected %u values, got more"),
                (unsigned)count);
        }
        if (!mp_obj_is_int(item) && !mp_obj_is_float(item)) {
            mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("tinyml: value %u is not a number"), (unsigned)n);
        }
        mp_float_t v = mp_obj_get_float(item);
        if (isnan(v) || isinf(v)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: value %u is not finite"), (unsigned)n);
        }
        // In float32, as TFLite's QUANTIZE divides, whatever mp_float_t is
        // here: a double quotient can round the other way at a tie.
        float quotient = tinyml_divide((float)v, (float)scale);
        mp_int_t q = tinyml_round(quotient) + zero_point;
        q = q < lo ? lo : (q > hi ? hi : q);
        if (wide) {
            ((int16_t *)out.buf)[n++] = (int16_t)q;
        } else {
            ((int8_t *)out.buf)[n++] = (int8_t)q;
        }
    }
    if (n != count) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: expected %u values, got %u"),
            (unsigned)count, (unsigned)n);
    }
    return args[3];
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(tinyml_quantize_obj, 4, 4, tinyml_quantize);

// dequantize(raw, scale, zero_point, out): int8 buffer (or array('h') of
// int16) to array('f') `out`.
static mp_obj_t tinyml_dequantize(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t raw;
    mp_get_buffer_raise(args[0], &raw, MP_BUFFER_READ);
    mp_float_t scale = mp_obj_get_float(args[1]);
    mp_int_t zero_point = mp_obj_get_int(args[2]);
    mp_buffer_info_t out;
    mp_get_buffer_raise(args[3], &out, MP_BUFFER_WRITE);
    const bool wide = raw.typecode == 'h';
    const size_t count = wide ? raw.len / 2 : raw.len;
    if (out.typecode != 'f' || out.len != count * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: dequantize output must be an array('f') of the same length"));
    }
    float *dst = out.buf;
    for (size_t i = 0; i < count; i++) {
        const mp_int_t v = wide ? ((const int16_t *)raw.buf)[i] : ((const int8_t *)raw.buf)[i];
        dst[i] = (float)((mp_float_t)(v - zero_point) * scale);
    }
    return args[3];
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(tinyml_dequantize_obj, 4, 4, tinyml_dequantize);

// build_info() -> dict: what this firmware's core was compiled for; "arch"
// is the kernels' architecture path (TML_ARCH_NAME).
static mp_obj_t tinyml_build_info(void) {
    mp_obj_t info = mp_obj_new_dict(4);
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_version), mp_obj_new_str(TINYML_CORE_VERSION, strlen(TINYML_CORE_VERSION)));
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_format), MP_OBJ_NEW_SMALL_INT(TML_BLOB_VERSION));
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_arch), mp_obj_new_str(TML_ARCH_NAME, strlen(TML_ARCH_NAME)));
    #if defined(__OPTIMIZE_SIZE__)
    const char *opt = "size";
    #elif defined(__OPTIMIZE__)
    const char *opt = "speed";
    #else
    const char *opt = "none";
    #endif
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_optimize), mp_obj_new_str(opt, strlen(opt)));
    // Opcode numbers may have gaps (each op family has its own range); a
    // gap is named like opcode 0, which is never an op (the same string).
    const char *unknown = tml_opcode_name(0);
    mp_obj_t ops[TML_OP_COUNT_ - 1];
    size_t n_ops = 0;
    for (int op = 1; op < TML_OP_COUNT_; op++) {
        const char *name = tml_opcode_name((uint8_t)op);
        if (name != unknown) {
            ops[n_ops++] = mp_obj_new_str(name, strlen(name));
        }
    }
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_ops), mp_obj_new_tuple(n_ops, ops));
    return info;
}
static MP_DEFINE_CONST_FUN_OBJ_0(tinyml_build_info_obj, tinyml_build_info);


#if !MICROPY_ENABLE_DYNRUNTIME
static const mp_rom_map_elem_t tinyml_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__tinyml) },
    { MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&tinyml_model_type) },
    { MP_ROM_QSTR(MP_QSTR_AudioFeatures), MP_ROM_PTR(&tinyml_audio_type) },
    { MP_ROM_QSTR(MP_QSTR_FORMAT_VERSION), MP_ROM_INT(TML_BLOB_VERSION) },
    TINYML_MODULE_FUNCTIONS(TINYML_ROM_ENTRY)
};
static MP_DEFINE_CONST_DICT(tinyml_module_globals, tinyml_module_globals_table);

const mp_obj_module_t tinyml_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&tinyml_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__tinyml, tinyml_user_cmodule);
#endif
