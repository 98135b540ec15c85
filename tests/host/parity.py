"""The end-to-end oracle harness: Keras model -> int8 .tflite (TensorFlow's
own quantiser) -> two runtimes on the same int8 inputs:

- TFLite's reference kernels (BUILTIN_REF), the oracle;
- tinyml: tflite_to_blob, then the host build of the C core (HostModel).

Their int8 outputs must be identical bytes. Quantised .tflite files are cached
under build/test-cache/, keyed by a hash of everything that determines them
(model spec, the source of the files defining it, TF and Keras versions), so
reruns skip TensorFlow's converter.

Inputs and outputs are handled in Keras order; the TFLite subgraph (and so
the blob) may order them differently, and the signature def maps the two.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "test-cache"


def _versions() -> str:
    import keras
    import tensorflow as tf

    return f"tf{tf.__version__}-keras{keras.__version__}"


def cache_key(*parts) -> str:
    h = hashlib.sha256(_versions().encode())
    for p in parts:
        h.update(b"\0")
        h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()[:32]


def source_of(*paths) -> bytes:
    return b"".join(Path(p).read_bytes() for p in paths)


def _calib_arrays(model, calib):
    arrays = list(calib) if isinstance(calib, (list, tuple)) else [calib]
    assert len(arrays) == len(model.inputs)
    return [np.asarray(a, np.float32) for a in arrays]


def _own_tflite(model, arrays, per_tensor=False, int16=False) -> bytes:
    """Full-int8 PTQ with per-tensor weight quantisation, which
    convert.keras_to_tflite does not offer: TF's private switches, used to
    reach the kernels' channel_quant == 1 paths. The representative dataset
    is a dict keyed by signature input name, because TFLite orders a Keras
    model's inputs its own way."""
    import tensorflow as tf

    names = [t.name for t in model.inputs]

    def representative():
        for i in range(len(arrays[0])):
            yield {n: a[i : i + 1] for n, a in zip(names, arrays)}

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16
        else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int16 if int16 else tf.int8
    conv.inference_output_type = tf.int16 if int16 else tf.int8
    if per_tensor:
        conv._experimental_disable_per_channel = True
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv.convert()


def quantize(build, key: str, per_tensor=False, int16=False) -> bytes:
    """int8 (or 16x8) .tflite of the model `build()` returns ((model, calib)), cached by key."""
    path = CACHE / f"{key}{'-pt' if per_tensor else ''}{'-16x8' if int16 else ''}.tflite"
    if path.exists():
        return path.read_bytes()
    convert = pytest.importorskip("tinyml_converter.convert", reason="converter not written yet")
    model, calib = build()
    arrays = _calib_arrays(model, calib)
    if per_tensor:
        tfl = _own_tflite(model, arrays, per_tensor=True, int16=int16)
    else:
        tfl = convert.keras_to_tflite(model, arrays if len(arrays) > 1 else arrays[0], int16=int16)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(tfl)
    os.replace(tmp, path)
    return tfl


def bench_models():
    """bench/models.py, loaded by path under its own name: tests/models.py is
    the `models` other tests import."""
    import importlib.util
    import sys

    if "bench_models" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_models", REPO / "bench" / "models.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["bench_models"] = module
    return sys.modules["bench_models"]


def bench_tflite(name: str) -> bytes:
    """int8 .tflite of the benchmark model `name`, cached like quantize()."""
    models = bench_models()
    source = source_of(models.__file__, __file__)
    return quantize(lambda: models.MODELS[name]()[:2], cache_key("bench-model", name, source))


def _has_op(tflite: bytes, name: str) -> bool:
    from tinyml_converter.tflite_model import read_tflite

    return any(op.name == name for op in read_tflite(tflite).ops)


def _natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


# Data-movement ops whose int8 version BUILTIN_REF does not register (TF
# 2.21: TILE v3, REVERSE_V2 v3, DEPTH_TO_SPACE v2) although both resolvers
# share the one kernel, which takes int8 at every version.
_REF_VERSION_GAPS = {"TILE", "REVERSE_V2", "DEPTH_TO_SPACE"}


def _ref_loadable(tflite: bytes) -> bytes:
    """The model with those ops' versions lowered until BUILTIN_REF loads it,
    so that every other op of the model still runs on the reference kernels
    (the default kernels round some convolutions differently)."""
    import re

    import flatbuffers
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    while True:
        try:
            tf.lite.Interpreter(model_content=tflite,
                                experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
            return tflite
        except ValueError as e:
            m = re.search(r"builtin opcode '(\w+)' version '(\d+)'", str(e))
            if not m or m.group(1) not in _REF_VERSION_GAPS or int(m.group(2)) <= 1:
                raise
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(tflite, 0))
        for code in model.operatorCodes:
            op = max(code.builtinCode, code.deprecatedBuiltinCode)
            if names.get(op) == m.group(1) and code.version == int(m.group(2)):
                code.version -= 1
        builder = flatbuffers.Builder(len(tflite))
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        tflite = bytes(builder.Output())


class Oracle:
    """TFLite's reference kernels on an int8 .tflite, in Keras input/output order."""

    def __init__(self, tflite: bytes):
        import tensorflow as tf

        kinds = tf.lite.experimental.OpResolverType
        default = kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        # BUILTIN_REF's int8 SUM that requantises reads the int8 values as
        # uint8 (TF 2.21: a -1 counts as 255, the result is clamped to
        # [0, 255] and then stored as int8; measured on a 2-value SUM over
        # every input pair). TFLite's default kernels compute the int8 sum
        # the op means, and those are what tinyml matches for such models.
        if _has_op(tflite, "SUM"):
            self.it = tf.lite.Interpreter(model_content=tflite, experimental_op_resolver_type=default)
            self.resolver = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"
        else:
            try:
                self.it = tf.lite.Interpreter(model_content=_ref_loadable(tflite),
                                              experimental_op_resolver_type=kinds.BUILTIN_REF)
                self.resolver = "BUILTIN_REF"
            except ValueError as e:
                # An op BUILTIN_REF has no registration for at all (ELU in
                # TF 2.21): TFLite's default kernels are the only TFLite.
                if "Didn't find op for builtin opcode" not in str(e):
                    raise
                self.it = tf.lite.Interpreter(model_content=tflite, experimental_op_resolver_type=default)
                self.resolver = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"
        self._io()

    def _io(self):
        self.it.allocate_tensors()
        ins = self.it.get_input_details()
        outs = self.it.get_output_details()
        sigs = self.it.get_signature_list()
        if len(sigs) == 1:
            runner = self.it.get_signature_runner()
            sig = next(iter(sigs.values()))
            sin, sout = runner.get_input_details(), runner.get_output_details()
            # The signature lists names as sorted text (output_10 before
            # output_2); Keras's order is the numeric one.
            in_index = [sin[n]["index"] for n in sorted(sig["inputs"], key=_natural)]
            out_index = [sout[n]["index"] for n in sorted(sig["outputs"], key=_natural)]
        else:
            in_index = [d["index"] for d in ins]
            out_index = [d["index"] for d in outs]
        sub_in = [d["index"] for d in ins]
        sub_out = [d["index"] for d in outs]
        # Keras position -> subgraph position (which is the blob's order too).
        self.in_pos = [sub_in.index(i) for i in in_index]
        self.out_pos = [sub_out.index(i) for i in out_index]
        self.in_details = [ins[p] for p in self.in_pos]
        self.out_details = [outs[p] for p in self.out_pos]

    @property
    def input_shapes(self):
        return [tuple(int(s) for s in d["shape"]) for d in self.in_details]

    @property
    def input_dtypes(self):
        return [np.dtype(d["dtype"]) for d in self.in_details]

    def run(self, inputs):
        for d, x in zip(self.in_details, inputs):
            self.it.set_tensor(d["index"], np.asarray(x, d["dtype"]).reshape(d["shape"]))
        self.it.invoke()
        return [self.it.get_tensor(d["index"]).copy() for d in self.out_details]

    def quantize_input(self, k, x):
        from tinyml_converter.quant import quantize

        scale, zp = self.in_details[k]["quantization"]
        return quantize(x, scale, zp, dtype=np.dtype(self.in_details[k]["dtype"]).name)


def run_host(model, oracle: Oracle, inputs):
    """HostModel outputs in Keras order, inputs given in Keras order."""
    sub = [None] * len(inputs)
    for k, p in enumerate(oracle.in_pos):
        sub[p] = inputs[k]
    outs = model.invoke(*sub)
    return [outs[p] for p in oracle.out_pos]


def random_inputs(oracle: Oracle, rng, count):
    """`count` input sets of uniform random int8 or int16, as the model
    takes (the whole range, edges included)."""
    sets = []
    kinds = list(zip(oracle.input_shapes, oracle.input_dtypes))
    for n in range(count):
        xs = [rng.integers(np.iinfo(d).min, np.iinfo(d).max + 1, size=s, dtype=d) for s, d in kinds]
        if n == 0:
            xs = [np.full(s, np.iinfo(d).min, d) for s, d in kinds]
        elif n == 1:
            xs = [np.full(s, np.iinfo(d).max, d) for s, d in kinds]
        sets.append(xs)
    return sets


def compare(tfl_outs, host_outs):
    """None when identical, else a readable description of the difference."""
    problems = []
    for k, (a, b) in enumerate(zip(tfl_outs, host_outs)):
        if a.shape != b.shape:
            problems.append(f"output {k}: shape {b.shape} != TFLite {a.shape}")
            continue
        # ARG_MAX / ARG_MIN indices: tinyml keeps TFLite's int64 ones as int32.
        if a.dtype in (np.int32, np.int64) and b.dtype == np.int32:
            if not np.array_equal(a, b):
                where = np.argwhere(a != b)[:5].tolist()
                problems.append(f"output {k}: {int((a != b).sum())}/{a.size} indices differ, first at "
                                f"{where}: tflite {[int(a[tuple(w)]) for w in where]} "
                                f"tinyml {[int(b[tuple(w)]) for w in where]}")
            continue
        if a.dtype != b.dtype or a.dtype not in (np.int8, np.int16):
            problems.append(f"output {k}: TFLite dtype {a.dtype}, tinyml {b.dtype}")
            continue
        diff = np.abs(a.astype(np.int32) - b.astype(np.int32))
        if diff.any():
            where = np.argwhere(diff)[:5].tolist()
            problems.append(f"output {k}: {int((diff > 0).sum())}/{diff.size} bytes differ, "
                            f"max {int(diff.max())} LSB, first at {where}: "
                            f"tflite {[int(a[tuple(w)]) for w in where]} tinyml {[int(b[tuple(w)]) for w in where]}")
    return "; ".join(problems) or None


def evaluate(tflite: bytes, input_sets, blob_kwargs=None) -> tuple[Oracle, list, list]:
    """Run TFLite and tinyml on every input set: (oracle, tflite outputs, host outputs).

    Every model here is meant to convert: a converter refusal
    (ConversionError), a blob the C loader refuses, or a kernel error is a
    failure."""
    convert = pytest.importorskip("tinyml_converter.convert", reason="converter not written yet")
    from tinyml_converter.host_runtime import HostModel

    oracle = Oracle(tflite)
    blob = convert.tflite_to_blob(tflite, **(blob_kwargs or {}))
    model = HostModel(blob)
    tfl, host = [], []
    for xs in input_sets(oracle) if callable(input_sets) else input_sets:
        tfl.append(oracle.run(xs))
        host.append(run_host(model, oracle, xs))
    return oracle, tfl, host
