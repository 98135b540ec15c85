# esp32_c3: a 4 MB ESP32-C3 module (RISC-V rv32imc, ESP32-C3-WROOM-02,
# ESP32-C3 SuperMini and alike) with tinyml. Build: make firmware
# BOARD=esp32_c3 (MicroPython's ports/esp32 with BOARD_DIR pointing here;
# needs ESP-IDF, see ports/esp32/README.md). Without ESP-IDF, the rv32imc
# native module (make natmod ARCH=rv32imc) runs on a stock firmware.
set(IDF_TARGET esp32c3)

# As boards/esp32: our partition table, named with its absolute path.
file(WRITE ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
    "CONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${MICROPY_BOARD_DIR}/partitions-4MiB-tinyml.csv\"\n")

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    boards/ESP32_GENERIC_C3/sdkconfig.c3usb
    ${MICROPY_BOARD_DIR}/sdkconfig.board
    ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
