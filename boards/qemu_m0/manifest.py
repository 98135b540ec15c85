# Frozen into the qemu_m0 firmware.
include("../manifest_tinyml.py")
