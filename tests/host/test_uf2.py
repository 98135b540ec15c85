"""UF2 files (uf2.py) and `tinyml flash --rom`, which writes models into the
Pico's ROMFS as a UF2 file, without hardware.

The blocks written are read back here with struct at the format's own
offsets, not with uf2.read_blocks, so a reader and a writer that agree on a
wrong layout cannot pass together. The emulated Pico test
(tests/rp2/test_pico_romfs.py) boots such a file.
"""

import struct
import sys
from pathlib import Path

import pytest

from tinyml_converter import cli, romfs, uf2
from tinyml_converter import flash as flash_mod
from tinyml_converter.boards import BOARDS
from tinyml_converter.errors import UsageError

sys.path.insert(0, str(Path(__file__).parent))
from blobkit import BlobBuilder  # noqa: E402

PICO = BOARDS["rpi_pico"]
ROMFS_ADDRESS = PICO.flash_base + PICO.romfs_offset
FIRMWARE = Path(__file__).resolve().parents[2] / "build" / "rpi_pico" / "firmware.uf2"


def raw_blocks(data):
    """[(flags, address, payload size, number, count, family, payload)] by the format's offsets."""
    assert len(data) % 512 == 0
    out = []
    for off in range(0, len(data), 512):
        b = data[off:off + 512]
        m0, m1, flags, addr, size, number, count, family = struct.unpack("<8I", b[:32])
        assert (m0, m1, struct.unpack("<I", b[508:])[0]) == (0x0A324655, 0x9E5D5157, 0x0AB16F30)
        assert b[32 + size:508] == bytes(476 - size)
        out.append((flags, addr, size, number, count, family, b[32:32 + size]))
    return out


def flash_bytes(data):
    """{address: byte} the UF2 file writes: what the boot ROM would put in flash."""
    mem = {}
    for _, addr, _, _, _, _, payload in raw_blocks(data):
        for i, v in enumerate(payload):
            assert addr + i not in mem, f"{addr + i:#x} written twice"
            mem[addr + i] = v
    return mem


def test_image_to_uf2_writes_256_byte_rp2040_blocks_at_their_addresses():
    data = bytes(range(256)) * 3 + b"tail"
    out = uf2.image_to_uf2(data, 0x100A0000)
    blocks = raw_blocks(out)
    assert len(blocks) == 4
    for k, (flags, addr, size, number, count, family, _) in enumerate(blocks):
        assert (flags, addr, size, number, count, family) == (0x2000, 0x100A0000 + 256 * k, 256, k, 4,
                                                              0xE48BFF56)
    mem = flash_bytes(out)
    assert bytes(mem[0x100A0000 + i] for i in range(len(data))) == data
    assert all(mem[0x100A0000 + i] == 0xFF for i in range(len(data), 1024))  # erased-flash padding
    with pytest.raises(uf2.UF2Error, match="0x100a0010 is not a multiple"):
        uf2.image_to_uf2(data, 0x100A0010)


def test_read_blocks_round_trips_and_refuses_what_is_not_uf2():
    data = uf2.image_to_uf2(b"\x01\x02" * 300, 0x10000000)
    blocks = uf2.read_blocks(data)
    assert [(b.address, b.number, b.count, b.family) for b in blocks] == \
        [(0x10000000, 0, 3, uf2.RP2040_FAMILY), (0x10000100, 1, 3, uf2.RP2040_FAMILY),
         (0x10000200, 2, 3, uf2.RP2040_FAMILY)]
    assert uf2.write_blocks(blocks) == data
    with pytest.raises(uf2.UF2Error, match="x.uf2: 700 bytes is not a whole number"):
        uf2.read_blocks(data[:700], "x.uf2")
    broken = bytearray(data)
    broken[512 + 508] ^= 1
    with pytest.raises(uf2.UF2Error, match=r"x.uf2: block 1 \(byte 512\): wrong magic"):
        uf2.read_blocks(bytes(broken), "x.uf2")


@pytest.mark.skipif(not FIRMWARE.exists(), reason="make firmware BOARD=rpi_pico first")
def test_the_firmware_uf2_reads_and_writes_back_byte_for_byte():
    data = FIRMWARE.read_bytes()
    blocks = uf2.read_blocks(data)
    assert uf2.write_blocks(blocks) == data
    start, end = uf2.extent(blocks)
    assert start == PICO.flash_base and end <= ROMFS_ADDRESS  # the firmware stays below ROMFS


def test_combine_renumbers_blocks_as_one_file():
    a = uf2.image_to_uf2(b"a" * 600, 0x10000000)
    b = uf2.image_to_uf2(b"b" * 300, 0x10100000)
    blocks = raw_blocks(uf2.combine(a, b))
    assert [(blk[1], blk[3], blk[4]) for blk in blocks] == \
        [(0x10000000, 0, 5), (0x10000100, 1, 5), (0x10000200, 2, 5), (0x10100000, 3, 5), (0x10100100, 4, 5)]


def test_combine_refuses_overlapping_or_foreign_blocks():
    a = uf2.image_to_uf2(b"a" * 600, 0x10000000)
    with pytest.raises(uf2.UF2Error, match=r"firmware and ROMFS both write flash at 0x10000200"):
        uf2.combine(a, uf2.image_to_uf2(b"b", 0x10000200), names=["firmware", "ROMFS"])
    with pytest.raises(uf2.UF2Error, match="different chips"):
        uf2.combine(a, uf2.image_to_uf2(b"b", 0x10100000, family=0xE48BFF59))


def lut_model(path, extra=0):
    b = BlobBuilder()
    t_in = b.tensor((1, 4))
    t_out = b.tensor((1, 4))
    b.op("LUT", [t_in], [t_out], table=b.const(bytes(range(256)), 4))
    b.inputs, b.outputs = [t_in], [t_out]
    path.write_bytes(b.build() + bytes(extra))
    return path


def test_flash_rom_output_holds_the_romfs_image_at_the_pico_romfs(tmp_path, capsys):
    model = lut_model(tmp_path / "model.tinyml")
    script = tmp_path / "main.py"
    script.write_text("print('hello')\n")
    out = tmp_path / "rom.uf2"
    assert cli.main(["flash", "--board", "rpi_pico", "--rom", str(model), str(script), "-o", str(out)]) == 0
    image = romfs.build_image([model, script])
    mem = flash_bytes(out.read_bytes())
    assert min(mem) == ROMFS_ADDRESS == 0x100A0000
    assert bytes(mem[ROMFS_ADDRESS + i] for i in range(len(image))) == image
    assert max(mem) < PICO.flash_base + PICO.fs_offset  # the filesystem is left alone
    said = capsys.readouterr().out
    assert f"{len(image)} of {PICO.romfs} bytes" in said and "0x100a0000" in said


def test_flash_rom_refuses_an_image_larger_than_the_romfs(tmp_path, capsys):
    model = lut_model(tmp_path / "big.tinyml", extra=PICO.romfs)
    out = tmp_path / "rom.uf2"
    assert cli.main(["flash", "--board", "rpi_pico", "--rom", str(model), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    size = len(romfs.build_image([model]))
    assert f"big.tinyml takes {size} bytes" in err and f"ROMFS holds {PICO.romfs} bytes" in err
    assert not out.exists()


def test_flash_rom_dry_run_writes_nothing(tmp_path, capsys):
    model = lut_model(tmp_path / "model.tinyml")
    out = tmp_path / "rom.uf2"
    assert cli.main(["flash", "--board", "rpi_pico", "--rom", str(model), "-o", str(out), "--dry-run"]) == 0
    assert not out.exists()
    assert f"writing {out}" in capsys.readouterr().out


def test_flash_rom_copies_to_the_boot_drive(tmp_path):
    model = lut_model(tmp_path / "model.tinyml")
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n")
    flash_mod.flash_rom("rpi_pico", [model], drive=str(drive), log=lambda *_: None)
    (copied,) = [p for p in drive.iterdir() if p.suffix == ".uf2"]
    assert min(flash_bytes(copied.read_bytes())) == ROMFS_ADDRESS


def test_flash_rom_with_firmware_is_one_file_for_both(tmp_path):
    firmware = tmp_path / "firmware.uf2"
    firmware.write_bytes(uf2.image_to_uf2(b"\x10" * 1000, PICO.flash_base))
    model = lut_model(tmp_path / "model.tinyml")
    out = tmp_path / "all.uf2"
    assert cli.main(["flash", "--board", "rpi_pico", "--firmware", str(firmware), "--rom", str(model),
                     "-o", str(out)]) == 0
    blocks = raw_blocks(out.read_bytes())
    assert [b[3] for b in blocks] == list(range(len(blocks))) and {b[4] for b in blocks} == {len(blocks)}
    mem = flash_bytes(out.read_bytes())
    assert bytes(mem[PICO.flash_base + i] for i in range(1000)) == b"\x10" * 1000
    image = romfs.build_image([model])
    assert bytes(mem[ROMFS_ADDRESS + i] for i in range(len(image))) == image


def test_flash_rom_options_that_do_not_apply(tmp_path):
    model = lut_model(tmp_path / "model.tinyml")
    with pytest.raises(UsageError, match="tinyml deploy --rom"):
        flash_mod.flash_rom("esp32", [model])
    assert cli.main(["flash", "--board", "rpi_pico", "-o", str(tmp_path / "x.uf2")]) == 2
    assert cli.main(["flash", "--board", "rpi_pico", "--rom", str(model), "--erase"]) == 2


def test_flash_rom_saves_the_bare_image_for_mpremote(tmp_path):
    """-o NAME.romfs: the image itself, what `mpremote romfs deploy` takes
    as a prebuilt image (a folder it would pack without aligning models)."""
    model = lut_model(tmp_path / "model.tinyml")
    for board, out in (("rpi_pico", tmp_path / "models.romfs"), ("esp32", tmp_path / "models.img")):
        assert cli.main(["flash", "--board", board, "--rom", str(model), "-o", str(out)]) == 0
        assert out.read_bytes() == romfs.build_image([model])
    with pytest.raises(UsageError, match="cannot hold the firmware"):
        flash_mod.flash_rom("rpi_pico", [model], firmware=str(FIRMWARE), output=str(tmp_path / "x.img"))
