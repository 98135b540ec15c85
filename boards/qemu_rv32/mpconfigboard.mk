# qemu_rv32: MicroPython's qemu port on QEMU's virt machine with a 32-bit
# RISC-V core (rv32imac, the instruction set of the ESP32-C3/C6 plus
# atomics). Build: make firmware BOARD=qemu_rv32 (BOARD_DIR points here).
QEMU_ARCH = riscv32
QEMU_MACHINE = virt

# Debian's toolchain has a library set for rv32imac/ilp32, which GCC 12 does
# not select for the port's "rv32imac_zicsr"; under the 2.2 ISA spec, plain
# rv32imac includes the CSR instructions and picks those libraries.
RV32_ARCH = rv32imac
AFLAGS += -misa-spec=2.2
CFLAGS += -misa-spec=2.2

CFLAGS += -DQEMU_SOC_VIRT
CFLAGS += -DMICROPY_HW_MCU_NAME='"$(RV32_ARCH)"'

LDSCRIPT = mcu/rv32/virt.ld
SRC_BOARD_O += shared/runtime/gchelper_native.o shared/runtime/gchelper_rv32i.o
MPY_CROSS_FLAGS += -march=rv32imc

# virt.ld gives .data and .bss 2 MB, the heap a static array among them:
# 1.75 MB of heap leaves room for the rest.
MICROPY_HEAP_SIZE = 1835008
FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py

# The time module (off in the stock qemu port), clocked by the CLINT's mtime.
CFLAGS += -I$(BOARD_DIR)/../../ports/qemu -DTINYML_QEMU_MPCONFIGPORT='"$(abspath $(TOP))/ports/qemu/mpconfigport.h"'
SRC_C += $(BOARD_DIR)/../../ports/qemu/qemu_ticks.c
