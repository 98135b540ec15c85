# esp32: a 4 MB ESP32 module (ESP32-WROOM-32 and alike) with tinyml.
# Build: make firmware BOARD=esp32 (MicroPython's ports/esp32 with BOARD_DIR
# pointing here; needs ESP-IDF, see ports/esp32/README.md).
set(IDF_TARGET esp32)

# sdkconfig fragments cannot expand variables and a relative partition file
# name is looked up in the port's folder, so the line naming our table is
# written here, with its absolute path.
file(WRITE ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
    "CONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${MICROPY_BOARD_DIR}/partitions-4MiB-tinyml.csv\"\n")

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${MICROPY_BOARD_DIR}/sdkconfig.board
    ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
