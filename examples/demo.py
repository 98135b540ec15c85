#!/usr/bin/env python3
"""`make demo`: the whole tinyml flow in one minute.

1. Train a small Conv1D gesture classifier on synthetic 3-axis accelerometer
   windows (PC side, Keras).
2. Convert it: TFLite int8 quantisation, then `.tinyml` blob.
3. Run it inside MicroPython (the unix firmware built with `_tinyml` and the
   frozen `tinyml` package): `tinyml.load()` then `predict()` on a few
   windows, printing the predicted gesture and the time per inference.
4. Check the board's raw int8 outputs against TFLite's reference kernels.
"""

import argparse
import contextlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "converter"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

WINDOW = 64
LABELS = ["idle", "shake", "circle", "tap"]


def synth_windows(n_per_class, rng):
    """Accelerometer windows (g units) for four gestures, with noise and jitter."""
    t = np.arange(WINDOW) / 50.0  # 50 Hz sampling
    xs, ys = [], []
    for label in range(len(LABELS)):
        for _ in range(n_per_class):
            w = rng.normal(0, 0.05, size=(WINDOW, 3))
            w[:, 2] += 1.0  # gravity
            phase = rng.uniform(0, 2 * np.pi)
            if label == 1:  # shake: fast oscillation along x
                w[:, 0] += 1.5 * np.sin(2 * np.pi * rng.uniform(6, 9) * t + phase)
            elif label == 2:  # circle: slow rotation in the x-y plane
                f = rng.uniform(1, 2)
                w[:, 0] += np.sin(2 * np.pi * f * t + phase)
                w[:, 1] += np.cos(2 * np.pi * f * t + phase)
            elif label == 3:  # double tap: two sharp spikes on z
                for at in (rng.integers(4, 24), rng.integers(36, 56)):
                    w[at:at + 4, 2] += rng.uniform(3, 5)
            xs.append(w)
            ys.append(label)
    return np.array(xs, dtype=np.float32), np.array(ys)


def train(rng):
    import keras

    keras.utils.set_random_seed(7)
    x, y = synth_windows(150, rng)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((WINDOW, 3)),
        L.Conv1D(8, 5, strides=2, activation="relu"),
        L.Conv1D(16, 3, strides=2, activation="relu"),
        L.GlobalAveragePooling1D(),
        L.Dense(len(LABELS), activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    _, acc = model.evaluate(x, y, verbose=0)
    return model, x, acc


def tflite_outputs(tflite_bytes, raw_inputs):
    """TFLite's reference-kernel output for the exact int8 inputs the board used."""
    import warnings

    import tensorflow as tf

    warnings.filterwarnings("ignore", category=UserWarning)

    interp = tf.lite.Interpreter(
        model_content=tflite_bytes,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for q_hex in raw_inputs:
        q = np.frombuffer(bytes.fromhex(q_hex), dtype=np.int8).reshape(inp["shape"][1:])
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        results.append(interp.get_tensor(out["index"])[0].tobytes().hex())
    return results


BOARD_SCRIPT = """\
import time
import tinyml

print("tinyml", tinyml.__version__, "| _tinyml core", tinyml.info()["version"])
m = tinyml.load({path!r})
print(m)
print("labels:", m.labels)
windows = {windows!r}
truth = {truth!r}
for w, t in zip(windows, truth):
    t0 = time.ticks_us()
    y = m.predict(w)
    dt = time.ticks_diff(time.ticks_us(), t0)
    best = max(range(len(y)), key=lambda i: y[i])
    print("true %-6s predicted %-6s p=%.2f  %4d us" % (t, m.labels[best], y[best], dt))
for w in windows:
    q = bytearray(len(w))
    tinyml.quantize(w, m.input_scale, m.input_zero_point, q)
    print("RAW", q.hex(), m.invoke(q).hex())
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--micropython", default=str(ROOT / "build" / "unix" / "micropython"))
    ap.add_argument("--out", default=str(ROOT / "build" / "demo"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from tinyml_converter import convert

    rng = np.random.default_rng(2026)
    t0 = time.time()
    print("[1/4] training a Conv1D gesture model on synthetic accelerometer data...", flush=True)
    model, x_train, acc = train(rng)
    print(f"      train accuracy {acc:.2f} ({time.time() - t0:.1f} s)")

    print("[2/4] converting: TFLite int8 quantisation, then .tinyml blob...", flush=True)
    with contextlib.redirect_stdout(io.StringIO()):  # TF's export chatter
        # Calibrate on every gesture: ranges seen here fix the int8 scales.
        calib = x_train[np.random.default_rng(0).permutation(len(x_train))[:200]]
        tflite_bytes = convert.keras_to_tflite(model, calib)
    blob = convert.tflite_to_blob(tflite_bytes, name="gesture", labels=LABELS)
    blob_path = out / "gesture.tinyml"
    blob_path.write_bytes(blob)
    print(f"      {blob_path}: {len(blob)} bytes (TFLite flatbuffer: {len(tflite_bytes)} bytes)")

    print("[3/4] running it in MicroPython:", args.micropython, flush=True)
    test_x, test_y = synth_windows(2, np.random.default_rng(99))
    windows = [[round(float(v), 4) for v in w.reshape(-1)] for w in test_x]
    script = BOARD_SCRIPT.format(path=str(blob_path), windows=windows,
                                 truth=[LABELS[i] for i in test_y])
    (out / "board_demo.py").write_text(script)
    proc = subprocess.run([args.micropython, str(out / "board_demo.py")], capture_output=True, text=True)
    board_in, board_out = [], []
    for line in proc.stdout.splitlines():
        if line.startswith("RAW "):
            _, q_hex, y_hex = line.split()
            board_in.append(q_hex)
            board_out.append(y_hex)
        else:
            print("      |", line)
    if proc.returncode != 0:
        print(proc.stderr)
        raise SystemExit("demo: MicroPython run failed")

    print("[4/4] checking the board's int8 outputs against TFLite's reference kernels...")
    expected = tflite_outputs(tflite_bytes, board_in)
    same = sum(a == b for a, b in zip(board_out, expected))
    print(f"      {same}/{len(windows)} windows bit-exact with TFLite")
    if same != len(windows) or len(expected) != len(windows):
        raise SystemExit("demo: outputs differ from TFLite")


if __name__ == "__main__":
    main()
