"""Public conversion API: Keras -> int8 .tflite -> .tinyml blob.

    keras_to_tflite(model_or_path, calib, progress=None, embedding=None) -> bytes
    tflite_to_blob(tflite_bytes, *, name=None, labels=None, normalize=None,
                   source_sha256=None, embedding=None) -> bytes
    convert_file(src_path, out_path, calib=None, labels=None, keep_tflite=False, ...)

`embedding` marks a tensor whose values a board program reads besides the
outputs (tinyml.learn classifies them): it becomes one more graph output, so
the arena planner keeps it live, and metadata record EMBEDDING holds its
output index, which the tinyml package hides from predict().

Quantisation is TensorFlow's job (TFLiteConverter, full int8 with a
representative dataset); this package only maps the quantised graph.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .blob import write_blob
from .errors import ConversionError, CoreUnavailable, ModelFileError, ModelRefused, UsageError
from .lowering import Graph, lower, pair_fc_weights, widen_fc_weights
from .planner import Plan, Problem, plan, simulate
from .recurrent import lstm_in_tf_keras, unroll_recurrent
from .scratch import optional as scratch_optional, reserve
from .tflite_model import layer_name, read_tflite, tensorflow


@dataclass
class ConversionReport:
    blob_size: int = 0
    arena_size: int = 0
    lower_bound: int = 0
    plan_strategy: str = ""
    plan_optimal: bool = False
    ops: list = field(default_factory=list)   # (opname, source) in execution order
    macs: int = 0
    tflite_path: str | None = None
    notes: list = field(default_factory=list)  # what was done to the model to convert it
    tiling: str = ""                            # what --ram-budget chose (tiling.Choice.describe())
    arena_untiled: int = 0                      # the arena without --ram-budget
    tiling_extra_instructions: int = 0          # its estimate of what that costs per invoke
    fc_weights_widened: int = 0                 # bytes --fc-weights int16 or pairs added to the blob


# ---------------------------------------------------------------------------
# Keras -> int8 TFLite

def load_keras(path):
    """The Keras model in a .keras/.h5 file; ModelFileError when the file is
    truncated, not a Keras model, or otherwise unreadable (Keras and h5py
    raise a zoo of exception types for those)."""
    tensorflow()
    import keras

    p = Path(path)
    if p.suffix.lower() == ".keras" and p.is_file() and not zipfile.is_zipfile(p):
        raise ModelFileError(f"{path} is not a .keras archive (a .keras file is a zip; this one is "
                             "truncated, damaged or something else renamed)")
    try:
        return keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad input file
        raise ModelFileError(f"cannot load the Keras model {path}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _calib_list(model_inputs: int, calib):
    if isinstance(calib, (list, tuple)):
        arrays = [np.asarray(c, dtype=np.float32) for c in calib]
    else:
        arrays = [np.asarray(calib, dtype=np.float32)]
    if len(arrays) != model_inputs:
        raise ValueError(f"the model has {model_inputs} inputs but {len(arrays)} calibration arrays were given")
    n = len(arrays[0])
    if n == 0 or any(len(a) != n for a in arrays):
        raise ValueError("calibration arrays must be non-empty and have the same number of samples")
    return arrays, n


def keras_to_tflite(model_or_path, calib: np.ndarray, progress=None, notes=None, facts=None,
                    embedding=None, int16=False) -> bytes:
    """Full-int8 post-training quantisation with int8 input and output; with
    int16, TF's 16x8 scheme instead (int16 activations, input and output,
    int8 weights: EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8).

    calib: samples (N, *input_shape) used as the representative dataset (a list
    of arrays for multi-input models). progress(done, total) is called as
    samples are consumed. What had to be changed in the model to convert it
    (LSTMs rebuilt in tf_keras to be fused, other recurrent layers unrolled)
    is appended to `notes`; facts["reset_state"] is set when the fused
    LSTMs' state must restart at every invoke (stateful=False, as in Keras).
    embedding: a layer name whose output becomes one more model output,
    after the model's own (embedding_output() finds it in the .tflite)."""
    tf = tensorflow()
    is_saved_model = isinstance(model_or_path, (str, os.PathLike)) and Path(model_or_path).is_dir()
    keys = None            # signature input names, one per calibration array
    tmpdir = None
    if is_saved_model:
        if embedding is not None:
            raise UsageError(f"--embedding needs a .keras/.h5 model or an int8 .tflite, not the "
                             f"SavedModel {model_or_path} (its layers have no names to choose from)")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(model_or_path))
        n_inputs = len(calib) if isinstance(calib, (list, tuple)) else 1
    else:
        model = load_keras(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model_or_path
        shapes = [np.shape(a) for a in (calib if isinstance(calib, (list, tuple)) else [calib])]
        if embedding is not None:
            model = with_embedding_output(model, embedding)
        fused = lstm_in_tf_keras(model, shapes, calib if not isinstance(calib, (list, tuple)) else None)
        if fused is not None:
            model, changed, stateful = fused
            if facts is not None:
                facts["reset_state"] = not stateful
        else:
            model, changed = unroll_recurrent(model, shapes)
        if notes is not None:
            notes.extend(changed)
        n_inputs = len(model.inputs)
        if n_inputs == 1:
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        else:
            # TFLite orders a multi-input model's inputs its own way; export a
            # SavedModel and feed calibration samples by signature input name.
            tmpdir = tempfile.mkdtemp(prefix="tinyml_export_")
            model.export(tmpdir, verbose=False)
            sig = tf.saved_model.load(tmpdir).signatures["serving_default"]
            specs = sig.structured_input_signature[1]
            keys = _match_inputs(model, specs)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmpdir)
    arrays, n = _calib_list(n_inputs, calib)

    def representative():
        for i in range(n):
            if progress:
                progress(i + 1, n)
            if keys is None:
                yield [a[i:i + 1] for a in arrays]
            else:
                yield {k: a[i:i + 1] for k, a in zip(keys, arrays)}

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    if int16:
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int16 if int16 else tf.int8
    converter.inference_output_type = tf.int16 if int16 else tf.int8
    try:
        return converter.convert()
    except Exception as exc:
        _refuse_dilated_transpose(str(exc))
        first = str(exc).strip().splitlines()
        raise ConversionError(
            f"TFLiteConverter could not quantise the model to {'16x8' if int16 else 'int8'} "
            f"({first[0] if first else type(exc).__name__})") from None
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def with_embedding_output(model, layer: str):
    """The same Keras model (same layers, same weights) with `layer`'s output
    appended to its outputs. TFLite quantises every tensor from the same
    calibration run either way, so the other outputs keep their bytes
    (tests/host/test_embedding.py checks that against TFLite)."""
    import keras

    names = [lay.name for lay in model.layers]
    if layer not in names:
        raise UsageError(f"--embedding {layer!r}: the model has no layer of that name; its layers "
                         f"are: {', '.join(names)}")
    out = model.get_layer(layer).output
    if isinstance(out, (list, tuple)):
        raise UsageError(f"--embedding {layer!r}: the layer has {len(out)} outputs; choose a layer "
                         "with one")
    if any(out is o for o in model.outputs):
        raise UsageError(f"--embedding {layer!r} is already an output of the model; choose an "
                         "earlier layer (the one whose output feeds the classifier head)")
    if type(model.get_layer(layer)).__name__ == "InputLayer":
        raise UsageError(f"--embedding {layer!r} is an input layer; choose a layer that computes something")
    return keras.Model(model.inputs, list(model.outputs) + [out], name=model.name)


def embedding_output(tflite_bytes: bytes) -> int:
    """The tensor index of the embedding output keras_to_tflite() appended:
    TFLite lists a subgraph's outputs in an order of its own, but its
    signature names them output_0, output_1... in the Keras model's order,
    so the embedding is the last of those."""
    from .tflite_model import read_tflite

    model = read_tflite(bytes(tflite_bytes))
    sigs = model.model_t.signatureDefs or []
    named = {}
    for sig in sigs[:1]:
        for t in sig.outputs or []:
            named[t.name.decode() if isinstance(t.name, bytes) else t.name] = int(t.tensorIndex)
    key = f"output_{len(model.outputs) - 1}"
    if key not in named or named[key] not in model.outputs:
        raise ConversionError("TFLiteConverter wrote no signature naming the model's outputs, so the "
                              "embedding output cannot be told from the others; convert the model "
                              "to an int8 .tflite yourself and give --embedding the tensor name")
    return named[key]


def _refuse_dilated_transpose(message: str) -> None:
    """TFLite's TRANSPOSE_CONV has no dilation, so TF leaves a dilated
    Conv2DTranspose / Conv1DTranspose as its own Conv2DBackpropInput and
    fails on it; say so, with the layer, rather than quoting MLIR."""
    found = re.search(r'fused\["Conv2DBackpropInput:", "([^"@]+)', message)
    if found and "neither a custom op nor a flex op" in message:
        layer = layer_name(found.group(1))
        raise ConversionError(
            f"TRANSPOSE_CONV (Keras layer '{layer}'): dilation_rate > 1 is not supported: TFLite's "
            "TRANSPOSE_CONV has no dilation, so TFLiteConverter cannot lower this layer "
            "(use dilation_rate=1)") from None


def _match_inputs(model, specs: dict) -> list:
    """Signature input name for each of model.inputs: by name, else by a unique shape."""
    keys = []
    for t in model.inputs:
        name = getattr(t, "name", None)
        if name in specs:
            keys.append(name)
            continue
        shape = tuple(t.shape[1:])
        same = [k for k, sp in specs.items() if tuple(sp.shape[1:]) == shape and k not in keys]
        if len(same) != 1:
            raise ConversionError(
                f"cannot tell which exported input is Keras input '{name}'; give the model's "
                "Input layers distinct names")
        keys.append(same[0])
    return keys


# ---------------------------------------------------------------------------
# TFLite -> blob

def op_scratch(graph: Graph, op, with_optional: bool = False) -> int:
    """Scratch bytes reserved for one op (scratch.py: the most any build of
    the C core needs for its shapes), with_optional: at least what makes it
    faster (scratch.optional())."""
    out = op.inputs[2] if op.opname == "UNIDIRECTIONAL_SEQUENCE_LSTM" else op.outputs[0]
    need = reserve(op.opname, op.params, graph.tensors[op.inputs[0]].dims4, graph.tensors[out].dims4)
    if with_optional:
        need = max(need, scratch_optional(op.opname, op.params, graph.tensors[out].dims4))
    return need


def plan_graph(graph: Graph) -> tuple[Plan, tuple[list, dict], Problem, list]:
    """Plan the arena of a lowered graph; returns (plan, per-tensor offsets
    and per-op scratch (offset, size), problem, blob order of graph ops).
    An op's scratch is a buffer the op both writes and reads, so it lives
    for that op's step only. A STAGE op (tiling.py) is one step: its bands
    and its members' shared scratch are its scratch; its members follow it
    in the blob order. External tensors and bands have no buffer of their
    own. Optional scratch (scratch.optional(), never for a STAGE's members,
    which run once a row) is reserved only if the arena stays as small as
    without it."""
    members = {j for op in graph.ops if op.stage is not None for j in op.stage.members}
    wants = [k for k, op in enumerate(graph.ops) if op.stage is None and k not in members
             and op_scratch(graph, op, True) > op_scratch(graph, op)]
    plain = _plan_graph(graph, ())
    if not wants:
        return plain
    best = _plan_graph(graph, wants)
    if best[0].arena_size <= plain[0].arena_size:
        return best
    # Op by op, the largest outputs first (where the tables save most), a
    # bounded number of extra plans.
    wants.sort(key=lambda k: (-graph.tensors[graph.ops[k].outputs[0]].nbytes, k))
    best, chosen = plain, []
    for k in wants[:OPTIONAL_SCRATCH_TRIES]:
        trial = _plan_graph(graph, chosen + [k])
        if trial[0].arena_size <= plain[0].arena_size:
            best, chosen = trial, chosen + [k]
    return best


# Plans tried when not every op's optional scratch fits (plan_graph).
OPTIONAL_SCRATCH_TRIES = 8


def _plan_graph(graph: Graph, with_optional):
    """plan_graph() with the optional scratch of the ops at indices
    with_optional."""
    buf_of = {}
    sizes = []

    def buf(t):
        r = t
        while graph.tensors[r].alias_of is not None:
            r = graph.tensors[r].alias_of
        if graph.tensors[r].data is not None or graph.tensors[r].placement:
            return None
        if r not in buf_of:
            buf_of[r] = len(sizes)
            sizes.append(graph.tensors[r].nbytes)
        return buf_of[r]

    members = {k for op in graph.ops if op.stage is not None for k in op.stage.members}
    stage_at = {op.stage.members[0]: k for k, op in enumerate(graph.ops) if op.stage is not None}
    units = [stage_at.get(k, k) for k, op in enumerate(graph.ops)
             if op.stage is None and (k not in members or k in stage_at)]
    for t in graph.inputs:
        buf(t)
    op_inputs, op_outputs = [], []
    for k in units:
        op = graph.ops[k]
        op_inputs.append([b for b in (buf(t) for t in op.inputs) if b is not None])
        op_outputs.append([b for b in (buf(t) for t in op.outputs) if b is not None])
    for i in range(len(graph.tensors)):
        buf(i)
    scratch_buf = {}   # unit position -> buffer
    band_buf = {}      # band tensor -> buffer
    for u, k in enumerate(units):
        op = graph.ops[k]
        if op.stage is not None:
            need = max(op_scratch(graph, graph.ops[j]) for j in op.stage.members)
            for j, nbytes in zip(op.stage.members, op.stage.band_bytes):
                band_buf[graph.ops[j].outputs[0]] = len(sizes)
                sizes.append(nbytes)
                op_inputs[u].append(len(sizes) - 1)
                op_outputs[u].append(len(sizes) - 1)
        else:
            need = op_scratch(graph, op, k in with_optional)
        if need:
            scratch_buf[u] = len(sizes)
            sizes.append(need)
            op_inputs[u].append(scratch_buf[u])
            op_outputs[u].append(scratch_buf[u])
    # State (an LSTM's) lives across invokes: live from the first step to the
    # last, like a model input that is also an output.
    state = {buf(i) for i, t in enumerate(graph.tensors) if t.state}
    problem = Problem(sizes=sizes, op_inputs=op_inputs, op_outputs=op_outputs,
                      graph_inputs=sorted(({buf(t) for t in graph.inputs} | state) - {None}),
                      graph_outputs=sorted({buf(t) for t in graph.outputs} | state),
                      inplace=[_inplace_sources(graph, graph.ops[k], buf) for k in units])
    pl = plan(problem)
    simulate(problem, pl)   # cheap self-check: live tensors never overlap
    offsets = []
    for i, t in enumerate(graph.tensors):
        b = band_buf.get(i, buf(i))
        offsets.append(0 if b is None else pl.offsets[b])
    scratch = {}
    order = []
    for u in pl.order:
        k = units[u]
        stage = graph.ops[k].stage
        order.append(k)
        if u in scratch_buf and stage is None:
            scratch[k] = (pl.offsets[scratch_buf[u]], sizes[scratch_buf[u]])
        for j in stage.members if stage is not None else ():
            order.append(j)
            need = op_scratch(graph, graph.ops[j])
            if need:
                scratch[j] = (pl.offsets[scratch_buf[u]], need)
    return pl, (offsets, scratch), problem, order


# int8 element-wise kernels whose output element i depends only on element i
# of each full-shape input, read before it is written (the row walk of
# tml_elementwise.c): their output may overwrite such an input.
ELEMENTWISE_INPLACE = {"ADD", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "PRELU"}


def _inplace_sources(graph: Graph, op, buf):
    """planner.Problem.inplace for one op: True for LUT (its first input),
    else the buffers of the inputs its output may overwrite."""
    if op.opname == "LUT":
        return True
    if op.opname not in ELEMENTWISE_INPLACE:
        return []
    out = graph.tensors[op.outputs[0]]
    return [buf(t) for t in op.inputs
            if buf(t) is not None and graph.tensors[t].dims4 == out.dims4 and graph.tensors[t].dtype == out.dtype]


def alias_root(graph: Graph, t: int) -> int:
    while graph.tensors[t].alias_of is not None:
        t = graph.tensors[t].alias_of
    return t


def external_inputs(graph: Graph) -> list:
    """Model inputs that can be read in place from the caller's buffer: not
    state, and neither they nor another name of theirs (a reshape's alias,
    bound with them) a model output."""
    outputs = {alias_root(graph, t) for t in graph.outputs}
    return [t for t in graph.inputs if t not in outputs and not graph.tensors[t].state]


def staged_graph(graph: Graph, stages=(), external=False) -> Graph:
    """A copy of the graph with its inputs read in place (external) and a
    STAGE op appended for each stage, its bands marked."""
    import dataclasses

    from .lowering import Op

    tensors = list(graph.tensors)
    if external:
        chosen = set(external_inputs(graph))
        for i in range(len(tensors)):
            if alias_root(graph, i) in chosen:
                tensors[i] = dataclasses.replace(tensors[i], placement="external")
    ops = list(graph.ops)
    for s in stages:
        first, last = graph.ops[s.members[0]], graph.ops[s.members[-1]]
        for k in s.members[:-1]:
            t = graph.ops[k].outputs[0]
            tensors[t] = dataclasses.replace(tensors[t], placement="band")
        ops.append(Op("STAGE", [first.inputs[0]], [last.outputs[0]],
                      {"member_count": len(s.members), "band_rows": s.band_rows},
                      source=f"tiled: {first.source} .. {last.source}", stage=s))
    return Graph(tensors=tensors, ops=ops, inputs=list(graph.inputs), outputs=list(graph.outputs))


def _smallest_plan(graph, pl, placed, order, choice):
    """ram_budget "min": the plan with the smallest arena, the fewest extra
    instructions among equals."""
    from . import tiling

    best = (pl.arena_size, 0, graph, pl, placed, order, [], False)
    ext = staged_graph(graph, external=True)
    options = [(ext, [], True)] + [(staged_graph(graph, [s], external=True), [s], True)
                                   for s in tiling.candidates(graph, order)]
    for g, stages, external in options:
        p, pc, _, o = plan_graph(g)
        cost = sum(s.cost for s in stages)
        if (p.arena_size, cost) < best[:2]:
            best = (p.arena_size, cost, g, p, pc, o, stages, external)
    _, cost, g, p, pc, o, stages, external = best
    choice.stages, choice.external_inputs = stages, external
    choice.arena, choice.lower_bound, choice.estimated_extra_instructions = p.arena_size, p.lower_bound, cost
    return g, p, pc, o, choice


def plan_for_budget(graph: Graph, ram_budget):
    """(graph to write, plan, offsets and scratch, blob order, tiling.Choice).
    Without a budget: the plain plan. With one (bytes): the plan with the
    fewest extra instructions whose arena fits it (tiling.py);
    ConversionError naming the smallest arena found if none does. "min":
    the smallest arena."""
    from . import tiling

    pl, placed, _, order = plan_graph(graph)
    choice = tiling.Choice(arena_untiled=pl.arena_size, arena=pl.arena_size, lower_bound=pl.lower_bound)
    if ram_budget == "min":
        return _smallest_plan(graph, pl, placed, order, choice)
    if ram_budget is None or pl.arena_size <= ram_budget:
        return graph, pl, placed, order, choice
    best = (pl.arena_size, "untiled")
    tried = []
    ext = staged_graph(graph, external=True)
    pl_ext, placed_ext, _, order_ext = plan_graph(ext)
    if pl_ext.arena_size <= ram_budget:
        choice.external_inputs, choice.arena, choice.lower_bound = True, pl_ext.arena_size, pl_ext.lower_bound
        return ext, pl_ext, placed_ext, order_ext, choice
    if pl_ext.arena_size < best[0]:
        best = (pl_ext.arena_size, "model inputs read in place")
    for stage in sorted(tiling.candidates(graph, order), key=lambda s: (s.cost, len(s.members))):
        g = staged_graph(graph, [stage], external=True)
        pl_t, placed_t, _, order_t = plan_graph(g)
        tried.append(pl_t.arena_size)
        if pl_t.arena_size <= ram_budget:
            choice.stages, choice.external_inputs = [stage], True
            choice.arena, choice.lower_bound = pl_t.arena_size, pl_t.lower_bound
            choice.estimated_extra_instructions = stage.cost
            return g, pl_t, placed_t, order_t, choice
        if pl_t.arena_size < best[0]:
            best = (pl_t.arena_size, tiling.Choice(stages=[stage], external_inputs=True).describe())
    raise ConversionError(
        f"--ram-budget {ram_budget}: no plan fits; the smallest arena found is {best[0]} bytes ({best[1]}), "
        f"untiled {pl.arena_size} bytes, {len(tried)} tiled plans tried")


def _mark_embedding(model, embedding):
    """The TflModel with tensor `embedding` (its name, or its index) moved
    to, or added as, the last output; and that output's index."""
    import dataclasses

    if isinstance(embedding, str):
        found = [t.index for t in model.tensors if t.name == embedding]
        if not found:
            produced = [model.tensors[o].name for op in model.ops for o in op.outputs]
            raise UsageError(f"--embedding {embedding!r}: the .tflite has no tensor of that name; the "
                             f"tensors its ops compute are: {', '.join(repr(n) for n in produced)}")
        embedding = found[0]
    t = model.tensors[embedding]
    if t.is_const or embedding in model.inputs:
        raise UsageError(f"--embedding {t.name!r} is a {'constant' if t.is_const else 'model input'}; "
                         "choose a tensor an op computes")
    outputs = [o for o in model.outputs if o != embedding]
    if not outputs:
        raise UsageError(f"--embedding {t.name!r} is the model's only output; choose an earlier "
                         "tensor (the one that feeds the classifier head)")
    return dataclasses.replace(model, outputs=outputs + [embedding]), len(outputs)


# convert_tflite()'s fc_weights: the stored layouts of int8 FULLY_CONNECTED weights.
FC_WEIGHTS = ("int8", "int16", "pairs")


def convert_tflite(tflite_bytes: bytes, *, name=None, labels=None, normalize=None,
                   source_sha256=None, reset_state=False, embedding=None, ram_budget=None,
                   fc_weights="int8"):
    """(blob, ConversionReport) for an int8 .tflite. embedding: the name or
    index of a tensor to keep as the last output (metadata EMBEDDING).

    A hostile or damaged flatbuffer can reach the reader and the lowering with
    any inconsistency (indices past a table, shapes of the wrong rank, sizes
    past 32 bits); whatever they trip over becomes a ModelFileError naming
    the problem, never a bare IndexError.

    State (an LSTM's variable tensors) carries over from one invoke to the
    next, as in TFLite, unless reset_state: then every invoke starts from
    the initial state.

    ram_budget: bytes of arena the plan must fit (tiling.py): inputs read in
    place, then the early layers tiled, as needed; "min" for the smallest
    arena tinyml can plan.

    fc_weights "int16": every int8 FULLY_CONNECTED's weights stored widened
    to int16 in the order the Cortex-M4/M7/M33 inner loop reads them
    (lowering.widen_fc_weights): those weights take twice the bytes, and the
    layers about half the instructions on those cores. "pairs": the weights
    of two rows in each word, for the SMLAL of Cortex-M3 and later
    (lowering.pair_fc_weights): twice the bytes too, under half the
    instructions on a Cortex-M3."""
    if fc_weights not in FC_WEIGHTS:
        raise UsageError(f"fc_weights is {fc_weights!r}; 'int8' (as quantised), 'int16' (pre-widened) "
                         "or 'pairs' (two rows a word) expected")
    try:
        model = read_tflite(bytes(tflite_bytes))
        embedding_index = None
        if embedding is not None:
            model, embedding_index = _mark_embedding(model, embedding)
        graph = lower(model, reset_state=reset_state)
        widened = (widen_fc_weights(graph) if fc_weights == "int16"
                   else pair_fc_weights(graph) if fc_weights == "pairs" else 0)
        graph, pl, (offsets, scratch), order, tiling_choice = plan_for_budget(graph, ram_budget)
    except (ConversionError, UsageError):
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise ModelFileError(
            "the .tflite model is malformed or inconsistent, so it cannot be converted "
            f"({_first_line(exc)})") from exc
    if labels is not None:
        labels = [str(x) for x in labels]
    try:
        blob = write_blob(graph, order, offsets, pl.arena_size, scratch=scratch, name=name, labels=labels,
                          normalize=normalize, converter=f"tinyml_converter {__version__}",
                          source_sha256=source_sha256, embedding=embedding_index)
    except (struct.error, OverflowError) as exc:
        raise ConversionError(
            f"the model does not fit the .tinyml format (a size or offset needs more than 32 bits: "
            f"{exc})") from exc
    _loader_accepts(blob, [graph.ops[k].source for k in order])
    report = ConversionReport(
        blob_size=len(blob), arena_size=pl.arena_size, lower_bound=pl.lower_bound,
        plan_strategy=pl.strategy, plan_optimal=pl.optimal,
        ops=[(graph.ops[k].opname, graph.ops[k].source) for k in order],
        macs=sum(op.macs for op in graph.ops), tiling=tiling_choice.describe(),
        arena_untiled=tiling_choice.arena_untiled,
        tiling_extra_instructions=tiling_choice.estimated_extra_instructions,
        fc_weights_widened=widened)
    return blob, report


def _loader_accepts(blob: bytes, sources: list) -> None:
    """The board's own loader (the C core, built into this package) checks
    every record again: a damaged .tflite whose inconsistency the lowering
    did not notice (one flipped byte can make a SOFTMAX's output shape differ
    from its input's) is refused here, naming the op, rather than written as
    a blob every board would refuse."""
    from .host_runtime import HostModel

    try:
        HostModel(blob)
    except CoreUnavailable:
        return  # a source install without its C core: the board checks instead
    except ModelRefused as e:
        where = sources[e.op_index] if 0 <= e.op_index < len(sources) else "the model"
        raise ModelFileError(f"{where}: the .tflite model is inconsistent, the runtime would refuse it "
                             f"({e.status_name}: {e.detail})") from None


def tflite_to_blob(tflite_bytes: bytes, **options) -> bytes:
    """The blob of convert_tflite(), which takes the same options."""
    return convert_tflite(tflite_bytes, **options)[0]


# ---------------------------------------------------------------------------
# files

def model_kind(path) -> str:
    """'tflite', 'keras' (.keras/.h5), 'saved_model' or 'sklearn' (.joblib,
    .pkl, .pickle, .skops); ValueError otherwise."""
    p = Path(path)
    if p.is_dir():
        if (p / "saved_model.pb").exists():
            return "saved_model"
        raise ValueError(f"{p} is a folder without saved_model.pb (not a SavedModel)")
    if not p.exists():
        raise ValueError(f"{p} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".tflite":
        return "tflite"
    if suffix in (".keras", ".h5", ".hdf5"):
        return "keras"
    if suffix in (".joblib", ".pkl", ".pickle", ".skops"):
        return "sklearn"
    raise ValueError(f"{p}: unknown model type (expected .keras, .h5, a SavedModel folder, .tflite, or a "
                     "scikit-learn .joblib, .pkl or .skops)")


def sha256_of(path) -> str:
    p = Path(path)
    h = hashlib.sha256()
    files = [p / "saved_model.pb"] if p.is_dir() else [p]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def atomic_write(path, data: bytes) -> None:
    """Write to a temporary file next to `path`, then rename: a reader never
    sees a partial file and a failure leaves nothing behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def convert_file(src_path, out_path, calib=None, labels=None, keep_tflite=False, *,
                 name=None, normalize=None, progress=None, embedding=None, int16=False,
                 ram_budget=None, fc_weights="int8") -> ConversionReport:
    """Convert a model file to a .tinyml file (written atomically).

    calib is required for Keras / SavedModel input (ValueError otherwise);
    .tflite input must already be int8 or 16x8. embedding: a Keras layer
    name, or for a .tflite a tensor name. int16: quantise a Keras model 16x8
    (int16 activations) rather than int8. ram_budget, fc_weights: see
    convert_tflite()."""
    kind = model_kind(src_path)
    reset_state = False
    if kind == "tflite":
        tflite_bytes = Path(src_path).read_bytes()
    else:
        if calib is None:
            raise ValueError("a Keras model needs calibration data to be quantised to int8")
        notes, facts = [], {}
        tflite_bytes = keras_to_tflite(src_path, calib, progress=progress, notes=notes, facts=facts,
                                       embedding=embedding, int16=int16)
        reset_state = facts.get("reset_state", False)
        if embedding is not None:
            embedding = embedding_output(tflite_bytes)
    if name is None:
        name = Path(src_path).stem if kind != "saved_model" else Path(src_path).name
    blob, report = convert_tflite(tflite_bytes, name=name, labels=labels, normalize=normalize,
                                  source_sha256=sha256_of(src_path), reset_state=reset_state,
                                  embedding=embedding, ram_budget=ram_budget, fc_weights=fc_weights)
    if kind != "tflite":
        report.notes = notes
    atomic_write(out_path, blob)
    if keep_tflite and kind != "tflite":
        tpath = Path(out_path).with_suffix(".tflite")
        atomic_write(tpath, tflite_bytes)
        report.tflite_path = str(tpath)
    return report
