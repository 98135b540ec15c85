// esp32_c3: 4 MB ESP32-C3 module with the _tinyml module.
#define MICROPY_HW_BOARD_NAME "ESP32-C3 module (tinyml)"
#define MICROPY_HW_MCU_NAME "ESP32C3"

// The REPL on the UART as well as on the chip's USB serial, for modules
// with a USB-UART bridge (as MicroPython's generic C3 board).
#define MICROPY_HW_ENABLE_UART_REPL (1)

// Bluetooth (NimBLE) is left out, as on boards/esp32: its flash goes to the
// model partitions (partitions-4MiB-tinyml.csv). Wi-Fi stays.
#define MICROPY_PY_BLUETOOTH (0)
