// rpi_pico: Raspberry Pi Pico (RP2040, 2 MB flash) with the _tinyml module.
#define MICROPY_HW_BOARD_NAME                   "Raspberry Pi Pico"

// 2 MB of flash: 640 KB for the firmware (as on the stock Pico), then
// 640 KB of ROMFS, then a 768 KB littlefs filesystem.
// - ROMFS (mounted at /rom) is where models go: a file there is mapped flash,
//   so tinyml.load() uses it in place and the model costs RAM only for its
//   arena and tables. `tinyml deploy --rom` and `tinyml flash --rom` write it.
// - littlefs (/) holds scripts and data, and stages a new ROMFS image while
//   `tinyml deploy --rom` sends it, so it must have room for one image.
// MicroPython's rp2 port puts ROMFS just below the filesystem.
#define MICROPY_HW_FLASH_STORAGE_BYTES          (768 * 1024)
#define MICROPY_HW_ROMFS_BYTES                  (640 * 1024)
