// rpi_pico2: Raspberry Pi Pico 2 (RP2350, 4 MB flash) with the _tinyml module.
#define MICROPY_HW_BOARD_NAME                   "Raspberry Pi Pico 2"

// 4 MB of flash: 1 MB for the firmware (as on the stock Pico 2), then 1 MB
// of ROMFS for models (used in place: `tinyml deploy --rom`), then a 2 MB
// littlefs filesystem, which must have room to stage one ROMFS image.
#define MICROPY_HW_FLASH_STORAGE_BYTES          (2 * 1024 * 1024)
#define MICROPY_HW_ROMFS_BYTES                  (1024 * 1024)
