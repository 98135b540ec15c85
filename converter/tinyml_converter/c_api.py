"""The C core's entry points the host runtime calls, with their ctypes types.

Standard library only: setup.py reads the names from here to export them
from the compiled core on platforms that hide symbols by default (Windows)."""

import ctypes

_MODEL = ctypes.c_void_p  # a tml_model_t, held as tml_model_struct_size() bytes


class Error(ctypes.Structure):
    """tml_error_t (usermod_c/tml_model.h)."""

    _fields_ = [
        ("status", ctypes.c_int),
        ("op_index", ctypes.c_int32),
        ("opcode", ctypes.c_uint8),
        ("detail", ctypes.c_char_p),
    ]


SIGNATURES = {
    "tml_model_struct_size": (ctypes.c_uint32, []),
    "tml_model_open": (ctypes.c_int, [_MODEL, ctypes.c_void_p, ctypes.c_uint32]),
    "tml_model_state_size": (ctypes.c_uint32, [_MODEL]),
    "tml_model_load": (ctypes.c_int, [_MODEL, ctypes.c_void_p, ctypes.c_uint32]),
    "tml_model_arena_size": (ctypes.c_uint32, [_MODEL]),
    "tml_model_set_arena": (ctypes.c_int, [_MODEL, ctypes.c_void_p, ctypes.c_uint32]),
    "tml_model_invoke": (ctypes.c_int, [_MODEL]),
    "tml_model_bind_input": (ctypes.c_int, [_MODEL, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32]),
    "tml_model_input_is_external": (ctypes.c_int, [_MODEL, ctypes.c_uint32]),
    "tml_model_reset_state": (ctypes.c_int, [_MODEL]),
    "tml_model_error": (ctypes.POINTER(Error), [_MODEL]),
    "tml_model_input_index": (ctypes.c_uint32, [_MODEL, ctypes.c_uint32]),
    "tml_model_output_index": (ctypes.c_uint32, [_MODEL, ctypes.c_uint32]),
    "tml_model_tensor_bytes": (ctypes.c_uint32, [_MODEL, ctypes.c_uint32]),
    "tml_model_tensor_data": (ctypes.c_void_p, [_MODEL, ctypes.c_uint32]),
    "tml_model_op_count": (ctypes.c_uint32, [_MODEL]),
    "tml_model_op_opcode": (ctypes.c_uint8, [_MODEL, ctypes.c_uint32]),
    "tml_model_op_output": (ctypes.c_uint32, [_MODEL, ctypes.c_uint32]),
    "tml_model_meta": (ctypes.c_void_p, [_MODEL, ctypes.c_uint16, ctypes.POINTER(ctypes.c_uint32)]),
    "tml_status_str": (ctypes.c_char_p, [ctypes.c_int]),
    "tml_opcode_name": (ctypes.c_char_p, [ctypes.c_uint8]),
    "tml_crc32": (ctypes.c_uint32, [ctypes.c_void_p, ctypes.c_size_t]),
}


def declare(lib):
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib
