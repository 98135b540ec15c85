# Frozen into the qemu_m3 firmware.
include("../manifest_tinyml.py")
