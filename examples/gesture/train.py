#!/usr/bin/env python3
"""Train the gesture model on the PC and convert it for the board.

    .venv/bin/python examples/gesture/train.py [OUT_DIR]

Writes OUT_DIR/gesture.tinyml (default: this folder), with the labels and
the per-axis normalisation stored inside, so the board script needs nothing
else. Synthetic data from gestures.py; put your own recordings there.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gestures import LABELS, WINDOW, Noise, sample  # noqa: E402


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
    model = keras.Sequential([
        keras.Input((WINDOW, 3)),
        keras.layers.Conv1D(8, 5, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(len(LABELS), activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(xn, y, epochs=25, batch_size=32, verbose=0)
    xt, yt = dataset(20, 2)
    acc = model.evaluate((xt - mean) / std, yt, verbose=0)[1]
    print(f"gesture: float accuracy on fresh data {acc:.2f}")
    out = Path(out_dir) / "gesture.tinyml"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "gesture.keras"
        model.save(src)
        report = convert_file(src, out, calib=xn[::4], labels=list(LABELS), name="gesture",
                              normalize=(mean.tolist(), std.tolist()))
    print(f"gesture: wrote {out} ({report.blob_size} bytes, arena {report.arena_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
