"""Benchmark models: the full-size MLPerf Tiny shapes (tests/models.py keeps
narrowed versions for quick parity tests). Weights are random but seeded:
speed, arena and size do not depend on accuracy.

Each builder returns (keras.Model, calibration data (N, *input_shape)).
MODELS maps the benchmark name to its builder.
"""

import numpy as np


def _keras(seed=7):
    import keras

    keras.utils.set_random_seed(seed)
    return keras


def _calib(shape, n=32, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def _keep_activations_alive(model, calib):
    """Rescale each conv and dense kernel, in order, so its output has unit
    spread on the calibration data (LSUV-style). Deep random stacks without
    it fade to zero: their int8 scales then collapse to ~1e-8, TFLite's own
    SOFTMAX refuses such an input scale (it aborts in Prepare), and every
    output byte is the same, which tests nothing."""
    import keras

    for layer in model.layers:
        kernel = getattr(layer, "depthwise_kernel", None) or getattr(layer, "kernel", None)
        if kernel is None:
            continue
        probe = keras.Model(model.inputs, layer.output)
        spread = float(np.std(probe.predict(calib, verbose=0)))
        if spread > 0:
            kernel.assign(kernel.numpy() / spread)
    return model


def mnist_cnn():
    """Small MNIST-style CNN: 28x28x1, two 3x3 convolutions, two dense layers."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(16, 3, activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(32, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(64, activation="relu")(x)
    x = L.Dense(10)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="mnist_cnn"), _calib((28, 28, 1))


def kws_dscnn():
    """MLPerf Tiny keyword spotting DS-CNN: 49x10x1 MFCC, 64 channels,
    a 10x4 stride-2 convolution then four depthwise-separable blocks."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(64, 1)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(12)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="kws_dscnn"), _calib((49, 10, 1))


def vww_mobilenet():
    """MLPerf Tiny visual wake words: MobileNetV1, alpha 0.25, 96x96x3, 2 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((96, 96, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    # (pointwise filters, depthwise stride) of MobileNetV1, alpha = 0.25.
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2),
              (128, 1), (128, 1), (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]
    for filters, stride in blocks:
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(6.0)(x)
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(6.0)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(2)(x)
    out = L.Softmax()(x)
    calib = _calib((96, 96, 3), n=16)
    return _keep_activations_alive(keras.Model(inp, out, name="vww_mobilenet"), calib), calib


def resnet8_cifar():
    """MLPerf Tiny image classification: ResNet-8 on CIFAR-10, 32x32x3, a 16
    channel convolution, three residual stages of 16, 32 and 64 channels
    (stride 2 and a 1x1 convolution shortcut where the shape changes), a
    global average pool and 10 classes."""
    keras = _keras()
    L = keras.layers

    def conv_bn(x, filters, kernel, strides, relu):
        x = L.Conv2D(filters, kernel, strides=strides, padding="same")(x)
        x = L.BatchNormalization()(x)
        return L.ReLU()(x) if relu else x

    inp = keras.Input((32, 32, 3))
    x = conv_bn(inp, 16, 3, 1, True)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = conv_bn(x, filters, 3, stride, True)
        y = conv_bn(y, filters, 3, 1, False)
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = L.ReLU()(L.Add()([x, y]))
    # MLPerf's reference pools the whole 8x8 map with AveragePooling2D.
    x = L.AveragePooling2D(pool_size=8)(x)
    x = L.Flatten()(x)
    out = L.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out, name="resnet8_cifar"), _calib((32, 32, 3), n=16)


def ad_autoencoder():
    """MLPerf Tiny anomaly detection: 640 -> 128 x4 -> 8 -> 128 x4 -> 640."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((640,))
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    out = L.Dense(640)(x)
    return keras.Model(inp, out, name="ad_autoencoder"), _calib((640,))


def gesture_conv1d():
    """Accelerometer gesture model: 128 samples x 3 axes, Conv1D stack, 4 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((128, 3))
    x = L.Conv1D(16, 5, activation="relu")(inp)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(32, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(32, 3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(4)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="gesture_conv1d"), _calib((128, 3))


def decoder_attention():
    """The ops the issue asked a benchmark for: one head of self-attention
    over the 64 positions of an 8x8x16 feature map (BATCH_MATMUL q k^T and
    scores v, softmax), then a decoder of two stride-2 Conv2DTranspose
    layers to 32x32, and a 1x1 head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((8, 8, 16))
    t = L.Reshape((64, 16))(inp)
    q, k, v = L.Dense(16)(t), L.Dense(16)(t), L.Dense(16)(t)
    scores = L.Softmax()(L.Rescaling(0.25)(keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1)))))
    t = L.Add()([t, keras.ops.matmul(scores, v)])
    x = L.Reshape((8, 8, 16))(t)
    x = L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    out = L.Conv2D(3, 1)(x)
    model = keras.Model(inp, out, name="decoder_attention")
    calib = _calib((8, 8, 16))
    return _keep_activations_alive(model, calib), calib


def lstm_activity():
    """Activity recognition the recurrent way: 64 samples x 6 IMU channels,
    one 32-unit LSTM (TFLite's fused integer LSTM: its gate products are
    FULLY_CONNECTED-shaped), 4 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((64, 6))
    x = L.LSTM(32)(inp)
    out = L.Softmax()(L.Dense(4)(x))
    return keras.Model(inp, out, name="lstm_activity"), _calib((64, 6))


MODELS = {
    "mnist_cnn": mnist_cnn,
    "kws_dscnn": kws_dscnn,
    "vww_mobilenet": vww_mobilenet,
    "resnet8_cifar": resnet8_cifar,
    "ad_autoencoder": ad_autoencoder,
    "gesture_conv1d": gesture_conv1d,
    "decoder_attention": decoder_attention,
    "lstm_activity": lstm_activity,
}
