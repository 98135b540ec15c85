# Xtensa portability check, part of `make test`: compile every file of the
# portable C core (usermod_c/core_sources.txt) with Debian's Xtensa compiler
# (ESP8266's lx106; the ESP32's own toolchain is not in Debian), warnings as
# errors. It catches what x86-64 and Arm builds hide: a different int and
# long layout, char signedness, alignment. Nothing is linked or run.

XTENSA_CC := xtensa-lx106-elf-gcc
XTENSA_BUILD := $(BUILD)/xtensa_check
XTENSA_CFLAGS := -std=c99 -Os -Wall -Wextra -Werror -ffreestanding -I$(XTENSA_BUILD)/include

TEST_EXTRA += test-xtensa
.PHONY: test-xtensa

$(BUILD)/.deps-xtensa: scripts/install_system_deps.sh mk/xtensa_check.mk | $(BUILD)/.deps-system
	scripts/install_system_deps.sh gcc-xtensa-lx106
	@touch $@

# Debian's lx106 compiler comes without a C library, so it has the
# freestanding headers (stdint.h, stddef.h) but no string.h: declare the
# standard functions the core may call, exactly as C99 does.
$(XTENSA_BUILD)/include/string.h: mk/xtensa_check.mk
	@mkdir -p $(dir $@)
	@printf '%s\n' '#include <stddef.h>' \
		'void *memcpy(void *restrict dst, const void *restrict src, size_t n);' \
		'void *memmove(void *dst, const void *src, size_t n);' \
		'void *memset(void *dst, int c, size_t n);' \
		'int memcmp(const void *a, const void *b, size_t n);' \
		'size_t strlen(const char *s);' > $@

test-xtensa: $(BUILD)/.deps-xtensa $(XTENSA_BUILD)/include/string.h
	@fail=0; n=0; for src in $$(cat usermod_c/core_sources.txt); do \
		n=$$((n + 1)); \
		$(XTENSA_CC) $(XTENSA_CFLAGS) -c usermod_c/$$src -o $(XTENSA_BUILD)/$${src%.c}.o || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "xtensa check: $$n files of usermod_c/core_sources.txt compile cleanly with $(XTENSA_CC)"; \
	else echo "xtensa check FAILED: fix the errors above (the core must build warning-free on Xtensa)" >&2; exit 1; fi
