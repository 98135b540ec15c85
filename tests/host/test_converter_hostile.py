"""`tinyml convert` / `check` / `inspect` on hostile and damaged files.

Truncated and bit-flipped .tflite flatbuffers, broken .keras archives, .h5
garbage and CRC-valid but malformed .tinyml blobs. Every one must end with
exit code 1 or 2 and exactly one line on stderr, "tinyml: error: <what>",
never a Python traceback, and must leave no output file and no temporary
file behind. A damaged .tflite that is still a valid model (a flipped weight)
may convert: then the output must be a blob the C loader accepts.
"""

import contextlib
import io
import os
import random
import struct
import zipfile
import zlib

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
L = keras.layers

from tinyml_converter import cli  # noqa: E402
from tinyml_converter.host_runtime import HostModel  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    keras.utils.set_random_seed(7)
    m = keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, activation="relu"), L.Flatten(),
                          L.Dense(3), L.Activation("sigmoid"), L.Softmax()])
    m.save(d / "model.keras")
    m.save(d / "model.h5")
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((8, 6, 6, 1)).astype(np.float32)
    np.save(d / "calib.npy", calib)
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(len(calib)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()):
        (d / "model.tflite").write_bytes(conv.convert())
    return d


def run_cli(argv):
    """(exit code, stderr lines, stdout) of the CLI, in process."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = cli.main([str(a) for a in argv])
    return rc, err.getvalue().splitlines(), out.getvalue()


def assert_clean_failure(rc, err, where):
    # Progress lines ("tinyml: converting ...", calibration) may come first;
    # the error is the last line and the only one that says "error".
    errors = [ln for ln in err if "error" in ln.lower() or "traceback" in ln.lower()]
    assert rc in (1, 2), f"{where}: exit {rc}, stderr {err}"
    assert len(errors) == 1 and err[-1] == errors[0], f"{where}: stderr {err}"
    assert err[-1].startswith("tinyml: error: ") and len(err[-1]) > len("tinyml: error: ") + 10, err
    assert not any(ln.startswith(("Traceback", "  File ")) for ln in err), err


def assert_nothing_left(folder, out, where):
    assert not out.exists(), f"{where}: partial output {out} left behind"
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, f"{where}: temporary files left: {leftovers}"


def tflite_variants(good: bytes):
    rng = random.Random(3)
    for cut in sorted({0, 1, 4, 7, 8, 16, 32, 64, len(good) // 2, len(good) - 1}
                      | {rng.randrange(len(good)) for _ in range(12)}):
        yield f"cut at {cut}", good[:cut]
    for i in range(45):
        b = bytearray(good)
        for _ in range(rng.choice([1, 1, 2, 8])):
            b[rng.randrange(len(b))] = rng.randrange(256)
        yield f"flipped #{i}", bytes(b)
    # Flatbuffer offsets and vector lengths pointed at the far end of memory.
    for pos in range(4, min(len(good) - 4, 160), 12):
        b = bytearray(good)
        struct.pack_into("<I", b, pos, 0x7FFFFFF0)
        yield f"huge word at {pos}", bytes(b)
    yield "zip renamed .tflite", b"PK\x03\x04" + bytes(60)


def test_hostile_tflite(files, tmp_path):
    good = (files / "model.tflite").read_bytes()
    converted = 0
    for where, data in tflite_variants(good):
        src = tmp_path / "m.tflite"
        out = tmp_path / "m.tinyml"
        src.write_bytes(data)
        rc, err, _ = run_cli(["convert", src, "-o", out])
        if rc == 0:
            # Still a valid model (say, one weight changed): a good blob.
            HostModel(out.read_bytes())
            converted += 1
            out.unlink()
            continue
        assert_clean_failure(rc, err, where)
        assert_nothing_left(tmp_path, out, where)
    assert converted < 40, "almost nothing was refused: are the variants damaged at all?"


def keras_variants(good: bytes):
    yield "empty", b""
    yield "random bytes", bytes(random.Random(1).randrange(256) for _ in range(3000))
    for cut in (10, 30, len(good) // 3, len(good) - 30):
        yield f"cut at {cut}", good[:cut]
    b = bytearray(good)
    for i in range(200, len(b) - 100, max(1, len(b) // 7)):
        b[i] ^= 0x5A
    yield "bytes flipped", bytes(b)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("metadata.json", "{}")
    yield "garbage config", buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", '{"class_name": "NoSuchLayer", "config": {}}')
    yield "unknown class", buf.getvalue()


def test_hostile_keras(files, tmp_path):
    good = (files / "model.keras").read_bytes()
    for where, data in keras_variants(good):
        src = tmp_path / "m.keras"
        out = tmp_path / "m.tinyml"
        src.write_bytes(data)
        rc, err, _ = run_cli(["convert", src, "--calib", files / "calib.npy", "-o", out])
        assert_clean_failure(rc, err, where)
        assert rc == 2, f"{where}: a bad input file is exit 2, got {rc}: {err}"
        assert_nothing_left(tmp_path, out, where)


def test_hostile_h5(files, tmp_path):
    good = (files / "model.h5").read_bytes()
    for where, data in (("cut", good[: len(good) // 2]), ("text", b"not an hdf5 file\n" * 20)):
        src = tmp_path / "m.h5"
        out = tmp_path / "m.tinyml"
        src.write_bytes(data)
        rc, err, _ = run_cli(["convert", src, "--calib", files / "calib.npy", "-o", out])
        assert_clean_failure(rc, err, where)
        assert_nothing_left(tmp_path, out, where)


def test_hostile_blobs_check_and_inspect(files, tmp_path):
    """CRC-valid damaged blobs: `check` and `inspect` refuse cleanly, and
    `check` never calls a blob OK that the firmware's loader refuses."""
    blob_path = tmp_path / "good.tinyml"
    rc, err, _ = run_cli(["convert", files / "model.tflite", "-o", blob_path])
    assert rc == 0, err
    good = blob_path.read_bytes()
    rng = random.Random(4)
    path = tmp_path / "x.tinyml"
    refused = 0
    for i in range(150):
        b = bytearray(good)
        kind = i % 3
        if kind == 0:
            pos = rng.randrange(16, len(b) - 4) & ~3
            struct.pack_into("<I", b, pos, rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x10000, len(b)]))
        elif kind == 1:
            b[rng.randrange(16, len(b))] = rng.randrange(256)
        else:
            b = b[: rng.randrange(len(b))]
            if len(b) >= 12:
                struct.pack_into("<I", b, 8, len(b))
        if len(b) >= 16:
            total = min(struct.unpack_from("<I", b, 8)[0], len(b))
            if total >= 16:
                struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:total])) & 0xFFFFFFFF)
        path.write_bytes(bytes(b))
        try:
            HostModel(bytes(b))
            loader_ok = True
        except ValueError:
            loader_ok = False
        for cmd in ("check", "inspect"):
            rc, err, _ = run_cli([cmd, path])
            if rc != 0:
                assert_clean_failure(rc, err, f"{cmd} variant {i}")
            if cmd == "check":
                assert (rc == 0) == loader_ok, f"variant {i}: check exit {rc}, C loader ok={loader_ok}: {err}"
                refused += rc != 0
    assert refused > 30


def test_tensorflow_crash_is_one_line_error(tmp_path):
    """TFLiteConverter segfaults quantising a recurrent WHILE loop to int8 (TF
    2.21). tinyml unrolls LSTM, GRU and SimpleRNN first, but a ConvLSTM1D still
    reaches TF as a loop; the conversion runs in a child, so the CLI survives and
    names the layer. Should TF stop crashing, it must still end in a clean failure."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 4, 3), batch_size=1)
    x = L.Flatten()(L.ConvLSTM1D(2, 3, name="my_convlstm")(inp))
    m = keras.Model(inp, L.Dense(2)(x))
    m.save(tmp_path / "lstm.keras")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(8, 5, 4, 3)).astype(np.float32))
    out = tmp_path / "lstm.tinyml"
    rc, err, _ = run_cli(["convert", tmp_path / "lstm.keras", "--calib", tmp_path / "calib.npy", "-o", out])
    assert_clean_failure(rc, err, "Keras 3 ConvLSTM1D")
    assert rc == 1 and "lstm.keras" in err[-1]
    if "crashed" in err[-1]:
        assert "'my_convlstm' (ConvLSTM1D)" in err[-1] and "WHILE" in err[-1], err[-1]
    assert_nothing_left(tmp_path, out, "Keras 3 ConvLSTM1D")
