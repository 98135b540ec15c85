#!/usr/bin/env python3
"""Train an LSTM gesture model on the PC and convert it for streaming.

    .venv/bin/python examples/gesture_stream/train.py [OUT_DIR]

The LSTM is trained on whole windows, as usual. The board gets the same
weights in a stateful copy that takes one accelerometer sample per call:
its state carries the window's history from call to call, so the board
keeps no window buffer and has an answer after every sample. Writes
OUT_DIR/gesture_stream.tinyml (default: this folder), labels and per-axis
normalisation inside. The data are examples/gesture/gestures.py's.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gesture"))
from gestures import LABELS, Noise, sample  # noqa: E402

WINDOW = 32   # samples per gesture decision (0.64 s at 50 Hz)
UNITS = 16


def dataset(per_class, seed):
    rng = np.random.default_rng(seed)
    noise = Noise(seed)
    xs, ys = [], []
    for kind in range(len(LABELS)):
        for _ in range(per_class):
            phase = rng.uniform(0, 2)
            xs.append([sample(kind, i, phase, noise) for i in range(WINDOW)])
            ys.append(kind)
    return np.array(xs, np.float32), np.array(ys)


def main(out_dir):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from tinyml_converter.convert import convert_file

    keras.utils.set_random_seed(0)
    x, y = dataset(120, 1)
    mean, std = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).std(0)
    xn = (x - mean) / std
    L = keras.layers
    model = keras.Sequential([keras.Input((WINDOW, 3)), L.LSTM(UNITS, name="lstm"),
                              L.Dense(len(LABELS), activation="softmax", name="out")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(xn, y, epochs=30, batch_size=32, verbose=0)
    xt, yt = dataset(20, 2)
    acc = model.evaluate((xt - mean) / std, yt, verbose=0)[1]
    print(f"gesture_stream: float accuracy on fresh windows {acc:.2f}")

    # The streaming copy: one sample in, the same weights, state kept.
    stream = keras.Sequential([keras.Input((1, 3), batch_size=1), L.LSTM(UNITS, stateful=True, name="lstm"),
                               L.Dense(len(LABELS), activation="softmax", name="out")])
    stream.set_weights(model.get_weights())
    # Calibration samples in stream order, whole windows one sample at a
    # time, so the state's ranges are those of real sequences.
    calib = xn[::6].reshape(-1, 1, 1, 3)[:, 0]
    out = Path(out_dir) / "gesture_stream.tinyml"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "gesture_stream.keras"
        stream.save(src)
        report = convert_file(src, out, calib=calib, labels=list(LABELS), name="gesture_stream",
                              normalize=(mean.tolist(), std.tolist()))
    for note in report.notes:
        print(f"gesture_stream: {note}")
    print(f"gesture_stream: wrote {out} ({report.blob_size} bytes, arena {report.arena_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
