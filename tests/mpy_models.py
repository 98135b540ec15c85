"""The models the MicroPython parity tests run on every firmware.

Small on purpose: each must fit, with its arena, in the qemu_m0 board's
192 KB heap and run in seconds under emulation. Weights are seeded random
(untrained): parity with TFLite does not need a trained model, and random
weights exercise every rounding path more than trained ones do.
Each builder returns (keras model, calibration data, labels or None).
"""

import numpy as np


def _keras():
    import keras

    keras.utils.set_random_seed(1234)
    return keras


def _calib(shape, n=32, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def small_cnn():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((12, 12, 1))
    x = L.Conv2D(4, 3, activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(5)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out), _calib((12, 12, 1)), ["zero", "one", "two", "three", "four"]


def conv1d_gesture():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((32, 3))
    x = L.Conv1D(8, 5, activation="relu")(inp)
    x = L.Conv1D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    out = L.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out), _calib((32, 3)), ["circle", "shake", "tap", "idle"]


def dense_autoencoder():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((64,))
    x = L.Dense(32, activation="relu")(inp)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dense(32, activation="relu")(x)
    out = L.Dense(64)(x)
    return keras.Model(inp, out), _calib((64,)), None


def depthwise_block():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(16, 1, activation="relu6")(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3)(x)
    return keras.Model(inp, out), _calib((16, 16, 3)), None


def residual_concat():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((8, 8, 4))
    a = L.Conv2D(4, 3, padding="same", activation="relu")(inp)
    a = L.Conv2D(4, 3, padding="same")(a)
    x = L.ReLU()(L.Add()([inp, a]))
    b1 = L.Conv2D(4, 1, activation="relu")(x)
    b2 = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = L.Concatenate()([b1, b2])
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(2, activation="sigmoid")(x)
    return keras.Model(inp, out), _calib((8, 8, 4)), None


MODELS = {
    "small_cnn": small_cnn,
    "conv1d_gesture": conv1d_gesture,
    "dense_autoencoder": dense_autoencoder,
    "depthwise_block": depthwise_block,
    "residual_concat": residual_concat,
}
