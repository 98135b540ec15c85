/*
 * What the two binding files (modtinyml.c, modtinyml_audio.c) and the native
 * module (natmod/tinyml_natmod.c) share: the method and function lists of
 * _tinyml, written once. The firmware's ROM tables and the native module's
 * RAM tables are both expanded from them, so the two builds cannot offer
 * different APIs. Each entry names its qstr in full (MP_QSTR_...), as
 * MicroPython's qstr scanners read the source text.
 */
#ifndef MODTINYML_H
#define MODTINYML_H

#include "py/obj.h"

// In the native module qstrs are looked up when it is loaded, so tables that
// name them cannot be static constants there.
#if MICROPY_ENABLE_DYNRUNTIME
#define TINYML_ARG_TABLE const
#else
#define TINYML_ARG_TABLE static const
#endif

#define TINYML_MODEL_METHODS(X) \
    X(MP_QSTR_invoke, tinyml_model_invoke_obj) \
    X(MP_QSTR_reset, tinyml_model_reset_obj) \
    X(MP_QSTR_tensor, tinyml_model_tensor_obj) \
    X(MP_QSTR_io_count, tinyml_model_io_count_obj) \
    X(MP_QSTR_arena_size, tinyml_model_arena_size_obj) \
    X(MP_QSTR_in_place, tinyml_model_in_place_obj) \
    X(MP_QSTR_ops, tinyml_model_ops_obj) \
    X(MP_QSTR_meta, tinyml_model_meta_obj) \
    X(MP_QSTR_close, tinyml_model_close_obj)

#define TINYML_AUDIO_METHODS(X) \
    X(MP_QSTR_magnitude, tinyml_audio_magnitude_obj) \
    X(MP_QSTR_log_mel, tinyml_audio_log_mel_obj) \
    X(MP_QSTR_mfcc, tinyml_audio_mfcc_obj)

// Module-level functions; the module also holds Model, AudioFeatures and
// FORMAT_VERSION.
#define TINYML_MODULE_FUNCTIONS(X) \
    X(MP_QSTR_quantize, tinyml_quantize_obj) \
    X(MP_QSTR_dequantize, tinyml_dequantize_obj) \
    X(MP_QSTR_build_info, tinyml_build_info_obj)

#define TINYML_ROM_ENTRY(name, obj) { MP_ROM_QSTR(name), MP_ROM_PTR(&obj) },

#if !MICROPY_ENABLE_DYNRUNTIME
extern const mp_obj_type_t tinyml_audio_type;
#endif

#endif // MODTINYML_H
