#!/usr/bin/env python3
"""Train the keyword model on the PC and convert it for the board.

    .venv/bin/python examples/keyword/train.py [OUT_DIR]

Features come from tinyml_converter.features, the PC twin of the board's
C code (bit for bit), so the model trains on exactly what the board feeds
it. Writes OUT_DIR/keyword.tinyml (default: this folder).
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sounds import CLIP, FFT, HOP, LABELS, N_MELS, N_MFCC, RATE, Noise, clip  # noqa: E402


def dataset(per_class, seed):
    from tinyml_converter.features import Q16, AudioFeatures, frames

    fe = AudioFeatures(FFT, RATE, n_mels=N_MELS, n_mfcc=N_MFCC)
    rng = np.random.default_rng(seed)
    noise = Noise(seed)
    xs, ys = [], []
    buf = [0] * CLIP
    for kind in range(len(LABELS)):
        for _ in range(per_class):
            audio = np.array(clip(kind, buf, noise, rng.uniform(0, 6), rng.uniform(0.4, 1.2)), np.int16)
            xs.append(fe.mfcc(frames(audio, FFT, HOP)) / Q16)
            ys.append(kind)
    return np.array(xs, np.float32)[..., None], np.array(ys)


def main(out_dir):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from tinyml_converter.convert import convert_file

    keras.utils.set_random_seed(0)
    x, y = dataset(60, 1)
    # DS-CNN: a strided conv, then depthwise-separable blocks.
    model = keras.Sequential([
        keras.Input(x.shape[1:]),
        keras.layers.Conv2D(16, (3, 3), strides=(2, 1), padding="same", activation="relu"),
        keras.layers.DepthwiseConv2D((3, 3), padding="same", activation="relu"),
        keras.layers.Conv2D(16, (1, 1), activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(LABELS), activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    xt, yt = dataset(10, 2)
    print(f"keyword: float accuracy on fresh clips {model.evaluate(xt, yt, verbose=0)[1]:.2f}")
    out = Path(out_dir) / "keyword.tinyml"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "keyword.keras"
        model.save(src)
        report = convert_file(src, out, calib=x[::3], labels=list(LABELS), name="keyword")
    print(f"keyword: wrote {out} ({report.blob_size} bytes, arena {report.arena_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
