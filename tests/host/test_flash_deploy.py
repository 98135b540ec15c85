"""`tinyml deploy` and `tinyml flash` logic, without hardware.

Deploy is driven through the real Board and mpremote's transport, with only
the serial link replaced: the code mpremote and deploy send is run in CPython
over a temporary folder, with `tinyml.load` backed by the host build of the C
core, the same code the board would run. The real serial path is exercised
against an emulated board elsewhere.
"""

import ast
import contextlib
import errno
import io
import sys
import types
from pathlib import Path

import pytest
import serial
from mpremote.transport_serial import SerialTransport

from tinyml_converter import artifacts, cli
from tinyml_converter import deploy as deploy_mod
from tinyml_converter import flash as flash_mod
from tinyml_converter.board import Board, ConnectionLost, RemoteError, ReplError
from tinyml_converter.errors import MissingTool, UsageError
from tinyml_converter.host_runtime import HostModel

sys.path.insert(0, str(Path(__file__).parent))
from blobkit import BlobBuilder  # noqa: E402


def lut_blob():
    b = BlobBuilder()
    t_in = b.tensor((1, 4))
    t_out = b.tensor((1, 4))
    b.op("LUT", [t_in], [t_out], table=b.const(bytes(range(256)), 4))
    b.inputs, b.outputs = [t_in], [t_out]
    return b.build()


class _LoadedModel:
    def __init__(self, path):
        self.model = HostModel(Path(path).read_bytes())

    def close(self):
        pass


class CPythonLink(SerialTransport):
    """mpremote's serial transport with the link replaced by CPython: each
    raw-REPL exec runs here, and a failure comes back as MicroPython formats
    it. `lacks` names firmware features to leave out ("hashlib.sha256",
    "binascii.crc32"); `cut_after` writes cuts the link like a pulled cable;
    `corrupt` flips a byte of every chunk written, like a noisy line."""

    def __init__(self, lacks=(), cut_after=None, corrupt=False):
        self.use_raw_paste = True
        self.in_raw_repl = False
        self.writes = 0
        self.cut_after = cut_after
        self.corrupt = corrupt
        self.namespace = {"__name__": "board"}
        self.modules = {"tinyml": types.SimpleNamespace(load=_LoadedModel)}
        for feature in lacks:
            module, name = feature.split(".")
            real = __import__(module)
            self.modules[module] = types.SimpleNamespace(
                **{k: getattr(real, k) for k in dir(real) if k != name and not k.startswith("__")})

    def enter_raw_repl(self, soft_reset=True, timeout_overall=10):
        self.in_raw_repl = True

    def exit_raw_repl(self):
        self.in_raw_repl = False

    def close(self):
        pass

    def exec_raw(self, command, timeout=10, data_consumer=None):
        if command.startswith("w("):
            self.writes += 1
            if self.cut_after is not None and self.writes > self.cut_after:
                raise serial.SerialException("write failed: [Errno 5] Input/output error")
            if self.corrupt:
                chunk = bytearray(ast.literal_eval(command[2:-1]))
                chunk[0] ^= 0xFF
                command = f"w({bytes(chunk)!r})"
        saved = {k: sys.modules.get(k) for k in self.modules}
        sys.modules.update(self.modules)
        out = io.StringIO()
        err = ""
        try:
            with contextlib.redirect_stdout(out):
                exec(command, self.namespace)
        except OSError as exc:
            err = ("Traceback (most recent call last):\n"
                   f"OSError: [Errno {exc.errno}] {errno.errorcode[exc.errno]}\n")
        except Exception as exc:
            err = f"Traceback (most recent call last):\n{type(exc).__name__}: {exc}\n"
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        return out.getvalue().encode(), err.encode()


def board_on(link):
    """A board_factory for deploy(): the real Board, over `link`."""
    return lambda port: Board(port, open_transport=lambda *_, **__: link)


@pytest.fixture
def dirs(tmp_path):
    local, board = tmp_path / "local", tmp_path / "board"
    local.mkdir()
    board.mkdir()
    return local, board


@pytest.mark.parametrize("lacks", [(), ("hashlib.sha256",), ("hashlib.sha256", "binascii.crc32")],
                         ids=["sha256", "crc32", "size-only"])
def test_deploy_writes_verifies_and_renames(dirs, lacks):
    local, board = dirs
    model = local / "m.tinyml"
    model.write_bytes(lut_blob())
    script = local / "main.py"
    script.write_text("print('hi')\n" * 200)
    seen = []
    written = deploy_mod.deploy("fake", [model, script], dest=str(board), progress=lambda *a: seen.append(a),
                                board_factory=board_on(CPythonLink(lacks)))
    assert written == [str(board / "m.tinyml"), str(board / "main.py")]
    assert (board / "m.tinyml").read_bytes() == model.read_bytes()
    assert (board / "main.py").read_text() == script.read_text()
    assert not list(board.glob("*.part"))
    size = len(script.read_bytes())
    assert ("main.py", 0, size) in seen and seen[-1] == ("main.py", size, size)


@pytest.mark.parametrize("lacks, caught_by", [
    ((), "SHA-256 mismatch"),
    (("hashlib.sha256",), "CRC-32 mismatch"),
    (("hashlib.sha256", "binascii.crc32"), "refuses the copied model"),
], ids=["sha256", "crc32", "size-only"])
def test_deploy_catches_a_corrupted_copy(dirs, lacks, caught_by):
    local, board = dirs
    old = lut_blob()
    (board / "m.tinyml").write_bytes(old)
    model = local / "m.tinyml"
    model.write_bytes(old)
    with pytest.raises(RemoteError, match=caught_by):
        deploy_mod.deploy("fake", [model], dest=str(board),
                          board_factory=board_on(CPythonLink(lacks, corrupt=True)))
    assert (board / "m.tinyml").read_bytes() == old


def test_interrupted_deploy_keeps_previous_model(dirs):
    local, board = dirs
    old = lut_blob()
    (board / "m.tinyml").write_bytes(old)
    big = local / "m.tinyml"
    big.write_bytes(old + bytes(5000))  # several chunks
    with pytest.raises(ConnectionLost, match="fake: connection lost"):
        deploy_mod.deploy("fake", [big], dest=str(board), board_factory=board_on(CPythonLink(cut_after=2)))
    assert (board / "m.tinyml").read_bytes() == old  # the previous model still loads
    HostModel((board / "m.tinyml").read_bytes())
    assert (board / "m.tinyml.part").exists()


def test_deploy_refuses_a_model_the_board_rejects(dirs):
    local, board = dirs
    bad = local / "m.tinyml"
    blob = bytearray(lut_blob())
    blob[-1] ^= 0xFF  # CRC no longer matches
    bad.write_bytes(bytes(blob))
    with pytest.raises(RemoteError, match="refuses the copied model"):
        deploy_mod.deploy("fake", [bad], dest=str(board), board_factory=board_on(CPythonLink()))
    assert not (board / "m.tinyml").exists()


def test_deploy_names_the_file_the_board_cannot_write(dirs):
    local, board = dirs
    script = local / "main.py"
    script.write_text("print('hi')\n")
    with pytest.raises(RemoteError, match=r"main.py: the board could not write .*OSError: \[Errno 2\] ENOENT"):
        deploy_mod.deploy("fake", [script], dest=str(board / "no-such-folder"),
                          board_factory=board_on(CPythonLink()))


def test_deploy_missing_local_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tinyml"):
        deploy_mod.deploy("fake", [tmp_path / "nope.tinyml"], board_factory=board_on(CPythonLink()))


def test_board_error_is_the_last_traceback_line():
    with Board("fake", open_transport=lambda *_, **__: CPythonLink()) as board:
        assert board.exec("print(6 * 7)").strip() == "42"
        with pytest.raises(RemoteError, match=r"^ZeroDivisionError: division by zero$"):
            board.exec("1 / 0")


def test_cannot_open_names_the_port(tmp_path):
    missing = str(tmp_path / "ttyACM9")
    with pytest.raises(ReplError, match=f"cannot open {missing}: no such port"):
        Board(missing)


def test_cli_deploy_connection_lost_says_run_again(dirs, monkeypatch, capsys):
    local, board = dirs
    model = local / "m.tinyml"
    model.write_bytes(lut_blob() + bytes(5000))
    real_deploy = deploy_mod.deploy
    monkeypatch.setattr(deploy_mod, "deploy", lambda port, files, **kw: real_deploy(
        port, files, board_factory=board_on(CPythonLink(cut_after=1)), **kw))
    assert cli.main(["deploy", str(model), "--port", "/dev/ttyFAKE", "--dest", str(board)]) == 4
    err = capsys.readouterr().err
    assert "/dev/ttyFAKE: connection lost" in err and "run deploy again" in err


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
    with pytest.raises(UsageError, match="--port is required"):
        flash_mod.flash("esp32", firmware=str(fw), dry_run=True)


def test_flash_esp32_c3_image_at_zero(tmp_path):
    """MicroPython's ESP32-C3 image starts with its bootloader at offset 0."""
    fw = tmp_path / "firmware.bin"
    fw.write_bytes(b"\xe9" + bytes(100))
    lines = []
    flash_mod.flash("esp32_c3", port="/dev/ttyACM0", firmware=str(fw), dry_run=True, log=lines.append)
    assert lines == [lines[0]] and "--chip esp32c3 " in lines[0]
    assert lines[0].endswith(f"write_flash -z 0x0 {fw}")


def test_flash_missing_firmware_says_where_it_looked(tmp_path, monkeypatch):
    with pytest.raises(MissingTool, match="none.bin not found"):
        flash_mod.flash("esp32", port="x", firmware=str(tmp_path / "none.bin"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYML_FIRMWARE_DIR", str(tmp_path / "release"))
    with pytest.raises(MissingTool) as e:
        flash_mod.flash("esp32", port="x")
    for place in (tmp_path / "release" / "esp32" / "firmware.bin", tmp_path / "build" / "esp32" / "firmware.bin"):
        assert str(place) in str(e.value)
    assert "make firmware BOARD=esp32" in str(e.value)
    assert cli.main(["flash", "--board", "esp32", "--port", "x"]) == 5


def test_firmware_found_in_the_named_folder_first(tmp_path, monkeypatch):
    for folder in ("release", "build"):
        (tmp_path / folder / "rpi_pico").mkdir(parents=True)
        (tmp_path / folder / "rpi_pico" / "firmware.uf2").write_bytes(folder.encode())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TINYML_FIRMWARE_DIR", raising=False)
    assert artifacts.firmware_path("rpi_pico").read_bytes() == b"build"
    monkeypatch.setenv("TINYML_FIRMWARE_DIR", str(tmp_path / "release"))
    assert artifacts.firmware_path("rpi_pico").read_bytes() == b"release"
    explicit = tmp_path / "mine.uf2"
    explicit.write_bytes(b"mine")
    assert artifacts.firmware_path("rpi_pico", explicit).read_bytes() == b"mine"
