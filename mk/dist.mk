# Release artifacts: `make dist` fills dist/ (scripts/make_dist.py says
# what is in it); `make test-dist` installs its wheel into a fresh virtual
# environment and uses it, and its firmware, as a user outside this
# checkout would (scripts/test_dist.py).
#
# The ESP32 images are not in dist/: they need ESP-IDF's toolchain, which
# no registry these machines reach carries (make firmware BOARD=esp32).

DIST := $(ROOT)/dist
DIST_BOARDS := unix qemu_m0 qemu_m3 qemu_m4 rpi_pico
DIST_NATMOD_ARCHS := x64 armv6m armv7m armv7emsp

.PHONY: dist test-dist

dist: deps-python $(addprefix firmware-,$(DIST_BOARDS)) $(addprefix natmod-,$(DIST_NATMOD_ARCHS))
	$(PYTHON) scripts/make_dist.py --build $(BUILD) --out $(DIST) --boards $(DIST_BOARDS) \
		--natmod $(DIST_NATMOD_ARCHS)

TEST_EXTRA += test-dist
test-dist: dist
	$(PYTHON) scripts/test_dist.py --dist $(DIST) --work $(BUILD)/test-dist --constraints requirements.txt
