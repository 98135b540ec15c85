# qemu_m0: QEMU's microbit machine (nRF51, Cortex-M0, armv6m: the RP2040's
# instruction set). SRAM raised to 256 KB through QEMU's arguments.
QEMU_ARCH = arm
QEMU_MACHINE = microbit
QEMU_ARGS += -global nrf51-soc.flash-size=1048576 -global nrf51-soc.sram-size=262144

CFLAGS += -mthumb -mcpu=cortex-m0 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_NRF51
CFLAGS += -DMICROPY_HW_MCU_NAME='"nRF51"'

LDSCRIPT = mcu/arm/nrf51.ld
SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb1.o
MPY_CROSS_FLAGS += -march=armv6m

# 192 KB of the 256 KB SRAM for the heap, the rest for stack and statics.
MICROPY_HEAP_SIZE = 196608
FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py

# The time module (off in the stock qemu port), clocked by the SoC's timer.
CFLAGS += -I$(BOARD_DIR)/../../ports/qemu -DTINYML_QEMU_MPCONFIGPORT='"$(abspath $(TOP))/ports/qemu/mpconfigport.h"'
SRC_C += $(BOARD_DIR)/../../ports/qemu/qemu_ticks.c

# stackprobe.paint()/used(): the C stack one invoke takes (bench/stack.py);
# -fstack-usage writes each object's static frame sizes next to it (.su)
# for comparison, without changing the code.
CFLAGS += -fstack-usage
SRC_C += $(BOARD_DIR)/../../ports/qemu/qemu_stackprobe.c
