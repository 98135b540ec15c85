# rpi_pico2: Raspberry Pi Pico 2 (RP2350, its two Cortex-M33 cores) with
# tinyml. Build: make firmware BOARD=rpi_pico2 (MicroPython's ports/rp2
# with BOARD_DIR pointing here). The M33 has the DSP extension, so the
# kernels take their SMLAD path (TML_ARCH_DSP), as on a Cortex-M4.
set(PICO_BOARD "pico2")
set(PICO_PLATFORM "rp2350")

# The rp2 port ignores a FROZEN_MANIFEST make variable: the board names it.
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
