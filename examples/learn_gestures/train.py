#!/usr/bin/env python3
"""Train a gesture model on four gestures and convert it with an embedding.

    .venv/bin/python examples/learn_gestures/train.py [OUT_DIR]

Writes OUT_DIR/learn_gestures.tinyml (default: this folder). It classifies
the four gestures of gestures.LABELS, and `--embedding features` (here:
convert_file(..., embedding="features")) keeps the output of the layer
before the classifier, so that main.py can teach the board new gestures
from a few examples (tinyml.learn). Synthetic data from gestures.py.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gestures import LABELS, WINDOW, Noise, sample  # noqa: E402


def dataset(kinds, per_class, seed):
    rng = np.random.default_rng(seed)
    noise = Noise(seed)
    xs, ys = [], []
    for kind in kinds:
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
    x, y = dataset(range(len(LABELS)), 100, 1)
    mean, std = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).std(0)
    xn = (x - mean) / std
    model = keras.Sequential([
        keras.Input((WINDOW, 3)),
        keras.layers.Conv1D(8, 5, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.Conv1D(16, 5, activation="relu"),
        keras.layers.GlobalAveragePooling1D(name="features"),
        keras.layers.Dense(len(LABELS), activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(xn, y, epochs=25, batch_size=32, verbose=0)
    xt, yt = dataset(range(len(LABELS)), 20, 2)
    acc = model.evaluate((xt - mean) / std, yt, verbose=0)[1]
    print(f"learn_gestures: float accuracy on the four trained gestures {acc:.2f}")
    out = Path(out_dir) / "learn_gestures.tinyml"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "learn_gestures.keras"
        model.save(src)
        report = convert_file(src, out, calib=xn[::4], labels=list(LABELS), name="learn_gestures",
                              normalize=(mean.tolist(), std.tolist()), embedding="features")
    print(f"learn_gestures: wrote {out} ({report.blob_size} bytes, arena {report.arena_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
