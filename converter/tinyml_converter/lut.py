"""256-entry tables for unary int8 ops, computed by TFLite itself.

A per-tensor quantised unary op maps each of the 256 int8 input values to one
int8 output value. Rather than re-deriving TFLite's fixed-point LOGISTIC,
TANH, HARD_SWISH... we build a one-op .tflite with the op's real options and
quantisation, feed it all 256 inputs with the reference kernels and record
the outputs: bit-exact by construction, and one kernel (LUT) on the device.
"""

from __future__ import annotations

import numpy as np

from .errors import ConversionError
from .tflite_model import TflModel, TflOp, schema, tensorflow

# Ops whose int8 -> int8 result depends only on the input value. (TFLite has
# no int8 SQUARE, SIN or COS: tests/host/test_parity_ops.py checks.)
LUT_OPS = (
    "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU",
    "HARD_SWISH", "QUANTIZE", "ELU", "GELU", "ABS", "NEG", "EXP", "LOG", "SQRT", "RSQRT",
)

_INPUTS = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


def _quant_copy(q):
    s = schema()
    if q is None:
        return None
    out = s.QuantizationParametersT()
    out.scale = None if q.scale is None else [float(x) for x in q.scale]
    out.zeroPoint = None if q.zeroPoint is None else [int(x) for x in q.zeroPoint]
    out.quantizedDimension = q.quantizedDimension
    return out


def one_op_tflite(model: TflModel, op: TflOp, rows: int = 256) -> bytes:
    """A .tflite holding only `op`, its activation tensors reshaped to [1, rows]
    and its constant operands copied with their buffers."""
    import flatbuffers

    s = schema()
    src = model.model_t
    g_src = src.subgraphs[0]
    m = s.ModelT()
    m.version = 3
    oc_src = src.operatorCodes[op.raw.opcodeIndex]
    oc = s.OperatorCodeT()
    oc.builtinCode = oc_src.builtinCode
    oc.deprecatedBuiltinCode = oc_src.deprecatedBuiltinCode
    oc.version = oc_src.version
    m.operatorCodes = [oc]
    m.buffers = [s.BufferT()]
    tensors, graph_inputs = [], []
    index_map = {}

    def add_tensor(i):
        if i < 0:
            return -1
        if i in index_map:
            return index_map[i]
        t_src = g_src.tensors[i]
        t = s.TensorT()
        t.name = t_src.name
        t.type = model.tensors[i].type
        if t.type == t_src.type:
            t.quantization = _quant_copy(t_src.quantization)
        else:
            # Retyped by the lowering (lowering.fold_float_islands): its
            # quantisation is the model's, not the file's.
            t.quantization = s.QuantizationParametersT()
            t.quantization.scale = list(model.tensors[i].scales)
            t.quantization.zeroPoint = list(model.tensors[i].zero_points)
        const = model.tensors[i].data
        if const is not None:
            t.shape = list(t_src.shape) if t_src.shape is not None else []
            b = s.BufferT()
            b.data = np.frombuffer(const.tobytes(), dtype=np.uint8).copy()
            m.buffers.append(b)
            t.buffer = len(m.buffers) - 1
        else:
            t.shape = [1, rows]
            t.buffer = 0
        tensors.append(t)
        index_map[i] = len(tensors) - 1
        return index_map[i]

    new_op = s.OperatorT()
    new_op.opcodeIndex = 0
    new_op.inputs = [add_tensor(i) for i in op.inputs]
    for i in op.inputs:
        if i >= 0 and model.tensors[i].data is None:
            graph_inputs.append(index_map[i])
    new_op.outputs = [add_tensor(i) for i in op.outputs]
    new_op.builtinOptionsType = op.raw.builtinOptionsType
    new_op.builtinOptions = op.raw.builtinOptions
    g = s.SubGraphT()
    g.tensors = tensors
    g.inputs = graph_inputs
    g.outputs = list(new_op.outputs)
    g.operators = [new_op]
    g.name = b"lut"
    m.subgraphs = [g]
    m.description = b"tinyml LUT probe"
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_reference(tflite_bytes: bytes, inputs: list) -> list:
    """Run a .tflite with TFLite's reference kernels (our oracle), or, for an
    op BUILTIN_REF lacks (int8 ELU in TF 2.21), its default kernels without
    XNNPACK."""
    tf = tensorflow()
    kinds = tf.lite.experimental.OpResolverType
    try:
        interp = tf.lite.Interpreter(model_content=tflite_bytes, experimental_op_resolver_type=kinds.BUILTIN_REF)
    except ValueError as e:
        if "Didn't find op for builtin opcode" not in str(e):
            raise
        interp = tf.lite.Interpreter(model_content=tflite_bytes,
                                     experimental_op_resolver_type=kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    for detail, value in zip(interp.get_input_details(), inputs):
        interp.set_tensor(detail["index"], value)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def _probe(model: TflModel, op: TflOp, inputs: np.ndarray) -> np.ndarray:
    """`op` alone run by TFLite on `inputs` (one row): its outputs, flat."""
    kind = inputs.dtype.name
    try:
        (out,) = run_reference(one_op_tflite(model, op, rows=inputs.size), [inputs])
    except Exception as exc:
        raise ConversionError(
            f"{op.name}: TFLite could not evaluate this op on {kind} values to build its "
            f"lookup table ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None
    out = np.asarray(out)
    if out.dtype != inputs.dtype or out.size != inputs.size:
        raise ConversionError(f"{op.name}: {kind} lookup table probe returned {out.dtype}[{out.size}]")
    return out.reshape(-1)


def lut_table(model: TflModel, op: TflOp) -> bytes:
    """The 256-byte table for `op`: entry i is the output for input i - 128."""
    return _probe(model, op, _INPUTS).tobytes()


# The int16 unary ops TFLite itself runs through its 513-entry interpolated
# table (LUTPopulate<int16_t> and LUTLookup in kernels/internal/common.h).
LUT_S16_OPS = ("EXP", "LOG", "GELU", "RSQRT")
# Of those, the ones TFLite refuses negative inputs for at invoke: the table
# is read back from the non-negative half, and a negative input gives the
# output for 0 (tinyml cannot fail halfway through an invoke).
LUT_S16_NON_NEGATIVE = ("RSQRT",)
LUT_S16_ENTRIES = 513
_INPUTS_S16 = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16).reshape(1, 65536)


def lut_s16_lookup(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """tml_lut_s16 in NumPy (the converter's check of the table it read back):
    segment = top 9 bits, 7 bits interpolated."""
    v = values.astype(np.int64) + 32768
    base = table[v >> 7].astype(np.int64)
    slope = table[(v >> 7) + 1].astype(np.int64) - base
    return (base + ((slope * (v & 0x7F) + 64) >> 7)).astype(np.int16)


def lut_table_s16(model: TflModel, op: TflOp) -> bytes:
    """TFLite's own 513-entry int16 table for `op`, read back from its outputs
    on all 65536 inputs (the 32768 non-negative ones for LUT_S16_NON_NEGATIVE):
    entry k is the output at k * 128 - 32768, where no interpolation
    happens; the last entry only sets the top segment's slope, so any value
    that reproduces that segment is TFLite's as far as any input can tell.
    The whole table is then checked against every output."""
    start = 32768 if op.name in LUT_S16_NON_NEGATIVE else 0
    inputs = _INPUTS_S16[:, start:]
    full = np.zeros(65536, np.int64)
    full[start:] = _probe(model, op, inputs)
    full[:start] = full[start]
    table = np.zeros(LUT_S16_ENTRIES, np.int64)
    table[:512] = full[::128]
    top = full[511 * 128:]
    fraction = np.arange(128)
    # The slope s satisfies base + floor((s * f + 64) / 128) = out for every f;
    # at f = 127 that pins s to within two values of 128 * (out - base) / 127.
    guess = int(round((top[127] - table[511]) * 128 / 127))
    for slope in sorted(range(guess - 3, guess + 4), key=lambda s: abs(s - guess)):
        if np.array_equal(table[511] + ((slope * fraction + 64) >> 7), top):
            table[512] = table[511] + slope
            break
    else:
        raise ConversionError(f"{op.name}: TFLite's int16 outputs are not a 513-entry interpolated table")
    if not -32768 <= table[512] <= 32767 or not np.array_equal(
            lut_s16_lookup(table, _INPUTS_S16.reshape(-1)).astype(np.int64), full):
        raise ConversionError(f"{op.name}: TFLite's int16 outputs are not a 513-entry interpolated table")
    return table.astype("<i2").tobytes()
