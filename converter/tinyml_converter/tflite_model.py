"""A thin, typed view of a .tflite flatbuffer (subgraph 0 only).

TensorFlow ships the generated flatbuffer bindings, so we use its object API
and copy what the lowering needs into plain dataclasses. Importing TensorFlow
is slow; it only happens when a model is actually read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .errors import MissingTool

from .errors import ConversionError, ModelFileError

_NP_TYPES = {
    0: np.float32,   # FLOAT32
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
}
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool",
              7: "int16", 9: "int8", 10: "float64"}
INT8 = 9
BOOL = 6
INT16 = 7
INT32 = 2
INT64 = 4
FLOAT32 = 0


TF_MISSING = ("converting a model needs TensorFlow, which is not installed in this Python: "
              "pip install 'tinyml_converter[tensorflow]'")


def tensorflow():
    """TensorFlow, imported with its C++ logging turned down; MissingTool if absent."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingTool(TF_MISSING) from None
    return tf


def schema():
    tensorflow()
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


@dataclass
class TflTensor:
    index: int
    name: str
    shape: tuple
    type: int
    scales: list = field(default_factory=list)   # float32 values as Python floats
    zero_points: list = field(default_factory=list)
    quantized_dimension: int = 0
    data: np.ndarray | None = None                # constant contents, typed and shaped

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type{self.type}")

    def layer_hint(self) -> str:
        return layer_name(self.name)


@dataclass
class TflOp:
    index: int
    name: str                # builtin operator name, e.g. "CONV_2D"
    inputs: list             # tensor indices, -1 for an absent optional input
    outputs: list
    options: object          # the schema's XxxOptionsT, or None
    raw: object              # the schema OperatorT (for the LUT builder)


@dataclass
class TflModel:
    tensors: list
    ops: list
    inputs: list
    outputs: list
    model_t: object          # schema ModelT, kept for the LUT builder
    op_codes: list           # builtin name per operatorCodes entry


def layer_name(tensor_name: str) -> str:
    """Best guess of the Keras layer behind a TFLite tensor name.

    Keras 3 export names look like 'sequential_1/conv2d_1/Relu6;sequential_1/...':
    the layer is the second path component of the first fused name."""
    first = tensor_name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    if len(parts) >= 3:
        return parts[1]
    if len(parts) == 2:
        return parts[0]
    return ""


def _builtin_names():
    s = schema()
    return {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}


def _buffer_bytes(model_t, buf: bytes, index: int):
    if index <= 0 or index >= len(model_t.buffers):
        return None
    b = model_t.buffers[index]
    if b.data is not None and len(b.data):
        return np.asarray(b.data, dtype=np.uint8).tobytes()
    if b.offset > 1 and b.size:
        return bytes(buf[b.offset:b.offset + b.size])
    return None


def read_tflite(buf: bytes) -> TflModel:
    """Parse a .tflite flatbuffer; raise ConversionError when it is not one."""
    s = schema()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError("not a TFLite flatbuffer (file identifier 'TFL3' missing)")
    try:
        model_t = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
    except Exception as exc:  # the generated code raises anything on garbage
        raise ModelFileError(f"corrupt TFLite flatbuffer: {exc}") from None
    if not model_t.subgraphs:
        raise ModelFileError("TFLite model has no subgraph")
    if len(model_t.subgraphs) > 1:
        raise ConversionError(
            f"TFLite model has {len(model_t.subgraphs)} subgraphs; only single-subgraph "
            "models (no control flow such as WHILE/IF/CALL_ONCE) are supported")
    names = _builtin_names()
    op_codes = []
    for oc in model_t.operatorCodes or []:
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        if code == s.BuiltinOperator.CUSTOM:
            custom = oc.customCode.decode() if oc.customCode else "?"
            op_codes.append(f"CUSTOM:{custom}")
        else:
            op_codes.append(names.get(code, f"BUILTIN_{code}"))
    g = model_t.subgraphs[0]
    tensors = []
    for i, t in enumerate(g.tensors or []):
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        scales, zps, qdim = [], [], 0
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale):
            scales = [float(np.float32(x)) for x in q.scale]
            zps = [int(x) for x in q.zeroPoint] if q.zeroPoint is not None else [0] * len(scales)
            qdim = int(q.quantizedDimension)
        raw = _buffer_bytes(model_t, buf, t.buffer)
        data = None
        if raw is not None:
            npt = _NP_TYPES.get(t.type)
            if npt is None:
                data = np.frombuffer(raw, dtype=np.uint8)
            else:
                data = np.frombuffer(raw, dtype=np.dtype(npt).newbyteorder("<"))
                if data.size == int(np.prod(shape)) and shape:
                    data = data.reshape(shape)
        name = t.name.decode("utf-8", "replace") if t.name else f"tensor{i}"
        tensors.append(TflTensor(i, name, shape, int(t.type), scales, zps, qdim, data))
    ops = []
    for i, op in enumerate(g.operators or []):
        name = op_codes[op.opcodeIndex] if op.opcodeIndex < len(op_codes) else "?"
        ins = [int(x) for x in (op.inputs if op.inputs is not None else [])]
        outs = [int(x) for x in (op.outputs if op.outputs is not None else [])]
        ops.append(TflOp(i, name, ins, outs, op.builtinOptions, op))
    return TflModel(tensors, ops, [int(x) for x in g.inputs], [int(x) for x in g.outputs],
                    model_t, op_codes)
