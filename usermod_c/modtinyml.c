/*
 * _tinyml: the MicroPython binding of the portable tinyml core.
 *
 * This is the only file that includes MicroPython headers. It turns core
 * status codes into exceptions, owns the arena and keeps the model buffer
 * alive; everything numeric happens in the tml_* core. The friendly API
 * (tinyml.load, Model.predict, shapes, labels) lives in python_lib/tinyml.
 *
 * The same file builds the native module (usermod_c/natmod/): there the ROM
 * tables and MP_REGISTER_MODULE are left out (#if !MICROPY_ENABLE_DYNRUNTIME)
 * and tinyml_natmod.c fills RAM copies in mpy_init.
 */
#include <math.h>
#include <string.h>

#include "py/runtime.h"
#include "py/obj.h"
#include "py/binary.h"
#include "py/objstr.h"

#include "tml_model.h"
#include "tml_features.h"

#define TINYML_CORE_VERSION "0.1.0"

// In the native module qstrs are looked up when it is loaded, so tables that
// name them cannot be static constants there.
#if MICROPY_ENABLE_DYNRUNTIME
#define TINYML_ARG_TABLE const
#else
#define TINYML_ARG_TABLE static const
#endif

// bytes report 'B', bytearray BYTEARRAY_TYPECODE, array('b') 'b': all int8-sized.
static bool tinyml_is_byte_buffer(const mp_buffer_info_t *buf) {
    return buf->typecode == 'b' || buf->typecode == 'B' || buf->typecode == BYTEARRAY_TYPECODE;
}

typedef struct _tinyml_model_obj_t {
    mp_obj_base_t base;
    mp_obj_t blob_obj;     // the caller's buffer, kept alive while we point into it
    uint8_t *blob_copy;    // our own aligned copy when the caller's buffer was unaligned
    uint8_t *arena_alloc;  // start of the GC block, so the collector sees the arena as used
    size_t arena_alloc_size;
    bool closed;
    tml_model_t core;
} tinyml_model_obj_t;

static NORETURN void tinyml_raise_error(const tml_model_t *core) {
    const tml_error_t *e = &core->error;
    const char *detail = e->detail ? e->detail : "";
    if (e->status == TML_ERR_ARENA_TOO_SMALL) {
        mp_raise_msg_varg(&mp_type_MemoryError, MP_ERROR_TEXT("tinyml: %s: %s"),
            tml_status_str(e->status), detail);
    }
    if (e->op_index >= 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: op %d (%s): %s: %s"),
            (int)e->op_index, tml_opcode_name(e->opcode), tml_status_str(e->status), detail);
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: invalid model: %s: %s"),
        tml_status_str(e->status), detail);
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
    if (tml_model_init(&self->core, blob_data, (uint32_t)blob.len) != TML_OK) {
        tinyml_raise_error(&self->core);
    }

    uint32_t arena_size = self->core.header->arena_size;
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

static void tinyml_copy_in(tinyml_model_obj_t *self, uint32_t input, mp_obj_t buf_obj) {
    uint32_t index = tml_model_input_index(&self->core, input);
    uint32_t nbytes = tml_model_tensor_bytes(&self->core, index);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_obj, &buf, MP_BUFFER_READ);
    if (!tinyml_is_byte_buffer(&buf)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("tinyml: input %u must be an int8 buffer (bytes, bytearray, array('b')), got typecode '%c'"),
            (unsigned)input, buf.typecode);
    }
    if (buf.len != nbytes) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: input %u: expected %u bytes, got %u"),
            (unsigned)input, (unsigned)nbytes, (unsigned)buf.len);
    }
    memcpy(tml_model_tensor_data(&self->core, index), buf.buf, nbytes);
}

static void tinyml_copy_out(tinyml_model_obj_t *self, uint32_t output, mp_obj_t buf_obj) {
    uint32_t index = tml_model_output_index(&self->core, output);
    uint32_t nbytes = tml_model_tensor_bytes(&self->core, index);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_obj, &buf, MP_BUFFER_WRITE);
    if (!tinyml_is_byte_buffer(&buf)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("tinyml: output %u must be an int8 buffer (bytearray, array('b')), got typecode '%c'"),
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

// invoke(inp, out=None): raw int8 tensors in, raw int8 tensors out.
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

// tensor(kind, i) -> (shape, scale, zero_point, nbytes); kind 0 = input, 1 = output.
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
    mp_obj_t dims[TML_MAX_RANK];
    for (int d = 0; d < t->rank; d++) {
        dims[d] = mp_obj_new_int(t->dims[TML_MAX_RANK - t->rank + d]);
    }
    mp_obj_t info[4] = {
        mp_obj_new_tuple(t->rank, dims),
        mp_obj_new_float((mp_float_t)t->scale),
        mp_obj_new_int(t->zero_point),
        mp_obj_new_int_from_uint(tml_model_tensor_bytes(&self->core, index)),
    };
    return mp_obj_new_tuple(4, info);
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
    return mp_obj_new_int_from_uint(self->core.header->arena_size);
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_arena_size_obj, tinyml_model_arena_size);

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
        self->blob_copy = NULL;
        self->blob_obj = mp_const_none;
        self->closed = true;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(tinyml_model_close_obj, tinyml_model_close);

#if !MICROPY_ENABLE_DYNRUNTIME
static const mp_rom_map_elem_t tinyml_model_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_invoke), MP_ROM_PTR(&tinyml_model_invoke_obj) },
    { MP_ROM_QSTR(MP_QSTR_tensor), MP_ROM_PTR(&tinyml_model_tensor_obj) },
    { MP_ROM_QSTR(MP_QSTR_io_count), MP_ROM_PTR(&tinyml_model_io_count_obj) },
    { MP_ROM_QSTR(MP_QSTR_arena_size), MP_ROM_PTR(&tinyml_model_arena_size_obj) },
    { MP_ROM_QSTR(MP_QSTR_meta), MP_ROM_PTR(&tinyml_model_meta_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&tinyml_model_close_obj) },
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
// without libm, which the native module does not link. Values beyond +-512
// saturate int8 whatever the zero point, so they are clamped first to keep
// the conversion defined; truncation toward zero is then exact and so is
// the remainder q - t.
static mp_int_t tinyml_round(mp_float_t q) {
    if (q > 512) {
        q = 512;
    } else if (q < -512) {
        q = -512;
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
// array('f')) to int8 into `out`, rounding half away from zero as TFLite's
// QUANTIZE does. Non-finite values are refused rather than saturated.
static mp_obj_t tinyml_quantize(size_t n_args, const mp_obj_t *args) {
    mp_float_t scale = mp_obj_get_float(args[1]);
    mp_int_t zero_point = mp_obj_get_int(args[2]);
    mp_buffer_info_t out;
    mp_get_buffer_raise(args[3], &out, MP_BUFFER_WRITE);
    if (!tinyml_is_byte_buffer(&out)) {
        mp_raise_TypeError(MP_ERROR_TEXT("tinyml: quantize output must be an int8 buffer"));
    }
    if (!(scale > 0)) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: scale must be positive"));
    }
    if (zero_point < -128 || zero_point > 127) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: an int8 zero point must be in -128..127"));
    }
    int8_t *dst = out.buf;
    size_t n = 0;
    mp_obj_iter_buf_t iter_buf;
    mp_obj_t iterable = mp_getiter(args[0], &iter_buf);
    mp_obj_t item;
    while ((item = mp_iternext(iterable)) != MP_OBJ_STOP_ITERATION) {
        if (n >= out.len) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: expected %u values, got more"),
                (unsigned)out.len);
        }
        if (!mp_obj_is_int(item) && !mp_obj_is_float(item)) {
            mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("tinyml: value %u is not a number"), (unsigned)n);
        }
        mp_float_t v = mp_obj_get_float(item);
        if (isnan(v) || isinf(v)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: value %u is not finite"), (unsigned)n);
        }
        mp_int_t q = tinyml_round(tinyml_divide(v, scale)) + zero_point;
        dst[n++] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
    if (n != out.len) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: expected %u values, got %u"),
            (unsigned)out.len, (unsigned)n);
    }
    return args[3];
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(tinyml_quantize_obj, 4, 4, tinyml_quantize);

// dequantize(raw, scale, zero_point, out): int8 buffer to array('f') `out`.
static mp_obj_t tinyml_dequantize(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t raw;
    mp_get_buffer_raise(args[0], &raw, MP_BUFFER_READ);
    mp_float_t scale = mp_obj_get_float(args[1]);
    mp_int_t zero_point = mp_obj_get_int(args[2]);
    mp_buffer_info_t out;
    mp_get_buffer_raise(args[3], &out, MP_BUFFER_WRITE);
    if (out.typecode != 'f' || out.len != raw.len * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: dequantize output must be an array('f') of the same length"));
    }
    const int8_t *src = raw.buf;
    float *dst = out.buf;
    for (size_t i = 0; i < raw.len; i++) {
        dst[i] = (float)((mp_float_t)(src[i] - zero_point) * scale);
    }
    return args[3];
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(tinyml_dequantize_obj, 4, 4, tinyml_dequantize);

// build_info() -> dict: what this firmware's core was compiled for; "arch"
// is the kernels' architecture path (TML_ARCH_NAME).
#include "tml_arch.h"
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
    mp_obj_t ops[TML_OP_COUNT_ - 1];
    for (int op = 1; op < TML_OP_COUNT_; op++) {
        const char *name = tml_opcode_name((uint8_t)op);
        ops[op - 1] = mp_obj_new_str(name, strlen(name));
    }
    mp_obj_dict_store(info, MP_OBJ_NEW_QSTR(MP_QSTR_ops), mp_obj_new_tuple(TML_OP_COUNT_ - 1, ops));
    return info;
}
static MP_DEFINE_CONST_FUN_OBJ_0(tinyml_build_info_obj, tinyml_build_info);

// ---------------------------------------------------------------- audio features
// AudioFeatures(fft_size, sample_rate, n_mels=0, fmin=0, fmax=0, n_mfcc=0):
// tml_features.c on one int16 frame at a time. Every buffer is allocated
// here, once; the per-frame methods allocate nothing.
typedef struct _tinyml_audio_obj_t {
    mp_obj_base_t base;
    tml_audio_t audio;  // its mel tables point into GC blocks this object keeps alive
    int32_t *spec;      // fft_size + 2: FFT working memory, then re/im per bin
    uint64_t *energy;   // n_mels
    int32_t *log_mel;   // n_mels
} tinyml_audio_obj_t;

static mp_obj_t tinyml_audio_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    enum { ARG_fft_size, ARG_sample_rate, ARG_n_mels, ARG_fmin, ARG_fmax, ARG_n_mfcc };
    TINYML_ARG_TABLE mp_arg_t allowed[] = {
        { MP_QSTR_fft_size, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_sample_rate, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_n_mels, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_fmin, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_fmax, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_n_mfcc, MP_ARG_INT, {.u_int = 0} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, args, MP_ARRAY_SIZE(allowed), allowed, a);
    mp_int_t fft_size = a[ARG_fft_size].u_int;
    mp_int_t rate = a[ARG_sample_rate].u_int;
    mp_int_t n_mels = a[ARG_n_mels].u_int;
    mp_int_t fmin = a[ARG_fmin].u_int;
    mp_int_t fmax = a[ARG_fmax].u_int;
    mp_int_t n_mfcc = a[ARG_n_mfcc].u_int;
    if (fft_size < TML_AUDIO_MIN_FFT || fft_size > TML_AUDIO_MAX_FFT || (fft_size & (fft_size - 1)) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: fft_size must be a power of two from %d to %d, got %d"),
            TML_AUDIO_MIN_FFT, TML_AUDIO_MAX_FFT, (int)fft_size);
    }
    if (rate <= 0 || rate > TML_AUDIO_MAX_RATE) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tinyml: sample_rate must be 1..%d Hz, got %d"),
            TML_AUDIO_MAX_RATE, (int)rate);
    }
    if (n_mels < 0 || n_mels > TML_AUDIO_MAX_MELS || n_mfcc < 0 || n_mfcc > n_mels) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: need 0 <= n_mfcc <= n_mels <= %d, got n_mels=%d n_mfcc=%d"),
            TML_AUDIO_MAX_MELS, (int)n_mels, (int)n_mfcc);
    }
    if (fmin < 0 || fmax < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("tinyml: fmin and fmax are frequencies in Hz, >= 0"));
    }
    tinyml_audio_obj_t *self = mp_obj_malloc(tinyml_audio_obj_t, type);
    size_t bins = (size_t)fft_size / 2 + 1;
    uint8_t *band = NULL;
    uint16_t *weight = NULL;
    if (n_mels > 0) {
        band = m_new(uint8_t, bins);
        weight = m_new(uint16_t, bins);
        self->energy = m_new(uint64_t, (size_t)n_mels);
        self->log_mel = m_new(int32_t, (size_t)n_mels);
    }
    self->spec = m_new(int32_t, (size_t)fft_size + 2);
    if (tml_audio_init(&self->audio, (uint32_t)fft_size, (uint32_t)rate, (uint32_t)n_mels,
        (uint32_t)fmin, (uint32_t)fmax, (uint32_t)n_mfcc, band, weight) != TML_OK) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: need 0 <= fmin < fmax <= sample_rate/2 (fmax=0 means sample_rate/2), got fmin=%d fmax=%d"),
            (int)fmin, (int)fmax);
    }
    return MP_OBJ_FROM_PTR(self);
}

// Runs the windowed FFT of `frame` (array('h') of fft_size samples) into spec.
static void tinyml_audio_run(tinyml_audio_obj_t *self, mp_obj_t frame_in) {
    mp_buffer_info_t frame;
    mp_get_buffer_raise(frame_in, &frame, MP_BUFFER_READ);
    if (frame.typecode != 'h' || frame.len != self->audio.fft_size * sizeof(int16_t)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: a frame is array('h') of %u samples; got %u bytes, typecode '%c'"),
            (unsigned)self->audio.fft_size, (unsigned)frame.len, frame.typecode);
    }
    tml_audio_rfft(&self->audio, frame.buf, self->spec);
}

static void *tinyml_audio_out(mp_obj_t out_in, uint32_t count, const char *what) {
    mp_buffer_info_t out;
    mp_get_buffer_raise(out_in, &out, MP_BUFFER_WRITE);
    if ((out.typecode != 'i' && out.typecode != 'I') || out.len != count * sizeof(int32_t)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: %s output must be array('i') of %u values"), what, (unsigned)count);
    }
    return out.buf;
}

// magnitude(frame, out): out = array('i') of fft_size/2 + 1 magnitudes.
static mp_obj_t tinyml_audio_magnitude(mp_obj_t self_in, mp_obj_t frame_in, mp_obj_t out_in) {
    tinyml_audio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint32_t *out = tinyml_audio_out(out_in, self->audio.fft_size / 2 + 1, "magnitude");
    tinyml_audio_run(self, frame_in);
    tml_audio_magnitude(&self->audio, self->spec, out);
    return out_in;
}
static MP_DEFINE_CONST_FUN_OBJ_3(tinyml_audio_magnitude_obj, tinyml_audio_magnitude);

static void tinyml_audio_need(uint32_t have, const char *what) {
    if (have == 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tinyml: this AudioFeatures was made with %s=0: pass %s to the constructor"), what, what);
    }
}

// log_mel(frame, out): out = array('i') of n_mels values, ln(energy) in Q16.
static mp_obj_t tinyml_audio_log_mel(mp_obj_t self_in, mp_obj_t frame_in, mp_obj_t out_in) {
    tinyml_audio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    tinyml_audio_need(self->audio.n_mels, "n_mels");
    int32_t *out = tinyml_audio_out(out_in, self->audio.n_mels, "log_mel");
    tinyml_audio_run(self, frame_in);
    tml_audio_mel(&self->audio, self->spec, self->energy);
    tml_audio_log(self->energy, self->audio.n_mels, out);
    return out_in;
}
static MP_DEFINE_CONST_FUN_OBJ_3(tinyml_audio_log_mel_obj, tinyml_audio_log_mel);

// mfcc(frame, out): out = array('i') of n_mfcc values in Q16.
static mp_obj_t tinyml_audio_mfcc(mp_obj_t self_in, mp_obj_t frame_in, mp_obj_t out_in) {
    tinyml_audio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    tinyml_audio_need(self->audio.n_mfcc, "n_mfcc");
    int32_t *out = tinyml_audio_out(out_in, self->audio.n_mfcc, "mfcc");
    tinyml_audio_run(self, frame_in);
    tml_audio_mel(&self->audio, self->spec, self->energy);
    tml_audio_log(self->energy, self->audio.n_mels, self->log_mel);
    tml_audio_dct(&self->audio, self->log_mel, out);
    return out_in;
}
static MP_DEFINE_CONST_FUN_OBJ_3(tinyml_audio_mfcc_obj, tinyml_audio_mfcc);

#if !MICROPY_ENABLE_DYNRUNTIME
static const mp_rom_map_elem_t tinyml_audio_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_magnitude), MP_ROM_PTR(&tinyml_audio_magnitude_obj) },
    { MP_ROM_QSTR(MP_QSTR_log_mel), MP_ROM_PTR(&tinyml_audio_log_mel_obj) },
    { MP_ROM_QSTR(MP_QSTR_mfcc), MP_ROM_PTR(&tinyml_audio_mfcc_obj) },
};
static MP_DEFINE_CONST_DICT(tinyml_audio_locals_dict, tinyml_audio_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    tinyml_audio_type,
    MP_QSTR_AudioFeatures,
    MP_TYPE_FLAG_NONE,
    make_new, tinyml_audio_make_new,
    locals_dict, &tinyml_audio_locals_dict
    );
#endif
// ------------------------------------------------------------ end audio features

#if !MICROPY_ENABLE_DYNRUNTIME
static const mp_rom_map_elem_t tinyml_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__tinyml) },
    { MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&tinyml_model_type) },
    { MP_ROM_QSTR(MP_QSTR_quantize), MP_ROM_PTR(&tinyml_quantize_obj) },
    { MP_ROM_QSTR(MP_QSTR_dequantize), MP_ROM_PTR(&tinyml_dequantize_obj) },
    { MP_ROM_QSTR(MP_QSTR_build_info), MP_ROM_PTR(&tinyml_build_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_AudioFeatures), MP_ROM_PTR(&tinyml_audio_type) },
    { MP_ROM_QSTR(MP_QSTR_FORMAT_VERSION), MP_ROM_INT(TML_BLOB_VERSION) },
};
static MP_DEFINE_CONST_DICT(tinyml_module_globals, tinyml_module_globals_table);

const mp_obj_module_t tinyml_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&tinyml_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__tinyml, tinyml_user_cmodule);
#endif
