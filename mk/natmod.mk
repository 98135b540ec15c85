# Native module: `make natmod ARCH=<arch>` builds build/natmod/<arch>/ with
# _tinyml.mpy (the same C sources as the firmware, through MicroPython's
# py/dynruntime.mk), the tinyml package compiled by the matching mpy-cross,
# and a package.json for mip. See usermod_c/natmod/README.md.
#
# `make test` (test-natmod) loads the x64 module into a stock unix
# MicroPython, the armv7m one into a stock qemu_m3 firmware, the armv6m
# one into a stock qemu_m0 firmware and the rv32imc one into a stock
# qemu_rv32 firmware (all built here without our user module
# and with nothing of ours frozen) and runs the same MicroPython tests as on
# our firmwares.

NATMOD_ARCHS := x64 armv6m armv7m armv7emsp rv32imc
NATMOD_ARCHS_ELSEWHERE := xtensawin
# mpy_ld links libgcc's helpers from .a archives through the `ar` package.
NATMOD_PY_DEPS := ar==1.0.1

.PHONY: test-natmod natmod-deps stock-unix stock-qemu_m3 stock-qemu_m0 stock-qemu_rv32 $(addprefix natmod-,$(NATMOD_ARCHS) $(NATMOD_ARCHS_ELSEWHERE))

natmod:
	@if [ -z "$(ARCH)" ]; then \
		echo "error: say which architecture: make natmod ARCH=<$(subst $(eval) ,|,$(NATMOD_ARCHS) $(NATMOD_ARCHS_ELSEWHERE))>" >&2; exit 2; fi
	@$(MAKE) --no-print-directory natmod-$(ARCH)

natmod-%:
	@echo "error: ARCH=$* is not a native module architecture; use one of: $(NATMOD_ARCHS) $(NATMOD_ARCHS_ELSEWHERE)" >&2; exit 2

natmod-xtensawin:
	@if ! command -v xtensa-esp32-elf-gcc >/dev/null; then \
		echo "error: ARCH=xtensawin (ESP32) needs the xtensa-esp32-elf toolchain from ESP-IDF, which is not available on this machine (no registry here carries it)." >&2; \
		echo "       Install ESP-IDF, put xtensa-esp32-elf-gcc on PATH, then run 'make natmod ARCH=xtensawin' again." >&2; exit 2; fi
	$(call natmod_build,xtensawin)

$(addprefix natmod-,$(NATMOD_ARCHS)): natmod-%: micropython deps-python deps-system natmod-deps
	$(call natmod_build,$*)

# The natmod Makefile is run from the output folder (dynruntime.mk writes
# its result into the current folder).
define natmod_build
	@mkdir -p $(BUILD)/natmod/$(1)
	$(MAKE) --no-print-directory -C $(BUILD)/natmod/$(1) -f $(ROOT)/usermod_c/natmod/Makefile \
		ARCH=$(1) MPY_DIR=$(MICROPY_DIR) PYTHON=$(PYTHON) MPY_CROSS=$(MPY_CROSS)
	$(PYTHON) scripts/natmod_package.py --arch $(1) --mpy-cross $(MPY_CROSS) $(BUILD)/natmod/$(1)
endef

natmod-deps: $(VENV)/.natmod-deps
$(VENV)/.natmod-deps: $(VENV)/.installed mk/natmod.mk
	$(PYTHON) -m pip install -q --disable-pip-version-check $(NATMOD_PY_DEPS)
	@touch $@

# Stock firmwares: the same MicroPython tree and board settings, without
# USER_C_MODULES and with an empty frozen manifest.
stock-unix: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(BUILD)/stock_unix/obj \
		VARIANT=standard MICROPY_PY_SSL=0 MICROPY_PY_BTREE=0 FROZEN_MANIFEST= MPY_LIB_DIR=$(MPY_LIB_STUB)
	@cp -p $(BUILD)/stock_unix/obj/micropython $(BUILD)/stock_unix/micropython

stock-qemu_m3: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD_DIR=$(ROOT)/boards/qemu_m3 \
		BUILD=$(BUILD)/stock_qemu_m3/obj FROZEN_MANIFEST= MPY_LIB_DIR=$(MPY_LIB_STUB)
	@cp -p $(BUILD)/stock_qemu_m3/obj/firmware.elf $(BUILD)/stock_qemu_m3/firmware.elf

# The stock qemu port leaves the native emitter, and with it .mpy native
# code loading, off for its nRF51 (Cortex-M0) board; MicroPython's rp2 port
# (the RP2040, also armv6m) has it on. Switched on here so the armv6m module
# is tested on an armv6m core.
stock-qemu_m0: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD_DIR=$(ROOT)/boards/qemu_m0 \
		BUILD=$(BUILD)/stock_qemu_m0/obj FROZEN_MANIFEST= MPY_LIB_DIR=$(MPY_LIB_STUB) \
		CFLAGS_EXTRA="-DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0"
	@cp -p $(BUILD)/stock_qemu_m0/obj/firmware.elf $(BUILD)/stock_qemu_m0/firmware.elf

# The rv32imc module (ESP32-C3/C6) is tested on the qemu virt machine.
stock-qemu_rv32: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD_DIR=$(ROOT)/boards/qemu_rv32 \
		BUILD=$(BUILD)/stock_qemu_rv32/obj FROZEN_MANIFEST= MPY_LIB_DIR=$(MPY_LIB_STUB)
	@cp -p $(BUILD)/stock_qemu_rv32/obj/firmware.elf $(BUILD)/stock_qemu_rv32/firmware.elf

# Runs after test-mpy, which generated build/mpytest/generated/.
test-natmod: natmod-x64 natmod-armv7m natmod-armv6m natmod-rv32imc stock-unix stock-qemu_m3 stock-qemu_m0 \
		stock-qemu_rv32 firmware-unix
	$(PYTHON) scripts/natmod_test.py --micropython-dir $(MICROPY_DIR) unix qemu_m3 qemu_m0 qemu_rv32

TEST_EXTRA += test-natmod
