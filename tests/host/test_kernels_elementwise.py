"""Pooling, MEAN, ADD, MUL and SOFTMAX kernels against TFLite's reference kernels.

Three small Keras models (one per family, many branches each) are quantised to
int8 once; TFLite runs them with BUILTIN_REF and keeps every intermediate
tensor. For each op under test we read its quantisation and options from the
.tflite, derive the kernel params the way TFLite's Prepare does, run our C
kernel on the op's own input bytes and require the op's output bytes exactly.
A few cases patch the flatbuffer in place (softmax beta, a MEAN with equal
input/output quantisation) so that TFLite itself produces the expected values
for settings Keras does not emit.
"""

import ctypes
import math
import struct

import numpy as np
import pytest

from conftest import Dims
from tinyml_converter import blob_layout
from tinyml_converter.quant import quantize_multiplier

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402
from tensorflow.lite.python import schema_py_generated as fb  # noqa: E402

SAMPLES = 4  # random int8 inputs per model, plus a few structured ones
OPNAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}


# ----------------------------------------------------------------------------
# C library

@pytest.fixture(scope="module")
def lib(c_builder):
    lib = c_builder(
        ["tml_pool.c", "tml_mean.c", "tml_elementwise.c", "tml_softmax.c"], "elementwise_kernels")
    p, i32 = ctypes.c_void_p, ctypes.c_int32
    lib.tml_avg_pool_s8.argtypes = [p, p, p, p, p, p]
    lib.tml_max_pool_s8.argtypes = [p, p, p, p, p]
    lib.tml_mean_s8.argtypes = [p, i32, i32, p, p, p, p, p]
    for name in ("tml_add_s8", "tml_mul_s8"):
        getattr(lib, name).argtypes = [p, i32, i32, i32, p, p, p, p, p, p]
    lib.tml_softmax_s8.argtypes = [p, i32, i32, p, p]
    for name in ("tml_avg_pool_s8", "tml_max_pool_s8", "tml_mean_s8", "tml_add_s8", "tml_mul_s8",
                 "tml_softmax_s8", "tml_mean_prepare"):
        getattr(lib, name).restype = None
    lib.tml_pool_check.argtypes = lib.tml_mean_check.argtypes = [p, p, p, p]
    lib.tml_add_check.argtypes = lib.tml_mul_check.argtypes = [p, p, p, p, p]
    lib.tml_softmax_check.argtypes = [p, i32, p]
    lib.tml_mean_prepare.argtypes = [p, p]
    for name in ("tml_pool_check", "tml_mean_check", "tml_add_check", "tml_mul_check", "tml_softmax_check"):
        getattr(lib, name).restype = ctypes.c_int
    return lib


def mean_kernel_params(packed):
    """MEAN's kernel params from its blob record: the loader checks and drops
    `mode`, and tml_mean_prepare() folds the count into the multiplier."""
    axis_mask, _mode, multiplier, shift = blob_layout.PARAMS["MEAN"][0].unpack(packed)
    return struct.pack("<Iii", axis_mask, multiplier, shift)


def dims4(shape):
    shape = [1] * (4 - len(shape)) + list(shape)
    return Dims(*shape)


def _cargs(args, keep):
    """params bytes and int8 numpy arrays become pointers to copies (kept
    alive in `keep`), Dims are passed by reference; returns the C arguments
    and (buffer, length) of the last array, the output."""
    cargs, out = [], None
    for a in args:
        if isinstance(a, (bytes, np.ndarray)):
            data = a if isinstance(a, bytes) else a.astype(np.int8).tobytes()
            b = ctypes.create_string_buffer(data, max(len(data), 1))
            keep.append(b)
            cargs.append(ctypes.cast(b, ctypes.c_void_p))
            out = (b, len(data))
        elif isinstance(a, Dims):
            keep.append(a)
            cargs.append(ctypes.cast(ctypes.byref(a), ctypes.c_void_p))
        else:
            cargs.append(a)
    return cargs, out


def checked(check_fn, *args):
    """Status of a kernel family's check (tml_*_check), with its detail string."""
    keep = []
    cargs, _ = _cargs(args, keep)
    detail = ctypes.c_char_p()
    return check_fn(*cargs, ctypes.byref(detail))


class _Scratch:
    """Marks the scratch argument of a kernel call: 2 KB, what the pooling
    and MEAN kernels take at most (tml_*_scratch_size()) and ADD's tables
    (TML_ADD_LUT_BYTES)."""


SCRATCH = _Scratch()
NO_SCRATCH = _Scratch()  # a NULL scratch: ADD without its tables


def call(fn, *args):
    """Call a kernel (after its check passed); returns the bytes of the last
    array argument, the output."""
    keep = []
    scratch = (ctypes.c_uint64 * 256)()
    cargs, out = _cargs([a for a in args if a is not SCRATCH and a is not NO_SCRATCH], keep)
    if any(a is SCRATCH for a in args):
        cargs.append(ctypes.cast(scratch, ctypes.c_void_p))
    fn(*cargs)
    return out[0].raw[: out[1]]


# ----------------------------------------------------------------------------
# TFLite side

def input_name(i):
    return f"in{i:02d}"


def convert(model, representative):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


class Op:
    """One operator of a .tflite: name, tensor indices, options table."""

    def __init__(self, model, sg, index):
        op = sg.Operators(index)
        code = model.OperatorCodes(op.OpcodeIndex())
        self.name = OPNAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        self.inputs = [op.Inputs(j) for j in range(op.InputsLength())]
        self.outputs = [op.Outputs(j) for j in range(op.OutputsLength())]
        self.options = op.BuiltinOptions()

    def opts(self, cls):
        o = cls()
        o.Init(self.options.Bytes, self.options.Pos)
        return o


def parse_ops(buf):
    model = fb.Model.GetRootAsModel(buf, 0)
    sg = model.Subgraphs(0)
    return model, sg, [Op(model, sg, i) for i in range(sg.OperatorsLength())]


def run_reference(buf, feeds):
    """Run the model with TFLite's reference kernels on each feed (list of int8
    arrays for inputs in00, in01, ...); returns one {tensor index: array} per
    feed (every tensor: activations and constants) and the tensor details."""
    interp = tf.lite.Interpreter(
        model_content=bytes(buf),
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inputs = interp._get_full_signature_list()["serving_default"]["inputs"]
    details = interp.get_tensor_details()
    runs = []
    for feed in feeds:
        for i, x in enumerate(feed):
            interp.set_tensor(inputs[input_name(i)], x[np.newaxis])
        interp.invoke()
        runs.append({d["index"]: interp.get_tensor(d["index"]).copy() for d in details})
    return runs, {d["index"]: d for d in details}


def quant(details, index):
    q = details[index]["quantization_parameters"]
    return float(q["scales"][0]), int(q["zero_points"][0])


def act_range(activation, scale, zero_point):
    """CalculateActivationRangeQuantized for int8 (f / scale in float32)."""
    def q(f):
        r = float(np.float32(f) / np.float32(scale))
        return zero_point + int(math.floor(abs(r) + 0.5)) * (1 if r >= 0 else -1)
    A = fb.ActivationFunctionType
    if activation == A.RELU:
        return max(-128, q(0.0)), 127
    if activation == A.RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    if activation == A.RELU_N1_TO_1:
        return max(-128, q(-1.0)), min(127, q(1.0))
    assert activation == A.NONE, activation
    return -128, 127


def find_op(ops, tensor, name):
    """The op named `name` nearest to `tensor` walking back through producers."""
    producer = {t: op for op in ops for t in op.outputs}
    while tensor in producer:
        op = producer[tensor]
        if op.name == name:
            return op
        tensor = op.inputs[0]
    raise AssertionError(f"no {name} behind tensor {tensor}: TFLite emitted different ops")


def feeds_for(input_shapes, rng):
    feeds = [[rng.integers(-128, 128, s, dtype=np.int8) for s in input_shapes] for _ in range(SAMPLES)]
    feeds.append([np.full(s, 127, np.int8) for s in input_shapes])
    feeds.append([np.where(np.arange(int(np.prod(s))) % 2 == 0, -128, 127).astype(np.int8).reshape(s)
                  for s in input_shapes])
    return feeds


# ----------------------------------------------------------------------------
# The three models. Each branch is one model output; the test finds the op
# under test behind that output.

def pool_branches(x):
    return {
        "avg_2x2_s2_valid": layers.AveragePooling2D(2, 2, "valid")(x),
        "avg_3x3_s2_same": layers.AveragePooling2D(3, 2, "same")(x),
        "avg_3x2_s1x2_same": layers.AveragePooling2D((3, 2), (1, 2), "same")(x),
        "avg_2x3_s2x1_valid": layers.AveragePooling2D((2, 3), (2, 1), "valid")(x),
        "avg_5x5_s1_same": layers.AveragePooling2D(5, 1, "same")(x),
        "avg_4x4_s3_same_relu": layers.Activation("relu")(layers.AveragePooling2D(4, 3, "same")(x)),
        "max_2x2_s2_valid": layers.MaxPooling2D(2, 2, "valid")(x),
        "max_3x3_s1_same": layers.MaxPooling2D(3, 1, "same")(x),
        "max_2x3_s2x1_same": layers.MaxPooling2D((2, 3), (2, 1), "same")(x),
        "max_3x2_s3x2_valid": layers.MaxPooling2D((3, 2), (3, 2), "valid")(x),
        "max_4x4_s2_same_relu6": layers.Activation("relu6")(layers.MaxPooling2D(4, 2, "same")(x)),
        "gap": layers.GlobalAveragePooling2D()(x),
        "gap_keepdims": layers.GlobalAveragePooling2D(keepdims=True)(x),
        "mean_c_keepdims": keras.ops.mean(x, axis=-1, keepdims=True),
        "mean_h": keras.ops.mean(x, axis=1),
        "mean_wc": keras.ops.mean(x, axis=(2, 3), keepdims=True),
    }


def elementwise_branches(a, b, c, d):
    const = np.linspace(-1.5, 2.5, 4).astype(np.float32)
    return {
        "add": layers.Add()([a, b]),
        "add_then_relu": layers.Activation("relu")(layers.Add()([b, a])),
        "add_bcast_vec": a + c,
        "add_bcast_first": c + b,
        "add_bcast_hw": a + d,
        "add_const": layers.Lambda(lambda t: t + const)(b),
        "add_self": layers.Add()([a, a]),
        "mul": layers.Multiply()([a, b]),
        "mul_bcast_vec": a * c,
        "mul_bcast_first": c * b,
        "mul_bcast_hw": b * d,
        "mul_const": layers.Lambda(lambda t: t * const)(a),
        "mul_square": layers.Multiply()([b, b]),
    }


# Depths stay below 512: a row whose sum of exps reaches 512 (e.g. 512 equal
# logits) makes TFLite's reference softmax shift by more than 31 bits, and the
# TFLite wheel aborts on that assertion.
SOFTMAX_SHAPES = {"sm1": (1,), "sm2": (2,), "sm5": (5,), "sm10": (10,), "sm37": (37,), "sm300": (300,),
                  "sm3x7": (3, 7), "sm4x2x16": (4, 2, 16), "sm_wide": (12,), "sm_narrow": (64,)}


def named(arrays):
    """A representative sample: float32 arrays keyed by input name."""
    return {input_name(i): a.astype(np.float32) for i, a in enumerate(arrays)}


def build_pool(rng):
    x = keras.Input((9, 7, 3), name=input_name(0))
    y = keras.Input((6, 10, 2), name=input_name(1))
    # More channels than the kernels take in one pass (64 for MEAN).
    z = keras.Input((3, 4, 70), name=input_name(2))
    br = pool_branches(x)
    br.update({"y_" + k: v for k, v in pool_branches(y).items()})
    br.update({"z_gap": layers.GlobalAveragePooling2D()(z), "z_mean_h": keras.ops.mean(z, axis=1),
               "z_max_2x2_s1_valid": layers.MaxPooling2D(2, 1, "valid")(z),
               "z_avg_2x3_s1_same": layers.AveragePooling2D((2, 3), 1, "same")(z)})
    names = list(br)
    model = keras.Model([x, y, z], [br[n] for n in names])

    def rep():
        for _ in range(30):
            yield named([rng.uniform(-2, 3, (1, 9, 7, 3)), rng.uniform(-0.5, 0.2, (1, 6, 10, 2)),
                         rng.uniform(-1, 1, (1, 3, 4, 70))])
    return names, convert(model, rep), [(9, 7, 3), (6, 10, 2), (3, 4, 70)]


def build_elementwise(rng):
    a, b, c, d = (keras.Input(s, name=input_name(i))
                  for i, s in enumerate([(5, 6, 4), (5, 6, 4), (4,), (1, 6, 1)]))
    br = elementwise_branches(a, b, c, d)
    names = list(br)
    model = keras.Model([a, b, c, d], [br[n] for n in names])

    def rep():
        for _ in range(30):
            yield named([rng.uniform(-1, 1, (1, 5, 6, 4)), rng.uniform(-4, 2, (1, 5, 6, 4)),
                         rng.uniform(-3, 3, (1, 4)), rng.uniform(0, 0.3, (1, 1, 6, 1))])
    return names, convert(model, rep), [(5, 6, 4), (5, 6, 4), (4,), (1, 6, 1)]


def build_softmax(rng):
    ins = {k: keras.Input(s, name=input_name(i)) for i, (k, s) in enumerate(SOFTMAX_SHAPES.items())}
    names = list(ins)
    model = keras.Model([ins[k] for k in names], [layers.Softmax()(ins[k]) for k in names])
    spread = {"sm_wide": 40.0, "sm_narrow": 0.05}

    def rep():
        for _ in range(30):
            yield named([rng.normal(0, spread.get(k, 3.0), (1,) + s) for k, s in SOFTMAX_SHAPES.items()])
    return names, convert(model, rep), [SOFTMAX_SHAPES[k] for k in names]


class Reference:
    """A .tflite run through TFLite: its ops, every tensor of every run, and
    the output tensor of each named branch."""

    def __init__(self, buf, feeds, branch_tensor):
        self.buf, self.feeds, self.branch_tensor = buf, feeds, branch_tensor
        _, _, self.ops = parse_ops(buf)
        self.runs, self.details = run_reference(buf, feeds)

    def patched(self, buf):
        """The same feeds through a patched copy of the model (same ops)."""
        return Reference(buf, self.feeds, self.branch_tensor)


def branch_outputs(buf, names):
    # Keras exports the outputs as output_0, output_1, ... in model order.
    interp = tf.lite.Interpreter(model_content=bytes(buf))
    outs = interp._get_full_signature_list()["serving_default"]["outputs"]
    return {n: outs[f"output_{i}"] for i, n in enumerate(names)}


_MODELS = {}


def model(kind):
    """Each model is converted once per test session (conversion costs seconds)."""
    if kind not in _MODELS:
        rng = np.random.default_rng({"pool": 1, "elementwise": 2, "softmax": 3}[kind])
        builder = {"pool": build_pool, "elementwise": build_elementwise, "softmax": build_softmax}[kind]
        names, buf, shapes = builder(rng)
        _MODELS[kind] = Reference(buf, feeds_for(shapes, rng), branch_outputs(buf, names))
    return _MODELS[kind]


# ----------------------------------------------------------------------------
# Params exactly as TFLite's Prepare computes them

def pool_params(m, op):
    o = op.opts(fb.Pool2DOptions)
    in_shape = m.details[op.inputs[0]]["shape"]
    out_shape = m.details[op.outputs[0]]["shape"]

    def pad(stride, filt, in_size, out_size):
        return max((out_size - 1) * stride + filt - in_size, 0) // 2
    scale, zp = quant(m.details, op.outputs[0])
    act_min, act_max = act_range(o.FusedActivationFunction(), scale, zp)
    return dict(filter_h=o.FilterHeight(), filter_w=o.FilterWidth(),
                stride_h=o.StrideH(), stride_w=o.StrideW(),
                pad_top=pad(o.StrideH(), o.FilterHeight(), in_shape[1], out_shape[1]),
                pad_left=pad(o.StrideW(), o.FilterWidth(), in_shape[2], out_shape[2]),
                act_min=act_min, act_max=act_max)


def mean_params(m, op):
    in_scale, _ = quant(m.details, op.inputs[0])
    out_scale, _ = quant(m.details, op.outputs[0])
    rank = len(m.details[op.inputs[0]]["shape"])
    axes = m.runs[0][op.inputs[1]].ravel()
    mask = 0
    for a in axes:
        a = int(a) + rank if a < 0 else int(a)
        mask |= 1 << (a + 4 - rank)
    mult, shift = quantize_multiplier(in_scale / out_scale)
    # TF 2.21's reduce.cc sends every int8 MEAN through QuantizedMeanOrSum,
    # equal input and output quantisation included.
    return dict(axis_mask=mask, mode=1, multiplier=mult, shift=shift)


def add_params(m, op):
    s1, _ = quant(m.details, op.inputs[0])
    s2, _ = quant(m.details, op.inputs[1])
    so, zo = quant(m.details, op.outputs[0])
    left_shift = 20
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    # (1 << 20) * output_scale is a float product in C++ (exact: power of two).
    mo, sho = quantize_multiplier(twice_max / float(np.float32(1 << left_shift) * np.float32(so)))
    act = op.opts(fb.AddOptions).FusedActivationFunction()
    act_min, act_max = act_range(act, so, zo)
    return dict(left_shift=left_shift, input1_multiplier=m1, input1_shift=sh1,
                input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo, output_shift=sho,
                act_min=act_min, act_max=act_max)


def mul_params(m, op):
    s1, _ = quant(m.details, op.inputs[0])
    s2, _ = quant(m.details, op.inputs[1])
    so, zo = quant(m.details, op.outputs[0])
    # input1_scale * input2_scale / output_scale is evaluated in float32.
    real = float(np.float32(s1) * np.float32(s2) / np.float32(so))
    mo, sho = quantize_multiplier(real)
    act = op.opts(fb.MulOptions).FusedActivationFunction()
    act_min, act_max = act_range(act, so, zo)
    return dict(output_multiplier=mo, output_shift=sho, act_min=act_min, act_max=act_max)


def softmax_params(beta, input_scale):
    """PreprocessSoftmaxScaling with 5 integer bits, CalculateInputRadius."""
    real = min(float(beta) * float(input_scale) * (1 << 26), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    diff_min = -((31 << 26) >> shift)
    return dict(input_multiplier=mult, input_left_shift=shift, diff_min=diff_min)


# ----------------------------------------------------------------------------
# Flatbuffer patches (TFLite then computes the expected values itself)

def patch_softmax_beta(buf, beta):
    """A copy of the model with every SOFTMAX's beta set to `beta`."""
    out = bytearray(buf)
    _, _, ops = parse_ops(bytes(buf))
    for op in ops:
        if op.name == "SOFTMAX":
            o = op.opts(fb.SoftmaxOptions)
            field = o._tab.Offset(4)
            assert field, "beta not stored in the flatbuffer"
            struct.pack_into("<f", out, o._tab.Pos + field, beta)
    return bytes(out)


def patch_output_quant_like_input(buf, op_index):
    """A copy of the model where op op_index's output has its input's
    quantisation (overwriting the one-element scale and zero-point vectors)."""
    out = bytearray(buf)
    _, sg, ops = parse_ops(bytes(buf))
    src = sg.Tensors(ops[op_index].inputs[0]).Quantization()
    dst = sg.Tensors(ops[op_index].outputs[0]).Quantization()
    for slot, fmt, values in ((8, "<f", src.ScaleAsNumpy()), (10, "<q", src.ZeroPointAsNumpy())):
        vec = dst._tab.Vector(dst._tab.Offset(slot))
        struct.pack_into(fmt, out, vec, values[0].item())
    return bytes(out)


# ----------------------------------------------------------------------------
# Tests

POOL_CASES = [
    "avg_2x2_s2_valid", "avg_3x3_s2_same", "avg_3x2_s1x2_same", "avg_2x3_s2x1_valid",
    "avg_5x5_s1_same", "avg_4x4_s3_same_relu", "max_2x2_s2_valid", "max_3x3_s1_same",
    "max_2x3_s2x1_same", "max_3x2_s3x2_valid", "max_4x4_s2_same_relu6",
]
POOL_CASES = POOL_CASES + ["y_" + c for c in POOL_CASES] + ["z_max_2x2_s1_valid", "z_avg_2x3_s1_same"]
MEAN_CASES = ["gap", "gap_keepdims", "mean_c_keepdims", "mean_h", "mean_wc"]
MEAN_CASES = MEAN_CASES + ["y_" + c for c in MEAN_CASES] + ["z_gap", "z_mean_h"]
ADD_CASES = ["add", "add_then_relu", "add_bcast_vec", "add_bcast_first", "add_bcast_hw", "add_const",
             "add_self"]
MUL_CASES = ["mul", "mul_bcast_vec", "mul_bcast_first", "mul_bcast_hw", "mul_const", "mul_square"]


KERNELS = {"AVERAGE_POOL_2D": "tml_avg_pool_s8", "MAX_POOL_2D": "tml_max_pool_s8", "MEAN": "tml_mean_s8",
           "ADD": "tml_add_s8", "MUL": "tml_mul_s8", "SOFTMAX": "tml_softmax_s8"}


def params_for(m, op, kind, beta=1.0):
    """The op's params struct, as TFLite's Prepare would compute it."""
    if kind == "SOFTMAX":
        return softmax_params(beta, quant(m.details, op.inputs[0])[0])
    return {"AVERAGE_POOL_2D": pool_params, "MAX_POOL_2D": pool_params, "MEAN": mean_params,
            "ADD": add_params, "MUL": mul_params}[kind](m, op)


def run_kernel(lib, m, op, kind, params, run, tables=True):
    """Our kernel on this run's input bytes of op: (status, output bytes);
    ADD with or without its tables."""
    fn = getattr(lib, KERNELS[kind])
    packed = blob_layout.pack_params(kind, **params)
    shape = {t: m.details[t]["shape"] for t in op.inputs + op.outputs}
    zp = {t: quant(m.details, t)[1] for t in op.inputs + op.outputs if m.details[t]["dtype"] == np.int8}
    x, y = op.inputs[0], op.outputs[0]
    out = np.zeros(run[y].size, np.int8)
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        status = checked(lib.tml_pool_check, packed, dims4(shape[x]), dims4(shape[y]))
        args = (packed, dims4(shape[x]), run[x], dims4(shape[y]), out)
        if kind == "AVERAGE_POOL_2D":
            args += (SCRATCH,)
        return status, status == 0 and call(fn, *args)
    if kind == "MEAN":
        native = ctypes.create_string_buffer(mean_kernel_params(packed))
        status = checked(lib.tml_mean_check, native.raw, dims4(shape[x]), dims4(shape[y]))
        if status != 0:
            return status, None
        in_dims = dims4(shape[x])
        lib.tml_mean_prepare(native, ctypes.byref(in_dims))
        return status, call(fn, native.raw, zp[x], zp[y], in_dims, run[x], dims4(shape[y]), out, SCRATCH)
    if kind == "SOFTMAX":
        depth = int(shape[x][-1])
        status = checked(lib.tml_softmax_check, packed, depth)
        return status, status == 0 and call(fn, packed, run[x].size // depth, depth, run[x], out)
    x2 = op.inputs[1]
    check_fn = lib.tml_add_check if kind == "ADD" else lib.tml_mul_check
    status = checked(check_fn, packed, dims4(shape[x]), dims4(shape[x2]), dims4(shape[y]))
    scratch = () if kind == "MUL" else (SCRATCH,) if tables else (NO_SCRATCH,)
    return status, status == 0 and call(fn, packed, zp[x], zp[x2], zp[y], dims4(shape[x]), run[x],
                                        dims4(shape[x2]), run[x2], dims4(shape[y]), out, *scratch)


def check(lib, m, case, kind, params=None, clip=None):
    """Kernel output == TFLite's output of the op behind branch `case`, on
    every run (optionally both clipped to a narrower activation range)."""
    op = find_op(m.ops, m.branch_tensor[case], kind)
    params = params or params_for(m, op, kind)
    for run in m.runs:
        expected = run[op.outputs[0]]
        if clip:
            expected = np.clip(expected, *clip).astype(np.int8)
        for tables in (True, False) if kind == "ADD" else (True,):
            status, got = run_kernel(lib, m, op, kind, params, run, tables)
            assert status == 0
            assert got == expected.tobytes(), (params, tables, np.frombuffer(got, np.int8), expected.ravel())
    return params


def kind_of(case):
    for prefix, kind in (("avg", "AVERAGE_POOL_2D"), ("max", "MAX_POOL_2D"), ("add", "ADD"), ("mul", "MUL")):
        if case.removeprefix("y_").removeprefix("z_").startswith(prefix):
            return kind
    raise ValueError(case)


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool(lib, case):
    check(lib, model("pool"), case, kind_of(case))


@pytest.mark.parametrize("case", ADD_CASES + MUL_CASES)
def test_add_mul(lib, case):
    check(lib, model("elementwise"), case, kind_of(case))


@pytest.mark.parametrize("case", ["avg_2x2_s2_valid", "max_3x3_s1_same", "y_avg_3x3_s2_same", "add", "mul"])
def test_fused_clamp(lib, case):
    """Activation clamps other than TFLite emitted here: the clamp is the
    last step, so the expected bytes are TFLite's, clipped the same way."""
    kind = kind_of(case)
    m = model("pool" if "POOL" in kind else "elementwise")
    op = find_op(m.ops, m.branch_tensor[case], kind)
    zo = quant(m.details, op.outputs[0])[1]
    lo, hi = max(-128, zo - 3), min(127, zo + 40)
    params = dict(params_for(m, op, kind), act_min=lo, act_max=hi)
    check(lib, m, case, kind, params, clip=(lo, hi))


@pytest.mark.parametrize("case", MEAN_CASES)
def test_mean(lib, case):
    check(lib, model("pool"), case, "MEAN")


@pytest.mark.parametrize("case", ["gap", "gap_keepdims", "mean_c_keepdims", "y_mean_h"])
def test_mean_same_quantization(lib, case):
    """Output quantisation patched to equal the input's: TF 2.21 still takes
    the rounding, requantising path (older TFLite truncated here)."""
    m = model("pool")
    op = find_op(m.ops, m.branch_tensor[case], "MEAN")
    patched = m.patched(patch_output_quant_like_input(m.buf, m.ops.index(op)))
    params = check(lib, patched, case, "MEAN")
    assert (params["multiplier"], params["shift"]) == (1 << 30, 1)


@pytest.mark.parametrize("case", list(SOFTMAX_SHAPES))
def test_softmax(lib, case):
    m = model("softmax")
    op = find_op(m.ops, m.branch_tensor[case], "SOFTMAX")
    assert quant(m.details, op.outputs[0]) == (pytest.approx(1 / 256), -128)
    assert op.opts(fb.SoftmaxOptions).Beta() == 1.0
    check(lib, m, case, "SOFTMAX")


@pytest.mark.parametrize("beta", [0.25, 2.0, 9.5])
def test_softmax_beta(lib, beta):
    m = model("softmax")
    patched = m.patched(patch_softmax_beta(m.buf, beta))
    for case in ("sm10", "sm3x7", "sm_wide", "sm_narrow"):
        op = find_op(m.ops, m.branch_tensor[case], "SOFTMAX")
        check(lib, patched, case, "SOFTMAX", params_for(patched, op, "SOFTMAX", beta))


TML_ERR_BAD_SHAPE, TML_ERR_BAD_PARAM = 7, 8  # tml_status.h


def test_softmax_rows_tflite_cannot_run(lib):
    """Rows whose sum of exps reaches 512 abort TFLite's reference softmax (a
    shift beyond 31 bits); the kernel returns the correctly rounded value,
    here round(256 / depth) - 128 = -128 for flat rows (hand-worked)."""
    params = blob_layout.pack_params("SOFTMAX", **softmax_params(1.0, 0.05))
    for depth in (600, 4096):
        x = np.full(depth, 17, np.int8)
        assert checked(lib.tml_softmax_check, params, depth) == 0
        got = call(lib.tml_softmax_s8, params, 1, depth, x, np.zeros(depth, np.int8))
        assert got == bytes([0x80]) * depth


def test_invalid_calls_rejected(lib):
    add = blob_layout.pack_params("ADD", left_shift=20, input1_multiplier=1 << 30, input1_shift=0,
                                  input2_multiplier=1 << 30, input2_shift=0, output_multiplier=1 << 30,
                                  output_shift=-19, act_min=-128, act_max=127)
    status = checked(lib.tml_add_check, add, Dims(1, 1, 2, 3), Dims(1, 1, 3, 2), Dims(1, 1, 2, 3))
    assert status == TML_ERR_BAD_SHAPE  # (3, 2) does not broadcast to (2, 3)
    pool = blob_layout.pack_params("AVERAGE_POOL_2D", filter_h=2, filter_w=2, stride_h=1, stride_w=1,
                                   pad_top=5, pad_left=0, act_min=-128, act_max=127)
    status = checked(lib.tml_pool_check, pool, Dims(1, 2, 2, 1), Dims(1, 2, 2, 1))
    assert status == TML_ERR_BAD_PARAM  # a window entirely in the padding has no average
    mean = struct.pack("<Iii", 0x10, 1 << 30, 1)
    status = checked(lib.tml_mean_check, mean, Dims(1, 2, 2, 1), Dims(1, 1, 1, 1))
    assert status == TML_ERR_BAD_PARAM  # no fifth dim to reduce
    sm = blob_layout.pack_params("SOFTMAX", **softmax_params(1.0, 0.05))
    status = checked(lib.tml_softmax_check, sm, 4097)
    assert status == TML_ERR_BAD_PARAM  # the int32 sum of exps could overflow


def _ref_add(x1, x2, zp1, zp2, zp_out, p):
    """TFLite's reference int8 ADD per element (reference_integer_ops::Add),
    in Python integers (test_requant's transcription of gemmlowp)."""
    from test_requant import ref_mbqm
    shifted1 = (x1 - zp1) << p["left_shift"]
    shifted2 = (x2 - zp2) << p["left_shift"]
    scaled1 = ref_mbqm(shifted1, p["input1_multiplier"], p["input1_shift"])
    m2 = p["input2_multiplier"]
    scaled2 = ref_mbqm(shifted2 if m2 >= 0 else -shifted2, abs(m2), p["input2_shift"])
    v = ref_mbqm(scaled1 + scaled2, p["output_multiplier"], p["output_shift"]) + zp_out
    return max(p["act_min"], min(p["act_max"], v))


@pytest.mark.parametrize("seed", range(6))
def test_add_every_input_pair(lib, seed):
    """ADD (and SUB: a negative second multiplier) on all 65,536 pairs of
    int8 inputs, with random multipliers, shifts and zero points, against
    TFLite's arithmetic: every rounding tie of the rescales is reached."""
    import random
    rng = random.Random(seed)
    # TFLite's scales (inputs rescaled by about 2^-1, the output by about
    # 2^-20), or inputs rescaled to a few units, where the inner roundings'
    # ties reach the outputs.
    small = seed >= 3
    in_shifts = (17, 21) if small else (0, 3)
    p = dict(left_shift=20, input1_multiplier=rng.randint(1 << 30, 2**31 - 1), input1_shift=-rng.randint(*in_shifts),
             input2_multiplier=rng.randint(1 << 30, 2**31 - 1) * (-1 if seed % 2 else 1),
             input2_shift=-rng.randint(*in_shifts), output_multiplier=rng.randint(1 << 30, 2**31 - 1),
             output_shift=-rng.choice([1, 2, 3] if small else [1, 2, 5, 17, 19, 20, 21, 23, 24, 26]),
             act_min=rng.choice([-128, -100]), act_max=rng.choice([127, 90]))
    zp1, zp2, zp_out = rng.randint(-128, 127), rng.randint(-128, 127), rng.randint(-128, 127)
    values = np.arange(-128, 128, dtype=np.int64)
    x1 = np.repeat(values, 256)
    x2 = np.tile(values, 256)
    packed = blob_layout.pack_params("ADD", **p)
    in1, in2, out = Dims(1, 256, 1, 1), Dims(1, 1, 256, 1), Dims(1, 256, 256, 1)
    assert checked(lib.tml_add_check, packed, in1, in2, out) == 0
    want = np.array([_ref_add(int(a), int(b), zp1, zp2, zp_out, p) for a, b in zip(x1, x2)], np.int8)
    for tables in (SCRATCH, NO_SCRATCH):
        got = np.frombuffer(call(lib.tml_add_s8, packed, zp1, zp2, zp_out, in1, values.astype(np.int8), in2,
                                 values.astype(np.int8), out, np.zeros(65536, np.int8), tables), np.int8)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (p, tables is SCRATCH, zp1, zp2, zp_out,
                               [(int(x1[i]), int(x2[i]), int(got[i]), int(want[i])) for i in bad[:5]])


def test_add_input_rescale_every_input(c_builder, tmp_path):
    """ADD's 32-bit input rescale (tml_add_scaled()) equals TFLite's
    MultiplyByQuantizedMultiplier of (x << 20) for every x an int8 input
    can give and every shift the loader accepts; the whole-op test above
    cannot see its roundings, which the output rescale divides away."""
    from test_requant import ref_mbqm
    shim = tmp_path / "add_scaled_shim.c"
    shim.write_text('#include "tml_elementwise.c"\n'
                    "int32_t add_scaled(int32_t m, int32_t shift, int32_t x) {\n"
                    "    const tml_add_scale_t k = tml_add_scale(m, shift);\n"
                    "    return tml_add_scaled(&k, x);\n}\n")
    lib = c_builder([str(shim)], "add_scaled_shim")
    lib.add_scaled.argtypes = [ctypes.c_int32] * 3
    lib.add_scaled.restype = ctypes.c_int32
    import random
    rng = random.Random(5)
    multipliers = [0, 1 << 30, 2**31 - 1, (1 << 30) + 1024] + [rng.randint(1 << 30, 2**31 - 1) for _ in range(4)]
    bad = [(m, s, x) for m in multipliers for s in range(-31, 1) for x in range(-255, 256)
           if lib.add_scaled(m, s, x) != ref_mbqm(x << 20, m, s)]
    assert not bad, bad[:5]
