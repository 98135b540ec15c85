# Frozen into the qemu_m4 firmware.
include("../manifest_tinyml.py")
