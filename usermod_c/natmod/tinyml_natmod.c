/*
 * _tinyml as a native module (.mpy): the firmware binding modtinyml.c,
 * compiled against MicroPython's dynamic runtime (py/dynruntime.h).
 *
 * A native module has no ROM tables and no initialised writable data, so
 * its types (Model, AudioFeatures) and their method tables live in BSS and
 * are filled in mpy_init, the pattern of examples/natmod/framebuf. They
 * point only at constants of the module, never at heap objects, which the
 * GC would not see from here. The few runtime calls the binding
 * uses that py/dynruntime.h does not provide are mapped onto mp_fun_table
 * below, before modtinyml.c is included.
 */
#include <stdarg.h>

#include "py/dynruntime.h"

// The module links no C library: route the compiler's implicit calls (struct
// copies, memcpy in the kernels) to the firmware's own. On RISC-V too:
// picolibc's are assembler in byte-aligned sections, which mpy_ld can place
// at an odd address that no call reaches (the firmware then stops on an
// illegal instruction), so the Makefile leaves its libc.a out.
void *memcpy(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

// Not in mp_fun_table; the attribute stops gcc turning the loop back into a
// call to strlen.
__attribute__((optimize("no-tree-loop-distribute-patterns")))
size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

#define mp_type_MemoryError (*(mp_obj_type_t *)(mp_load_global(MP_QSTR_MemoryError)))
#define mp_type_float (*(mp_obj_type_t *)(mp_load_global(MP_QSTR_float)))

#define m_malloc_maybe(n) (m_realloc_maybe(NULL, (n), false))

// With a buffer, the firmware's getiter sets the buffer up as the iterator
// (or as a pointer to it) and iternext takes the buffer back.
#define mp_getiter(o, iter_buf) (mp_fun_table.getiter((o), (iter_buf)), MP_OBJ_FROM_PTR(iter_buf))
#define mp_iternext(it) (mp_fun_table.iternext((mp_obj_iter_buf_t *)MP_OBJ_TO_PTR(it)))

#define mp_obj_new_bytearray(n, items) (tinyml_dyn_new_bytearray((n), (items)))
#define mp_raise_msg_varg tinyml_dyn_raise_msg_varg

static mp_obj_t tinyml_dyn_new_bytearray(size_t n, const void *items) {
    mp_obj_t len = mp_obj_new_int_from_uint(n);
    mp_obj_t array = mp_call_function_n_kw(MP_OBJ_FROM_PTR(&mp_type_bytearray), 1, 0, &len);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(array, &buf, MP_BUFFER_WRITE);
    memcpy(buf.buf, items, n);
    return array;
}

typedef struct {
    char text[200];
    size_t len;
} tinyml_dyn_message_t;

static void tinyml_dyn_message_strn(void *data, const char *str, size_t len) {
    tinyml_dyn_message_t *msg = data;
    size_t room = sizeof(msg->text) - msg->len;
    if (len > room) {
        len = room;
    }
    memcpy(msg->text + msg->len, str, len);
    msg->len += len;
}

// The firmware's raise_msg keeps the pointer it is given, so the message is
// formatted on the stack with the firmware's printf and then copied into a
// str object that the exception owns.
static NORETURN void tinyml_dyn_raise_msg_varg(const mp_obj_type_t *type, const char *fmt, ...) {
    tinyml_dyn_message_t msg;
    msg.len = 0;
    mp_print_t print = { &msg, tinyml_dyn_message_strn };
    va_list args;
    va_start(args, fmt);
    mp_vprintf(&print, fmt, args);
    va_end(args);
    mp_raise_type_arg(type, mp_obj_new_str(msg.text, msg.len));
}

#if defined(__ARM_ARCH_6M__)
// Same single-precision division as the firmware's own, so quantize() gives
// the same bytes as the built-in module; it costs a few small allocations
// per value.
static mp_float_t tinyml_dyn_divide(mp_float_t a, mp_float_t b) {
    mp_obj_t q = mp_binary_op(MP_BINARY_OP_TRUE_DIVIDE, mp_obj_new_float(a), mp_obj_new_float(b));
    return mp_obj_get_float(q);
}
#define tinyml_divide tinyml_dyn_divide
#endif

#include "../modtinyml.c"
#include "../modtinyml_audio.c"

#define TINYML_COUNT(name, obj) +1
#define TINYML_DYN_SET(name, obj) tinyml_dyn_set(e++, name, &obj);
#define TINYML_DYN_STORE(name, obj) mp_store_global(name, MP_OBJ_FROM_PTR(&obj));

// Not static: mpy_ld reaches BSS only through the GOT, i.e. global symbols.
mp_obj_full_type_t tinyml_model_type;
mp_map_elem_t tinyml_model_locals_table[0 TINYML_MODEL_METHODS(TINYML_COUNT)];
static MP_DEFINE_CONST_DICT(tinyml_model_locals_dict, tinyml_model_locals_table);
mp_obj_full_type_t tinyml_audio_type;
mp_map_elem_t tinyml_audio_locals_table[0 TINYML_AUDIO_METHODS(TINYML_COUNT)];
static MP_DEFINE_CONST_DICT(tinyml_audio_locals_dict, tinyml_audio_locals_table);

static void tinyml_dyn_set(mp_map_elem_t *elem, qstr name, const void *fun) {
    *elem = (mp_map_elem_t){ MP_OBJ_NEW_QSTR(name), MP_OBJ_FROM_PTR(fun) };
}

static void tinyml_dyn_type(mp_obj_full_type_t *type, qstr name, mp_make_new_fun_t make_new, const void *locals) {
    type->base.type = (void *)&mp_type_type;
    type->flags = MP_TYPE_FLAG_NONE;
    type->name = name;
    MP_OBJ_TYPE_SET_SLOT(type, make_new, make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(type, locals_dict, (void *)locals, 1);
}

// The same lists as the ROM tables of modtinyml.c (modtinyml.h);
// scripts/natmod_test.py also compares dir() of both builds.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_map_elem_t *e = tinyml_model_locals_table;
    TINYML_MODEL_METHODS(TINYML_DYN_SET)
    tinyml_dyn_type(&tinyml_model_type, MP_QSTR_Model, tinyml_model_make_new, &tinyml_model_locals_dict);

    e = tinyml_audio_locals_table;
    TINYML_AUDIO_METHODS(TINYML_DYN_SET)
    tinyml_dyn_type(&tinyml_audio_type, MP_QSTR_AudioFeatures, tinyml_audio_make_new, &tinyml_audio_locals_dict);

    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&tinyml_model_type));
    mp_store_global(MP_QSTR_AudioFeatures, MP_OBJ_FROM_PTR(&tinyml_audio_type));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(TML_BLOB_VERSION));
    TINYML_MODULE_FUNCTIONS(TINYML_DYN_STORE)

    MP_DYNRUNTIME_INIT_EXIT
}
