"""16x8 models (int16 activations, int8 weights) against TFLite's reference
kernels, bit for bit: Keras models quantised by TF's own 16x8 post-training
quantisation, and hand-written .tflite files where a case needs chosen
scales (the rescale forms of FULLY_CONNECTED and the convolutions differ
only on exact halves and near-ties)."""

import numpy as np
import pytest

import parity
from tflite_build import TYPES, Builder

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

SOURCE = parity.source_of(__file__, parity.__file__)
TYPES.setdefault(np.dtype(np.int64), 4)


def _check(tfl, sets=6, seed=0):
    rng = np.random.default_rng(seed)

    def input_sets(oracle):
        return parity.random_inputs(oracle, rng, sets)

    _, tfl_outs, host_outs = parity.evaluate(tfl, input_sets)
    problems = [f"input set {i}: {p}" for i, (t, h) in enumerate(zip(tfl_outs, host_outs))
                if (p := parity.compare(t, h))]
    assert not problems, "\n".join(problems)


def _with_bias(model, rng):
    """Untrained Keras layers have zero biases, which TF leaves out of the
    .tflite: give every bias random values so the int64 bias path runs."""
    for layer in model.layers:
        weights = layer.get_weights()
        if len(weights) >= 2:
            weights[1] = rng.normal(scale=0.5, size=weights[1].shape).astype(np.float32)
            layer.set_weights(weights)
    return model


def _keras_16x8(key, build, shape, per_tensor=False):
    def make():
        keras.utils.set_random_seed(7)
        rng = np.random.default_rng(7)
        inp = keras.Input(shape)
        model = _with_bias(keras.Model(inp, build(inp)), rng)
        return model, rng.normal(size=(48, *shape)).astype(np.float32) * 2
    return parity.quantize(make, parity.cache_key("s16", key, SOURCE), per_tensor=per_tensor, int16=True)


L = keras.layers if keras else None

MODELS = {
    "mlp": ((13,), lambda x: L.Dense(5)(L.Dense(33, activation="relu")(L.Dense(17)(x)))),
    "mlp_relu6": ((9,), lambda x: L.Dense(4)(L.ReLU(6.0)(L.Dense(11)(x)))),
    "conv_same": ((7, 9, 3), lambda x: L.Conv2D(5, 3, padding="same")(x)),
    "conv_valid_stride": ((11, 10, 4), lambda x: L.Conv2D(6, (3, 2), strides=(2, 3), activation="relu")(x)),
    "conv_dilated": ((12, 12, 2), lambda x: L.Conv2D(3, 3, dilation_rate=2)(x)),
    "conv_1x1": ((5, 5, 8), lambda x: L.Conv2D(7, 1)(x)),
    "depthwise": ((8, 7, 3), lambda x: L.DepthwiseConv2D(3, padding="same")(x)),
    "depthwise_mult": ((9, 6, 3), lambda x: L.DepthwiseConv2D((3, 2), strides=2, depth_multiplier=2)(x)),
    "cnn": ((10, 10, 2), lambda x: L.Dense(4)(L.Flatten()(
        L.DepthwiseConv2D(3, activation="relu")(L.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x))))),
    "softmax_head": ((10,), lambda x: L.Softmax()(L.Dense(7)(L.Dense(12, activation="relu")(x)))),
    "tanh_sigmoid": ((6,), lambda x: L.Dense(3, activation="sigmoid")(L.Dense(9, activation="tanh")(x))),
    "conv1d": ((20, 3), lambda x: L.Conv1D(4, 5, padding="causal", activation="relu")(L.Conv1D(6, 3)(x))),
    "transpose_conv_same": ((5, 6, 3), lambda x: L.Conv2DTranspose(4, 3, strides=2, padding="same")(x)),
    "transpose_conv_valid": ((4, 5, 2), lambda x: L.Conv2DTranspose(3, (3, 2), strides=(1, 2),
                                                                    activation="relu")(x)),
    "transpose_conv_no_bias": ((4, 4, 3), lambda x: L.Conv2DTranspose(5, 2, strides=2, use_bias=False)(x)),
    "conv_no_bias": ((6, 7, 3), lambda x: L.Conv2D(5, 3, use_bias=False)(x)),
    "depthwise_no_bias": ((6, 7, 3), lambda x: L.DepthwiseConv2D(3, use_bias=False)(x)),
    "dense_no_bias": ((9,), lambda x: L.Dense(6, use_bias=False)(x)),
    "resize_bilinear": ((5, 7, 3), lambda x: L.Resizing(9, 12, interpolation="bilinear")(L.Conv2D(3, 1)(x))),
    "upsample_bilinear": ((4, 5, 2), lambda x: L.UpSampling2D(2, interpolation="bilinear")(L.Conv2D(4, 3, padding="same")(x))),
    "residual_add": ((10, 10, 3), lambda x: L.Add()([L.Conv2D(4, 3, padding="same")(x), L.Conv2D(4, 1)(x)])),
    "sub_mul_broadcast": ((6, 5, 4), lambda x: L.Multiply()([L.Subtract()([L.Conv2D(4, 1)(x), x]),
                                                             L.Dense(1)(L.GlobalAveragePooling2D(keepdims=True)(x))])),
    "pools": ((11, 9, 3), lambda x: L.AveragePooling2D(3, strides=2, padding="same")(
        L.MaxPooling2D((2, 3), strides=(2, 1))(L.Conv2D(5, 1)(x)))),
    "mean_head": ((7, 6, 4), lambda x: L.Dense(3)(L.GlobalAveragePooling2D()(L.Conv2D(6, 3, activation="relu")(x)))),
    "elementwise_mix": ((8, 8, 2), lambda x: L.Maximum()([L.Minimum()([L.Conv2D(3, 1)(x), L.Conv2D(3, 3, padding="same")(x)]),
                                                          L.Subtract()([L.Conv2D(3, 1)(x), L.Conv2D(3, 1)(x)])])),
    "concat_pad": ((6, 6, 3), lambda x: L.ZeroPadding2D(((1, 2), (0, 1)))(
        L.Concatenate()([L.Conv2D(2, 1)(x), L.Conv2D(3, 3, padding="same")(x)]))),
    "reduce_max_spatial": ((6, 5, 4), lambda x: L.Dense(3)(keras.ops.max(L.Conv2D(5, 1)(x), axis=(1, 2)))),
    "reduce_min_rows": ((7, 3, 4), lambda x: keras.ops.min(L.Conv2D(3, 3, padding="same")(x), axis=1,
                                                           keepdims=True)),
    "reduce_max_min_apart": ((5, 4, 6), lambda x: L.Subtract()([keras.ops.max(L.Conv2D(3, 1)(x), axis=(1, 3)),
                                                                keras.ops.min(L.Conv2D(3, 1)(x), axis=(1, 3))])),
    "exp": ((9,), lambda x: L.Dense(4)(keras.ops.exp(L.Dense(6)(x)))),
    "sum_rows": ((6, 5, 4), lambda x: L.Dense(3)(keras.ops.sum(L.Conv2D(4, 1)(x), axis=(1, 2)))),
    "abs": ((9,), lambda x: L.Dense(4)(keras.ops.abs(L.Dense(6)(x)))),
    "log_of_exp": ((7,), lambda x: L.Dense(3)(keras.ops.log(keras.ops.exp(L.Dense(5)(x))))),
    "gelu": ((8,), lambda x: L.Dense(3)(L.Dense(10, activation="gelu")(x))),
    "gelu_approximate": ((8,), lambda x: L.Dense(3)(keras.activations.gelu(L.Dense(10)(x), approximate=True))),
    "crop_transpose_reshape": ((8, 6, 4), lambda x: L.Dense(3)(L.Reshape((-1,))(L.Permute((2, 1, 3))(
        L.Cropping2D(((1, 2), (2, 1)))(L.Conv2D(4, 1)(x)))))),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_16x8_parity(name):
    shape, build = MODELS[name]
    _check(_keras_16x8(name, build, shape))


# TF 2.21's per-tensor switch fails on a 16x8 depthwise convolution
# ("Quantized dimension ... do not match"), so no depthwise here.
@pytest.mark.parametrize("name", ["mlp", "conv_same"])
def test_keras_16x8_per_tensor_parity(name):
    shape, build = MODELS[name]
    _check(_keras_16x8(name, build, shape, per_tensor=True))


def _fc(si, wsc, so, bias, k=5, n=60, batch=7, act=0, seed=1):
    from tensorflow.lite.python import schema_py_generated as s

    rng = np.random.default_rng(seed)
    b = Builder()
    i = b.tensor("in", [batch, k], np.int16, si, 0)
    w = b.tensor("w", [n, k], np.int8, None, data=rng.integers(-127, 128, size=(n, k)))
    q = s.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = [float(v) for v in wsc], [0] * len(wsc), 0
    b.tensors[w].quantization = q
    ins = [i, w, -1]
    if bias is not None:
        ins[2] = bt = b.tensor("b", [n], np.int64, None, data=bias)
        qb = s.QuantizationParametersT()
        qb.scale, qb.zeroPoint = [float(si * v) for v in wsc], [0] * len(wsc)
        b.tensors[bt].quantization = qb
    o = b.tensor("out", [batch, n], np.int16, so, 0)
    opt = s.FullyConnectedOptionsT()
    opt.fusedActivationFunction = act
    b.op("FULLY_CONNECTED", ins, [o], "FullyConnectedOptions", opt)
    return b.finish([i], [o])


@pytest.mark.parametrize("case", ["halves", "per_channel", "no_bias", "relu", "saturating"])
def test_fully_connected_s16_rescale(case):
    """TF 2.21's int16 FULLY_CONNECTED rounds acc * scale in double, halves
    away from zero: with scale exactly 0.5 every odd sum is a tie, where the
    integer MultiplyByQuantizedMultiplier forms give another answer."""
    rng = np.random.default_rng(3)
    n = 60
    if case == "halves":
        tfl = _fc(1 / 64, [1 / 128], 1 / 4096, rng.integers(-1000, 1000, size=n))
    elif case == "per_channel":
        tfl = _fc(0.0007, rng.uniform(0.001, 0.02, size=n), 0.011, rng.integers(-2 ** 20, 2 ** 20, size=n))
    elif case == "no_bias":
        tfl = _fc(0.0003, [0.01], 0.002, None, k=40)
    elif case == "relu":
        tfl = _fc(0.001, rng.uniform(0.001, 0.02, size=n), 0.004, rng.integers(-2 ** 16, 2 ** 16, size=n), act=1)
    else:
        tfl = _fc(0.02, [0.03], 0.0001, rng.integers(-2 ** 30, 2 ** 30, size=n), k=50)
    _check(tfl, sets=5)


def _quantize_op(in_dtype, in_scale, in_zp, out_dtype, out_scale, out_zp, shape=(3, 50)):
    b = Builder()
    i = b.tensor("in", list(shape), in_dtype, in_scale, in_zp)
    o = b.tensor("out", list(shape), out_dtype, out_scale, out_zp)
    b.op("QUANTIZE", [i], [o])
    return b.finish([i], [o])


@pytest.mark.parametrize("case", [
    (np.int16, 0.001, 0, np.int8, 0.05, 3),
    (np.int16, 0.0005, 0, np.int8, 0.0005, -128),
    (np.int16, 0.003, 0, np.int16, 0.0011, 0),
    (np.int16, 0.0011, 0, np.int16, 0.003, 0),
])
def test_quantize_from_int16(case):
    """TFLite's QUANTIZE takes int16 to int8 or int16 (not int8 to int16:
    its Prepare refuses that)."""
    _check(_quantize_op(*case), sets=4)


def test_16x8_op_without_int16_kernel_is_named():
    """An op tinyml runs only for int8 is refused by its name when its
    tensors are int16, not with a message about another op."""
    convert = pytest.importorskip("tinyml_converter.convert")
    from tinyml_converter.errors import ConversionError

    b = Builder()
    i = b.tensor("in", [1, 4, 4, 2], np.int16, 0.01, 0)
    o = b.tensor("out", [1, 4, 4, 2], np.int16, 1 / 32768, 0)
    b.op("HARD_SWISH", [i], [o])
    with pytest.raises(ConversionError, match=r"HARD_SWISH.*int16"):
        convert.tflite_to_blob(b.finish([i], [o]))


def _data_movement(op):
    """One data-movement op on int16, written by hand (TF's 16x8 converter
    keeps these ops only next to others)."""
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    i = b.tensor("in", [1, 4, 6, 3], np.int16, 0.01, 0)
    if op == "SPLIT":
        axis = b.tensor("axis", [], np.int32, data=[2])
        outs = [b.tensor(f"out{k}", [1, 4, 2, 3], np.int16, 0.01, 0) for k in range(3)]
        opt = s.SplitOptionsT()
        opt.numSplits = 3
        b.op("SPLIT", [axis, i], outs, "SplitOptions", opt)
    elif op == "GATHER":
        idx = b.tensor("idx", [5], np.int32, data=[2, 0, 1, 2, 2])
        outs = [b.tensor("out", [1, 4, 6, 5], np.int16, 0.01, 0)]
        opt = s.GatherOptionsT()
        opt.axis = 3
        b.op("GATHER", [i, idx], outs, "GatherOptions", opt)
    elif op == "RESIZE_NEAREST_NEIGHBOR":
        size = b.tensor("size", [2], np.int32, data=[7, 13])
        outs = [b.tensor("out", [1, 7, 13, 3], np.int16, 0.01, 0)]
        opt = s.ResizeNearestNeighborOptionsT()
        opt.halfPixelCenters = True
        b.op("RESIZE_NEAREST_NEIGHBOR", [i, size], outs, "ResizeNearestNeighborOptions", opt)
    elif op == "PACK":
        b = Builder()
        i = b.tensor("in", [4, 6, 3], np.int16, 0.01, 0)
        j = b.tensor("in2", [4, 6, 3], np.int16, 0.01, 0)
        outs = [b.tensor("out", [4, 2, 6, 3], np.int16, 0.01, 0)]
        opt = s.PackOptionsT()
        opt.valuesCount, opt.axis = 2, 1
        b.op("PACK", [i, j], outs, "PackOptions", opt)
        return b.finish([i, j], outs)
    else:  # TRANSPOSE
        perm = b.tensor("perm", [4], np.int32, data=[0, 3, 1, 2])
        outs = [b.tensor("out", [1, 3, 4, 6], np.int16, 0.01, 0)]
        b.op("TRANSPOSE", [i, perm], outs)
    return b.finish([i], outs)


# (op, input scale, output scale, GELU's approximate): output ranges that fit,
# and ones that saturate the table.
LUT_S16_CASES = [
    ("EXP", 1e-4, 8.1e-4, False), ("EXP", 3.1e-4, 0.002, False), ("EXP", 2e-5, 4e-5, False),
    ("EXP", 5e-4, 1e-4, False), ("GELU", 2e-4, 2e-4, False), ("GELU", 2e-4, 1.9e-4, True),
    ("GELU", 1.3e-3, 7e-4, False), ("GELU", 3e-5, 1e-5, True),
    ("LOG", 1e-3, 1e-3, False), ("LOG", 3e-4, 5e-5, False), ("LOG", 0.01, 2e-4, False),
    ("ABS", 1e-3, 1e-3, False), ("ABS", 1e-3, 2e-3, False), ("ABS", 2e-3, 1e-3, False),
    ("ABS", 1e-3, 3.3e-3, False), ("ABS", 3e-4, 1.7e-4, False), ("ABS", 7e-5, 7.1e-5, False),
    ("RSQRT", 1e-3, 1e-3, False), ("RSQRT", 3e-4, 4e-3, False), ("RSQRT", 0.02, 1e-4, False),
]


@pytest.mark.parametrize("case", LUT_S16_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}{'-approx' if c[3] else ''}")
def test_lut_s16_every_input(case):
    """The int16 EXP, LOG, GELU, ABS and RSQRT on every one of the 65536
    int16 values, against TFLite's kernels; RSQRT on the non-negative ones,
    since TFLite fails the invoke on a negative input (tinyml gives the
    output for 0 there, checked too)."""
    from tensorflow.lite.python import schema_py_generated as s

    name, in_scale, out_scale, approximate = case
    b = Builder()
    i = b.tensor("in", [1, 65536], np.int16, in_scale, 0)
    o = b.tensor("out", [1, 65536], np.int16, out_scale, 0)
    if name == "GELU":
        opt = s.GeluOptionsT()
        opt.approximate = approximate
        b.op("GELU", [i], [o], "GeluOptions", opt)
    else:
        b.op(name, [i], [o])
    every = np.arange(-32768, 32768).astype(np.int16).reshape(1, 65536)
    if name == "RSQRT":
        every = np.concatenate([every[:, 32768:]] * 2, axis=1)
    tfl = b.finish([i], [o])
    _, tfl_outs, host_outs = parity.evaluate(tfl, [[every]])
    assert parity.compare(tfl_outs[0], host_outs[0]) is None, parity.compare(tfl_outs[0], host_outs[0])
    if name == "RSQRT":
        from tinyml_converter import convert
        from tinyml_converter.host_runtime import HostModel

        negative = np.arange(-32768, 32768).astype(np.int16)
        negative[32768:] = 0
        (got,) = HostModel(convert.tflite_to_blob(tfl)).invoke(negative)
        assert (got.reshape(-1) == tfl_outs[0][0].reshape(-1)[0]).all()


# (input scale, output scale, [outer, reduced, inner]): a ratio of exactly 1/2
# (every odd sum a tie), saturating ones, sums past 2^24 (rounded to float32
# before the rescale), the largest sum supported.
SUM_S16_CASES = [
    (1e-3, 2e-3, (3, 5, 7)), (3e-4, 1e-3, (2, 9, 11)), (1e-3, 1e-3, (1, 3, 40)), (2e-3, 5e-4, (4, 4, 4)),
    (1e-4, 0.07, (2, 700, 3)), (1e-4, 0.7, (1, 65536, 2)), (5e-5, 5e-5, (6, 1, 5)), (0.01, 3e-5, (1, 31, 9)),
]


@pytest.mark.parametrize("case", SUM_S16_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{'x'.join(map(str, c[2]))}")
def test_sum_s16(case):
    """The int16 SUM against TFLite's default kernel (BUILTIN_REF's int16 SUM
    computes something else in TF 2.21; tests/host/parity.py): random values,
    and each input all -32768, all 32767."""
    from tensorflow.lite.python import schema_py_generated as s

    in_scale, out_scale, (outer, reduced, inner) = case
    b = Builder()
    i = b.tensor("in", [outer, reduced, inner], np.int16, in_scale, 0)
    axis = b.tensor("axis", [1], np.int32, data=[1])
    o = b.tensor("out", [outer, inner], np.int16, out_scale, 0)
    opt = s.ReducerOptionsT()
    opt.keepDims = False
    b.op("SUM", [i, axis], [o], "ReducerOptions", opt)
    tfl = b.finish([i], [o])
    rng = np.random.default_rng(reduced)
    _, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 6))
    for t, h in zip(tfl_outs, host_outs):
        assert parity.compare(t, h) is None, parity.compare(t, h)


def test_sum_s16_rescale_matches_ieee_float(c_builder):
    """The int16 SUM's integer emulation of TFLite's float32 rescale,
    round-half-away(float32(float32(s) * scale)), against NumPy's IEEE
    float32 over random sums and scales, sums past 2^24 (rounded before the
    product), and products built to tie at 24 bits."""
    import ctypes
    from fractions import Fraction

    class Reduce(ctypes.Structure):
        _fields_ = [("outer", ctypes.c_int32), ("reduced", ctypes.c_int32), ("inner", ctypes.c_int32),
                    ("steps", ctypes.c_void_p), ("scale_mantissa", ctypes.c_int32),
                    ("scale_exponent", ctypes.c_int32)]

    lib = c_builder(["tml_reduce.c"], "sum_s16_rescale")
    rng = np.random.default_rng(9)
    f32 = np.float32
    terms = 1 << 16
    cases = [(int(rng.integers(-(1 << 31) + (1 << 20), (1 << 31) - (1 << 20))), f32(10.0 ** rng.uniform(-9, 1))) for _ in range(1500)]
    cases += [(int(rng.integers(-40000, 40000)), f32(10.0 ** rng.uniform(-5, 0.5))) for _ in range(1500)]
    # Products exactly halfway between two float32 values: 3 * 2^j times an
    # odd 24-bit mantissa m has 25 significant bits ending in a lone 1, so
    # one bit is dropped at a tie; the lower neighbour is even for m = 3 mod
    # 4 and odd for m = 1 mod 4 (a tie-to-even rounding tells them apart).
    cases += [(sign * 3 * (1 << j), f32(np.ldexp(float(m), e))) for m in ((1 << 23) + 1, (1 << 23) + 3)
              for j in (0, 5, 12, 20, 28) for sign in (1, -1) for e in (-47, -40, -33, -26)]
    cases += [(sign * ((1 << 24) + 1 + 2 * k), f32(np.ldexp(1.0, e))) for sign in (1, -1) for k in range(4)
              for e in (-10, -12)]
    got, want = [], []
    x = np.zeros(terms, np.int16)
    out = np.zeros(1, np.int16)
    for total, scale in cases:
        x[:] = 0
        q, r = divmod(abs(total), 32768)
        x[:q] = 32767 if total > 0 else -32768
        # 32767 per term for positive sums: make up the difference in the rest.
        rest = abs(total) - (q * 32767 if total > 0 else q * 32768)
        k = q
        while rest:
            step = min(rest, 32767 if total > 0 else 32768)
            x[k] = step if total > 0 else -step
            rest -= step
            k += 1
        assert int(x.astype(np.int64).sum()) == total
        mantissa, exponent = np.frexp(scale)
        p = Reduce(1, terms, 1, None, int(mantissa * (1 << 24)), int(exponent) - 24)
        lib.tml_sum_s16(ctypes.byref(p), x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
        got.append(int(out[0]))
        v = Fraction(float(f32(f32(total) * scale)))
        rounded = int(abs(v) + Fraction(1, 2)) * (1 if v >= 0 else -1)
        want.append(max(-32768, min(32767, rounded)))
    bad = [(cases[k], got[k], want[k]) for k in range(len(cases)) if got[k] != want[k]]
    assert not bad, bad[:5]


# TILE is not here: TF 2.21's TILE refuses int16.
@pytest.mark.parametrize("op", ["SPLIT", "GATHER", "RESIZE_NEAREST_NEIGHBOR", "PACK", "TRANSPOSE"])
def test_data_movement_s16(op):
    _check(_data_movement(op), sets=3)


def test_fully_connected_s16_rescale_matches_ieee_double(c_builder):
    """The 16x8 FULLY_CONNECTED kernel rescales in integers what TFLite
    rescales in double: round-half-away(double(acc) * scale). Python's
    floats are IEEE doubles, the oracle here; one input feature of weight 1
    makes each output that rescale of its (bias + input), over random and
    extreme scales, ties and values just beside them."""
    import ctypes
    import math
    from fractions import Fraction

    lib = c_builder(["tml_s16.c"], "s16_rescale")
    rng = np.random.default_rng(5)
    n = 4000
    scales = np.concatenate([
        2.0 ** rng.integers(-40, 8, size=n // 4),                   # powers of two: many exact ties
        rng.uniform(1e-6, 1.0, size=n // 4),
        10.0 ** rng.uniform(-12, 3, size=n // 4),
        np.nextafter(0.5, [0.0, 1.0] * (n // 8)),                   # just beside one half
    ])
    bias = np.concatenate([rng.integers(-2 ** 47, 2 ** 47, size=n // 2),
                           rng.integers(-4096, 4096, size=n // 2)]).astype("<i8")
    x = rng.integers(-32768, 32768, size=1, dtype=np.int16)
    w = np.ones(1, np.int8)
    fc = (ctypes.c_int32 * 2)(-32768, 32767)
    got = np.zeros(n, np.int16)
    for k in range(n):
        lib.tml_fully_connected_s16(
            fc, np.array([scales[k]], "<f8").ctypes.data_as(ctypes.c_void_p), ctypes.c_uint16(1),
            1, 1, x.ctypes.data_as(ctypes.c_void_p), w.ctypes.data_as(ctypes.c_void_p),
            bias[k:k + 1].ctypes.data_as(ctypes.c_void_p), 1, got[k:k + 1].ctypes.data_as(ctypes.c_void_p))

    def expected(acc, scale):
        v = float(acc) * float(scale)  # one IEEE double product, as TFLite's
        if not -2147483648.5 < v < 2147483647.5:
            return -32768  # INT32_MIN, as the x86-64 oracle converts, then clamped
        r = math.floor(abs(Fraction(v)) + Fraction(1, 2))  # half away from zero, exactly
        return max(-32768, min(32767, r if v >= 0 else -r))

    want = np.array([expected(int(bias[k]) + int(x[0]), scales[k]) for k in range(n)], np.int16)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(float(scales[k]), int(bias[k]) + int(x[0]), int(got[k]), int(want[k])) for k in bad[:5]]


def _unary(op, in_scale, out_scale, shape=(4, 300), alpha=None):
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    i = b.tensor("in", list(shape), np.int16, in_scale, 0)
    o = b.tensor("out", list(shape), np.int16, out_scale, 0)
    if op == "LEAKY_RELU":
        opt = s.LeakyReluOptionsT()
        opt.alpha = alpha
        b.op(op, [i], [o], "LeakyReluOptions", opt)
    else:
        b.op(op, [i], [o])
    return b.finish([i], [o])


# TF 2.21 has no int16 RELU_N1_TO_1 or RELU_0_TO_1 (its kernel refuses them).
@pytest.mark.parametrize("op", ["RELU", "RELU6"])
@pytest.mark.parametrize("scales", [(0.001, 0.001), (0.0003, 0.0011), (0.01, 0.0002), (1 / 4096, 1 / 8192)])
def test_relu_family_s16(op, scales):
    _check(_unary(op, *scales), sets=4)


@pytest.mark.parametrize("alpha", [0.3, 0.01, 1.7])
@pytest.mark.parametrize("scales", [(0.001, 0.001), (0.0004, 0.0009), (0.002, 0.0005)])
def test_leaky_relu_s16(alpha, scales):
    _check(_unary("LEAKY_RELU", *scales, alpha=alpha), sets=4)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("in_scale", [1 / 4096, 0.0007, 0.01])
def test_logistic_tanh_s16_whole_models(op, in_scale):
    """The int16 tables through the converter and the C op table (the
    kernels alone: test_s16_act_kernels.py)."""
    _check(_unary(op, in_scale, 1 / 32768), sets=4)


def _batch_matmul(ls, rs, os_, adj_x, adj_y, scales=(0.002, 0.003, 0.05), const_rhs=False):
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    a = b.tensor("lhs", list(ls), np.int16, scales[0], 0)
    if const_rhs:
        r = b.tensor("rhs", list(rs), np.int16, scales[1], 0,
                     data=np.random.default_rng(2).integers(-32768, 32768, size=rs))
    else:
        r = b.tensor("rhs", list(rs), np.int16, scales[1], 0)
    o = b.tensor("out", list(os_), np.int16, scales[2], 0)
    opt = s.BatchMatMulOptionsT()
    opt.adjX, opt.adjY = adj_x, adj_y
    b.op("BATCH_MATMUL", [a, r], [o], "BatchMatMulOptions", opt)
    return b.finish([a] if const_rhs else [a, r], [o])


@pytest.mark.parametrize("case", [
    ((2, 5, 7), (2, 7, 3), (2, 5, 3), False, False, False),
    ((2, 7, 5), (2, 7, 3), (2, 5, 3), True, False, False),
    ((2, 5, 7), (2, 3, 7), (2, 5, 3), False, True, False),
    ((3, 2, 4, 6), (1, 2, 6, 5), (3, 2, 4, 5), False, False, False),
    ((1, 4, 9), (9, 6), (1, 4, 6), False, False, True),
    ((8, 12), (6, 12), (8, 6), False, True, False),
])
def test_batch_matmul_s16(case):
    ls, rs, os_, adj_x, adj_y, const_rhs = case
    _check(_batch_matmul(ls, rs, os_, adj_x, adj_y, const_rhs=const_rhs), sets=4)


def _div(dtype, a_shape, b_shape, out_shape, scales, zps, act=0):
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    x = b.tensor("a", list(a_shape), dtype, scales[0], zps[0])
    z = b.tensor("b", list(b_shape), dtype, scales[1], zps[1])
    o = b.tensor("out", list(out_shape), dtype, scales[2], zps[2])
    opt = s.DivOptionsT()
    opt.fusedActivationFunction = act
    b.op("DIV", [x, z], [o], "DivOptions", opt)
    return b.finish([x, z], [o])


@pytest.mark.parametrize("scales,zps", [((0.05, 0.02, 0.1), (-7, 3, 2)), ((0.03, 0.5, 0.01), (0, 10, -5)),
                                        ((0.2, 0.001, 30.0), (100, -100, 0))])
def test_div_int8_every_pair(scales, zps):
    """Every int8 dividend against every int8 divisor TFLite accepts: not
    the zero one (an undefined quotient) and not a raw 0 (its Eval refuses
    the tensor). Small quotients take TFLite's rounding shift past 31."""
    from tinyml_converter import convert
    from tinyml_converter.host_runtime import HostModel

    divisors = np.array([v for v in range(-128, 128) if v not in (0, zps[1])], np.int8)
    a = np.repeat(np.arange(-128, 128, dtype=np.int8), divisors.size).reshape(1, -1)
    d = np.tile(divisors, 256).reshape(1, -1)
    tfl = _div(np.int8, a.shape, a.shape, a.shape, scales, zps)
    want = parity.Oracle(tfl).run([a, d])[0].reshape(-1)
    got = HostModel(convert.tflite_to_blob(tfl)).invoke(a, d)[0].reshape(-1)
    bad = np.flatnonzero(want != got)
    assert bad.size == 0, [(int(a[0, k]), int(d[0, k]), int(want[k]), int(got[k])) for k in bad[:6]]


@pytest.mark.parametrize("case", [
    (np.int8, (1, 3, 4, 5), (1, 1, 1, 5), (1, 3, 4, 5), (0.03, 0.5, 0.01), (0, 10, -5), 0),
    (np.int8, (2, 6), (2, 6), (2, 6), (0.1, 0.1, 0.1), (-128, 0, 127), 1),
    (np.int8, (4, 1), (1, 7), (4, 7), (0.002, 0.2, 0.003), (5, -3, 0), 3),
    (np.int16, (1, 40), (1, 40), (1, 40), (0.001, 0.0007, 0.0005), (0, 0, 0), 0),
    (np.int16, (3, 4, 5), (1, 1, 5), (3, 4, 5), (0.01, 0.00003, 0.2), (0, 0, 0), 1),
])
def test_div(case):
    dtype, a_shape, b_shape, out_shape, scales, zps, act = case
    rng = np.random.default_rng(8)
    tfl = _div(dtype, a_shape, b_shape, out_shape, scales, zps, act)
    info = np.iinfo(dtype)

    def sets(oracle):
        out = []
        for _ in range(4):
            xa = rng.integers(info.min, info.max + 1, size=a_shape, dtype=dtype)
            xb = rng.integers(info.min, info.max + 1, size=b_shape, dtype=dtype)
            # No zero divisor (undefined in TFLite) and no raw 0 (its Eval refuses it).
            xb[(xb == zps[1]) | (xb == 0)] = zps[1] + 1 if zps[1] + 1 != 0 else zps[1] + 2
            out.append([xa, xb])
        return out

    _, tfl_outs, host_outs = parity.evaluate(tfl, sets)
    problems = [p for t, h in zip(tfl_outs, host_outs) if (p := parity.compare(t, h))]
    assert not problems, problems


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 3, 4)), ((1, 3, 4, 5), (1, 1, 4, 1)), ((6, 1), (1, 7))])
def test_min_max_s16(op, shapes):
    b = Builder()
    x = b.tensor("a", list(shapes[0]), np.int16, 0.001, 0)
    z = b.tensor("b", list(shapes[1]), np.int16, 0.001, 0)
    out_shape = list(np.broadcast_shapes(shapes[0], shapes[1]))
    o = b.tensor("out", out_shape, np.int16, 0.001, 0)
    b.op(op, [x, z], [o])
    _check(b.finish([x, z], [o]), sets=4)


def _compare_select(dtype, op, shapes, scales, zps, logical=None):
    """cond = a OP b (then a logical op with c > d when asked), out = cond ? a : e."""
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    out_shape = list(np.broadcast_shapes(*shapes))
    a = b.tensor("a", list(shapes[0]), dtype, scales[0], zps[0])
    z = b.tensor("b", list(shapes[1]), dtype, scales[1], zps[1])
    e = b.tensor("e", out_shape, dtype, scales[0], zps[0])
    cond = b.tensor("cond", out_shape, np.bool_)
    b.op(op, [a, z], [cond])
    ins = [a, z, e]
    if logical:
        c2 = b.tensor("cond2", out_shape, np.bool_)
        b.op("LESS", [e, a], [c2]) if logical != "LOGICAL_NOT" else None
        c3 = b.tensor("cond3", out_shape, np.bool_)
        b.op(logical, [cond, c2] if logical != "LOGICAL_NOT" else [cond], [c3])
        cond = c3
    o = b.tensor("out", out_shape, dtype, scales[0], zps[0])
    b.op("SELECT_V2", [cond, a if shapes[0] == tuple(out_shape) else e, e], [o])
    return b.finish(ins, [o])


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("op", ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"])
@pytest.mark.parametrize("scales,zps", [((0.05, 0.05), (3, 3)), ((0.02, 0.07), (-10, 40)), ((0.5, 0.001), (0, 0))])
def test_compare_select(dtype, op, scales, zps):
    if dtype == np.int16:
        zps = (0, 0)
    _check(_compare_select(dtype, op, ((2, 3, 5), (2, 3, 5)), scales, zps), sets=3)


@pytest.mark.parametrize("logical", ["LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"])
def test_logical_and_broadcast(logical):
    _check(_compare_select(np.int8, "GREATER", ((1, 4, 1, 6), (1, 1, 5, 1)), (0.03, 0.04), (1, -2),
                           logical=logical), sets=3)


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("scales", [(1 / 1024, 1 / 1024, 1 / 1024), (1 / 4096, 1 / 1024, 1 / 1024),
                                    (0.001, 0.003, 0.002)])
def test_add_sub_s16_pot_scale_option(op, scales):
    """With pot_scale_int16 set (the schema's default; Keras never writes
    it), TFLite takes its power-of-two path where every scale is one."""
    _check(_add_pot(op, scales), sets=4)


def _add_pot(op, scales):
    from tensorflow.lite.python import schema_py_generated as s

    b = Builder()
    x = b.tensor("a", [2, 40], np.int16, scales[0], 0)
    z = b.tensor("b", [2, 40], np.int16, scales[1], 0)
    o = b.tensor("out", [2, 40], np.int16, scales[2], 0)
    opt = s.AddOptionsT() if op == "ADD" else s.SubOptionsT()
    opt.potScaleInt16 = True
    b.op(op, [x, z], [o], "AddOptions" if op == "ADD" else "SubOptions", opt)
    return b.finish([x, z], [o])
