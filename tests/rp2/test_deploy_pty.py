"""`tinyml deploy` and `tinyml run --target rpi_pico` against our UF2 in an
emulated RP2040 (rp2040py), over the emulated USB serial port on a pty: the
same path, through mpremote's serial transport, that a real Pico on
/dev/ttyACM0 takes. Run by `make test`
(mk/rp2.mk) after the UF2 is built."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "tests" / "host")]

from blobkit import BlobBuilder  # noqa: E402
from tinyml_converter import boards, cli, deploy, romfs  # noqa: E402
from tinyml_converter.blob import read_blob  # noqa: E402
from tinyml_converter.board import Board, ConnectionLost  # noqa: E402
from tinyml_converter.errors import UsageError  # noqa: E402

UF2 = ROOT / "build" / "rpi_pico" / "firmware.uf2"
pytestmark = pytest.mark.skipif(not UF2.exists(), reason="make firmware BOARD=rpi_pico first")


def lut_model(table):
    """A 4-value LUT model: its answer is a table lookup worked out here."""
    b = BlobBuilder()
    t_in = b.tensor((1, 4))
    t_out = b.tensor((1, 4))
    b.op("LUT", [t_in], [t_out], table=b.const(bytes(table), 4))
    b.inputs, b.outputs = [t_in], [t_out]
    return b.build()


TABLE_A = [(i * 7) & 0xFF for i in range(256)]
TABLE_B = [(255 - i) & 0xFF for i in range(256)]
X = np.array([1, -2, 100, -128], dtype=np.int8)


def expected(table, x):
    return np.array([table[(int(v) + 128) & 0xFF] for v in x], dtype=np.uint8).astype(np.int8)


class CutBoard(Board):
    """Drops the link, like a pulled cable, once a number of chunks of a file
    have gone out: the host's end of the pty closes mid-transfer."""

    chunks_left = 0

    def write_file(self, path, data, progress=None):
        def count_then_cut(done, total):
            if progress:
                progress(done, total)
            CutBoard.chunks_left -= 1
            if CutBoard.chunks_left == 0:
                self._transport.serial.close()

        super().write_file(path, data, count_then_cut)


def test_run_on_emulated_pico_matches_table(tmp_path):
    model = tmp_path / "a.tinyml"
    model.write_bytes(lut_model(TABLE_A))
    np.save(tmp_path / "x.npy", X[None])
    assert cli.main(["run", str(model), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy"), "--target", "rpi_pico"]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy").reshape(-1), expected(TABLE_A, X))


def test_interrupted_deploy_keeps_the_previous_model(tmp_path):
    good = tmp_path / "model.tinyml"
    good.write_bytes(lut_model(TABLE_A))
    newer_dir = tmp_path / "newer"
    newer_dir.mkdir()
    newer = newer_dir / "model.tinyml"
    newer.write_bytes(lut_model(TABLE_B) + bytes(6000))  # several chunks long
    with cli.emulated_pico(UF2) as port:
        assert deploy.deploy(port, [good]) == ["/model.tinyml"]
        CutBoard.chunks_left = 2  # of the seven the newer model takes
        with pytest.raises(ConnectionLost):
            deploy.deploy(port, [newer], board_factory=CutBoard)
        with Board(port) as board:
            part_size = board.stat("/model.tinyml.part").st_size
            out = board.exec("import tinyml, binascii\n"
                             "m = tinyml.load('/model.tinyml')\n"
                             f"print(binascii.hexlify(m.invoke({X.tobytes()!r})).decode())")
    assert part_size < newer.stat().st_size  # the cut copy never took the model's name
    assert bytes.fromhex(out.strip()) == expected(TABLE_A, X).tobytes()


def test_cli_deploy_draws_a_progress_bar_on_a_terminal(tmp_path, monkeypatch):
    """`tinyml deploy` as typed in a terminal: stderr is a tty (a pty here),
    the copy goes through mpremote to the emulated Pico, and tqdm's bar
    reaches 100% for the model's bytes."""
    import fcntl
    import os
    import struct
    import termios

    model = tmp_path / "model.tinyml"
    model.write_bytes(lut_model(TABLE_A))
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 wide
    os.set_blocking(controller, False)
    with cli.emulated_pico(UF2) as port, os.fdopen(terminal, "w") as tty:
        monkeypatch.setattr(sys, "stderr", tty)
        assert cli.main(["deploy", str(model), "--port", port]) == 0
        tty.flush()
        monkeypatch.undo()
        drawn = b""
        while True:
            try:
                drawn += os.read(controller, 65536)
            except BlockingIOError:
                break
    os.close(controller)
    text = drawn.decode(errors="replace")
    size = model.stat().st_size
    assert "model.tinyml: 100%" in text and f"{size}/{size}" in text.replace("B", ""), text[-400:]


def _invoke_from_rom(port, name):
    with Board(port) as board:
        out = board.exec("import tinyml, binascii\n"
                         f"m = tinyml.load('/rom/{name}')\n"
                         f"print(m.in_place, binascii.hexlify(m.invoke({X.tobytes()!r})).decode())")
    in_place, hexed = out.split()
    return in_place == "True", bytes.fromhex(hexed)


def test_rom_deploy_runs_in_place_and_survives_a_cut_link(tmp_path):
    """deploy --rom writes the Pico's ROMFS: the model loads in place from
    flash. A second deploy cut while its image travels leaves the first
    ROMFS working; run again, it replaces it."""
    first = tmp_path / "a" / "model.tinyml"
    second = tmp_path / "b" / "model.tinyml"
    for path, table in ((first, TABLE_A), (second, TABLE_B)):
        path.parent.mkdir()
        path.write_bytes(lut_model(table))
    script = tmp_path / "b" / "main.py"
    script.write_text("# travels with the model\n" * 120)  # the image takes several chunks
    with cli.emulated_pico(UF2) as port:
        assert deploy.deploy_rom(port, [first]) == ["/rom/model.tinyml"]
        assert _invoke_from_rom(port, "model.tinyml") == (True, expected(TABLE_A, X).tobytes())
        CutBoard.chunks_left = 2
        with pytest.raises(ConnectionLost):
            deploy.deploy_rom(port, [second, script], board_factory=CutBoard)
        assert _invoke_from_rom(port, "model.tinyml") == (True, expected(TABLE_A, X).tobytes())
        assert deploy.deploy_rom(port, [second, script]) == ["/rom/model.tinyml", "/rom/main.py"]
        assert _invoke_from_rom(port, "model.tinyml") == (True, expected(TABLE_B, X).tobytes())
        with Board(port) as board:
            listing = board.exec("import os\nprint(sorted(os.listdir('/rom')), sorted(os.listdir('/')))")
    assert listing.strip() == "['main.py', 'model.tinyml'] ['rom']"  # the staged image is gone


class NoSendBoard(Board):
    def write_file(self, path, data, progress=None):
        raise AssertionError(f"{path} sent again although the verified image was on the board")


def test_rom_deploy_finishes_from_a_staged_image(tmp_path):
    """As after a power cut between staging and switching: the verified image
    is on the board's filesystem, so a rerun switches ROMFS without sending it."""
    model = tmp_path / "model.tinyml"
    model.write_bytes(lut_model(TABLE_B))
    image = romfs.build_image([model])
    with cli.emulated_pico(UF2) as port:
        with Board(port) as board:
            board.write_file(deploy.ROM_STAGING, image)
        assert deploy.deploy_rom(port, [model], board_factory=NoSendBoard) == ["/rom/model.tinyml"]
        assert _invoke_from_rom(port, "model.tinyml") == (True, expected(TABLE_B, X).tobytes())


def lut_chain(tables):
    """LUTs applied in turn: a model whose size is set by how many."""
    b = BlobBuilder()
    t = b.tensor((1, 4))
    first = t
    for table in tables:
        nxt = b.tensor((1, 4))
        b.op("LUT", [t], [nxt], table=b.const(bytes(table), 4))
        t = nxt
    b.inputs, b.outputs = [first], [t]
    return b.build()


def test_run_puts_a_model_too_big_for_the_heap_in_romfs(tmp_path):
    """`tinyml run --target <port>` with a model the board's free heap cannot
    hold besides its arena (a boot.py holds most of the heap here, as a
    program's data would): the model goes to ROMFS and runs in place. With a
    file of the user's already in ROMFS, it refuses rather than drop it."""
    tables = [[(i * (2 * k + 3) + k) & 0xFF for i in range(256)] for k in range(60)]
    model = tmp_path / "chain.tinyml"
    model.write_bytes(lut_chain(tables))
    want = X.copy()
    for table in tables:
        want = expected(table, want)
    mine = tmp_path / "notes.txt"
    mine.write_text("the user's own\n")
    _, from_file = boards.model_ram(read_blob(model.read_bytes()), model.stat().st_size)
    with cli.emulated_pico(UF2) as port:
        with Board(port) as board:
            free = int(board.exec("import gc\ngc.collect()\nprint(gc.mem_free())"))
        hog = tmp_path / "boot.py"
        # What is left: less than the model needs read from a file, more
        # than it needs in place (and than the ROMFS switch needs).
        hog.write_text(f"_held = bytearray({free - from_file + 1024})\n")
        deploy.deploy(port, [hog])
        deploy.deploy_rom(port, [mine])
        with pytest.raises(UsageError, match="notes.txt"):
            deploy.run_on_board(port, model, X.tobytes())
        deploy.deploy_rom(port, [model])  # what the message says to do, without notes.txt
        assert deploy.run_on_board(port, model, X.tobytes()) == want.tobytes()
        with Board(port) as board:
            listing = board.exec("import os\nprint(os.listdir('/rom'), 'chain.tinyml' in os.listdir('/'))")
    assert listing.strip() == "['chain.tinyml'] False"
