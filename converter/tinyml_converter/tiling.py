"""Tiled execution, planned offline: the memory-heavy first layers of a CNN
run as a sliding window over rows, so only a band of each tensor between
them is in the arena (usermod_c/tml_stage.c runs it; the blob's STAGE op).

A stage is a chain of spatial ops (convolutions, depthwise convolutions,
pools, and element-wise lookup tables between them; batch 1), each reading
only the previous one's output. Its last
member produces band_rows rows at a time, pulling from the members before
it only the rows its window lacks, and each band drops the rows above the
window that reads it, so a band holds about one window. This is the line-buffer form of
MCUNetV2's patch-based inference: nothing is computed twice (no halo
recomputation), the price is a memmove of the rows a band keeps and more,
smaller kernel calls. Each call is the whole-tensor kernel on a window of
rows, so the bytes equal whole-tensor execution and stay bit-exact with
TFLite by construction (the parity tests check it anyway).

`walk()` is the exact mirror of tml_stage_walk(): the loader sizes every
band with it, so the converter must agree to the row.

Model inputs can also be read in place from the caller's buffer
(TML_TENSOR_EXTERNAL), which takes them out of the arena at no cost in
instructions.

`--ram-budget N` (choose()) takes the cheapest plan whose arena fits N:
untiled; then inputs read in place; then each candidate stage, fewest
extra instructions first (estimated from the rows moved and the kernel
calls added; `make bench` measures the real overhead). Tiling is off
without a budget: it costs instructions, and most models fit without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import blob_layout as L
from .errors import ConversionError

TILEABLE = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONV_2D_S16",
            "DEPTHWISE_CONV_2D_S16", "AVERAGE_POOL_2D_S16", "MAX_POOL_2D_S16", "LUT", "LUT_S16"}
ELEMENTWISE = {"LUT", "LUT_S16"}  # one row in, the same row out: members when the shape is kept
BAND_ROWS = (1, 2, 4, 8)
MAX_ROWS = 65536
# Estimated instructions per byte a band's memmove copies and per kernel
# call a stage adds (call, border set-up, per-call requant checks); only
# used to rank candidates, never reported as measured.
MOVE_COST_PER_BYTE = 1
CALL_COST = 600


def window(opname: str, p: dict) -> tuple:
    """(kernel, stride, dilation, top padding) of a member's rows."""
    if opname in ELEMENTWISE:
        return 1, 1, 1, 0
    if opname.startswith(("AVERAGE_POOL_2D", "MAX_POOL_2D")):
        return p["filter_h"], p["stride_h"], 1, p["pad_top"]
    return p["kernel_h"], p["stride_h"], p["dilation_h"], p["pad_top"]


@dataclass
class Walk:
    heights: list        # per tensor 0..n: the most rows band t holds (0 for the whole ones)
    moved_rows: list     # per tensor: rows memmoved over one invoke
    calls: int           # kernel calls over one invoke


def walk(rows: list, windows: list, band_rows: int) -> Walk:
    """The schedule of tml_stage_walk() for tensor heights rows[0..n] and the
    members' windows; raises ConversionError if a call would fail the
    kernel's window check (the loader would refuse the blob)."""
    n = len(windows)
    have = [rows[0]] + [0] * n
    base = [0] * (n + 1)
    goal = [0] * (n + 1)
    heights = [0] * (n + 1)
    moved = [0] * (n + 1)
    calls = 0
    t = n
    while True:
        kernel, stride, dilation, pad = windows[t - 1]
        end = rows[t] if band_rows > rows[t] - goal[t] else goal[t] + band_rows
        first = goal[t] * stride - pad
        lo = max(first, 0)
        hi = min((end - 1) * stride - pad + (kernel - 1) * dilation + 1, rows[t - 1])
        if t > 1 and lo > base[t - 1]:
            moved[t - 1] += max(0, have[t - 1] - lo)
            base[t - 1] = lo
        if have[t - 1] < hi:
            t -= 1
            goal[t] = max(have[t], lo)
            if goal[t] > have[t]:
                base[t] = goal[t]
            continue
        view = max(lo, base[t - 1])
        in_h = have[t - 1] - view
        out_h = end - goal[t]
        if in_h < 1 or view - first > (kernel - 1) * dilation or (out_h - 1) * stride > in_h - 1 + (view - first):
            raise ConversionError(f"tiling: member {t - 1} of a stage would read outside its band "
                                  "(a bug in tinyml's tiling, please report it with the model)")
        if t < n:
            heights[t] = max(heights[t], end - base[t])
        calls += 1
        have[t] = end
        if t < n:
            t += 1
        elif end < rows[n]:
            goal[n] = end
        else:
            return Walk(heights, moved, calls)


@dataclass
class Stage:
    members: list            # op indices in the graph, in chain order
    band_rows: int
    walk: Walk
    band_bytes: list         # per band (tensors 1..n-1): bytes in the arena
    moved_bytes: int
    extra_calls: int
    label: str = ""          # the first and last member, for messages

    @property
    def cost(self) -> int:
        """Estimated extra instructions per invoke (for ranking only)."""
        return self.moved_bytes * MOVE_COST_PER_BYTE + self.extra_calls * CALL_COST


def _row_bytes(t) -> int:
    d = t.dims4
    return d[2] * d[3] * (2 if t.dtype == L.DTYPE_INT16 else 1)


def make_stage(graph, members: list, band_rows: int) -> Stage | None:
    """The stage over graph.ops[members] with this band height, or None if
    the schedule would not help (more steps than the loader allows)."""
    ops = [graph.ops[k] for k in members]
    tensors = [graph.tensors[ops[0].inputs[0]]] + [graph.tensors[op.outputs[0]] for op in ops]
    rows = [t.dims4[1] for t in tensors]
    if max(rows[1:]) > MAX_ROWS:
        return None
    w = walk(rows, [window(op.opname, op.params) for op in ops], band_rows)
    band_bytes = [w.heights[t] * _row_bytes(tensors[t]) for t in range(1, len(ops))]
    moved = sum(w.moved_rows[t] * _row_bytes(tensors[t]) for t in range(1, len(ops)))
    return Stage(list(members), band_rows, w, band_bytes, moved, w.calls - len(ops),
                 f"{ops[0].source or ops[0].opname} .. {ops[-1].source or ops[-1].opname}")


def _single_tensor(graph, index: int) -> bool:
    t = graph.tensors[index]
    return t.data is None and t.alias_of is None and not t.state


def chains(graph, order: list) -> list:
    """Maximal runs of ops, consecutive in `order`, that can form a stage:
    tileable, batch 1, each reading only the previous one's output, which
    nothing else reads (no alias, not a model output)."""
    readers = {}
    for k, op in enumerate(graph.ops):
        for t in op.inputs:
            readers.setdefault(t, set()).add(k)
    aliased = {t.alias_of for t in graph.tensors if t.alias_of is not None}
    outputs = set(graph.outputs)

    def tileable(k):
        op = graph.ops[k]
        return (op.opname in TILEABLE and len(op.inputs) == 1 and len(op.outputs) == 1
                and graph.tensors[op.inputs[0]].dims4[0] == 1
                and (op.opname not in ELEMENTWISE
                     or graph.tensors[op.inputs[0]].dims4 == graph.tensors[op.outputs[0]].dims4))

    def links(a, b):
        t = graph.ops[a].outputs[0]
        return (graph.ops[b].inputs[0] == t and readers.get(t) == {b} and t not in outputs
                and t not in aliased and _single_tensor(graph, t))

    found, run = [], []
    for k in order:
        if run and tileable(k) and links(run[-1], k):
            run.append(k)
            continue
        if len(run) >= 2:
            found.append(run)
        run = [k] if tileable(k) else []
    if len(run) >= 2:
        found.append(run)
    return found


def candidates(graph, order: list) -> list:
    """Every stage worth trying: a prefix of at least two ops of each chain
    (the first layers hold the big tensors), each band height."""
    out = []
    for chain in chains(graph, order):
        for end in range(2, min(len(chain), L.STAGE_MAX_MEMBERS) + 1):
            for rows in BAND_ROWS:
                s = make_stage(graph, chain[:end], rows)
                if s is not None:
                    out.append(s)
    return out


@dataclass
class Choice:
    """What --ram-budget chose and what it cost."""
    stages: list = field(default_factory=list)
    external_inputs: bool = False
    arena_untiled: int = 0          # the arena of the plain plan, inputs in the arena
    arena: int = 0
    lower_bound: int = 0
    estimated_extra_instructions: int = 0

    def describe(self) -> str:
        parts = []
        if self.external_inputs:
            parts.append("model inputs read in place from the caller's buffer")
        for s in self.stages:
            parts.append(f"{len(s.members)} ops tiled, {s.band_rows} row(s) per call ({s.label}: "
                         f"{s.walk.calls} kernel calls instead of {len(s.members)}, {s.moved_bytes} bytes moved)")
        return "; ".join(parts) if parts else "untiled"
