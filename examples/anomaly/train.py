#!/usr/bin/env python3
"""Train the vibration autoencoder on healthy data only and convert it.

    .venv/bin/python examples/anomaly/train.py [OUT_DIR]

Inputs are FFT magnitudes from tinyml_converter.features (bit for bit the
board's tinyml.pipeline.Spectrogram), centred per bin and scaled by one std; the mean and std
are stored in the model so Normalize.from_model() on the board uses them.
Writes OUT_DIR/anomaly.tinyml (default: this folder).
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from vibration import BINS, FFT, RATE, Noise, window  # noqa: E402


def spectra(count, seed, faulty=False):
    from tinyml_converter.features import AudioFeatures

    fe = AudioFeatures(FFT, RATE)
    rng = np.random.default_rng(seed)
    noise = Noise(seed)
    buf = [0] * FFT
    raw = np.array([window(buf, noise, rng.uniform(0, 10), faulty) for _ in range(count)], np.int16)
    return fe.magnitude(raw).astype(np.float32)


def main(out_dir):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from tinyml_converter.convert import convert_file

    keras.utils.set_random_seed(0)
    x = spectra(600, 1)
    # One scale for every bin: per-bin stds of a steady hum are tiny, and
    # would blow small changes up into huge inputs.
    mean, std = x.mean(0), np.full(BINS, x.std(), np.float32)
    xn = (x - mean) / std
    model = keras.Sequential([
        keras.Input((BINS,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(BINS),
    ])
    model.compile(keras.optimizers.Adam(0.005), "mse")
    model.fit(xn, xn, epochs=40, batch_size=32, verbose=0)
    err = lambda v: ((model.predict(v, verbose=0) - v) ** 2).mean(1)  # noqa: E731
    healthy = err((spectra(50, 2) - mean) / std)
    faulty = err((spectra(50, 3, True) - mean) / std)
    print(f"anomaly: reconstruction error healthy max {healthy.max():.3f}, faulty min {faulty.min():.3f}")
    out = Path(out_dir) / "anomaly.tinyml"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "anomaly.keras"
        model.save(src)
        report = convert_file(src, out, calib=xn[::4], name="anomaly", normalize=(mean.tolist(), std.tolist()))
    print(f"anomaly: wrote {out} ({report.blob_size} bytes, arena {report.arena_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
