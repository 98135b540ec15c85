// Shadows the qemu port's mpconfigport.h (our board folders come first on the
// include path) to switch on the `time` module, which the stock 1.25 qemu port
// leaves off; qemu_ticks.c supplies the clock it needs.
#include TINYML_QEMU_MPCONFIGPORT

#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME (1)
