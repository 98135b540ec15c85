/*
 * _tinyml.AudioFeatures, the binding of tml_features.c: integer spectra,
 * log-mel energies and MFCCs of one int16 frame at a time. Its own file, so
 * the model binding stays about models; built with it into the user module
 * and, through tinyml_natmod.c, into the native module.
 */
#include <string.h>

#include "py/runtime.h"
#include "py/obj.h"

#include "modtinyml.h"
#include "tml_features.h"

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
    TINYML_AUDIO_METHODS(TINYML_ROM_ENTRY)
};
static MP_DEFINE_CONST_DICT(tinyml_audio_locals_dict, tinyml_audio_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    tinyml_audio_type,
    MP_QSTR_AudioFeatures,
    MP_TYPE_FLAG_NONE,
    make_new, tinyml_audio_make_new,
    locals_dict, &tinyml_audio_locals_dict
    );
#endif
