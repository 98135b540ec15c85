# `make bench`: the performance table (bench/bench.py says how each figure is
# measured), also written to build/bench/bench.json, then the C stack of one
# invoke per model and qemu board (bench/stack.py, build/bench/stack.json).
# BENCH_ARGS and STACK_ARGS pass options through, e.g.
# BENCH_ARGS="--models kws_dscnn --targets qemu_m4" STACK_ARGS="--models kws_dscnn".
.PHONY: bench bench-smoke bench-deps

# TensorFlow Lite Micro's Python interpreter, for its arena next to ours.
# Only nightly builds exist (this one pinned), so it is optional: without
# it the TFLM column stays empty and the rest of the table is unchanged.
TFLM_PY_DEPS := tflite-micro==0.dev20261023182759 PyYAML==6.0.3

bench-deps: deps-python
	@$(PYTHON) -m pip install -q --disable-pip-version-check $(TFLM_PY_DEPS) \
		|| echo "bench: $(TFLM_PY_DEPS) could not be installed; the TFLite Micro arena column stays empty"

bench: bench-deps $(addprefix firmware-,unix $(QEMU_BOARDS))
	$(PYTHON) bench/bench.py $(BENCH_ARGS)
	$(PYTHON) bench/stack.py $(STACK_ARGS)

# Part of `make test`: the benchmark runs on one small model, and the DSP
# build (qemu_m4), the Cortex-M3 build (qemu_m3) and the unix build all give
# TFLite's output bytes (bench.py exits non-zero otherwise); the per-layer
# trace runs on it too.
bench-smoke: deps-python firmware-unix firmware-qemu_m3 firmware-qemu_m4
	$(PYTHON) bench/bench.py --models gesture_conv1d --targets qemu_m3,qemu_m4,unix \
		--runs 3 --qemu-runs 1 --json $(BUILD)/bench/smoke.json --layers gesture_conv1d:qemu_m4

TEST_EXTRA += bench-smoke
