# Make-based ports (unix, qemu): `make USER_C_MODULES=<repo root>`.
# The portable core is library C (no QSTRs to scan); only the binding is
# scanned. core_sources.txt is the one list shared with micropython.cmake,
# the native module and the host test build.
TINYML_MOD_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(TINYML_MOD_DIR)/modtinyml.c
SRC_USERMOD_LIB_C += $(addprefix $(TINYML_MOD_DIR)/,$(shell cat $(TINYML_MOD_DIR)/core_sources.txt))
CFLAGS_USERMOD += -I$(TINYML_MOD_DIR)
