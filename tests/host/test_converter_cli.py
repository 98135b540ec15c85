"""`tinyml` CLI: convert / inspect / check / run, exit codes, no partial files."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
L = keras.layers

from tinyml_converter import boards, cli  # noqa: E402
from tinyml_converter.blob import read_blob  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def small_model():
    keras.utils.set_random_seed(7)
    return keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, activation="relu"),
                             L.Flatten(), L.Dense(3), L.Softmax()])


def int8_tflite(model, shape):
    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.standard_normal((1, *shape)).astype(np.float32)]
                                           for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    m = small_model()
    m.save(d / "model.keras")
    (d / "model.tflite").write_bytes(int8_tflite(m, (6, 6, 1)))
    np.save(d / "calib.npy", np.random.default_rng(1).standard_normal((12, 6, 6, 1)).astype(np.float32))
    (d / "labels.txt").write_text("cat\ndog\nbird\n")
    i = keras.Input((4,))
    import tensorflow as tf
    bad = keras.Model(i, L.Dense(2)(L.Lambda(lambda t: tf.math.reduce_prod(t, axis=-1, keepdims=True),
                                             name="prod_layer")(L.Dense(4)(i))))
    (d / "unsupported.tflite").write_bytes(int8_tflite(bad, (4,)))
    return d


def leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp")]


def test_convert_inspect_check_tflite(files, tmp_path, capsys):
    out = tmp_path / "m.tinyml"
    rc = cli.main(["convert", str(files / "model.tflite"), "-o", str(out),
                   "--labels", str(files / "labels.txt"), "--name", "demo"])
    assert rc == 0 and out.exists()
    capsys.readouterr()
    assert cli.main(["inspect", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [layer["op"] for layer in d["layers"]] == ["CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert d["name"] == "demo" and d["labels"] == ["cat", "dog", "bird"]
    assert d["blob_bytes"] == out.stat().st_size
    assert d["arena_bytes"] == d["arena_lower_bound"]
    # by hand: conv 4x4x2 outputs * 3*3*1 taps, FC 32 -> 3
    assert d["macs"] == 4 * 4 * 2 * 9 + 32 * 3
    assert d["layers"][0]["inputs"] == [[1, 6, 6, 1]] and d["layers"][0]["outputs"] == [[1, 4, 4, 2]]
    assert cli.main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CONV_2D" in text and "lower bound" in text
    assert cli.main(["check", str(out), "--board", "rpi_pico"]) == 0
    assert "rpi_pico: fits, in place from ROMFS" in capsys.readouterr().out


def test_fc_weights_int16_widens_and_check_says_where_it_pays(files, tmp_path, capsys):
    out8, out16 = tmp_path / "m8.tinyml", tmp_path / "m16.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out8)]) == 0
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out16), "--fc-weights", "int16"]) == 0
    text = capsys.readouterr().out
    # The FC is 32 inputs into 3 outputs: padded to 4 rows of int16, 4*32*2 bytes for 3*32.
    assert "--fc-weights int16: FULLY_CONNECTED weights widened, 160 bytes more flash" in text
    assert out16.stat().st_size - out8.stat().st_size in range(160, 168)  # plus alignment
    assert [op["name"] for op in read_blob(out16.read_bytes()).ops] == ["CONV_2D", "FULLY_CONNECTED_W16", "SOFTMAX"]
    assert cli.main(["check", str(out16), "--board", "rpi_pico"]) == 0
    assert "rpi_pico: its core gains nothing from --fc-weights int16" in capsys.readouterr().out
    assert cli.main(["check", str(out16), "--board", "rpi_pico2"]) == 0
    text = capsys.readouterr().out
    assert "pre-widened" in text and "gains nothing" not in text
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(tmp_path / "x.tinyml"),
                     "--fc-weights", "int4"]) == 2
    assert "invalid choice: 'int4'" in capsys.readouterr().err and not (tmp_path / "x.tinyml").exists()


def test_fc_weights_pairs_packs_folds_and_check_says_where_it_pays(files, tmp_path, capsys):
    out8, outp = tmp_path / "m8.tinyml", tmp_path / "mp.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out8)]) == 0
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(outp), "--fc-weights", "pairs"]) == 0
    text = capsys.readouterr().out
    # The FC is 32 inputs into 3 outputs without a bias: one group of 6 rows, 3 words an input (384
    # bytes for 96), and the folded bias (12).
    assert "--fc-weights pairs: FULLY_CONNECTED weights stored in pairs of rows, 300 bytes more flash" in text
    assert outp.stat().st_size - out8.stat().st_size in range(300, 308)  # plus alignment
    assert [op["name"] for op in read_blob(outp.read_bytes()).ops] == ["CONV_2D", "FULLY_CONNECTED_PAIRS", "SOFTMAX"]
    assert cli.main(["check", str(outp), "--board", "rpi_pico"]) == 0
    assert "rpi_pico: its core loses with --fc-weights pairs" in capsys.readouterr().out
    assert cli.main(["check", str(outp), "--board", "qemu_m3"]) == 0
    text = capsys.readouterr().out
    assert "pairs of rows" in text and "loses" not in text


def test_fc_pairs_layout_by_hand():
    """Two rows' weights a word, w_a + w_b * 2^23, rows padded to six; the
    bias plus input_offset * the row's sum, modulo 2^32."""
    from tinyml_converter.lowering import fold_fc_bias, pack_fc_pairs

    w = np.array([[1, -2], [3, 4], [-128, 127]], np.int8)
    words = np.frombuffer(pack_fc_pairs(w), "<i4").reshape(2, 3)   # [input][pair]
    assert words[0].tolist() == [1 + 3 * 2**23, -128, 0]
    assert words[1].tolist() == [-2 + 4 * 2**23, 127, 0]
    bias = np.array([10, -10, 2**31 - 1], "<i4").tobytes()
    assert fold_fc_bias(bias, w, 128).tolist() == [10 - 128, -10 + 7 * 128, 2**31 - 1 - 128]
    assert fold_fc_bias(None, w, -1).tolist() == [1, -7, 1]
    assert fold_fc_bias(np.array([0, 0, 2**31 - 1], "<i4").tobytes(), w, -1).tolist()[2] == -(2**31)


def test_check_does_not_fit(files, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    tiny = boards.Board("qemu_m0", "tiny", 64, 64, "test board")
    monkeypatch.setitem(boards.BOARDS, "qemu_m0", tiny)
    assert cli.main(["check", str(out), "--board", "qemu_m0"]) == 3
    assert "does NOT fit" in capsys.readouterr().out


def test_check_counts_a_romfs_model_in_place(files, tmp_path, monkeypatch, capsys):
    """A heap that holds the arena and tables but not the blob too: the model
    fits a board with ROMFS (in place) and not one without."""
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["check", str(out)]) == 0
    text = capsys.readouterr().out
    in_place = int(re.search(r"= (\d+) bytes with the blob in place", text).group(1))
    from_file = int(re.search(r"; (\d+) when the blob is read from a file", text).group(1))
    assert from_file == in_place + out.stat().st_size
    heap = in_place + out.stat().st_size // 2
    with_rom = boards.Board("qemu_m0", "rom", 1 << 20, heap, "test board", romfs=1 << 20)
    monkeypatch.setitem(boards.BOARDS, "qemu_m0", with_rom)
    assert cli.main(["check", str(out), "--board", "qemu_m0"]) == 0
    assert f"qemu_m0: fits, in place from ROMFS (flash {out.stat().st_size}/{1 << 20}, RAM {in_place}/{heap})" \
        in capsys.readouterr().out
    without_rom = boards.Board("qemu_m0", "no rom", 1 << 20, heap, "test board")
    monkeypatch.setitem(boards.BOARDS, "qemu_m0", without_rom)
    assert cli.main(["check", str(out), "--board", "qemu_m0"]) == 3
    assert f"does NOT fit, even read from the filesystem (flash {out.stat().st_size}/{1 << 20}, " \
           f"RAM {from_file}/{heap})" in capsys.readouterr().out


def test_check_rejects_corrupt_blob(files, tmp_path, capsys):
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    data = bytearray(out.read_bytes())
    data[-1] ^= 0xFF
    out.write_bytes(bytes(data))
    assert cli.main(["check", str(out), "--board", "unix"]) == 2
    assert "CRC" in capsys.readouterr().err


def test_keras_without_calib_refused(files, tmp_path, capsys):
    out = tmp_path / "k.tinyml"
    assert cli.main(["convert", str(files / "model.keras"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--calib" in err and "scale" in err
    assert not out.exists() and not leftovers(tmp_path)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_keras_with_calib_and_keep_tflite(files, tmp_path, monkeypatch):
    out = tmp_path / "k.tinyml"
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rc = cli.main(["convert", str(files / "model.keras"), "-o", str(out), "--calib",
                   str(files / "calib.npy"), "--keep-tflite"])
    assert rc == 0 and out.exists() and out.with_suffix(".tflite").exists()
    bar = terminal.getvalue().split("\r")[-1]
    assert bar.startswith("calibration: 100%") and "12/12" in bar


def test_no_progress_bar_off_a_terminal(files, tmp_path, capsys):
    out = tmp_path / "k.tinyml"
    assert cli.main(["convert", str(files / "model.keras"), "-o", str(out), "--calib",
                     str(files / "calib.npy")]) == 0
    assert "calibration" not in capsys.readouterr().err


def test_keras_ram_budget_reaches_the_conversion(files, tmp_path, capsys):
    """--ram-budget goes through the child process that quantises a Keras
    model: `min` plans a smaller arena than the default, and says how."""
    plain, small = tmp_path / "plain.tinyml", tmp_path / "small.tinyml"
    for out, extra in ((plain, []), (small, ["--ram-budget", "min"])):
        assert cli.main(["convert", str(files / "model.keras"), "-o", str(out), "--calib",
                         str(files / "calib.npy"), *extra]) == 0
    said = capsys.readouterr().out
    assert "--ram-budget min: model inputs read in place" in said
    arena = [read_blob(p.read_bytes()).header["arena_size"] for p in (plain, small)]
    assert arena[1] < arena[0]


def test_random_calib_warns(files, tmp_path, capsys):
    out = tmp_path / "r.tinyml"
    rc = cli.main(["convert", str(files / "model.keras"), "-o", str(out), "--random-calib"])
    assert rc == 0 and out.exists()
    assert "WARNING" in capsys.readouterr().err


def test_unsupported_op_exit_1_one_line(files, tmp_path, capsys):
    out = tmp_path / "u.tinyml"
    assert cli.main(["convert", str(files / "unsupported.tflite"), "-o", str(out)]) == 1
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tinyml: error")]
    assert len(errors) == 1 and "REDUCE_PROD" in errors[0] and "prod_layer" in errors[0]
    assert not out.exists() and not leftovers(tmp_path)


def test_corrupt_input_exit_2(tmp_path, capsys):
    src = tmp_path / "junk.tflite"
    src.write_bytes(os.urandom(300))
    out = tmp_path / "junk.tinyml"
    assert cli.main(["convert", str(src), "-o", str(out)]) == 2
    assert not out.exists() and not leftovers(tmp_path)
    assert cli.main(["convert", str(tmp_path / "missing.keras")]) == 2


def test_unwritable_output_exit_2(files, tmp_path):
    target = tmp_path / "is_a_dir"
    target.mkdir()
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(target)]) == 2
    assert target.is_dir() and not leftovers(tmp_path)
    assert cli.main(["convert", str(files / "model.tflite"), "-o",
                     str(tmp_path / "no" / "such" / "dir.tinyml")]) == 2


def test_run_host_matches_tflite(files, tmp_path, capsys):
    pytest.importorskip("tinyml_converter.host_runtime")
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    x = np.random.default_rng(2).integers(-128, 128, (1, 6, 6, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    try:
        rc = cli.main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output",
                       str(tmp_path / "y.npy"), "--target", "host"])
    except Exception as exc:  # host C core not built yet
        pytest.skip(f"host runtime unavailable: {exc}")
    assert rc == 0
    it = tf.lite.Interpreter(model_content=(files / "model.tflite").read_bytes(),
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    ref = it.get_tensor(it.get_output_details()[0]["index"])
    assert np.array_equal(np.load(tmp_path / "y.npy"), ref)


@pytest.mark.parametrize("target", ["unix", "qemu_m3", "qemu_m0", "qemu_m4", "qemu_rv32"])
def test_run_on_firmware_matches_tflite(files, tmp_path, target):
    # `make test` builds these firmwares before the host tests run.
    if target == "unix":
        fw = Path(os.environ.get("TINYML_MICROPYTHON", REPO / "build" / "unix" / "micropython"))
        extra = ["--micropython", str(fw)]
    else:
        fw = REPO / "build" / target / "firmware.elf"
        extra = ["--firmware", str(fw)]
    if not fw.exists():
        pytest.skip(f"{target} firmware not built (make firmware BOARD={target})")
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    x = np.random.default_rng(3).integers(-128, 128, (1, 6, 6, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert cli.main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy"), "--target", target, *extra]) == 0
    it = tf.lite.Interpreter(model_content=(files / "model.tflite").read_bytes(),
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    assert np.array_equal(np.load(tmp_path / "y.npy"), it.get_tensor(it.get_output_details()[0]["index"]))


def test_run_other_target_not_supported(files, tmp_path, capsys):
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    np.save(tmp_path / "x.npy", np.zeros((1, 6, 6, 1), np.int8))
    assert cli.main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--target", "esp32"]) == 2
    err = capsys.readouterr().err
    assert "'esp32' is not supported" in err and "/dev/ttyACM0" in err


def test_plot(files, tmp_path, capsys):
    # matplotlib is a pinned dependency of the project (requirements.txt): no skip.
    import matplotlib.image

    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(files / "model.tflite"), "-o", str(out)]) == 0
    png = tmp_path / "plan.png"
    assert cli.main(["inspect", str(out), "--plot", str(png)]) == 0
    assert f"plan picture written to {png}" in capsys.readouterr().out
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(raw) > 10_000
    img = matplotlib.image.imread(png)
    h, w = img.shape[:2]
    assert w >= 600 and h >= 400
    # Not a blank canvas: several fill colours (one per tensor box) besides white and black.
    colours = {tuple(px) for px in (img[..., :3].reshape(-1, 3) * 255).round().astype(int)[::7].tolist()}
    assert len(colours) > 20


def test_module_entry_point():
    env = {**os.environ, "PYTHONPATH": str(REPO / "converter")}
    res = subprocess.run([sys.executable, "-m", "tinyml_converter", "--version"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0 and "tinyml_converter" in res.stdout
    res = subprocess.run([sys.executable, "-m", "tinyml_converter", "convert"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2


@pytest.fixture(scope="module")
def argmax_tflite():
    """Dense(6) then tf.math.argmax with TF's default int64 indices."""
    from tinyml_converter import convert

    keras.utils.set_random_seed(5)
    i = keras.Input((10,))
    y = keras.layers.Lambda(lambda t: tf.math.argmax(t, axis=-1))(keras.layers.Dense(6)(i))
    calib = np.random.default_rng(5).normal(size=(32, 10)).astype(np.float32)
    return convert.keras_to_tflite(keras.Model(i, y), calib)


def _tflite_indices(tfl, x):
    it = tf.lite.Interpreter(model_content=tfl,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_run_host_argmax_prints_indices(argmax_tflite, tmp_path, capsys):
    (tmp_path / "m.tflite").write_bytes(argmax_tflite)
    out = tmp_path / "m.tinyml"
    assert cli.main(["convert", str(tmp_path / "m.tflite"), "-o", str(out)]) == 0
    x = np.random.default_rng(6).integers(-128, 128, (1, 10), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert cli.main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy"), "--target", "host"]) == 0
    ref = _tflite_indices(argmax_tflite, x)
    assert ref.dtype == np.int64 and np.array_equal(np.load(tmp_path / "y.npy"), ref)
    assert f"output (int32 indices): [{int(ref[0])}]" in capsys.readouterr().out


def test_unix_predict_and_invoke_of_argmax(argmax_tflite, tmp_path):
    """predict() gives the indices as array('i'), invoke() their int32 bytes
    or fills an array('i'), on the unix firmware."""
    fw = Path(os.environ.get("TINYML_MICROPYTHON", REPO / "build" / "unix" / "micropython"))
    if not fw.exists():
        pytest.skip("unix firmware not built (make firmware BOARD=unix)")
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.quant import quantize

    (tmp_path / "m.tinyml").write_bytes(tflite_to_blob(argmax_tflite))
    rng = np.random.default_rng(7)
    xs = rng.normal(size=(4, 10)).astype(np.float32)
    it = tf.lite.Interpreter(model_content=argmax_tflite)
    scale, zp = it.get_input_details()[0]["quantization"]
    want = [int(_tflite_indices(argmax_tflite, quantize(x, scale, zp).reshape(1, 10))[0]) for x in xs]
    script = tmp_path / "run.py"
    script.write_text(
        "from array import array\nimport tinyml\n"
        f"m = tinyml.load({str(tmp_path / 'm.tinyml')!r})\n"
        f"for x in {[[float(v) for v in x] for x in xs]!r}:\n"
        "    p = m.predict(x)\n"
        "    raw = bytearray(len(x))\n"
        "    tinyml.quantize(x, m.input_scale, m.input_zero_point, raw)\n"
        "    out = array('i', [0])\n"
        "    m.invoke(raw, out)\n"
        "    print(type(p).__name__, list(p), out[0], int.from_bytes(m.invoke(raw), 'little'))\n")
    res = subprocess.run([str(fw), str(script)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:-1] == [f"array [{w}] {w} {w}" for w in want]


def test_convert_int16_and_run_host(files, tmp_path, capsys):
    """--int16 quantises 16x8; `run` takes float input for it and prints the
    int16 output, which equals TFLite's for the .tflite --keep-tflite kept."""
    out = tmp_path / "m16.tinyml"
    assert cli.main(["convert", str(files / "model.keras"), "-o", str(out), "--calib",
                     str(files / "calib.npy"), "--int16", "--keep-tflite", "--no-progress"]) == 0
    tfl = out.with_suffix(".tflite").read_bytes()
    it = tf.lite.Interpreter(model_content=tfl,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    d_in, d_out = it.get_input_details()[0], it.get_output_details()[0]
    assert d_in["dtype"] == np.int16 and d_out["dtype"] == np.int16
    x = np.random.default_rng(4).standard_normal((1, 6, 6, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert cli.main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy"), "--target", "host"]) == 0
    assert "output (int16):" in capsys.readouterr().out
    from tinyml_converter.quant import quantize

    it.set_tensor(d_in["index"], quantize(x, *d_in["quantization"], dtype="int16"))
    it.invoke()
    assert np.array_equal(np.load(tmp_path / "y.npy"), it.get_tensor(d_out["index"]))


def test_int16_flag_refused_for_a_tflite(files, tmp_path, capsys):
    rc = cli.main(["convert", str(files / "model.tflite"), "-o", str(tmp_path / "x.tinyml"), "--int16"])
    assert rc == 2 and "--int16" in capsys.readouterr().err
