// The host build of the C core, as an importable file of the wheel.
//
// host_runtime.py drives the core through ctypes; this module has nothing
// to offer Python itself. Building the core as an extension lets the build
// backend compile it with each platform's own compiler and flags, and find
// it again next to the package once installed. The limited API keeps one
// wheel per platform valid for every CPython from 3.9 on.
#define Py_LIMITED_API 0x03090000
#include <Python.h>

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "_core",
    "tinyml's portable C core, loaded through ctypes by host_runtime.", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    return PyModule_Create(&core_module);
}
