"""`tinyml deploy` and `tinyml flash` logic, without hardware.

Deploy is driven against a stand-in for the board's raw REPL that runs the
code it receives in CPython over a temporary folder, with `tinyml.load`
backed by the host build of the C core: the same code the board would run.
The real serial path is exercised against an emulated board elsewhere.
"""

import sys
import types
from pathlib import Path

import pytest

from tinyml_converter import deploy as deploy_mod
from tinyml_converter import flash as flash_mod
from tinyml_converter.host_runtime import HostModel
from tinyml_converter.serial_repl import BoardError

sys.path.insert(0, str(Path(__file__).parent))
from blobkit import BlobBuilder  # noqa: E402


def lut_blob():
    b = BlobBuilder()
    t_in = b.tensor((1, 4))
    t_out = b.tensor((1, 4))
    b.op("LUT", [t_in], [t_out], table=b.const(bytes(range(256)), 4))
    b.inputs, b.outputs = [t_in], [t_out]
    return b.build()


class FakeRepl:
    """Runs raw-REPL code in CPython; `fail_after` cuts the link mid-copy."""

    def __init__(self, fail_after=None):
        fake_tinyml = types.ModuleType("tinyml")

        class _Loaded:
            def __init__(self, path):
                self.model = HostModel(Path(path).read_bytes())

            def close(self):
                pass

        fake_tinyml.load = _Loaded
        self.namespace = {"__name__": "board"}
        self.modules = {"tinyml": fake_tinyml}
        self.calls = 0
        self.fail_after = fail_after

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def exec(self, code, timeout=None):
        import contextlib
        import io

        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise ConnectionError("USB cable pulled")
        saved = {k: sys.modules.get(k) for k in self.modules}
        sys.modules.update(self.modules)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, self.namespace)
        except Exception as exc:
            raise BoardError(f"{type(exc).__name__}: {exc}") from None
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        return out.getvalue()


def test_deploy_writes_verifies_and_renames(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    board = tmp_path / "board"
    board.mkdir()
    model = local / "m.tinyml"
    model.write_bytes(lut_blob())
    script = local / "main.py"
    script.write_text("print('hi')\n" * 200)
    seen = []
    written = deploy_mod.deploy("fake", [model, script], dest=str(board),
                                progress=lambda *a: seen.append(a), repl_factory=lambda port: FakeRepl())
    assert written == [str(board / "m.tinyml"), str(board / "main.py")]
    assert (board / "m.tinyml").read_bytes() == model.read_bytes()
    assert (board / "main.py").read_text() == script.read_text()
    assert not list(board.glob("*.part"))
    assert seen[-1] == ("main.py", len(script.read_bytes()), len(script.read_bytes()))


def test_interrupted_deploy_keeps_previous_model(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    old = lut_blob()
    (board / "m.tinyml").write_bytes(old)
    big = tmp_path / "m.tinyml"
    big.write_bytes(old + bytes(5000))  # several chunks; its total_size no longer matches
    with pytest.raises(ConnectionError):
        deploy_mod.deploy("fake", [big], dest=str(board), repl_factory=lambda port: FakeRepl(fail_after=5))
    assert (board / "m.tinyml").read_bytes() == old  # the previous model still loads
    HostModel((board / "m.tinyml").read_bytes())


def test_deploy_refuses_a_model_the_board_rejects(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    bad = tmp_path / "m.tinyml"
    blob = bytearray(lut_blob())
    blob[-1] ^= 0xFF  # CRC no longer matches
    bad.write_bytes(bytes(blob))
    with pytest.raises(BoardError, match="refuses the copied model"):
        deploy_mod.deploy("fake", [bad], dest=str(board), repl_factory=lambda port: FakeRepl())
    assert not (board / "m.tinyml").exists()


def test_deploy_missing_local_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tinyml"):
        deploy_mod.deploy("fake", [tmp_path / "nope.tinyml"], repl_factory=lambda port: FakeRepl())


def test_flash_rpi_pico_copies_uf2_to_boot_drive(tmp_path):
    fw = tmp_path / "firmware.uf2"
    fw.write_bytes(b"UF2\n" * 128)
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n")
    flash_mod.flash("rpi_pico", firmware=str(fw), drive=str(drive), log=lambda *_: None)
    assert (drive / "firmware.uf2").read_bytes() == fw.read_bytes()


def test_flash_rpi_pico_explains_bootsel(tmp_path, monkeypatch):
    fw = tmp_path / "firmware.uf2"
    fw.write_bytes(b"x")
    monkeypatch.setattr(flash_mod, "find_uf2_drives", lambda: [])
    with pytest.raises(flash_mod.FlashError, match="BOOTSEL"):
        flash_mod.flash("rpi_pico", firmware=str(fw))
    with pytest.raises(flash_mod.FlashError, match="not an RPI-RP2 boot drive"):
        flash_mod.flash("rpi_pico", firmware=str(fw), drive=str(tmp_path))


def test_flash_esp32_uses_esptool_offsets(tmp_path):
    fw = tmp_path / "firmware.bin"
    fw.write_bytes(b"\xe9" + bytes(100))
    lines = []
    flash_mod.flash("esp32", port="/dev/ttyUSB0", firmware=str(fw), erase=True, dry_run=True, log=lines.append)
    assert "erase_flash" in lines[0]
    assert lines[1].endswith(f"write_flash -z 0x1000 {fw}")
    assert "--chip esp32 " in lines[1]
    with pytest.raises(flash_mod.FlashError, match="--port is required"):
        flash_mod.flash("esp32", firmware=str(fw), dry_run=True)


def test_flash_missing_firmware_says_how_to_build(tmp_path):
    with pytest.raises(flash_mod.FlashError, match="make firmware BOARD=esp32"):
        flash_mod.flash("esp32", port="x", firmware=str(tmp_path / "none.bin"))
