"""What each board offers a model: the one place for these estimates.

flash_for_models: bytes a model file can occupy (the filesystem left after the
firmware, or the memory a test harness loads the blob into).
heap: bytes of MicroPython heap free after boot, available to the model.
Numbers are estimates from MicroPython 1.25's default board configurations
(and our board definitions for qemu); `tinyml check` states them, and a
real measurement on the board beats them.
"""

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB

# RAM the runtime needs besides the arena: the Model object, its tensor
# pointers and the Python-side buffers of one invoke() (input/output copies).
RUNTIME_OVERHEAD = 2 * KIB


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    flash_for_models: int
    heap: int
    note: str


BOARDS = {
    "unix": Board("unix", "MicroPython unix port (host)", 64 * MIB, 2 * MIB,
                  "default heap of the 64-bit unix port (-X heapsize changes it)"),
    "qemu_m0": Board("qemu_m0", "qemu MICROBIT, Cortex-M0 (RP2040 ISA)", 64 * KIB, 160 * KIB,
                     "256 KB SRAM as configured by our qemu args; model loaded into RAM"),
    "qemu_m3": Board("qemu_m3", "qemu MPS2_AN385, Cortex-M3", 2 * MIB, 1 * MIB,
                     "4 MB RAM board; our build raises the heap to 1 MB"),
    "qemu_m4": Board("qemu_m4", "qemu mps2-an386, Cortex-M4 + DSP", 2 * MIB, 1 * MIB,
                     "copy of MPS2_AN385 with a Cortex-M4; heap raised to 1 MB"),
    "rpi_pico": Board("rpi_pico", "Raspberry Pi Pico (RP2040)", 1408 * KIB, 180 * KIB,
                      "2 MB flash with a 1408 KB filesystem; ~180 KB heap free of 264 KB SRAM"),
    "esp32": Board("esp32", "ESP32 (no PSRAM)", 2 * MIB, 100 * KIB,
                   "4 MB flash with a 2 MB vfs partition; ~100 KB heap free without PSRAM"),
}


def ram_needed(arena_size: int, blob_size: int, from_file: bool = True) -> int:
    """Heap bytes to run a model: tinyml.load(path) reads the blob into RAM;
    a blob frozen into flash or passed as a memoryview of ROM does not."""
    return arena_size + RUNTIME_OVERHEAD + (blob_size if from_file else 0)
