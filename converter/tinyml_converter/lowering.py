"""Lowering of an int8 TFLite graph to tinyml ops (usermod_c/tml_blob.h).

What TF 2.21 + Keras 3 really emit, and what becomes of it:
- edge QUANTIZE (float32 -> int8) / DEQUANTIZE (int8 -> float32) of a float
  I/O model: stripped, the model keeps int8 I/O with its scale/zero point;
- Flatten's SHAPE / STRIDED_SLICE / PACK feeding RESHAPE's shape operand:
  dead once RESHAPE takes its static output shape, so dead-code elimination
  removes them;
- RESHAPE / SQUEEZE / EXPAND_DIMS (Conv1D's EXPAND_DIMS -> CONV_2D -> RESHAPE):
  aliases sharing the input's storage (COPY only if the quantisation differs);
- SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND
  (dilated convolution): one dilated conv with explicit padding;
- Conv2DTranspose's SHAPE / STRIDED_SLICE / PACK (Conv1DTranspose's SHAPE /
  STRIDED_SLICE / RESHAPE / CONCATENATION around EXPAND_DIMS) computing
  TRANSPOSE_CONV's output_shape operand: folded to a constant on the static
  input shape (batch 1), checked against the output's static shape, then
  dead; the bias and a RELU come fused into TRANSPOSE_CONV;
- DEQUANTIZE -> a float SPLIT (or another op that only moves values) ->
  QUANTIZE back to the same scale and zero point: TF's quantiser leaves such
  islands at random in unrolled GRUs (one run has it, the next not); the
  round trip is the identity, so the op runs on the int8 values;
- unary per-tensor int8 ops (LOGISTIC, TANH, RELU*, LEAKY_RELU, HARD_SWISH,
  int8 -> int8 QUANTIZE ...): LUT, table computed by TFLite itself (lut.py);
- UpSampling2D(interpolation="bilinear"), Resizing and tf.image.resize: one
  RESIZE_BILINEAR with half_pixel_centers (nothing odder in TF 2.21;
  tf.compat.v1.image.resize_bilinear gives the other two coordinate modes);
- tf.matmul / keras.ops.matmul: BATCH_MATMUL when both operands are
  activations or the constant has batch dims; a constant 2-D rhs arrives as
  FULLY_CONNECTED already (TF rewrites it), and so does a 2-D matmul of two
  activations, whose non-constant weights FULLY_CONNECTED refuses.
Requantisation parameters follow TFLite's Prepare functions operation by
operation (float32 vs double arithmetic matters for bit exactness): conv,
depthwise and FC use double(in scale) * double(weight scale) / double(out
scale), per tensor and per channel; MUL and activation clamps stay float32.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import blob_layout as L
from .errors import ConversionError
from . import s16_act, s16_arith
from .lut import LUT_OPS, LUT_S16_OPS, lut_table, lut_table_s16
from .quant import quantize_multiplier, sum_steps, tflite_round
from .scratch import depthwise_grouped
from .tflite_model import BOOL, FLOAT32, INT8, INT16, INT32, INT64, TflModel, TflOp, TflTensor, layer_name

ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
# Ops lowered to REMAP (each output element one input element).
REMAP_OPS = ("TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V", "UNPACK", "TILE",
             "BROADCAST_TO", "REVERSE_V2", "GATHER", "MIRROR_PAD", "DEPTH_TO_SPACE",
             "SPACE_TO_DEPTH", "RESIZE_NEAREST_NEIGHBOR", "GATHER_ND")
COMPARISONS = ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")
SUPPORTED_OPS = sorted(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
     "MEAN", "ADD", "SUB", "MUL", "DIV", *COMPARISONS, "SELECT", "SELECT_V2", "LOGICAL_AND",
     "LOGICAL_OR", "LOGICAL_NOT", "MAXIMUM", "MINIMUM", "CONCATENATION", "PACK", "PAD", "PADV2",
     "TRANSPOSE_CONV", "SOFTMAX", "RESIZE_BILINEAR", "BATCH_MATMUL",
     "SPACE_TO_BATCH_ND+BATCH_TO_SPACE_ND (dilated conv)", "SHAPE (shape computations)",
     "REDUCE_MAX", "REDUCE_MIN", "SUM", "ARG_MAX", "ARG_MIN",
     "SQUARED_DIFFERENCE", "PRELU", "LOG_SOFTMAX", "L2_NORMALIZATION", "UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF", *REMAP_OPS, *ALIAS_OPS, *LUT_OPS})
SUPPORTED_TEXT = ", ".join(SUPPORTED_OPS)
# Our ops that run on int16 (16x8) tensors, and the TFLite ops they serve.
S16_OPNAMES = {"CONV_2D_S16", "DEPTHWISE_CONV_2D_S16", "FULLY_CONNECTED_S16", "REQUANTIZE",
               "LOGISTIC_S16", "TANH_S16", "SOFTMAX_S16", "TRANSPOSE_CONV_S16", "BATCH_MATMUL_S16",
               "REMAP", "CONCATENATION", "PAD", "COPY", "DIV", "RESIZE_BILINEAR", "MAXIMUM", "MINIMUM",
               "ADD_S16", "SUB_S16", "MUL_S16", "AVERAGE_POOL_2D_S16", "MAX_POOL_2D_S16", "MEAN_S16",
               "REDUCE_MAX_S16", "REDUCE_MIN_S16", "LUT_S16", "ABS_S16", "SUM_S16"}
S16_TEXT = ("CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED, BATCH_MATMUL, ADD, SUB, MUL, "
            "AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SUM, REDUCE_MAX, REDUCE_MIN, ABS, EXP, LOG, RSQRT, GELU, LOGISTIC, TANH, SOFTMAX, RELU, RELU6, "
            "LEAKY_RELU, DIV, MAXIMUM, MINIMUM, RESIZE_BILINEAR, QUANTIZE, DEQUANTIZE, RESHAPE, "
            "SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD, PADV2 and the data-movement ops "
            "(SLICE, STRIDED_SLICE, SPLIT, TRANSPOSE, GATHER, TILE, PACK ...)")
# The int16 unary ops that are one rescale and a clamp (REQUANTIZE).
# (TF 2.21 has no int16 RELU_N1_TO_1 or RELU_0_TO_1.)
S16_REQUANTIZE_OPS = ("RELU", "RELU6", "LEAKY_RELU")
# Ops whose operands legitimately mix dtypes (int16 state in an int8 model).
OWN_DTYPE_OPNAMES = {"UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF", "COMPARE", "SELECT", "LOGICAL"}

# Fused activation codes of the schema's ActivationFunctionType.
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
_ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PAD_SAME, PAD_VALID = 0, 1


@dataclass
class Const:
    """An array for the constant data section; ops refer to it by offset."""
    data: bytes
    kind: str = ""          # weights, bias, multiplier, shift, table (for inspect)
    align: int = 4          # 8 for int64 and double arrays


@dataclass
class Tensor:
    name: str
    shape: tuple
    scale: float
    zero_point: int
    data: bytes | None = None       # constant operand
    alias_of: int | None = None     # index of the tensor whose storage this one shares
    dtype: int = L.DTYPE_INT8
    state: int = 0                  # 1: kept across invokes (TML_TENSOR_STATE), 2: reset at each invoke
    placement: str = ""             # "external" (a model input read in place) or "band" (tiling.py)

    @property
    def dims4(self) -> tuple:
        return (1,) * (4 - len(self.shape)) + tuple(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * L.DTYPE_SIZE[self.dtype]


@dataclass
class Op:
    opname: str
    inputs: list
    outputs: list
    params: dict                    # field -> int, or Const for a data-section array
    source: str = ""                # TFLite op(s) and Keras layer, for messages and inspect
    macs: int = 0                   # multiply-accumulates (conv, FC, pool taps, ADD/MUL elements)
    stage: object = None            # STAGE: its tiling.Stage (members are graph op indices)


@dataclass
class Graph:
    tensors: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


def _where(model: TflModel, op: TflOp) -> str:
    """'OP (Keras layer 'x', op #n)' from the tensor names, best effort."""
    for i in op.outputs:
        layer = layer_name(model.tensors[i].name)
        if layer:
            return f"{op.name} (Keras layer '{layer}', op #{op.index})"
    for i in op.inputs:
        layer = layer_name(model.tensors[i].name) if i >= 0 else ""
        if layer:
            return f"{op.name} (after Keras layer '{layer}', op #{op.index})"
    return f"{op.name} (op #{op.index})"


def activation_range(act: int, out: TflTensor, where: str) -> tuple:
    """CalculateActivationRangeQuantized for int8 and int16: f / scale in float32, std::round."""
    if act not in (ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6):
        raise ConversionError(
            f"{where}: fused activation {_ACT_NAMES.get(act, act)} is not supported "
            "(supported: NONE, RELU, RELU6, RELU_N1_TO_1)")
    scale = np.float32(out.scale)
    zp = out.zero_point

    def q(f):
        return zp + int(tflite_round(float(np.float32(f) / scale)))

    lo, hi = (-32768, 32767) if out.type == INT16 else (-128, 127)
    if act == ACT_RELU:
        return max(lo, q(0.0)), hi
    if act == ACT_RELU6:
        return max(lo, q(0.0)), min(hi, q(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


def fold_depthwise_bias(bias, weights_taps_by_channel, input_offset: int, grouped: int):
    """The grouped depthwise kernel's bias (tml_kernels.h): for the first
    `grouped` channels bias + input_offset * (sum of the channel's weights),
    modulo 2^32 as the kernel's int32 sums; the other channels unchanged."""
    out = np.asarray(bias, dtype=np.int64).copy()
    sums = weights_taps_by_channel.astype(np.int64).sum(axis=0)
    out[:grouped] += int(input_offset) * sums[:grouped]
    return ((out + (1 << 31)) % (1 << 32) - (1 << 31)).astype("<i4")


def _pack_i32(values) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


def _same_quant(a: TflTensor, b: TflTensor) -> bool:
    return a.scale == b.scale and a.zero_point == b.zero_point


def compute_padding(padding: int, in_size: int, k: int, stride: int, dilation: int):
    """TFLite ComputePaddingHeightWidth for one dimension: (out_size, pad_before)."""
    eff = (k - 1) * dilation + 1
    if padding == PAD_SAME:
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size - eff + stride) // stride
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


def remap_tables(index: np.ndarray):
    """Four offset tables whose sums give the 4-D array of input offsets
    `index` (tml_blob.h, REMAP), or None if its dims are not independent."""
    origin = int(index[0, 0, 0, 0])
    tables = []
    for d in range(4):
        at = [0, 0, 0, 0]
        at[d] = slice(None)
        tables.append(index[tuple(at)] - (0 if d == 0 else origin))
    rebuilt = (tables[0][:, None, None, None] + tables[1][None, :, None, None]
               + tables[2][None, None, :, None] + tables[3][None, None, None, :])
    return tables if np.array_equal(rebuilt, index) else None


def strided_slice_indices(shape, begin, end, strides, o, where):
    """The index arrays of TFLite's STRIDED_SLICE (strided_slice_logic.h:
    StartForAxis, StopForAxis, masks and the `offset` option), one per input
    axis, for NumPy's np.ix_. New and shrunk axes only change the output's
    shape, which the caller takes from the model."""
    spec = len(begin)
    if not (len(end) == len(strides) == spec):
        raise ConversionError(f"{where}: begin, end and strides differ in length")
    if any(s == 0 for s in strides):
        raise ConversionError(f"{where}: stride 0")

    def bit(mask, i):
        return bool(mask >> i & 1)

    if bin(o.ellipsisMask).count("1") > 1:
        raise ConversionError(f"{where}: more than one ellipsis")
    real = [i for i in range(spec) if not bit(o.newAxisMask, i) and not bit(o.ellipsisMask, i)]
    axes = []  # (begin, end, stride, begin masked, end masked, shrink) per input axis
    full = (0, 0, 1, True, True, False)
    for i in range(spec):
        if bit(o.ellipsisMask, i):
            axes += [full] * (len(shape) - len(real))
        elif not bit(o.newAxisMask, i):
            e = begin[i] + end[i] if getattr(o, "offset", False) else end[i]
            axes.append((begin[i], e, strides[i], bit(o.beginMask, i), bit(o.endMask, i),
                         bit(o.shrinkAxisMask, i)))
    axes += [full] * (len(shape) - len(axes))
    if len(axes) != len(shape):
        raise ConversionError(f"{where}: {spec} slice entries for rank {len(shape)}")
    lists = []
    big = 1 << 31
    for size, (b, e, s, bm, em, shrink) in zip(shape, axes):
        start = (-big if s > 0 else big - 1) if bm else b
        start += size if start < 0 else 0
        start = min(max(start, 0), size - 1)
        if shrink:
            lists.append(np.array([start]))
            continue
        stop = (big - 1 if s > 0 else -big) if em else e
        stop += size if stop < 0 else 0
        stop = min(max(stop, 0), size) if s > 0 else min(max(stop, -1), size - 1)
        lists.append(np.arange(start, stop, s))
    return np.ix_(*lists)


def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """reference_ops::ResizeNearestNeighbor's GetNearestNeighbor, in float32."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5 if half_pixel else 0.0)
    out = []
    for y in range(out_size):
        v = (f32(y) + offset) * scale
        i = int(tflite_round(float(v))) if align_corners else int(np.floor(v))
        i = min(i, in_size - 1)
        out.append(max(i, 0) if half_pixel else i)
    return np.array(out, dtype=np.int64)


def bilinear_reads_past(in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> bool:
    """Whether TFLite's integer RESIZE_BILINEAR (ResizeBilinearInteger)
    takes a lower source index past the input for the last output index,
    as it does for some large upscales; tml_resize_bilinear_check refuses
    the same."""
    if align_corners and out_size > 1:
        scale = (1024 * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = (1024 * in_size + out_size // 2) // out_size
    v = out_size - 1
    src = v * scale + scale // 2 - 512 if half_pixel else v * scale
    return src >= 0 and src // 1024 > in_size - 1


def _shape_value(op: TflOp, vals: dict, shapes: list):
    """The int32 result of a shape-computation op from its known inputs, or None."""
    present = [i for i in op.inputs if i >= 0]
    ins = [vals.get(i) for i in present]
    o = op.options
    if op.name == "SHAPE":
        return np.asarray(shapes[op.inputs[0]], np.int64)
    if any(v is None for v in ins):
        return None
    if op.name == "GATHER" and o.axis == 0 and o.batchDims == 0 and ins[0].ndim == 1:
        return ins[0][ins[1]]
    if op.name == "REDUCE_PROD" and ins[0].ndim == 1 and ins[1].reshape(-1).tolist() == [0]:
        p = np.prod(ins[0], dtype=np.int64)
        return p.reshape(1) if o.keepDims else p
    # Keras' UpSampling on a tensor whose shape came from run time scales a
    # dimension by its factor: SHAPE -> STRIDED_SLICE -> MUL.
    if op.name in ("MUL", "ADD", "SUB") and len(ins) == 2 and not o.fusedActivationFunction:
        a, b = (v.reshape(shapes[i]) if v.size == 1 else v for i, v in zip(present, ins))
        return {"MUL": np.multiply, "ADD": np.add, "SUB": np.subtract}[op.name](a, b)
    if op.name == "CONCATENATION" and all(v.ndim == 1 for v in ins):
        return np.concatenate(ins)
    # A constant scalar's data comes as shape (1,); the tensor's shape says scalar.
    if op.name == "PACK" and o.axis == 0 and all(len(shapes[i]) == 0 and v.size == 1
                                                 for i, v in zip(present, ins)):
        return np.stack([v.reshape(()) for v in ins])
    if (op.name == "STRIDED_SLICE" and len(ins) == 4 and ins[0].ndim == 1 and ins[0].size
            and not o.ellipsisMask and not o.newAxisMask
            and all(v.ndim == 1 and v.size == 1 for v in ins[1:4]) and ins[3][0] != 0):
        got = ins[0][strided_slice_indices(ins[0].shape, *(v.tolist() for v in ins[1:4]), o, op.name)]
        return got.reshape(()) if o.shrinkAxisMask & 1 else got
    if op.name == "RESHAPE" and ins[0].size == 1 and shapes[op.outputs[0]] in ((), (1,)):
        return ins[0].reshape(shapes[op.outputs[0]])
    return None


def _resolve_dynamic_shapes(model: TflModel) -> tuple:
    """The model's tensors with the static shapes TF left wrong fixed, and
    the values of the int32 tensors known before run time (constants and
    shape computations on them) by tensor index.

    Keras' Dense on a rank > 2 input is a tensordot: a RESHAPE to
    (rows, features) whose shape operand is computed at run time
    (SHAPE -> GATHER -> REDUCE_PROD -> PACK), FULLY_CONNECTED, and a RESHAPE
    back. TF stores placeholder static shapes for the middle tensors (the
    RESHAPE says (1, 1) for (4, 6)). Evaluate those shape computations on
    the known input shapes, and redo FULLY_CONNECTED's output shape after a
    corrected input. Shapes that already agree with the element count are
    left alone."""
    tensors = list(model.tensors)
    shapes = [tuple(t.shape) for t in tensors]
    vals = {t.index: t.data.astype(np.int64) for t in tensors
            if t.is_const and t.type == INT32}
    fixed = set()

    def elems(shape):
        return int(np.prod(shape, dtype=np.int64))

    for op in model.ops:
        if op.name == "RESHAPE" and op.inputs[0] in vals:
            v = _shape_value(op, vals, shapes)
            if v is not None:
                vals[op.outputs[0]] = v
        elif op.name == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] >= 0:
            src, dst = op.inputs[0], op.outputs[0]
            want = vals.get(op.inputs[1])
            if elems(shapes[src]) != elems(shapes[dst]) and want is not None and want.ndim == 1:
                dims = [int(d) for d in want]
                known = elems([d for d in dims if d != -1])
                if dims.count(-1) == 1 and known and elems(shapes[src]) % known == 0:
                    dims[dims.index(-1)] = elems(shapes[src]) // known
                if -1 not in dims and elems(dims) == elems(shapes[src]):
                    shapes[dst] = tuple(dims)
                    fixed.add(dst)
        elif op.name == "FULLY_CONNECTED" and op.inputs[0] in fixed:
            w = tensors[op.inputs[1]]
            src, dst = op.inputs[0], op.outputs[0]
            if len(w.shape) == 2 and elems(shapes[src]) % w.shape[1] == 0:
                if op.options.keepNumDims:
                    shapes[dst] = shapes[src][:-1] + (w.shape[0],)
                else:
                    shapes[dst] = (elems(shapes[src]) // w.shape[1], w.shape[0])
                fixed.add(dst)
        elif op.name in ("EXPAND_DIMS", "TILE") and op.inputs[0] in fixed and op.inputs[1] in vals:
            # Keras' repeat (UpSampling) after a corrected tensor: its
            # EXPAND_DIMS and TILE carry placeholders too.
            src, dst = shapes[op.inputs[0]], op.outputs[0]
            arg = [int(v) for v in vals[op.inputs[1]].reshape(-1)]
            if op.name == "EXPAND_DIMS" and len(arg) == 1 and -len(src) - 1 <= arg[0] <= len(src):
                axis = arg[0] % (len(src) + 1)
                shapes[dst] = src[:axis] + (1,) + src[axis:]
                fixed.add(dst)
            elif op.name == "TILE" and len(arg) == len(src):
                shapes[dst] = tuple(d * m for d, m in zip(src, arg))
                fixed.add(dst)
        else:
            v = _shape_value(op, vals, shapes)
            if v is not None and len(op.outputs) == 1:
                vals[op.outputs[0]] = v
    for i in fixed:
        tensors[i] = dataclasses.replace(tensors[i], shape=shapes[i])
    return tensors, vals


def _data_input(op: TflOp) -> int:
    return 1 if op.name == "SPLIT" else 0


def fold_float_islands(model: TflModel) -> TflModel:
    """The model with every DEQUANTIZE -> value-moving op -> QUANTIZE island
    whose QUANTIZEs restore the DEQUANTIZE input's scale and zero point run
    on int8 instead: q -> (q - zp) * s -> round(x / s) + zp gives q back
    (float32's error in x / s is far below the 0.5 that rounding forgives),
    and moving values commutes with that identity."""
    T = list(model.tensors)
    consumers = defaultdict(list)
    for op in model.ops:
        for i in op.inputs:
            if i >= 0:
                consumers[i].append(op)
    moves = set(REMAP_OPS) | set(ALIAS_OPS)
    drop, rewired, redirect = set(), {}, {}
    for d in model.ops:
        if d.name != "DEQUANTIZE":
            continue
        src = T[d.inputs[0]]
        if src.type != INT8 or len(src.scales) != 1 or d.outputs[0] in model.outputs:
            continue
        users = consumers[d.outputs[0]]
        if not users or any(u.name not in moves or u.index in rewired for u in users):
            continue
        if any([i for k, i in enumerate(u.inputs) if i == d.outputs[0]] != [u.inputs[_data_input(u)]]
               for u in users):
            continue
        requants = []
        for u in users:
            for o in u.outputs:
                if o in model.outputs:
                    requants = None
                    break
                for q in consumers[o]:
                    t = T[q.outputs[0]]
                    if (q.name != "QUANTIZE" or t.type != INT8 or t.scales != src.scales
                            or t.zero_points != src.zero_points):
                        requants = None
                        break
                    requants.append((o, q))
                if requants is None:
                    break
            if requants is None:
                break
        if requants is None:
            continue
        for u in users:
            ins = list(u.inputs)
            ins[_data_input(u)] = d.inputs[0]
            rewired[u.index] = ins
            for o in u.outputs:
                T[o] = dataclasses.replace(T[o], type=INT8, scales=list(src.scales),
                                           zero_points=list(src.zero_points))
        for o, q in requants:
            redirect[q.outputs[0]] = o
            drop.add(q.index)
        drop.add(d.index)
    if not drop:
        return model
    ops = []
    for op in model.ops:
        if op.index in drop:
            continue
        ins = [redirect.get(i, i) for i in rewired.get(op.index, op.inputs)]
        ops.append(dataclasses.replace(op, inputs=ins))
    return dataclasses.replace(model, tensors=T, ops=ops,
                               outputs=[redirect.get(o, o) for o in model.outputs])


def _refuse_model_type(T) -> None:
    """A model whose activations are neither int8 nor int16 (16x8) is named
    for what it is."""
    if any(t.type in (INT8, INT16) for t in T):
        return
    kinds = sorted({t.type_name for t in T if t.data is None})
    if "uint8" in kinds:
        raise ConversionError(
            "the model is quantised to uint8 (TensorFlow 1's scheme), not int8: re-quantise it "
            "to int8 (tinyml convert model.keras --calib data.npy does)")
    if FLOAT32 in {t.type for t in T}:
        raise ConversionError(
            "the model has no int8 or int16 tensors: it is a float model. Convert a Keras model "
            "(tinyml convert model.keras --calib data.npy) or give a fully int8-quantised .tflite")
    raise ConversionError(
        f"the model has no int8, int16 or float tensors (its activations are {', '.join(kinds)}): "
        "it is not a quantised network tinyml can run; give a fully int8-quantised .tflite")


def _s16_unsupported(where: str) -> ConversionError:
    return ConversionError(
        f"{where}: this op has int16 (16x8) tensors; tinyml runs 16x8 models for {S16_TEXT} "
        "so far, not for this op: quantise the model to int8 (tinyml convert without --int16)")


class Lowering:
    def __init__(self, model: TflModel, lut_fn=lut_table, reset_state=False):
        model = fold_float_islands(model)
        self.reset_state = reset_state
        self.m = model
        self.T, self.int_values = _resolve_dynamic_shapes(model)
        self.g = Graph()
        self.tmap = {}
        # Tensors of rank above 4 between ops that only move values (Keras'
        # UpSampling2D writes EXPAND_DIMS -> TILE -> RESHAPE through rank 5):
        # never stored, each is (the stored tensor it reads from, the offset
        # into that tensor of each of its elements), and the first op whose
        # output has rank 4 or less reads the stored tensor with the composed
        # offsets (one REMAP).
        self.virtual = {}
        self.lut_fn = lut_fn
        self.producer = {}
        self.consumers = defaultdict(list)
        for op in model.ops:
            for o in op.outputs:
                self.producer[o] = op
            for i in op.inputs:
                if i >= 0:
                    self.consumers[i].append(op)

    # ---- tensors -------------------------------------------------------
    def _check_int8(self, t: TflTensor, where: str):
        """An activation tinyml can hold: int8, or int16 with zero point 0
        (16x8). Whether the op at hand runs on int16 is _add()'s check."""
        if t.type == INT16:
            if t.zero_point != 0:
                raise ConversionError(
                    f"{where}: int16 tensor '{t.name}' has zero point {t.zero_point}; 16x8 "
                    "quantisation is symmetric (zero point 0)")
        elif t.type != INT8:
            raise ConversionError(
                f"{where}: tensor '{t.name}' is {t.type_name}; only int8 activations (or int16, "
                "quantised 16x8) are supported")
        if len(t.scales) != 1:
            raise ConversionError(
                f"{where}: tensor '{t.name}' needs per-tensor quantisation "
                f"(has {len(t.scales)} scales)")

    def _new_tensor(self, t: TflTensor, **kw) -> int:
        if len(t.shape) > L.MAX_RANK:
            raise ConversionError(f"tensor '{t.name}' has rank {len(t.shape)}; at most 4 is supported")
        shape = t.shape if t.shape else (1,)
        # What the C loader would refuse, said here with the tensor's name (a
        # damaged .tflite can still parse).
        if any(not 1 <= d < 2 ** 31 for d in shape):
            raise ConversionError(f"tensor '{t.name}' has shape {tuple(shape)}: every dimension must be at least 1")
        if kw.get("dtype", L.DTYPE_INT8) in (L.DTYPE_INT8, L.DTYPE_INT16):
            if kw.get("dtype", L.DTYPE_INT8) == L.DTYPE_INT8 and not -128 <= t.zero_point <= 127:
                raise ConversionError(f"tensor '{t.name}' has zero point {t.zero_point}, outside int8")
            if not (math.isfinite(t.scale) and t.scale > 0):
                raise ConversionError(f"tensor '{t.name}' has scale {t.scale}: it must be positive and finite")
        data = kw.get("data")
        if data is not None and len(data) != int(np.prod(shape, dtype=np.int64)) * L.DTYPE_SIZE[kw.get("dtype", L.DTYPE_INT8)]:
            raise ConversionError(f"tensor '{t.name}': its {len(data)} bytes of data do not fill shape {tuple(shape)}")
        self.g.tensors.append(Tensor(t.name, tuple(shape), t.scale, t.zero_point, **kw))
        return len(self.g.tensors) - 1

    def act(self, i: int, where: str) -> int:
        """Our tensor for TFLite tensor i (an activation or a constant operand)."""
        if i in self.tmap:
            return self.tmap[i]
        t = self.T[i]
        self._check_int8(t, where)
        wide = t.type == INT16
        kw = dict(dtype=L.DTYPE_INT16) if wide else {}
        if t.is_const:
            idx = self._new_tensor(t, data=t.data.astype("<i2" if wide else "<i1").tobytes(), **kw)
        else:
            idx = self._new_tensor(t, **kw)
        self.tmap[i] = idx
        return idx

    def _refuse_unsupported(self, keep):
        """Name every op we cannot run, the model's real work first: an op
        whose shape operand is computed (SHAPE, STRIDED_SLICE, PACK in front
        of it, as Keras writes for Conv2DTranspose) would otherwise be
        reported as SHAPE, the first in graph order, which is not what the
        user wrote."""
        # The dilation pair folds into its convolution (_lower_dilated says
        # when it cannot).
        missing = [op for op in self.m.ops if op.index in keep
                   and op.name not in ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
                   and not hasattr(self, "_op_" + op.name.lower()) and op.name not in LUT_OPS]
        if not missing:
            return
        # Shape arithmetic (every output an int32 tensor) is only refused for
        # want of the op it feeds, so that op is what the message names.
        work = [op for op in missing if not all(self.T[o].type == INT32 for o in op.outputs)] or missing
        names = list(dict.fromkeys(op.name for op in work))
        what = f"op {names[0]} is not supported" if len(names) == 1 else \
            f"ops {', '.join(names)} are not supported"
        raise ConversionError(f"{_where(self.m, work[0])}: {what}. Supported: {SUPPORTED_TEXT}")

    def root(self, idx: int) -> int:
        while self.g.tensors[idx].alias_of is not None:
            idx = self.g.tensors[idx].alias_of
        return idx

    # ---- whole graph ---------------------------------------------------
    def run(self) -> Graph:
        m, T = self.m, self.T
        _refuse_model_type(T)
        skip = set()
        inputs, outputs = list(m.inputs), list(m.outputs)
        for k, ti in enumerate(inputs):
            t = T[ti]
            if t.type in (INT8, INT16):
                continue
            cons = self.consumers[ti]
            if (t.type == FLOAT32 and len(cons) == 1 and cons[0].name == "QUANTIZE"
                    and T[cons[0].outputs[0]].type in (INT8, INT16)):
                inputs[k] = cons[0].outputs[0]
                skip.add(cons[0].index)
            else:
                raise ConversionError(
                    f"model input '{t.name}' is {t.type_name} and not followed by a single "
                    "QUANTIZE to int8 or int16; only int8 or int16 (or float32 + QUANTIZE) inputs "
                    "are supported")
        for k, to in enumerate(outputs):
            t = T[to]
            if t.type in (INT8, INT16):
                continue
            p = self.producer.get(to)
            if (t.type == FLOAT32 and p is not None and p.name == "DEQUANTIZE"
                    and T[p.inputs[0]].type in (INT8, INT16)):
                outputs[k] = p.inputs[0]
                skip.add(p.index)
            elif t.type in (INT32, INT64) and p is not None and p.name in ("ARG_MAX", "ARG_MIN"):
                continue
            else:
                raise ConversionError(
                    f"model output '{t.name}' is {t.type_name} and not produced by DEQUANTIZE "
                    "from int8 or int16; only int8 or int16 (or DEQUANTIZE) outputs are supported, "
                    "and the int32 or int64 indices of ARG_MAX / ARG_MIN")
        keep = self._live_ops(outputs, skip)
        for ti in inputs:
            self.act(ti, "model input")
        self._refuse_unsupported(keep)
        fused = set()
        for op in m.ops:
            if op.index not in keep or op.index in fused:
                continue
            where = _where(m, op)
            if op.name == "SPACE_TO_BATCH_ND":
                fused |= self._lower_dilated(op, where)
                continue
            fn = getattr(self, "_op_" + op.name.lower(), None)
            if fn is None:
                if op.name in LUT_OPS:
                    fn = self._op_lut
                else:
                    raise ConversionError(
                        f"{where}: op {op.name} is not supported. Supported: {SUPPORTED_TEXT}")
            fn(op, where)
        self.g.inputs = [self.act(i, "model input") for i in inputs]
        self.g.outputs = []
        for o in outputs:
            if o not in self.tmap:
                raise ConversionError(f"model output '{T[o].name}' is not computed by any op")
            self.g.outputs.append(self.tmap[o])
        return self.g

    def _live_ops(self, outputs, skip) -> set:
        """Ops needed for the outputs. RESHAPE's shape operand (and EXPAND_DIMS'
        axis) are not needs: the static output shape says it all, so Flatten's
        SHAPE/STRIDED_SLICE/PACK become dead."""
        needed = set(outputs)
        keep = set()
        for op in reversed(self.m.ops):
            if op.index in skip or not any(o in needed for o in op.outputs):
                continue
            keep.add(op.index)
            ins = op.inputs[:1] if op.name in ALIAS_OPS else op.inputs
            if op.name == "TRANSPOSE_CONV":
                ins = op.inputs[1:]  # the output shape is folded (_op_transpose_conv)
            needed.update(i for i in ins if i >= 0 and not self.T[i].is_const)
        return keep

    def _add(self, opname, ins, outs, params, where, macs=0):
        wide = [self.g.tensors[i].dtype == L.DTYPE_INT16 for i in ins + outs]
        if opname in OWN_DTYPE_OPNAMES:
            wide = []
        if any(wide) and opname not in S16_OPNAMES:
            raise _s16_unsupported(where)
        if any(wide) and not all(wide) and opname != "REQUANTIZE":
            raise ConversionError(f"{where}: the op mixes int8 and int16 operands")
        self.g.ops.append(Op(opname, ins, outs, params, where, macs))

    def _out(self, op: TflOp, where: str) -> TflTensor:
        t = self.T[op.outputs[0]]
        self._check_int8(t, where)
        if op.outputs[0] in self.tmap:
            raise ConversionError(f"{where}: tensor '{t.name}' is written twice")
        return t

    def _const(self, i: int, where: str, what: str) -> TflTensor:
        if i < 0 or not self.T[i].is_const:
            raise ConversionError(f"{where}: {what} must be a constant tensor")
        return self.T[i]

    # ---- convolutions ----------------------------------------------------
    def _conv_common(self, op, where, *, depthwise, inp_i, out_i, pads=None, dil=None):
        o = op.options
        inp, out = self.T[inp_i], self.T[out_i]
        self._check_int8(out, where)
        filt = self._const(op.inputs[1], where, "the filter")
        if filt.type != INT8:
            raise ConversionError(f"{where}: filter is {filt.type_name}; only int8 weights are supported")
        if any(z != 0 for z in filt.zero_points):
            raise ConversionError(f"{where}: int8 filter with non-zero zero point is not supported")
        if len(inp.shape) != 4 and pads is None:
            raise ConversionError(f"{where}: input must be 4-D NHWC, got {inp.shape}")
        # The dilated Conv1D path passes (1, W, C) tensors: the C core reads them as (1, 1, W, C).
        _, in_h, in_w, in_c = (1,) * (4 - len(inp.shape)) + tuple(inp.shape)
        fshape = filt.shape
        if depthwise:
            _, kh, kw, out_c = fshape
            if out_c % in_c:
                raise ConversionError(f"{where}: {out_c} output channels not a multiple of {in_c}")
            depth_multiplier = out_c // in_c
            qdim_ok = filt.quantized_dimension == 3
        else:
            out_c, kh, kw, f_in = fshape
            if f_in != in_c:
                raise ConversionError(
                    f"{where}: grouped convolution ({in_c} input channels, filter depth {f_in}) "
                    "is not supported")
            depth_multiplier = 1
            qdim_ok = filt.quantized_dimension == 0
        nq = len(filt.scales)
        if nq not in (1, out_c) or (nq > 1 and not qdim_ok):
            raise ConversionError(f"{where}: filter quantisation has {nq} scales for {out_c} channels")
        stride_h, stride_w = o.strideH, o.strideW
        if dil is None:
            dil = (o.dilationHFactor or 1, o.dilationWFactor or 1)
        out_h, out_w = self.T[out_i].shape[1:3] if len(self.T[out_i].shape) == 4 else (None, None)
        if pads is None:
            oh, pt = compute_padding(o.padding, in_h, kh, stride_h, dil[0])
            ow, pl = compute_padding(o.padding, in_w, kw, stride_w, dil[1])
            if (oh, ow) != (out_h, out_w):
                raise ConversionError(f"{where}: output {out.shape} does not match the conv arithmetic")
        else:
            pt, pl = pads
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        mults, shifts = [], []
        for fs in filt.scales:
            # PopulateConvolutionQuantizationParams: double(in) * double(f) / double(out).
            mul, sh = quantize_multiplier(inp.scale * fs / out.scale)
            mults.append(mul)
            shifts.append(sh)
        wide = inp.type == INT16
        bias = L.NONE
        bias_values = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self._const(op.inputs[2], where, "the bias")
            want = INT64 if wide else INT32
            if b.type != want:
                raise ConversionError(
                    f"{where}: bias is {b.type_name}; {'int64 (16x8)' if wide else 'int32'} expected")
            bias_values = b.data.astype("<i8" if wide else "<i4").reshape(-1)
        if wide:
            if any(sh > 7 for sh in shifts):
                raise ConversionError(f"{where}: rescale {inp.scale:g} * filter / {out.scale:g} is above "
                                      "2^7, outside TFLite's 16x8 rescaling")
            self._add_conv(op, where, inp, out, inp_i, out_i, filt, depthwise, depth_multiplier,
                           (kh, kw, stride_h, stride_w, dil, pt, pl, nq, act_min, act_max, in_c),
                           mults, shifts,
                           L.NONE if bias_values is None else Const(bias_values.astype("<i8").tobytes(), "bias", 8),
                           "_S16")
            return
        if depthwise:
            grouped = depthwise_grouped(kh, kw, depth_multiplier, in_c)
            if grouped:
                out_c = int(filt.data.shape[-1])
                if bias_values is None:
                    bias_values = np.zeros(out_c, "<i4")
                bias_values = fold_depthwise_bias(bias_values, filt.data.reshape(kh * kw, out_c),
                                                  -inp.zero_point, grouped)
        if bias_values is not None:
            bias = Const(bias_values.astype("<i4").tobytes(), "bias")
        self._add_conv(op, where, inp, out, inp_i, out_i, filt, depthwise, depth_multiplier,
                       (kh, kw, stride_h, stride_w, dil, pt, pl, nq, act_min, act_max, in_c),
                       mults, shifts, bias, "")

    def _add_conv(self, op, where, inp, out, inp_i, out_i, filt, depthwise, depth_multiplier, geometry,
                  mults, shifts, bias, suffix):
        kh, kw, stride_h, stride_w, dil, pt, pl, nq, act_min, act_max, in_c = geometry
        params = dict(
            kernel_h=kh, kernel_w=kw, stride_h=stride_h, stride_w=stride_w,
            dilation_h=dil[0], dilation_w=dil[1], pad_top=pt, pad_left=pl,
            depth_multiplier=depth_multiplier, channel_quant=nq,
            act_min=act_min, act_max=act_max,
            weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
            multiplier=Const(_pack_i32(mults), "multiplier"),
            shift=Const(_pack_i32(shifts), "shift"))
        out_elems = int(np.prod(out.shape))
        macs = out_elems * kh * kw * (1 if depthwise else in_c)
        name = ("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D") + suffix
        x = self.act(inp_i, where)
        y = self.act(out_i, where)
        self._add(name, [x], [y], params, where, macs)

    def _op_conv_2d(self, op, where):
        self._out(op, where)
        self._conv_common(op, where, depthwise=False, inp_i=op.inputs[0], out_i=op.outputs[0])

    def _op_depthwise_conv_2d(self, op, where):
        self._out(op, where)
        self._conv_common(op, where, depthwise=True, inp_i=op.inputs[0], out_i=op.outputs[0])

    def _lower_dilated(self, s2b: TflOp, where: str) -> set:
        """SPACE_TO_BATCH_ND -> conv (VALID, stride 1) -> BATCH_TO_SPACE_ND equals
        a conv with dilation = block and pad_top = s2b pad - b2s crop: both pad
        with the zero point, so padded taps contribute nothing either way.

        Conv1D(dilation_rate=b) on (1, W, C) is the same with a 1-D block and
        the conv wrapped in EXPAND_DIMS (axis -3) and RESHAPE/SQUEEZE:
        SPACE_TO_BATCH_ND -> EXPAND_DIMS -> CONV_2D -> RESHAPE -> BATCH_TO_SPACE_ND.
        It becomes a conv with dilation (1, b) on the (1, 1, W, C) view, which
        is how the C core reads a rank-3 tensor anyway. The static shapes TF
        stores between the two ends are wrong (batch 1 instead of b), so only
        the ends' shapes are used."""
        bad = ConversionError(
            f"{where}: SPACE_TO_BATCH_ND is only supported as part of a dilated convolution "
            "(SPACE_TO_BATCH_ND -> [EXPAND_DIMS] -> CONV_2D/DEPTHWISE_CONV_2D -> "
            "[RESHAPE/SQUEEZE] -> BATCH_TO_SPACE_ND)")

        def only_consumer(t_idx):
            cons = self.consumers[t_idx]
            if len(cons) != 1 or t_idx in self.m.outputs:
                raise bad
            return cons[0]

        s_in = self.T[s2b.inputs[0]]
        rank = len(s_in.shape)
        block = self._const(s2b.inputs[1], where, "block shape").data.reshape(-1).tolist()
        if rank - 2 != len(block) or len(block) not in (1, 2):
            raise bad
        chain = []
        nxt = only_consumer(s2b.outputs[0])
        if len(block) == 1:
            if nxt.name != "EXPAND_DIMS":
                raise bad
            axis = self._const(nxt.inputs[1], where, "the axis").data.reshape(-1).tolist()
            if axis not in ([1], [-3]):
                raise bad
            chain.append(nxt)
            nxt = only_consumer(nxt.outputs[0])
        if nxt.name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            raise bad
        conv = nxt
        chain.append(conv)
        nxt = only_consumer(conv.outputs[0])
        if len(block) == 1:
            if nxt.name not in ("RESHAPE", "SQUEEZE"):
                raise bad
            chain.append(nxt)
            nxt = only_consumer(nxt.outputs[0])
        if nxt.name != "BATCH_TO_SPACE_ND":
            raise bad
        b2s = nxt
        chain.append(b2s)
        block2 = self._const(b2s.inputs[1], where, "block shape").data.reshape(-1).tolist()
        paddings = self._const(s2b.inputs[2], where, "paddings").data.reshape(-1, 2).tolist()
        crops = self._const(b2s.inputs[2], where, "crops").data.reshape(-1, 2).tolist()
        o = conv.options
        if (block != block2 or len(paddings) != len(block) or len(crops) != len(block)
                or o.strideH != 1 or o.strideW != 1
                or o.padding != PAD_VALID or (o.dilationHFactor or 1) != 1
                or (o.dilationWFactor or 1) != 1 or min(block) < 1):
            raise bad
        # Every tensor in the chain must carry one quantisation: the input's up
        # to the conv, the output's after it.
        b_out = self.T[b2s.outputs[0]]
        for step in chain:
            t_out = self.T[step.outputs[0]]
            ref = b_out if chain.index(step) >= chain.index(conv) else s_in
            if not _same_quant(t_out, ref):
                raise bad
        if len(block) == 1:
            block, paddings, crops = [1] + block, [[0, 0]] + paddings, [[0, 0]] + crops
        pads = (paddings[0][0] - crops[0][0], paddings[1][0] - crops[1][0])
        if min(pads) < 0:
            raise bad
        # Output extent: padded input, minus the dilated window, minus the crops.
        filt = self._const(conv.inputs[1], where, "the filter")
        kh, kw = filt.shape[1:3]
        in_dims = (1,) * (4 - rank) + tuple(s_in.shape)
        out_dims = (1,) * (4 - rank) + tuple(b_out.shape)
        expect = tuple(
            in_dims[1 + d] + sum(paddings[d]) - (k - 1) * block[d] - sum(crops[d])
            for d, k in enumerate((kh, kw)))
        if expect != tuple(out_dims[1:3]):
            raise ConversionError(
                f"{where}: dilated convolution output {b_out.shape} does not match its "
                f"arithmetic (expected spatial size {expect})")
        self._out(b2s, where)
        cwhere = _where(self.m, conv) + " (dilated)"
        self._conv_common(conv, cwhere, depthwise=conv.name == "DEPTHWISE_CONV_2D",
                          inp_i=s2b.inputs[0], out_i=b2s.outputs[0], pads=pads,
                          dil=(block[0], block[1]))
        return {step.index for step in chain}

    def _op_transpose_conv(self, op, where):
        """TFLite's inputs: output_shape (int32[4]), weights int8 OHWI, input,
        optional bias int32[out_c]. The output_shape operand must fold to the
        output's static shape: the blob has no run-time shapes."""
        o = op.options
        out = self._out(op, where)
        shape_i, w_i, in_i = op.inputs[:3]
        inp = self.T[in_i]
        self._check_int8(inp, where)
        if len(inp.shape) != 4 or len(out.shape) != 4:
            raise ConversionError(f"{where}: input and output must be 4-D NHWC, got {inp.shape} -> {out.shape}")
        want = self.int_values.get(shape_i)
        if want is None:
            raise ConversionError(
                f"{where}: the output shape is computed at run time from values other than static "
                "shapes; only an output shape known at conversion time is supported")
        if tuple(int(v) for v in want.reshape(-1)) != tuple(out.shape):
            raise ConversionError(
                f"{where}: output_shape operand {want.reshape(-1).tolist()} differs from the output "
                f"tensor's shape {tuple(out.shape)}")
        filt = self._const(w_i, where, "the filter")
        if filt.type != INT8 or len(filt.shape) != 4 or filt.data.size != math.prod(filt.shape):
            raise ConversionError(f"{where}: filter must be int8 [out, h, w, in], got {filt.type_name} {filt.shape}")
        if any(z != 0 for z in filt.zero_points):
            raise ConversionError(f"{where}: int8 filter with non-zero zero point is not supported")
        out_c, kh, kw, f_in = filt.shape
        _, in_h, in_w, in_c = inp.shape
        if f_in != in_c or out_c != out.shape[3]:
            raise ConversionError(
                f"{where}: filter {filt.shape} does not fit input {inp.shape} and output {out.shape}")
        nq = len(filt.scales)
        if nq not in (1, out_c) or (nq > 1 and filt.quantized_dimension != 0):
            raise ConversionError(f"{where}: filter quantisation has {nq} scales for {out_c} channels")
        sh, sw = o.strideH, o.strideW
        if sh < 1 or sw < 1:
            raise ConversionError(f"{where}: stride {sh}x{sw}")
        # The int32 accumulator's bound (tml_transpose_conv.c): the taps
        # that can meet one output value.
        terms = min(-(-kh // sh), in_h) * min(-(-kw // sw), in_w) * in_c
        if terms > 65536:
            raise ConversionError(
                f"{where}: {terms} products per output value ({kh}x{kw} kernel, stride {sh}x{sw}, "
                f"{in_c} input channels) exceed the 65536 an int32 accumulator holds safely; "
                "not supported")
        # transpose_conv.cc Eval: ComputePaddingHeightWidth on the output size.
        _, pt = compute_padding(o.padding, out.shape[1], kh, sh, 1)
        _, pl = compute_padding(o.padding, out.shape[2], kw, sw, 1)
        act_min, act_max = activation_range(getattr(o, "fusedActivationFunction", ACT_NONE), out, where)
        # Prepare: PopulateConvolutionQuantizationParams, double(in) * double(f) / double(out).
        mults = [quantize_multiplier(inp.scale * fs / out.scale) for fs in filt.scales]
        wide = inp.type == INT16
        bias = L.NONE
        if len(op.inputs) > 3 and op.inputs[3] >= 0:
            b = self._const(op.inputs[3], where, "the bias")
            want = INT64 if wide else INT32
            if b.type != want or b.data.size != out_c:
                raise ConversionError(f"{where}: bias is {b.type_name}{list(b.shape)}; "
                                      f"{'int64' if wide else 'int32'}[{out_c}] expected")
            bias = Const(b.data.astype("<i8" if wide else "<i4").tobytes(), "bias", 8 if wide else 4)
        if wide and any(s > 7 for _, s in mults):
            raise ConversionError(f"{where}: rescale above 2^7, outside TFLite's 16x8 rescaling")
        params = dict(
            kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl,
            channel_quant=nq, reserved=0, act_min=act_min, act_max=act_max,
            weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
            multiplier=Const(_pack_i32([m for m, _ in mults]), "multiplier"),
            shift=Const(_pack_i32([s for _, s in mults]), "shift"))
        x = self.act(in_i, where)
        y = self.act(op.outputs[0], where)
        self._add("TRANSPOSE_CONV_S16" if wide else "TRANSPOSE_CONV", [x], [y], params, where,
                  in_h * in_w * kh * kw * in_c * out_c)

    # ---- recurrent -----------------------------------------------------------
    def _state(self, i: int, dtype: int, where: str) -> int:
        """Our state tensor (TML_TENSOR_STATE) for TFLite variable tensor i,
        restarting at every invoke when the model asks for it."""
        if i in self.tmap:
            raise ConversionError(f"{where}: state tensor '{self.T[i].name}' is shared with another op")
        idx = self._new_tensor(self.T[i], dtype=dtype, state=2 if self.reset_state else 1)
        self.tmap[i] = idx
        return idx

    def _op_unidirectional_sequence_lstm(self, op, where):
        """TFLite's integer LSTM (int8 activations and weights, int16 cell
        state). Every number TFLite's Prepare derives (unidirectional_sequence_lstm.cc,
        PopulateQuantizedLstmParams8x8_16 and the zero point folds into the
        biases) is computed here, in the precisions it uses, so the kernel
        only runs the steps."""
        T = self.T
        ins = list(op.inputs) + [-1] * (24 - len(op.inputs))
        if len(op.inputs) not in (20, 24):
            raise ConversionError(f"{where}: {len(op.inputs)} inputs; TFLite's LSTM has 20 or 24")
        get = lambda k: T[ins[k]] if ins[k] >= 0 else None  # noqa: E731
        x, y = T[ins[0]], T[op.outputs[0]]
        if x.type != INT8 or y.type != INT8:
            raise ConversionError(
                f"{where}: input {x.type_name} and output {y.type_name}; only the fully integer LSTM "
                "(int8 in and out, TFLite's 8x8->16 kernel) is supported, not the float or hybrid ones")
        if any(ins[k] >= 0 for k in range(20, 24)):
            raise ConversionError(f"{where}: layer normalization LSTM is not supported")
        o = op.options
        time_major = bool(o.timeMajor) if o is not None else False
        cell_clip = float(o.cellClip) if o is not None else 0.0
        proj_clip = float(o.projClip) if o is not None else 0.0
        names = ("input_to_input", "input_to_forget", "input_to_cell", "input_to_output",
                 "recurrent_to_input", "recurrent_to_forget", "recurrent_to_cell", "recurrent_to_output")
        weights = {n: get(1 + k) for k, n in enumerate(names)}
        cifg = weights["input_to_input"] is None
        if cifg != (weights["recurrent_to_input"] is None):
            raise ConversionError(f"{where}: input gate weights only half present")
        peep = [get(9), get(10), get(11)]
        peephole = peep[2] is not None
        proj_w, proj_b = get(16), get(17)
        projection = proj_w is not None
        biases = [get(12), get(13), get(14), get(15)]
        out_state, cell_state = get(18), get(19)
        if out_state is None or cell_state is None or out_state.is_const or cell_state.is_const:
            raise ConversionError(f"{where}: output and cell state must be variable tensors")
        if out_state.type != INT8 or cell_state.type != INT16:
            raise ConversionError(f"{where}: output state {out_state.type_name} and cell state "
                                  f"{cell_state.type_name}; expected int8 and int16")
        for t in [*weights.values(), proj_w, *peep]:
            if t is None:
                continue
            if not t.is_const or t.type not in (INT8, INT16) or len(t.scales) != 1:
                raise ConversionError(f"{where}: weight '{t.name}' must be a constant with one scale "
                                      "(per-tensor int8 weights, int16 peepholes)")
        for t in [*biases, proj_b]:
            if t is not None and (not t.is_const or t.type != INT32):
                raise ConversionError(f"{where}: bias '{t.name}' must be a constant int32 tensor")
        inter = [int(i) for i in (op.raw.intermediates if op.raw.intermediates is not None else [])]
        if len(inter) != 5 or not T[inter[4]].scales:
            raise ConversionError(f"{where}: the integer LSTM needs TFLite's 5 quantised intermediates "
                                  f"(has {len(inter)})")
        hidden = T[inter[4]]
        n_cell = int(weights["input_to_output"].shape[0])
        n_input = int(x.shape[-1])
        n_output = int(weights["recurrent_to_output"].shape[1])
        if len(x.shape) not in (2, 3):
            raise ConversionError(f"{where}: input of rank {len(x.shape)}; 2 or 3 are supported")

        f32 = np.float32
        inter_scale = [f32(2.0 ** -12)] * 4 + [f32(hidden.scale)]
        # CheckedLog2 of the cell state's scale.
        x_log2 = f32(np.log(f32(cell_state.scale))) * (f32(1.0) / f32(np.log(f32(2.0))))
        cell_scale = int(np.round(x_log2))
        if abs(x_log2 - f32(cell_scale)) >= 1e-3 or not -30 <= cell_scale <= 0:
            raise ConversionError(f"{where}: cell state scale {cell_state.scale} is not a power of two "
                                  "in 2^-30 .. 1")
        # Outside 2^-15 .. 2^-9 TFLite's kernel skips tanh(cell) and uses the
        # input gate's buffer instead; without an input gate that buffer is
        # undefined, so there is no answer to match.
        if cifg and not -15 <= cell_scale <= -9:
            raise ConversionError(f"{where}: cell state scale 2^{cell_scale} without an input gate (CIFG): "
                                  "TFLite's kernel reads an uninitialised buffer there")
        in_scale, os_scale = f32(x.scale), f32(out_state.scale)

        def wscale(t):
            return f32(t.scale) if t is not None else f32(1.0)

        rescales = []
        for g, gate in enumerate(("input", "forget", "cell", "output")):
            wi, wr = weights[f"input_to_{gate}"], weights[f"recurrent_to_{gate}"]
            pe = None if g == 2 else peep[{0: 0, 1: 1, 3: 2}[g]]
            if wi is None:
                rescales += [(0, 0)] * 3
                continue
            rescales.append(quantize_multiplier(float(f32(wscale(wi) * in_scale / inter_scale[g]))))
            rescales.append(quantize_multiplier(float(f32(wscale(wr) * os_scale / inter_scale[g]))))
            if pe is not None and peephole:
                rescales.append(quantize_multiplier(
                    float(f32(2.0 ** cell_scale * float(wscale(pe)) / float(inter_scale[g])))))
            else:
                rescales.append(quantize_multiplier(1.0))
        rescales.append(quantize_multiplier(float(f32(wscale(proj_w) * inter_scale[4] / os_scale))))
        rescales.append(quantize_multiplier(float(f32(2.0 ** -15 / float(inter_scale[4]) * 2.0 ** -15))))

        def row_sums(t):
            return t.data.astype(np.int64).reshape(t.shape[0], -1).sum(axis=1)

        def fold(bias, w, zp, rows):
            v = np.zeros(rows, np.int64) if bias is None else bias.data.astype(np.int64).reshape(-1)
            if w is not None and zp != 0:
                v = v + row_sums(w) * zp
            return ((v + 2 ** 31) % 2 ** 32 - 2 ** 31).astype("<i4")

        hidden_zp = int(hidden.zero_point)
        block = bytearray(np.asarray(rescales, dtype="<i4").tobytes())
        gates = [g for g in range(4) if not (cifg and g == 0)]
        gate_names = ("input", "forget", "cell", "output")
        for g in gates:
            wi, wr = weights[f"input_to_{gate_names[g]}"], weights[f"recurrent_to_{gate_names[g]}"]
            block += fold(biases[g], wi, -x.zero_point, n_cell).tobytes()
            block += fold(None, wr, -out_state.zero_point, n_cell).tobytes()

        def pad4(b):
            return bytes(b) + b"\0" * (-len(b) % 4)

        if projection:
            block += fold(proj_b, proj_w, hidden_zp, n_output).tobytes()
        if peephole:
            block += pad4(b"".join(p.data.astype("<i2").tobytes() for p in peep if p is not None))
        for g in gates:
            block += pad4(weights[f"input_to_{gate_names[g]}"].data.astype("<i1").tobytes())
        for g in gates:
            block += pad4(weights[f"recurrent_to_{gate_names[g]}"].data.astype("<i1").tobytes())
        if projection:
            block += pad4(proj_w.data.astype("<i1").tobytes())

        q_cell_clip = int(np.clip(f32(cell_clip) / f32(cell_state.scale), -32768, 32767)) if cell_clip > 0 else 0
        q_proj_clip = int(np.clip(f32(proj_clip) / f32(y.scale), -128, 127)) if proj_clip > 0 else 0
        # A rank-2 input is one time step of [batch, features]: TFLite's
        # time-major indexing then reads it the same way.
        flags = (L.LSTM_TIME_MAJOR if time_major or len(x.shape) == 2 else 0) | (L.LSTM_CIFG if cifg else 0) \
            | (L.LSTM_PEEPHOLE if peephole else 0) | (L.LSTM_PROJECTION if projection else 0)
        a = self.act(ins[0], where)
        states = [self._state(ins[18], L.DTYPE_INT8, where), self._state(ins[19], L.DTYPE_INT16, where)]
        out = self.act(op.outputs[0], where)
        steps = int(np.prod(x.shape[:-1]))
        macs = steps * (len(gates) * n_cell * (n_input + n_output) + (n_output * n_cell if projection else 0))
        self._add("UNIDIRECTIONAL_SEQUENCE_LSTM", [a, *states], [out],
                  dict(constants=Const(bytes(block), "lstm"), constants_size=len(block),
                       hidden_zero_point=hidden_zp, cell_clip=q_cell_clip, proj_clip=q_proj_clip,
                       cell_scale=cell_scale, flags=flags, reserved=0),
                  where, macs)

    def _op_svdf(self, op, where):
        """TFLite's fully integer SVDF (svdf.cc, EvalIntegerSVDF): int8 in and
        out, int16 time weights and state. TFLite runs it with a RELU
        activation only, and then applies none beyond the int8 clamp."""
        T = self.T
        if len(op.inputs) != 5:
            raise ConversionError(f"{where}: {len(op.inputs)} inputs; TFLite's SVDF has 5")
        x, wf, wt = T[op.inputs[0]], T[op.inputs[1]], T[op.inputs[2]]
        bias = T[op.inputs[3]] if op.inputs[3] >= 0 else None
        state, y = T[op.inputs[4]], T[op.outputs[0]]
        if x.type != INT8 or y.type != INT8 or wf.type != INT8:
            raise ConversionError(f"{where}: input {x.type_name}, feature weights {wf.type_name}, output "
                                  f"{y.type_name}; only the fully integer SVDF (int8) is supported, not the "
                                  "float or hybrid ones")
        if wt.type != INT16 or state.type != INT16 or state.is_const or not wf.is_const or not wt.is_const:
            raise ConversionError(f"{where}: expected constant int8 feature and int16 time weights and an "
                                  "int16 variable state")
        if bias is not None and (bias.type != INT32 or not bias.is_const):
            raise ConversionError(f"{where}: bias '{bias.name}' must be a constant int32 tensor")
        o = op.options
        rank = int(o.rank) if o is not None else 0
        act = int(o.fusedActivationFunction) if o is not None else ACT_NONE
        if act != ACT_RELU:
            raise ConversionError(f"{where}: activation {_ACT_NAMES.get(act, act)}; TFLite's integer SVDF runs "
                                  "with RELU only")
        if len(x.shape) != 2 or len(state.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
            raise ConversionError(f"{where}: SVDF operands must be 2-D")
        filters, memory = int(wf.shape[0]), int(wt.shape[1])
        if rank < 1 or filters % rank or tuple(state.shape) != (x.shape[0], memory * filters) \
                or wf.shape[1] != x.shape[1] or wt.shape[0] != filters or y.shape[-1] != filters // rank:
            raise ConversionError(f"{where}: shapes input {x.shape}, feature weights {wf.shape}, time weights "
                                  f"{wt.shape}, state {state.shape}, output {y.shape} and rank {rank} disagree")
        for t in (x, wf, wt, state, y):
            if len(t.scales) != 1:
                raise ConversionError(f"{where}: tensor '{t.name}' needs per-tensor quantisation")
        f32 = np.float32
        # svdf.cc Prepare: float products of float scales, then QuantizeMultiplier.
        m1 = quantize_multiplier(float(f32(f32(x.scale) * f32(wf.scale)) / f32(state.scale)))
        m2 = quantize_multiplier(float(f32(f32(state.scale) * f32(wt.scale)) / f32(y.scale)))
        a = self.act(op.inputs[0], where)
        s_idx = self._state(op.inputs[4], L.DTYPE_INT16, where)
        out = self.act(op.outputs[0], where)
        params = dict(weights_feature=Const(wf.data.astype("<i1").tobytes(), "weights"),
                      weights_time=Const(wt.data.astype("<i2").tobytes(), "weights"),
                      bias=Const(bias.data.astype("<i4").tobytes(), "bias") if bias is not None else L.NONE,
                      rank=rank, feature_multiplier=m1[0], feature_shift=m1[1],
                      time_multiplier=m2[0], time_shift=m2[1])
        batch = int(x.shape[0])
        self._add("SVDF", [a, s_idx], [out], params, where,
                  batch * filters * (int(x.shape[1]) + memory))

    # ---- fully connected ---------------------------------------------------
    def _op_fully_connected(self, op, where):
        o = op.options
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        filt = self._const(op.inputs[1], where, "the weight matrix (FULLY_CONNECTED with a "
                           "non-constant weight tensor is not supported)")
        if filt.type != INT8 or len(filt.shape) != 2:
            raise ConversionError(f"{where}: weights must be int8 [out, in], got {filt.type_name} {filt.shape}")
        if getattr(o, "weightsFormat", 0) != 0:
            raise ConversionError(f"{where}: shuffled FULLY_CONNECTED weights are not supported")
        if any(z != 0 for z in filt.zero_points):
            raise ConversionError(f"{where}: int8 weights with non-zero zero point are not supported")
        out_f, in_f = filt.shape
        elems = int(np.prod(inp.shape))
        if elems % in_f:
            raise ConversionError(f"{where}: input {inp.shape} is not a multiple of {in_f} features")
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        nq = len(filt.scales)
        if inp.type == INT16:
            return self._fully_connected_s16(op, where, inp, out, filt, act_min, act_max, elems)
        if nq in (1, out_f):
            # TF 2.21 fully_connected.cc, per-tensor (GetQuantizedConvolutionMultipler)
            # and per-channel alike: double(in) * double(w) / double(out). The
            # scales are float32 values held in Python floats (doubles).
            mults = [quantize_multiplier(inp.scale * fs / out.scale) for fs in filt.scales]
        else:
            raise ConversionError(f"{where}: weight quantisation has {nq} scales for {out_f} outputs")
        bias = L.NONE
        bias_values = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self._const(op.inputs[2], where, "the bias")
            if b.type != INT32:
                raise ConversionError(f"{where}: bias is {b.type_name}; int32 expected")
            bias_values = b.data.astype("<i4").reshape(-1)
        if bias_values is not None:
            bias = Const(bias_values.astype("<i4").tobytes(), "bias")
        params = dict(
            channel_quant=nq, reserved=0, act_min=act_min, act_max=act_max,
            weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
            multiplier=Const(_pack_i32([m for m, _ in mults]), "multiplier"),
            shift=Const(_pack_i32([s for _, s in mults]), "shift"))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("FULLY_CONNECTED", [x], [y], params, where, (elems // in_f) * in_f * out_f)

    def _fully_connected_s16(self, op, where, inp, out, filt, act_min, act_max, elems):
        out_f, in_f = filt.shape
        nq = len(filt.scales)
        if nq not in (1, out_f):
            raise ConversionError(f"{where}: weight quantisation has {nq} scales for {out_f} outputs")
        # TF 2.21's int16 FULLY_CONNECTED rescales in double: in * w / out,
        # each a float32 scale widened (Python floats are doubles).
        scales = np.array([inp.scale * fs / out.scale for fs in filt.scales], "<f8")
        bias = L.NONE
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self._const(op.inputs[2], where, "the bias")
            if b.type != INT64:
                # TF 2.21 reads an int32 bias of a 16x8 FULLY_CONNECTED as int64
                # (its outputs saturate): no reference to match.
                raise ConversionError(f"{where}: bias is {b.type_name}; a 16x8 FULLY_CONNECTED needs int64")
            bias = Const(b.data.astype("<i8").reshape(-1).tobytes(), "bias", 8)
        params = dict(channel_quant=nq, reserved=0, act_min=act_min, act_max=act_max,
                      weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
                      scale=Const(scales.tobytes(), "scale", 8))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("FULLY_CONNECTED_S16", [x], [y], params, where, (elems // in_f) * in_f * out_f)

    def _op_batch_matmul(self, op, where):
        """Both operands activations (attention's q @ k^T, scores @ v) or
        one constant. A constant rhs is stored transposed (adj_y set), so
        the kernel reads its rows as they are instead of transposing it at
        every invoke."""
        out = self._out(op, where)
        lhs, rhs = self.T[op.inputs[0]], self.T[op.inputs[1]]
        for t in (lhs, rhs):
            self._check_int8(t, where)
            if not 2 <= len(t.shape) <= 4:
                raise ConversionError(f"{where}: operand '{t.name}' has rank {len(t.shape)}; 2 to 4 are supported")
        o = op.options
        adj_x, adj_y = bool(o.adjX), bool(o.adjY)
        rank = len(out.shape)
        ls = (1,) * (rank - len(lhs.shape)) + tuple(lhs.shape)
        rs = (1,) * (rank - len(rhs.shape)) + tuple(rhs.shape)
        rows, depth = (ls[-1], ls[-2]) if adj_x else (ls[-2], ls[-1])
        rdepth, cols = (rs[-1], rs[-2]) if adj_y else (rs[-2], rs[-1])
        batch = tuple(max(a, b) for a, b in zip(ls[:-2], rs[:-2]))
        if (depth != rdepth or any(d not in (1, e) for s in (ls, rs) for d, e in zip(s[:-2], batch))
                or tuple(out.shape) != batch + (rows, cols)):
            raise ConversionError(f"{where}: {lhs.shape} x {rhs.shape} (adj_x {adj_x}, adj_y {adj_y}) "
                                  f"does not give {out.shape}")
        if depth > 32768:
            raise ConversionError(f"{where}: depth {depth} above 32768 (TFLite's int32 sums could overflow)")
        # TFLite's Eval folds lhs [..., Q, R, S] into [..., Q * R, S] when the
        # rhs has a batch dim of 1 just above its matrix, without regard to
        # adj_x: with adj_x and Q > 1 it multiplies the first of the Q lhs
        # matrices only and leaves the rest of the output unwritten.
        if adj_x and len(lhs.shape) > 2 and len(rhs.shape) > 2 and rhs.shape[-3] == 1 and lhs.shape[-3] > 1:
            raise ConversionError(
                f"{where}: adj_x with {lhs.shape[-3]} lhs matrices against a broadcast rhs {rhs.shape}: "
                "TFLite's kernel computes only the first of them there, so there is no result to match "
                "(transpose the lhs with its own op, or give the rhs the batch dim)")
        # batch_matmul.cc Prepare: GetQuantizedConvolutionMultipler, double(lhs) * double(rhs) / double(out).
        mul, sh = quantize_multiplier(lhs.scale * rhs.scale / out.scale)
        wide = lhs.type == INT16
        if wide and sh > 7:
            raise ConversionError(f"{where}: rescale above 2^7, outside TFLite's 16x8 rescaling")
        a = self.act(op.inputs[0], where)
        if rhs.is_const and not adj_y:
            data = np.swapaxes(rhs.data.astype(np.int16 if wide else np.int8).reshape(rhs.shape), -1, -2)
            shape = tuple(rhs.shape[:-2]) + (rhs.shape[-1], rhs.shape[-2])
            self.g.tensors.append(Tensor(rhs.name + "/transposed", shape, rhs.scale, rhs.zero_point,
                                         data=np.ascontiguousarray(data).astype("<i2" if wide else "<i1").tobytes(),
                                         dtype=L.DTYPE_INT16 if wide else L.DTYPE_INT8))
            b = len(self.g.tensors) - 1
            adj_y = True
        else:
            b = self.act(op.inputs[1], where)
        y = self.act(op.outputs[0], where)
        self._add("BATCH_MATMUL_S16" if wide else "BATCH_MATMUL", [a, b], [y], dict(output_multiplier=mul, output_shift=sh,
                                                   adj_x=int(adj_x), adj_y=int(adj_y), reserved=0),
                  where, int(np.prod(out.shape)) * depth)

    # ---- pooling and reductions ---------------------------------------------
    def _pool(self, op, where, name):
        o = op.options
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if not _same_quant(inp, out):
            raise ConversionError(f"{where}: input and output quantisation differ; not supported")
        _, in_h, in_w, _ = inp.shape
        oh, pt = compute_padding(o.padding, in_h, o.filterHeight, o.strideH, 1)
        ow, pl = compute_padding(o.padding, in_w, o.filterWidth, o.strideW, 1)
        if (oh, ow) != tuple(out.shape[1:3]):
            raise ConversionError(f"{where}: output {out.shape} does not match the pooling arithmetic")
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        params = dict(filter_h=o.filterHeight, filter_w=o.filterWidth, stride_h=o.strideH,
                      stride_w=o.strideW, pad_top=pt, pad_left=pl, act_min=act_min, act_max=act_max)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        macs = int(np.prod(out.shape)) * o.filterHeight * o.filterWidth
        self._add(name + ("_S16" if out.type == INT16 else ""), [x], [y], params, where, macs)

    def _op_average_pool_2d(self, op, where):
        self._pool(op, where, "AVERAGE_POOL_2D")

    def _op_max_pool_2d(self, op, where):
        self._pool(op, where, "MAX_POOL_2D")

    def _axes(self, op, where) -> list:
        """The reduced axes of a MEAN, SUM, REDUCE_* or ARG_* (its second
        input): negative ones counted from the end and duplicates dropped, as
        TFLite's ResolveAxis does, in increasing order."""
        rank = len(self.T[op.inputs[0]].shape)
        axes = set()
        for a in self._const(op.inputs[1], where, "the axis").data.reshape(-1).tolist():
            a = int(a)
            if not -rank <= a < rank:
                raise ConversionError(f"{where}: axis {a} out of range for rank {rank}")
            axes.add(a % rank)
        return sorted(axes)

    def _op_mean(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        rank = len(inp.shape)
        mask = 0
        for a in self._axes(op, where):
            mask |= 1 << (a + (4 - rank))
        # reduce.cc PrepareMeanOrSum: double(in scale) / double(out scale).
        # TF 2.21 takes this requantising path for every int8 MEAN, equal
        # input and output quantisation included (mode 0 is refused by the
        # kernel; see tml_blob.h).
        mode = 1
        if inp.type == INT16:
            dims4 = (1,) * (4 - rank) + tuple(inp.shape)
            axes4 = [a for a in range(4) if mask & (1 << a)]
            p = s16_arith.mean_params(inp.scale, out.scale, dims4, axes4)
            x = self.act(op.inputs[0], where)
            y = self.act(op.outputs[0], where)
            self._add("MEAN_S16", [x], [y], p, where)
            return
        mul, sh = quantize_multiplier(inp.scale / out.scale)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("MEAN", [x], [y], dict(axis_mask=mask, mode=mode, multiplier=mul, shift=sh),
                  where)

    def _reduce_input(self, op, where, axes):
        """(our input tensor, outer, reduced, inner) for a reduction over
        `axes`. Axes of extent 1 are either kind, so the axes that matter
        usually form one run and the input is read in place. Otherwise a
        REMAP in front moves the reduced axes last, into a tensor of the
        input's size planned like any other (no Keras layer does this; a
        strided kernel over two runs would cost every model flash for it)."""
        inp = self.T[op.inputs[0]]
        shape = [int(d) for d in inp.shape] or [1]
        x = self.act(op.inputs[0], where)
        big = [a for a in axes if shape[a] > 1]
        if not big:
            return x, int(np.prod(shape)), 1, 1
        lo, hi = big[0], big[-1]
        if all(a in axes or shape[a] == 1 for a in range(lo, hi + 1)):
            return x, int(np.prod(shape[:lo])), int(np.prod(shape[lo:hi + 1])), int(np.prod(shape[hi + 1:]))
        perm = [a for a in range(len(shape)) if a not in axes] + list(axes)
        index = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).transpose(perm)
        self.g.tensors.append(Tensor(f"{inp.name}/reduced_last", tuple(index.shape), inp.scale, inp.zero_point,
                                     dtype=self.g.tensors[x].dtype))
        moved = len(self.g.tensors) - 1
        tables = remap_tables(index.reshape((1,) * (4 - index.ndim) + index.shape))
        self._add("REMAP", [x], [moved], dict(table=Const(_pack_i32(np.concatenate(tables)), "table")), where)
        kept = int(np.prod([shape[a] for a in range(len(shape)) if a not in axes]))
        return moved, kept, int(np.prod([shape[a] for a in axes])), 1

    def _reduce(self, op, where):
        """REDUCE_MAX, REDUCE_MIN: raw int8 (int16) compare, so TFLite's
        EvalLogic requires input and output quantised alike (it fails at
        invoke otherwise)."""
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if not _same_quant(inp, out):
            raise ConversionError(
                f"{where}: input and output are quantised differently; {op.name} compares raw "
                "values, and TFLite's kernel refuses such a model at invoke")
        x, outer, reduced, inner = self._reduce_input(op, where, self._axes(op, where))
        y = self.act(op.outputs[0], where)
        name = op.name + ("_S16" if inp.type == INT16 else "")
        self._add(name, [x], [y], dict(outer=outer, reduced=reduced, inner=inner, table=L.NONE), where)

    _op_reduce_max = _reduce
    _op_reduce_min = _reduce

    def _op_sum(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        axes = self._axes(op, where)
        # What an empty axis list does in TF 2.21's kernel is not known
        # here, and TF folds such a sum away before TFLite sees it.
        if not axes:
            raise ConversionError(f"{where}: SUM over no axis is not supported")
        x, outer, reduced, inner = self._reduce_input(op, where, axes)
        if inp.type == INT16:
            # The same float32 rescale on int16 (zero points 0): round(float(s)
            # * scale), scale = in_scale / out_scale in float32, which the
            # kernel emulates in integers from the scale's mantissa and exponent.
            if reduced > 1 << 16:
                raise ConversionError(f"{where}: an int16 sum of {reduced} values (at most 2^16 are supported)")
            mantissa, exponent = np.frexp(np.float32(inp.scale) / np.float32(out.scale))
            y = self.act(op.outputs[0], where)
            self._add("SUM_S16", [x], [y], dict(outer=outer, reduced=reduced, inner=inner,
                                                scale_mantissa=int(mantissa * (1 << 24)),
                                                scale_exponent=int(exponent) - 24), where)
            return
        # TF 2.21's default kernel requantises every int8 SUM in float32,
        # equal input and output quantisation included (measured,
        # tests/host/test_converter.py); the step table mirrors it
        # (quant.sum_steps). BUILTIN_REF reads the int8 values as uint8
        # there (tests/host/parity.py).
        if reduced > 1 << 23:
            raise ConversionError(f"{where}: a sum of {reduced} values (at most 2^23 are supported)")
        params = dict(table=Const(_pack_i32(sum_steps(inp.scale, inp.zero_point, out.scale, out.zero_point,
                                                      reduced)), "table"))
        y = self.act(op.outputs[0], where)
        self._add("SUM", [x], [y], dict(outer=outer, reduced=reduced, inner=inner, **params), where)

    def _arg(self, op, where):
        """ARG_MAX, ARG_MIN: indices as int32 whether TFLite's output is
        int32 or int64 (an index of a tensor below 2^31 bytes fits); raw
        int8 compare, the input's scale being positive."""
        t = self.T[op.outputs[0]]
        if t.type not in (INT32, INT64):
            raise ConversionError(f"{where}: output '{t.name}' is {t.type_name}; int32 or int64 expected")
        if op.outputs[0] in self.tmap:
            raise ConversionError(f"{where}: tensor '{t.name}' is written twice")
        axes = self._axes(op, where)
        if len(axes) != 1:
            raise ConversionError(f"{where}: {op.name} takes one axis, got {len(axes)}")
        x, outer, reduced, inner = self._reduce_input(op, where, axes)
        self.tmap[op.outputs[0]] = y = self._new_tensor(t, dtype=L.DTYPE_INT32)
        self._add(op.name, [x], [y], dict(outer=outer, reduced=reduced, inner=inner, table=L.NONE), where)

    _op_arg_max = _arg
    _op_arg_min = _arg

    # ---- element-wise binary -------------------------------------------------
    def _binary_inputs(self, op, where):
        a, b = op.inputs[:2]
        out = self.T[op.outputs[0]]
        for i in (a, b):
            s = self.T[i].shape
            o = out.shape
            if len(s) > len(o) or any(d not in (1, e) for d, e in zip(s[::-1], o[::-1])):
                raise ConversionError(f"{where}: cannot broadcast {s} to {o}")
        return self.T[a], self.T[b]

    def _op_add(self, op, where, op_sign=1):
        out = self._out(op, where)
        t1, t2 = self._binary_inputs(op, where)
        if out.type == INT16:
            return self._add_sub_s16(op, where, out, t1, t2, op_sign < 0)
        left_shift = 20
        # add.cc Prepare, general int8 path (sub.cc's is the same, with the
        # second input's multiplier times op_sign = -1).
        twice_max = float(2 * max(np.float32(t1.scale), np.float32(t2.scale)))
        m1 = quantize_multiplier(t1.scale / twice_max)
        m2 = quantize_multiplier(t2.scale / twice_max)
        mo = quantize_multiplier(twice_max / ((1 << left_shift) * out.scale))
        act_min, act_max = activation_range(op.options.fusedActivationFunction, out, where)
        params = dict(left_shift=left_shift, input1_multiplier=m1[0], input1_shift=m1[1],
                      input2_multiplier=op_sign * m2[0], input2_shift=m2[1], output_multiplier=mo[0],
                      output_shift=mo[1], act_min=act_min, act_max=act_max)
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("ADD", ins, [y], params, where, int(np.prod(out.shape)))

    def _add_sub_s16(self, op, where, out, t1, t2, is_sub):
        """add.cc / sub.cc Prepare for int16 (s16_arith.addsub_params): the
        power-of-two path when the options ask for it (pot_scale_int16, the
        schema's default; TF's converter writes false) and every scale is
        one, else the general path with 15 bits of headroom."""
        for t in (t1, t2):
            if t.type != INT16:
                raise ConversionError(f"{where}: input '{t.name}' is {t.type_name}; int16 expected")
        o = op.options
        pot = bool(getattr(o, "potScaleInt16", True)) if o is not None else True
        act = o.fusedActivationFunction if o is not None else ACT_NONE
        try:
            p = s16_arith.addsub_params(t1.scale, t2.scale, out.scale, act, pot, is_sub)
        except ValueError as exc:
            raise ConversionError(f"{where}: {exc}") from None
        if p["pot"] and (tuple(t1.shape) != tuple(out.shape) or tuple(t2.shape) != tuple(out.shape)):
            raise ConversionError(f"{where}: TFLite's power-of-two int16 {op.name} does not broadcast "
                                  "(it aborts); no result to match")
        p["act_min"], p["act_max"] = activation_range(act, out, where)
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("SUB_S16" if is_sub else "ADD_S16", ins, [y], p, where, int(np.prod(out.shape)))

    def _op_sub(self, op, where):
        # One kernel for both: the blob's ADD with a negative second multiplier.
        self._op_add(op, where, op_sign=-1)

    def _op_mul(self, op, where):
        out = self._out(op, where)
        t1, t2 = self._binary_inputs(op, where)
        # mul.cc Prepare: in1 * in2 / out all in float32, then widened to double.
        real = float(np.float32(np.float32(t1.scale) * np.float32(t2.scale)) / np.float32(out.scale))
        mul, sh = quantize_multiplier(real)
        act_min, act_max = activation_range(op.options.fusedActivationFunction, out, where)
        params = dict(output_multiplier=mul, output_shift=sh, act_min=act_min, act_max=act_max)
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("MUL_S16" if out.type == INT16 else "MUL", ins, [y], params, where, int(np.prod(out.shape)))

    def _op_div(self, op, where):
        """int8 or int16, broadcasting. TFLite's Prepare computes the
        multiplier in float32 (three float scales) before widening it."""
        out = self._out(op, where)
        a, b = self.T[op.inputs[0]], self.T[op.inputs[1]]
        for t in (a, b):
            self._check_int8(t, where)
            if t.type != out.type:
                raise ConversionError(f"{where}: operands {a.type_name}, {b.type_name} and output {out.type_name} differ")
            if len(t.shape) > 4:
                raise ConversionError(f"{where}: rank {len(t.shape)} above 4")
        f32 = np.float32
        mul, sh = quantize_multiplier(float(f32(a.scale) / (f32(b.scale) * f32(out.scale))))
        act_min, act_max = activation_range(op.options.fusedActivationFunction, out, where)
        x, z = (self.act(i, where) for i in op.inputs[:2])
        y = self.act(op.outputs[0], where)
        self._add("DIV", [x, z], [y], dict(output_multiplier=mul, output_shift=sh, act_min=act_min,
                                           act_max=act_max), where)

    # ---- comparisons, SELECT, logical ops (bool tensors) ---------------------
    def _bool(self, i: int, where: str) -> int:
        """Our tensor for a bool TFLite tensor (an activation: bool constants
        and bool model inputs or outputs are not supported)."""
        if i in self.tmap:
            return self.tmap[i]
        t = self.T[i]
        if t.type != BOOL:
            raise ConversionError(f"{where}: tensor '{t.name}' is {t.type_name}; bool expected")
        if t.is_const:
            raise ConversionError(f"{where}: a constant bool tensor ('{t.name}') is not supported")
        self.tmap[i] = idx = self._new_tensor(t, dtype=L.DTYPE_BOOL)
        return idx

    def _compare(self, op, where):
        """ComparisonWithScaling: each input rescaled by its own scale
        (QuantizeMultiplier of it, which must be below one) after << 8."""
        a, b = self.T[op.inputs[0]], self.T[op.inputs[1]]
        for t in (a, b):
            self._check_int8(t, where)
            if len(t.shape) > 4:
                raise ConversionError(f"{where}: rank {len(t.shape)} above 4")
        if a.type != b.type:
            raise ConversionError(f"{where}: inputs {a.type_name} and {b.type_name} differ")
        mults = []
        if a.type == INT16 and op.name not in ("EQUAL", "NOT_EQUAL"):
            # TF 2.21 orders int16 values raw, whatever their scales (only its
            # EQUAL and NOT_EQUAL rescale): one common exact scaling, x * 2^7.
            x, z = self.act(op.inputs[0], where), self.act(op.inputs[1], where)
            y = self._bool(op.outputs[0], where)
            self._add("COMPARE", [x, z], [y], dict(kind=COMPARISONS.index(op.name), left_shift=8,
                                                   input1_multiplier=1 << 30, input1_shift=0,
                                                   input2_multiplier=1 << 30, input2_shift=0), where)
            return
        for t in (a, b):
            m, s = quantize_multiplier(float(np.float32(t.scale)))
            if s > 0:
                raise ConversionError(f"{where}: input '{t.name}' has scale {t.scale:g}, at least 1: "
                                      "TFLite's comparison rescale is undefined there")
            mults += [m, s]
        x, z = self.act(op.inputs[0], where), self.act(op.inputs[1], where)
        y = self._bool(op.outputs[0], where)
        self._add("COMPARE", [x, z], [y], dict(kind=COMPARISONS.index(op.name), left_shift=8,
                                               input1_multiplier=mults[0], input1_shift=mults[1],
                                               input2_multiplier=mults[2], input2_shift=mults[3]), where)

    _op_equal = _op_not_equal = _op_less = _op_less_equal = _op_greater = _op_greater_equal = _compare

    def _op_select(self, op, where):
        out = self._out(op, where)
        for i in op.inputs[1:3]:
            t = self.T[i]
            self._check_int8(t, where)
            if t.type != out.type or not _same_quant(t, out):
                raise ConversionError(f"{where}: input '{t.name}' is quantised unlike the output; "
                                      f"{op.name} copies raw values, so all three must share one")
        c = self._bool(op.inputs[0], where)
        ins = [c] + [self.act(i, where) for i in op.inputs[1:3]]
        y = self.act(op.outputs[0], where)
        self._add("SELECT", ins, [y], {}, where)

    _op_select_v2 = _op_select

    def _logical(self, op, where):
        kind = ("LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT").index(op.name)
        ins = [self._bool(i, where) for i in op.inputs]
        y = self._bool(op.outputs[0], where)
        self._add("LOGICAL", ins, [y], dict(kind=kind), where)

    _op_logical_and = _logical
    _op_logical_or = _logical
    _op_logical_not = _logical

    def _op_squared_difference(self, op, where):
        out = self._out(op, where)
        t1, t2 = self._binary_inputs(op, where)
        left_shift = 7
        # squared_difference.cc Prepare: twice the larger float32 scale
        # (exact), each input scale over it in double, and the output
        # multiplier (twice_max^2 in double) over 2^14 * out scale in float32.
        twice_max = float(2 * max(np.float32(t1.scale), np.float32(t2.scale)))
        m1 = quantize_multiplier(t1.scale / twice_max)
        m2 = quantize_multiplier(t2.scale / twice_max)
        real_out = twice_max * twice_max / float(np.float32(1 << (2 * left_shift)) * np.float32(out.scale))
        if not 0.0 < real_out < 1.0:
            raise ConversionError(
                f"{where}: output scale {out.scale:g} gives SQUARED_DIFFERENCE a requantisation "
                f"multiplier of {real_out:g}; TFLite requires it below one")
        mo = quantize_multiplier(real_out)
        params = dict(left_shift=left_shift, input1_multiplier=m1[0], input1_shift=m1[1],
                      input2_multiplier=m2[0], input2_shift=m2[1], output_multiplier=mo[0],
                      output_shift=mo[1])
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("SQUARED_DIFFERENCE", ins, [y], params, where, int(np.prod(out.shape)))

    def _op_prelu(self, op, where):
        out = self._out(op, where)
        inp, alpha = self._binary_inputs(op, where)
        if tuple(inp.shape) != tuple(out.shape):
            raise ConversionError(f"{where}: PRELU input {inp.shape} and output {out.shape} differ")
        # activations.cc PreluPrepare: both real multipliers in float32.
        s_in, s_alpha, s_out = np.float32(inp.scale), np.float32(alpha.scale), np.float32(out.scale)
        m1 = quantize_multiplier(float(s_in / s_out))
        m2 = quantize_multiplier(float(s_in * s_alpha / s_out))
        params = dict(identity_multiplier=m1[0], identity_shift=m1[1], alpha_multiplier=m2[0],
                      alpha_shift=m2[1])
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("PRELU", ins, [y], params, where, int(np.prod(out.shape)))

    # ---- data movement ---------------------------------------------------------
    def _op_concatenation(self, op, where):
        o = op.options
        out = self._out(op, where)
        if o.fusedActivationFunction != ACT_NONE:
            raise ConversionError(f"{where}: fused activation on CONCATENATION is not supported")
        for i in op.inputs:
            t = self.T[i]
            if not _same_quant(t, out):
                raise ConversionError(
                    f"{where}: input '{t.name}' has scale {t.scale:g}, zero point {t.zero_point} "
                    f"but the output has scale {out.scale:g}, zero point {out.zero_point}; "
                    "CONCATENATION is supported only when all inputs share the output's quantisation")
        rank = len(out.shape)
        axis = o.axis % rank + (4 - rank)
        ins = [self.act(i, where) for i in op.inputs]
        y = self.act(op.outputs[0], where)
        self._add("CONCATENATION", ins, [y], dict(axis=axis), where)

    def _op_pad(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if not _same_quant(inp, out):
            raise ConversionError(f"{where}: input and output quantisation differ; not supported")
        pads = self._const(op.inputs[1], where, "the paddings").data.reshape(-1, 2).tolist()
        pads = [[0, 0]] * (4 - len(pads)) + pads
        if any(v < 0 for row in pads for v in row):
            raise ConversionError(f"{where}: negative padding is not supported")
        if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
            cv = self._const(op.inputs[2], where, "the constant value")
            pad_value = int(cv.data.reshape(-1)[0])
        else:
            pad_value = out.zero_point
        params = {f"before{k}": int(pads[k][0]) for k in range(4)}
        params.update({f"after{k}": int(pads[k][1]) for k in range(4)})
        params["pad_value"] = pad_value
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("PAD", [x], [y], params, where)

    _op_padv2 = _op_pad

    def _op_softmax(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if inp.type == INT16:
            p = s16_act.softmax_params(inp.scale, float(np.float32(op.options.beta)), out.scale,
                                       inp.zero_point, out.zero_point)
            params = dict(input_multiplier=p.input_multiplier, input_shift=p.input_shift,
                          exp_lut=Const(s16_act.softmax_exp_lut().astype("<i2").tobytes(), "table"),
                          one_over_one_plus_x_lut=Const(
                              s16_act.softmax_one_over_one_plus_x_lut().astype("<i2").tobytes(), "table"))
            x = self.act(op.inputs[0], where)
            y = self.act(op.outputs[0], where)
            self._add("SOFTMAX_S16", [x], [y], params, where)
            return
        if out.zero_point != -128 or abs(out.scale - 1.0 / 256) > 1e-9:
            raise ConversionError(f"{where}: int8 SOFTMAX output must have scale 1/256, zero point -128")
        # activations.cc SoftmaxPrepare (reference kernel), kScaledDiffIntegerBits = 5:
        # PreprocessSoftmaxScaling then CalculateInputRadius.
        bits = 5
        beta = float(np.float32(op.options.beta))
        real = min(beta * inp.scale * (1 << (31 - bits)), (1 << 31) - 1.0)
        mul, left_shift = quantize_multiplier(real)
        if left_shift < 0:
            raise ConversionError(f"{where}: input scale too small for TFLite's softmax scaling")
        radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
        params = dict(input_multiplier=mul, input_left_shift=left_shift, diff_min=-int(radius))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("SOFTMAX", [x], [y], params, where)

    def _op_log_softmax(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if out.zero_point != 127 or out.scale != 16.0 / 256:
            raise ConversionError(f"{where}: int8 LOG_SOFTMAX output must have scale 16/256, zero point 127")
        # activations.cc LogSoftmaxPrepare (reference kernel), beta 1, 5 integer
        # bits: PreprocessLogSoftmaxScalingExp then CalculateInputRadius.
        bits = 5
        real = min(1.0 * inp.scale * (1 << (31 - bits)), (1 << 31) - 1.0)
        if real <= 1.0:
            raise ConversionError(f"{where}: input scale {inp.scale:g} too small for TFLite's log softmax scaling")
        mul, left_shift = quantize_multiplier(real)
        reverse = (1 << (31 - left_shift)) / float(mul)
        if not 0.0 < reverse < 1.0:
            raise ConversionError(f"{where}: input scale {inp.scale:g} gives no reverse scaling below one")
        rev_mul, rev_shift = quantize_multiplier(reverse)
        radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
        params = dict(input_multiplier=mul, input_left_shift=left_shift, reverse_multiplier=rev_mul,
                      reverse_shift=rev_shift, diff_min=-int(radius))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("LOG_SOFTMAX", [x], [y], params, where)

    def _op_l2_normalization(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if out.zero_point != 0 or out.scale != 1.0 / 128:
            raise ConversionError(f"{where}: int8 L2_NORMALIZATION output must have scale 1/128, zero point 0")
        act = getattr(op.options, "fusedActivationFunction", ACT_NONE)
        if act != ACT_NONE:
            raise ConversionError(
                f"{where}: fused activation {_ACT_NAMES.get(act, act)} on L2_NORMALIZATION is not supported "
                "(TFLite's kernel refuses it too)")
        if tuple(inp.shape) != tuple(out.shape):
            raise ConversionError(f"{where}: L2_NORMALIZATION input {inp.shape} and output {out.shape} differ")
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("L2_NORMALIZATION", [x], [y], {}, where)

    def _op_lut(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        self._check_int8(inp, where)
        if op.name == "QUANTIZE" and INT16 in (inp.type, out.type):
            return self._requantize(op, where, inp, out)
        if op.name in S16_REQUANTIZE_OPS and inp.type == INT16 and out.type == INT16:
            return self._requantize(op, where, inp, out)
        if op.name in ("LOGISTIC", "TANH") and inp.type == INT16 and out.type == INT16:
            fn = s16_act.logistic_params if op.name == "LOGISTIC" else s16_act.tanh_params
            try:
                p = fn(inp.scale, out.scale, inp.zero_point, out.zero_point)
            except ConversionError as exc:
                raise ConversionError(f"{where}: {exc}") from None
            x = self.act(op.inputs[0], where)
            y = self.act(op.outputs[0], where)
            self._add(op.name + "_S16", [x], [y], dict(input_multiplier=p.input_multiplier,
                                                        input_left_shift=p.input_left_shift), where)
            return
        if op.name == "ABS" and inp.type == INT16 and out.type == INT16:
            # elementwise.cc AbsEvalQuantized: QuantizeMultiplier(double(in_scale
            # / out_scale)), the division in float32; no rescale at all when the
            # scales are equal, which 2^30 with shift 1 reproduces exactly.
            f32 = np.float32
            if f32(inp.scale) == f32(out.scale):
                mul, sh = 1 << 30, 1
            else:
                mul, sh = quantize_multiplier(float(f32(inp.scale) / f32(out.scale)))
            x = self.act(op.inputs[0], where)
            y = self.act(op.outputs[0], where)
            self._add("ABS_S16", [x], [y], dict(multiplier=mul, shift=sh, negative_multiplier=mul,
                                                negative_shift=sh, act_min=-32768, act_max=32767), where)
            return
        if op.name in LUT_S16_OPS and inp.type == INT16 and out.type == INT16:
            if len(op.outputs) != 1 or tuple(inp.shape) != tuple(out.shape):
                raise ConversionError(f"{where}: only unary element-wise {op.name} is supported")
            try:
                table = lut_table_s16(self.m, op)
            except ConversionError as exc:
                raise ConversionError(f"{where}: {exc}") from None
            x = self.act(op.inputs[0], where)
            y = self.act(op.outputs[0], where)
            self._add("LUT_S16", [x], [y], dict(table=Const(table, "table")), where)
            return
        if INT16 in (inp.type, out.type):
            raise _s16_unsupported(where)
        extra = [i for i in op.inputs[1:] if i >= 0]
        if extra or len(op.outputs) != 1 or tuple(inp.shape) != tuple(out.shape):
            raise ConversionError(f"{where}: only unary element-wise {op.name} is supported")
        table = self.lut_fn(self.m, op)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("LUT", [x], [y], dict(table=Const(table, "table")), where)

    def _requantize(self, op, where, inp, out):
        """QUANTIZE from int16, and the int16 RELU family and LEAKY_RELU: one
        rescale (two for LEAKY_RELU's sides) and a clamp."""
        f32 = np.float32
        lo, hi = (-32768, 32767) if out.type == INT16 else (-128, 127)
        if op.name == "QUANTIZE":
            # quantize.cc: QuantizeMultiplier(double(in_scale) / double(out_scale)).
            mul, sh = quantize_multiplier(inp.scale / out.scale)
            neg = (mul, sh)
        elif op.name == "LEAKY_RELU":
            # LeakyReluPrepare: both ratios in float32, then widened.
            alpha = f32(op.options.alpha)
            if alpha < 0:
                raise ConversionError(f"{where}: a negative LEAKY_RELU alpha ({float(alpha)}) is not "
                                      "supported for int16")
            mul, sh = quantize_multiplier(float(f32(inp.scale) / f32(out.scale)))
            neg = quantize_multiplier(float(f32(f32(inp.scale) * alpha) / f32(out.scale)))
        else:
            # ReluPrepare: in_scale / out_scale in float32; QuantizedReluX clamps
            # at zp + roundf(bound / scale) in float32.
            mul, sh = quantize_multiplier(float(f32(inp.scale) / f32(out.scale)))
            neg = (mul, sh)
            bounds = {"RELU": (0.0, None), "RELU6": (0.0, 6.0)}[op.name]
            scale = f32(out.scale)
            lo = max(lo, out.zero_point + int(tflite_round(float(f32(bounds[0]) / scale))))
            if bounds[1] is not None:
                hi = min(hi, out.zero_point + int(tflite_round(float(f32(bounds[1]) / scale))))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("REQUANTIZE", [x], [y], dict(multiplier=mul, shift=sh, negative_multiplier=neg[0],
                                               negative_shift=neg[1], act_min=lo, act_max=hi), where)

    # ---- REMAP: ops whose output elements are input elements --------------
    # Each op is described by what it does to an array of input element
    # offsets (NumPy's own slicing, transposing, tiling ...); REMAP stores
    # the result as one offset table per output dim, which every such op
    # yields because each output index contributes independently.
    def _offsets(self, op, where, k=0):
        t = self.T[op.inputs[k]]
        self._check_int8(t, where)
        if op.inputs[k] in self.virtual:
            return self.virtual[op.inputs[k]][1]
        return np.arange(int(np.prod(t.shape, dtype=np.int64)), dtype=np.int64).reshape(t.shape)

    def _int_const(self, op, k, where, what):
        return [int(v) for v in self._const(op.inputs[k], where, what).data.reshape(-1)]

    def _remap(self, op, where, index, out_k=0, in_k=0):
        out = self.T[op.outputs[out_k]]
        self._check_int8(out, where)
        if op.outputs[out_k] in self.tmap:
            raise ConversionError(f"{where}: tensor '{out.name}' is written twice")
        if index.size != int(np.prod(out.shape, dtype=np.int64)) or index.size == 0:
            raise ConversionError(
                f"{where}: output '{out.name}' has shape {tuple(out.shape)} but the op gives "
                f"{tuple(index.shape)}")
        source = op.inputs[in_k]
        if source in self.virtual or len(out.shape) > L.MAX_RANK:
            source = self.virtual[source][0] if source in self.virtual else source
            src_t = self.T[source]
            if not _same_quant(src_t, out) or src_t.type != out.type:
                raise ConversionError(
                    f"{where}: '{out.name}' (rank {len(out.shape)}) and '{src_t.name}' differ in "
                    "quantisation across tensors of rank above 4, which tinyml does not store")
        if len(out.shape) > L.MAX_RANK:
            self.virtual[op.outputs[out_k]] = (source, index.reshape(out.shape))
            return
        tables = remap_tables(index.reshape((1,) * (4 - len(out.shape)) + tuple(out.shape)))
        if tables is None:
            raise ConversionError(
                f"{where}: this {op.name} picks input elements that are not a product of one index list "
                "per output axis (say scattered points of GATHER_ND), which tinyml's REMAP cannot express")
        x = self.act(source, where)
        y = self.act(op.outputs[out_k], where)
        self._add("REMAP", [x], [y], dict(table=Const(_pack_i32(np.concatenate(tables)), "table")), where)

    def _op_transpose(self, op, where):
        perm = self._int_const(op, 1, where, "the permutation")
        self._remap(op, where, self._offsets(op, where).transpose(perm))

    def _op_slice(self, op, where):
        base = self._offsets(op, where)
        begin = self._int_const(op, 1, where, "begin")
        size = self._int_const(op, 2, where, "size")
        if len(begin) != base.ndim or len(size) != base.ndim:
            raise ConversionError(f"{where}: begin/size have {len(begin)}/{len(size)} entries for rank {base.ndim}")
        for b, n, d in zip(begin, size, base.shape):
            if b < 0 or b > d or (n != -1 and (n < 0 or b + n > d)):
                raise ConversionError(f"{where}: slice begin {begin} size {size} outside {base.shape}")
        self._remap(op, where, base[tuple(slice(b, d if n == -1 else b + n)
                                          for b, n, d in zip(begin, size, base.shape))])

    def _op_strided_slice(self, op, where):
        base = self._offsets(op, where)
        self._remap(op, where, base[strided_slice_indices(
            base.shape, self._int_const(op, 1, where, "begin"), self._int_const(op, 2, where, "end"),
            self._int_const(op, 3, where, "strides"), op.options, where)])

    def _split(self, op, where, in_k, axis, sizes):
        base = self._offsets(op, where, in_k)
        axis %= base.ndim
        if sum(sizes) != base.shape[axis] or len(sizes) != len(op.outputs) or min(sizes) < 1:
            raise ConversionError(f"{where}: splits {sizes} do not divide axis {axis} of {base.shape}")
        start = 0
        for k, n in enumerate(sizes):
            part = np.take(base, np.arange(start, start + n), axis=axis)
            start += n
            self._remap(op, where, part, out_k=k, in_k=in_k)

    def _op_split(self, op, where):
        axis = self._int_const(op, 0, where, "the axis")[0]
        shape = self.T[op.inputs[1]].shape
        parts = op.options.numSplits
        if parts < 1 or shape[axis % len(shape)] % parts:
            raise ConversionError(f"{where}: {parts} splits of axis {axis} of {shape}")
        self._split(op, where, 1, axis, [shape[axis % len(shape)] // parts] * parts)

    def _op_split_v(self, op, where):
        sizes = self._int_const(op, 1, where, "the split sizes")
        axis = self._int_const(op, 2, where, "the axis")[0]
        shape = self.T[op.inputs[0]].shape
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = shape[axis % len(shape)] - (sum(sizes) + 1)
        self._split(op, where, 0, axis, sizes)

    def _op_unpack(self, op, where):
        base = self._offsets(op, where)
        axis = op.options.axis % base.ndim
        if base.shape[axis] != len(op.outputs):
            raise ConversionError(f"{where}: {len(op.outputs)} outputs for axis {axis} of {base.shape}")
        for k in range(len(op.outputs)):
            self._remap(op, where, np.take(base, k, axis=axis), out_k=k)

    def _op_tile(self, op, where):
        self._remap(op, where, np.tile(self._offsets(op, where), self._int_const(op, 1, where, "multiples")))

    def _op_broadcast_to(self, op, where):
        shape = self._int_const(op, 1, where, "the shape")
        self._remap(op, where, np.broadcast_to(self._offsets(op, where), shape))

    def _op_reverse_v2(self, op, where):
        self._remap(op, where, np.flip(self._offsets(op, where), self._int_const(op, 1, where, "the axes")))

    def _op_gather(self, op, where):
        base = self._offsets(op, where)
        o = op.options
        if o.batchDims != 0:
            raise ConversionError(f"{where}: GATHER with batch_dims {o.batchDims} is not supported")
        idx = self._const(op.inputs[1], where, "the indices (GATHER of run-time indices is not supported)")
        idx = idx.data.astype(np.int64)
        axis = o.axis % base.ndim
        if idx.size == 0 or idx.min() < 0 or idx.max() >= base.shape[axis]:
            raise ConversionError(f"{where}: indices outside [0, {base.shape[axis]})")
        self._remap(op, where, np.take(base, idx, axis=axis))

    def _op_gather_nd(self, op, where):
        base = self._offsets(op, where)
        idx = self._const(op.inputs[1], where, "the indices (GATHER_ND of run-time indices is not supported)")
        idx = idx.data.astype(np.int64).reshape(self.T[op.inputs[1]].shape)
        depth = idx.shape[-1] if idx.ndim else 0
        if idx.ndim == 0 or not 1 <= depth <= base.ndim:
            raise ConversionError(f"{where}: GATHER_ND indices of shape {idx.shape} on a rank-{base.ndim} input")
        bounds = np.array(base.shape[:depth])
        if idx.size == 0 or (idx < 0).any() or (idx >= bounds).any():
            raise ConversionError(f"{where}: GATHER_ND indices outside the input's {tuple(bounds)}")
        self._remap(op, where, base[tuple(np.moveaxis(idx, -1, 0))])

    def _op_mirror_pad(self, op, where):
        pads = self._const(op.inputs[1], where, "the paddings").data.reshape(-1, 2).tolist()
        mode = "reflect" if op.options.mode == 0 else "symmetric"
        self._remap(op, where, np.pad(self._offsets(op, where), pads, mode=mode))

    def _op_depth_to_space(self, op, where):
        base = self._offsets(op, where)
        bs = op.options.blockSize
        n, h, w, c = base.shape
        if bs < 1 or c % (bs * bs):
            raise ConversionError(f"{where}: depth {c} not a multiple of block {bs} squared")
        self._remap(op, where, base.reshape(n, h, w, bs, bs, c // (bs * bs)).transpose(0, 1, 3, 2, 4, 5))

    def _op_space_to_depth(self, op, where):
        base = self._offsets(op, where)
        bs = op.options.blockSize
        n, h, w, c = base.shape
        if bs < 1 or h % bs or w % bs:
            raise ConversionError(f"{where}: {h}x{w} not a multiple of block {bs}")
        self._remap(op, where, base.reshape(n, h // bs, bs, w // bs, bs, c).transpose(0, 1, 3, 2, 4, 5))

    def _op_resize_nearest_neighbor(self, op, where):
        base = self._offsets(op, where)
        o = op.options
        size = self._int_const(op, 1, where, "the size")
        rows = nearest_indices(base.shape[1], size[0], o.alignCorners, o.halfPixelCenters)
        cols = nearest_indices(base.shape[2], size[1], o.alignCorners, o.halfPixelCenters)
        self._remap(op, where, base[:, rows][:, :, cols])

    def _op_resize_bilinear(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        self._check_int8(inp, where)
        o = op.options
        if len(inp.shape) != 4:
            raise ConversionError(f"{where}: input must be 4-D NHWC, got {inp.shape}")
        if o.alignCorners and o.halfPixelCenters:
            raise ConversionError(f"{where}: align_corners and half_pixel_centers together are not "
                                  "supported (TFLite does not define them together)")
        if not _same_quant(inp, out):
            raise ConversionError(f"{where}: input and output quantisation differ; RESIZE_BILINEAR "
                                  "interpolates raw values, so they must share one")
        size = self._int_const(op, 1, where, "the size")
        n, in_h, in_w, c = inp.shape
        if tuple(out.shape) != (n, size[0], size[1], c):
            raise ConversionError(f"{where}: output {out.shape} is not {inp.shape} resized to {size}")
        for name, i, s in (("height", in_h, size[0]), ("width", in_w, size[1])):
            if max(i, s) > 1 << 16:
                raise ConversionError(f"{where}: {name} {max(i, s)} is above 65536")
            if bilinear_reads_past(i, s, bool(o.alignCorners), bool(o.halfPixelCenters)):
                raise ConversionError(
                    f"{where}: resizing {name} {i} to {s}: TFLite's integer kernel reads past the input "
                    "there, so there is no result to match")
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("RESIZE_BILINEAR", [x], [y], dict(
            align_corners=int(bool(o.alignCorners)), half_pixel_centers=int(bool(o.halfPixelCenters)),
            reserved=0), where, 4 * int(np.prod(out.shape)))

    def _op_pack(self, op, where):
        """PACK is CONCATENATION along a new axis: each input is viewed with
        that axis inserted (an alias, no copy)."""
        out = self._out(op, where)
        axis = op.options.axis % len(out.shape)
        rank = len(out.shape)
        views = []
        for i in op.inputs:
            t = self.T[i]
            if not _same_quant(t, out):
                raise ConversionError(f"{where}: PACK inputs must share the output's quantisation")
            shape = tuple(t.shape[:axis]) + (1,) + tuple(t.shape[axis:])
            x = self.act(i, where)
            src = self.g.tensors[x]
            alias = None if src.data is not None else self.root(x)
            self.g.tensors.append(dataclasses.replace(src, shape=shape, alias_of=alias))
            views.append(len(self.g.tensors) - 1)
        y = self.act(op.outputs[0], where)
        self._add("CONCATENATION", views, [y], dict(axis=axis + (4 - rank)), where)

    # ---- element-wise selection ------------------------------------------------
    def _min_max(self, op, where):
        out = self._out(op, where)
        for t in self._binary_inputs(op, where):
            if not _same_quant(t, out):
                raise ConversionError(
                    f"{where}: input '{t.name}' is quantised unlike the output; {op.name} compares "
                    "raw values, so TFLite requires one quantisation for all three")
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add(op.name, ins, [y], {}, where, int(np.prod(out.shape)))

    _op_maximum = _min_max
    _op_minimum = _min_max

    def _alias(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        self._check_int8(inp, where)
        if int(np.prod(inp.shape)) != int(np.prod(out.shape)):
            raise ConversionError(f"{where}: {inp.shape} -> {out.shape} changes the element count")
        if inp.type != out.type:
            raise ConversionError(f"{where}: input is {inp.type_name}, output {out.type_name}")
        if op.inputs[0] in self.virtual or len(out.shape) > L.MAX_RANK:
            # Not storage to share: the reshape moves offsets like any REMAP.
            self._remap(op, where, self._offsets(op, where).reshape(out.shape))
            return
        kw = dict(dtype=L.DTYPE_INT16) if inp.type == INT16 else {}
        if inp.is_const:
            self.tmap[op.outputs[0]] = self._new_tensor(
                out, data=inp.data.astype("<i2" if inp.type == INT16 else "<i1").tobytes(), **kw)
            return
        x = self.act(op.inputs[0], where)
        if _same_quant(inp, out):
            self.tmap[op.outputs[0]] = self._new_tensor(out, alias_of=self.root(x), **kw)
        else:
            y = self.act(op.outputs[0], where)
            self._add("COPY", [x], [y], {}, where)

    _op_reshape = _alias
    _op_squeeze = _alias
    _op_expand_dims = _alias


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def pack_fc_w16(w: np.ndarray) -> bytes:
    """An int8 [out, in] weight matrix in FULLY_CONNECTED_W16's layout
    (usermod_c/tml_fc.c): int16, rows and inputs zero-padded to multiples
    of four; group of four rows by group, block of four inputs by block,
    the group's four rows one after the other, each block as w0 w2 w1 w3."""
    out_f, in_f = w.shape
    p = np.zeros((_pad4(out_f), _pad4(in_f)), np.int16)
    p[:out_f, :in_f] = w
    p = p.reshape(p.shape[0] // 4, 4, p.shape[1] // 4, 4)[:, :, :, [0, 2, 1, 3]]
    return np.ascontiguousarray(p.transpose(0, 2, 1, 3)).astype("<i2").tobytes()


def _int8_fc_ops(g: Graph):
    """(op, its int8 [out, in] weights) for every FULLY_CONNECTED of g."""
    for op in g.ops:
        if op.opname == "FULLY_CONNECTED":
            out_f = g.tensors[op.outputs[0]].shape[-1]
            yield op, np.frombuffer(op.params["weights"].data, np.int8).reshape(out_f, -1)


def widen_fc_weights(g: Graph) -> int:
    """Every FULLY_CONNECTED of g becomes FULLY_CONNECTED_W16 with its
    weights pre-widened (pack_fc_w16); returns the bytes this adds."""
    added = 0
    for op, w in _int8_fc_ops(g):
        packed = Const(pack_fc_w16(w), "weights")
        added += len(packed.data) - w.size
        op.opname = "FULLY_CONNECTED_W16"
        op.params = dict(op.params, weights=packed)
    return added


FC_PAIRS_ROWS = 6  # usermod_c/tml_kernels.h: TML_FC_PAIRS_ROWS


def pack_fc_pairs(w: np.ndarray) -> bytes:
    """An int8 [out, in] weight matrix in FULLY_CONNECTED_PAIRS's layout
    (usermod_c/tml_fc.c): rows zero-padded to groups of six; group by
    group, input by input, the words w[2j][i] + w[2j + 1][i] * 2^23 of the
    group's rows (j < 3), int32 little-endian."""
    out_f, in_f = w.shape
    groups = -(-out_f // FC_PAIRS_ROWS)
    p = np.zeros((groups * FC_PAIRS_ROWS, in_f), np.int64)
    p[:out_f] = w
    p = p.reshape(groups, FC_PAIRS_ROWS // 2, 2, in_f)
    words = p[:, :, 0, :] + p[:, :, 1, :] * (1 << 23)
    return np.ascontiguousarray(words.transpose(0, 2, 1)).astype("<i4").tobytes()


def fold_fc_bias(bias, w: np.ndarray, input_offset: int) -> np.ndarray:
    """FULLY_CONNECTED_PAIRS's bias: bias + input_offset * sum_i w[o][i]
    modulo 2^32 (the products then take the raw inputs)."""
    base = np.zeros(w.shape[0], np.int64) if bias is None else np.frombuffer(bias, "<i4").astype(np.int64)
    folded = base + input_offset * w.astype(np.int64).sum(axis=1)
    return ((folded + (1 << 31)) % (1 << 32) - (1 << 31)).astype("<i4")


def pair_fc_weights(g: Graph) -> int:
    """Every FULLY_CONNECTED of g becomes FULLY_CONNECTED_PAIRS, its
    weights in pairs of rows (pack_fc_pairs) and its bias folded
    (fold_fc_bias, always present); returns the bytes this adds."""
    added = 0
    for op, w in _int8_fc_ops(g):
        bias = op.params["bias"].data if isinstance(op.params["bias"], Const) else None
        input_offset = -g.tensors[op.inputs[0]].zero_point
        packed = Const(pack_fc_pairs(w), "weights")
        folded = Const(fold_fc_bias(bias, w, input_offset).tobytes(), "bias")
        added += len(packed.data) - w.size + len(folded.data) - (0 if bias is None else len(bias))
        op.opname = "FULLY_CONNECTED_PAIRS"
        op.params = dict(op.params, weights=packed, bias=folded)
    return added


def lower(model: TflModel, lut_fn=lut_table, reset_state=False) -> Graph:
    """reset_state: the model's state tensors restart at every invoke."""
    return Lowering(model, lut_fn, reset_state).run()
