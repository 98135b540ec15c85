# esp32, esp32_s3, esp32_c3: MicroPython's esp32 port (ESP-IDF) with _tinyml and the
# frozen tinyml package. ESP-IDF and its Xtensa toolchain are in none of the
# package registries this machine reaches (Debian, PyPI, npm), so nothing
# here builds without a user's own ESP-IDF; `make test` checks the C core
# with Debian's Xtensa compiler instead (mk/xtensa_check.mk).
# Recipe and flashing: ports/esp32/README.md.

ESP32_BOARDS := esp32 esp32_s3 esp32_c3
ESP_IDF_VERSIONS := v5.2.2, v5.3 or v5.4

.PHONY: $(addprefix firmware-,$(ESP32_BOARDS))

# Extra idf.py arguments go through the environment: the port's Makefile
# adds its own (board, user modules) to IDFPY_FLAGS.
$(addprefix firmware-,$(ESP32_BOARDS)): firmware-%:
	@if [ -z "$$IDF_PATH" ] || ! command -v idf.py >/dev/null 2>&1; then \
		echo "error: BOARD=$* needs ESP-IDF ($(ESP_IDF_VERSIONS)), which is not installed here" >&2; \
		echo "  (IDF_PATH unset or idf.py not on PATH). ESP-IDF is not available from this machine's" >&2; \
		echo "  package registries, so it cannot be installed automatically. With ESP-IDF installed:" >&2; \
		echo "    . \$$IDF_PATH/export.sh && make firmware BOARD=$* MICROPY_DIR=<micropython 1.25 git checkout>" >&2; \
		echo "  (see ports/esp32/README.md)." >&2; \
		exit 2; \
	fi
	$(MAKE) micropython
	IDFPY_FLAGS="-D MICROPY_LIB_DIR=$(MPY_LIB_STUB)" \
		$(MAKE) -C $(MICROPY_DIR)/ports/esp32 BOARD_DIR=$(ROOT)/boards/$* \
		BUILD=$(BUILD)/$*/obj USER_C_MODULES=$(ROOT)/usermod_c/micropython.cmake
	@cp -p $(BUILD)/$*/obj/firmware.bin $(BUILD)/$*/obj/micropython.elf $(BUILD)/$*/
	@echo "firmware: $(BUILD)/$*/firmware.bin (flash at 0x$(if $(filter esp32,$*),1000,0))"
