"""The Pico 2 (RP2350) firmware as built by `make firmware BOARD=rpi_pico2`:
no emulator here runs an RP2350, so what can be checked is what the boot
ROM and the cores will be given. The same DSP kernels run on a Cortex-M33
in `make test-m33` (QEMU's mps2-an505)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "converter"))
from tinyml_converter import uf2  # noqa: E402

BUILD = REPO / "build" / "rpi_pico2"
# UF2 family IDs of pico-sdk 2.x: Arm Secure image, and the "absolute"
# block picotool puts first (the RP2350-E10 erratum workaround).
RP2350_ARM_S = 0xE48BFF59
ABSOLUTE = 0xE48BFF57
FLASH = (0x10000000, 0x10000000 + 4 * 1024 * 1024)


@pytest.fixture(scope="module")
def elf():
    path = BUILD / "firmware.elf"
    if not path.exists():
        pytest.fail(f"{path} missing: make firmware BOARD=rpi_pico2")
    return path


def test_uf2_is_an_rp2350_arm_image():
    blocks = uf2.read_blocks((BUILD / "firmware.uf2").read_bytes(), "firmware.uf2")
    families = {b.family for b in blocks}
    assert RP2350_ARM_S in families and families <= {RP2350_ARM_S, ABSOLUTE}, [hex(f) for f in families]
    image = [b for b in blocks if b.family == RP2350_ARM_S]
    assert all(FLASH[0] <= b.address < FLASH[1] for b in image)
    # The firmware ends below the ROMFS partition (boards/rpi_pico2/mpconfigboard.h).
    assert max(b.address + len(b.payload) for b in image) <= FLASH[0] + 1024 * 1024


def test_firmware_is_built_for_the_m33_with_dsp(elf):
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"Tag_CPU_arch: v8-M.mainline", attrs), attrs
    assert re.search(r"Tag_DSP_extension: Allowed", attrs), attrs


def test_kernels_take_the_dsp_path(elf):
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    names = set(re.findall(r"\s(\w+)$", symbols, re.M))
    assert {"tml_dsp_fc4", "tml_dw_pixel_dsp"} <= names
    assert "tml_v7m_dot4" not in names and "tml_m0_dot4" not in names
