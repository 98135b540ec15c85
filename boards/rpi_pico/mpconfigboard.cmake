# rpi_pico: Raspberry Pi Pico (RP2040) with tinyml. Build: make firmware BOARD=rpi_pico
# (MicroPython's ports/rp2 with BOARD_DIR pointing here).
set(PICO_BOARD "pico")
set(PICO_PLATFORM "rp2040")

# The rp2 port ignores a FROZEN_MANIFEST make variable: the board names it.
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
