// esp32_s3: ESP32-S3 module (8 MB flash, SPIRAM) with the _tinyml module.
#define MICROPY_HW_BOARD_NAME "ESP32-S3 module (tinyml)"
#define MICROPY_HW_MCU_NAME "ESP32S3"

// Modules wired to a USB-UART bridge as well as native USB get both REPLs.
#define MICROPY_HW_ENABLE_UART_REPL (1)
