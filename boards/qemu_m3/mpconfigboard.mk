# qemu_m3: MicroPython's qemu port on QEMU's mps2-an385 (Cortex-M3, armv7m,
# 4 MB RAM). Build: make firmware BOARD=qemu_m3 (BOARD_DIR points here).
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'

LDSCRIPT = mcu/arm/mps2.ld
SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o
MPY_CROSS_FLAGS += -march=armv7m

# The stock 140 KB heap cannot hold a MobileNet-sized arena; the board has 4 MB.
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
