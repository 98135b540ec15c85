// rpi_pico: Raspberry Pi Pico (RP2040, 2 MB flash) with the _tinyml module.
#define MICROPY_HW_BOARD_NAME                   "Raspberry Pi Pico"

// Same split as the stock Pico: 640 KB for firmware, the rest a littlefs
// filesystem where deployed .tinyml models live.
#define MICROPY_HW_FLASH_STORAGE_BYTES          (1408 * 1024)
