# Frozen into the rpi_pico2 firmware: the port's own modules (_boot.py mounts
# the flash filesystem, rp2.py), asyncio, and tinyml. The stock Pico 2 manifest
# also require()s drivers from micropython-lib, which is not needed here.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
include("../manifest_tinyml.py")
