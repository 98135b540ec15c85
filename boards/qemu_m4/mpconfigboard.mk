# qemu_m4: QEMU's mps2-an386 (Cortex-M4 with the DSP extension, armv7emsp).
# Same memory map as mps2-an385; the FPU is left unused (soft float) so the
# port's startup code needs no change.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386

CFLAGS += -mthumb -mcpu=cortex-m4 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4"'

LDSCRIPT = mcu/arm/mps2.ld
SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o
MPY_CROSS_FLAGS += -march=armv7emsp

MICROPY_HEAP_SIZE = 2097152
FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py

# The time module (off in the stock qemu port), clocked by the SoC's timer.
CFLAGS += -I$(BOARD_DIR)/../../ports/qemu -DTINYML_QEMU_MPCONFIGPORT='"$(abspath $(TOP))/ports/qemu/mpconfigport.h"'
SRC_C += $(BOARD_DIR)/../../ports/qemu/qemu_ticks.c

# stackprobe.paint()/used(): the C stack one invoke takes (bench/stack.py);
# -fstack-usage writes each object's static frame sizes next to it (.su)
# for comparison, without changing the code.
CFLAGS += -fstack-usage
SRC_C += $(BOARD_DIR)/../../ports/qemu/qemu_stackprobe.c
