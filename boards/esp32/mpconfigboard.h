// esp32: 4 MB ESP32 module with the _tinyml module.
#define MICROPY_HW_BOARD_NAME "ESP32 module (tinyml)"
#define MICROPY_HW_MCU_NAME "ESP32"

// Bluetooth (NimBLE) is left out: its ~300 KB of flash go to the model
// filesystem instead (partitions-4MiB-tinyml.csv). Wi-Fi stays.
#define MICROPY_PY_BLUETOOTH (0)
