# tinyml: the one entry point. Every target installs what it needs first;
# downloads and builds are cached under build/ and .venv/.
#
#   make demo                  build the unix firmware, convert a model, run it
#   make test                  every test (host, unix firmware, qemu firmwares)
#   make firmware BOARD=<b>    unix | qemu_m0 | qemu_m3 | qemu_m4 | qemu_rv32 | rpi_pico | rpi_pico2 | esp32
#   make natmod ARCH=<a>       x64 | armv6m | armv7m | armv7emsp | xtensawin
#   make bench                 benchmark table, build/bench/bench.json
#   make fuzz FUZZ_SECONDS=N   libFuzzer over the blob loader and executor
#   make dist                  release artifacts in dist/: wheel, firmware, native modules
#
# MICROPY_DIR=<checkout> uses an existing MicroPython 1.25 tree instead of
# fetching one.

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
MICROPY_DIR ?= $(BUILD)/micropython
VENV := $(ROOT)/.venv
PYTHON := $(VENV)/bin/python
JOBS ?= $(shell nproc)
BOARD ?= unix

# Boards `make test` builds and runs MicroPython tests on.
TEST_BOARDS ?= unix qemu_m3 qemu_m0 qemu_m4 qemu_rv32

QEMU_BOARDS := qemu_m0 qemu_m3 qemu_m4 qemu_rv32
# Our manifests require() nothing from micropython-lib, but the freezer
# insists the library's folder exists: point it at an empty stand-in.
MPY_LIB_STUB := $(BUILD)/micropython-lib-stub
PORT_MAKE_ARGS := USER_C_MODULES=$(ROOT) MPY_LIB_DIR=$(MPY_LIB_STUB)
UNIX_MAKE_ARGS := VARIANT=standard MICROPY_PY_SSL=0 MICROPY_PY_BTREE=0 \
	FROZEN_MANIFEST=$(ROOT)/boards/unix/manifest.py $(PORT_MAKE_ARGS)

.PHONY: all demo dist test test-host test-mpy firmware natmod bench deps deps-system deps-python micropython clean distclean help
.DEFAULT_GOAL := help

# Feature areas add their own targets here (rp2, natmod, bench, fuzz ...);
# each fragment may append to TEST_EXTRA, the extra steps of `make test`.
TEST_EXTRA :=
include $(sort $(wildcard mk/*.mk))

help:
	@sed -n '1,14p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- dependencies

deps: deps-system deps-python micropython

deps-system: $(BUILD)/.deps-system
$(BUILD)/.deps-system: scripts/install_system_deps.sh
	@mkdir -p $(BUILD)
	scripts/install_system_deps.sh
	@touch $@

# The converter is installed as a user would install it (its own dependency
# list, which the pins in requirements.txt satisfy), but editable.
deps-python: $(VENV)/.installed host-lib
$(VENV)/.installed: requirements.txt requirements-nodeps.txt converter/pyproject.toml converter/setup.py converter/src/core_module.c
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PYTHON) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(PYTHON) -m pip install -q --disable-pip-version-check -c requirements.txt -e "converter[tensorflow,sklearn]"
	@touch $@

# The installed package carries the C core as it was when installed; every
# tool run from here uses the C as it is now (host_runtime.py, TINYML_HOST_LIB).
# Firmware is looked up in build/ whatever the current folder.
HOST_LIB := $(BUILD)/host/libtinyml_host.so
export TINYML_HOST_LIB := $(HOST_LIB)
export TINYML_FIRMWARE_DIR := $(BUILD)
.PHONY: host-lib
host-lib: $(VENV)/.installed
	@$(PYTHON) -c "from tinyml_converter.host_runtime import build_host_library as b; b('usermod_c', '$(HOST_LIB)')"

MPY_CROSS := $(MICROPY_DIR)/mpy-cross/build/mpy-cross

micropython: $(MICROPY_DIR)/py/mkrules.mk $(MPY_CROSS) $(MPY_LIB_STUB)/README.md
$(MPY_LIB_STUB)/README.md:
	@mkdir -p $(MPY_LIB_STUB)
	@echo "Empty stand-in for micropython-lib: tinyml's manifests need none of it." > $@
$(MICROPY_DIR)/py/mkrules.mk: | $(BUILD)/.deps-system
	@if [ "$(MICROPY_DIR)" != "$(BUILD)/micropython" ]; then \
		echo "error: MICROPY_DIR=$(MICROPY_DIR) is not a MicroPython source tree" >&2; exit 1; fi
	scripts/fetch_micropython.sh $(MICROPY_DIR)

# Built once here: left to the ports, it would inherit their BUILD= and
# land in the wrong place.
$(MPY_CROSS): $(MICROPY_DIR)/py/mkrules.mk
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross -j$(JOBS)

# -------------------------------------------------------------------- firmware

firmware: firmware-$(BOARD)

.PHONY: firmware-unix $(addprefix firmware-,$(QEMU_BOARDS))

# The recursive make is cheap when nothing changed; the copy keeps the
# contract paths (build/<board>/...) stable.
firmware-unix: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(BUILD)/unix/obj $(UNIX_MAKE_ARGS)
	@cp -p $(BUILD)/unix/obj/micropython $(BUILD)/unix/micropython
	@echo "firmware: $(BUILD)/unix/micropython"

$(addprefix firmware-,$(QEMU_BOARDS)): firmware-%: micropython deps-system
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD_DIR=$(ROOT)/boards/$* \
		BUILD=$(BUILD)/$*/obj $(PORT_MAKE_ARGS)
	@cp -p $(BUILD)/$*/obj/firmware.elf $(BUILD)/$*/firmware.elf
	@echo "firmware: $(BUILD)/$*/firmware.elf"


# ----------------------------------------------------------------------- tests

test: test-host test-mpy $(TEST_EXTRA)

# Firmware first: the host suite also runs models on it through `tinyml run`.
# Two workers, each taking whole files (a file's tests share its fixtures and
# caches, and test_parity_ops checks its families all together).
test-host: deps-python $(addprefix firmware-,$(TEST_BOARDS))
	$(PYTHON) -m pytest -q -n 2 --dist loadfile tests/host

# Model parity scripts are regenerated each run (TFLite is the oracle), then
# the same scripts run on every board in TEST_BOARDS, and so do the random
# convolution shapes of the sweep; the scikit-learn models' scripts
# (scikit-learn is their oracle) on unix, qemu_m0 and qemu_m3.
test-mpy: deps-python $(addprefix firmware-,$(TEST_BOARDS))
	$(PYTHON) scripts/gen_mpy_tests.py
	$(PYTHON) scripts/mpytest.py --micropython-dir $(MICROPY_DIR) $(TEST_BOARDS)
	$(PYTHON) scripts/gen_mpy_sweep.py
	$(PYTHON) scripts/mpytest.py --micropython-dir $(MICROPY_DIR) --dir $(BUILD)/mpytest/sweep $(TEST_BOARDS)
	$(PYTHON) scripts/gen_sklearn_mpy_tests.py
	$(PYTHON) scripts/mpytest.py --micropython-dir $(MICROPY_DIR) --dir $(BUILD)/mpytest/sklearn \
		$(filter unix qemu_m0 qemu_m3,$(TEST_BOARDS))

# ------------------------------------------------------------------------ demo

demo: deps-python firmware-unix
	$(PYTHON) examples/demo.py --micropython $(BUILD)/unix/micropython

# ---------------------------------------------------------------------- tidy

clean:
	rm -rf $(BUILD)/unix $(addprefix $(BUILD)/,$(QEMU_BOARDS)) $(BUILD)/host $(BUILD)/mpytest \
		$(BUILD)/rpi_pico $(BUILD)/rpi_pico2 $(BUILD)/natmod $(BUILD)/stock_* $(BUILD)/bench $(BUILD)/fuzz $(BUILD)/examples \
		$(BUILD)/test-dist $(ROOT)/dist converter/build

distclean:
	rm -rf $(BUILD) $(VENV)
