# Cortex-M33 (armv8-m.main + DSP, the RP2350's Arm core): the C core built
# as for a firmware and run in a bare-metal harness on QEMU's mps2-an505
# (tests/m33/harness.c; MicroPython's qemu port has no board for that
# machine). `make test` runs every generated model parity script's model on
# it and compares with TFLite's bytes (scripts/m33_test.py).

M33_BUILD := $(BUILD)/m33
M33_COMMON := -mthumb -mfloat-abi=soft -Os -std=c99 -Wall -Wextra -Werror \
	-ffunction-sections -fdata-sections -I$(ROOT)/usermod_c
M33_SOURCES := $(addprefix usermod_c/,$(shell cat usermod_c/core_sources.txt)) tests/m33/harness.c

.PHONY: test-m33

# harness.elf: compiled for the M33 itself. harness_m4.elf: compiled for
# the Cortex-M4 (armv7e-m, DSP), as the armv7emsp native module is, to show
# that code built that way runs on the M33 unchanged.
$(M33_BUILD)/harness.elf: M33_CPU := -mcpu=cortex-m33
$(M33_BUILD)/harness_m4.elf: M33_CPU := -mcpu=cortex-m4
$(M33_BUILD)/harness.elf $(M33_BUILD)/harness_m4.elf: $(M33_SOURCES) tests/m33/an505.ld \
		$(wildcard usermod_c/*.h usermod_c/*.inc) mk/m33.mk | $(BUILD)/.deps-system
	@mkdir -p $(M33_BUILD)
	arm-none-eabi-gcc $(M33_CPU) $(M33_COMMON) -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-T tests/m33/an505.ld -Wl,--gc-sections -o $@ $(M33_SOURCES) -lm

# Runs after test-mpy, which generated build/mpytest/generated/.
test-m33: $(M33_BUILD)/harness.elf $(M33_BUILD)/harness_m4.elf deps-python
	@test -f $(BUILD)/mpytest/generated/blobs.json || $(PYTHON) scripts/gen_mpy_tests.py
	$(PYTHON) scripts/m33_test.py $(M33_BUILD)/harness.elf $(M33_BUILD)/harness_m4.elf

TEST_EXTRA += test-m33
