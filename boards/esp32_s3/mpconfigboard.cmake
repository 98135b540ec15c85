# esp32_s3: an ESP32-S3 module with 8 MB flash and optional quad SPIRAM
# (ESP32-S3-WROOM-1 N8 / N8R2 and alike), with tinyml. Native USB serial.
# Octal-SPIRAM modules (N8R8) want boards/sdkconfig.spiram_oct instead.
# Build: make firmware BOARD=esp32_s3 (needs ESP-IDF, see ports/esp32/README.md).
set(IDF_TARGET esp32s3)

# MicroPython's 8 MB table: 1984 KB firmware, 6 MB filesystem for models.
# As for esp32: the line naming our partition table (with ROMFS) is written
# here, with its absolute path, which an sdkconfig fragment cannot expand.
file(WRITE ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
    "CONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${MICROPY_BOARD_DIR}/partitions-8MiB-tinyml.csv\"\n")

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    boards/sdkconfig.usb
    boards/sdkconfig.ble
    boards/sdkconfig.spiram_sx
    ${MICROPY_BOARD_DIR}/sdkconfig.board
    ${CMAKE_BINARY_DIR}/sdkconfig.tinyml_partitions
)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
