# Reliability: fuzzing the blob loader and executor, and stress runs on boards.
#
# tests/fuzz/: a libFuzzer target over the portable C core built with
# AddressSanitizer and UBSan, a structure-aware mutator that keeps the CRC
# valid, and a seed corpus of real blobs (tests/fuzz/make_seeds.py).
#
#   make fuzz FUZZ_SECONDS=N   fuzz for N seconds; the corpus grows in build/fuzz/corpus
#   make test-fuzz             replay tests/fuzz/regressions/, then a short
#                              fixed-seed round from the seeds alone
#   make test-stress           hostile blobs and long runs on unix and qemu boards
# `make test` runs test-fuzz and test-stress.
#
# A crash leaves its input in build/fuzz/artifacts/; once fixed, copy it to
# tests/fuzz/regressions/<what>.bin so every `make test` replays it.

FUZZ_SECONDS ?= 600
FUZZ_TEST_RUNS ?= 100000
FUZZ_MAX_LEN := 32768
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_BIN := $(FUZZ_DIR)/fuzz_blob
FUZZ_SEEDS := $(FUZZ_DIR)/seeds
FUZZ_CORE := $(addprefix usermod_c/,$(shell cat usermod_c/core_sources.txt))
FUZZ_CFLAGS := -std=c99 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iusermod_c
FUZZ_ARGS := -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/

.PHONY: fuzz test-fuzz fuzz-deps fuzz-seeds
TEST_EXTRA += test-fuzz

fuzz-deps: $(BUILD)/.deps-fuzz
$(BUILD)/.deps-fuzz: tests/fuzz/install_deps.sh
	@mkdir -p $(BUILD)
	tests/fuzz/install_deps.sh
	@touch $@

$(FUZZ_BIN): tests/fuzz/fuzz_blob.c $(FUZZ_CORE) $(wildcard usermod_c/*.h) usermod_c/core_sources.txt | $(BUILD)/.deps-fuzz
	@mkdir -p $(FUZZ_DIR)
	clang $(FUZZ_CFLAGS) tests/fuzz/fuzz_blob.c $(FUZZ_CORE) -o $@.tmp
	@mv $@.tmp $@

# Real blobs of the model set (the .tflite files come from the parity tests'
# cache when present).
fuzz-seeds: $(FUZZ_DIR)/.seeds
$(FUZZ_DIR)/.seeds: tests/fuzz/make_seeds.py tests/models.py tests/host/test_model_loader.py \
		tests/host/blobkit.py tests/host/test_lstm.py tests/host/test_svdf.py tests/host/tflite_build.py \
		$(wildcard converter/tinyml_converter/*.py) | deps-python
	rm -rf $(FUZZ_SEEDS)
	$(PYTHON) tests/fuzz/make_seeds.py $(FUZZ_SEEDS)
	@touch $@

fuzz: $(FUZZ_BIN) $(FUZZ_DIR)/.seeds
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(FUZZ_BIN) $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus $(FUZZ_SEEDS)

# Fixed seed and run count, fresh corpus: the same executions every time
# (about 30 s); the time cap only guards a very slow machine.
test-fuzz: $(FUZZ_BIN) $(FUZZ_DIR)/.seeds
	@mkdir -p $(FUZZ_DIR)/artifacts
	@regs=$$(ls tests/fuzz/regressions/*.bin 2>/dev/null); \
	if [ -n "$$regs" ]; then \
		echo "fuzz: replaying $$(echo $$regs | wc -w) regression inputs from tests/fuzz/regressions"; \
		$(FUZZ_BIN) $(FUZZ_ARGS) $$regs > $(FUZZ_DIR)/test-regressions.log 2>&1 \
			|| { tail -n 60 $(FUZZ_DIR)/test-regressions.log; exit 1; }; \
	fi
	@rm -rf $(FUZZ_DIR)/test-corpus && mkdir -p $(FUZZ_DIR)/test-corpus
	@echo "fuzz: $(FUZZ_TEST_RUNS) executions, seed 1 (log: $(FUZZ_DIR)/test-fuzz.log)"
	@$(FUZZ_BIN) $(FUZZ_ARGS) -seed=1 -runs=$(FUZZ_TEST_RUNS) -max_total_time=60 \
		$(FUZZ_DIR)/test-corpus $(FUZZ_SEEDS) > $(FUZZ_DIR)/test-fuzz.log 2>&1 \
		|| { tail -n 60 $(FUZZ_DIR)/test-fuzz.log; exit 1; }
	@grep -E '^(Done|stat::average_exec_per_sec)' $(FUZZ_DIR)/test-fuzz.log

# ------------------------------------------------------------ stress on boards
# Hostile blobs on the emulated Cortex-M boards (and unix), and long runs:
# scripts/gen_mpy_stress.py writes the scripts and their expected output
# (TFLite's), scripts/mpytest.py runs them. The emulated RP2040 is not in
# this list yet.
STRESS_BOARDS ?= unix qemu_m3 qemu_m0
STRESS_DIR := $(BUILD)/mpytest/stress

.PHONY: test-stress
TEST_EXTRA += test-stress

test-stress: deps-python $(addprefix firmware-,$(STRESS_BOARDS))
	$(PYTHON) scripts/gen_mpy_stress.py
	$(PYTHON) scripts/mpytest.py --micropython-dir $(MICROPY_DIR) --dir $(STRESS_DIR) $(STRESS_BOARDS)
