"""Keras model builders shared by the host parity tests, the MicroPython
tests and the benchmarks: the model shapes people deploy on microcontrollers
(MLPerf Tiny style), kept small so conversion and emulated runs are quick.

Every builder is deterministic (seeded weights) and returns
(keras.Model, calibration data, labels or None); calibration data is an array
(N, *input_shape), or a list of such arrays for several inputs. Weights are
random, not trained: bit-exact parity does not need accuracy, and random
weights exercise rounding paths at least as well.

MODELS maps a name to its builder. A builder with `int16 = True` is
quantised 16x8 (int16 activations, int8 weights: keras_to_tflite(int16=True));
one with `ram_budget = N` is converted with that arena budget (tiling.py),
one with `fc_weights = "int16"` (or "pairs") with its FULLY_CONNECTED weights
in that layout (convert_tflite's fc_weights).
"""

import numpy as np


def _keras(seed=1234):
    import keras

    keras.utils.set_random_seed(seed)
    return keras


def _calib(shape, n=48, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def mnist_cnn():
    """Classic small image classifier: 28x28 grey in, 10 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((28, 28, 1))
    x = L.Conv2D(8, 3, activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(16, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(10)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="mnist_cnn"), _calib((28, 28, 1)), [str(i) for i in range(10)]


def ds_cnn_kws():
    """Keyword spotting DS-CNN (MLPerf Tiny KWS, narrowed): 49x10 MFCC in, 12 words.
    BatchNorm is folded by TFLite's converter."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((49, 10, 1))
    x = L.Conv2D(16, (10, 4), strides=(2, 2), padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(2):
        x = L.DepthwiseConv2D(3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(16, 1)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    x = L.Dense(12)(x)
    out = L.Softmax()(x)
    words = "silence unknown yes no up down left right on off stop go".split()
    return keras.Model(inp, out, name="ds_cnn_kws"), _calib((49, 10, 1)), words


def mobilenet_block():
    """MobileNet-style stem + inverted/separable blocks with ReLU6, 32x32x3 in."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(16, 1, activation="relu6")(x)
    x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = L.DepthwiseConv2D(3, strides=2, activation="relu6")(x)
    x = L.Conv2D(24, 1, activation="relu6")(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6")(x)
    x = L.Conv2D(24, 1)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(5)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="mobilenet_block"), _calib((32, 32, 3)), list("abcde")


def conv1d_gesture():
    """Accelerometer gesture model: 128 samples x 3 axes in, 4 classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((128, 3))
    x = L.Conv1D(8, 5, activation="relu")(inp)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(16, 3, padding="same", activation="relu")(x)
    x = L.AveragePooling1D(2)(x)
    x = L.Conv1D(16, 3, dilation_rate=2, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(4)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="conv1d_gesture"), _calib((128, 3)), ["idle", "wave", "circle", "shake"]


def fc_autoencoder():
    """MLPerf Tiny anomaly-detection autoencoder (narrowed): 640 -> 128 -> 8 -> 128 -> 640."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((640,))
    x = inp
    for units in (128, 128, 8, 128, 128):
        x = L.Dense(units)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    out = L.Dense(640)(x)
    return keras.Model(inp, out, name="fc_autoencoder"), _calib((640,)), None


def residual_block():
    """ResNet-style block with an identity ADD and a projection ADD."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((16, 16, 8))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.Conv2D(8, 3, padding="same")(x)
    x = L.ReLU()(L.Add()([x, inp]))
    y = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    y = L.Conv2D(16, 3, padding="same")(y)
    shortcut = L.Conv2D(16, 1, strides=2)(x)
    y = L.ReLU()(L.Add()([y, shortcut]))
    y = L.GlobalAveragePooling2D()(y)
    out = L.Dense(6)(y)
    return keras.Model(inp, out, name="residual_block"), _calib((16, 16, 8)), None


def concat_branch():
    """Inception-style branches joined by CONCATENATION, plus a squeeze-excite MUL."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((16, 16, 4))
    a = L.Conv2D(8, 1, activation="relu")(inp)
    b = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    c = L.MaxPooling2D(3, strides=1, padding="same")(inp)
    x = L.Concatenate()([a, b, c])
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Conv2D(20, 1, activation="sigmoid")(s)
    x = L.Multiply()([x, s])
    x = L.Conv2D(8, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3)(x)
    out = L.Softmax()(x)
    return keras.Model(inp, out, name="concat_branch"), _calib((16, 16, 4)), ["x", "y", "z"]


def activations_mix():
    """Unary ops that become LUTs (sigmoid, tanh, hard swish, leaky ReLU) and a two-output head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((10, 10, 3))
    x = L.Conv2D(8, 3, activation="tanh")(inp)
    x = L.LeakyReLU(negative_slope=0.1)(x)
    x = L.DepthwiseConv2D(3, activation="hard_swish")(x)
    x = L.Flatten()(x)
    h = L.Dense(16, activation="sigmoid")(x)
    out1 = L.Dense(4)(h)
    out2 = L.Softmax()(L.Dense(3)(h))
    return keras.Model(inp, [out1, out2], name="activations_mix"), _calib((10, 10, 3)), None


def odd_conv():
    """CONV_2D shapes off the fast paths' blocks: odd channel and pixel
    counts, reductions that are not multiples of four, padding, and a
    3x3x33 window (297 inputs) too long to prepare two at a time."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((7, 7, 3))
    x = L.Conv2D(5, 3, padding="same", activation="relu")(inp)
    x = L.Conv2D(33, 1)(x)
    x = L.Conv2D(7, 3)(x)
    x = L.Flatten()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="odd_conv"), _calib((7, 7, 3)), None


def odd_depthwise():
    """DEPTHWISE_CONV_2D off the 3x3 path: a 5x5 window over 48 channels
    (more than the widened weights of DSP cores take in one pass), 50
    channels (two left over from the groups of four), stride 2, and depth
    multiplier 2."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((9, 9, 3))
    x = L.Conv2D(48, 1)(inp)
    x = L.DepthwiseConv2D(5, padding="same", activation="relu")(x)
    x = L.Conv2D(50, 1)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2)(x)
    x = L.Flatten()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="odd_depthwise"), _calib((9, 9, 3)), None


def wide_windows():
    """CONV_2D windows at the gather limit: 3x3x64 (576 inputs, the largest
    gathered window, taken in several chunks of prepared pixels) into 65
    channels (three accumulator chunks, the last of one), then 3x3x65 (585
    inputs, summed run by run from the input), over 35 and 15 pixels (a
    quad's and a pair's leftovers)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((5, 7, 8))
    x = L.Conv2D(64, 1, activation="relu")(inp)
    x = L.Conv2D(65, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(6, 3)(x)
    x = L.Flatten()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="wide_windows"), _calib((5, 7, 8)), None


def conv_sweep():
    """CONV_2D windows of every length mod 4 (45, 30, 75, and 270: more
    than one chunk of prepared pixels), 3, 6, 35 (two accumulator chunks)
    and 4 channels, pixel counts leaving one to three of a quad, stride,
    dilation and both paddings, side by side."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((7, 9, 5))
    a = L.Conv2D(3, 3, padding="same")(inp)                                # 63 pixels
    b = L.Conv2D(6, (2, 3), strides=2, activation="relu")(inp)             # 3 x 4
    c = L.Conv2D(35, (3, 5), padding="same", activation="relu6")(inp)      # 63 pixels
    d = L.Conv2D(4, 3, dilation_rate=2, padding="same")(L.Conv2D(30, 1)(inp))
    x = L.Concatenate()([L.Flatten()(t) for t in (a, b, c, d)])
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="conv_sweep"), _calib((7, 9, 5)), None


def elementwise_mix():
    """A difference-of-branches block: SUB, MAXIMUM and MINIMUM of two conv
    branches (one broadcast against a per-channel bias row), then a head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((8, 8, 3))
    a = L.Conv2D(6, 3, padding="same")(inp)
    b = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    d = L.Subtract()([a, b])
    hi = L.Maximum()([d, b])
    lo = keras.ops.minimum(a, keras.ops.mean(b, axis=(1, 2), keepdims=True))
    x = L.Concatenate()([hi, lo])
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3)(x)
    return keras.Model(inp, out, name="elementwise_mix"), _calib((8, 8, 3)), None


def split_transpose_crop():
    """Data movement around convolutions: a channel split into two branches,
    a transpose, a crop, a nearest-neighbour resize and a reversed concat."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((10, 12, 4))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    left, right = keras.ops.split(x, 2, axis=-1)
    left = L.Permute((2, 1, 3))(left)                  # 12 x 10
    left = L.Cropping2D(((1, 1), (0, 0)))(left)         # 10 x 10
    right = L.Cropping2D(((0, 0), (1, 1)))(right)       # 10 x 10
    right = keras.ops.image.resize(L.Conv2D(4, 3, strides=2, padding="same")(right), (10, 10),
                                   interpolation="nearest")
    x = L.Concatenate()([right, left])
    x = L.Conv2D(6, 3, strides=2)(x)
    x = L.Flatten()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="split_transpose_crop"), _calib((10, 12, 4)), None


def upsampling_net():
    """A decoder's upsampling without transposed convolutions: bilinear
    UpSampling2D, a nearest-neighbour resize to an odd size, and a
    bilinear resize down, between convolutions."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((6, 6, 4))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.UpSampling2D(2, interpolation="bilinear")(x)             # 12 x 12
    x = L.Conv2D(6, 3, padding="same", activation="relu")(x)
    x = keras.ops.image.resize(x, (17, 15), interpolation="nearest")
    x = L.Conv2D(4, 3, strides=2)(x)                                # 8 x 7
    x = L.Resizing(5, 5, interpolation="bilinear")(x)
    x = L.Flatten()(x)
    out = L.Dense(3)(x)
    return keras.Model(inp, out, name="upsampling_net"), _calib((6, 6, 4)), None


def attention_block():
    """A tiny transformer encoder block over 8 tokens of 12 features: one
    head of self-attention (q k^T and scores v, BATCH_MATMUL; softmax), a
    residual ADD, a feed-forward pair of dense layers, then a mean-pooled head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((8, 12))
    q, k, v = L.Dense(8)(inp), L.Dense(8)(inp), L.Dense(12)(inp)
    scores = L.Softmax()(L.Rescaling(8 ** -0.5)(keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1)))))
    x = L.Add()([inp, keras.ops.matmul(scores, v)])
    x = L.Add()([x, L.Dense(12)(L.Dense(24, activation="relu")(x))])
    x = L.GlobalAveragePooling1D()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="attention_block"), _calib((8, 12)), None


def unet_decoder():
    """A U-Net in miniature: two strided encoder stages, then a decoder of
    Conv2DTranspose upsampling (stride 2, same padding) with the encoder's
    skip connections concatenated, and a 1x1 head per pixel."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((16, 16, 3))
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(inp)                   # 16x16x8
    e2 = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(e1)        # 8x8x12
    b = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(e2)         # 4x4x16
    d2 = L.Conv2DTranspose(12, 3, strides=2, padding="same", activation="relu")(b)  # 8x8x12
    d2 = L.Conv2D(12, 3, padding="same", activation="relu")(L.Concatenate()([d2, e2]))
    d1 = L.Conv2DTranspose(8, 2, strides=2, padding="valid")(d2)                  # 16x16x8
    d1 = L.Conv2D(8, 3, padding="same", activation="relu")(L.Concatenate()([d1, e1]))
    out = L.Conv2D(2, 1)(d1)
    return keras.Model(inp, out, name="unet_decoder"), _calib((16, 16, 3)), None


def lstm_gesture():
    """Accelerometer window classifier, the recurrent way: 3 axes x 16 steps,
    a Keras 3 LSTM (a loop until the converter unrolls it), 4 gestures."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((16, 3))
    x = L.LSTM(12)(inp)
    out = L.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out, name="lstm_gesture"), _calib((16, 3)), ["wave", "punch", "circle", "idle"]


def gru_stacked():
    """Two stacked GRUs, the first returning its whole sequence."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((12, 4))
    x = L.GRU(8, return_sequences=True)(inp)
    x = L.GRU(6)(x)
    out = L.Dense(3)(x)
    return keras.Model(inp, out, name="gru_stacked"), _calib((12, 4)), None


def conv1d_lstm():
    """Conv1D features, then an LSTM over their sequence, every step kept and
    averaged (return_sequences)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((20, 3))
    x = L.Conv1D(8, 3, strides=2, activation="relu")(inp)
    x = L.LSTM(10, return_sequences=True)(x)
    x = L.GlobalAveragePooling1D()(x)
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="conv1d_lstm"), _calib((20, 3)), None


def lstm_stream():
    """A stateful LSTM fed one frame per invoke (a keyword or gesture model
    streaming its sensor): the fused LSTM's state carries the sequence from
    one invoke to the next, so the board's answers over several invokes must
    equal TFLite's over the same invokes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((1, 4), batch_size=1)
    x = L.LSTM(10, stateful=True)(inp)
    out = L.Dense(3)(x)
    return keras.Model(inp, out, name="lstm_stream"), _calib((1, 4), n=96), None


lstm_stream.invokes = 10


def cnn_16x8():
    """A small image CNN quantised 16x8 (int16 activations): strided conv,
    depthwise, max pooling, zero padding, a channel concatenation, global
    average pooling and a softmax head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((12, 12, 2))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Concatenate()([x, L.Conv2D(4, 1)(x)])
    x = L.ZeroPadding2D(1)(x)
    x = L.Conv2D(6, 3, strides=2)(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(5, activation="softmax")(x)
    return keras.Model(inp, out, name="cnn_16x8"), _calib((12, 12, 2)), [f"c{i}" for i in range(5)]


cnn_16x8.int16 = True


def conv1d_16x8():
    """An audio-style Conv1D stack quantised 16x8: causal and dilated
    convolutions over 32 steps of 4 features, regression head."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((32, 4))
    x = L.Conv1D(8, 5, padding="causal", activation="relu")(inp)
    x = L.Conv1D(8, 3, strides=2, activation="relu")(x)
    x = L.Conv1D(6, 3, dilation_rate=2)(x)
    x = L.Flatten()(x)
    out = L.Dense(3)(x)
    return keras.Model(inp, out, name="conv1d_16x8"), _calib((32, 4)), None


conv1d_16x8.int16 = True


def conv1d_residual_16x8():
    """A 16x8 Conv1D residual net (speech-enhancement shaped): two residual
    blocks with identity ADDs, a dilated causal convolution and a tanh
    output of the same length as the input."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((24, 4))
    x = L.Conv1D(8, 3, padding="same", activation="relu")(inp)
    for rate in (1, 2):
        y = L.Conv1D(8, 3, padding="causal", dilation_rate=rate, activation="relu")(x)
        y = L.Conv1D(8, 1)(y)
        x = L.Add()([x, y])
    out = L.Conv1D(2, 1, activation="tanh")(x)
    return keras.Model(inp, out, name="conv1d_residual_16x8"), _calib((24, 4)), None


conv1d_residual_16x8.int16 = True


def tiled_stem():
    """A MobileNet-style stem on an odd-sized image, converted with a RAM
    budget its untiled plan does not fit (`ram_budget`: convert_tflite's
    option, as `tinyml convert --ram-budget`): its input is read in place
    and its first layers run tiled, dilated and pooled ones included."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((29, 27, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(12, 1, activation="relu6")(x)
    x = L.MaxPooling2D(2, strides=1)(x)
    x = L.DepthwiseConv2D(3, padding="same", dilation_rate=2)(x)
    x = L.Conv2D(16, 1, activation="relu")(x)
    x = L.AveragePooling2D(3, strides=2, padding="same")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
    x = L.Conv2D(16, 1)(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out, name="tiled_stem"), _calib((29, 27, 3)), list("wxyz")


tiled_stem.ram_budget = 4700


def tiled_16x8():
    """cnn_16x8's first layers on a taller image, 16x8 and tiled."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((21, 10, 2))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(6, 3, strides=2)(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out, name="tiled_16x8"), _calib((21, 10, 2)), None


tiled_16x8.int16 = True
tiled_16x8.ram_budget = 2048


def conv_rows():
    """Windows the Arm cores' quads read row by row in place (rows of whole
    blocks of four inputs, no gather): 3x3x20 (180 inputs: one piece on the
    M4, pieces of 128 and 64 starting mid-row on the M3 and M0) and 3x3x4,
    both valid over 2x5 pixels, so the last two of each layer go to the
    pair path, which gathers them."""
    keras = _keras(23)
    L = keras.layers
    inp = keras.Input((4, 7, 20))
    a = L.Conv2D(6, 3, activation="relu")(inp)
    b = L.Conv2D(5, 3)(L.Conv2D(4, 1)(inp))
    x = L.Concatenate()([L.Flatten()(a), L.Flatten()(b)])
    out = L.Dense(4)(x)
    return keras.Model(inp, out, name="conv_rows"), _calib((4, 7, 20)), None


def dense_w16():
    """FULLY_CONNECTED with pre-widened int16 weights: a batch of three rows
    of 37 features into 13 units (one past a group of four rows, one past a
    block of four inputs), then 39 into 6 (three past, two past), ReLU, then
    none."""
    keras = _keras(21)
    L = keras.layers
    inp = keras.Input((3, 37))
    x = L.Dense(13, activation="relu")(inp)
    x = L.Flatten()(x)
    out = L.Dense(6)(x)
    return keras.Model(inp, out, name="dense_w16"), _calib((3, 37)), None


dense_w16.fc_weights = "int16"


def dense_w16_long():
    """Pre-widened FULLY_CONNECTED over 520 inputs (the DSP path prepares
    them 512 at a time) into 9 units, RELU6 (rescaled in C); then into 35
    (two chunks of outputs, the last of three); then a layer without bias."""
    keras = _keras(22)
    L = keras.layers
    inp = keras.Input((520,))
    x = L.Dense(9, activation="relu6")(inp)
    x = L.Dense(35)(x)
    out = L.Dense(10, use_bias=False)(x)
    return keras.Model(inp, out, name="dense_w16_long"), _calib((520,)), None


dense_w16_long.fc_weights = "int16"


def dense_pairs():
    """FULLY_CONNECTED with two rows' weights a word: a batch of two rows of
    243 features (the Cortex-M3 sums 240 at a time) into 7 units (one past
    a group of six rows), RELU6 (rescaled in C); then 14 into 37 (past the
    36 outputs rescaled together), no bias (the folded one stands in)."""
    keras = _keras(24)
    L = keras.layers
    inp = keras.Input((2, 243))
    x = L.Dense(7, activation="relu6")(inp)
    x = L.Flatten()(x)
    out = L.Dense(37, use_bias=False)(x)
    return keras.Model(inp, out, name="dense_pairs"), _calib((2, 243)), None


dense_pairs.fc_weights = "pairs"


MODELS = {
    "mnist_cnn": mnist_cnn,
    "ds_cnn_kws": ds_cnn_kws,
    "mobilenet_block": mobilenet_block,
    "conv1d_gesture": conv1d_gesture,
    "fc_autoencoder": fc_autoencoder,
    "residual_block": residual_block,
    "concat_branch": concat_branch,
    "activations_mix": activations_mix,
    "odd_conv": odd_conv,
    "odd_depthwise": odd_depthwise,
    "elementwise_mix": elementwise_mix,
    "split_transpose_crop": split_transpose_crop,
    "upsampling_net": upsampling_net,
    "attention_block": attention_block,
    "unet_decoder": unet_decoder,
    "lstm_gesture": lstm_gesture,
    "gru_stacked": gru_stacked,
    "conv1d_lstm": conv1d_lstm,
    "lstm_stream": lstm_stream,
    "cnn_16x8": cnn_16x8,
    "conv1d_16x8": conv1d_16x8,
    "conv1d_residual_16x8": conv1d_residual_16x8,
    "tiled_stem": tiled_stem,
    # Last: qemu_m0's native-module run leaves them out (scripts/natmod_test.py).
    "tiled_16x8": tiled_16x8,
    "wide_windows": wide_windows,
    "conv_sweep": conv_sweep,
    "dense_w16": dense_w16,
    "dense_w16_long": dense_w16_long,
    "conv_rows": conv_rows,
    "dense_pairs": dense_pairs,
}
