"""The op coverage table (docs/ops.md): each TFLite builtin tinyml accepts,
for which activation types, the tinyml op it runs as, and that op's kernel.

ROWS is the one hand-kept part: what each TFLite op becomes. Everything about
the tinyml ops is read from the C: the op table in usermod_c/tml_ops.c names
each op's run function and scratch function; the kernel functions the run
function calls give the kernel files, and a kernel file that includes
tml_arch.h has inner loops per architecture (Cortex-M0, Cortex-M3, Cortex-M4
DSP, x86-64 SSE2) where the others are portable C.

tests/host/test_coverage.py fails when ROWS, the converter's dispatch, the C
op table and docs/ops.md disagree; tests/host/test_parity_ops.py checks every
lowering it sees against ROWS.

    python -m tinyml_converter.coverage > docs/ops.md
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .lowering import ALIAS_OPS, REMAP_OPS, Graph, Lowering
from .lut import LUT_OPS, LUT_S16_NON_NEGATIVE, LUT_S16_OPS


@dataclass(frozen=True)
class Row:
    runs_as: tuple          # tinyml ops (usermod_c/tml_blob.h) it lowers to; () when none runs
    dtypes: tuple = ("int8",)
    note: str = ""


BOTH = ("int8", "int16")
_LUT_NOTE = "256-entry table, each entry computed by TFLite's own kernel"
_REMAP_NOTE = ("offset tables worked out by the converter; chains through tensors of rank above 4 "
               "(Keras' UpSampling, repeat) composed into one")

ROWS = {
    "CONV_2D": Row(("CONV_2D", "CONV_2D_S16"), BOTH,
                   note="per-channel or per-tensor weights, dilation, fused RELU/RELU6/RELU_N1_TO_1; "
                        "16x8 with int64 bias"),
    "DEPTHWISE_CONV_2D": Row(("DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D_S16"), BOTH,
                             note="any depth multiplier, dilation; 16x8 with int64 bias"),
    "TRANSPOSE_CONV": Row(("TRANSPOSE_CONV", "TRANSPOSE_CONV_S16"), BOTH,
                          note="per-channel or per-tensor weights, bias, fused RELU/RELU6; "
                               "Keras' output_shape arithmetic folded; 16x8 with int64 bias"),
    "FULLY_CONNECTED": Row(("FULLY_CONNECTED", "FULLY_CONNECTED_W16", "FULLY_CONNECTED_PAIRS",
                            "FULLY_CONNECTED_S16"), BOTH,
                           note="any batch; keep_num_dims; int8: FULLY_CONNECTED_W16 with `--fc-weights int16` "
                                "(weights pre-widened), FULLY_CONNECTED_PAIRS with `--fc-weights pairs` (two "
                                "rows a word); 16x8 with int64 bias, rescaled as "
                                "TFLite's double product (emulated in integers)"),
    "AVERAGE_POOL_2D": Row(("AVERAGE_POOL_2D", "AVERAGE_POOL_2D_S16"), BOTH),
    "MAX_POOL_2D": Row(("MAX_POOL_2D", "MAX_POOL_2D_S16"), BOTH),
    "MEAN": Row(("MEAN", "MEAN_S16"), BOTH, note="constant axes; the global spatial mean has its own path"),
    "REDUCE_MAX": Row(("REDUCE_MAX", "REDUCE_MAX_S16", "REMAP"), BOTH, note="constant axes (a REMAP in front when they are not adjacent)"),
    "REDUCE_MIN": Row(("REDUCE_MIN", "REDUCE_MIN_S16", "REMAP"), BOTH, note="constant axes (a REMAP in front when they are not adjacent)"),
    "SUM": Row(("SUM", "SUM_S16", "REMAP"), BOTH,
               note="int8: requantised through a 255-step table of TFLite's formula; int16: TFLite's float32 "
                    "rescale emulated in integers; a REMAP in front when the axes are not adjacent"),
    "ARG_MAX": Row(("ARG_MAX", "REMAP"), note="int32 indices (TFLite's int64 ones stored as int32); "
                                            "a REMAP in front when the axes are not adjacent"),
    "ARG_MIN": Row(("ARG_MIN", "REMAP"), note="int32 indices (TFLite's int64 ones stored as int32); "
                                            "a REMAP in front when the axes are not adjacent"),
    "ADD": Row(("ADD", "ADD_S16"), BOTH, note="broadcasting; int8: optional 2 KB scratch, tables of the rescaled "
               "inputs; int16: TFLite's general and power-of-two paths"),
    "SUB": Row(("ADD", "SUB_S16"), BOTH, note="int8: ADD with the second input's sign flipped"),
    "MUL": Row(("MUL", "MUL_S16"), BOTH, note="broadcasting"),
    "DIV": Row(("DIV",), BOTH, note="broadcasting; a zero divisor (undefined in TFLite) saturates"),
    **{name: Row(("COMPARE",), BOTH, note="broadcasting; bool output (inside the model: SELECT, logical ops)")
       for name in ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")},
    "SELECT": Row(("SELECT",), BOTH, note="bool condition; both values and the output one quantisation"),
    "SELECT_V2": Row(("SELECT",), BOTH, note="broadcasting; bool condition; one quantisation"),
    **{name: Row(("LOGICAL",), (), note="bool in and out")
       for name in ("LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT")},
    "MAXIMUM": Row(("MAXIMUM",), BOTH, note="broadcasting; all three tensors with one quantisation"),
    "MINIMUM": Row(("MINIMUM",), BOTH, note="broadcasting; all three tensors with one quantisation"),
    "CONCATENATION": Row(("CONCATENATION",), BOTH),
    "PACK": Row(("CONCATENATION",), BOTH, note="a concatenation of views with the new axis"),
    "PAD": Row(("PAD",), BOTH),
    "PADV2": Row(("PAD",), BOTH),
    "SOFTMAX": Row(("SOFTMAX", "SOFTMAX_S16"), BOTH, note="int16: TFLite's exp and 1/(1+x) tables, interpolated"),
    "LOG_SOFTMAX": Row(("LOG_SOFTMAX",), note="last axis, up to 4095 values a row"),
    "L2_NORMALIZATION": Row(("L2_NORMALIZATION",), note="last axis"),
    "SQUARED_DIFFERENCE": Row(("SQUARED_DIFFERENCE",), note="broadcasting"),
    "PRELU": Row(("PRELU",), note="constant alpha broadcast against the input (Keras PReLU, shared_axes)"),
    "RESIZE_BILINEAR": Row(("RESIZE_BILINEAR",), BOTH, note="align_corners, half_pixel_centers and legacy coordinates"),
    "BATCH_MATMUL": Row(("BATCH_MATMUL", "BATCH_MATMUL_S16"), BOTH, note="adj_x, adj_y, broadcast batch dims, constant or activation operands; 16x8: int64 sums; "
                                              "FULLY_CONNECTED's inner loops"),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Row(("UNIDIRECTIONAL_SEQUENCE_LSTM",),
                                        note="TFLite's integer LSTM (int8 in and out, int16 cell state); "
                                             "time- or batch-major, CIFG, peepholes, projection, clips; "
                                             "state kept across invokes, Model.reset(); no layer norm"),
    "SVDF": Row(("SVDF",), note="TFLite's integer SVDF (int8 in and out, int16 time weights and state); "
                                "rank, optional bias; state kept across invokes, Model.reset()"),
    "SPACE_TO_BATCH_ND": Row(("CONV_2D", "DEPTHWISE_CONV_2D"),
                             note="only around a convolution: folded into a dilated one"),
    "BATCH_TO_SPACE_ND": Row((), note="only after SPACE_TO_BATCH_ND and a convolution: folded"),
    "DEQUANTIZE": Row((), BOTH, note="only on a model output: the output stays int8 or int16 with its scale"),
    "SHAPE": Row((), note="only feeding shape operands: evaluated by the converter"),
    **{name: Row(("REMAP",), BOTH, note=_REMAP_NOTE) for name in REMAP_OPS},
    **{name: Row(("COPY", "REMAP"), BOTH, note="no kernel: shares its input's storage (COPY when the "
                 "quantisation differs); next to a tensor of rank above 4, part of one REMAP")
       for name in ALIAS_OPS},
    **{name: Row(("LUT",), note=_LUT_NOTE) for name in LUT_OPS},
}
for _name in ("RELU", "RELU6", "LEAKY_RELU"):
    ROWS[_name] = Row(("LUT", "REQUANTIZE"), BOTH, note=_LUT_NOTE + "; int16: rescaled and clamped "
                      "(LEAKY_RELU: a rescale per side)")
for _name in ("LOGISTIC", "TANH"):
    ROWS[_name] = Row(("LUT", f"{_name}_S16"), BOTH,
                      note=_LUT_NOTE + "; int16: TFLite's 256-entry table, interpolated")
for _name in LUT_S16_OPS:
    ROWS[_name] = Row(("LUT", "LUT_S16"), BOTH,
                      note=_LUT_NOTE + "; int16: TFLite's own 513-entry table, read back from TFLite "
                                       "on all 65536 inputs and interpolated as TFLite does"
                           + ("" if _name not in LUT_S16_NON_NEGATIVE else
                              " (a negative int16 input, on which TFLite fails the invoke, gives the "
                              "output for 0)"))
ROWS["ABS"] = Row(("LUT", "ABS_S16"), BOTH, note=_LUT_NOTE + "; int16: the magnitude rescaled as TFLite's "
                                                              "AbsEvalQuantized")
ROWS["QUANTIZE"] = Row(("LUT", "REQUANTIZE"), BOTH,
                       note="int8 to int8 as a table; int16 to int8 or int16 rescaled; float32 to "
                            "int8 or int16 only on a model input, where the input stays integer with its scale")
ROWS["GATHER"] = Row(("REMAP",), BOTH, note="constant indices, batch_dims 0")
ROWS["STRIDED_SLICE"] = Row(("REMAP",), BOTH, note="begin/end/strides with every mask and offset")
ROWS["RESIZE_NEAREST_NEIGHBOR"] = Row(("REMAP",), BOTH, note="align_corners and half_pixel_centers")

# Handled before the op-by-op dispatch (model edges, shape arithmetic).
OUTSIDE_DISPATCH = {"DEQUANTIZE", "SHAPE", "BATCH_TO_SPACE_ND"}


def dispatched_ops() -> set:
    """The TFLite ops the converter's op-by-op dispatch accepts."""
    ops = {name[4:].upper() for name in dir(Lowering) if name.startswith("_op_")} - {"LUT"}
    return ops | set(LUT_OPS) | {"SPACE_TO_BATCH_ND"}


@dataclass(frozen=True)
class Kernel:
    name: str
    files: tuple
    arch_paths: bool
    scratch: bool


_TABLE_ENTRY = re.compile(
    r'TML_OP_ENTRY\((\w+)\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*[^,]+,\s*(\w+)\s*,\s*(\w+)\s*,'
    r'\s*(\w+)\s*(?:,\s*\w+\s*)?\)')
_CALL = re.compile(r"\b(tml_\w+)\s*\(")
_IDENT = re.compile(r"\b(tml_\w+)\b")


def _functions(source: str) -> dict:
    """{name: body} of the functions a C file defines."""
    out = {}
    for m in re.finditer(r"^[A-Za-z_][^;{}()]*?\b(tml_\w+)\s*\([^;{}]*\)\s*\{(.*?)^\}", source, re.M | re.S):
        out[m.group(1)] = m.group(2)
    return out


class _CallGraph:
    """Which kernel files the C core's functions call, read from usermod_c:
    the op glue's functions (tml_ops.c) are followed, any other tml_ function
    maps to the file defining it."""

    def __init__(self, c_dir):
        c_dir = Path(c_dir)
        self.texts = {path.name: path.read_text() for path in sorted(c_dir.glob("tml_*.c"))}
        self.ops_c = self.texts["tml_ops.c"]
        self.local = _functions(self.ops_c)
        self.defined_in, self.bodies = {}, {}
        for name, text in self.texts.items():
            if name != "tml_ops.c":
                for fn, fn_body in _functions(text).items():
                    self.defined_in.setdefault(fn, name)
                    self.bodies.setdefault(fn, fn_body)
        self.arch_names = set()
        for path in sorted(c_dir.glob("tml_arch*.h")):
            self.arch_names |= set(_functions(path.read_text()))

    def files_called(self, body, seen=frozenset()):
        found = set()
        for name in _CALL.findall(body):
            if name in self.defined_in:
                found.add(self.defined_in[name])
            elif name in self.local and name not in seen:
                found |= self.files_called(self.local[name], seen | {name})
        return found

    def arch_reachable(self, files_called, body):
        """Whether the kernel functions `body` reaches (by call or by name:
        row functions are passed as pointers) have per-core paths: a TML_ARCH_
        switch, or a routine of a tml_arch*.h header."""
        todo, seen = _IDENT.findall(body), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.arch_names:
                return True
            if name in self.local:
                todo += _IDENT.findall(self.local[name])
            elif self.defined_in.get(name) in files_called:
                fn_body = self.bodies[name]
                if "TML_ARCH_" in fn_body:
                    return True
                todo += _IDENT.findall(fn_body)
        return False

    def entries(self):
        """(op, load, run, scratch) of every entry of the op table."""
        return _TABLE_ENTRY.findall(self.ops_c)


def kernels(c_dir) -> dict:
    """{tinyml op: Kernel}, read from usermod_c."""
    g = _CallGraph(c_dir)
    out = {}
    for name, _load, run, scratch in g.entries():
        # A run function that calls no kernel file does its work in tml_ops.c.
        body = g.local.get(run, "")
        files = tuple(sorted(g.files_called(body, {run}))) or ("tml_ops.c",)
        out[name] = Kernel(name, files, g.arch_reachable(set(files), body), scratch != "0")
    return out


# Linked whatever the ops: the loader and executor, the CRC, the schedule of
# tiled stages (its kernel calls sit behind the same TML_WITH_<op> switches
# as the ops'), the binding's audio front end.
ALWAYS_LINKED = ("tml_model.c", "tml_ops.c", "tml_crc32.c", "tml_stage.c", "tml_features.c")


def sources_for(c_dir, ops) -> list:
    """The files of core_sources.txt a build keeping only `ops` must link
    when the linker keeps whole objects (a native module's mpy_ld): the
    always-linked ones, then every file a kept op's load, run or scratch
    function calls, then, since an object links whole, every file those call
    in turn. The assembler files are kept (each is empty off its own core)."""
    g = _CallGraph(c_dir)
    listed = (Path(c_dir) / "core_sources.txt").read_text().split()
    needed = set(ALWAYS_LINKED)
    for name, load, run, scratch in g.entries():
        if name in ops:
            for fn in (load, run, scratch):
                needed |= g.files_called(g.local.get(fn, ""), {fn})
    todo = [f for f in needed if f not in ("tml_ops.c", "tml_stage.c")]
    while todo:
        for f in g.files_called(g.texts.get(todo.pop(), "")) - needed:
            needed.add(f)
            todo.append(f)
    return [f for f in listed if f in needed or f.endswith(".S")]


def lowered_pairs(graph: Graph) -> set:
    """(TFLite op, tinyml op) for every op of a lowered graph, from each
    op's source ('CONV_2D (Keras layer ...)')."""
    return {(op.source.split(" ", 1)[0], op.opname) for op in graph.ops}


def unlisted(pairs) -> list:
    """The pairs ROWS does not allow."""
    return sorted((t, o) for t, o in pairs if t not in ROWS or o not in ROWS[t].runs_as)


def table(c_dir) -> str:
    ks = kernels(c_dir)
    lines = [
        "# Op coverage",
        "",
        "Generated by `python -m tinyml_converter.coverage > docs/ops.md` from the converter's",
        "table (`converter/tinyml_converter/coverage.py`) and the C op table",
        "(`usermod_c/tml_ops.c`); `tests/host/test_coverage.py` fails when they disagree,",
        "and every parity test checks the lowerings it sees against this table.",
        "Every op listed is bit-exact with TFLite's reference kernels in `tests/host/test_parity_ops.py`.",
        "",
        "Kernel paths: *per-arch* kernels have inner loops for Cortex-M0 (Thumb-1),",
        "Cortex-M3, Cortex-M4/M7 with DSP and x86-64 (SSE2), and portable C for any other",
        "target; *portable* kernels are the same C everywhere.",
        "",
        "| TFLite op | int8 | int16 | runs as | kernel | paths | scratch | notes |",
        "|---|:-:|:-:|---|---|---|:-:|---|",
    ]
    for name in sorted(ROWS):
        row = ROWS[name]
        used = [ks[o] for o in row.runs_as]
        files = sorted({f for k in used for f in k.files})
        paths = "" if not used else ("per-arch" if any(k.arch_paths for k in used) else "portable")
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            name, "yes" if "int8" in row.dtypes else "", "yes" if "int16" in row.dtypes else "",
            "alias, COPY or REMAP" if name in ALIAS_OPS else ", ".join(row.runs_as) or "(none)", ", ".join(f"`{f}`" for f in files), paths,
            "yes" if any(k.scratch for k in used) else "", row.note))
    lines += [
        "",
        "## scikit-learn estimators",
        "",
        "`tinyml convert model.joblib|.pkl|.skops` (`converter/tinyml_converter/classic.py`); float32 in",
        "and out, checked against scikit-learn in `tests/host/test_sklearn.py`. Any of them may sit",
        "behind StandardScaler, MinMaxScaler, MaxAbsScaler or RobustScaler steps of a `Pipeline`.",
        "",
        "| estimator | runs as | kernel |",
        "|---|---|---|",
    ]
    for name, op in sorted(sklearn_rows().items()):
        lines.append("| {} | {} | {} |".format(name, op, ", ".join(f"`{f}`" for f in ks[op].files)))
    return "\n".join(lines) + "\n"


# Ops of the C table no TFLite op lowers to: STAGE runs other ops' records
# tiled (tiling.py, tinyml convert --ram-budget).
SCHEDULE_OPS = {"STAGE"}


def sklearn_rows() -> dict:
    """{scikit-learn estimator: tinyml op it runs as}."""
    from .classic import RUNS_AS

    return dict(RUNS_AS)


def main() -> None:
    c_dir = Path(__file__).resolve().parents[2] / "usermod_c"
    sys.stdout.write(table(sys.argv[1] if len(sys.argv) > 1 else c_dir))


if __name__ == "__main__":
    main()
