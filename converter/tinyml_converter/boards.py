"""What each board offers a model: the one place for these estimates.

flash_for_models: bytes a model file can occupy (the filesystem left after the
firmware, or the memory a test harness loads the blob into).
romfs: bytes of ROMFS, where a model is used in place (its blob costs no
RAM); 0 where the board has none.
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
    # qemu boards: the machine arguments, and where QEMU's loader device can
    # put a model (memory the firmware never uses) and how much fits there.
    qemu_args: tuple = ()
    preload_base: int = 0
    preload_limit: int = 0
    romfs: int = 0
    # Where ROMFS and the littlefs filesystem sit in flash (boards with a
    # memory-mapped flash whose image tinyml writes: rpi_pico).
    flash_base: int = 0
    romfs_offset: int = 0
    fs_offset: int = 0
    fs_size: int = 0
    qemu_system: str = "qemu-system-arm"
    # A Cortex-M core with the DSP extension (SMLAD): where --fc-weights int16 pays.
    dsp: bool = False
    # An armv7-M core or later (SMLAL): where --fc-weights pairs pays.
    smlal: bool = False


BOARDS = {
    "unix": Board("unix", "MicroPython unix port (host)", 64 * MIB, 2 * MIB,
                  "default heap of the 64-bit unix port (-X heapsize changes it)"),
    # microbit: QEMU counts the firmware's load image as reaching past 256 KB
    # (its data segment includes the heap), so models go in the top half.
    "qemu_m0": Board("qemu_m0", "qemu MICROBIT, Cortex-M0 (RP2040 ISA)", 512 * KIB, 180 * KIB,
                     "192 KB heap of 256 KB SRAM; models preloaded into the top 512 KB of flash",
                     ("-machine", "microbit", "-global", "nrf51-soc.flash-size=1048576",
                      "-global", "nrf51-soc.sram-size=262144"), 0x00080000, 0x00100000,
                     romfs=512 * KIB),
    "qemu_m3": Board("qemu_m3", "qemu MPS2_AN385, Cortex-M3", 4 * MIB, 2 * MIB - 16 * KIB,
                     "2 MB heap of the 4 MB RAM; models preloaded into the SSRAM at 0x21000000",
                     ("-machine", "mps2-an385"), 0x21000000, 0x21400000, romfs=4 * MIB, smlal=True),
    "qemu_m4": Board("qemu_m4", "qemu mps2-an386, Cortex-M4 + DSP", 4 * MIB, 2 * MIB - 16 * KIB,
                     "as qemu_m3, with a Cortex-M4",
                     ("-machine", "mps2-an386"), 0x21000000, 0x21400000, romfs=4 * MIB, dsp=True,
                     smlal=True),
    # boards/qemu_rv32/mpconfigboard.mk: the firmware in the first 4 MB of
    # RAM, .data and .bss in the next 2 MB, the stack above; models go 16 MB up.
    "qemu_rv32": Board("qemu_rv32", "qemu virt, RISC-V rv32imac (the ESP32-C3/C6 ISA)", 4 * MIB,
                       1792 * KIB - 16 * KIB,
                       "1.75 MB heap; models preloaded into RAM at 0x81000000",
                       ("-machine", "virt", "-bios", "none"), 0x81000000, 0x81400000, romfs=4 * MIB,
                       qemu_system="qemu-system-riscv32"),
    # boards/rpi_pico/mpconfigboard.h: firmware 640 KB, ROMFS 640 KB, littlefs 768 KB.
    "rpi_pico": Board("rpi_pico", "Raspberry Pi Pico (RP2040)", 768 * KIB, 180 * KIB,
                      "2 MB flash: 640 KB ROMFS for models (in place), 768 KB littlefs; "
                      "~180 KB heap free of 264 KB SRAM",
                      romfs=640 * KIB, flash_base=0x10000000, romfs_offset=640 * KIB,
                      fs_offset=1280 * KIB, fs_size=768 * KIB),
    # boards/rpi_pico2/mpconfigboard.h: firmware 1 MB, ROMFS 1 MB, littlefs 2 MB.
    "rpi_pico2": Board("rpi_pico2", "Raspberry Pi Pico 2 (RP2350, Cortex-M33)", 2 * MIB, 420 * KIB,
                       "4 MB flash: 1 MB ROMFS for models (in place), 2 MB littlefs; "
                       "~420 KB heap free of 520 KB SRAM", romfs=1 * MIB, dsp=True, smlal=True),
    # boards/esp32/partitions-4MiB-tinyml.csv and boards/esp32_s3/partitions-8MiB-tinyml.csv.
    "esp32": Board("esp32", "ESP32 (no PSRAM)", 1344 * KIB, 100 * KIB,
                   "4 MB flash: 1 MB ROMFS for models (in place), 1344 KB filesystem; ~100 KB heap "
                   "free without PSRAM", romfs=1024 * KIB),
    "esp32_s3": Board("esp32_s3", "ESP32-S3, 8 MB flash", 4 * MIB, 250 * KIB,
                      "8 MB flash: 2 MB ROMFS for models (in place), 4 MB filesystem; ~250 KB heap "
                      "free without PSRAM (PSRAM, when fitted, adds to it)", romfs=2 * MIB),
    # boards/esp32_c3: the esp32 table; 400 KB of SRAM, no PSRAM.
    "esp32_c3": Board("esp32_c3", "ESP32-C3 (RISC-V)", 1344 * KIB, 150 * KIB,
                      "4 MB flash: 1 MB ROMFS for models (in place), 1344 KB filesystem; ~150 KB heap "
                      "free of 400 KB SRAM", romfs=1024 * KIB),
}


# The model state the firmware builds at load on a 32-bit board
# (docs/blob-format.md; tests/host/test_layout.py checks both against the
# Cortex-M0 build): per tensor, per op, and 2 bytes per operand.
STATE_TENSOR_BYTES = 44
STATE_OP_BYTES = 72


def state_bytes(tensor_count: int, op_count: int, operand_count: int,
                tensor_bytes: int = STATE_TENSOR_BYTES, op_bytes: int = STATE_OP_BYTES) -> int:
    """Bytes of the state tml_model_load() fills, each part rounded up to 8;
    operand_count includes the model's inputs and outputs."""
    def up8(n):
        return (n + 7) & ~7
    return up8(tensor_bytes * tensor_count) + up8(op_bytes * op_count) + up8(2 * operand_count)


def ram_needed(arena_size: int, blob_size: int, from_file: bool = True, state: int = 0) -> int:
    """Heap bytes to run a model: the arena, the state and the runtime's own
    overhead; tinyml.load(path) also reads the blob into RAM, unless the file
    is in ROMFS (or the blob is frozen, or a memoryview of flash)."""
    return arena_size + state + RUNTIME_OVERHEAD + (blob_size if from_file else 0)


def placement(board: Board, arena_size: int, blob_size: int, state: int):
    """How `board` would hold the model: ("romfs" | "file", RAM needed), the
    first that fits, else the one needing least RAM. In ROMFS the blob costs
    flash only; from the filesystem it is read into the heap."""
    options = []
    if board.romfs:
        options.append(("romfs", blob_size <= board.romfs, ram_needed(arena_size, blob_size, False, state)))
    options.append(("file", blob_size <= board.flash_for_models, ram_needed(arena_size, blob_size, True, state)))
    for where, flash_ok, ram in options:
        if flash_ok and ram <= board.heap:
            return where, ram
    where, _, ram = min(options, key=lambda o: (not o[1], o[2]))
    return where, ram


def qemu_command(board: str, firmware, preloads=()) -> list:
    """qemu-system-* arguments booting `firmware` on `board`, with each
    (path, address) of `preloads` placed in board memory by QEMU's loader.
    The serial port is left to the caller (-serial pty, or stdio)."""
    b = BOARDS[board]
    if not b.qemu_args:
        raise ValueError(f"{board} is not a qemu board")
    cmd = [b.qemu_system, *b.qemu_args, "-nographic", "-monitor", "null", "-semihosting"]
    for path, addr in preloads:
        cmd += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    return cmd + ["-kernel", str(firmware)]


def model_state(info) -> int:
    """state_bytes() of a model read by blob.read_blob()."""
    operands = sum(len(op["inputs"]) + len(op["outputs"]) for op in info.ops)
    return state_bytes(len(info.tensors), len(info.ops), operands + len(info.inputs) + len(info.outputs))


def model_ram(info, blob_size: int) -> tuple:
    """(RAM in place, RAM read from a file) for a model read by blob.read_blob()."""
    state = model_state(info)
    arena = info.header["arena_size"]
    return ram_needed(arena, blob_size, False, state), ram_needed(arena, blob_size, True, state)
