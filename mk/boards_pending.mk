# Boards whose build is not wired in yet. Replace with the real rules.
.PHONY: firmware-rpi_pico firmware-esp32
firmware-rpi_pico firmware-esp32:
	@echo "error: BOARD=$(subst firmware-,,$@) is not wired into this Makefile yet (see README, 'Boards')" >&2; exit 2
