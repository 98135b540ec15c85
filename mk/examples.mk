# Examples (examples/gesture, gesture_stream, keyword, anomaly, learn_gestures): each trains on synthetic
# data, converts, then its board script runs on the unix firmware and one
# emulated Cortex-M board. A model is retrained only when its example's
# files or the converter change.
EXAMPLES := gesture gesture_stream keyword anomaly learn_gestures
EXAMPLE_BOARDS ?= unix qemu_m0

.PHONY: test-examples
TEST_EXTRA += test-examples

define tinyml_example_rule
$(BUILD)/examples/$(1)/$(1).tinyml: $(wildcard examples/$(1)/*.py) examples/gesture/gestures.py $(wildcard converter/tinyml_converter/*.py) | $(VENV)/.installed
	@mkdir -p $$(dir $$@)
	set -o pipefail; $(PYTHON) examples/$(1)/train.py $$(dir $$@) 2>&1 | grep -E '^$(1): '
endef
$(foreach e,$(EXAMPLES),$(eval $(call tinyml_example_rule,$(e))))

test-examples: $(foreach e,$(EXAMPLES),$(BUILD)/examples/$(e)/$(e).tinyml) $(addprefix firmware-,$(EXAMPLE_BOARDS))
	@set -e; for e in $(EXAMPLES); do \
		$(PYTHON) examples/board_run.py examples/$$e $(BUILD)/examples/$$e/$$e.tinyml $(EXAMPLE_BOARDS); \
	done
