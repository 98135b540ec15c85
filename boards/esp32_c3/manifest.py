# Frozen into the esp32_c3 firmware: the port's own modules (_boot.py mounts the
# vfs partition), asyncio, and tinyml. The stock ESP32-C3 manifest also
# require()s networking helpers and drivers from micropython-lib; add them
# back here if you have micropython-lib checked out.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
include("../manifest_tinyml.py")
