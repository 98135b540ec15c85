# Make-based ports (unix, qemu): `make USER_C_MODULES=<repo root>`.
# The portable core is library C (no QSTRs to scan); only the binding is
# scanned. core_sources.txt is the one list shared with micropython.cmake,
# the native module and the host test build.
TINYML_MOD_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(TINYML_MOD_DIR)/modtinyml.c $(TINYML_MOD_DIR)/modtinyml_audio.c
SRC_USERMOD_LIB_C += $(addprefix $(TINYML_MOD_DIR)/,$(shell cat $(TINYML_MOD_DIR)/core_sources.txt))
CFLAGS_USERMOD += -I$(TINYML_MOD_DIR)
# TINYML_TERSE_ERRORS=1 (make variable or environment) leaves out the
# loader's sentences, ~10 KB of flash (tml_status.h). Build it in a BUILD
# folder of its own: make does not rebuild objects when flags change.
ifeq ($(TINYML_TERSE_ERRORS),1)
CFLAGS_USERMOD += -DTML_TERSE_ERRORS
endif
# TINYML_OPS_HEADER=<file from `tinyml inspect MODEL --ops-header FILE`>
# builds only the ops its models use (tml_ops.c); also a BUILD of its own.
ifneq ($(TINYML_OPS_HEADER),)
CFLAGS_USERMOD += -DTML_OPS_SUBSET='"$(abspath $(TINYML_OPS_HEADER))"'
endif
# core_sources.txt lists the architecture paths' .S files with the C (each
# assembles to nothing off its own path, tml_arch.h): build them as assembly.
TINYML_ASM := $(filter $(TINYML_MOD_DIR)/%.S,$(SRC_USERMOD_LIB_C))
SRC_USERMOD_LIB_ASM += $(TINYML_ASM)
SRC_USERMOD_LIB_C := $(filter-out $(TINYML_ASM),$(SRC_USERMOD_LIB_C))

# The matrix kernels at -O2 rather than the ports' -Os: the C around the
# assembly loops and the portable paths keep their values in registers
# (2-15% fewer instructions on Cortex-M3/M4) for ~2 KB more flash. Not on
# Cortex-M0 (the RP2040), where GCC's -O2 code spills more than its -Os:
# there -Os is both smaller and 3% faster (make bench).
ifeq ($(findstring -mcpu=cortex-m0,$(CFLAGS)),)
TINYML_O2_OBJ := $(addprefix $(BUILD)/$(patsubst $(USER_C_MODULES)/%,%,$(TINYML_MOD_DIR))/,tml_conv.o tml_fc.o)
$(TINYML_O2_OBJ): CFLAGS += -O2
endif
