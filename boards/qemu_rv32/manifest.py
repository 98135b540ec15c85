# Frozen into the qemu_rv32 firmware.
include("../manifest_tinyml.py")
