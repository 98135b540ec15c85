"""Lowering of graphs TF 2.21 emits in less obvious ways, checked against
TFLite's reference kernels (BUILTIN_REF) and TFLite's own shapes:

- Conv1D(dilation_rate=b): SPACE_TO_BATCH_ND -> EXPAND_DIMS -> CONV_2D ->
  RESHAPE -> BATCH_TO_SPACE_ND, folded into one dilated CONV_2D;
- Dense on a rank-3 input: a tensordot whose RESHAPE shapes are computed at
  run time (the static shapes TF stores are placeholders);
- Conv2DTranspose: TRANSPOSE_CONV whose output_shape is computed by SHAPE /
  STRIDED_SLICE / PACK, folded to a constant;
- per-tensor FULLY_CONNECTED requantisation: double(in) * double(w) /
  double(out), on scales chosen so that the float32 product gives another
  output byte.
"""

import re

import numpy as np
import pytest

import parity

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

SOURCE = parity.source_of(__file__, parity.__file__)


def _tflite(name, build, per_tensor=False):
    return parity.quantize(build, parity.cache_key("lowering-gaps", name, SOURCE), per_tensor=per_tensor)


def _conv1d_dilated():
    import keras

    keras.utils.set_random_seed(5)
    x = keras.Input((20, 2))
    y = keras.layers.Conv1D(3, 3, dilation_rate=2, padding="same", activation="relu")(x)
    calib = np.random.default_rng(0).normal(size=(16, 20, 2)).astype(np.float32)
    return keras.Model(x, y), calib


def _dense_rank3():
    import keras

    keras.utils.set_random_seed(6)
    x = keras.Input((4, 6))
    y = keras.layers.Dense(5)(x)
    calib = np.random.default_rng(1).normal(size=(16, 4, 6)).astype(np.float32)
    return keras.Model(x, y), calib


def _dense_1x1():
    import keras

    keras.utils.set_random_seed(7)
    x = keras.Input((1,))
    y = keras.layers.Dense(1, bias_initializer="ones")(x)  # a zero bias would be dropped
    calib = np.random.default_rng(2).normal(size=(16, 1)).astype(np.float32)
    return keras.Model(x, y), calib


def _all_equal(tfl, sets):
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, sets)
    for i, (t, h) in enumerate(zip(tfl_outs, host_outs)):
        assert parity.compare(t, h) is None, f"input set {i}: {parity.compare(t, h)}"
    return oracle


def test_conv1d_dilated_is_one_dilated_conv():
    from tinyml_converter.blob import read_blob
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.tflite_model import read_tflite

    tfl = _tflite("conv1d_dilated", _conv1d_dilated)
    names = [op.name for op in read_tflite(tfl).ops]
    assert "SPACE_TO_BATCH_ND" in names and "BATCH_TO_SPACE_ND" in names, names
    info = read_blob(tflite_to_blob(tfl))
    # The ReLU stays a separate op (TF does not fuse it into the chain): a LUT.
    assert [op["name"] for op in info.ops] == ["CONV_2D", "LUT"]
    conv = info.ops[0]
    p = conv["params"]
    assert (p["kernel_h"], p["kernel_w"], p["dilation_h"], p["dilation_w"]) == (1, 3, 1, 2)
    # 'same' with a 5-wide effective window: 2 zero-point columns on the left.
    assert (p["pad_top"], p["pad_left"]) == (0, 2)
    assert info.tensors[conv["outputs"][0]]["shape"] == [1, 20, 3]
    rng = np.random.default_rng(3)
    _all_equal(tfl, lambda o: parity.random_inputs(o, rng, 6))


def test_dense_rank3_keeps_leading_dims():
    tfl = _tflite("dense_rank3", _dense_rank3)
    rng = np.random.default_rng(4)
    oracle = _all_equal(tfl, lambda o: parity.random_inputs(o, rng, 6))
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.host_runtime import HostModel

    model = HostModel(tflite_to_blob(tfl))
    assert model.output_shapes == [(1, 4, 5)]
    assert tuple(oracle.out_details[0]["shape"]) == (1, 4, 5)


# Float32 scales for which float32(in * w) / out and double(in) * double(w) /
# double(out) quantise to different multipliers ((1820552274, -10) and
# (1820552374, -10)), and an accumulator (-75493) whose output differs by one
# between the two: found by search with _requant below.
S_IN, S_W, S_OUT = 0.0035311428364366293, 0.017630165442824364, 0.07519662380218506
ACC = -75493
W_Q = 127


def _requant(x, m, shift):
    """TFLite 2.21's reference int8 FULLY_CONNECTED rescaling: the single-rounding
    MultiplyByQuantizedMultiplier (see usermod_c/tml_requant.h), exact integers."""
    total = 31 - shift
    return (x * m + (1 << (total - 1))) >> total


def _retarget_fc(tfl: bytes) -> bytes:
    """The one-FULLY_CONNECTED model with its scales, weight and bias replaced:
    input x gives accumulator x * 127 + bias, and x = 0 gives ACC."""
    import flatbuffers
    from tinyml_converter.tflite_model import schema

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(tfl, 0))
    g = m.subgraphs[0]
    fcs = [op for op in g.operators
           if max(m.operatorCodes[op.opcodeIndex].builtinCode,
                  m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == s.BuiltinOperator.FULLY_CONNECTED]
    assert len(fcs) == 1 and len(g.operators) == 1, "expected a model of one FULLY_CONNECTED"
    (fc,) = fcs
    x_i, w_i, b_i = fc.inputs
    (y_i,) = fc.outputs
    assert b_i >= 0, "expected a bias operand"

    def quant(i, scale, zp=0):
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = [scale], [zp], 0
        g.tensors[i].quantization = q

    def data(i, arr):
        m.buffers[g.tensors[i].buffer].data = np.frombuffer(arr.tobytes(), np.uint8).copy()

    quant(x_i, S_IN)
    quant(w_i, S_W)
    quant(b_i, float(np.float32(np.float32(S_IN) * np.float32(S_W))))
    quant(y_i, S_OUT)
    data(w_i, np.array([[W_Q]], "<i1"))
    data(b_i, np.array([ACC], "<i4"))
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_fc_per_tensor_multiplier_is_double_product():
    from tinyml_converter.quant import quantize_multiplier

    tfl = _retarget_fc(_tflite("dense_1x1", _dense_1x1, per_tensor=True))
    xs = [[np.array([[v]], np.int8)] for v in range(-128, 128)]
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, xs)
    assert oracle.in_details[0]["quantization"][0] == pytest.approx(S_IN)
    # The model really tells the two formulas apart: TFLite's output for x = 0
    # is the double product's, not the float32 product's.
    double = quantize_multiplier(S_IN * S_W / S_OUT)
    single = quantize_multiplier(float(np.float32(np.float32(S_IN) * np.float32(S_W))) / S_OUT)
    assert double != single
    at_zero = int(tfl_outs[128][0].reshape(-1)[0])
    assert at_zero == max(-128, min(127, _requant(ACC, *double)))
    assert at_zero != max(-128, min(127, _requant(ACC, *single)))
    diffs = [(x[0].item(), t[0].item(), h[0].item())
             for x, t, h in zip(xs, tfl_outs, host_outs) if t[0].tobytes() != h[0].tobytes()]
    assert not diffs, f"(input, tflite, tinyml): {diffs[:8]}"


def _conv_transpose(in_c=2, name="upsample"):
    import keras

    keras.utils.set_random_seed(8)
    x = keras.Input((6, 6, in_c) if in_c == 2 else (3, 3, in_c))
    y = keras.layers.Conv2DTranspose(3, 3, strides=2 if in_c == 2 else 1, padding="same", name=name,
                                     bias_initializer="random_normal", activation="relu")(x)
    calib = np.random.default_rng(2).normal(size=(16, *x.shape[1:])).astype(np.float32)
    return keras.Model(x, y), calib


def test_conv_transpose_shape_chain_folds():
    """Keras's Conv2DTranspose computes TRANSPOSE_CONV's output_shape with
    SHAPE, STRIDED_SLICE and PACK; folded, only the op itself remains, its
    bias and RELU fused."""
    from tinyml_converter.blob import read_blob
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.tflite_model import read_tflite

    tfl = _tflite("conv_transpose", _conv_transpose)
    names = [op.name for op in read_tflite(tfl).ops]
    assert names[:3] == ["SHAPE", "STRIDED_SLICE", "PACK"] and "TRANSPOSE_CONV" in names, names
    info = read_blob(tflite_to_blob(tfl))
    assert [op["name"] for op in info.ops] == ["TRANSPOSE_CONV"]
    p = info.ops[0]["params"]
    # SAME on the 12-wide output, stride 2, kernel 3: (5 * 2 + 3 - 12) // 2 = 0.
    assert (p["stride_h"], p["pad_top"], p["pad_left"], p["channel_quant"]) == (2, 0, 0, 3)
    assert p["bias"] != 0xFFFFFFFF
    rng = np.random.default_rng(5)
    _all_equal(tfl, lambda o: parity.random_inputs(o, rng, 4))


def test_unsupported_conv_transpose_named_not_its_shape_arithmetic():
    """A TRANSPOSE_CONV we refuse (here: more products per output than the
    int32 accumulator holds safely) is named with its layer, never as the
    SHAPE that computes its output shape."""
    from tinyml_converter.convert import convert_tflite
    from tinyml_converter.errors import ConversionError
    from tinyml_converter.tflite_model import read_tflite

    tfl = _tflite("conv_transpose_long", lambda: _conv_transpose(7300, "too_deep"))
    ops = [op.name for op in read_tflite(tfl).ops]
    assert ops[0] == "SHAPE" and "TRANSPOSE_CONV" in ops, ops
    with pytest.raises(ConversionError) as e:
        convert_tflite(tfl)
    msg = str(e.value)
    assert re.match(r"TRANSPOSE_CONV \(.*Keras layer 'too_deep", msg), msg
    assert "65700 products per output value" in msg and "SHAPE" not in msg, msg


def test_16x8_model_converts():
    """An int16-activation model is not "a float model": it converts to the
    16x8 ops (test_s16.py checks their outputs against TFLite)."""
    import tensorflow as tf

    from tinyml_converter.convert import convert_tflite

    model, calib = _dense_1x1()
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(len(calib)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = tf.int16
    conv.inference_output_type = tf.int16
    from tinyml_converter.blob import read_blob

    blob, _report = convert_tflite(conv.convert())
    names = [op["name"] for op in read_blob(blob).ops]
    assert names and all(n.endswith("_S16") for n in names), names


def _retyped(tfl: bytes, new_type: int) -> bytes:
    """The model with every int8 activation retyped (a uint8 model as TF 1 made them)."""
    import flatbuffers
    from tinyml_converter.tflite_model import schema

    s = schema()
    m = s.ModelT.InitFromPackedBuf(tfl, 0)
    for t in m.subgraphs[0].tensors:
        if t.type == s.TensorType.INT8:
            t.type = new_type
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_uint8_model_is_named_as_such():
    from tinyml_converter.convert import convert_tflite
    from tinyml_converter.errors import ConversionError
    from tinyml_converter.tflite_model import schema

    tfl = _retyped(_tflite("dense_1x1", _dense_1x1, per_tensor=True), schema().TensorType.UINT8)
    with pytest.raises(ConversionError, match="quantised to uint8 .TensorFlow 1's scheme"):
        convert_tflite(tfl)


def test_integer_model_is_not_called_float():
    import tensorflow as tf

    from tinyml_converter.convert import convert_tflite
    from tinyml_converter.errors import ConversionError

    f = tf.function(lambda x: x * 3 + 1, input_signature=[tf.TensorSpec([1, 4], tf.int32)])
    tfl = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()
    with pytest.raises(ConversionError, match=r"no int8, int16 or float tensors \(its activations are int32\)"):
        convert_tflite(tfl)


def _edited(tfl: bytes, edit) -> bytes:
    import flatbuffers
    from tinyml_converter.tflite_model import schema

    s = schema()
    m = s.ModelT.InitFromPackedBuf(tfl, 0)
    edit(m.subgraphs[0], s)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_damaged_tensors_are_named_not_passed_to_the_loader():
    """A .tflite that still parses can carry a zero dimension or a zero point
    outside int8 (one flipped byte does it): the converter names the tensor
    rather than writing a blob the C loader refuses."""
    from tinyml_converter.convert import convert_tflite
    from tinyml_converter.errors import ConversionError

    good = _tflite("dense_1x1", _dense_1x1, per_tensor=True)

    def zero_dim(g, s):
        t = g.tensors[g.outputs[0]]
        t.shape = [0] + list(t.shape[1:])

    def zero_point(g, s):
        g.tensors[g.inputs[0]].quantization.zeroPoint = [300]

    with pytest.raises(ConversionError, match=r"has shape \(0, 1\): every dimension must be at least 1"):
        convert_tflite(_edited(good, zero_dim))
    with pytest.raises(ConversionError, match="has zero point 300, outside int8"):
        convert_tflite(_edited(good, zero_point))


def _dense_softmax():
    import keras

    keras.utils.set_random_seed(9)
    x = keras.Input((6,))
    y = keras.layers.Softmax()(keras.layers.Dense(4)(x))
    return keras.Model(x, y), np.random.default_rng(3).normal(size=(16, 6)).astype(np.float32)


def test_inconsistency_the_lowering_misses_is_refused_with_its_op():
    """The converter runs the C loader on what it made: a SOFTMAX whose output
    is wider than its input (a damaged .tflite) is refused, naming the op,
    and no blob comes out."""
    from tinyml_converter.convert import convert_tflite
    from tinyml_converter.errors import ModelFileError

    def wider_output(g, s):
        t = g.tensors[g.outputs[0]]
        t.shape = list(t.shape[:-1]) + [t.shape[-1] + 1]

    with pytest.raises(ModelFileError, match=r"^SOFTMAX .*inconsistent.*input and output dims differ"):
        convert_tflite(_edited(_tflite("dense_softmax", _dense_softmax), wider_output))
